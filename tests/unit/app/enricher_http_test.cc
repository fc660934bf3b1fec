// The enricher's webhook client (exporter/enricher/enricher_http.h) against real servers on
// 127.0.0.1:<ephemeral> started by each test: keep-alive and Basic auth, https verified with a
// test CA (tests/testdata/web), a downstream that never answers, one that sends an endless
// answer, a name that does not resolve; and the `enricher.ca_file` config key.
// tests/e2e/enricher_https_test.sh drives the same cases through `registry-rca serve`.
#include "exporter/enricher/enricher_http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "exporter/app/config.h"

namespace rrca::app {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

const std::string kWebTestdata = std::string(RRCA_TESTDATA_DIR) + "/web";

// A TCP listener on 127.0.0.1:<ephemeral>; every accepted connection is handed to `serve` on
// the listener's thread, one after the other. Owns the listening socket and the thread.
class Listener {
 public:
  using Serve = std::function<void(int fd, const std::atomic<bool>& stop)>;
  explicit Listener(Serve serve, bool accept = true) : serve_(std::move(serve)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t length = sizeof(address);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    ::listen(fd_, 16);
    if (accept) thread_ = std::thread([this] { Run(); });
  }
  ~Listener() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  int connections() const { return connections_; }

 private:
  void Run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) continue;
      ++connections_;
      serve_(client, stop_);
      ::close(client);
    }
  }

  Serve serve_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// Reads one request (head and Content-Length body) from `fd`; empty when the peer closed or
// nothing came within two seconds.
std::string ReadRequest(int fd, const std::atomic<bool>& stop) {
  std::string data;
  char buffer[65536];
  size_t want = std::string::npos;
  while (!stop && (want == std::string::npos || data.size() < want)) {
    pollfd c{fd, POLLIN, 0};
    if (::poll(&c, 1, 2000) <= 0) return "";
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return "";
    data.append(buffer, static_cast<size_t>(n));
    const size_t head = data.find("\r\n\r\n");
    if (head != std::string::npos && want == std::string::npos) {
      const size_t at = data.find("Content-Length: ");
      want = head + 4 + (at < head ? std::stoul(data.substr(at + 16)) : 0);
    }
  }
  return data;
}

void SendAll(int fd, const std::string& data) {
  ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
}

enricher::PostOptions Options(std::chrono::milliseconds timeout) {
  enricher::PostOptions options;
  options.timeout = timeout;
  options.user_agent = "registry-rca/test";
  return options;
}

enricher::HttpUrl Url(const std::string& text) {
  auto url = enricher::ParseHttpUrl(text);
  EXPECT_TRUE(url.ok()) << text << ": " << url.status().message();
  return url.ok() ? url.value() : enricher::HttpUrl{};
}

TEST(WebhookClientHttp, KeepsTheConnectionAndSendsBasicAuthFromTheUrl) {
  std::mutex mutex;
  std::vector<std::string> requests;
  Listener server([&](int fd, const std::atomic<bool>& stop) {
    // HTTP/1.1 keep-alive: answer every request on this connection until the client leaves.
    for (std::string request; !(request = ReadRequest(fd, stop)).empty();) {
      {
        std::lock_guard lock(mutex);
        requests.push_back(request);
      }
      SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  const enricher::HttpUrl url =
      Url("http://bot:s%3Acret%40x@127.0.0.1:" + std::to_string(server.port()) + "/hook?x=1");
  enricher::WebhookClient client;
  const enricher::PostResult first = client.Post(url, R"({"a":1})", Options(2s));
  const enricher::PostResult second = client.Post(url, R"({"a":2})", Options(2s));
  EXPECT_EQ(first.status, 200) << first.error;
  EXPECT_EQ(second.status, 200) << second.error;
  EXPECT_EQ(first.new_connections, 1);
  EXPECT_EQ(second.new_connections, 0);  // reused
  std::unique_lock lock(mutex);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(server.connections(), 1);
  const std::string& head = requests[0];
  EXPECT_EQ(head.rfind("POST /hook?x=1 HTTP/1.1\r\n", 0), 0u) << head;
  // "bot:s:cret@x": user info percent-decoded by curl's URL API, then Basic-encoded.
  EXPECT_NE(head.find("\r\nAuthorization: Basic Ym90OnM6Y3JldEB4\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nUser-Agent: registry-rca/test\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nContent-Type: application/json\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("Expect:"), std::string::npos) << head;
  EXPECT_EQ(head.substr(head.size() - 7), R"({"a":1})");
  // A URL without user info sends no Authorization, even right after one that had it.
  const enricher::HttpUrl anonymous =
      Url("http://127.0.0.1:" + std::to_string(server.port()) + "/hook");
  lock.unlock();  // the server records under it
  EXPECT_EQ(client.Post(anonymous, "{}", Options(2s)).status, 200);
  lock.lock();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2].find("Authorization"), std::string::npos) << requests[2];
}

TEST(WebhookClientHttp, DownstreamThatNeverAnswersTimesOutWithinTheBound) {
  // Reads the request, then says nothing until the test ends.
  Listener silent([](int fd, const std::atomic<bool>& stop) {
    ReadRequest(fd, stop);
    while (!stop) std::this_thread::sleep_for(10ms);
  });
  const auto started = SteadyClock::now();
  const enricher::PostResult result = PostJson(
      Url("http://127.0.0.1:" + std::to_string(silent.port()) + "/hook"), "{}", Options(300ms));
  const auto took = SteadyClock::now() - started;
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.reason, "timeout") << result.error;
  EXPECT_EQ(result.error.rfind("timeout: ", 0), 0u) << result.error;
  EXPECT_TRUE(result.retryable());
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 1300ms);
}

TEST(WebhookClientHttp, ConnectionNeverAcceptedTimesOutWithinTheBound) {
  // Listening but never accepting: the kernel completes the handshake (backlog), nobody reads.
  Listener backlog(nullptr, /*accept=*/false);
  const auto started = SteadyClock::now();
  const enricher::PostResult result = PostJson(
      Url("http://127.0.0.1:" + std::to_string(backlog.port()) + "/"), "{}", Options(300ms));
  EXPECT_EQ(result.reason, "timeout") << result.error;
  EXPECT_LT(SteadyClock::now() - started, 1300ms);
}

TEST(WebhookClientHttp, NameThatDoesNotResolveIsAnErrorNotAHang) {
  // RFC 6761: names under .invalid never resolve. The deadline covers the lookup either way.
  const auto started = SteadyClock::now();
  const enricher::PostResult result =
      PostJson(Url("http://registry-rca-test.invalid/hook"), "{}", Options(2s));
  const auto took = SteadyClock::now() - started;
  EXPECT_EQ(result.status, 0);
  EXPECT_TRUE(result.reason == "resolve" || result.reason == "timeout") << result.error;
  if (result.reason == "resolve") {
    EXPECT_NE(result.error.find("registry-rca-test.invalid"), std::string::npos) << result.error;
  }
  EXPECT_LT(took, 3s);
}

// Answers 200 with an announced 1 GiB body and streams it until the client goes away;
// `sent` is how much it got out.
Listener::Serve EndlessBody(std::atomic<size_t>* sent) {
  return [sent](int fd, const std::atomic<bool>& stop) {
    ReadRequest(fd, stop);
    SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n");
    const std::string chunk(64 << 10, 'x');
    while (!stop) {
      const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n <= 0) break;
      *sent += static_cast<size_t>(n);
    }
  };
}

TEST(WebhookClientHttp, EndlessAnswerIsCutAtTheBoundNotBuffered) {
  std::atomic<size_t> sent{0};
  {
    Listener endless(EndlessBody(&sent));
    const auto started = SteadyClock::now();
    const enricher::PostResult result = PostJson(
        Url("http://127.0.0.1:" + std::to_string(endless.port()) + "/"), "{}", Options(10s));
    EXPECT_EQ(result.status, 200) << result.error;  // it did answer 200: delivered
    EXPECT_TRUE(result.ok());
    EXPECT_TRUE(result.answer_cut);
    EXPECT_LT(SteadyClock::now() - started, 2s);  // not read until the deadline
  }
  // What the server got out before curl hung up: the bound plus socket buffers, not 1 GiB.
  EXPECT_LT(sent.load(), size_t{32} << 20);
}

TEST(WebhookClientHttp, EndlessHeadIsCutAtTheBound) {
  std::atomic<size_t> sent{0};
  {
    Listener endless([&sent](int fd, const std::atomic<bool>& stop) {
      ReadRequest(fd, stop);
      SendAll(fd, "HTTP/1.1 503 Busy\r\n");
      const std::string line = "X-Padding: " + std::string(1000, 'p') + "\r\n";
      while (!stop) {
        const ssize_t n = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
    });
    enricher::PostOptions options = Options(10s);
    const auto started = SteadyClock::now();
    const enricher::PostResult result =
        PostJson(Url("http://127.0.0.1:" + std::to_string(endless.port()) + "/"), "{}", options);
    EXPECT_TRUE(result.answer_cut) << result.error;
    EXPECT_EQ(result.status, 503);  // the status line came before the flood
    EXPECT_LT(SteadyClock::now() - started, 2s);
  }
  EXPECT_LT(sent.load(), size_t{32} << 20);
}

// An https server with tests/testdata/web/server.crt (CN localhost, SAN 127.0.0.1, issued by
// ca.crt): one TLS connection at a time, answers 200 and closes. `handshakes_failed` counts
// clients that hung up during the handshake (a refused certificate).
class TlsServer {
 public:
  TlsServer()
      : ctx_(SSL_CTX_new(TLS_server_method())),
        listener_([this](int fd, const std::atomic<bool>& stop) { Serve(fd, stop); }) {
    EXPECT_EQ(
        SSL_CTX_use_certificate_chain_file(ctx_.get(), (kWebTestdata + "/server.crt").c_str()), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx_.get(), (kWebTestdata + "/server.key").c_str(),
                                          SSL_FILETYPE_PEM),
              1);
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(listener_.port()) + "/"; }
  int answered() const { return answered_; }
  int handshakes_failed() const { return handshakes_failed_; }

 private:
  void Serve(int fd, const std::atomic<bool>&) {
    SSL* ssl = SSL_new(ctx_.get());
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      std::string data;
      char buffer[4096];
      while (data.find("\r\n\r\n") == std::string::npos) {
        const int n = SSL_read(ssl, buffer, sizeof(buffer));
        if (n <= 0) break;
        data.append(buffer, static_cast<size_t>(n));
      }
      const std::string answer =
          "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      SSL_write(ssl, answer.data(), static_cast<int>(answer.size()));
      ++answered_;
      SSL_shutdown(ssl);
    } else {
      ++handshakes_failed_;
    }
    SSL_free(ssl);
  }

  struct CtxFree {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
  };
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  std::atomic<int> answered_{0};
  std::atomic<int> handshakes_failed_{0};
  Listener listener_;  // declared last: its thread is joined before ctx_ is freed
};

TEST(WebhookClientHttps, VerifiesTheServerWithTheConfiguredCa) {
  TlsServer server;
  enricher::PostOptions options = Options(3s);
  options.ca_file = kWebTestdata + "/ca.crt";
  const enricher::PostResult good = PostJson(Url(server.url()), "{}", options);
  EXPECT_EQ(good.status, 200) << good.error;
  EXPECT_EQ(server.answered(), 1);
}

TEST(WebhookClientHttps, RefusesAServerTheCaDidNotIssueWithAClearError) {
  TlsServer server;
  for (const std::string& ca_file : {kWebTestdata + "/other-ca.crt", std::string()}) {
    enricher::PostOptions options = Options(3s);
    options.ca_file = ca_file;  // another CA, then the system's store: neither knows the test CA
    const enricher::PostResult refused = PostJson(Url(server.url()), "{}", options);
    EXPECT_EQ(refused.status, 0);
    EXPECT_EQ(refused.reason, "tls") << refused.error;
    EXPECT_NE(refused.error.find("certificate"), std::string::npos) << refused.error;
    EXPECT_NE(refused.error.find(ca_file.empty() ? "system's trust store" : ca_file),
              std::string::npos)
        << refused.error;
  }
  EXPECT_EQ(server.answered(), 0);  // nothing was sent to an unverified peer
  // The server notices the client's hang-up on its own thread: wait for it, with a deadline.
  const auto deadline = SteadyClock::now() + 5s;
  while (server.handshakes_failed() < 2 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(server.handshakes_failed(), 2);
}

// ---------------------------------------------------------------------------------------------
// enricher.ca_file and https in the config
// ---------------------------------------------------------------------------------------------

TEST(EnricherHttpsConfig, HttpsUrlsAndACaFileAreAcceptedAndChecked) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("rrca-enricher-ca-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kWebTestdata + "/ca.crt", dir / "ca.pem",
                             std::filesystem::copy_options::overwrite_existing);
  std::ofstream(dir / "not-pem.txt") << "hello\n";
  const std::string file = (dir / "registry-rca.yaml").string();

  auto good = ParseConfig(R"(sources: [{name: r, paths: [/x]}]
enricher:
  downstream_urls: ["https://bot:pw@hooks.example/alerts", "http://127.0.0.1:9/"]
  ca_file: ca.pem
)",
                          file);
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_EQ(good->enricher.ca_file, (dir / "ca.pem").string());  // relative to the config file
  auto none = ParseConfig(
      "sources: [{name: r, paths: [/x]}]\nenricher: {downstream_urls: [https://h/]}\n", file);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_EQ(none->enricher.ca_file, "");  // the system's trust store

  auto bad = ParseConfig(R"(sources: [{name: r, paths: [/x]}]
enricher:
  downstream_urls: ["https://h/"]
  ca_file: missing.pem
)",
                         file);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(":4:12: enricher.ca_file: " +
                                        (dir / "missing.pem").string() + ": cannot read the file"),
            std::string::npos)
      << bad.status().message();
  auto not_pem = ParseConfig(R"(sources: [{name: r, paths: [/x]}]
enricher:
  downstream_urls: ["https://h/"]
  ca_file: not-pem.txt
)",
                             file);
  ASSERT_FALSE(not_pem.ok());
  EXPECT_NE(not_pem.status().message().find("holds no PEM certificate"), std::string::npos)
      << not_pem.status().message();
  auto fifo = ParseConfig(R"(sources: [{name: r, paths: [/x]}]
enricher:
  downstream_urls: ["https://h/"]
  ca_file: /dev/null
)",
                          file);
  ASSERT_FALSE(fifo.ok());  // refused without reading (which could block)
  EXPECT_NE(fifo.status().message().find("enricher.ca_file: /dev/null: not a regular file"),
            std::string::npos)
      << fifo.status().message();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rrca::app
