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

namespace rrca::exporter {

// The active prober's families (labels probe="registry"|"store", target=<probe name>):
//   registry_rca_probe_visibility_seconds          histogram, per run that saw the upload visible
//   registry_rca_probe_last_visibility_seconds     gauge, the last such run's
//   registry_rca_probe_success                     gauge, 1/0 for the last run (absent before)
//   registry_rca_probe_failures_total{reason}      counter, every reason pre-created at 0
//   registry_rca_probe_duration_seconds            histogram, every run, cleanup included
// Declared once for the configured probes; Record is called by the prober's thread only.
// prometheus-cpp's metrics are atomic, so a scrape's Collect may run at the same time.
class ProbeMetrics {
 public:
  ProbeMetrics(prometheus::Registry& registry, const std::vector<prober::ProbeConfig>& probes);
  // `index`: the probe's position in the list given to the constructor.
  void Record(size_t index, const prober::ProbeResult& result);

 private:
  struct Series {
    prometheus::Histogram* visibility = nullptr;
    prometheus::Gauge* last_visibility = nullptr;
    prometheus::Family<prometheus::Gauge>* success_family = nullptr;
    prometheus::Gauge* success = nullptr;  // added at the first run
    std::map<std::string, std::string> labels;
    std::array<prometheus::Counter*, static_cast<size_t>(prober::FailReason::kCount)> failures{};
    prometheus::Histogram* duration = nullptr;
  };
  std::vector<Series> series_;
};

}  // namespace rrca::exporter
