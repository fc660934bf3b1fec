// The join across hops (exporter/hop_joiner.h) on constructed multi-hop timelines: nginx's
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

#include "exporter/analyze.h"
#include "exporter/hop_joiner.h"
#include "tests/unit/exporter_analyze_output.h"

namespace rrca::exporter {
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

// The joiner's bounds: a flood of distinct proxy errors decides the oldest early (every one is
// still counted once), and the remembered registry responses are capped; both are counted.
class Collect : public HopRequestSink {
 public:
  void OnHopRequest(const JoinedRequest& request) override { statuses.push_back(request.status); }
  std::vector<int> statuses;
};

TEST(HarborJoinTest, PendingAndIndexAreBoundedAndCounted) {
  Collect sink;
  HopJoiner::Options options;
  options.max_pending = 4;
  options.max_index = 3;
  HopJoiner joiner(options, &sink);
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
  EXPECT_EQ(
      HopJoiner::JoinKey("PATCH", std::string("/v2/a/b/blobs/uploads/") + kUuid + "?_state=x"),
      std::string("PATCH upload:") + kUuid);
  EXPECT_EQ(HopJoiner::JoinKey("GET", "/v2/a/b/manifests/v1?x=1"), "GET /v2/a/b/manifests/v1");
}

}  // namespace
}  // namespace rrca::exporter
