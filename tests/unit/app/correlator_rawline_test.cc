// The raw log line behind each event of an upload's timeline (the explain JSON's "source" and
// "line"): taken from the line being read, only when it names the upload, bounded per line and
// in total, and counted.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "common/json.h"
#include "exporter/app/analyze.h"
#include "exporter/app/rules_loader.h"
#include "exporter/metrics/metrics.h"
#include "exporter/metrics/upload_metrics.h"
#include "exporter/pipeline/correlator.h"
#include "exporter/pipeline/pipeline.h"

namespace rrca::app {
namespace {

const std::string kData = RRCA_TESTDATA_DIR;
constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSecond + 123'000'000;

std::string KeyOf(const std::string& uuid) {
  return "docker/registry/v2/repositories/team/app/_uploads/" + uuid + "/data";
}

std::string UuidOf(int i) {
  char text[40];
  std::snprintf(text, sizeof(text), "9ac3ea44-cbb6-4a1b-8048-%012x", i);
  return text;
}

struct Harness {
  pipeline::RepositoryTable repositories{1000, {}};
  prometheus::Registry registry;
  metrics::UploadMetrics metrics{registry};
  pipeline::UploadCorrelator correlator;
  explicit Harness(pipeline::UploadCorrelator::Options options = {})
      : correlator(options, &repositories, &metrics) {}
  // registry_rca_timeline_lines_total{result}, as scraped.
  double TimelineLines(const std::string& result) {
    for (const auto& family : registry.Collect()) {
      if (family.name != "registry_rca_timeline_lines_total") continue;
      for (const auto& metric : family.metric) {
        if (metric.label.size() == 1 && metric.label[0].value == result)
          return metric.counter.value;
      }
    }
    return 0;
  }
  // A store create of `uuid`, read from `line` of file "store.log".
  void Create(const std::string& uuid, const std::string& line, int64_t start = kT0) {
    const std::string key = KeyOf(uuid);
    S3Event event;
    event.op = S3Op::kCreateMultipart;
    event.start_ns = start;
    event.duration_ns = 5'000'000;
    event.status = 200;
    event.bucket = "registry";
    event.key = key;
    correlator.SetCurrentLine("store.log", line);
    correlator.OnS3Event(event, "store.log");
    correlator.SetCurrentLine({}, {});
  }
  Json Explain(const std::string& uuid) {
    std::optional<Json> explain = correlator.Explain(uuid);
    EXPECT_TRUE(explain.has_value());
    return explain.value_or(Json());
  }
};

std::set<std::string> LinesOf(const std::string& path) {
  std::ifstream in(path);
  std::set<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.insert(line);
  return lines;
}

// The seed incident read as analyze reads it: every event of the upload shows the very line it
// came from, and the file.
TEST(CorrelatorRawLineTest, EveryEventOfTheSeedUploadShowsItsLineAndFile) {
  const std::string registry_log = kData + "/correlation/seed/registry.log";
  const std::string store_log = kData + "/correlation/seed/radosgw.log";
  AnalyzeOptions options;
  options.files = {registry_log};
  options.s3_files = {store_log};
  auto rules = LoadRules(options.config);
  ASSERT_TRUE(rules.ok());
  metrics::Metrics metrics(std::make_shared<prometheus::Registry>());
  pipeline::Pipeline pipeline(PipelineOptionsFrom(options.config, 2026), rules.value(), &metrics);
  ASSERT_EQ(FeedFiles(options, pipeline, nullptr, stderr), 0);
  const std::optional<Json> explain =
      pipeline.correlator().Explain("9ac3ea44-cbb6-4a1b-8048-6e59767c7370");
  ASSERT_TRUE(explain.has_value());
  const std::set<std::string> registry_lines = LinesOf(registry_log);
  const std::set<std::string> store_lines = LinesOf(store_log);
  const Json& events = JsonArray(JsonFind(explain.value(), "events"));
  ASSERT_GE(events.size(), 3u) << DumpJson(*explain);
  size_t store_events = 0;
  for (const Json& event : events) {
    const bool store = JsonString(event, "side") == "store";
    store_events += store;
    EXPECT_EQ(JsonString(event, "source"), store ? store_log : registry_log);
    const Json* line = JsonFind(event, "line");
    ASSERT_TRUE(line != nullptr && line->is_string()) << DumpJson(*explain);
    EXPECT_TRUE((store ? store_lines : registry_lines).contains(JsonAsString(*line)))
        << JsonAsString(*line);
  }
  EXPECT_GE(store_events, 1u);
  EXPECT_EQ(pipeline.correlator().raw_line_stats().kept, events.size());
}

// A line of another upload (a request emitted later, by a flush or from the next line) is not
// shown as this event's: the line must name the upload, and come from the same file.
TEST(CorrelatorRawLineTest, ALineThatDoesNotNameTheUploadIsNotTaken) {
  Harness h;
  h.Create(UuidOf(1), "a line about " + UuidOf(2));
  const Json explain = h.Explain(UuidOf(1));
  const Json& event = JsonArray(JsonFind(explain, "events")).at(0);
  EXPECT_EQ(JsonString(event, "source"), "store.log");
  ASSERT_NE(JsonFind(event, "line"), nullptr);
  EXPECT_TRUE(JsonFind(event, "line")->is_null());
  EXPECT_EQ(h.correlator.raw_line_stats().kept, 0u);

  h.correlator.SetCurrentLine("other.log", "PUT " + KeyOf(UuidOf(3)));
  S3Event event3;
  event3.op = S3Op::kCreateMultipart;
  event3.start_ns = kT0;
  event3.status = 200;
  const std::string key3 = KeyOf(UuidOf(3));
  event3.key = key3;
  h.correlator.OnS3Event(event3, "store.log");  // another file's line
  h.correlator.SetCurrentLine({}, {});
  EXPECT_TRUE(h.Explain(UuidOf(3)).at("events").at(0).at("line").is_null());
}

// A POST's summary line names only its request id (the UUID is in its answer's Location): that
// is enough; a line naming neither the request nor the upload is not taken.
TEST(CorrelatorRawLineTest, ARegistryLineIsTakenByItsRequestId) {
  Harness h;
  auto post = [&](const std::string& line, const std::string& uuid) {
    JoinedRequest request;
    request.source = "registry.log";
    request.operation = Operation::kBlobUploadStart;
    request.method = "POST";
    request.status = 202;
    request.arrival_ns = kT0;
    request.time_ns = kT0 + 50'000'000;
    request.duration_ns = 50'000'000;
    request.repository = "team/app";
    request.upload_uuid = uuid;
    request.request_id = "5bfcac34-34fa-4a05-ae52-b3fbb3714de2";
    rules::Verdict verdict;
    h.correlator.SetCurrentLine("registry.log", line);
    h.correlator.OnClassified(pipeline::Classified{request, verdict, "", "team/app"});
    h.correlator.SetCurrentLine({}, {});
  };
  const std::string summary =
      "msg=\"response completed\" http.request.id=5bfcac34-34fa-4a05-ae52-b3fbb3714de2";
  post(summary, UuidOf(1));
  post("msg=\"response completed\" http.request.id=another", UuidOf(2));
  EXPECT_EQ(h.Explain(UuidOf(1)).at("events").at(0).at("line").get<std::string>(), summary);
  EXPECT_TRUE(h.Explain(UuidOf(2)).at("events").at(0).at("line").is_null());
}

// A hostile megabyte line keeps 2 KiB and says how long it was; the cut is counted.
TEST(CorrelatorRawLineTest, ALongLineIsCutWithAMarkerAndCounted) {
  Harness h;
  const std::string line = "PUT " + KeyOf(UuidOf(1)) + " " + std::string(1 << 20, 'x');
  h.Create(UuidOf(1), line);
  const std::string kept = h.Explain(UuidOf(1)).at("events").at(0).at("line").get<std::string>();
  EXPECT_EQ(kept.substr(0, pipeline::UploadCorrelator::kMaxRawLineBytes),
            line.substr(0, pipeline::UploadCorrelator::kMaxRawLineBytes));
  EXPECT_EQ(kept.substr(pipeline::UploadCorrelator::kMaxRawLineBytes),
            " …[truncated: " + std::to_string(line.size()) + " bytes]");
  EXPECT_EQ(h.correlator.raw_line_stats().truncated, 1u);
  EXPECT_EQ(h.correlator.raw_line_stats().bytes, kept.size());
}

// Forgotten timelines give their lines' bytes back; past the total budget no line is kept.
TEST(CorrelatorRawLineTest, TheLinesOfAllTimelinesStayWithinTheirBudget) {
  pipeline::UploadCorrelator::Options options;
  options.max_timelines = 10;
  Harness small(options);
  const std::string padding(1000, 'p');
  for (int i = 0; i < 100; ++i) small.Create(UuidOf(i), KeyOf(UuidOf(i)) + padding);
  EXPECT_EQ(small.correlator.raw_line_stats().kept, 100u);
  EXPECT_EQ(small.correlator.raw_line_stats().bytes, 10 * (KeyOf(UuidOf(0)).size() + 1000));

  options.max_timelines = 100'000;
  Harness big(options);
  const std::string line_padding(pipeline::UploadCorrelator::kMaxRawLineBytes, 'p');
  const size_t fits = pipeline::UploadCorrelator::kMaxRawLineTotalBytes /
                      pipeline::UploadCorrelator::kMaxRawLineBytes;
  for (size_t i = 0; i < fits + 100; ++i) {
    big.Create(UuidOf(static_cast<int>(i)), KeyOf(UuidOf(static_cast<int>(i))) + line_padding);
  }
  const auto& stats = big.correlator.raw_line_stats();
  EXPECT_LE(stats.bytes, pipeline::UploadCorrelator::kMaxRawLineTotalBytes);
  EXPECT_GE(stats.over_budget, 100u);
  EXPECT_EQ(stats.kept + stats.over_budget, fits + 100);
  EXPECT_EQ(stats.truncated, stats.kept);  // every line was longer than its bound
  // What an operator sees: every line accounted for, the refused ones apart.
  EXPECT_EQ(big.TimelineLines("truncated"), static_cast<double>(stats.kept));
  EXPECT_EQ(big.TimelineLines("over_budget"), static_cast<double>(stats.over_budget));
  EXPECT_EQ(big.TimelineLines("kept"), 0);
  EXPECT_EQ(small.TimelineLines("kept"), 100);
  EXPECT_TRUE(
      big.Explain(UuidOf(static_cast<int>(fits + 99))).at("events").at(0).at("line").is_null());
}

}  // namespace
}  // namespace rrca::app
