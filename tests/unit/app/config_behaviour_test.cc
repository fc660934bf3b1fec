// Each tuning key of the configuration changes what the pipeline does: parsed from YAML, turned
// into Pipeline::Options by PipelineOptionsFrom (the daemon's and analyze's path), then shown by
// the same input giving a different result with and without the key.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/json.h"
#include "exporter/app/config.h"
#include "exporter/app/rules_loader.h"
#include "exporter/pipeline/correlator.h"
#include "exporter/pipeline/pipeline.h"

namespace rrca::app {
namespace {

const std::string kSeed = std::string(RRCA_TESTDATA_DIR) + "/correlation/seed/";
const std::string kSeedUuid = "9ac3ea44-cbb6-4a1b-8048-6e59767c7370";

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  EXPECT_FALSE(lines.empty()) << path;
  return lines;
}

struct Response {
  JoinedRequest::Origin origin;
  std::string request_id;
  int status;
  std::string cause;
};

class Recorder : public pipeline::ClassifiedObserver {
 public:
  void OnClassified(const pipeline::Classified& c) override {
    responses.push_back({c.request.origin, std::string(c.request.request_id), c.request.status,
                         std::string(c.cause)});
  }
  std::vector<Response> responses;
};

// A pipeline built from `tuning` (YAML lines added to the smallest valid config) exactly as the
// daemon builds it, with a registry stream, an access-log stream and an object-store stream.
class Configured {
 public:
  explicit Configured(const std::string& tuning) {
    auto config = ParseConfig("sources: [{name: r, paths: [x.log]}]\n" + tuning, "c.yaml");
    if (!config.ok()) {
      ADD_FAILURE() << config.status().message();
      config = ParseConfig("sources: [{name: r, paths: [x.log]}]\n", "c.yaml");
    }
    auto rules = LoadRules(config.value());
    EXPECT_TRUE(rules.ok()) << rules.status().message();
    pipeline_ = std::make_unique<pipeline::Pipeline>(PipelineOptionsFrom(config.value(), 2022),
                                                     rules.value(), nullptr);
    pipeline_->AddObserver(&recorder_);
    app_ = pipeline_->OpenStream("app", tailers::EnvelopeHint::kAuto);
    access_ = pipeline_->OpenStream("access", tailers::EnvelopeHint::kNone);
    store_ = pipeline_->OpenStream("store", tailers::EnvelopeHint::kNone,
                                   pipeline::Pipeline::StreamKind::kS3);
  }

  // A record is complete when the next one starts: flush so each line counts now.
  void App(const std::string& line) {
    pipeline_->OnLine(app_, line);
    pipeline_->FlushStream(app_);
  }
  void Access(const std::string& line) {
    pipeline_->OnLine(access_, line);
    pipeline_->FlushStream(access_);
  }
  void Store(const std::string& line) { pipeline_->OnLine(store_, line); }

  size_t Count(JoinedRequest::Origin origin) const {
    size_t n = 0;
    for (const Response& r : recorder_.responses) n += r.origin == origin ? 1 : 0;
    return n;
  }
  const std::vector<Response>& responses() const { return recorder_.responses; }
  pipeline::Pipeline& pipeline() { return *pipeline_; }
  const pipeline::UploadCorrelator& correlator() const { return pipeline_->correlator(); }

 private:
  Recorder recorder_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  pipeline::Pipeline::StreamId app_ = 0, access_ = 0, store_ = 0;
};

std::string ErrorLine(const std::string& time, const std::string& id) {
  return "time=\"" + time + "\" level=error msg=\"unknown error completing upload: boom\" " +
         "http.request.id=" + id +
         " http.request.method=PUT http.request.uri=\"/v2/a/blobs/uploads/u1\" vars.name=a";
}

std::string SuccessSummary(const std::string& time, const std::string& id) {
  return "time=\"" + time + "\" level=info msg=\"response completed\" http.request.id=" + id +
         " http.request.method=GET http.request.uri=\"/v2/\" http.response.duration=1ms " +
         "http.response.status=200";
}

std::string AccessLine(const std::string& clf_time, int status) {
  return "127.0.0.1 - - [" + clf_time + " +0000] \"GET /v2/ HTTP/1.1\" " + std::to_string(status) +
         " 2 \"\" \"curl/7.88.1\"";
}

// A radosgw beast line for a store call on one upload's key, `root` before docker/registry/v2.
std::string StoreLine(const std::string& uuid, const std::string& root = "",
                      const std::string& clf_time = "06/Apr/2022:03:46:36.252") {
  return "2022-04-06T03:46:36.264+0000 7f90597326c0  1 beast: 0x7f911851c6e0: 10.109.6.31 - "
         "harbor [" +
         clf_time + " +0000] \"PUT /harbor/" + root +
         "docker/registry/v2/repositories/team/app/_uploads/" + uuid +
         "/startedat HTTP/1.1\" 200 0 - \"aws-sdk-go/1.35.24\" - latency=0.011999999s";
}

std::string Uuid(int i) {
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "00000000-0000-0000-0000-%012d", i);
  return buffer;
}

// join_window: error lines without a summary are reported once it has passed (log time).
TEST(ConfigBehaviourTest, JoinWindowDecidesWhenErrorLinesWithoutSummaryAreReported) {
  for (const bool short_window : {true, false}) {
    SCOPED_TRACE(short_window ? "join_window: 10s" : "default 60s");
    Configured run(short_window ? "join_window: 10s\n" : "");
    run.App(ErrorLine("2024-01-01T00:00:00Z", "r1"));
    run.App(SuccessSummary("2024-01-01T00:00:20Z", "r2"));  // log time moves 20 s on
    run.pipeline().Tick();
    EXPECT_EQ(run.Count(JoinedRequest::Origin::kErrorLines), short_window ? 1u : 0u);
    run.App(SuccessSummary("2024-01-01T00:01:10Z", "r3"));
    run.pipeline().Tick();
    EXPECT_EQ(run.Count(JoinedRequest::Origin::kErrorLines), 1u) << "reported once either way";
  }
}

// access_window: an access line in a file of its own waits that long for a summary.
TEST(ConfigBehaviourTest, AccessWindowDecidesWhenAnAccessOnlyResponseIsCounted) {
  for (const bool short_window : {true, false}) {
    SCOPED_TRACE(short_window ? "access_window: 2s" : "default 5s");
    Configured run(short_window ? "access_window: 2s\n" : "");
    run.Access(AccessLine("01/Jan/2024:00:00:00", 401));
    run.Access(AccessLine("01/Jan/2024:00:00:03", 200));  // log time moves 3 s on
    run.pipeline().Tick();
    EXPECT_EQ(run.Count(JoinedRequest::Origin::kAccessLog), short_window ? 1u : 0u);
    run.pipeline().Finish();
    EXPECT_EQ(run.Count(JoinedRequest::Origin::kAccessLog), 2u);
  }
}

// rule_params: the seed PATCH failed 2.29 s after its upload started; the young-upload window
// decides between "not yet visible" and "missing from the listing".
TEST(ConfigBehaviourTest, RuleParamsOverrideTheCataloguesNumbers) {
  for (const bool override_param : {true, false}) {
    SCOPED_TRACE(override_param ? "young_upload_window_seconds: 1" : "default 60");
    Configured run(override_param ? "rule_params: {young_upload_window_seconds: 1}\n" : "");
    for (const std::string& line : ReadLines(kSeed + "registry.log")) run.App(line);
    run.pipeline().Finish();
    ASSERT_EQ(run.responses().size(), 1u);
    EXPECT_EQ(run.responses()[0].status, 500);
    EXPECT_EQ(run.responses()[0].cause,
              override_param ? "upload_listing_missing" : "upload_not_yet_visible");
  }
}

// storage_root_directory: only keys under it are the registry's uploads.
TEST(ConfigBehaviourTest, StorageRootDirectoryDecidesWhichStoreKeysAreUploads) {
  struct Case {
    std::string tuning, root_in_keys;
    size_t creates;
  };
  for (const Case& c :
       {Case{"", "", 1}, Case{"storage_root_directory: /tenant/\n", "tenant/", 1},
        Case{"storage_root_directory: /tenant/\n", "", 0}, Case{"", "tenant/", 0}}) {
    SCOPED_TRACE("config '" + c.tuning + "', keys under '" + c.root_in_keys + "'");
    Configured run(c.tuning);
    for (std::string line : ReadLines(kSeed + "radosgw.log")) {
      const size_t at = line.find("/harbor/docker/registry/v2/");
      if (at != std::string::npos) line.insert(at + 8, c.root_in_keys);
      run.Store(line);
    }
    for (const std::string& line : ReadLines(kSeed + "registry.log")) run.App(line);
    run.pipeline().Finish();
    EXPECT_EQ(run.correlator().summary().create_to_visible.size(), c.creates);
    EXPECT_EQ(run.correlator().summary().outcomes.size(), 1u) << "the PATCH is decided either way";
  }
}

// clock_tolerance: without the POST's lines, the failed PATCH (38.545 s, its listing no earlier)
// is compared with the store's acknowledgement (38.484 s) give or take the tolerance between the
// two clocks: within it, nothing contradicts the ack; beyond it, the listing that missed the
// upload bounds visibility from below. Either way the PATCH came before visibility.
TEST(ConfigBehaviourTest, ClockToleranceDecidesWhetherThePatchRacedTheStore) {
  for (const bool tight : {true, false}) {
    SCOPED_TRACE(tight ? "clock_tolerance: 10ms" : "default 250ms");
    Configured run(tight ? "clock_tolerance: 10ms\n" : "");
    for (const std::string& line : ReadLines(kSeed + "radosgw.log")) run.Store(line);
    for (const std::string& line : ReadLines(kSeed + "registry.log")) run.App(line);
    run.pipeline().Finish();
    const auto value = run.correlator().Explain(kSeedUuid);
    ASSERT_TRUE(value.has_value());
    const std::optional<std::string> explain = DumpJson(*value);  // as the API answers
    EXPECT_NE(explain->find(tight ? "\"kind\":\"lower_bound\"" : "\"kind\":\"acknowledged\""),
              std::string::npos)
        << *explain;
    EXPECT_NE(explain->find("before the upload was visible"), std::string::npos) << *explain;
  }
}

// max_open_uploads: the correlator holds at most that many uploads; the oldest are evicted.
TEST(ConfigBehaviourTest, MaxOpenUploadsEvictsTheOldest) {
  for (const bool small : {true, false}) {
    SCOPED_TRACE(small ? "max_open_uploads: 2" : "default 100000");
    Configured run(small ? "max_open_uploads: 2\n" : "");
    for (int i = 0; i < 5; ++i) run.Store(StoreLine(Uuid(i)));
    EXPECT_EQ(run.correlator().open_uploads(), small ? 2u : 5u);
  }
}

// reorder_window: how long an upload waits for late lines, and how late a store line may be.
TEST(ConfigBehaviourTest, ReorderWindowDecidesHowLongUploadsWaitForLateLines) {
  for (const bool short_window : {true, false}) {
    SCOPED_TRACE(short_window ? "reorder_window: 1m" : "default 10m");
    Configured run(short_window ? "reorder_window: 1m\n" : "");
    run.Store(StoreLine(Uuid(1), "", "06/Apr/2022:03:46:36.252"));
    run.App(SuccessSummary("2022-04-06T03:48:36Z", "r1"));  // the registry is 2 minutes on
    run.pipeline().Tick();
    EXPECT_EQ(run.correlator().open_uploads(), short_window ? 0u : 1u);
    // A store line 2 minutes old for an upload not known (any more): late, or still joined.
    run.Store(StoreLine(Uuid(2), "", "06/Apr/2022:03:46:37.000"));
    EXPECT_EQ(run.correlator().open_uploads(), short_window ? 0u : 2u);
  }
}

// The conversion itself: seconds to nanoseconds, sizes and names carried over.
TEST(ConfigBehaviourTest, PipelineOptionsCarryEveryKey) {
  auto config = ParseConfig(R"(sources: [{name: r, paths: [x.log]}]
join_window: 90s
access_window: 1500ms
storage_root_directory: /root/
max_open_uploads: 7
reorder_window: 2m
clock_tolerance: 40ms
max_repositories: 12
max_line_bytes: 4096
repository_rewrites: [{match: 'ci/[0-9]+', replace: 'ci/*'}]
)",
                            "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const pipeline::Pipeline::Options options = PipelineOptionsFrom(config.value(), 2031);
  EXPECT_EQ(options.join.window_ns, 90'000'000'000);
  EXPECT_EQ(options.join.access_window_ns, 1'500'000'000);
  EXPECT_EQ(options.storage_root_directory, "/root/");
  EXPECT_EQ(options.max_open_uploads, 7u);
  EXPECT_EQ(options.reorder_window_ns, 120'000'000'000);
  EXPECT_EQ(options.clock_tolerance_ns, 40'000'000);
  EXPECT_EQ(options.max_repositories, 12u);
  EXPECT_EQ(options.max_record_bytes, 4096u);
  ASSERT_EQ(options.repository_rewrites.size(), 1u);
  EXPECT_EQ(options.repository_rewrites[0].replacement, "ci/*");
  EXPECT_EQ(options.syslog_year, 2031);
}

}  // namespace
}  // namespace rrca::app
