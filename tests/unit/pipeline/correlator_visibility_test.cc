// Visibility as evidence with bounds. Constructed timelines (synchronous store, async
// with a later success, async never visible, skewed clocks, reordered store log, store-side
// evidence), then random event orders whose verdicts are checked against the bounds and the
// truth the generator knows. Time is stepped; nothing sleeps.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <regex>
#include <sstream>

#include "common/json.h"
#include "common/upload_visibility.h"
#include "exporter/metrics/upload_metrics.h"
#include "exporter/pipeline/correlator.h"

namespace rrca::pipeline {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1'000 * kMs;
constexpr int64_t kT0 = 1'700'000'000 * kSecond + 123 * kMs;
const std::string kUuid = "5b0c1c8e-2f4a-4d7e-9a51-0c3d2e1f4a6b";

std::string KeyOf(const std::string& uuid) {
  return "docker/registry/v2/repositories/team/app/_uploads/" + uuid + "/data";
}

// Drives a correlator with constructed registry requests and store events.
struct Harness {
  RepositoryTable repositories{1000, {}};
  UploadCorrelator correlator;
  explicit Harness(UploadCorrelator::Options options = {},
                   metrics::UploadMetrics* metrics = nullptr)
      : correlator(options, &repositories, metrics) {}

  // A registry request on the upload; `writer` is the driver's Writer() duration (-1: none).
  void Registry(Operation operation, const char* method, int status, int64_t arrival,
                int64_t duration, int64_t writer = -1, const std::string& uuid = kUuid) {
    JoinedRequest request;
    request.operation = operation;
    request.method = method;
    request.status = status;
    request.arrival_ns = arrival;
    if (__builtin_add_overflow(arrival, duration, &request.time_ns)) request.time_ns = INT64_MAX;
    request.duration_ns = duration;
    request.writer_duration_ns = writer;
    request.repository = "team/app";
    request.upload_uuid = uuid;
    const bool not_visible = status == 500 && operation != Operation::kBlobUploadStart;
    rules::Verdict verdict;
    correlator.OnClassified(
        Classified{request, verdict, not_visible ? "upload_not_yet_visible" : "", "team/app"});
  }
  void Post(int64_t arrival, int64_t duration, const std::string& uuid = kUuid) {
    Registry(Operation::kBlobUploadStart, "POST", 202, arrival, duration, -1, uuid);
  }
  void Patch(int status, int64_t arrival, int64_t duration, int64_t writer = -1,
             const std::string& uuid = kUuid) {
    Registry(Operation::kBlobUploadChunk, "PATCH", status, arrival, duration, writer, uuid);
  }
  void Put(int64_t arrival, int64_t duration, const std::string& uuid = kUuid) {
    Registry(Operation::kBlobUploadComplete, "PUT", 201, arrival, duration, -1, uuid);
  }
  void Store(S3Op op, int status, int64_t start, int64_t duration, const std::string& uuid = kUuid,
             std::string_view bucket = "registry", std::string_view error = "") {
    S3Event event;
    event.op = op;
    event.start_ns = start;
    event.duration_ns = duration;
    event.status = status;
    event.bucket = bucket;
    const std::string key = KeyOf(uuid);
    event.key = key;
    event.error_code = error;
    correlator.OnS3Event(event, "store");
  }
  void Create(int64_t start, int64_t duration, const std::string& uuid = kUuid) {
    Store(S3Op::kCreateMultipart, 200, start, duration, uuid);
  }
  VisibilityBounds Bounds(const std::string& uuid = kUuid) {
    auto bounds = correlator.VisibilityOf(uuid);
    EXPECT_TRUE(bounds.has_value()) << "upload " << uuid << " not decided";
    return bounds.value_or(VisibilityBounds{});
  }
  std::string Verdict(const std::string& uuid = kUuid) {
    const std::optional<Json> explain = correlator.Explain(uuid);
    EXPECT_TRUE(explain.has_value());
    return JsonString(explain.value_or(Json::object()), "verdict");
  }
  uint64_t Outcome(const std::string& outcome) {
    const auto& outcomes = correlator.summary().outcomes;
    const auto it = outcomes.find(outcome);
    return it == outcomes.end() ? 0 : it->second;
  }
};

TEST(VisibilityBoundsTest, SynchronousStoreIsVisibleAtTheAckAsBefore) {
  Harness h;
  // The store takes 1.9 s and the registry's POST waits for it (real radosgw).
  h.Post(kT0, 1'950 * kMs);
  h.Create(kT0 + 20 * kMs, 1'900 * kMs);
  h.Patch(202, kT0 + 2'000 * kMs, 40 * kMs, 30 * kMs);
  h.Put(kT0 + 2'100 * kMs, 50 * kMs);
  const VisibilityBounds b = h.Bounds();
  EXPECT_EQ(b.kind, VisibilityBounds::Kind::kAcknowledged);
  EXPECT_NEAR(b.lower_seconds(), 1.9, 1e-9);
  EXPECT_NEAR(b.upper_seconds(), 1.9, 1e-9);
  EXPECT_EQ(h.Outcome("completed"), 1u);
  ASSERT_EQ(h.correlator.summary().create_to_visible.size(), 1u);
  EXPECT_NEAR(h.correlator.summary().create_to_visible[0], 1.9, 1e-9);
  EXPECT_TRUE(h.correlator.summary().create_to_visible_lower_bound.empty());
  EXPECT_EQ(h.correlator.summary().unsafe_window.at(0), 0);
  EXPECT_NE(h.Verdict().find("visible when the store acknowledged it, 1.900 s after create"),
            std::string::npos)
      << h.Verdict();
  EXPECT_NE(h.Verdict().find("after the upload was visible"), std::string::npos) << h.Verdict();
}

TEST(VisibilityBoundsTest, AsyncStoreWithALaterSuccessIsAnIntervalAndARecoveredRace) {
  Harness h;
  h.Post(kT0, 60 * kMs);
  h.Create(kT0 + 20 * kMs, 6 * kMs);  // acknowledged after 6 ms, listable 2.2 s later
  // The client's PATCH: its listing (48 ms) did not contain the upload.
  h.Patch(500, kT0 + 70 * kMs, 100 * kMs, 48 * kMs);
  // It retries on the same upload every 0.45 s: still hidden, then found.
  h.Patch(500, kT0 + 620 * kMs, 60 * kMs, 50 * kMs);
  h.Patch(500, kT0 + 1'130 * kMs, 60 * kMs, 50 * kMs);
  h.Patch(500, kT0 + 1'640 * kMs, 60 * kMs, 50 * kMs);
  h.Patch(202, kT0 + 2'150 * kMs, 130 * kMs, 50 * kMs);
  h.Put(kT0 + 2'300 * kMs, 700 * kMs);
  const VisibilityBounds b = h.Bounds();
  ASSERT_EQ(b.kind, VisibilityBounds::Kind::kInterval);
  // Last seen invisible: the fourth PATCH's listing (arrival + 50 ms); first seen visible: the
  // successful PATCH's answer. Both measured from the create's start.
  EXPECT_NEAR(b.lower_seconds(), 1.640 + 0.050 - 0.020, 1e-9);
  EXPECT_NEAR(b.upper_seconds(), 2.150 + 0.130 - 0.020, 1e-9);
  EXPECT_NEAR(b.ack_seconds(), 0.006, 1e-9);
  EXPECT_EQ(h.Outcome("raced_recovered"), 1u);
  EXPECT_EQ(h.Outcome("raced_failed"), 0u);
  EXPECT_NE(h.Verdict().find("visible between 1.670 s and 2.260 s after create; acknowledged "
                             "after 0.006 s"),
            std::string::npos)
      << h.Verdict();
  EXPECT_NE(h.Verdict().find("before the upload was visible"), std::string::npos);
  EXPECT_NE(h.Verdict().find("the client's retry on it later completed"), std::string::npos);
  // Unsafe window from the same bounds: visible by 2.260 s after create, POST answered at 0.04 s.
  EXPECT_NEAR(h.correlator.summary().unsafe_window.at(0), 2.280 - 0.060, 1e-9);
}

TEST(VisibilityBoundsTest, AsyncStoreNeverSeenVisibleGivesOnlyALowerBound) {
  Harness h;
  h.Post(kT0, 60 * kMs);
  h.Create(kT0 + 20 * kMs, 6 * kMs);
  h.Patch(500, kT0 + 70 * kMs, 100 * kMs, 48 * kMs);
  h.correlator.AdvanceTo(kT0 + 60 * kSecond);  // the retry window passes: decided
  const VisibilityBounds b = h.Bounds();
  ASSERT_EQ(b.kind, VisibilityBounds::Kind::kLowerBound);
  EXPECT_NEAR(b.lower_seconds(), 0.070 + 0.048 - 0.020, 1e-9);
  EXPECT_LT(b.upper_seconds(), 0);
  EXPECT_EQ(h.Outcome("raced_failed"), 1u);
  const auto& summary = h.correlator.summary();
  EXPECT_EQ(summary.never_seen_visible, 1u);
  EXPECT_TRUE(summary.create_to_visible.empty());  // no made-up small number
  ASSERT_EQ(summary.create_to_visible_lower_bound.size(), 1u);
  EXPECT_NEAR(summary.create_to_visible_lower_bound[0], 0.098, 1e-9);
  EXPECT_NE(h.Verdict().find("not visible yet 0.098 s after create and never seen visible"),
            std::string::npos)
      << h.Verdict();
  EXPECT_EQ(h.Verdict().find("after the upload was visible"), std::string::npos);
}

TEST(VisibilityBoundsTest, FailureWaitsForARetryOnTheSameUploadBeforeItIsDecided) {
  Harness h;
  h.Post(kT0, 60 * kMs);
  h.Create(kT0 + 20 * kMs, 6 * kMs);
  h.Patch(500, kT0 + 70 * kMs, 100 * kMs, 48 * kMs);
  h.correlator.AdvanceTo(kT0 + 5 * kSecond);
  EXPECT_TRUE(h.correlator.summary().outcomes.empty());
  h.Patch(202, kT0 + 10 * kSecond, 100 * kMs, 48 * kMs);
  h.Put(kT0 + 11 * kSecond, 100 * kMs);
  EXPECT_EQ(h.Outcome("raced_recovered"), 1u);
}

TEST(VisibilityBoundsTest, SkewedStoreClockIsCorrectedBeforeBounding) {
  Harness h;
  // The store's clock runs 3 s ahead; ten synchronous uploads with precise times teach it.
  for (int i = 0; i < 10; ++i) {
    char uuid[40];
    std::snprintf(uuid, sizeof(uuid), "00000000-0000-0000-0000-%012d", i);
    const int64_t start = kT0 - 100 * kSecond + i * kSecond;
    h.Post(start, 30 * kMs, uuid);
    h.Create(start + 3 * kSecond + 4 * kMs, 20 * kMs, uuid);
    h.Put(start + 500 * kMs, 10 * kMs, uuid);
  }
  ASSERT_NEAR(h.correlator.clock_skew_seconds(), 3.004, 0.001);
  h.Post(kT0, 60 * kMs);
  h.Create(kT0 + 3 * kSecond + 20 * kMs, 6 * kMs);  // store clock
  h.Patch(500, kT0 + 70 * kMs, 100 * kMs, 48 * kMs);
  h.Patch(202, kT0 + 1'500 * kMs, 100 * kMs, 48 * kMs);
  h.Put(kT0 + 1'700 * kMs, 100 * kMs);
  const VisibilityBounds b = h.Bounds();
  ASSERT_EQ(b.kind, VisibilityBounds::Kind::kInterval);
  // Without the correction the create would start 3 s after the failed listing.
  EXPECT_NEAR(b.lower_seconds(), 0.118 - 0.016, 1e-6);
  EXPECT_NEAR(b.upper_seconds(), 1.600 - 0.016, 1e-6);
  EXPECT_EQ(h.Outcome("raced_recovered"), 1u);
}

TEST(VisibilityBoundsTest, ReorderedStoreLogGivesTheSameBounds) {
  auto feed_registry = [](Harness& h) {
    h.Post(kT0, 60 * kMs);
    h.Patch(500, kT0 + 70 * kMs, 100 * kMs, 48 * kMs);
    h.Patch(202, kT0 + 2'150 * kMs, 130 * kMs, 50 * kMs);
    h.Put(kT0 + 2'300 * kMs, 700 * kMs);
  };
  auto feed_store = [](Harness& h) {
    h.Store(S3Op::kUploadPart, 200, kT0 + 2'900 * kMs, 30 * kMs);
    h.Create(kT0 + 20 * kMs, 6 * kMs);
    h.Store(S3Op::kCompleteMultipart, 200, kT0 + 2'950 * kMs, 30 * kMs);
  };
  Harness in_order;
  feed_registry(in_order);
  feed_store(in_order);
  in_order.correlator.FlushAll();
  Harness reordered;
  feed_store(reordered);  // the store's log read first, its own lines out of order
  feed_registry(reordered);
  reordered.correlator.FlushAll();
  const VisibilityBounds a = in_order.Bounds(), b = reordered.Bounds();
  EXPECT_EQ(a.kind, VisibilityBounds::Kind::kInterval);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.lower_ns, b.lower_ns);
  EXPECT_EQ(a.upper_ns, b.upper_ns);
  EXPECT_EQ(in_order.correlator.summary().outcomes, reordered.correlator.summary().outcomes);
  EXPECT_EQ(in_order.Verdict(), reordered.Verdict());
}

TEST(VisibilityBoundsTest, StoreSideEvidenceBoundsFromBothSides) {
  Harness h;
  h.Post(kT0, 60 * kMs);
  h.Create(kT0 + 20 * kMs, 6 * kMs);
  // The store's own log: ListParts on the upload found nothing, later a part was written.
  h.Store(S3Op::kListParts, 404, kT0 + 900 * kMs, 3 * kMs, kUuid, "registry", "NoSuchUpload");
  h.Store(S3Op::kUploadPart, 200, kT0 + 3'000 * kMs, 40 * kMs);
  h.Patch(202, kT0 + 2'950 * kMs, 150 * kMs);
  h.Put(kT0 + 3'200 * kMs, 100 * kMs);
  const VisibilityBounds b = h.Bounds();
  ASSERT_EQ(b.kind, VisibilityBounds::Kind::kInterval);
  EXPECT_NEAR(b.lower_seconds(), 0.880, 1e-9);
  EXPECT_NEAR(b.upper_seconds(), 3.020, 1e-9);  // the part's end, before the PATCH's answer
  // The PATCH arrived inside the interval: whether it raced is not known, so it did not.
  EXPECT_EQ(h.Outcome("completed"), 1u);
  EXPECT_NE(h.Verdict().find("whether the upload was visible then is not known"), std::string::npos)
      << h.Verdict();
}

TEST(VisibilityBoundsTest, WholeSecondStoreTimesAreNarrowedByThePost) {
  Harness h;
  const int64_t second = kT0 / kSecond * kSecond;
  h.Post(second + 107 * kMs, 71 * kMs);
  h.Create(second, 4 * kMs);  // AWS access log: the create at .128, logged as .000
  h.Patch(500, second + 182 * kMs, 97 * kMs, 48 * kMs);
  h.correlator.FlushAll();
  const VisibilityBounds b = h.Bounds();
  ASSERT_EQ(b.kind, VisibilityBounds::Kind::kLowerBound);
  // From the POST's arrival (the create cannot have started before it) to the listing.
  EXPECT_NEAR(b.lower_seconds(), 0.230 - 0.107, 1e-9);
}

TEST(VisibilityBoundsTest, InvisibleAfterTheFirstVisibleSaysNothingAboutCreation) {
  Harness h;
  // The store's log is read first: after completion the multipart upload is gone, so a later
  // ListParts fails; that is no evidence about when it became visible.
  h.Create(kT0 + 20 * kMs, 1'900 * kMs);
  h.Store(S3Op::kListParts, 404, kT0 + 5'000 * kMs, 3 * kMs, kUuid, "registry", "NoSuchUpload");
  h.Post(kT0, 1'950 * kMs);
  h.Put(kT0 + 2'000 * kMs, 40 * kMs);
  EXPECT_EQ(h.Bounds().kind, VisibilityBounds::Kind::kAcknowledged);
  EXPECT_EQ(h.Outcome("completed"), 1u);
}

TEST(VisibilityBoundsTest, WithoutTheStoresCreateNothingIsMeasuredOrConfirmed) {
  prometheus::Registry registry;
  metrics::UploadMetrics metrics(registry);
  Harness h({}, &metrics);
  h.Post(kT0, 60 * kMs);
  h.Patch(500, kT0 + 70 * kMs, 100 * kMs, 48 * kMs);
  h.correlator.FlushAll();
  EXPECT_EQ(h.Bounds().kind, VisibilityBounds::Kind::kUnknown);
  EXPECT_EQ(h.Outcome("raced_failed"), 1u);  // the registry's own word
  EXPECT_TRUE(h.correlator.summary().create_to_visible.empty());
  EXPECT_TRUE(h.correlator.summary().create_to_visible_lower_bound.empty());
  EXPECT_NE(h.Verdict().find("the store's log has no create for this upload"), std::string::npos);
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_EQ(text.find("evidence=\"store_log\""), std::string::npos) << text;
}

// Log lines anyone can write: times at the ends of int64 (years 1678 and 2262), durations of
// centuries. Nothing overflows (UBSan builds run this) and every upload is still decided.
TEST(VisibilityBoundsTest, HostileTimesNeitherOverflowNorStopTheDecision) {
  Harness h;
  const int64_t extremes[] = {INT64_MIN + 1, -kSecond, 1, INT64_MAX - 1};
  int n = 0;
  for (const int64_t a : extremes) {
    for (const int64_t b : extremes) {
      char uuid[40];
      std::snprintf(uuid, sizeof(uuid), "00000000-0000-0000-0000-%012d", n++);
      h.Post(a, INT64_MAX / 2, uuid);
      h.Store(S3Op::kCreateMultipart, 200, b, INT64_MAX - 1, uuid);
      h.Store(S3Op::kListParts, 404, a, INT64_MAX - 1, uuid, "registry", "NoSuchUpload");
      h.Patch(500, b, INT64_MAX / 2, INT64_MAX - 1, uuid);
      h.Store(S3Op::kUploadPart, 200, b, INT64_MAX - 1, uuid);
      h.Patch(202, a, INT64_MAX / 2, 0, uuid);
      h.Put(b, INT64_MAX / 2, uuid);
    }
  }
  h.correlator.AdvanceTo(INT64_MAX - 1);
  h.correlator.FlushAll();
  uint64_t decided = 0;
  for (const auto& [outcome, count] : h.correlator.summary().outcomes) decided += count;
  EXPECT_EQ(decided, 16u);
  for (int i = 0; i < 16; ++i) {
    char uuid[40];
    std::snprintf(uuid, sizeof(uuid), "00000000-0000-0000-0000-%012d", i);
    EXPECT_TRUE(h.correlator.Explain(uuid).has_value());
  }
}

TEST(VisibilityBoundsTest, BucketNamesAreValidatedCappedAndCounted) {
  prometheus::Registry registry;
  metrics::UploadMetrics metrics(registry, 1000);
  UploadCorrelator::Options options;
  options.max_buckets = 4;
  Harness h(options, &metrics);
  const std::string huge(1 << 20, 'a');
  for (int i = 0; i < 50; ++i) {
    char uuid[40];
    std::snprintf(uuid, sizeof(uuid), "00000000-0000-0000-0000-%012d", i);
    char bucket[32];
    std::snprintf(bucket, sizeof(bucket), "bucket-%d", i);
    h.Post(kT0 + i * kSecond, 60 * kMs, uuid);
    h.Store(S3Op::kCreateMultipart, 200, kT0 + i * kSecond + 20 * kMs, 6 * kMs, uuid,
            i % 2 == 0 ? std::string_view(bucket) : std::string_view(huge));
    h.Put(kT0 + i * kSecond + 200 * kMs, 10 * kMs, uuid);
  }
  EXPECT_EQ(h.correlator.buckets_tracked(), 4u);
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  auto sample = [&text](const std::string& series) {
    const size_t at = text.find(series + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + series.size() + 1));
  };
  EXPECT_EQ(sample("registry_rca_upload_buckets_folded_total{reason=\"invalid\"}"), 25);
  EXPECT_EQ(sample("registry_rca_upload_buckets_folded_total{reason=\"over_cap\"}"), 21);
  // The folded uploads keep the reserved labels (not "__invalid__" for "__other__").
  EXPECT_EQ(sample("registry_rca_upload_create_to_visible_duration_seconds_count{bucket="
                   "\"__other__\"}"),
            21);
  EXPECT_EQ(sample("registry_rca_upload_create_to_visible_duration_seconds_count{bucket="
                   "\"__invalid__\"}"),
            25);
  EXPECT_EQ(text.find("aaaaaaaaaaaaaaaa"), std::string::npos);
}

// --- Random event orders: every verdict sentence checked against the bounds and the truth. ---

struct Truth {
  int64_t visible_ns;       // registry clock
  int64_t first_patch_ns;   // 0: none
  bool failed_not_visible;  // some listing missed it
  bool completed_after;     // completed after the last failure
  int64_t tolerance_ns;
};

double Number(const std::smatch& match, int group) { return std::stod(match[group].str()); }

// The verdict's sentences must agree with the bounds the explain API gives, with each other,
// and with the truth (within the clock tolerance the product admits).
void CheckVerdict(const std::string& verdict, const VisibilityBounds& b, const Truth& truth,
                  const std::string& outcome, uint32_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed) + ": " + verdict);
  const double tol = static_cast<double>(truth.tolerance_ns) / 1e9 + 0.0015;
  const double v = static_cast<double>(truth.visible_ns - b.create_start_ns) / 1e9;
  static const std::regex kBetween("visible between ([0-9.]+) s and ([0-9.]+) s after create");
  static const std::regex kLower("not visible yet ([0-9.]+) s after create and never seen visible");
  static const std::regex kAck("visible when the store acknowledged it, ([0-9.]+) s after create");
  static const std::regex kPatch(
      "the first PATCH came (-?[0-9.]+) s after create(, before|, after|:)");
  std::smatch m;
  int kinds = 0;
  if (std::regex_search(verdict, m, kBetween)) {
    ++kinds;
    ASSERT_EQ(b.kind, VisibilityBounds::Kind::kInterval);
    EXPECT_NEAR(Number(m, 1), b.lower_seconds(), 0.0006);
    EXPECT_NEAR(Number(m, 2), b.upper_seconds(), 0.0006);
    EXPECT_LT(Number(m, 1), Number(m, 2));
    EXPECT_LT(Number(m, 1), v + tol);  // the truth lies in the interval
    EXPECT_GE(Number(m, 2), v - tol);
  }
  if (std::regex_search(verdict, m, kLower)) {
    ++kinds;
    ASSERT_EQ(b.kind, VisibilityBounds::Kind::kLowerBound);
    EXPECT_NEAR(Number(m, 1), b.lower_seconds(), 0.0006);
    EXPECT_LT(Number(m, 1), v + tol);
  }
  if (std::regex_search(verdict, m, kAck)) {
    ++kinds;
    ASSERT_EQ(b.kind, VisibilityBounds::Kind::kAcknowledged);
    EXPECT_NEAR(Number(m, 1), b.ack_seconds(), 0.0006);
  }
  EXPECT_EQ(kinds, 1);
  if (std::regex_search(verdict, m, kPatch)) {
    const double p = Number(m, 1);
    const std::string how = m[2].str();
    EXPECT_NEAR(p, static_cast<double>(truth.first_patch_ns - b.create_start_ns) / 1e9, 0.0006);
    const double slack = static_cast<double>(b.ack_uncertain_ns + b.tolerance_ns) / 1e9 + 0.0006;
    if (how == ", before") {
      EXPECT_LT(p, v + tol);  // true
      if (b.kind == VisibilityBounds::Kind::kAcknowledged) {
        EXPECT_LT(p, b.upper_seconds() + slack);
      } else if (b.has_upper()) {
        EXPECT_LT(p, b.upper_seconds());
      }
    } else if (how == ", after") {
      EXPECT_GE(p, v - tol);
      EXPECT_FALSE(truth.failed_not_visible);
      EXPECT_GE(p, b.kind == VisibilityBounds::Kind::kAcknowledged ? b.upper_seconds()
                                                                   : b.upper_seconds() - 0.0006);
    } else {
      EXPECT_NE(b.kind, VisibilityBounds::Kind::kLowerBound);
    }
    EXPECT_EQ(verdict.find("before the upload was visible") != std::string::npos &&
                  verdict.find("after the upload was visible") != std::string::npos,
              false);
  }
  // Outcomes follow the same evidence.
  if (outcome == "raced_recovered") {
    EXPECT_TRUE(truth.failed_not_visible && truth.completed_after);
  }
  if (outcome == "raced_failed") {
    EXPECT_TRUE(truth.failed_not_visible && !truth.completed_after);
  }
  if (outcome == "raced_ok") {
    EXPECT_LT(truth.first_patch_ns, truth.visible_ns + truth.tolerance_ns);
  }
  if (truth.failed_not_visible) {
    EXPECT_NE(verdict.find("a listing did not contain the upload"), std::string::npos);
    EXPECT_TRUE(outcome == "raced_failed" || outcome == "raced_recovered") << outcome;
  }
}

// One upload's life from the truth: POST, create, the store's ack, the moment it is listable,
// a client that may retry on it, store-side parts and lookups; fed in a shuffled order.
void RunRandomUpload(uint32_t seed, std::map<std::string, int>* seen) {
  std::mt19937 rng(seed);
  auto ms = [&rng](int lo, int hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng) * kMs;
  };
  auto chance = [&rng](double p) { return std::uniform_real_distribution<>(0, 1)(rng) < p; };
  const int64_t skew = ms(-100, 100);  // store minus registry, below the estimate's threshold
  const bool synchronous = chance(0.3);
  const int64_t post_arrival = kT0 + ms(0, 1000);
  const int64_t create_start = post_arrival + ms(2, 30);
  const int64_t ack = create_start + ms(2, 40);
  const int64_t visible = synchronous ? ack : ack + (chance(0.2) ? 0 : ms(0, 3000));
  const int64_t post_answered = ack + ms(1, 15);  // the registry waited for the ack
  std::vector<std::function<void(Harness&)>> registry, store;
  registry.push_back([=](Harness& h) { h.Post(post_arrival, post_answered - post_arrival); });
  store.push_back([=](Harness& h) { h.Create(create_start + skew, ack - create_start); });
  Truth truth{visible, 0, false, false, 250 * kMs};
  int64_t t = post_answered + ms(0, 600);
  const int attempts = 1 + static_cast<int>(ms(0, 5) / kMs);
  bool done = false;
  for (int i = 0; i < attempts && !done; ++i) {
    const int64_t writer = ms(3, 120);
    const int64_t evaluated = t + ms(0, static_cast<int>(writer / kMs));  // inside the call
    const int64_t duration = writer + ms(1, 30);
    if (truth.first_patch_ns == 0) truth.first_patch_ns = t;
    if (evaluated < visible) {
      registry.push_back([=](Harness& h) { h.Patch(500, t, duration, writer); });
      truth.failed_not_visible = true;
    } else {
      registry.push_back([=](Harness& h) { h.Patch(202, t, duration, writer); });
      const int64_t put = t + duration + ms(1, 200);
      if (chance(0.5)) {
        store.push_back(
            [=](Harness& h) { h.Store(S3Op::kUploadPart, 200, t + writer + skew, ms(1, 30)); });
      }
      if (chance(0.9)) {
        registry.push_back([=](Harness& h) { h.Put(put, 20 * kMs); });
        truth.completed_after = truth.failed_not_visible;
        done = true;
        if (chance(0.3)) {  // the completed upload is gone: a later lookup misses it
          store.push_back([=](Harness& h) {
            h.Store(S3Op::kListParts, 404, put + ms(100, 2000) + skew, 2 * kMs, kUuid, "registry",
                    "NoSuchUpload");
          });
        }
      }
    }
    t += duration + ms(400, 500);
  }
  if (chance(0.3)) {  // a store-side lookup that missed it, while it was still hidden
    const int64_t at = ack + ms(0, 3000);
    if (at < visible) {
      store.push_back([=](Harness& h) {
        h.Store(S3Op::kListParts, 404, at + skew, 2 * kMs, kUuid, "registry", "NoSuchUpload");
      });
    }
  }
  Harness h;
  std::shuffle(store.begin(), store.end(), rng);
  const int where = static_cast<int>(ms(0, 2) / kMs);  // store before, between or after
  if (where == 0) {
    for (auto& f : store) f(h);
  }
  for (size_t i = 0; i < registry.size(); ++i) {
    registry[i](h);
    if (where == 1 && i == 0) {
      for (auto& f : store) f(h);
    }
  }
  if (where == 2) {
    for (auto& f : store) f(h);
  }
  h.correlator.FlushAll();
  const auto& outcomes = h.correlator.summary().outcomes;
  ASSERT_EQ(outcomes.size(), 1u) << "seed " << seed;
  const VisibilityBounds b = h.Bounds();
  ASSERT_TRUE(b.known()) << "seed " << seed;  // a missing value is a failure
  CheckVerdict(h.Verdict(), b, truth, outcomes.begin()->first, seed);
  ++(*seen)[b.kind_name()];
  ++(*seen)[outcomes.begin()->first];
}

TEST(VisibilityRandomTest, VerdictSentencesAgreeWithTheBoundsAndTheTruth) {
  std::map<std::string, int> seen;
  for (uint32_t seed = 1; seed <= 2000; ++seed) {
    RunRandomUpload(seed, &seen);
    if (::testing::Test::HasFatalFailure()) return;
  }
  // The generator reaches every kind of bounds and every outcome the evidence can give.
  for (const char* what : {"acknowledged", "interval", "lower_bound", "completed", "raced_failed",
                           "raced_recovered", "abandoned"}) {
    EXPECT_GE(seen[what], 5) << what;
  }
  for (const auto& [what, count] : seen) std::printf("%s=%d ", what.c_str(), count);
  std::printf("\n");
}

}  // namespace
}  // namespace rrca::pipeline
