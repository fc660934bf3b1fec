#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"

// Numbers over an alert's time range from registry-rca's own cumulative metrics: the store's
// non-2xx requests by operation and code, and latency quantiles of the upload histograms. Counters
// only grow, so "over [from, now]" is now minus a snapshot taken at or before `from`, exactly what
// Prometheus' increase() would say.
namespace rrca::enricher {

// The upload histograms the enricher reads.
inline constexpr char kCreateToVisibleFamily[] =
    "registry_rca_upload_create_to_visible_duration_seconds";
inline constexpr char kUnsafeWindowFamily[] = "registry_rca_upload_unsafe_window_seconds";
inline constexpr char kClientGapFamily[] = "registry_rca_upload_client_gap_seconds";
inline constexpr char kStoreRequestsFamily[] = "registry_rca_s3_requests_total";

// What one snapshot keeps: a few hundred numbers, whatever the number of repositories.
struct MetricSample {
  int64_t time_ns = 0;
  std::map<std::pair<std::string, std::string>, double> store_errors;  // (operation, code)
  std::map<std::string, std::map<double, double>> histograms;  // family -> upper bound -> count
};

// The same numbers for a window: differences between two samples.
struct WindowNumbers {
  int64_t from_ns = 0;  // where the baseline really is (later than asked when history is short)
  int64_t to_ns = 0;
  std::vector<std::pair<std::string, double>> store_errors;  // "operation code", most first
  std::map<std::string, std::map<double, double>> histograms;
  // histogram_quantile() over the window's buckets (linear within a bucket, as Prometheus does);
  // -1 when the histogram had no observation in the window.
  double Quantile(const std::string& family, double q) const;
  double Count(const std::string& family) const;
};

// GET /api/v1/latency: the upload histograms' count and p50/p90/p99 since the daemon started
// (`start_ns`, when its counters began at 0), as JSON: {"since", "create_to_visible_seconds":
// {"count", "p50", "p90", "p99"}, "client_gap_seconds": {...}, "unsafe_window_seconds": {...}};
// a quantile without observations is null; quantiles are rounded to microseconds. A value the
// caller owns: the overview page reads it, the API serialises it.
Json LatencySummary(int64_t start_ns, const std::vector<prometheus::MetricFamily>& families);

// Reduces a registry's families to a sample (other families are ignored).
MetricSample SampleOf(int64_t time_ns, const std::vector<prometheus::MetricFamily>& families);

// Snapshots over time, bounded: at most max_samples, older ones thinned (every other one of the
// older half goes), so recent windows are precise and old ones coarse. Before the first snapshot
// every counter is taken as 0 at `start_ns` (the daemon's start: its counters began at 0 there).
// Not thread-safe: the enricher's worker thread owns it.
class MetricHistory {
 public:
  explicit MetricHistory(int64_t start_ns, size_t max_samples = 256)
      : start_ns_(start_ns), max_samples_(max_samples) {}

  void Add(MetricSample sample);
  // `current` minus the latest sample at or before from_ns.
  WindowNumbers Window(int64_t from_ns, const MetricSample& current) const;
  size_t size() const { return samples_.size(); }
  int64_t latest_ns() const { return samples_.empty() ? 0 : samples_.back().time_ns; }

 private:
  int64_t start_ns_;
  size_t max_samples_;
  std::deque<MetricSample> samples_;
};

}  // namespace rrca::enricher
