#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <map>
#include <string>
#include <vector>

#include "prober/probe_config.h"
#include "prober/probe_result.h"

namespace rrca::metrics {

// The active prober's families (labels probe="registry"|"store", target=<probe name>):
//   registry_rca_probe_visibility_seconds          histogram, per run that saw the upload visible
//   registry_rca_probe_last_visibility_seconds     gauge, the last such run's
//   registry_rca_probe_success                     gauge, 1/0 for the last run (absent before)
//   registry_rca_probe_failures_total{reason}      counter, every reason pre-created at 0
//   registry_rca_probe_duration_seconds            histogram, every run, cleanup included
// The families are declared at the first Configure that names a probe (none: no probe
// families). Configure sets the probes that Record's index refers to: a probe kept across a
// reload (same type and name) keeps its series and values; the series of a probe no longer
// configured are removed, so that a deleted probe's last success does not stay exported for ever.
// Record is called by the prober's thread only; Configure only while no prober runs (the daemon
// stops it first). prometheus-cpp's metrics are atomic, so a scrape's Collect may run at any time.
class ProbeMetrics {
 public:
  explicit ProbeMetrics(prometheus::Registry& registry) : registry_(registry) {}
  ProbeMetrics(prometheus::Registry& registry, const std::vector<prober::ProbeConfig>& probes)
      : registry_(registry) {
    Configure(probes);
  }
  void Configure(const std::vector<prober::ProbeConfig>& probes);
  // `index`: the probe's position in the list given to the last Configure.
  void Record(size_t index, const prober::ProbeResult& result);

 private:
  struct Series {
    prometheus::Histogram* visibility = nullptr;
    prometheus::Gauge* last_visibility = nullptr;
    prometheus::Gauge* success = nullptr;  // added at the first run
    std::map<std::string, std::string> labels;
    std::array<prometheus::Counter*, static_cast<size_t>(prober::FailReason::kCount)> failures{};
    prometheus::Histogram* duration = nullptr;
  };
  void DeclareFamilies();
  Series Add(const prober::ProbeConfig& probe);
  void Remove(Series& series);

  prometheus::Registry& registry_;
  prometheus::Family<prometheus::Histogram>* visibility_ = nullptr;
  prometheus::Family<prometheus::Gauge>* last_ = nullptr;
  prometheus::Family<prometheus::Gauge>* success_ = nullptr;
  prometheus::Family<prometheus::Counter>* failures_ = nullptr;
  prometheus::Family<prometheus::Histogram>* duration_ = nullptr;
  // By (type, name): the probes configured now, in Record's index order through `order_`.
  std::map<std::pair<std::string, std::string>, Series> series_;
  std::vector<Series*> order_;
};

}  // namespace rrca::metrics
