// The join across hops (exporter/pipeline/hop_joiner.h) on constructed multi-hop timelines: nginx's
// access and error lines, Harbor core's lines and the registry's summary lines of the same
// requests, read by `registry-rca analyze` as they would be from proxy.log, core.log and
// registry.log. Asserts on the metrics a scrape shows and on the jsonl report: each
// client-visible response is counted once, at the outermost hop that logged it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "exporter/app/analyze.h"
#include "exporter/app/config.h"
#include "exporter/app/rules_loader.h"
#include "exporter/pipeline/hop_joiner.h"
#include "exporter/pipeline/hop_joiner_explain.h"
#include "tests/unit/app/analyze_output.h"

namespace rrca::app {
namespace {

constexpr char kUuid[] = "0b7a1c1e-1111-4c4c-9a9a-123456789abc";

std::string WriteTemp(const std::vector<std::string>& lines) {
  char path[] = "/tmp/rrca-harbor-join-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  return path;
}

// A registry 2.8 summary line of a PATCH on the upload, ending at `time` after `duration`.
std::string RegistryPatch(const std::string& time, const std::string& duration, int status,
                          const std::string& error_fields = "") {
  return "time=\"2026-12-07T" + time + "Z\" level=" + (status >= 400 ? "error" : "info") +
         " msg=\"response completed" + (status >= 400 ? " with error" : "") + "\" " + error_fields +
         "go.version=go1.19.8 http.request.host=\"127.0.0.1:5000\" "
         "http.request.id=5bfcac34-34fa-4a05-ae52-b3fbb3714de2 http.request.method=PATCH "
         "http.request.remoteaddr=\"127.0.0.1:37462\" http.request.uri=\"/v2/lab/app/blobs/"
         "uploads/" +
         kUuid +
         "?_state=abc\" http.request.useragent=docker/24.0.7 http.response.duration=" + duration +
         " http.response.status=" + std::to_string(status) +
         " http.response.written=0 vars.name=lab/app vars.uuid=" + kUuid;
}

// nginx's access line (timed_combined with $time_local) of that PATCH.
std::string NginxPatch(const std::string& time, int status, const std::string& request_time) {
  return "127.0.0.1 - - [07/Dec/2026:" + time + " +0000] \"PATCH /v2/lab/app/blobs/uploads/" +
         kUuid + "?_state=abc HTTP/1.1\" " + std::to_string(status) +
         " 167 \"-\" \"docker/24.0.7 go/go1.20.10\" " + request_time + " " + request_time + " .";
}

std::string NginxError(const std::string& time, const std::string& message) {
  return "2026/12/07 " + time + " [error] 7#7: *41 " + message +
         ", client: 127.0.0.1, server: , request: \"PATCH /v2/lab/app/blobs/uploads/" + kUuid +
         "?_state=abc HTTP/1.1\", upstream: \"http://127.0.0.1:5000/v2/lab/app/blobs/uploads/" +
         kUuid + "?_state=abc\", host: \"127.0.0.1:8080\"";
}

struct Result {
  std::string metrics;
  std::vector<nlohmann::json> errors;  // jsonl objects with a cause
};

Result Analyze(const std::vector<std::string>& registry, const std::vector<std::string>& proxy,
               const std::vector<std::string>& core = {}) {
  std::vector<std::string> files;
  AnalyzeOptions options;
  if (!registry.empty()) options.files.push_back(files.emplace_back(WriteTemp(registry)));
  if (!proxy.empty()) options.proxy_files.push_back(files.emplace_back(WriteTemp(proxy)));
  if (!core.empty()) options.core_files.push_back(files.emplace_back(WriteTemp(core)));
  Result result;
  options.format = "metrics";
  result.metrics = AnalyzeOutput(options);
  options.format = "jsonl";
  const std::string jsonl = AnalyzeOutput(options);
  for (const std::string& file : files) std::remove(file.c_str());
  size_t start = 0;
  while (start < jsonl.size()) {
    size_t end = jsonl.find('\n', start);
    if (end == std::string::npos) end = jsonl.size();
    nlohmann::json json = nlohmann::json::parse(jsonl.substr(start, end - start));
    if (json.contains("cause")) result.errors.push_back(std::move(json));
    start = end + 1;
  }
  return result;
}

// The sum of a family's samples whose labels contain every `want` pair.
double Sum(const std::string& metrics, const std::string& family,
           const std::map<std::string, std::string>& want = {}) {
  double sum = 0;
  const std::regex sample("^" + family + "\\{([^}]*)\\} ([0-9.e+]+)$");
  size_t start = 0;
  while (start < metrics.size()) {
    size_t end = metrics.find('\n', start);
    if (end == std::string::npos) end = metrics.size();
    const std::string line = metrics.substr(start, end - start);
    start = end + 1;
    std::smatch match;
    if (!std::regex_match(line, match, sample)) continue;
    bool all = true;
    for (const auto& [key, value] : want) {
      all &= match[1].str().find(key + "=\"" + value + "\"") != std::string::npos;
    }
    if (all) sum += std::stod(match[2].str());
  }
  return sum;
}

TEST(HarborJoinTest, A504WhoseRegistryRequestCompleted202IsOneErrorWithEvidence) {
  // nginx gave up after proxy_read_timeout (15 s); the registry finished 5.4 s later with 202.
  const Result r = Analyze({RegistryPatch("10:00:20.500", "20.4s", 202)},
                           {NginxError("10:00:15",
                                       "upstream timed out (110: Connection timed "
                                       "out) while reading response header from "
                                       "upstream"),
                            NginxPatch("10:00:15", 504, "15.000")});
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_errors_total"), 1);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_errors_total",
                {{"hop", "proxy"},
                 {"cause", "proxy_upstream_timeout"},
                 {"code", "504"},
                 {"operation", "blob_upload_chunk"},
                 {"repository", "lab/app"}}),
            1);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_errors_total"), 0);
  // One response, at the status the client got (the generic 5xx ratio sees the 504).
  EXPECT_EQ(Sum(r.metrics, "registry_rca_responses_total"), 1);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_responses_total", {{"code", "504"}}), 1);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_joins_total", {{"outcome", "lines_merged"}}), 1);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0]["cause"], "proxy_upstream_timeout");
  EXPECT_EQ(r.errors[0]["rule"], "proxy_upstream_timed_out");
  EXPECT_EQ(r.errors[0]["registry_status"], 202);
  EXPECT_DOUBLE_EQ(r.errors[0]["registry_duration_seconds"].get<double>(), 20.4);
  EXPECT_EQ(r.errors[0]["upload_uuid"], kUuid);
}

TEST(HarborJoinTest, TheRegistrysErrorAfterNginxGaveUpIsSupersededNotCountedTwice) {
  // nginx answered 504 and closed the upstream; the registry then logged the PATCH as a client
  // disconnect (500). The client saw one error: the 504.
  const Result r = Analyze(
      {RegistryPatch("10:00:16.000", "15.9s", 500,
                     "err.code=unknown err.detail=\"client disconnected\" err.message=\"unknown "
                     "error\" ")},
      {NginxPatch("10:00:15", 504, "15.000")});
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_errors_total", {{"cause", "proxy_upstream_timeout"}}),
            1);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_errors_total"), 1);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_errors_total"), 0);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_joins_total", {{"outcome", "superseded"}}), 1);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_responses_total"), 1);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_responses_total", {{"code", "504"}}), 1);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0]["registry_status"], 500);
}

TEST(HarborJoinTest, ARelayedRegistryErrorKeepsTheRegistrysCause) {
  const Result r = Analyze(
      {RegistryPatch("10:00:01.000", "0.9s", 500,
                     "err.code=unknown err.detail=\"s3aws: Path not found: /docker/registry/v2/"
                     "repositories/lab/app/_uploads/0b7a1c1e-1111-4c4c-9a9a-123456789abc/data\" "
                     "err.message=\"unknown error\" ")},
      {NginxPatch("10:00:01", 500, "0.950")});
  EXPECT_EQ(Sum(r.metrics, "registry_rca_errors_total"), 1);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_errors_total"), 0);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_joins_total", {{"outcome", "relayed"}}), 1);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_responses_total"), 1);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_FALSE(r.errors[0].contains("hop"));
}

TEST(HarborJoinTest, RegistryDownIsOneUnavailableErrorAndNoRegistryLine) {
  const Result r = Analyze({}, {NginxError("10:00:03",
                                           "connect() failed (111: Connection "
                                           "refused) while connecting to upstream"),
                                NginxPatch("10:00:03", 502, "0.001")});
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_errors_total"), 1);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_errors_total",
                {{"cause", "registry_unavailable"}, {"code", "502"}}),
            1);
  // The registry never saw it; the client got a response all the same.
  EXPECT_EQ(Sum(r.metrics, "registry_rca_responses_total", {{"code", "502"}}), 1);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_FALSE(r.errors[0].contains("registry_status"));
}

TEST(HarborJoinTest, CoresCanceledLineInsideAProxy499IsEvidenceNotASecondError) {
  const Result r = Analyze({}, {NginxPatch("10:00:31", 499, "31.000")},
                           {"2026/12/07 10:00:31 http: proxy error: context canceled"});
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_errors_total"), 1);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_errors_total",
                {{"hop", "proxy"}, {"cause", "client_gave_up"}}),
            1);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_joins_total", {{"outcome", "core_attached"}}), 1);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0]["messages"], "core: http: proxy error: context canceled\n");
}

TEST(HarborJoinTest, CoreAloneCountsAtCore) {
  const Result r = Analyze({}, {}, {"2026/12/07 10:00:31 http: proxy error: context canceled"});
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_errors_total",
                {{"hop", "core"}, {"cause", "core_proxy_canceled"}}),
            1);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_errors_total"), 1);
}

TEST(HarborJoinTest, ARegistryErrorReadBeforeTheProxysLineStandsAlone) {
  // The registry failed fast (500 at 10:00:01); nginx's 500 access line of the same request is
  // written at 10:00:02 (its $request_time includes sending the answer): read in time order,
  // the registry's came first and was counted; the proxy's adds nothing.
  const Result r = Analyze(
      {RegistryPatch("10:00:01.000", "0.5s", 500,
                     "err.code=unknown err.detail=\"s3aws: SlowDown: Please reduce your request "
                     "rate.\" err.message=\"unknown error\" ")},
      {NginxPatch("10:00:02", 502, "1.500")});
  EXPECT_EQ(Sum(r.metrics, "registry_rca_errors_total"), 1);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_errors_total"), 0);
  EXPECT_EQ(Sum(r.metrics, "registry_rca_hop_joins_total", {{"outcome", "registry_first"}}), 1);
}

TEST(HarborJoinTest, EveryHopCauseExistsAtZeroBeforeTheFirstError) {
  const Result r = Analyze({RegistryPatch("10:00:01.000", "0.5s", 202)}, {});
  for (const char* cause : {"proxy_upstream_timeout", "proxy_upstream_reset", "client_gave_up",
                            "registry_unavailable"}) {
    EXPECT_NE(r.metrics.find("registry_rca_hop_errors_total{cause=\"" + std::string(cause) +
                             "\",code=\"\",hop=\"proxy\""),
              std::string::npos)
        << cause;
  }
  EXPECT_NE(r.metrics.find("registry_rca_hop_errors_total{cause=\"core_proxy_canceled\",code="
                           "\"\",hop=\"core\""),
            std::string::npos);
}

// Through the readers (ingress-nginx's $req_id, core's [requestID="..."]): a core line 30 s after
// the ingress's 502, outside its time, is that response's evidence when the ids are the same
// (one error), a second error when they differ.
TEST(HarborJoinTest, IngressAndCoreLinesJoinByRequestIdThroughTheReaders) {
  const std::string ingress =
      "10.244.0.1 - - [07/Dec/2026:10:00:05 +0000] \"PATCH /v2/lab/app/blobs/uploads/" +
      std::string(kUuid) +
      "?_state=abc HTTP/1.1\" 502 150 \"-\" \"docker/24.0.7\" 52428950 1.000 "
      "[harbor-harbor-core-80] [] 10.244.1.7:8080 0 1.000 502 6f1c0e3f2b5d4a8e9c7b1a2d3e4f5a6b";
  auto core = [](const std::string& id) {
    return "2026-12-07T10:00:35Z [ERROR] [/lib/http/error.go:57][requestID=\"" + id +
           "\"]: {\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"unknown: http: proxy "
           "error: read: connection reset by peer\"}]}";
  };
  const Result same = Analyze({}, {ingress}, {core("6f1c0e3f2b5d4a8e9c7b1a2d3e4f5a6b")});
  EXPECT_EQ(Sum(same.metrics, "registry_rca_hop_errors_total"), 1);
  EXPECT_EQ(Sum(same.metrics, "registry_rca_hop_errors_total", {{"hop", "proxy"}, {"code", "502"}}),
            1);
  EXPECT_EQ(Sum(same.metrics, "registry_rca_hop_joins_total", {{"outcome", "core_attached"}}), 1);
  const Result other = Analyze({}, {ingress}, {core("0000000000000000000000000000ffff")});
  EXPECT_EQ(Sum(other.metrics, "registry_rca_hop_errors_total"), 2);
  EXPECT_EQ(Sum(other.metrics, "registry_rca_hop_joins_total", {{"outcome", "core_attached"}}), 0);
}

// The joiner's bounds: a flood of distinct proxy errors decides the oldest early (every one is
// still counted once), and the remembered registry responses are capped; both are counted.
class Collect : public pipeline::HopRequestSink {
 public:
  void OnHopRequest(const JoinedRequest& request) override { statuses.push_back(request.status); }
  std::vector<int> statuses;
};

TEST(HarborJoinTest, PendingAndIndexAreBoundedAndCounted) {
  Collect sink;
  pipeline::HopJoiner::Options options;
  options.max_pending = 4;
  options.max_index = 3;
  pipeline::HopJoiner joiner(options, &sink);
  for (int i = 0; i < 10; ++i) {
    HopEvent event;
    event.kind = HopEvent::Kind::kAccess;
    event.status = 504;
    event.time_ns = 1'000'000'000LL * (100 + i);
    event.method = "GET";
    const std::string uri = "/v2/r/manifests/t" + std::to_string(i);
    event.uri = uri;
    joiner.OnHopEvent(event, "proxy");
    EXPECT_LE(joiner.pending(), 4u);
  }
  EXPECT_EQ(joiner.stats().pending_forced, 6u);
  EXPECT_EQ(sink.statuses.size(), 6u);
  for (int i = 0; i < 10; ++i) {
    JoinedRequest request;
    request.method = "GET";
    const std::string uri = "/v2/r/blobs/sha256:" + std::to_string(i);
    request.uri = uri;
    request.status = 200;
    request.time_ns = 1'000'000'000LL * (200 + i);
    EXPECT_FALSE(joiner.OnRegistryResponse(request).superseded);
    EXPECT_LE(joiner.indexed(), 3u);
  }
  EXPECT_EQ(joiner.stats().index_evicted, 7u);
  joiner.FlushAll();
  EXPECT_EQ(sink.statuses.size(), 10u);
  EXPECT_EQ(joiner.stats().counted, 10u);
  EXPECT_EQ(joiner.pending(), 0u);
}

TEST(HarborJoinTest, JoinKeyUsesTheUploadUuidElseThePath) {
  EXPECT_EQ(pipeline::HopJoiner::JoinKey(
                "PATCH", std::string("/v2/a/b/blobs/uploads/") + kUuid + "?_state=x"),
            std::string("PATCH upload:") + kUuid);
  EXPECT_EQ(pipeline::HopJoiner::JoinKey("GET", "/v2/a/b/manifests/v1?x=1"),
            "GET /v2/a/b/manifests/v1");
}

// A hop line as the reader hands it over.
HopEvent Hop504(int64_t end_s, std::string_view request_id, std::string_view uri,
                std::string_view line) {
  HopEvent event;
  event.kind = HopEvent::Kind::kAccess;
  event.status = 504;
  event.time_ns = end_s * 1'000'000'000LL;
  event.request_time_ns = 60'000'000'000LL;
  event.method = "PATCH";
  event.uri = uri;
  event.request_id = request_id;
  event.line = line;
  return event;
}

HopEvent CoreLine(int64_t time_s, std::string_view request_id) {
  HopEvent event;
  event.hop = Hop::kCore;
  event.kind = HopEvent::Kind::kError;
  event.level = Level::kError;
  event.time_ns = time_s * 1'000'000'000LL;
  event.message = "http: proxy error: context deadline exceeded";
  event.request_id = request_id;
  event.line = "core line";
  return event;
}

const std::string kUploadUri = std::string("/v2/lab/app/blobs/uploads/") + kUuid + "?_state=abc";

// ingress-nginx logs $req_id and forwards it as X-Request-ID; Harbor core logs it as
// [requestID="..."]. A core line with the same id is the proxy response's evidence even far
// outside its time; one with another id is not, even inside it.
TEST(HarborJoinTest, CoreLineJoinsTheProxyResponseByItsRequestId) {
  Collect sink;
  pipeline::HopJoiner joiner({}, &sink);
  joiner.OnHopEvent(Hop504(1000, "a1b2c3", kUploadUri, "nginx 504 line"), "proxy");
  joiner.OnHopEvent(CoreLine(1000 - 30, "ffff00"), "core");  // inside the 504's time, other id
  EXPECT_EQ(joiner.stats().core_attached, 0u);
  joiner.OnHopEvent(CoreLine(1000 + 50, "a1b2c3"), "core");  // outside it, same id
  EXPECT_EQ(joiner.stats().core_attached, 1u);
  EXPECT_EQ(joiner.stats().request_id_joins, 1u);
  joiner.FlushAll();
  // The 504 and the lone core line of the other request: two client-visible errors.
  EXPECT_EQ(sink.statuses, (std::vector<int>{504, 502}));
}

// The core line first, the proxy's line later: absorbed by its id too.
TEST(HarborJoinTest, WaitingCoreLineIsAbsorbedByRequestId) {
  Collect sink;
  pipeline::HopJoiner joiner({}, &sink);
  joiner.OnHopEvent(CoreLine(100, "id-9"), "core");
  joiner.OnHopEvent(Hop504(500, "id-9", kUploadUri, "nginx"), "proxy");
  EXPECT_EQ(joiner.stats().core_attached, 1u);
  EXPECT_EQ(joiner.stats().request_id_joins, 1u);
  joiner.FlushAll();
  EXPECT_EQ(sink.statuses, (std::vector<int>{504}));
}

// A registry that logs the forwarded X-Request-Id as its request id: its response is the hop's
// request whatever the times (here it arrives 10 minutes after nginx gave up).
TEST(HarborJoinTest, RegistryResponseJoinsByRequestIdOutsideTheTimeWindow) {
  Collect sink;
  pipeline::HopJoiner joiner({}, &sink);
  joiner.OnHopEvent(Hop504(1000, "req-42", kUploadUri, "nginx"), "proxy");
  JoinedRequest request;
  request.method = "PATCH";
  request.uri = kUploadUri;
  request.request_id = "req-42";
  request.status = 500;
  request.time_ns = 1600'000'000'000LL;
  request.duration_ns = 1'000'000'000LL;
  const pipeline::HopJoiner::Answer answer = joiner.OnRegistryResponse(request);
  EXPECT_TRUE(answer.superseded);
  EXPECT_EQ(answer.client_status, 504);
  EXPECT_EQ(joiner.stats().request_id_joins, 1u);
  // Without the id the same registry line is too late for the window: indexed, not joined.
  pipeline::HopJoiner plain({}, &sink);
  plain.OnHopEvent(Hop504(1000, "", kUploadUri, "nginx"), "proxy");
  request.request_id = "";
  EXPECT_FALSE(plain.OnRegistryResponse(request).superseded);
  EXPECT_EQ(plain.indexed(), 1u);
}

// The registry's line came first (indexed), the hop's later: joined by the id as well.
TEST(HarborJoinTest, IndexedRegistryResponseJoinsByRequestId) {
  Collect sink;
  pipeline::HopJoiner joiner({}, &sink);
  JoinedRequest request;
  request.method = "PATCH";
  request.uri = kUploadUri;
  request.request_id = "req-7";
  request.status = 504;
  request.time_ns = 10'000'000'000LL;
  request.duration_ns = 1'000'000'000LL;
  EXPECT_FALSE(joiner.OnRegistryResponse(request).superseded);
  joiner.OnHopEvent(Hop504(5000, "req-7", kUploadUri, "nginx"), "proxy");
  EXPECT_EQ(joiner.stats().request_id_joins, 1u);
  joiner.FlushAll();
  EXPECT_EQ(joiner.stats().relayed, 1u);  // the registry logged the 504 the client saw
  EXPECT_TRUE(sink.statuses.empty());
}

// The hop responses of an upload's requests are kept for the explain API, bounded per upload
// and in uploads, and both bounds are counted.
TEST(HarborJoinTest, HistoryOfAnUploadIsKeptBoundedAndCounted) {
  Collect sink;
  pipeline::HopJoiner::Options options;
  options.max_history_uploads = 2;
  options.max_history_per_upload = 3;
  pipeline::HopJoiner joiner(options, &sink);
  const std::string long_line(5000, 'x');
  for (int i = 0; i < 5; ++i) {
    joiner.OnHopEvent(Hop504(1000 + 100 * i, "", kUploadUri, long_line), "proxy.log");
  }
  joiner.FlushAll();
  const auto* kept = joiner.HistoryOf(kUuid);
  ASSERT_NE(kept, nullptr);
  ASSERT_EQ(kept->size(), 3u);
  EXPECT_EQ(joiner.stats().history_hops_dropped, 2u);
  const pipeline::HopJoiner::HopRecord& last = kept->back();
  EXPECT_EQ(last.status, 504);
  EXPECT_EQ(last.method, "PATCH");
  EXPECT_EQ(last.source, "proxy.log");
  EXPECT_TRUE(last.counted);
  EXPECT_EQ(last.time_ns, (1400 - 60) * 1'000'000'000LL);  // arrival: end - $request_time
  EXPECT_EQ(last.line.size(), pipeline::HopJoiner::kMaxLineBytes);
  for (const char* other :
       {"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"}) {
    const std::string uri = std::string("/v2/lab/app/blobs/uploads/") + other;
    joiner.OnHopEvent(Hop504(9000, "", uri, "l"), "proxy.log");
  }
  joiner.FlushAll();
  EXPECT_EQ(joiner.HistoryOf(kUuid), nullptr);
  EXPECT_EQ(joiner.stats().history_uploads_evicted, 1u);
  EXPECT_EQ(joiner.HistoryOf("no-such-upload"), nullptr);
}

// The kept responses' bytes are capped too (every string of one is cut at 2 KiB): the oldest
// uploads go, counted.
TEST(HarborJoinTest, HistoryIsBoundedInBytes) {
  Collect sink;
  pipeline::HopJoiner::Options options;
  options.max_history_bytes = 10000;  // two responses (2 KiB line, 2 KiB URI) fit, three do not
  pipeline::HopJoiner joiner(options, &sink);
  const std::string long_line(100'000, 'y');
  const std::string long_uri = "/v2/r/blobs/uploads/";
  const char* uploads[] = {"11111111-1111-4111-8111-111111111111",
                           "22222222-2222-4222-8222-222222222222",
                           "33333333-3333-4333-8333-333333333333"};
  for (const char* upload : uploads) {
    const std::string uri = long_uri + upload + "?_state=" + std::string(50'000, 's');
    joiner.OnHopEvent(Hop504(1000, "", uri, long_line), "proxy");
    joiner.FlushAll();
  }
  EXPECT_EQ(joiner.HistoryOf(uploads[0]), nullptr);
  ASSERT_NE(joiner.HistoryOf(uploads[2]), nullptr);
  EXPECT_EQ(joiner.HistoryOf(uploads[2])->back().uri.size(), pipeline::HopJoiner::kMaxLineBytes);
  EXPECT_EQ(joiner.stats().history_uploads_evicted, 1u);
}

// The explain JSON gains "hops": the nginx 504 of the upload's PATCH with its cause from the
// rules, its offset from the POST, and its raw line escaped.
TEST(HarborJoinTest, ExplainGainsTheHopsOfTheUpload) {
  auto rules = LoadRules(Config());
  ASSERT_TRUE(rules.ok());
  Collect sink;
  pipeline::HopJoiner joiner({}, &sink);
  HopEvent error;
  error.kind = HopEvent::Kind::kError;
  error.level = Level::kError;
  error.time_ns = 1000'000'000'000LL;
  error.method = "PATCH";
  error.uri = kUploadUri;
  error.message = "upstream timed out (110: Connection timed out) while reading response header";
  error.line = "2026/12/07 10:38:00 [error] \"quoted\"";
  joiner.OnHopEvent(error, "proxy");
  joiner.OnHopEvent(Hop504(1000, "", kUploadUri, "127.0.0.1 - \"PATCH ...\" 504"), "proxy");
  joiner.FlushAll();
  const std::string explain =
      "{\"upload_uuid\":\"x\",\"events\":[{\"time\":\"1970-01-01T00:15:30Z\",\"side\":"
      "\"registry\",\"what\":\"POST 202\",\"status\":202}]}";
  Json json = Json::parse(explain);
  pipeline::AddHops(kUuid, joiner, *rules.value(), &json);
  ASSERT_EQ(json["hops"].size(), 1u) << json.dump();
  const Json& hop = json["hops"][0];
  EXPECT_EQ(hop["hop"], "proxy");
  EXPECT_EQ(hop["time"], "1970-01-01T00:15:40.000000000Z");  // 1000 s - 60 s of $request_time
  EXPECT_DOUBLE_EQ(hop["offset_seconds"].get<double>(), 10.0);
  EXPECT_EQ(hop["method"], "PATCH");
  EXPECT_EQ(hop["uri"], kUploadUri);
  EXPECT_EQ(hop["status"], 504);
  EXPECT_DOUBLE_EQ(hop["duration_seconds"].get<double>(), 60.0);
  EXPECT_EQ(hop["cause"], "proxy_upstream_timeout");
  EXPECT_EQ(hop["source"], "proxy");
  EXPECT_EQ(hop["line"], "2026/12/07 10:38:00 [error] \"quoted\"\n127.0.0.1 - \"PATCH ...\" 504");
  EXPECT_EQ(json["events"].size(), 1u);
  // No POST known: no offset; no hops: an empty array; not an object: unchanged.
  Json bare = Json::parse(R"({"events":[]})");
  AddHops(kUuid, joiner, *rules.value(), &bare);
  EXPECT_FALSE(bare["hops"][0].contains("offset_seconds"));
  Json other = Json::object();
  AddHops("other", joiner, *rules.value(), &other);
  EXPECT_EQ(DumpJson(other), R"({"hops":[]})");
  Json not_object = Json::array({1});
  AddHops(kUuid, joiner, *rules.value(), &not_object);
  EXPECT_EQ(DumpJson(not_object), "[1]");
}

}  // namespace
}  // namespace rrca::app
