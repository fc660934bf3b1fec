#include "exporter/metrics/upload_metrics.h"

#include <algorithm>
#include <atomic>
#include <map>

namespace rrca::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

// 5 ms to 60 s: the range in which a store's create becomes visible, and clients follow up.
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 5, 10, 20, 30, 60};
const prometheus::Histogram::BucketBoundaries kRequestBuckets = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

// Families of the small counters, for their cache keys.
enum SmallFamily : uint32_t {
  kConfirmations = 1,
  kEvictions,
  kLateEvents,
  kCorrelatorBuckets,
  kTimelineLines
};

std::string CodeLabel(int status) { return status > 0 ? std::to_string(status) : "unknown"; }

constexpr uint32_t kEmptyBucket = 0;
constexpr uint32_t kOtherBucket = 1;
constexpr uint32_t kInvalidBucket = 2;
constexpr size_t kMaxBucketName = 63;

bool IsIpv4(std::string_view name) {
  int parts = 0;
  size_t start = 0;
  while (start <= name.size()) {
    const size_t dot = std::min(name.find('.', start), name.size());
    const std::string_view part = name.substr(start, dot - start);
    if (part.empty() || part.size() > 3 ||
        part.find_first_not_of("0123456789") != std::string_view::npos) {
      return false;
    }
    ++parts;
    start = dot + 1;
  }
  return parts == 4;
}

}  // namespace

bool UploadMetrics::IsValidBucketName(std::string_view name) {
  if (name.size() < 3 || name.size() > kMaxBucketName) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '-') return false;
  }
  return alnum(name.front()) && alnum(name.back()) && name.find("..") == std::string_view::npos &&
         !IsIpv4(name);
}

UploadMetrics::UploadMetrics(prometheus::Registry& registry, size_t max_buckets)
    : UploadMetrics(registry, nullptr, max_buckets) {}

UploadMetrics::UploadMetrics(prometheus::Registry& registry, ExpositionStore* store,
                             size_t max_buckets)
    : owned_store_(store == nullptr ? std::make_unique<ExpositionStore>() : nullptr),
      store_(store != nullptr ? store : owned_store_.get()),
      s3_requests_(BuildCounter()
                       .Name("registry_rca_s3_requests_total")
                       .Help("Requests the object store logged, by bucket, operation and status.")
                       .Register(registry)),
      s3_duration_(BuildHistogram()
                       .Name("registry_rca_s3_request_duration_seconds")
                       .Help("How long the object store took per request, as it logged it.")
                       .Register(registry)),
      create_latest_(store_->AddFamily(
          "registry_rca_upload_create_to_visible_seconds",
          "Create-to-visible of the latest decided upload: from the store receiving "
          "CreateMultipartUpload to the upload being visible (listable); the first moment it "
          "was seen visible (the acknowledgement when nothing contradicts it), or, for an "
          "upload never seen visible, the lower bound.",
          ExpositionStore::Kind::kGauge)),
      create_max_(store_->AddFamily("registry_rca_upload_create_to_visible_max_seconds",
                                    "Maximum over the last 5 minutes of the values "
                                    "registry_rca_upload_create_to_visible_seconds took.",
                                    ExpositionStore::Kind::kGauge)),
      create_histogram_(BuildHistogram()
                            .Name("registry_rca_upload_create_to_visible_duration_seconds")
                            .Help("Create-to-visible of uploads seen visible: the upper bound "
                                  "(the acknowledgement when nothing contradicts it, else the "
                                  "first moment seen visible). Uploads never seen visible are "
                                  "in registry_rca_upload_create_to_visible_lower_bound_seconds.")
                            .Register(registry)),
      lower_histogram_(BuildHistogram()
                           .Name("registry_rca_upload_create_to_visible_lower_bound_seconds")
                           .Help("Create-to-visible lower bound of uploads seen not visible "
                                 "after the store acknowledged them: the last moment seen not "
                                 "visible (censored when never seen visible).")
                           .Register(registry)),
      correlator_buckets_(BuildCounter()
                              .Name("registry_rca_upload_buckets_folded_total")
                              .Help("Store events on uploads whose bucket the correlator kept "
                                    "as __invalid__ (reason=invalid) or __other__ "
                                    "(reason=over_cap, past its 256 names).")
                              .Register(registry)),
      unsafe_histogram_(BuildHistogram()
                            .Name("registry_rca_upload_unsafe_window_seconds")
                            .Help("How long after the registry answered the POST an upload was "
                                  "still invisible (0 when the store answered only once visible).")
                            .Register(registry)),
      gap_histogram_(BuildHistogram()
                         .Name("registry_rca_upload_client_gap_seconds")
                         .Help("Time from the registry answering the POST to the client's first "
                               "PATCH/PUT of the upload.")
                         .Register(registry)),
      outcomes_(store_->AddFamily("registry_rca_uploads_total",
                                  "Blob uploads by outcome: completed, raced_ok, raced_failed, "
                                  "raced_recovered, failed_other, abandoned.",
                                  ExpositionStore::Kind::kCounter)),
      confirmations_(BuildCounter()
                         .Name("registry_rca_upload_failures_confirmed_total")
                         .Help("Upload failures whose cause is confirmed, by the evidence: "
                               "state_age (the _state token) or store_log (the store's own log).")
                         .Register(registry)),
      evictions_(BuildCounter()
                     .Name("registry_rca_uploads_evicted_total")
                     .Help("Upload states dropped from the correlator, by reason.")
                     .Register(registry)),
      late_(BuildCounter()
                .Name("registry_rca_late_events_total")
                .Help("Events that arrived after their upload was decided or outside the "
                      "reorder window, by side (registry, store); still counted elsewhere.")
                .Register(registry)),
      timeline_lines_(BuildCounter()
                          .Name("registry_rca_timeline_lines_total")
                          .Help("Raw log lines of upload timeline events, by result: kept, "
                                "truncated (kept, cut at 2 KiB), over_budget (not kept: the "
                                "kept lines reached 32 MiB).")
                          .Register(registry)),
      open_(BuildGauge()
                .Name("registry_rca_uploads_open")
                .Help("Uploads the correlator holds state for.")
                .Register(registry)
                .Add({})),
      skew_(BuildGauge()
                .Name("registry_rca_clock_skew_seconds")
                .Help("Estimated clock offset of the object store relative to the registry "
                      "(store minus registry), from matched POST/create pairs.")
                .Register(registry)
                .Add({})),
      buckets_folded_(BuildCounter()
                          .Name("registry_rca_buckets_folded_total")
                          .Help("Store events counted under bucket=\"__other__\" because the "
                                "bucket cap (max_buckets) was reached.")
                          .Register(registry)
                          .Add({})),
      buckets_invalid_(BuildCounter()
                           .Name("registry_rca_buckets_invalid_total")
                           .Help("Store events counted under bucket=\"__invalid__\": the name "
                                 "is not a valid S3 bucket name.")
                           .Register(registry)
                           .Add({})),
      buckets_tracked_(BuildGauge()
                           .Name("registry_rca_buckets_tracked")
                           .Help("Distinct bucket label values in use (at most max_buckets).")
                           .Register(registry)
                           .Add({})),
      max_buckets_(std::max<size_t>(max_buckets, 1)) {
  BuildGauge()
      .Name("registry_rca_buckets_limit")
      .Help("The configured cap on bucket label values (max_buckets).")
      .Register(registry)
      .Add({})
      .Set(static_cast<double>(max_buckets_));
  buckets_.Intern("");
  buckets_.Intern("__other__");
  buckets_.Intern("__invalid__");
  for (const char* reason : {"invalid", "over_cap"}) {  // visible at 0 before the first fold
    SmallCounter(kCorrelatorBuckets, reason) = &correlator_buckets_.Add({{"reason", reason}});
  }
  auto& probe_uploads = BuildCounter()
                            .Name("registry_rca_probe_uploads_excluded_total")
                            .Help(
                                "registry-rca's own probe uploads kept out of the upload "
                                "metrics: what=upload (a probe upload named in the registry's "
                                "log), store_event (a store log event on one or in a probe's "
                                "repository, not correlated), "
                                "forgotten (a probe upload dropped from the bounded set).")
                            .Register(registry);
  const char* kProbeUploadWhat[] = {"upload", "store_event", "forgotten"};
  for (size_t i = 0; i < probe_uploads_.size(); ++i) {
    probe_uploads_[i] = &probe_uploads.Add({{"what", kProbeUploadWhat[i]}});
  }
}

void UploadMetrics::CountProbeUpload(ProbeUpload what) {
  probe_uploads_[static_cast<size_t>(what)]->Increment();
}

uint32_t UploadMetrics::BucketId(std::string_view raw, bool count) {
  if (raw.empty()) return kEmptyBucket;
  if (!count && raw == "__other__") return kOtherBucket;  // the correlator's own folding
  if (!count && raw == "__invalid__") return kInvalidBucket;
  const auto cached = raw_buckets_.find(raw);
  uint32_t id;
  if (cached != raw_buckets_.end()) {
    id = cached->second;
  } else if (!IsValidBucketName(raw)) {
    id = kInvalidBucket;  // not cached: the raw text may be a megabyte
  } else if (buckets_.size() - 3 >= max_buckets_) {
    id = kOtherBucket;
    if (raw_buckets_.size() < 4 * max_buckets_ + 1024) raw_buckets_.emplace(raw, id);
  } else {
    id = buckets_.Intern(raw);
    raw_buckets_.emplace(raw, id);
    buckets_tracked_.Set(static_cast<double>(buckets_.size() - 3));
  }
  if (count && id == kOtherBucket) buckets_folded_.Increment();
  if (count && id == kInvalidBucket) buckets_invalid_.Increment();
  return id;
}

void UploadMetrics::CountS3Request(std::string_view raw_bucket, S3Op op, int status,
                                   int64_t duration_ns) {
  const uint32_t bucket_id = BucketId(raw_bucket, /*count=*/true);
  const std::string& bucket = buckets_.Name(bucket_id);
  const uint32_t op_status =
      (static_cast<uint32_t>(op) << 16) | static_cast<uint32_t>(status & 0xFFFF);
  prometheus::Counter*& counter = s3_counters_[PairKey(bucket_id, op_status)];
  if (counter == nullptr) {
    counter = &s3_requests_.Add({{"bucket", bucket},
                                 {"operation", std::string(S3OpName(op))},
                                 {"code", CodeLabel(status)}});
  }
  counter->Increment();
  if (duration_ns < 0) return;
  prometheus::Histogram*& histogram = durations_[PairKey(bucket_id, static_cast<uint32_t>(op))];
  if (histogram == nullptr) {
    histogram = &s3_duration_.Add({{"bucket", bucket}, {"operation", std::string(S3OpName(op))}},
                                  kRequestBuckets);
  }
  histogram->Observe(static_cast<double>(duration_ns) / 1e9);
}

UploadMetrics::BucketHistograms& UploadMetrics::HistogramsFor(uint32_t id) {
  if (bucket_histograms_.size() <= id) bucket_histograms_.resize(id + 1);
  return bucket_histograms_[id];
}

void UploadMetrics::ObserveCreateToVisible(std::string_view repository, std::string_view bucket,
                                           int64_t time_ns, double seconds) {
  const uint32_t bucket_id = BucketId(bucket, /*count=*/false);
  prometheus::Histogram*& histogram = HistogramsFor(bucket_id).create;
  if (histogram == nullptr) {
    histogram = &create_histogram_.Add({{"bucket", buckets_.Name(bucket_id)}}, kLatencyBuckets);
  }
  histogram->Observe(seconds);
  SetRepositoryLatency(repository, time_ns, seconds);
}

void UploadMetrics::ObserveVisibility(std::string_view repository, std::string_view bucket,
                                      int64_t time_ns, const VisibilityBounds& bounds) {
  if (!bounds.known()) return;
  const uint32_t bucket_id = BucketId(bucket, /*count=*/false);
  BucketHistograms& histograms = HistogramsFor(bucket_id);
  const std::map<std::string, std::string> labels = {{"bucket", buckets_.Name(bucket_id)}};
  if (bounds.has_upper()) {
    if (histograms.create == nullptr) {
      histograms.create = &create_histogram_.Add(labels, kLatencyBuckets);
    }
    histograms.create->Observe(std::max(0.0, bounds.upper_seconds()));
  }
  if (bounds.kind != VisibilityBounds::Kind::kAcknowledged) {
    if (histograms.lower == nullptr)
      histograms.lower = &lower_histogram_.Add(labels, kLatencyBuckets);
    histograms.lower->Observe(std::max(0.0, bounds.lower_seconds()));
  }
  SetRepositoryLatency(repository, time_ns, std::max(0.0, bounds.reported_seconds()));
}

void UploadMetrics::SetRepositoryLatency(std::string_view repository, int64_t time_ns,
                                         double seconds) {
  const uint32_t id = repositories_.Intern(repository);
  if (maxima_.size() <= id) maxima_.resize(id + 1);
  SlidingMax& max = maxima_[id];
  if (!max.latest.valid()) {
    max.latest = store_->AddSeries(create_latest_, {{"repository", repository}});
    max.max = store_->AddSeries(create_max_, {{"repository", repository}});
  }
  store_->Set(max.latest, seconds);
  while (!max.samples.empty() && max.samples.back().second <= seconds) max.samples.pop_back();
  max.samples.emplace_back(time_ns, seconds);
  store_->Set(max.max, max.samples.front().second);
}

void UploadMetrics::Expire(int64_t now_ns) {
  for (SlidingMax& max : maxima_) {
    while (max.samples.size() > 1 && max.samples.front().first < now_ns - kMaxWindowNs) {
      max.samples.pop_front();
    }
    if (!max.samples.empty()) store_->Set(max.max, max.samples.front().second);
  }
}

void UploadMetrics::ObserveUnsafeWindow(std::string_view bucket, double seconds) {
  const uint32_t bucket_id = BucketId(bucket, /*count=*/false);
  prometheus::Histogram*& histogram = HistogramsFor(bucket_id).unsafe;
  if (histogram == nullptr) {
    histogram = &unsafe_histogram_.Add({{"bucket", buckets_.Name(bucket_id)}}, kLatencyBuckets);
  }
  histogram->Observe(seconds);
}

void UploadMetrics::ObserveClientGap(std::string_view bucket, double seconds) {
  const uint32_t bucket_id = BucketId(bucket, /*count=*/false);
  prometheus::Histogram*& histogram = HistogramsFor(bucket_id).gap;
  if (histogram == nullptr) {
    histogram = &gap_histogram_.Add({{"bucket", buckets_.Name(bucket_id)}}, kLatencyBuckets);
  }
  histogram->Observe(seconds);
}

void UploadMetrics::CountOutcome(std::string_view repository, std::string_view outcome) {
  ExpositionStore::Series& series =
      outcome_series_[PairKey(repositories_.Intern(repository), words_.Intern(outcome))];
  if (!series.valid()) {
    series = store_->AddSeries(outcomes_, {{"repository", repository}, {"outcome", outcome}});
  }
  store_->Increment(series);
}

// The key: the family in the top byte, then the interned values (fewer than 2^24 distinct words
// is a given: they come from code and rules, not from logs).
prometheus::Counter*& UploadMetrics::SmallCounter(uint32_t family, std::string_view a,
                                                  std::string_view b) {
  const uint32_t high = (family << 24) | words_.Intern(a);
  return small_counters_[PairKey(high, b.empty() ? UINT32_MAX : words_.Intern(b))];
}

void UploadMetrics::CountConfirmation(std::string_view cause, std::string_view evidence) {
  prometheus::Counter*& counter = SmallCounter(kConfirmations, cause, evidence);
  if (counter == nullptr) {
    counter =
        &confirmations_.Add({{"cause", std::string(cause)}, {"evidence", std::string(evidence)}});
  }
  counter->Increment();
}

void UploadMetrics::CountEviction(std::string_view reason) {
  prometheus::Counter*& counter = SmallCounter(kEvictions, reason);
  if (counter == nullptr) counter = &evictions_.Add({{"reason", std::string(reason)}});
  counter->Increment();
}

void UploadMetrics::CountCorrelatorBucketFolded(std::string_view reason) {
  prometheus::Counter*& counter = SmallCounter(kCorrelatorBuckets, reason);
  if (counter == nullptr) counter = &correlator_buckets_.Add({{"reason", std::string(reason)}});
  counter->Increment();
}

void UploadMetrics::CountTimelineLine(std::string_view result) {
  prometheus::Counter*& counter = SmallCounter(kTimelineLines, result);
  if (counter == nullptr) counter = &timeline_lines_.Add({{"result", std::string(result)}});
  counter->Increment();
}

void UploadMetrics::CountLateEvent(std::string_view side) {
  prometheus::Counter*& counter = SmallCounter(kLateEvents, side);
  if (counter == nullptr) counter = &late_.Add({{"side", std::string(side)}});
  counter->Increment();
}

void UploadMetrics::SetOpenUploads(size_t open) { open_.Set(static_cast<double>(open)); }

void UploadMetrics::SetClockSkew(double seconds) { skew_.Set(seconds); }

}  // namespace rrca::metrics
