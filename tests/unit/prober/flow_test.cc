// The registry probe end to end against a scripted registry on loopback: the Bearer token flow
// (401 + WWW-Authenticate, token service with Basic credentials, the token on every request; a
// token service refusing the credentials), the status GETs until 204 and the DELETE; bounded
// answers; and a stop that interrupts a run. The store probe against a scripted S3 endpoint in
// path-style and virtual-host addressing (the Host header; *.localhost is loopback to curl),
// signed for the configured region, with the leftover sweep and the abort.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "prober/probe.h"
#include "prober/runner.h"

namespace rrca::prober {
namespace {

struct Request {
  std::string method, target, authorization, user_agent, host;
};

// A one-thread HTTP/1.1 server on 127.0.0.1 that answers each request with `handler` (the whole
// answer, head and body) and closes the connection. Stops in its destructor.
class ScriptedServer {
 public:
  using Handler = std::function<std::string(const Request&)>;
  explicit ScriptedServer(Handler handler) : handler_(std::move(handler)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t length = sizeof(address);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    EXPECT_EQ(::listen(listener_, 16), 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Request> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stopping_) {
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) return;
      std::string head;
      char buffer[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        const ssize_t got = ::recv(client, buffer, sizeof(buffer), 0);
        if (got <= 0) break;
        head.append(buffer, static_cast<size_t>(got));
      }
      Request request;
      const size_t space = head.find(' ');
      request.method = head.substr(0, space);
      request.target = head.substr(space + 1, head.find(' ', space + 1) - space - 1);
      request.authorization = Header(head, "Authorization");
      request.user_agent = Header(head, "User-Agent");
      request.host = Header(head, "Host");
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      const std::string answer = handler_(request);
      ::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(client);
    }
  }
  static std::string Header(const std::string& head, const std::string& name) {
    const size_t at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos) return "";
    const size_t start = at + name.size() + 4;
    return head.substr(start, head.find("\r\n", start) - start);
  }

  Handler handler_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Request> requests_;
};

std::string Answer(int status, const std::string& headers = "", const std::string& body = "") {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         headers + "\r\n" + body;
}

class ProberFlow : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("prober_flow_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  ProbeConfig RegistryProbe(const std::string& url) {
    ProbeConfig config;
    config.kind = ProbeConfig::Kind::kRegistry;
    config.name = "fake";
    config.timeout = std::chrono::seconds(20);  // generous: sanitizers on two busy cores
    config.poll_interval = std::chrono::milliseconds(5);
    config.registry.url = url;
    config.registry.repository = "probe/repo";
    return config;
  }
  std::filesystem::path dir_;
};

TEST_F(ProberFlow, BearerTokenFlowThenStatusUntil204ThenDelete) {
  std::atomic<int> gets{0};
  std::string realm;
  ScriptedServer server([&](const Request& r) {
    if (r.target.starts_with("/token")) {
      // user:secret, as Basic; the scope the challenge named.
      if (r.authorization != "Basic dXNlcjpzZWNyZXQ=" ||
          r.target.find("scope=repository%3Aprobe%2Frepo%3Apull%2Cpush") == std::string::npos ||
          r.target.find("service=fake-registry") == std::string::npos) {
        return Answer(401);
      }
      return Answer(200, "Content-Type: application/json\r\n", R"({"token":"tok-123"})");
    }
    if (r.authorization != "Bearer tok-123") {
      return Answer(401, "WWW-Authenticate: Bearer realm=\"" + realm +
                             "\",service=\"fake-registry\",scope=\"repository:probe/repo:pull,"
                             "push\"\r\n");
    }
    if (r.method == "POST" && r.target == "/v2/probe/repo/blobs/uploads/") {
      return Answer(202, "Location: /v2/probe/repo/blobs/uploads/u-1?_state=s\r\n");
    }
    if (r.method == "GET" && r.target == "/v2/probe/repo/blobs/uploads/u-1?_state=s") {
      return ++gets < 4 ? Answer(500, "", R"({"errors":[{"code":"UNKNOWN"}]})") : Answer(204);
    }
    if (r.method == "DELETE" && r.target == "/v2/probe/repo/blobs/uploads/u-1?_state=s") {
      return Answer(204);
    }
    return Answer(400);
  });
  realm = server.base() + "/token";
  std::ofstream(dir_ / "credentials") << "user:secret\n";
  ProbeConfig config = RegistryProbe(server.base());
  config.registry.credentials_file = (dir_ / "credentials").string();
  StopSignal stop;
  const ProbeResult result = RunProbe(config, stop);
  ASSERT_TRUE(result.ok()) << FailReasonName(result.reason) << ": " << result.detail;
  EXPECT_TRUE(result.measured);
  EXPECT_GE(result.checks, 4);  // checks overlap: some may still have been in flight
  EXPECT_GT(result.visibility_seconds, result.visible_after_seconds);
  EXPECT_LE(result.visibility_seconds, result.visible_by_seconds);
  const auto requests = server.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().method, "DELETE");
  for (const Request& r : requests) EXPECT_TRUE(r.user_agent.starts_with("registry-rca-probe/"));
  int tokens = 0;
  for (const Request& r : requests) tokens += r.target.starts_with("/token") ? 1 : 0;
  EXPECT_EQ(tokens, 1);  // the token is kept for the rest of the run
}

TEST_F(ProberFlow, RefusedCredentialsAreAnAuthFailure) {
  ScriptedServer server([&](const Request& r) {
    if (r.authorization.empty()) return Answer(401, "WWW-Authenticate: Basic realm=\"r\"\r\n");
    return Answer(401, "WWW-Authenticate: Basic realm=\"r\"\r\n");
  });
  ProbeConfig config = RegistryProbe(server.base());
  config.registry.username = "user";
  StopSignal stop;
  const ProbeResult result = RunProbe(config, stop);
  EXPECT_EQ(result.reason, FailReason::kAuth) << result.detail;
  EXPECT_NE(result.detail.find("refused"), std::string::npos) << result.detail;
  EXPECT_EQ(server.requests().size(), 2u);  // one retry with the credentials, no more
}

TEST_F(ProberFlow, TokenServiceRefusingTheCredentialsIsAnAuthFailure) {
  std::string realm;
  ScriptedServer server([&](const Request& r) {
    if (r.target.starts_with("/token")) {
      return Answer(401, "WWW-Authenticate: Basic realm=\"token\"\r\n",
                    R"({"errors":[{"code":"UNAUTHORIZED"}]})");
    }
    return Answer(401, "WWW-Authenticate: Bearer realm=\"" + realm + "\",service=\"reg\"\r\n");
  });
  realm = server.base() + "/token";
  std::ofstream(dir_ / "credentials") << "user:wrong\n";
  ProbeConfig config = RegistryProbe(server.base());
  config.registry.credentials_file = (dir_ / "credentials").string();
  StopSignal stop;
  const ProbeResult result = RunProbe(config, stop);
  EXPECT_EQ(result.reason, FailReason::kAuth) << result.detail;
  EXPECT_EQ(FailReasonName(result.reason), "auth");
  EXPECT_NE(result.detail.find("token service answered 401"), std::string::npos) << result.detail;
  EXPECT_EQ(result.detail.find("wrong"), std::string::npos) << "a credential in the detail";
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);  // the POST, the token request; nothing more
  EXPECT_EQ(requests[1].authorization, "Basic dXNlcjp3cm9uZw==");  // user:wrong
}

TEST_F(ProberFlow, NeverVisibleIsNotVisibleAndStillCancelled) {
  ScriptedServer server([&](const Request& r) {
    if (r.method == "POST") return Answer(202, "Location: /v2/probe/repo/blobs/uploads/u-2\r\n");
    if (r.method == "GET") return Answer(404);
    return Answer(204);
  });
  ProbeConfig config = RegistryProbe(server.base());
  config.timeout = std::chrono::milliseconds(300);
  StopSignal stop;
  const ProbeResult result = RunProbe(config, stop);
  EXPECT_EQ(result.reason, FailReason::kNotVisible) << result.detail;
  EXPECT_FALSE(result.measured);
  EXPECT_EQ(server.requests().back().method, "DELETE");
}

TEST_F(ProberFlow, CleanupRetriesWhileTheUploadIsStillHidden) {
  // Stopped while the store hides the upload: the registry cannot resume it to cancel it yet.
  std::atomic<int> deletes{0};
  ScriptedServer server([&](const Request& r) {
    if (r.method == "POST") return Answer(202, "Location: /v2/probe/repo/blobs/uploads/u-4\r\n");
    if (r.method == "GET") return Answer(500);
    return ++deletes < 3 ? Answer(500) : Answer(204);
  });
  ProbeConfig config = RegistryProbe(server.base());
  config.timeout = std::chrono::milliseconds(200);
  StopSignal stop;
  const ProbeResult result = RunProbe(config, stop);
  EXPECT_EQ(result.reason, FailReason::kNotVisible) << result.detail;
  EXPECT_EQ(deletes.load(), 3);
  EXPECT_EQ(result.detail.find("DELETE"), std::string::npos) << result.detail;  // it worked
}

TEST_F(ProberFlow, OversizedAnswerIsRefused) {
  ScriptedServer server([&](const Request&) {
    return Answer(202, "Location: /" + std::string(20000, 'a') + "\r\n");
  });
  StopSignal stop;
  const ProbeResult result = RunProbe(RegistryProbe(server.base()), stop);
  EXPECT_EQ(result.reason, FailReason::kAnswer) << result.detail;
}

TEST_F(ProberFlow, OffHostLocationIsRefused) {
  ScriptedServer server([&](const Request&) {
    return Answer(202, "Location: http://192.0.2.1/v2/probe/repo/blobs/uploads/u\r\n");
  });
  StopSignal stop;
  const ProbeResult result = RunProbe(RegistryProbe(server.base()), stop);
  EXPECT_EQ(result.reason, FailReason::kAnswer) << result.detail;
  EXPECT_EQ(server.requests().size(), 1u);  // nothing sent to the other host
}

TEST_F(ProberFlow, StopInterruptsARunPromptly) {
  ScriptedServer server([&](const Request& r) {
    if (r.method == "POST") return Answer(202, "Location: /v2/probe/repo/blobs/uploads/u-3\r\n");
    if (r.method == "GET") return Answer(500);
    return Answer(204);
  });
  StopSignal stop;
  ProbeResult result;
  const auto start = std::chrono::steady_clock::now();
  std::thread run([&] { result = RunProbe(RegistryProbe(server.base()), stop); });
  // Stop once the run is polling (the server saw a GET), not after a fixed time.
  const auto deadline = start + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    bool polling = false;
    for (const Request& r : server.requests()) polling |= r.method == "GET";
    if (polling) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto stopped_at = std::chrono::steady_clock::now();
  stop.Stop();
  run.join();
  EXPECT_EQ(result.reason, FailReason::kStopped) << result.detail;
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, std::chrono::seconds(6));
  EXPECT_EQ(server.requests().back().method, "DELETE");  // cleaned up after the stop
}

// Runs `run` on a thread and stops `stop` while the server holds the run's create (POST): the
// server answers it only after the stop. Waits for the run to end.
class StopDuringCreate {
 public:
  // Wraps a handler: a POST waits (at most 20 s) for the stop before `handler` answers it.
  ScriptedServer::Handler Wrap(ScriptedServer::Handler handler) {
    return [this, handler](const Request& r) {
      if (r.method == "POST") {
        std::unique_lock lock(mutex_);
        post_seen_ = true;
        changed_.notify_all();
        changed_.wait_for(lock, std::chrono::seconds(20), [this] { return stopped_; });
      }
      return handler(r);
    };
  }
  ProbeResult Run(const ProbeConfig& config) {
    StopSignal stop;
    ProbeResult result;
    std::thread run([&] { result = RunProbe(config, stop); });
    {
      std::unique_lock lock(mutex_);
      EXPECT_TRUE(changed_.wait_for(lock, std::chrono::seconds(20), [this] { return post_seen_; }));
    }
    stop.Stop();
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    changed_.notify_all();
    run.join();
    return result;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool post_seen_ = false;
  bool stopped_ = false;
};

TEST_F(ProberFlow, StopDuringTheCreateLetsItFinishAndCancelsTheUpload) {
  // The registry created the upload when the daemon was stopped: without the POST's answer the
  // upload would be left behind in the store.
  StopDuringCreate race;
  ScriptedServer server(race.Wrap([](const Request& r) {
    if (r.method == "POST") return Answer(202, "Location: /v2/probe/repo/blobs/uploads/u-6\r\n");
    if (r.method == "GET") return Answer(500);
    return Answer(204);
  }));
  const ProbeResult result = race.Run(RegistryProbe(server.base()));
  EXPECT_EQ(result.reason, FailReason::kStopped) << result.detail;
  const auto requests = server.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().method, "DELETE");
  EXPECT_EQ(requests.back().target, "/v2/probe/repo/blobs/uploads/u-6");
  for (const Request& r : requests) EXPECT_NE(r.method, "GET") << "no check after the stop";
}

// A scripted S3 endpoint: one earlier probe upload left over, a new upload listed from the third
// ListMultipartUploads on. Answers 400 to a request at another Host or signed for another region.
struct FakeStore {
  std::string bucket = "probe-bucket";
  std::string expected_host;  // set once the port is known
  bool virtual_host = false;
  std::atomic<int> lists{0};
  std::string Handle(const Request& r) {
    if (r.host != expected_host) return Answer(400, "", "wrong host " + r.host);
    if (!r.authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDPROBE/") ||
        r.authorization.find("/eu-central-1/s3/aws4_request") == std::string::npos) {
      return Answer(403, "", "bad signature " + r.authorization);
    }
    const std::string root = virtual_host ? "/" : "/" + bucket;
    const std::string objects = virtual_host ? "/" : "/" + bucket + "/";
    const std::string key = "registry-rca-probe/s3/";
    if (r.method == "GET" && r.target == root + "?prefix=registry-rca-probe%2Fs3%2F&uploads=") {
      return Answer(200, "",
                    "<ListMultipartUploadsResult><Upload><Key>" + key +
                        "crashed</Key><UploadId>old-1</UploadId></Upload>"
                        "</ListMultipartUploadsResult>");
    }
    if (r.method == "DELETE" && r.target == objects + key + "crashed?uploadId=old-1") {
      return Answer(204);
    }
    if (r.method == "POST" && r.target.starts_with(objects + key) &&
        r.target.ends_with("?uploads=")) {
      new_key = r.target.substr(objects.size(), r.target.size() - objects.size() - 9);
      return Answer(200, "",
                    "<InitiateMultipartUploadResult><UploadId>up-1</UploadId>"
                    "</InitiateMultipartUploadResult>");
    }
    if (r.method == "GET" && r.target.starts_with(root + "?prefix=registry-rca-probe%2Fs3%2F1")) {
      if (++lists < 3) return Answer(200, "", "<ListMultipartUploadsResult/>");
      return Answer(200, "",
                    "<ListMultipartUploadsResult><Upload><Key>" + new_key +
                        "</Key><UploadId>up-1</UploadId></Upload>"
                        "</ListMultipartUploadsResult>");
    }
    if (r.method == "DELETE" && r.target == objects + new_key + "?uploadId=up-1") {
      return Answer(204);
    }
    return Answer(400, "", "unexpected " + r.method + " " + r.target);
  }
  std::string new_key;
};

// A store probe of FakeStore's bucket at `server`, with its credentials written into `dir`; sets
// the Host the store expects.
ProbeConfig StoreProbeOf(const ScriptedServer& server, bool virtual_host,
                         const std::filesystem::path& dir, FakeStore* store) {
  const std::string port = server.base().substr(server.base().rfind(':') + 1);
  store->virtual_host = virtual_host;
  store->expected_host = (virtual_host ? "probe-bucket.localhost:" : "127.0.0.1:") + port;
  std::ofstream(dir / "aws") << "[default]\naws_access_key_id = AKIDPROBE\n"
                                "aws_secret_access_key = s3cr3t\n";
  ProbeConfig config;
  config.kind = ProbeConfig::Kind::kStore;
  config.name = "s3";
  config.timeout = std::chrono::seconds(20);
  config.poll_interval = std::chrono::milliseconds(5);
  config.store.endpoint = (virtual_host ? "http://localhost:" : "http://127.0.0.1:") + port;
  config.store.bucket = "probe-bucket";
  config.store.region = "eu-central-1";
  config.store.virtual_host = virtual_host;
  config.store.credentials_file = (dir / "aws").string();
  return config;
}

void RunStoreProbeAgainst(bool virtual_host, const std::filesystem::path& dir) {
  FakeStore store;
  ScriptedServer server([&](const Request& r) { return store.Handle(r); });
  const ProbeConfig config = StoreProbeOf(server, virtual_host, dir, &store);
  StopSignal stop;
  const ProbeResult result = RunProbe(config, stop);
  const auto requests = server.requests();
  ASSERT_TRUE(result.ok()) << FailReasonName(result.reason) << ": " << result.detail;
  EXPECT_TRUE(result.measured);
  EXPECT_GE(result.checks, 3);
  EXPECT_GT(result.visible_after_seconds, 0);  // the first two listings did not hold it
  EXPECT_EQ(result.leftovers_aborted, 1);
  for (const Request& r : requests) {
    EXPECT_EQ(r.host, store.expected_host) << r.method << " " << r.target;
    EXPECT_TRUE(r.user_agent.starts_with("registry-rca-probe/")) << r.user_agent;
  }
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().method, "DELETE");  // aborted
  EXPECT_NE(requests.back().target.find("uploadId=up-1"), std::string::npos);
}

TEST_F(ProberFlow, StoreProbePathStyleSignedForItsRegion) { RunStoreProbeAgainst(false, dir_); }

TEST_F(ProberFlow, StoreProbeVirtualHostAddressing) { RunStoreProbeAgainst(true, dir_); }

TEST_F(ProberFlow, StoreProbeStoppedDuringTheCreateAbortsTheUpload) {
  FakeStore store;
  StopDuringCreate race;
  ScriptedServer server(race.Wrap([&](const Request& r) { return store.Handle(r); }));
  const ProbeResult result = race.Run(StoreProbeOf(server, false, dir_, &store));
  EXPECT_EQ(result.reason, FailReason::kStopped) << result.detail;
  const auto requests = server.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().method, "DELETE");
  EXPECT_NE(requests.back().target.find("uploadId=up-1"), std::string::npos);
}

TEST_F(ProberFlow, RunnerRunsProbesOnItsThreadAndStopsPromptly) {
  ScriptedServer server([&](const Request& r) {
    if (r.method == "POST") return Answer(202, "Location: /v2/probe/repo/blobs/uploads/u-5\r\n");
    return Answer(204);
  });
  ProbeConfig config = RegistryProbe(server.base());
  config.interval = std::chrono::milliseconds(50);
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<ProbeResult> results;
  ProbeRunner runner({config}, [&](size_t index, const ProbeConfig& probe, const ProbeResult& r) {
    EXPECT_EQ(index, 0u);
    EXPECT_EQ(probe.name, "fake");
    std::lock_guard lock(mutex);
    results.push_back(r);
    changed.notify_all();
  });
  runner.Start();
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(30), [&] {
      return results.size() >= 3;
    })) << "the runner did not run the probe three times in 30 s";
    for (const ProbeResult& r : results) EXPECT_TRUE(r.ok()) << r.detail;
  }
  const auto stop_at = std::chrono::steady_clock::now();
  runner.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_at, std::chrono::seconds(6));
}

}  // namespace
}  // namespace rrca::prober
