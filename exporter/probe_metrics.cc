#include "exporter/probe_metrics.h"

namespace rrca::exporter {
namespace {

// Visibility lag after the acknowledgement: milliseconds on a healthy store, the incident's
// 2.2 s, up to a probe's timeout.
const prometheus::Histogram::BucketBoundaries kBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                          1.5,  2,     3,    5,   10,   30};

}  // namespace

ProbeMetrics::ProbeMetrics(prometheus::Registry& registry,
                           const std::vector<prober::ProbeConfig>& probes) {
  if (probes.empty()) return;  // no prober: no probe families
  auto& visibility =
      prometheus::BuildHistogram()
          .Name("registry_rca_probe_visibility_seconds")
          .Help(
              "Active probe: seconds from the create request (registry: the POST to "
              "/blobs/uploads/; store: CreateMultipartUpload) until the upload was seen visible "
              "(the GET of its status answered 204; ListMultipartUploads listed it): halfway "
              "between the last check that did not see it and the first that did. Every run "
              "that saw the upload visible.")
          .Register(registry);
  auto& last = prometheus::BuildGauge()
                   .Name("registry_rca_probe_last_visibility_seconds")
                   .Help("Active probe: the visibility lag of the last run that measured one.")
                   .Register(registry);
  auto& success = prometheus::BuildGauge()
                      .Name("registry_rca_probe_success")
                      .Help(
                          "Active probe: 1 when the last run measured visibility and cleaned "
                          "up, else 0.")
                      .Register(registry);
  auto& failures = prometheus::BuildCounter()
                       .Name("registry_rca_probe_failures_total")
                       .Help(
                           "Active probe: failed runs by reason (config, auth, create, "
                           "not_visible, status, answer, network, cleanup).")
                       .Register(registry);
  auto& duration = prometheus::BuildHistogram()
                       .Name("registry_rca_probe_duration_seconds")
                       .Help("Active probe: how long a whole run took, cleanup included.")
                       .Register(registry);
  for (const prober::ProbeConfig& probe : probes) {
    Series s;
    s.labels = {{"probe", std::string(prober::KindName(probe.kind))}, {"target", probe.name}};
    s.visibility = &visibility.Add(s.labels, kBuckets);
    s.last_visibility = &last.Add(s.labels);
    s.success_family = &success;
    for (const prober::FailReason reason : prober::kFailReasons) {
      if (reason == prober::FailReason::kStopped) continue;  // a stop is not the target's failure
      auto labels = s.labels;
      labels["reason"] = std::string(prober::FailReasonName(reason));
      s.failures[static_cast<size_t>(reason)] = &failures.Add(labels);
    }
    s.duration = &duration.Add(s.labels, kBuckets);
    series_.push_back(std::move(s));
  }
}

void ProbeMetrics::Record(size_t index, const prober::ProbeResult& result) {
  if (index >= series_.size() || result.reason == prober::FailReason::kStopped) return;
  Series& s = series_[index];
  if (s.success == nullptr) s.success = &s.success_family->Add(s.labels);
  s.success->Set(result.ok() ? 1 : 0);
  // A run whose cleanup failed still measured the visibility: it counts, and so does the failure.
  if (result.measured) {
    s.visibility->Observe(result.visibility_seconds);
    s.last_visibility->Set(result.visibility_seconds);
  }
  if (prometheus::Counter* failed = s.failures[static_cast<size_t>(result.reason)]) {
    failed->Increment();
  }
  s.duration->Observe(result.duration_seconds);
}

}  // namespace rrca::exporter
