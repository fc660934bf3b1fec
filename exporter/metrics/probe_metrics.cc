#include "exporter/metrics/probe_metrics.h"

namespace rrca::metrics {
namespace {

// Visibility lag after the acknowledgement: milliseconds on a healthy store, the incident's
// 2.2 s, up to a probe's timeout.
const prometheus::Histogram::BucketBoundaries kBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                          1.5,  2,     3,    5,   10,   30};

}  // namespace

void ProbeMetrics::DeclareFamilies() {
  if (visibility_ != nullptr) return;
  visibility_ =
      &prometheus::BuildHistogram()
           .Name("registry_rca_probe_visibility_seconds")
           .Help(
               "Active probe: seconds from the create request (registry: the POST to "
               "/blobs/uploads/; store: CreateMultipartUpload) until the upload was seen visible "
               "(the GET of its status answered 204; ListMultipartUploads listed it): halfway "
               "between the last check that did not see it and the first that did. Every run "
               "that saw the upload visible.")
           .Register(registry_);
  last_ = &prometheus::BuildGauge()
               .Name("registry_rca_probe_last_visibility_seconds")
               .Help("Active probe: the visibility lag of the last run that measured one.")
               .Register(registry_);
  success_ = &prometheus::BuildGauge()
                  .Name("registry_rca_probe_success")
                  .Help(
                      "Active probe: 1 when the last run measured visibility and cleaned "
                      "up, else 0.")
                  .Register(registry_);
  failures_ = &prometheus::BuildCounter()
                   .Name("registry_rca_probe_failures_total")
                   .Help(
                       "Active probe: failed runs by reason (config, auth, create, "
                       "not_visible, status, answer, network, cleanup).")
                   .Register(registry_);
  duration_ = &prometheus::BuildHistogram()
                   .Name("registry_rca_probe_duration_seconds")
                   .Help("Active probe: how long a whole run took, cleanup included.")
                   .Register(registry_);
}

ProbeMetrics::Series ProbeMetrics::Add(const prober::ProbeConfig& probe) {
  Series s;
  s.labels = {{"probe", std::string(prober::KindName(probe.kind))}, {"target", probe.name}};
  s.visibility = &visibility_->Add(s.labels, kBuckets);
  s.last_visibility = &last_->Add(s.labels);
  for (const prober::FailReason reason : prober::kFailReasons) {
    if (reason == prober::FailReason::kStopped) continue;  // a stop is not the target's failure
    auto labels = s.labels;
    labels["reason"] = std::string(prober::FailReasonName(reason));
    s.failures[static_cast<size_t>(reason)] = &failures_->Add(labels);
  }
  s.duration = &duration_->Add(s.labels, kBuckets);
  return s;
}

void ProbeMetrics::Remove(Series& s) {
  visibility_->Remove(s.visibility);
  last_->Remove(s.last_visibility);
  if (s.success != nullptr) success_->Remove(s.success);
  for (prometheus::Counter* counter : s.failures) {
    if (counter != nullptr) failures_->Remove(counter);
  }
  duration_->Remove(s.duration);
}

void ProbeMetrics::Configure(const std::vector<prober::ProbeConfig>& probes) {
  if (!probes.empty()) DeclareFamilies();
  std::map<std::pair<std::string, std::string>, Series> kept;
  order_.clear();
  for (const prober::ProbeConfig& probe : probes) {
    std::pair<std::string, std::string> key{std::string(prober::KindName(probe.kind)), probe.name};
    auto old = series_.find(key);
    auto at = kept.find(key);  // the config refuses duplicates; one series each all the same
    if (at == kept.end()) {
      at = kept.emplace(key, old != series_.end() ? std::move(old->second) : Add(probe)).first;
      if (old != series_.end()) series_.erase(old);
    }
    order_.push_back(&at->second);  // std::map nodes do not move
  }
  for (auto& [key, removed] : series_) Remove(removed);
  series_ = std::move(kept);
}

void ProbeMetrics::Record(size_t index, const prober::ProbeResult& result) {
  if (index >= order_.size() || result.reason == prober::FailReason::kStopped) return;
  Series& s = *order_[index];
  if (s.success == nullptr) s.success = &success_->Add(s.labels);
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

}  // namespace rrca::metrics
