// The families of the hops in front of the registry (exporter/pipeline/hop_joiner.h): declared with
// the others in Metrics (registry_rca_hop_errors_total is an exposition-store family like
// registry_rca_errors_total), kept here so metrics.cc stays about the registry's own counts.
#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "exporter/metrics/metrics.h"

namespace rrca::metrics {

void Metrics::CountHopError(Hop hop, uint32_t repository_id, std::string_view repository,
                            Operation operation, int status, std::string_view cause,
                            std::string_view rule) {
  const uint32_t cause_id = causes_.Intern(cause);
  ExpositionStore::Series& series = hop_error_cache_[static_cast<size_t>(hop)][ErrorKey{
      ResponseKey(repository_id, operation, status), cause_id}];
  if (!series.valid()) {
    series = store_.AddSeries(hop_errors_, {{"hop", HopName(hop)},
                                            {"repository", repository},
                                            {"operation", OperationName(operation)},
                                            {"code", CodeLabel(status)},
                                            {"cause", cause}});
  }
  store_.Increment(series);
  CountRuleHit(rule, cause_id, cause);
}

void Metrics::DeclareHopCauses(const std::vector<std::pair<Hop, std::string>>& causes) {
  for (const auto& [hop, cause] : causes) {
    store_.AddSeries(hop_errors_, {{"hop", HopName(hop)},
                                   {"repository", ""},
                                   {"operation", ""},
                                   {"code", ""},
                                   {"cause", cause}});
  }
}

void Metrics::SetHopJoin(std::string_view outcome, uint64_t total) {
  if (hop_joins_ == nullptr) {
    hop_joins_ = &prometheus::BuildCounter()
                      .Name("registry_rca_hop_joins_total")
                      .Help(
                          "Responses of the hops in front of the registry, by how the cross-hop "
                          "join decided them: counted (at the hop), relayed (the registry "
                          "logged the client's status), registry_first, superseded (registry "
                          "errors not counted: the hop answered the client otherwise), "
                          "lines_merged, core_attached, pending_forced and index_evicted "
                          "(bounds reached).")
                      .Register(*registry_);
  }
  auto& [counter, published] = hop_joins_published_[std::string(outcome)];
  if (counter == nullptr) counter = &hop_joins_->Add({{"outcome", std::string(outcome)}});
  if (total > published) counter->Increment(static_cast<double>(total - published));
  published = total;
}

void Metrics::SetHopPending(size_t pending) {
  if (hop_pending_ == nullptr) {
    hop_pending_ = &prometheus::BuildGauge()
                        .Name("registry_rca_hop_join_pending")
                        .Help(
                            "Responses of the hops in front of the registry waiting for the "
                            "registry's response of the same request.")
                        .Register(*registry_)
                        .Add({});
  }
  hop_pending_->Set(static_cast<double>(pending));
}

}  // namespace rrca::metrics
