// The object-store side: registry and store logs joined per upload, on the incident rebuilt, on
// the real captured lab logs, and on late, reordered, skewed and endless input.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <regex>
#include <sstream>

#include "common/json.h"
#include "exporter/app/analyze.h"
#include "exporter/pipeline/correlator.h"
#include "tests/unit/app/analyze_output.h"

namespace rrca::app {
namespace {

const std::string kData = RRCA_TESTDATA_DIR;

std::string Analyze(const std::vector<std::string>& files, const std::vector<std::string>& s3,
                    const std::string& format = "metrics") {
  AnalyzeOptions options;
  options.files = files;
  options.s3_files = s3;
  options.format = format;
  return AnalyzeOutput(options);
}

// The value of the first sample whose line starts with `series`; -1 when absent.
double Sample(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series, 0) == 0 && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

TEST(CorrelationSeedTest, TheIncidentRebuiltIsRacedAndConfirmedByTheStore) {
  const std::string metrics = Analyze({kData + "/correlation/seed/registry.log"},
                                      {kData + "/correlation/seed/radosgw.log"});
  EXPECT_NEAR(Sample(metrics,
                     "registry_rca_upload_create_to_visible_seconds{repository=\"gitlab-ci/"
                     "100017681\"}"),
              2.2, 0.05);
  EXPECT_EQ(Sample(metrics,
                   "registry_rca_uploads_total{outcome=\"raced_failed\",repository=\"gitlab-"
                   "ci/100017681\"}"),
            1);
  EXPECT_EQ(Sample(metrics,
                   "registry_rca_upload_failures_confirmed_total{cause=\"upload_not_yet_"
                   "visible\",evidence=\"store_log\"}"),
            1);
  const std::string text = Analyze({kData + "/correlation/seed/registry.log"},
                                   {kData + "/correlation/seed/radosgw.log"}, "text");
  EXPECT_NE(text.find("create-to-visible    n=1      p50=2.219s"), std::string::npos) << text;
  EXPECT_NE(text.find("upload 9ac3ea44-cbb6-4a1b-8048-6e59767c7370 (raced and failed)"),
            std::string::npos);
  EXPECT_NE(text.find("the first PATCH arrived 2.29 s after the upload started"), std::string::npos)
      << text;
}

TEST(CorrelationLabTest, AsyncCreateFailuresAreConfirmedFromTheStoreSide) {
  const std::string dir = kData + "/corpus/lab/s3-async-create";
  const std::string metrics =
      Analyze({dir + "/registry.log", dir + "/registry-access.log"}, {dir + "/s3-access.log"});
  EXPECT_EQ(Sample(metrics,
                   "registry_rca_uploads_total{outcome=\"raced_failed\",repository=\"lab/"
                   "s3-async-create\"}"),
            4);
  EXPECT_EQ(Sample(metrics,
                   "registry_rca_uploads_total{outcome=\"raced_failed\",repository=\"lab/"
                   "s3-async-create-curl\"}"),
            1);
  EXPECT_EQ(Sample(metrics,
                   "registry_rca_uploads_total{outcome=\"completed\",repository=\"lab/"
                   "s3-async-create-curl\"}"),
            1);
  // Every failed PATCH (5, as the registry's access log says) is confirmed by the store's log.
  EXPECT_EQ(Sample(metrics,
                   "registry_rca_upload_failures_confirmed_total{cause=\"upload_not_yet_"
                   "visible\",evidence=\"store_log\"}"),
            5);
  // Creates as the store logged them: 6 of them, acknowledged after 4..13 ms (1 ms precision).
  // Five were seen not visible after that (their PATCH's listing) and never seen visible: a
  // lower bound each; one was seen visible, and nothing contradicts its ack.
  EXPECT_EQ(Sample(metrics,
                   "registry_rca_upload_create_to_visible_duration_seconds_count{bucket="
                   "\"lab-s3-async-create-text\"}"),
            1);
  EXPECT_EQ(Sample(metrics,
                   "registry_rca_upload_create_to_visible_lower_bound_seconds_count{bucket="
                   "\"lab-s3-async-create-text\"}"),
            5);
  EXPECT_EQ(Sample(metrics,
                   "registry_rca_s3_requests_total{bucket=\"lab-s3-async-create-text\","
                   "code=\"200\",operation=\"create_multipart\"}"),
            6);
}

TEST(CorrelationLabTest, RealRadosgwCreatesSynchronouslySoNothingRaces) {
  const std::string dir = kData + "/corpus/lab/s3-normal";
  const std::string metrics = Analyze({dir + "/registry.log", dir + "/registry-access.log"},
                                      {kData + "/corpus/lab/radosgw.log"});
  EXPECT_EQ(Sample(metrics,
                   "registry_rca_uploads_total{outcome=\"completed\",repository=\"lab/"
                   "s3-normal\"}"),
            3);
  EXPECT_EQ(Sample(metrics,
                   "registry_rca_uploads_total{outcome=\"raced_ok\",repository=\"lab/"
                   "s3-normal\"}"),
            -1);
  // radosgw logged latency=1.927999973s for the first create: the same order as the incident,
  // but the registry's POST waited for it, so the unsafe window is 0.
  EXPECT_NEAR(Sample(metrics,
                     "registry_rca_upload_create_to_visible_max_seconds{repository=\"lab/"
                     "s3-normal\"}"),
              1.928, 0.001);
  EXPECT_EQ(Sample(metrics,
                   "registry_rca_upload_unsafe_window_seconds_sum{bucket=\"lab-s3-normal-"
                   "text\"}"),
            0);
  EXPECT_EQ(Sample(metrics,
                   "registry_rca_upload_unsafe_window_seconds_count{bucket=\"lab-s3-"
                   "normal-text\"}"),
            3);
}

// Direct correlator tests with constructed events: time is stepped, nothing sleeps.
constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSecond + 123'000'000;
const std::string kUuid = "9ac3ea44-cbb6-4a1b-8048-6e59767c7370";
const std::string kKey =
    "docker/registry/v2/repositories/team/app/_uploads/9ac3ea44-cbb6-4a1b-8048-6e59767c7370/data";

struct Harness {
  pipeline::RepositoryTable repositories{1000, {}};
  pipeline::UploadCorrelator correlator;
  explicit Harness(pipeline::UploadCorrelator::Options options = {})
      : correlator(options, &repositories, nullptr) {}

  void Registry(Operation operation, const char* method, int status, int64_t arrival,
                int64_t duration, std::string_view cause = "", const std::string& uuid = kUuid) {
    JoinedRequest request;
    request.operation = operation;
    request.method = method;
    request.status = status;
    request.arrival_ns = arrival;
    request.time_ns = arrival + duration;
    request.duration_ns = duration;
    request.repository = "team/app";
    request.upload_uuid = uuid;
    rules::Verdict verdict;
    correlator.OnClassified(pipeline::Classified{request, verdict, cause, "team/app"});
  }
  void Create(int64_t start, int64_t duration, const std::string& key = kKey) {
    S3Event event;
    event.op = S3Op::kCreateMultipart;
    event.start_ns = start;
    event.duration_ns = duration;
    event.status = 200;
    event.bucket = "registry";
    event.key = key;
    correlator.OnS3Event(event, "store");
  }
};

// The incident's shape: POST answered in 58 ms, the store took 2.2 s, the PATCH came 0.11 s
// after the POST was answered and failed.
void FeedRace(Harness& h, int64_t store_offset) {
  h.Registry(Operation::kBlobUploadStart, "POST", 202, kT0, 58'000'000);
  h.Registry(Operation::kBlobUploadChunk, "PATCH", 500, kT0 + 168'000'000, 2'250'000'000,
             "upload_not_yet_visible");
  h.Create(kT0 + 5'000'000 + store_offset, 2'219'000'000);
  // A failed upload is decided once the client had its chance to retry on it.
  h.correlator.AdvanceTo(kT0 + 60 * kSecond);
}

TEST(CorrelatorTest, MeasuresTheRace) {
  Harness h;
  FeedRace(h, 0);
  const auto& summary = h.correlator.summary();
  ASSERT_EQ(summary.outcomes.at("raced_failed"), 1u);
  ASSERT_EQ(summary.create_to_visible.size(), 1u);
  EXPECT_NEAR(summary.create_to_visible[0], 2.219, 1e-9);
  ASSERT_EQ(summary.client_gap.size(), 1u);
  EXPECT_NEAR(summary.client_gap[0], 0.110, 1e-9);
  ASSERT_EQ(summary.unsafe_window.size(), 1u);
  EXPECT_NEAR(summary.unsafe_window[0], 0.005 + 2.219 - 0.058, 1e-9);
  const auto explain = h.correlator.Explain(kUuid);
  ASSERT_TRUE(explain.has_value());
  const std::optional<std::string> json = DumpJson(*explain);  // as the API answers
  EXPECT_NE(json->find("the first PATCH arrived 0.11 s after the POST was answered"),
            std::string::npos)
      << *json;
}

TEST(CorrelatorTest, StoreLogTenMinutesLateIsStillJoinedWithinTheWindow) {
  pipeline::UploadCorrelator::Options options;
  options.reorder_window_ns = 15 * 60 * kSecond;
  Harness h(options);
  h.Registry(Operation::kBlobUploadStart, "POST", 202, kT0, 58'000'000);
  h.Registry(Operation::kBlobUploadChunk, "PATCH", 500, kT0 + 168'000'000, 2'250'000'000,
             "upload_not_yet_visible");
  h.correlator.AdvanceTo(kT0 + 10 * 60 * kSecond);  // the store's log arrives 10 minutes later
  EXPECT_TRUE(h.correlator.summary().outcomes.empty());
  h.Create(kT0 + 5'000'000, 2'219'000'000);
  EXPECT_EQ(h.correlator.summary().outcomes.at("raced_failed"), 1u);
}

TEST(CorrelatorTest, StoreEventsOutsideTheWindowAreCountedLateNotJoined) {
  pipeline::UploadCorrelator::Options options;
  options.reorder_window_ns = 60 * kSecond;
  Harness h(options);
  h.Registry(Operation::kBlobUploadStart, "POST", 202, kT0, 58'000'000);
  h.correlator.AdvanceTo(kT0 + 120 * kSecond);
  EXPECT_EQ(h.correlator.summary().outcomes.at("abandoned"), 1u);
  h.Create(kT0, 2'219'000'000);
  EXPECT_EQ(h.correlator.open_uploads(), 0u);
}

TEST(CorrelatorTest, ReorderedEventsGiveTheSameResult) {
  Harness in_order;
  FeedRace(in_order, 0);
  Harness reordered;
  reordered.Create(kT0 + 5'000'000, 2'219'000'000);
  reordered.Registry(Operation::kBlobUploadChunk, "PATCH", 500, kT0 + 168'000'000, 2'250'000'000,
                     "upload_not_yet_visible");
  reordered.Registry(Operation::kBlobUploadStart, "POST", 202, kT0, 58'000'000);
  reordered.correlator.FlushAll();
  EXPECT_EQ(reordered.correlator.summary().outcomes, in_order.correlator.summary().outcomes);
  EXPECT_EQ(reordered.correlator.summary().create_to_visible,
            in_order.correlator.summary().create_to_visible);
}

TEST(CorrelatorTest, StoreClockThreeSecondsAheadIsEstimatedAndTolerated) {
  Harness h;
  // Ten earlier uploads with precise store times teach the offset.
  for (int i = 0; i < 10; ++i) {
    char uuid[40];
    std::snprintf(uuid, sizeof(uuid), "00000000-0000-0000-0000-%012d", i);
    const std::string key =
        "docker/registry/v2/repositories/team/app/_uploads/" + std::string(uuid) + "/data";
    const int64_t start = kT0 - 100 * kSecond + i * kSecond;
    h.Registry(Operation::kBlobUploadStart, "POST", 202, start, 30'000'000, "", uuid);
    h.Create(start + 3 * kSecond + 4'000'000, 20'000'000, key);
    h.Registry(Operation::kBlobUploadComplete, "PUT", 201, start + 500'000'000, 10'000'000, "",
               uuid);
  }
  EXPECT_NEAR(h.correlator.clock_skew_seconds(), 3.004, 0.001);
  EXPECT_EQ(h.correlator.summary().outcomes.at("completed"), 10u);
  FeedRace(h, 3 * kSecond);
  EXPECT_EQ(h.correlator.summary().outcomes.at("raced_failed"), 1u);
  // The estimate includes the POST's own few ms before its create reached the store.
  EXPECT_NEAR(h.correlator.summary().unsafe_window.back(), 0.005 + 2.219 - 0.058, 0.01);
}

TEST(CorrelatorTest, UploadsThatNeverFinishAreBounded) {
  pipeline::UploadCorrelator::Options options;
  options.max_uploads = 1000;
  Harness h(options);
  for (int64_t i = 0; i < 20'000; ++i) {
    char uuid[48];  // room for any long long: GCC's -Wformat-truncation checks the type's range
    std::snprintf(uuid, sizeof(uuid), "00000000-0000-0000-0000-%012lld", static_cast<long long>(i));
    h.Registry(Operation::kBlobUploadStart, "POST", 202, kT0 + i * 1'000'000, 30'000'000, "", uuid);
  }
  EXPECT_LE(h.correlator.open_uploads(), 1000u);
  EXPECT_EQ(h.correlator.summary().outcomes.at("abandoned"), 19'000u);
}

}  // namespace
}  // namespace rrca::app
