#include "exporter/enricher/enricher_history.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/time_util.h"

namespace rrca::enricher {
namespace {

std::string LabelValue(const prometheus::ClientMetric& metric, const std::string& name) {
  for (const auto& label : metric.label) {
    if (label.name == name) return label.value;
  }
  return "";
}

bool IsHistogramFamily(const std::string& name) {
  return name == kCreateToVisibleFamily || name == kUnsafeWindowFamily || name == kClientGapFamily;
}

}  // namespace

MetricSample SampleOf(int64_t time_ns, const std::vector<prometheus::MetricFamily>& families) {
  MetricSample sample;
  sample.time_ns = time_ns;
  for (const prometheus::MetricFamily& family : families) {
    if (family.name == kStoreRequestsFamily) {
      for (const prometheus::ClientMetric& metric : family.metric) {
        const std::string code = LabelValue(metric, "code");
        if (!code.empty() && code[0] == '2') continue;
        sample.store_errors[{LabelValue(metric, "operation"), code}] += metric.counter.value;
      }
    } else if (IsHistogramFamily(family.name)) {
      std::map<double, double>& buckets = sample.histograms[family.name];
      for (const prometheus::ClientMetric& metric : family.metric) {
        for (const auto& bucket : metric.histogram.bucket) {
          buckets[bucket.upper_bound] += static_cast<double>(bucket.cumulative_count);
        }
      }
    }
  }
  return sample;
}

double WindowNumbers::Count(const std::string& family) const {
  auto it = histograms.find(family);
  if (it == histograms.end() || it->second.empty()) return 0;
  return it->second.rbegin()->second;  // the +Inf bucket
}

double WindowNumbers::Quantile(const std::string& family, double q) const {
  auto it = histograms.find(family);
  if (it == histograms.end() || it->second.size() < 2) return -1;
  const std::map<double, double>& buckets = it->second;
  const double total = buckets.rbegin()->second;
  if (!std::isinf(buckets.rbegin()->first) || total <= 0) return -1;
  const double rank = q * total;
  double lower = 0, below = 0;
  for (auto bucket = buckets.begin(); bucket != buckets.end(); ++bucket) {
    if (bucket->second >= rank) {
      if (std::isinf(bucket->first)) return lower;  // the highest finite bound, as Prometheus
      if (bucket == buckets.begin() && bucket->first <= 0) return bucket->first;
      const double in_bucket = bucket->second - below;
      if (in_bucket <= 0) return bucket->first;
      return lower + (bucket->first - lower) * ((rank - below) / in_bucket);
    }
    lower = bucket->first;
    below = bucket->second;
  }
  return lower;
}

Json LatencySummary(int64_t start_ns, const std::vector<prometheus::MetricFamily>& families) {
  WindowNumbers numbers;  // since start: the cumulative buckets are the window's
  numbers.histograms = SampleOf(0, families).histograms;
  Json out = Json::object();
  out["since"] = FormatRfc3339Nanos(start_ns);
  const std::pair<const char*, const char*> kFamilies[] = {
      {"create_to_visible_seconds", kCreateToVisibleFamily},
      {"client_gap_seconds", kClientGapFamily},
      {"unsafe_window_seconds", kUnsafeWindowFamily}};
  for (const auto& [key, family] : kFamilies) {
    Json summary = Json::object();
    summary["count"] = static_cast<long long>(numbers.Count(family));
    for (const auto& [name, q] : {std::pair{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}}) {
      const double value = numbers.Quantile(family, q);
      // Microseconds, as the text API's six decimals were.
      summary[name] = value < 0 ? Json(nullptr) : JsonNumber(std::round(value * 1e6) / 1e6);
    }
    out[key] = std::move(summary);
  }
  return out;
}

void MetricHistory::Add(MetricSample sample) {
  if (!samples_.empty() && sample.time_ns < samples_.back().time_ns) return;  // clock stepped
  samples_.push_back(std::move(sample));
  if (samples_.size() <= max_samples_) return;
  // Thin the older half: keep its first sample and every other one after it.
  const size_t half = samples_.size() / 2;
  std::deque<MetricSample> kept;
  for (size_t i = 0; i < samples_.size(); ++i) {
    if (i >= half || i % 2 == 0) kept.push_back(std::move(samples_[i]));
  }
  samples_ = std::move(kept);
}

WindowNumbers MetricHistory::Window(int64_t from_ns, const MetricSample& current) const {
  static const MetricSample kZero;
  const MetricSample* baseline = nullptr;
  for (auto it = samples_.rbegin(); it != samples_.rend(); ++it) {
    if (it->time_ns <= from_ns) {
      baseline = &*it;
      break;
    }
  }
  WindowNumbers out;
  out.to_ns = current.time_ns;
  if (baseline == nullptr) {
    // No snapshot that old: every counter was 0 when the daemon started, so the numbers are
    // since start_ns (the enricher snapshots at start, so this happens only for older windows).
    baseline = &kZero;
    out.from_ns = start_ns_;
  } else {
    out.from_ns = baseline->time_ns;
  }
  for (const auto& [key, value] : current.store_errors) {
    auto before = baseline->store_errors.find(key);
    const double delta = value - (before != baseline->store_errors.end() ? before->second : 0);
    if (delta > 0) out.store_errors.emplace_back(key.first + " " + key.second, delta);
  }
  std::stable_sort(out.store_errors.begin(), out.store_errors.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [family, buckets] : current.histograms) {
    auto before = baseline->histograms.find(family);
    std::map<double, double>& window = out.histograms[family];
    for (const auto& [bound, count] : buckets) {
      double old = 0;
      if (before != baseline->histograms.end()) {
        auto b = before->second.find(bound);
        if (b != before->second.end()) old = b->second;
      }
      window[bound] = std::max(0.0, count - old);
    }
  }
  return out;
}

}  // namespace rrca::enricher
