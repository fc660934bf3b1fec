// HttpServer end to end in one process: routing, limits, basic auth, keep-alive, slow and
// half-open clients, the connection limits and eviction, and TLS/mTLS with an OpenSSL client.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "exporter/web/http_server.h"
#include "exporter/web/web_auth.h"
#include "exporter/web/web_config.h"
#include "exporter/web/web_front.h"

namespace rrca::web {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;
const std::string kWebDir = std::string(RRCA_TESTDATA_DIR) + "/web";

int Connect(int port, int family = AF_INET) {
  const int fd = ::socket(family, SOCK_STREAM, 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  int rc;
  if (family == AF_INET6) {
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_port = htons(static_cast<uint16_t>(port));
    address.sin6_addr = in6addr_loopback;
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  } else {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  }
  if (rc != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` over plain TCP, half-closes (so a keep-alive server ends the connection after
// its answers), and returns everything until the server closes.
std::string Exchange(int port, const std::string& request, int family = AF_INET) {
  const int fd = Connect(port, family);
  if (fd < 0) return "";
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string out;
  char buffer[65536];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0)
    out.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

// Waits for `condition` (polled every millisecond) until a generous deadline: under load the
// server may be slow, but a setup that never happens is a failure, not a pass.
template <typename Condition>
bool WaitUntil(Condition condition, std::chrono::seconds timeout = std::chrono::seconds(10)) {
  const auto deadline = Steady::now() + timeout;
  while (!condition()) {
    if (Steady::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// True when the server closed (or reset) the connection within `within`; a client still open
// after that (recv would block) is false, unlike a plain recv whose timeout also returns -1.
bool ClosedByServer(int fd, milliseconds within) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(within.count())) != 1) return false;
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

std::string Get(const std::string& path, const std::string& extra_headers = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra_headers + "\r\n";
}

int StatusCode(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

std::string Body(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

struct TlsClient {
  int max_version = 0;  // 0: library default
  std::string ca = kWebDir + "/ca.crt";
  std::string cert, key;
};

// One request over TLS; "" with *handshake_error set when the handshake (or verify) fails.
std::string TlsExchange(int port, const std::string& request, const TlsClient& options,
                        std::string* handshake_error = nullptr) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (options.max_version != 0) {
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(ctx, 0);
    SSL_CTX_set_max_proto_version(ctx, options.max_version);
  }
  SSL_CTX_load_verify_locations(ctx, options.ca.c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (!options.cert.empty()) {
    SSL_CTX_use_certificate_file(ctx, options.cert.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx, options.key.c_str(), SSL_FILETYPE_PEM);
  }
  const int fd = Connect(port);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  SSL_set1_host(ssl, "localhost");
  std::string out;
  ERR_clear_error();
  if (SSL_connect(ssl) != 1) {
    char reason[256] = "handshake failed";
    if (const unsigned long code = ERR_get_error())
      ERR_error_string_n(code, reason, sizeof(reason));
    if (handshake_error != nullptr) *handshake_error = reason;
  } else if (SSL_write(ssl, request.data(), static_cast<int>(request.size())) <= 0) {
    if (handshake_error != nullptr) *handshake_error = "refused after the handshake";
  } else {
    SSL_shutdown(ssl);  // close_notify: our last request (reading goes on)
    char buffer[65536];
    int n;
    while ((n = SSL_read(ssl, buffer, sizeof(buffer))) > 0)
      out.append(buffer, static_cast<size_t>(n));
    // TLS 1.3 reports a refused client certificate only here, as an alert.
    if (out.empty() && handshake_error != nullptr) *handshake_error = "alert after handshake";
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  return out;
}

WebConfig LoadFixture(const std::string& name) {
  auto config = LoadWebConfig(kWebDir + "/" + name);
  EXPECT_TRUE(config.ok()) << config.status().message();
  return config.ok() ? config.value() : WebConfig{};
}

class HttpTest : public ::testing::Test {
 protected:
  void StartServer(const WebConfig& config = {}, FrontOptions options = {}) {
    ASSERT_TRUE(server_.SetWebConfig(config).ok());
    server_.SetFrontOptions(options);
    server_.Route("/metrics", [](const HttpRequest&) {
      return HttpResponse{200, "text/plain", "up 1\n"};
    });
    server_.Route(
        "/echo",
        [this](const HttpRequest& request) {
          std::lock_guard lock(mutex_);
          last_remote_ = request.remote_address;
          return HttpResponse{
              200, "text/plain",
              request.method + " " + request.user + " " + std::to_string(request.body.size())};
        },
        HttpServer::RouteKind::kRead, HttpServer::kMaxBodyBytes);
    server_.Route("/big", [](const HttpRequest&) {
      std::string body;
      for (int i = 0; body.size() < (5 << 20); ++i) body += std::to_string(i) + "\n";
      return HttpResponse{200, "text/plain", body};
    });
    const Status started = server_.Start("127.0.0.1:0");
    ASSERT_TRUE(started.ok()) << started.message();
    port_ = server_.port();
  }

  HttpServer server_;
  int port_ = 0;
  std::mutex mutex_;
  std::string last_remote_;
};

TEST_F(HttpTest, RoutesMethodsAndLimits) {
  StartServer();
  const std::string ok = Exchange(port_, Get("/metrics"));
  EXPECT_EQ(StatusCode(ok), 200);
  EXPECT_EQ(Body(ok), "up 1\n");
  EXPECT_EQ(StatusCode(Exchange(port_, Get("/nope"))), 404);
  EXPECT_EQ(Body(Exchange(port_, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")), "");
  EXPECT_EQ(
      StatusCode(Exchange(port_, "PUT /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")),
      405);
  const std::string post =
      Exchange(port_, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(Body(post), "POST  5");
  {
    std::lock_guard lock(mutex_);
    EXPECT_EQ(last_remote_.rfind("127.0.0.1:", 0), 0u) << "the client's address and port";
  }
  // A body over the cap: refused from its Content-Length, without reading it.
  EXPECT_EQ(StatusCode(Exchange(port_,
                                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 9000000"
                                "\r\n\r\npartial")),
            413);
  // A head over 64 KiB: 431.
  EXPECT_EQ(
      StatusCode(Exchange(port_, Get("/metrics", "X-Big: " + std::string(70000, 'a') + "\r\n"))),
      431);
}

TEST_F(HttpTest, LargeBodiesBothWays) {
  StartServer();
  const std::string big = Exchange(port_, Get("/big"));
  ASSERT_EQ(StatusCode(big), 200);
  EXPECT_GE(Body(big).size(), 5u << 20);
  EXPECT_EQ(Body(big).substr(0, 4), "0\n1\n");
  const std::string body(3 << 20, 'x');  // past the front's 256 KiB buffer: streamed
  const std::string post = Exchange(port_, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                               std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(Body(post), "POST  " + std::to_string(body.size()));
}

TEST_F(HttpTest, ListenAddresses) {
  HttpServer server;
  EXPECT_FALSE(server.Start("no-port").ok());
  EXPECT_FALSE(server.Start("127.0.0.1:99999").ok());
  EXPECT_FALSE(server.Start("127.0.0.1:http").ok());
  HttpServer any;
  any.Route("/metrics", [](const HttpRequest&) { return HttpResponse{200, "text/plain", "x"}; });
  ASSERT_TRUE(any.Start(":0").ok());
  EXPECT_EQ(StatusCode(Exchange(any.port(), Get("/metrics"))), 200);
  const std::string v6 = Exchange(any.port(), Get("/metrics"), AF_INET6);
  if (!v6.empty()) {  // where the host has IPv6
    EXPECT_EQ(StatusCode(v6), 200);
  }
  HttpServer taken;
  EXPECT_FALSE(taken.Start("127.0.0.1:" + std::to_string(any.port())).ok());
}

TEST_F(HttpTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer();
  const std::string three = Exchange(
      port_, Get("/metrics") + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi" +
                 Get("/metrics", "Connection: close\r\n"));
  size_t answers = 0;
  for (size_t at = three.find("HTTP/1.1 200 OK"); at != std::string::npos;
       at = three.find("HTTP/1.1 200 OK", at + 1)) {
    ++answers;
  }
  EXPECT_EQ(answers, 3u) << three;
  EXPECT_NE(three.find("POST  2"), std::string::npos) << three;
  EXPECT_NE(three.find("Connection: close"), std::string::npos) << "the last one closes";
  EXPECT_EQ(server_.front_counters()->accepted.load(), 1u);
}

TEST_F(HttpTest, BasicAuthOnEveryPathWithCachedVerification) {
  StartServer(LoadFixture("auth.good.yml"));
  const std::string none = Exchange(port_, Get("/metrics"));
  EXPECT_EQ(StatusCode(none), 401);
  EXPECT_NE(none.find("\r\nWWW-Authenticate: Basic\r\n"), std::string::npos) << none;
  EXPECT_EQ(StatusCode(Exchange(port_, Get("/nope"))), 401);
  EXPECT_EQ(
      StatusCode(Exchange(port_, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx")),
      401);
  const std::string alice = "Authorization: Basic YWxpY2U6YWxpY2Utc2VjcmV0\r\n";
  EXPECT_EQ(StatusCode(Exchange(port_, Get("/metrics", "Authorization: Basic YWxpY2U6eA==\r\n"))),
            401);
  const uint64_t runs = server_.auth()->bcrypt_runs();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(StatusCode(Exchange(port_, Get("/metrics", alice))), 200);
  EXPECT_EQ(server_.auth()->bcrypt_runs(), runs + 1) << "one bcrypt, then the cache";
  const std::string post =
      Exchange(port_, "POST /echo HTTP/1.1\r\nHost: x\r\n" + alice + "Content-Length: 2\r\n\r\nhi");
  EXPECT_EQ(Body(post), "POST alice 2");
}

TEST_F(HttpTest, HalfOpenClientsDoNotBlockAndAreDropped) {
  FrontOptions options;
  options.head_timeout = milliseconds(2000);
  StartServer({}, options);
  std::vector<int> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(Connect(port_));
  const int partial = Connect(port_);
  ASSERT_GE(partial, 0);
  ASSERT_GT(::send(partial, "GET /metrics HTTP/1.1\r\nHo", 25, 0), 0);  // and never the rest
  idle.push_back(partial);
  // Setup: all 21 are in the server's hands, waiting out their head deadline.
  const FrontCounters* counters = server_.front_counters();
  ASSERT_TRUE(WaitUntil([&] { return counters->accepted.load() >= 21; }));
  ASSERT_EQ(counters->head_timeouts.load(), 0u) << "dropped before the fast client came";
  const auto start = Steady::now();
  EXPECT_EQ(StatusCode(Exchange(port_, Get("/metrics"))), 200);
  EXPECT_LT(Steady::now() - start, options.head_timeout / 2) << "waited for the slow ones";
  idle.pop_back();
  for (int fd : idle) {
    EXPECT_TRUE(ClosedByServer(fd, milliseconds(8000))) << "closed by the server at its deadline";
    ::close(fd);
  }
  char answer[512] = {};
  EXPECT_GT(::recv(partial, answer, sizeof(answer) - 1, 0), 0);
  EXPECT_EQ(StatusCode(answer), 408) << "a begun head is answered";
  ::close(partial);
  EXPECT_GE(counters->head_timeouts.load(), 21u);
}

TEST_F(HttpTest, SlowBodiesHoldOnlyTheirOwnConnections) {
  FrontOptions options;
  options.body_timeout = milliseconds(2000);
  StartServer({}, options);
  std::vector<int> slow;
  for (int i = 0; i < 8; ++i) {
    slow.push_back(Connect(port_));
    ASSERT_GE(slow.back(), 0);
    const std::string head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc";
    ASSERT_GT(::send(slow.back(), head.data(), head.size(), 0), 0);
  }
  // Setup: all 8 are in the server's hands, their bodies still pending.
  const FrontCounters* counters = server_.front_counters();
  ASSERT_TRUE(WaitUntil([&] { return counters->accepted.load() >= 8; }));
  ASSERT_EQ(counters->body_timeouts.load(), 0u) << "timed out before the fast client came";
  const auto start = Steady::now();
  EXPECT_EQ(StatusCode(Exchange(port_, Get("/metrics"))), 200);
  EXPECT_LT(Steady::now() - start, options.body_timeout / 2) << "waited for the slow ones";
  for (int fd : slow) {
    char buffer[256] = {};
    EXPECT_GT(::recv(fd, buffer, sizeof(buffer) - 1, 0), 0);
    EXPECT_EQ(StatusCode(buffer), 408);
    ::close(fd);
  }
  EXPECT_GE(server_.front_counters()->body_timeouts.load(), 8u);
}

TEST_F(HttpTest, BufferedBodiesAreBudgeted) {
  FrontOptions options;
  options.body_budget_bytes = 1 << 20;
  options.body_timeout = milliseconds(4000);
  StartServer({}, options);
  // A client that has sent 900 kB of a 1 MB body holds 900 kB of the budget; 200 kB more are over.
  const int slow = Connect(port_);
  const std::string head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" +
                           std::string(900000, 'a');
  ASSERT_EQ(::send(slow, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  const std::string big =
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" + std::string(200000, 'b');
  // Setup: the slow client's bytes are in (and reserved) before the big one comes; were the big
  // one first, the slow one would be the one refused.
  ASSERT_TRUE(WaitUntil([&] { return server_.buffered_body_bytes() >= 900000; }))
      << server_.buffered_body_bytes();
  const std::string refused = Exchange(port_, big);
  EXPECT_EQ(StatusCode(refused), 503) << refused;
  EXPECT_GE(server_.front_counters()->over_budget.load(), 1u);
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos);
  // Small bodies are never refused for budget.
  EXPECT_EQ(Body(Exchange(port_, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")),
            "POST  3");
  ::close(slow);
  // Once the slow one is gone its reservation is back.
  const auto deadline = Steady::now() + std::chrono::seconds(3);
  std::string again;
  while (Steady::now() < deadline && StatusCode(again) != 200) again = Exchange(port_, big);
  EXPECT_EQ(Body(again), "POST  200000");
}

// Announcing large bodies and trickling them holds no budget.
TEST_F(HttpTest, AnnouncedBodiesHoldNothingUntilTheyArrive) {
  FrontOptions options;
  options.body_budget_bytes = 16 << 20;
  StartServer({}, options);
  std::vector<int> tricklers;
  for (int i = 0; i < 8; ++i) {
    tricklers.push_back(Connect(port_));
    const std::string head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 8000000\r\n\r\n" +
                             std::string(70000, 'a');
    ASSERT_GT(::send(tricklers.back(), head.data(), head.size(), 0), 0);
  }
  ASSERT_TRUE(WaitUntil([&] { return server_.front_counters()->accepted.load() >= 8; }));
  const std::string medium = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" +
                             std::string(1000000, 'm');
  EXPECT_EQ(Body(Exchange(port_, medium)), "POST  1000000");
  EXPECT_EQ(server_.front_counters()->over_budget.load(), 0u);
  for (int fd : tricklers) ::close(fd);
}

// Heads and bodies that two parsers could read differently are
// refused at once, never waited on.
TEST_F(HttpTest, AmbiguousFramingIsRefusedAtOnce) {
  StartServer();
  struct Case {
    std::string request;
    int status;
  };
  const std::vector<Case> cases = {
      {"GET /metrics HTTP/1.1\nHost: x\n\r\n", 400},
      {"GET /metrics HTTP/1.1\nHost: x\n\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
       "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
       411},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
       400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello", 400},
      {"GET /metrics HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
      {"GET /metrics HTTP/1.1\r\n\r\n", 400},
      {"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", 400},
  };
  for (const Case& c : cases) {
    const auto start = Steady::now();
    const int fd = Connect(port_);
    ASSERT_GT(::send(fd, c.request.data(), c.request.size(), 0), 0);  // and keep it open
    std::string answer;
    char buffer[4096];
    ssize_t n;
    while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) answer.append(buffer, n);
    ::close(fd);
    EXPECT_EQ(StatusCode(answer), c.status) << c.request << "\n" << answer;
    EXPECT_LT(Steady::now() - start, milliseconds(2000)) << "waited on: " << c.request;
  }
  EXPECT_GE(server_.front_counters()->bad_requests.load(), cases.size());
}

// Idle connections at the limit are evicted, oldest first, for new ones.
TEST_F(HttpTest, IdleConnectionsAreEvictedForNewOnes) {
  FrontOptions options;
  options.max_connections = 3;
  options.head_timeout = milliseconds(8000);  // the idle ones would hold the limit until then
  StartServer({}, options);
  std::vector<int> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(Connect(port_));
  ASSERT_TRUE(WaitUntil([&] { return server_.front_counters()->accepted.load() >= 3; }));
  ASSERT_EQ(server_.front_counters()->head_timeouts.load(), 0u);
  const auto start = Steady::now();
  EXPECT_EQ(StatusCode(Exchange(port_, Get("/metrics"))), 200);
  EXPECT_LT(Steady::now() - start, milliseconds(2000));
  EXPECT_GE(server_.front_counters()->evicted.load(), 1u);
  EXPECT_TRUE(ClosedByServer(idle[0], milliseconds(2000))) << "the oldest idle one went";
  EXPECT_EQ(server_.front_counters()->refused_over_limit.load(), 0u);
  for (int fd : idle) ::close(fd);
}

TEST_F(HttpTest, PerClientLimitEvictsThatClientsIdleConnections) {
  FrontOptions options;
  options.max_connections_per_client = 4;
  options.head_timeout = milliseconds(8000);
  StartServer({}, options);
  std::vector<int> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(Connect(port_));
  ASSERT_TRUE(WaitUntil([&] { return server_.front_counters()->accepted.load() >= 20; }));
  EXPECT_EQ(StatusCode(Exchange(port_, Get("/metrics"))), 200);
  EXPECT_GE(server_.front_counters()->evicted.load(), 17u);
  size_t closed = 0;
  for (int fd : idle) {
    closed += ClosedByServer(fd, milliseconds(100)) ? 1 : 0;
    ::close(fd);
  }
  EXPECT_GE(closed, 17u);
}

TEST_F(HttpTest, StopDoesNotWaitForSlowClients) {
  StartServer();  // default 10 s head deadline
  std::vector<int> idle;
  for (int i = 0; i < 5; ++i) {
    idle.push_back(Connect(port_));
    ASSERT_GE(idle.back(), 0);
  }
  // Setup: each idle client holds a connection thread, waiting for a head that never comes.
  const FrontCounters* counters = server_.front_counters();
  ASSERT_TRUE(WaitUntil([&] { return counters->accepted.load() >= 5; }));
  const auto start = Steady::now();
  server_.Stop();
  EXPECT_LT(Steady::now() - start, milliseconds(5000)) << "waited for the 10 s head deadline";
  // Stop ended them, far before their deadline.
  for (int fd : idle) {
    EXPECT_TRUE(ClosedByServer(fd, milliseconds(2000)));
    ::close(fd);
  }
}

TEST_F(HttpTest, TlsServesAndRefusesOldVersionsAndPlainHttp) {
  StartServer(LoadFixture("tls_auth.good.yml"));
  ASSERT_TRUE(server_.tls());
  const std::string alice = "Authorization: Basic YWxpY2U6YWxpY2Utc2VjcmV0\r\n";
  const std::string ok = TlsExchange(port_, Get("/metrics", alice), {});
  EXPECT_EQ(StatusCode(ok), 200);
  EXPECT_NE(ok.find("\r\nStrict-Transport-Security: max-age=31536000\r\n"), std::string::npos);
  EXPECT_EQ(StatusCode(TlsExchange(port_, Get("/metrics"), {})), 401);
  TlsClient tls12;
  tls12.max_version = TLS1_2_VERSION;
  EXPECT_EQ(StatusCode(TlsExchange(port_, Get("/metrics", alice), tls12)), 200);
  for (int version : {TLS1_1_VERSION, TLS1_VERSION}) {
    TlsClient old;
    old.max_version = version;
    std::string error;
    EXPECT_EQ(TlsExchange(port_, Get("/metrics", alice), old, &error), "");
    EXPECT_FALSE(error.empty());
  }
  const std::string plain = Exchange(port_, Get("/metrics", alice));
  EXPECT_EQ(StatusCode(plain), 400);
  EXPECT_NE(plain.find("HTTP request to an HTTPS server"), std::string::npos);
  const std::string big = TlsExchange(port_, Get("/big", alice), {});
  EXPECT_GE(Body(big).size(), 5u << 20);
  const std::string body(1 << 20, 'y');
  EXPECT_EQ(Body(TlsExchange(port_,
                             "POST /echo HTTP/1.1\r\nHost: x\r\n" + alice +
                                 "Content-Length: 1048576\r\n\r\n" + body,
                             {})),
            "POST alice 1048576");
}

TEST_F(HttpTest, HalfOpenTlsClientsDoNotBlock) {
  FrontOptions options;
  options.head_timeout = milliseconds(2000);
  StartServer(LoadFixture("tls.good.yml"), options);
  std::vector<int> slow;
  for (int i = 0; i < 10; ++i) slow.push_back(Connect(port_));
  for (int i = 0; i < 5; ++i) {
    slow.push_back(Connect(port_));
    ASSERT_GT(::send(slow.back(), "\x16\x03\x01\x02\x00\x01", 6, 0), 0);  // half a ClientHello
  }
  // Setup: all 15 are in the server's hands, none dropped yet.
  const FrontCounters* counters = server_.front_counters();
  ASSERT_TRUE(WaitUntil([&] { return counters->accepted.load() >= 15; }));
  ASSERT_EQ(counters->handshake_failures.load(), 0u) << "dropped before the fast client came";
  const auto start = Steady::now();
  EXPECT_EQ(StatusCode(TlsExchange(port_, Get("/metrics"), {})), 200);
  EXPECT_LT(Steady::now() - start, options.head_timeout / 2) << "waited for the slow ones";
  for (int fd : slow) {
    EXPECT_TRUE(ClosedByServer(fd, milliseconds(8000))) << "closed by the server at its deadline";
    ::close(fd);
  }
  EXPECT_GE(server_.front_counters()->handshake_failures.load(), 15u);
}

// Threads of this process named `name` (/proc/self/task/*/comm). By name, since a sanitizer's
// runtime starts threads of its own at any time.
size_t ThreadsNamed(const std::string& name) {
  size_t count = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    if (std::getline(comm, line) && line == name) ++count;
  }
  return count;
}

TEST_F(HttpTest, StopJoinsEveryConnectionThread) {
  // A connection thread still exiting after Stop() returned could be cut off by the process's
  // exit before OpenSSL freed its per-thread state: LeakSanitizer's 904-byte "leak" in CI.
  StartServer(LoadFixture("tls.good.yml"));
  EXPECT_EQ(StatusCode(TlsExchange(port_, Get("/metrics"), {})), 200);
  std::vector<int> held;
  for (int i = 0; i < 20; ++i) {
    held.push_back(Connect(port_));
    ASSERT_GT(::send(held.back(), "\x16\x03\x01\x02\x00\x01", 6, 0), 0);  // half a ClientHello
  }
  const FrontCounters* counters = server_.front_counters();
  ASSERT_TRUE(WaitUntil([&] { return counters->accepted.load() >= 21; }));
  // The name is what we count: every connection thread has it once it runs (accepted is counted
  // before the thread starts, so wait for the names).
  EXPECT_TRUE(WaitUntil([] { return ThreadsNamed(WebFront::kConnectionThreadName) >= 20; }));
  server_.Stop();  // the 20 threads end together, mid-handshake
  EXPECT_EQ(ThreadsNamed(WebFront::kConnectionThreadName), 0u);
  for (int fd : held) ::close(fd);
}

TEST_F(HttpTest, ReloadSwapsUsersAndCertificatesButNeverDropsTls) {
  StartServer(LoadFixture("tls_auth.good.yml"));
  EXPECT_EQ(StatusCode(TlsExchange(port_, Get("/metrics"), {})), 401);
  ASSERT_TRUE(server_.SetWebConfig(LoadFixture("tls.good.yml")).ok());  // no users any more
  EXPECT_EQ(StatusCode(TlsExchange(port_, Get("/metrics"), {})), 200);
  // TLS -> plaintext needs a restart: refused, TLS stays.
  const Status plaintext = server_.SetWebConfig(LoadFixture("auth.good.yml"));
  EXPECT_FALSE(plaintext.ok());
  EXPECT_NE(plaintext.message().find("needs a restart"), std::string::npos);
  EXPECT_TRUE(server_.tls());
  // A broken certificate is refused; the running one keeps serving.
  WebConfig broken = LoadFixture("tls.good.yml");
  broken.tls.cert_file = kWebDir + "/no-such.crt";
  EXPECT_FALSE(server_.SetWebConfig(broken).ok());
  EXPECT_EQ(StatusCode(TlsExchange(port_, Get("/metrics"), {})), 200);
  // Back to users; and mTLS can be switched on for new connections.
  ASSERT_TRUE(server_.SetWebConfig(LoadFixture("mtls.good.yml")).ok());
  std::string error;
  EXPECT_EQ(TlsExchange(port_, Get("/metrics"), {}, &error), "");
  TlsClient good{0, kWebDir + "/ca.crt", kWebDir + "/client.crt", kWebDir + "/client.key"};
  EXPECT_EQ(StatusCode(TlsExchange(port_, Get("/metrics"), good)), 200);
}

TEST_F(HttpTest, MutualTls) {
  StartServer(LoadFixture("mtls.good.yml"));
  TlsClient good{0, kWebDir + "/ca.crt", kWebDir + "/client.crt", kWebDir + "/client.key"};
  TlsClient other{0, kWebDir + "/ca.crt", kWebDir + "/other-client.crt",
                  kWebDir + "/other-client.key"};
  EXPECT_EQ(StatusCode(TlsExchange(port_, Get("/metrics"), good)), 200);
  std::string error;
  EXPECT_EQ(TlsExchange(port_, Get("/metrics"), {}, &error), "");
  EXPECT_FALSE(error.empty());
  error.clear();
  EXPECT_EQ(TlsExchange(port_, Get("/metrics"), other, &error), "");
  EXPECT_FALSE(error.empty());
}

TEST_F(HttpTest, ClientAllowedSans) {
  StartServer(LoadFixture("mtls_sans.good.yml"));  // allows scraper@example.com
  TlsClient good{0, kWebDir + "/ca.crt", kWebDir + "/client.crt", kWebDir + "/client.key"};
  EXPECT_EQ(StatusCode(TlsExchange(port_, Get("/metrics"), good)), 200);
  HttpServer strict;
  WebConfig config = LoadFixture("mtls_sans.good.yml");
  config.tls.client_allowed_sans = {"someone-else.example"};
  ASSERT_TRUE(strict.SetWebConfig(config).ok());
  strict.Route("/metrics", [](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_TRUE(strict.Start("127.0.0.1:0").ok());
  std::string error;
  EXPECT_EQ(TlsExchange(strict.port(), Get("/metrics"), good, &error), "");
  EXPECT_FALSE(error.empty());
}

TEST_F(HttpTest, RequireAnyClientCertTakesUnverifiedCertificates) {
  WebConfig config = LoadFixture("tls.good.yml");
  config.tls.client_auth = ClientAuth::kRequireAnyClientCert;
  StartServer(config);
  TlsClient other{0, kWebDir + "/ca.crt", kWebDir + "/other-client.crt",
                  kWebDir + "/other-client.key"};
  EXPECT_EQ(StatusCode(TlsExchange(port_, Get("/metrics"), other)), 200);
  std::string error;
  EXPECT_EQ(TlsExchange(port_, Get("/metrics"), {}, &error), "");
}

}  // namespace
}  // namespace rrca::web
