#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/event.h"

namespace rrca::exporter {

// The object-store side's families (issue 4's contract): S3 requests, create-to-visible latency,
// the unsafe window, the client gap and upload outcomes. Counter references are cached per
// label set. Written only by the processing thread.
class UploadMetrics {
 public:
  explicit UploadMetrics(prometheus::Registry& registry);

  void CountS3Request(std::string_view bucket, S3Op op, int status, int64_t duration_ns);
  // A create's latency until the upload was visible, per repository label and bucket.
  void ObserveCreateToVisible(std::string_view repository, std::string_view bucket, int64_t time_ns,
                              double seconds);
  void ObserveUnsafeWindow(std::string_view bucket, double seconds);
  void ObserveClientGap(std::string_view bucket, double seconds);
  void CountOutcome(std::string_view repository, std::string_view outcome);
  void CountConfirmation(std::string_view cause, std::string_view evidence);
  void CountEviction(std::string_view reason);
  void CountLateEvent(std::string_view side);
  void SetOpenUploads(size_t open);
  void SetClockSkew(double seconds);
  // Drops samples older than the sliding window from the per-repository maxima.
  void Expire(int64_t now_ns);

  static constexpr int64_t kMaxWindowNs = 300'000'000'000;  // 5 m

 private:
  struct SlidingMax {
    std::deque<std::pair<int64_t, double>> samples;  // decreasing values (monotonic queue)
    prometheus::Gauge* latest = nullptr;
    prometheus::Gauge* max = nullptr;
  };

  prometheus::Family<prometheus::Counter>& s3_requests_;
  prometheus::Family<prometheus::Histogram>& s3_duration_;
  prometheus::Family<prometheus::Gauge>& create_latest_;
  prometheus::Family<prometheus::Gauge>& create_max_;
  prometheus::Family<prometheus::Histogram>& create_histogram_;
  prometheus::Family<prometheus::Histogram>& unsafe_histogram_;
  prometheus::Family<prometheus::Histogram>& gap_histogram_;
  prometheus::Family<prometheus::Counter>& outcomes_;
  prometheus::Family<prometheus::Counter>& confirmations_;
  prometheus::Family<prometheus::Counter>& evictions_;
  prometheus::Family<prometheus::Counter>& late_;
  prometheus::Gauge& open_;
  prometheus::Gauge& skew_;

  std::unordered_map<std::string, prometheus::Counter*> counters_;
  std::unordered_map<std::string, prometheus::Histogram*> histograms_;
  std::unordered_map<std::string, SlidingMax> maxima_;
};

}  // namespace rrca::exporter
