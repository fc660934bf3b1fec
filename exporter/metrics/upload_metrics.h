#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/event.h"
#include "common/upload_visibility.h"
#include "exporter/metrics/exposition.h"
#include "exporter/metrics/exposition_interner.h"

namespace rrca::metrics {

// The object-store side's families (a contract): S3 requests, create-to-visible latency,
// the unsafe window, the client gap and upload outcomes. The per-repository ones (latest and
// maximum create-to-visible, outcomes) live in the ExpositionStore shared with Metrics; the
// others, which the alert enricher reads through Registry::Collect, stay in prometheus-cpp.
// Series are cached under integer keys (interned label values). Written only by the processing
// thread.
//
// Bucket label values come from store log lines and from POST /api/v1/ingest/minio-audit, i.e.
// from anyone who can write either. Like repositories they are validated
// (S3's bucket-name grammar: 3 to 63 of a-z 0-9 . -, a letter or digit at both ends, no "..",
// not an IPv4 address; anything else counts as "__invalid__") and capped: past `max_buckets`
// distinct names, new ones count as "__other__". Both are counted
// (registry_rca_buckets_folded_total, registry_rca_buckets_invalid_total, per store request). An
// empty bucket (not known) stays empty. The correlator folds its own bucket names likewise
// (registry_rca_upload_buckets_folded_total) and hands "__other__"/"__invalid__" on as such.
//
// Create-to-visible is bounds (common/upload_visibility.h): the duration histogram
// holds the upper bound of uploads seen visible, the lower-bound histogram the lower bound of
// uploads seen not visible after the store's acknowledgement (interval or censored).
class UploadMetrics {
 public:
  static constexpr size_t kDefaultMaxBuckets = 100;

  // `store` outlives this object (Metrics' store, so the daemon's scrape renders it).
  // `max_buckets`: the config's cap (Pipeline::Options::max_buckets), at least 1.
  UploadMetrics(prometheus::Registry& registry, ExpositionStore* store,
                size_t max_buckets = kDefaultMaxBuckets);
  // With a store of its own, which nothing renders (benchmarks of the correlator).
  explicit UploadMetrics(prometheus::Registry& registry, size_t max_buckets = kDefaultMaxBuckets);
  static bool IsValidBucketName(std::string_view name);

  void CountS3Request(std::string_view bucket, S3Op op, int status, int64_t duration_ns);
  // A create's latency until the upload was visible, per repository label and bucket.
  void ObserveCreateToVisible(std::string_view repository, std::string_view bucket, int64_t time_ns,
                              double seconds);
  // One decided upload's visibility bounds (common/upload_visibility.h): the upper bound into
  // the create-to-visible histogram when it was seen visible (the ack when nothing contradicts
  // it), the lower bound into the lower-bound histogram when the ack was contradicted; the
  // per-repository gauges take reported_seconds(). `bucket` may be the correlator's own
  // "__other__" / "__invalid__", which keep their reserved labels here.
  void ObserveVisibility(std::string_view repository, std::string_view bucket, int64_t time_ns,
                         const VisibilityBounds& bounds);
  // The correlator kept a store event's bucket as "__invalid__" or "__other__" (reason).
  void CountCorrelatorBucketFolded(std::string_view reason);
  void ObserveUnsafeWindow(std::string_view bucket, double seconds);
  void ObserveClientGap(std::string_view bucket, double seconds);
  void CountOutcome(std::string_view repository, std::string_view outcome);
  void CountConfirmation(std::string_view cause, std::string_view evidence);
  void CountEviction(std::string_view reason);
  void CountLateEvent(std::string_view side);
  // A timeline event's raw log line (UploadCorrelator::TakeCurrentLine): kept whole, kept cut at
  // its bound ("truncated"), or not kept because all kept lines reached their byte budget
  // ("over_budget"); registry_rca_timeline_lines_total{result}.
  void CountTimelineLine(std::string_view result);
  void SetOpenUploads(size_t open);
  // registry-rca's own probe uploads kept out of the correlator (Pipeline): a probe upload
  // remembered from the registry's log, a store event on one dropped, a remembered one forgotten
  // past the cap (registry_rca_probe_uploads_excluded_total{what}).
  enum class ProbeUpload : uint8_t { kRemembered, kStoreEvent, kForgotten };
  void CountProbeUpload(ProbeUpload what);
  void SetClockSkew(double seconds);
  // Drops samples older than the sliding window from the per-repository maxima.
  void Expire(int64_t now_ns);

  static constexpr int64_t kMaxWindowNs = 300'000'000'000;  // 5 m

 private:
  struct SlidingMax {
    std::deque<std::pair<int64_t, double>> samples;  // decreasing values (monotonic queue)
    ExpositionStore::Series latest;
    ExpositionStore::Series max;
  };
  // Per bucket label: the latency histograms.
  struct BucketHistograms {
    prometheus::Histogram* create = nullptr;
    prometheus::Histogram* lower = nullptr;
    prometheus::Histogram* unsafe = nullptr;
    prometheus::Histogram* gap = nullptr;
  };

  // The bucket's label id (validated, capped) in buckets_; `count`: a store request, whose
  // folding is counted (the latency observations of its upload are not counted again).
  uint32_t BucketId(std::string_view raw, bool count);
  void SetRepositoryLatency(std::string_view repository, int64_t time_ns, double seconds);
  BucketHistograms& HistogramsFor(uint32_t bucket_id);
  prometheus::Counter*& SmallCounter(uint32_t family, std::string_view a, std::string_view b = {});

  std::unique_ptr<ExpositionStore> owned_store_;
  ExpositionStore* store_;
  prometheus::Family<prometheus::Counter>& s3_requests_;
  prometheus::Family<prometheus::Histogram>& s3_duration_;
  ExpositionStore::FamilyId create_latest_;
  ExpositionStore::FamilyId create_max_;
  prometheus::Family<prometheus::Histogram>& create_histogram_;
  prometheus::Family<prometheus::Histogram>& lower_histogram_;
  prometheus::Family<prometheus::Counter>& correlator_buckets_;
  prometheus::Family<prometheus::Histogram>& unsafe_histogram_;
  prometheus::Family<prometheus::Histogram>& gap_histogram_;
  ExpositionStore::FamilyId outcomes_;
  prometheus::Family<prometheus::Counter>& confirmations_;
  prometheus::Family<prometheus::Counter>& evictions_;
  prometheus::Family<prometheus::Counter>& late_;
  prometheus::Family<prometheus::Counter>& timeline_lines_;
  prometheus::Gauge& open_;
  prometheus::Gauge& skew_;
  prometheus::Counter& buckets_folded_;
  prometheus::Counter& buckets_invalid_;
  prometheus::Gauge& buckets_tracked_;
  std::array<prometheus::Counter*, 3> probe_uploads_{};  // by ProbeUpload
  const size_t max_buckets_;

  LabelInterner buckets_;  // label values: "", "__other__", "__invalid__", then names
  std::unordered_map<std::string, uint32_t, StringViewHash, StringViewEqual> raw_buckets_;
  LabelInterner repositories_;
  LabelInterner words_;  // operations, outcomes, causes, evidence, reasons, sides
  std::unordered_map<uint64_t, prometheus::Counter*> s3_counters_;        // bucket, (op, status)
  std::unordered_map<uint64_t, prometheus::Histogram*> durations_;        // bucket, op
  std::vector<BucketHistograms> bucket_histograms_;                       // by bucket id
  std::vector<SlidingMax> maxima_;                                        // by repository id
  std::unordered_map<uint64_t, ExpositionStore::Series> outcome_series_;  // repository, outcome
  std::unordered_map<uint64_t, prometheus::Counter*> small_counters_;     // family, a, b
};

}  // namespace rrca::metrics
