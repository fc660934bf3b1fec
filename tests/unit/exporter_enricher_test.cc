// The alert enricher (exporter/enricher/enricher.h) and what it stands on: the JSON value parser, the
// webhook URL parser and client, windowed metric numbers, the `enricher:` config section.
// Deliveries go to a real HTTP sink on 127.0.0.1:<ephemeral> started by the test.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

#include "exporter/app/config.h"
#include "exporter/enricher/enricher.h"
#include "exporter/enricher/enricher_history.h"
#include "exporter/enricher/enricher_http.h"
#include "common/json_value.h"

namespace rrca::exporter {

void PrintTo(const JsonValue& value, std::ostream* out) { *out << value.Serialize(); }

namespace {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

TEST(JsonValueTest, RoundTripsKeepingOrderAndNumberText) {
  const std::string text =
      R"({"b":1,"a":[true,false,null,0.10,-2e+400,"x\"y\\z\n\u00e9\ud83d\ude00"],"c":{}})";
  auto value = ParseJson(text);
  ASSERT_TRUE(value.ok()) << value.status().message();
  EXPECT_EQ(
      value->Serialize(),
      "{\"b\":1,\"a\":[true,false,null,0.10,-2e+400,\"x\\\"y\\\\z\\n\xC3\xA9\xF0\x9F\x98\x80\"],"
      "\"c\":{}}");
  EXPECT_EQ(value->Find("a")->AsArray()[3].AsNumber(), 0.1);
  EXPECT_EQ(value->Find("a")->AsArray()[5].AsString(), "x\"y\\z\n\xC3\xA9\xF0\x9F\x98\x80");
  auto again = ParseJson(value->Serialize());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), value.value());
}

TEST(JsonValueTest, HostileStringsBecomeReplacementCharacters) {
  auto value = ParseJson(
      "[\"\\ud800x\", \"\\udc00\", \"a\xff\xfe"
      "b\", \"\xc3\x28\"]");
  ASSERT_TRUE(value.ok()) << value.status().message();
  const auto& a = value->AsArray();
  EXPECT_EQ(a[0].AsString(), "\xEF\xBF\xBDx");
  EXPECT_EQ(a[1].AsString(), "\xEF\xBF\xBD");
  EXPECT_EQ(a[2].AsString(),
            "a\xEF\xBF\xBD\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(a[3].AsString(), "\xEF\xBF\xBD(");
}

TEST(JsonValueTest, RejectsWhatRfc8259Rejects) {
  const std::vector<std::string> bad = {
      "",
      " ",
      "{",
      "}",
      "[1,]",
      "{\"a\":1,}",
      "{a:1}",
      "{'a':1}",
      "[01]",
      "[1.]",
      "[.5]",
      "[1e]",
      "[-]",
      "[+1]",
      "\"unterminated",
      "\"tab\there\"",
      "[\"\\x\"]",
      "[\"\\u12\"]",
      "tru",
      "nul",
      "[1] [2]",
      "[1]x",
      "/* c */ 1",
      "{\"a\" 1}",
      "[1 2]",
      "NaN",
      "Infinity",
      std::string("[\"a\0b\"]", 7),
      "\xEF\xBB\xBF[]",
  };
  for (const std::string& text : bad) {
    auto value = ParseJson(text);
    EXPECT_FALSE(value.ok()) << "accepted: " << text;
    if (!value.ok()) {
      EXPECT_EQ(value.status().message().rfind("byte ", 0), 0u) << text;
    }
  }
}

TEST(JsonValueTest, LimitsBoundHostileDocuments) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto value = ParseJson(deep);
  ASSERT_FALSE(value.ok());
  EXPECT_NE(value.status().message().find("nested deeper than 64"), std::string::npos);
  EXPECT_TRUE(ParseJson(std::string(64, '[') + std::string(64, ']')).ok());

  JsonLimits small;
  small.max_bytes = 10;
  EXPECT_FALSE(ParseJson("[1,2,3,4,5,6]", small).ok());
  small.max_bytes = 1 << 20;
  small.max_values = 5;
  EXPECT_TRUE(ParseJson("[1,2,3,4]", small).ok());
  EXPECT_FALSE(ParseJson("[1,2,3,4,5]", small).ok());
}

TEST(JsonValueTest, SetReplacesAndFindTakesTheLastDuplicate) {
  auto value = ParseJson(R"({"k":1,"x":2,"k":3})");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->Find("k")->AsNumber(), 3);
  value->Set("k", JsonValue::String("v"));
  EXPECT_EQ(value->Serialize(), R"({"k":"v","x":2})");
  JsonValue built;
  built.Set("n", JsonValue::Number(std::numeric_limits<double>::infinity()));
  built.Set("s", JsonValue::String("bad \xff utf8"));
  EXPECT_EQ(built.Serialize(), "{\"n\":null,\"s\":\"bad \xEF\xBF\xBD utf8\"}");
}

// Random garbage and random mutations of a real payload: never a crash; whatever is accepted
// serializes to JSON that parses back to the same value.
TEST(JsonValueTest, FuzzNeverCrashesAndAcceptedInputRoundTrips) {
  const std::string seed =
      R"({"receiver":"r","status":"firing","alerts":[{"labels":{"a":"b"},"annotations":{},)"
      R"("startsAt":"2026-11-29T12:00:00.5Z","fingerprint":"f","x":[1,-0.5e3,true,null]}],"v":"4"})";
  std::mt19937 random(42);
  const std::string alphabet = "{}[]\",:\\ u0123456789abcdefntrl-+.eE\x01\x7f\xc3\xff";
  for (int i = 0; i < 20000; ++i) {
    std::string text = seed;
    if (i % 2 == 0) {
      text.resize(random() % 64);
      for (char& c : text) c = alphabet[random() % alphabet.size()];
    } else {
      for (int m = 0; m < 1 + static_cast<int>(random() % 4); ++m) {
        const size_t at = random() % text.size();
        switch (random() % 3) {
          case 0:
            text[at] = alphabet[random() % alphabet.size()];
            break;
          case 1:
            text.erase(at, 1 + random() % 3);
            break;
          default:
            text.insert(at, 1, alphabet[random() % alphabet.size()]);
        }
        if (text.empty()) text = "x";
      }
    }
    auto value = ParseJson(text);
    if (!value.ok()) continue;
    auto again = ParseJson(value->Serialize());
    ASSERT_TRUE(again.ok()) << text;
    EXPECT_EQ(again.value(), value.value()) << text;
  }
}

// ---------------------------------------------------------------------------------------------
// URLs and config
// ---------------------------------------------------------------------------------------------

TEST(HttpUrlTest, ParsesHttpAndHttpsKeepingCredentialsOutOfTheRedactedUrl) {
  auto url = ParseHttpUrl("http://bot:s%3Acret@hooks.example:8080/alerts?x=1");
  ASSERT_TRUE(url.ok()) << url.status().message();
  EXPECT_TRUE(url->has_credentials);
  EXPECT_EQ(url->user, "bot");
  EXPECT_EQ(url->password, "s:cret");  // percent-decoded by curl's URL API
  EXPECT_EQ(url->redacted, "http://hooks.example:8080/alerts?x=1");
  EXPECT_FALSE(url->https);
  auto v6 = ParseHttpUrl("http://[::1]:9/");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->redacted, "http://[::1]:9/");
  EXPECT_FALSE(v6->has_credentials);
  EXPECT_EQ(ParseHttpUrl("http://h")->redacted, "http://h/");
  EXPECT_EQ(ParseHttpUrl("http://h:80/x")->redacted, "http://h/x");  // one label per downstream
  auto https = ParseHttpUrl("https://token@hooks.example/alerts");
  ASSERT_TRUE(https.ok()) << https.status().message();
  EXPECT_TRUE(https->https);
  EXPECT_EQ(https->redacted, "https://hooks.example/alerts");
  EXPECT_EQ(https->user, "token");
  for (const char* bad :
       {"ftp://h/", "http://", "http://h:0/", "http://h:99999/", "http://h:x/", "http://h/a b",
        "http://[::1/", "http://h$/", "hooks.example/x", "http://h/x#frag", "http://u%00x@h/"}) {
    auto parsed = ParseHttpUrl(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().message().find("u%00x"), std::string::npos);  // never echoed
    }
  }
}

TEST(EnricherConfigTest, SectionIsOptionalParsedAndStrict) {
  auto plain = ParseConfig("sources: [{name: r, paths: [/x]}]\n", "c.yaml");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->enricher.enabled);

  auto config = ParseConfig(R"(sources: [{name: r, paths: [/x]}]
enricher:
  downstream_urls: ["http://127.0.0.1:9095/alerts", "http://pager:80/hook"]
  timeout: 2s
  retries: 5
  dedupe_window: 10m
  min_window: 15m
  dashboard_base_url: https://grafana.example/
  runbook_base_url: https://wiki.example/runbook
  external_url: http://registry-rca:9479
  queue_size: 8
  queue_max_bytes: 16777216
)",
                            "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const EnricherConfig& e = config->enricher;
  EXPECT_TRUE(e.enabled);
  EXPECT_EQ(e.downstream_urls.size(), 2u);
  EXPECT_EQ(e.timeout_seconds, 2);
  EXPECT_EQ(e.retries, 5);
  EXPECT_EQ(e.dedupe_window_seconds, 600);
  EXPECT_EQ(e.min_window_seconds, 900);
  EXPECT_EQ(e.dashboard_base_url, "https://grafana.example");
  EXPECT_EQ(e.external_url, "http://registry-rca:9479");
  EXPECT_EQ(e.queue_size, 8u);
  EXPECT_EQ(e.queue_max_bytes, 16u << 20);
  EXPECT_EQ(plain->enricher.queue_max_bytes, 32u << 20);

  auto bad = ParseConfig(R"(sources: [{name: r, paths: [/x]}]
enricher:
  downstream_urls:
    - https://ok/
    - ftp://files.example/hook
  timeout: never
  retries: 50
  colour: blue
  queue_max_bytes: 1000
)",
                         "c.yaml");
  ASSERT_FALSE(bad.ok());
  const std::string& m = bad.status().message();
  EXPECT_NE(m.find("c.yaml:5:7: enricher.downstream_urls[1]: must start with http:// or https://"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("enricher.timeout: must be a positive duration"), std::string::npos) << m;
  EXPECT_NE(m.find("enricher.retries: must be at most 10"), std::string::npos) << m;
  EXPECT_NE(m.find("c.yaml:8:3: enricher.colour: unknown key"), std::string::npos) << m;
  EXPECT_NE(m.find("enricher.queue_max_bytes: must be at least"), std::string::npos) << m;

  auto empty = ParseConfig("sources: [{name: r, paths: [/x]}]\nenricher: {}\n", "c.yaml");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("at least one downstream"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Windowed numbers from cumulative metrics
// ---------------------------------------------------------------------------------------------

MetricSample Sample(int64_t t, double c2v_under_1s, double c2v_under_4s, double store_503) {
  MetricSample s;
  s.time_ns = t;
  s.histograms[kCreateToVisibleFamily] = {{1.0, c2v_under_1s},
                                          {4.0, c2v_under_4s},
                                          {std::numeric_limits<double>::infinity(), c2v_under_4s}};
  s.store_errors[{"create_multipart", "503"}] = store_503;
  s.store_errors[{"put_part", "500"}] = 1;
  return s;
}

TEST(MetricHistoryTest, WindowIsCurrentMinusTheSnapshotBeforeIt) {
  MetricHistory history(100);
  history.Add(Sample(1000, 10, 10, 5));  // before the window: 10 fast creates
  history.Add(Sample(2000, 10, 14, 9));
  const WindowNumbers w = history.Window(1500, Sample(3000, 10, 20, 12));
  EXPECT_EQ(w.from_ns, 1000);
  // 10 creates in the window, all between 1 s and 4 s: p50 interpolates to 2.5 s.
  EXPECT_DOUBLE_EQ(w.Count(kCreateToVisibleFamily), 10);
  EXPECT_DOUBLE_EQ(w.Quantile(kCreateToVisibleFamily, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(w.Quantile(kCreateToVisibleFamily, 1.0), 4.0);
  ASSERT_EQ(w.store_errors.size(), 1u);  // put_part 500 did not move
  EXPECT_EQ(w.store_errors[0].first, "create_multipart 503");
  EXPECT_EQ(w.store_errors[0].second, 7);
  EXPECT_EQ(w.Quantile(kClientGapFamily, 0.5), -1);  // no such histogram

  // Older than every snapshot: counters were 0 at the start.
  const WindowNumbers all = history.Window(50, Sample(3000, 10, 20, 12));
  EXPECT_EQ(all.from_ns, 100);
  EXPECT_DOUBLE_EQ(all.Count(kCreateToVisibleFamily), 20);
}

TEST(MetricHistoryTest, QuantileInTheInfBucketIsTheHighestFiniteBound) {
  WindowNumbers w;
  w.histograms[kClientGapFamily] = {
      {0.5, 0}, {2, 1}, {std::numeric_limits<double>::infinity(), 10}};
  EXPECT_DOUBLE_EQ(w.Quantile(kClientGapFamily, 0.99), 2);
  EXPECT_DOUBLE_EQ(w.Quantile(kClientGapFamily, 0.05), 1.25);  // rank 0.5 of 1 in (0.5, 2]
}

TEST(MetricHistoryTest, ThinningKeepsItBoundedAndOrdered) {
  MetricHistory history(0, 16);
  for (int i = 1; i <= 1000; ++i) history.Add(Sample(i, 0, 0, i));
  EXPECT_LE(history.size(), 16u);
  EXPECT_EQ(history.latest_ns(), 1000);
  const WindowNumbers w = history.Window(990, Sample(1001, 0, 0, 1001));
  EXPECT_GE(w.from_ns, 900);  // recent history stays fine-grained
  EXPECT_LE(w.from_ns, 990);
}

// ---------------------------------------------------------------------------------------------
// A webhook sink on 127.0.0.1:<ephemeral>: records bodies, answers with scripted statuses.
// ---------------------------------------------------------------------------------------------

class TestSink {
 public:
  explicit TestSink(std::vector<int> statuses = {}) : statuses_(std::move(statuses)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t length = sizeof(address);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestSink() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/alerts"; }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mutex_);
    return bodies_;
  }
  int requests() const { return requests_; }
  bool WaitForBodies(size_t n, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (bodies().size() < n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) continue;
      std::string data;
      char buffer[65536];
      size_t want = std::string::npos;
      while (want == std::string::npos || data.size() < want) {
        pollfd c{client, POLLIN, 0};
        if (::poll(&c, 1, 2000) <= 0) break;
        const ssize_t n = ::recv(client, buffer, sizeof(buffer), 0);
        if (n <= 0) break;
        data.append(buffer, static_cast<size_t>(n));
        const size_t head = data.find("\r\n\r\n");
        if (head != std::string::npos && want == std::string::npos) {
          const size_t at = data.find("Content-Length: ");
          want = head + 4 + (at < head ? std::stoul(data.substr(at + 16)) : 0);
        }
      }
      const int index = requests_++;
      const int status = index < static_cast<int>(statuses_.size()) ? statuses_[index] : 200;
      if (status == 200) {
        std::lock_guard lock(mutex_);
        bodies_.push_back(want != std::string::npos && data.size() >= want
                              ? data.substr(data.find("\r\n\r\n") + 4)
                              : "");
      }
      const std::string answer = "HTTP/1.1 " + std::to_string(status) +
                                 " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
      ::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(client);
    }
  }

  std::vector<int> statuses_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mutex_;
  std::vector<std::string> bodies_;
  std::thread thread_;
};

TEST(WebhookClientTest, PostsAndReportsStatusOrWhyNot) {
  TestSink sink({503});
  auto url = ParseHttpUrl(sink.url());
  ASSERT_TRUE(url.ok());
  PostOptions options;
  options.timeout = 2s;
  options.user_agent = "test";
  PostResult first = PostJson(url.value(), "{\"a\":1}", options);
  EXPECT_EQ(first.status, 503);
  EXPECT_TRUE(first.retryable());
  PostResult second = PostJson(url.value(), "{\"a\":1}", options);
  EXPECT_TRUE(second.ok());
  ASSERT_TRUE(sink.WaitForBodies(1));
  EXPECT_EQ(sink.bodies()[0], "{\"a\":1}");

  // A closed port: no answer, with the reason.
  const int closed_port = [] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t l = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
    ::close(fd);
    return static_cast<int>(ntohs(a.sin_port));
  }();
  auto down = ParseHttpUrl("http://127.0.0.1:" + std::to_string(closed_port) + "/");
  options.timeout = 1s;
  PostResult refused = PostJson(down.value(), "{}", options);
  EXPECT_EQ(refused.status, 0);
  EXPECT_EQ(refused.reason, "connect");
  EXPECT_NE(refused.error.find("connect"), std::string::npos) << refused.error;
}

// ---------------------------------------------------------------------------------------------
// The enricher with fake daemon callbacks
// ---------------------------------------------------------------------------------------------

constexpr int64_t kNow = 1'795'956'600'000'000'000;  // 2026-11-29T12:50:00Z
constexpr char kUuid1[] = "a5c3381f-3bc6-4040-a438-e4b3462a8459";
constexpr char kUuid2[] = "dd76ec6c-8952-4e17-921b-3a7532f1889a";

std::string CausesJson() {
  return R"({"since_seconds":900,"until":"2026-11-29T12:50:43Z","truncated":false,"causes":[)"
         R"({"cause":"upload_not_yet_visible","severity":"critical","count":42,"repositories":[)"
         R"({"repository":"lab/app","count":30},{"repository":"lab/b\"q","count":12}],)"
         R"("example":{"time":"2026-11-29T12:50:43Z","request_id":"r1","upload_uuid":")" +
         std::string(kUuid1) +
         R"("}},)"
         R"({"cause":"blob_unknown","severity":"info","count":8,"repositories":[)"
         R"({"repository":"lab/c","count":8}],"example":{"time":"x","request_id":"r2","upload_uuid":""}}]})";
}

std::string ExplainJson(std::string_view uuid) {
  return R"({"upload_uuid":")" + std::string(uuid) +
         R"(","repository":"lab/app","outcome":"raced_failed","verdict":"the first PATCH came before the upload was visible.","create_to_visible_seconds":2.2,"client_gap_seconds":0.05,"unsafe_window_seconds":2.1,"events":[)"
         R"({"time":"2026-11-29T12:50:43.366000000Z","side":"registry","what":"POST 202","status":202,"duration_seconds":null,"source":"registry"},)"
         R"({"time":"2026-11-29T12:50:43.400000000Z","side":"store","what":"store create_multipart data 200","status":200,"duration_seconds":2.2,"source":"store"},)"
         R"({"time":"2026-11-29T12:50:43.580000000Z","side":"registry","what":"PATCH 500 upload_not_yet_visible","status":500,"duration_seconds":0.05,"source":"registry","line":"RAW-REGISTRY-LINE"}],)"
         R"("hops":[{"hop":"proxy","time":"2026-11-29T12:50:43.570Z","method":"PATCH","status":500,"line":"RAW-NGINX-LINE"}]})";
}

// Metric families as the daemon's registry would hand them over.
std::vector<prometheus::MetricFamily> Families(double creates_slow, double store_503) {
  prometheus::MetricFamily c2v;
  c2v.name = kCreateToVisibleFamily;
  c2v.type = prometheus::MetricType::Histogram;
  prometheus::ClientMetric m;
  m.label = {{"bucket", "b1"}};
  m.histogram.sample_count = static_cast<std::uint64_t>(creates_slow);
  m.histogram.bucket = {
      {0, 1.0},
      {static_cast<std::uint64_t>(creates_slow), 4.0},
      {static_cast<std::uint64_t>(creates_slow), std::numeric_limits<double>::infinity()}};
  c2v.metric.push_back(m);
  prometheus::MetricFamily s3;
  s3.name = kStoreRequestsFamily;
  s3.type = prometheus::MetricType::Counter;
  prometheus::ClientMetric ok, bad;
  ok.label = {{"bucket", "b1"}, {"operation", "create_multipart"}, {"code", "200"}};
  ok.counter.value = 100;
  bad.label = {{"bucket", "b1"}, {"operation", "create_multipart"}, {"code", "503"}};
  bad.counter.value = store_503;
  s3.metric = {ok, bad};
  return {c2v, s3};
}

std::string Payload(const std::string& group_key, const std::string& fingerprint,
                    const std::string& cause = "upload_not_yet_visible",
                    const std::string& starts_at = "2026-11-29T12:30:00.5Z") {
  return R"({"receiver":"registry-rca-enricher","status":"firing","alerts":[{"status":"firing",)"
         R"("labels":{"alertname":"RegistryRCAUploadsNotYetVisible","cause":")" +
         cause +
         R"(","cluster":"prod","severity":"critical"},)"
         R"("annotations":{"summary":"Pushes fail.","runbook_url":"https://x/runbook.md#)" +
         cause + R"("},"startsAt":")" + starts_at +
         R"(","endsAt":"0001-01-01T00:00:00Z",)"
         R"("generatorURL":"http://prometheus/graph","fingerprint":")" +
         fingerprint +
         R"("}],)"
         R"("groupLabels":{"alertname":"RegistryRCAUploadsNotYetVisible"},"commonLabels":{"cluster":"prod"},)"
         R"("commonAnnotations":{"summary":"Pushes fail."},"externalURL":"http://am:9093",)"
         R"("version":"4","groupKey":")" +
         group_key + R"(","truncatedAlerts":0})";
}

struct Fixture {
  std::atomic<int> causes_calls{0};
  std::atomic<int> explain_calls{0};
  std::string causes = CausesJson();
  std::string open_uuid;  // explained as still open, with only the registry's side
  double creates_slow = 10, store_503 = 3;
  int64_t now = kNow;

  EnricherSources Sources() {
    EnricherSources s;
    s.causes_json = [this](int64_t) {
      ++causes_calls;
      return causes;
    };
    s.explain_json = [this](std::string_view uuid) -> std::optional<std::string> {
      ++explain_calls;
      if (uuid != kUuid1 && uuid != kUuid2) return std::nullopt;
      if (uuid == open_uuid) {
        return R"({"upload_uuid":")" + std::string(uuid) +
               R"(","repository":"lab/app","outcome":"open","verdict":"","events":[)"
               R"({"time":"2026-11-29T12:50:43.366000000Z","side":"registry","what":"POST 202"}]})";
      }
      return ExplainJson(uuid);
    };
    s.example_uploads = [](std::string_view cause, int64_t, size_t) {
      return cause == "upload_not_yet_visible"
                 ? std::vector<std::string>{kUuid2, "00000000-0000-0000-0000-000000000000", kUuid1}
                 : std::vector<std::string>{};
    };
    s.collect = [this] { return Families(creates_slow, store_503); };
    return s;
  }
  EnricherConfig Config(const std::vector<std::string>& downstreams = {}) {
    EnricherConfig c;
    c.enabled = true;
    c.downstream_urls = downstreams;
    c.timeout_seconds = 2;
    c.retries = 2;
    c.dashboard_base_url = "http://grafana:3000";
    c.external_url = "http://rca:9479";
    return c;
  }
  EnricherOptions Options() {
    EnricherOptions o;
    o.now_ns = [this] { return now; };
    o.first_backoff = 10ms;
    return o;
  }
};

double Value(prometheus::Registry& registry, const std::string& name) {
  double sum = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      sum += family.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
    }
  }
  return sum;
}

TEST(EnricherTest, AttachesCausesRepositoriesStoreLatencyExamplesAndLinks) {
  Fixture f;
  prometheus::Registry registry;
  EnricherConfig config = f.Config();
  config.min_window_seconds = 30;
  Enricher enricher(config, f.Sources(), registry, f.Options());
  enricher.Snapshot();  // at 12:50:00: 10 slow creates and 3 store 503s so far
  f.creates_slow = 30;
  f.store_503 = 10;
  f.now = kNow + 60'000'000'000LL;  // 12:51:00; the alert started at 12:50:10.5
  const std::string body = Payload("{}:{alertname=\\\"A\\\"}", "fp1", "upload_not_yet_visible",
                                   "2026-11-29T12:50:10.5Z");
  auto payload = ParseJson(body);
  ASSERT_TRUE(payload.ok());
  const Enricher::Outcome outcome = enricher.Process(payload.value(), body);
  ASSERT_TRUE(outcome.enriched) << outcome.error;
  auto out = ParseJson(outcome.body);
  ASSERT_TRUE(out.ok()) << outcome.body;

  // Same schema: everything Alertmanager sent is still there.
  for (const char* key : {"receiver", "status", "groupLabels", "commonLabels", "externalURL",
                          "version", "groupKey", "truncatedAlerts"}) {
    EXPECT_EQ(out->Find(key)->Serialize(), payload->Find(key)->Serialize()) << key;
  }
  const JsonValue& alert = out->Find("alerts")->AsArray()[0];
  EXPECT_EQ(alert.GetString("startsAt"), "2026-11-29T12:50:10.5Z");
  const JsonValue& a = *alert.Find("annotations");
  EXPECT_EQ(a.GetString("summary"), "Pushes fail.");
  EXPECT_EQ(a.GetString("rca_summary").rfind("upload_not_yet_visible: 42 error responses", 0), 0u)
      << a.GetString("rca_summary");
  EXPECT_NE(a.GetString("rca_summary").find("(84% of 50)"), std::string::npos);
  EXPECT_EQ(a.GetString("rca_causes"), "upload_not_yet_visible 42, blob_unknown 8");
  EXPECT_EQ(a.GetString("rca_top_repositories"), "lab/app (30), lab/b\"q (12)");
  EXPECT_EQ(a.GetString("rca_store_errors"), "create_multipart 503 (7)");
  // 20 slow creates in the window, all in (1 s, 4 s]: p50 = 2.5 s.
  EXPECT_NE(a.GetString("rca_latency").find("create-to-visible p50 2.5s p99 3.97s"),
            std::string::npos)
      << a.GetString("rca_latency");
  // Two examples: the first candidate, then (the unknown UUID skipped) the second one.
  EXPECT_EQ(a.GetString("rca_example_upload")
                .rfind(std::string(kUuid2) + " (lab/app, raced_failed): ", 0),
            0u);
  EXPECT_EQ(a.GetString("rca_example_upload_2").rfind(kUuid1, 0), 0u);
  EXPECT_EQ(a.GetString("rca_example_timeline"),
            "12:50:43.366 registry POST 202; 12:50:43.400 store create_multipart data 200; "
            "12:50:43.580 registry PATCH 500 upload_not_yet_visible");
  const std::string dashboard = a.GetString("rca_dashboard_url");
  EXPECT_EQ(
      dashboard.rfind("http://grafana:3000/d/registry-rca-overview/registry-rca-overview?orgId=1"
                      "&var-cluster=prod&var-cause=upload_not_yet_visible&from=",
                      0),
      0u)
      << dashboard;
  EXPECT_EQ(a.GetString("rca_runbook_url"),
            "https://github.com/registry-rca/registry-rca/blob/main/docs/"
            "runbook.md#upload_not_yet_visible");
  EXPECT_EQ(a.GetString("rca_explain_url"),
            std::string("http://rca:9479/api/v1/uploads/") + kUuid2);

  // The detailed object, per alert.
  const JsonValue& e = *out->Find("enrichment");
  EXPECT_EQ(e.GetString("source"), "registry-rca");
  EXPECT_FALSE(e.Find("deduplicated")->AsBool());
  const JsonValue& d = e.Find("alerts")->AsArray()[0];
  EXPECT_EQ(d.GetString("fingerprint"), "fp1");
  EXPECT_EQ(d.Find("window")->Find("seconds")->AsNumber(), 49);  // startsAt..now, whole seconds
  EXPECT_EQ(d.Find("errors_of_cause")->AsNumber(), 42);
  EXPECT_EQ(d.Find("causes")->AsArray().size(), 2u);
  EXPECT_EQ(d.Find("examples")->AsArray().size(), 2u);
  EXPECT_EQ(d.Find("examples")->AsArray()[0].Find("events")->AsArray().size(), 3u);
  // The raw log lines of the explain JSON stay behind the explain URL: every notification would
  // otherwise carry up to 2 KiB per event.
  EXPECT_EQ(outcome.body.find("RAW-"), std::string::npos);
  EXPECT_EQ(d.Find("examples")->AsArray()[0].Find("hops")->AsArray().size(), 1u);
  EXPECT_NE(d.Find("links")->GetString("repository_dashboard").find("&var-repository=lab%2Fapp"),
            std::string::npos);
  EXPECT_EQ(d.Find("latency")->Find("uploads_measured")->AsNumber(), 0);
  // A one-alert group: the rca_* annotations are common annotations too.
  EXPECT_EQ(out->Find("commonAnnotations")->GetString("rca_causes"), a.GetString("rca_causes"));
}

// The unclassified alert fires for errors no rule names: their masked templates (from
// /api/v1/causes) go with it, so the receiver sees what the new failure looks like.
TEST(EnricherTest, UnclassifiedAlertCarriesTheTemplates) {
  Fixture f;
  f.causes =
      R"({"since_seconds":900,"until":"2026-11-29T12:50:43Z","truncated":false,"causes":[)"
      R"({"cause":"unclassified","severity":"warning","count":7,"repositories":[)"
      R"({"repository":"lab/app","count":7}],"example":{"time":"x","request_id":"r9","upload_uuid":""},)"
      R"("templates_total":2,"templates":[{"field":"err.detail","template":"s3aws: XMinioFoo: <n> <path>",)"
      R"("count":5,"example":"s3aws: XMinioFoo: 12 /a/b"},{"field":"err.detail","template":"boom <host>",)"
      R"("count":2,"example":"boom x.example"}]}]})";
  prometheus::Registry registry;
  Enricher enricher(f.Config(), f.Sources(), registry, f.Options());
  for (const std::string cause : {"unclassified", "upload_not_yet_visible"}) {
    const std::string body = Payload("{}:{alertname=\\\"U\\\"}", "fp-" + cause, cause);
    auto payload = ParseJson(body);
    ASSERT_TRUE(payload.ok());
    const Enricher::Outcome outcome = enricher.Process(payload.value(), body);
    ASSERT_TRUE(outcome.enriched) << outcome.error;
    auto out = ParseJson(outcome.body);
    ASSERT_TRUE(out.ok());
    const JsonValue& a = *out->Find("alerts")->AsArray()[0].Find("annotations");
    if (cause == "unclassified") {
      EXPECT_EQ(a.GetString("rca_unclassified_templates"),
                "5x s3aws: XMinioFoo: <n> <path>; 2x boom <host>");
    } else {
      EXPECT_EQ(a.Find("rca_unclassified_templates"), nullptr);  // only for that alert
    }
  }
}

TEST(EnricherTest, DecidedUploadsWithBothSidesAreBetterExamples) {
  Fixture f;
  f.open_uuid = kUuid2;  // the newest, but its store lines have not been read yet
  prometheus::Registry registry;
  Enricher enricher(f.Config(), f.Sources(), registry, f.Options());
  const std::string body = Payload("g", "fp");
  auto outcome = enricher.Process(ParseJson(body).value(), body);
  ASSERT_TRUE(outcome.enriched);
  auto out = ParseJson(outcome.body);
  const JsonValue& a = *out->Find("alerts")->AsArray()[0].Find("annotations");
  EXPECT_EQ(a.GetString("rca_example_upload").rfind(kUuid1, 0), 0u)
      << a.GetString("rca_example_upload");
  EXPECT_EQ(a.GetString("rca_example_upload_2").rfind(std::string(kUuid2) + " (lab/app, open)", 0),
            0u);
  EXPECT_EQ(a.GetString("rca_explain_url"),
            std::string("http://rca:9479/api/v1/uploads/") + kUuid1);
}

TEST(EnricherTest, GenericAlertSummarisesAllCausesAndExporterAlertsAreLeftAlone) {
  Fixture f;
  prometheus::Registry registry;
  Enricher enricher(f.Config(), f.Sources(), registry, f.Options());
  std::string body = Payload("g", "fp", "any");
  auto payload = ParseJson(body);
  auto outcome = enricher.Process(payload.value(), body);
  ASSERT_TRUE(outcome.enriched);
  auto out = ParseJson(outcome.body);
  const JsonValue& a = *out->Find("alerts")->AsArray()[0].Find("annotations");
  EXPECT_EQ(a.GetString("rca_summary").rfind("all causes: 50 error responses", 0), 0u);
  EXPECT_EQ(a.GetString("rca_top_repositories"), "lab/app (30), lab/b\"q (12), lab/c (8)");
  EXPECT_NE(a.GetString("rca_runbook_url").find("#registry_5xx_ratio"), std::string::npos);

  body = Payload("g2", "fp", "exporter");
  payload = ParseJson(body);
  outcome = enricher.Process(payload.value(), body);
  out = ParseJson(outcome.body);
  EXPECT_EQ(out->Find("alerts")->AsArray()[0].Find("annotations")->Find("rca_summary"), nullptr);
  EXPECT_EQ(out->Find("enrichment")->Find("alerts_skipped")->AsNumber(), 1);
}

TEST(EnricherTest, BurstOfTheSameGroupIsEnrichedOnce) {
  Fixture f;
  prometheus::Registry registry;
  EnricherConfig config = f.Config();
  config.dedupe_window_seconds = 300;
  Enricher enricher(config, f.Sources(), registry, f.Options());
  const std::string body = Payload("group-1", "fp1");
  auto payload = ParseJson(body);
  auto first = enricher.Process(payload.value(), body);
  ASSERT_TRUE(first.enriched);
  EXPECT_FALSE(first.deduplicated);
  EXPECT_EQ(f.causes_calls, 1);
  const int explains = f.explain_calls;

  f.now += 60'000'000'000LL;     // a minute later, same group: the cached enrichment
  f.causes = "not json at all";  // would fail if it were asked again
  auto second = enricher.Process(payload.value(), body);
  ASSERT_TRUE(second.enriched) << second.error;
  EXPECT_TRUE(second.deduplicated);
  EXPECT_EQ(f.causes_calls, 1);
  EXPECT_EQ(f.explain_calls, explains);
  auto out1 = ParseJson(first.body);
  auto out2 = ParseJson(second.body);
  EXPECT_EQ(out1->Find("alerts")->Serialize(), out2->Find("alerts")->Serialize());
  EXPECT_TRUE(out2->Find("enrichment")->Find("alerts")->AsArray()[0].Find("cached")->AsBool());

  // After the window the group is enriched again (and here fails: the original goes out).
  f.now += 300'000'000'000LL;
  auto third = enricher.Process(payload.value(), body);
  EXPECT_FALSE(third.enriched);
  EXPECT_EQ(third.body, body);
  EXPECT_EQ(f.causes_calls, 2);
}

TEST(EnricherTest, HandleValidatesQueuesAndRefusesWhenFull) {
  Fixture f;
  prometheus::Registry registry;
  EnricherConfig config = f.Config();
  config.queue_size = 2;
  Enricher enricher(config, f.Sources(), registry, f.Options());  // not started: nothing drains
  HttpRequest get{"GET", "/api/v1/alerts", "", "", "127.0.0.1:1", ""};
  EXPECT_EQ(enricher.Handle(get).status, 405);
  for (const std::string& bad :
       {std::string("garbage"), std::string("[]"), std::string("{\"alerts\":{}}"),
        std::string("{\"alerts\":[1]}"), std::string("{\"alerts\":[{\"labels\":{\"a\":1}}]}"),
        std::string("{\"alerts\":[],\"groupKey\":[]}"), std::string(200, '[')}) {
    HttpRequest post{"POST", "/api/v1/alerts", "", bad, "127.0.0.1:1", ""};
    const HttpResponse response = enricher.Handle(post);
    EXPECT_EQ(response.status, 400) << bad;
    EXPECT_TRUE(ParseJson(response.body).ok()) << response.body;
  }
  EXPECT_EQ(Value(registry, "registry_rca_enricher_notifications_rejected_total"), 7);
  HttpRequest good{"POST", "/api/v1/alerts", "", Payload("g", "f"), "127.0.0.1:1", ""};
  EXPECT_EQ(enricher.Handle(good).status, 202);
  EXPECT_EQ(enricher.Handle(good).status, 202);
  EXPECT_EQ(enricher.Handle(good).status, 503);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_notifications_received_total"), 2);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_notifications_dropped_total"), 1);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_queue_length"), 2);
}

TEST(EnricherTest, DeliversEnrichedToEveryDownstreamWithRetries) {
  Fixture f;
  TestSink flaky({500, 503});  // two failures, then 200
  TestSink steady;
  prometheus::Registry registry;
  Enricher enricher(f.Config({flaky.url(), steady.url()}), f.Sources(), registry, f.Options());
  enricher.Start();
  HttpRequest post{"POST", "/api/v1/alerts", "", Payload("g", "f"), "127.0.0.1:1", ""};
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(enricher.Handle(post).status, 202);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 100ms);  // answered at once
  ASSERT_TRUE(flaky.WaitForBodies(1));
  ASSERT_TRUE(steady.WaitForBodies(1));
  ASSERT_TRUE(enricher.WaitIdle(5s));
  EXPECT_EQ(flaky.requests(), 3);
  for (const std::string& body : {flaky.bodies()[0], steady.bodies()[0]}) {
    auto out = ParseJson(body);
    ASSERT_TRUE(out.ok()) << body;
    EXPECT_NE(out->Find("enrichment"), nullptr);
    EXPECT_NE(out->Find("alerts")->AsArray()[0].Find("annotations")->GetString("rca_summary"), "");
  }
  EXPECT_EQ(Value(registry, "registry_rca_enricher_forwarded_total"), 2);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_forward_retries_total"), 2);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_notifications_enriched_total"), 1);
  enricher.Stop();
}

TEST(EnricherTest, ForwardsTheOriginalUnchangedWhenEnrichmentFails) {
  Fixture f;
  f.causes = "{\"causes\": [";  // the daemon's answer is broken
  TestSink sink;
  prometheus::Registry registry;
  Enricher enricher(f.Config({sink.url()}), f.Sources(), registry, f.Options());
  enricher.Start();
  const std::string body = "  " + Payload("g", "f") + "\n";  // whitespace kept byte for byte
  HttpRequest post{"POST", "/api/v1/alerts", "", body, "127.0.0.1:1", ""};
  EXPECT_EQ(enricher.Handle(post).status, 202);
  ASSERT_TRUE(sink.WaitForBodies(1));
  EXPECT_EQ(sink.bodies()[0], body);
  ASSERT_TRUE(enricher.WaitIdle(5s));
  EXPECT_EQ(Value(registry, "registry_rca_enricher_enrichment_failures_total"), 1);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_forwarded_total"), 1);
}

TEST(EnricherTest, GivesUpOnClientErrorsAtOnceAndOnDeadDownstreamsAfterRetries) {
  Fixture f;
  TestSink rejecting({400, 400, 400});
  prometheus::Registry registry;
  EnricherConfig config = f.Config({rejecting.url(), "http://127.0.0.1:1/"});
  config.timeout_seconds = 0.5;
  Enricher enricher(config, f.Sources(), registry, f.Options());
  enricher.Start();
  HttpRequest post{"POST", "/api/v1/alerts", "", Payload("g", "f"), "127.0.0.1:1", ""};
  EXPECT_EQ(enricher.Handle(post).status, 202);
  ASSERT_TRUE(enricher.WaitIdle(10s));
  EXPECT_EQ(rejecting.requests(), 1);  // 4xx: not retried
  EXPECT_EQ(Value(registry, "registry_rca_enricher_forward_failures_total"), 2);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_forward_retries_total"), 2);  // the dead one
  enricher.Stop();
}

TEST(EnricherTest, StopIsPromptDuringBackoff) {
  Fixture f;
  prometheus::Registry registry;
  EnricherConfig config = f.Config({"http://127.0.0.1:1/"});
  config.retries = 10;
  EnricherOptions options = f.Options();
  options.first_backoff = 10s;
  Enricher enricher(config, f.Sources(), registry, options);
  enricher.Start();
  HttpRequest post{"POST", "/api/v1/alerts", "", Payload("g", "f"), "127.0.0.1:1", ""};
  EXPECT_EQ(enricher.Handle(post).status, 202);
  // The first attempt failed and the 10 s backoff began once a retry is counted.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (Value(registry, "registry_rca_enricher_forward_retries_total") < 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(Value(registry, "registry_rca_enricher_forward_retries_total"), 1)
      << "the worker never reached the backoff";
  const auto started = std::chrono::steady_clock::now();
  enricher.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

}  // namespace
}  // namespace rrca::exporter
