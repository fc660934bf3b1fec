#include "exporter/metrics/source_metrics.h"

#include <array>

namespace rrca::metrics {
namespace {

// The `kind` label of registry_rca_rotations_total, in the order Publish reads them.
constexpr std::array<const char*, 5> kTransitionKinds = {"rename", "truncate", "delete", "replace",
                                                         "permission_denied"};

// The tailers' totals are monotonic; a counter takes what is new since the last look.
void Advance(prometheus::Counter* counter, uint64_t total) {
  const double delta = static_cast<double>(total) - counter->Value();
  if (delta > 0) counter->Increment(delta);
}

}  // namespace

SourceMetrics::SourceMetrics(prometheus::Registry& registry,
                             const std::vector<std::string>& sources) {
  auto& bytes = prometheus::BuildCounter()
                    .Name("registry_rca_bytes_read_total")
                    .Help("Bytes read from the source's files.")
                    .Register(registry);
  auto& transitions = prometheus::BuildCounter()
                          .Name("registry_rca_rotations_total")
                          .Help(
                              "File transitions seen, by kind (rename, truncate, delete, "
                              "replace, permission_denied).")
                          .Register(registry);
  auto& open = prometheus::BuildGauge()
                   .Name("registry_rca_files_open")
                   .Help("Files of the source open now, rotated ones still drained included.")
                   .Register(registry);
  auto& lag = prometheus::BuildGauge()
                  .Name("registry_rca_source_lag_bytes")
                  .Help("Bytes written to the source's files not read yet.")
                  .Register(registry);
  auto& up = prometheus::BuildGauge()
                 .Name("registry_rca_source_up")
                 .Help("1 when at least one path of the source is open and readable.")
                 .Register(registry);
  for (const std::string& name : sources) {
    Source source;
    source.bytes = &bytes.Add({{"source", name}});
    for (const char* kind : kTransitionKinds) {
      source.transitions.push_back(&transitions.Add({{"source", name}, {"kind", kind}}));
    }
    source.open = &open.Add({{"source", name}});
    source.lag = &lag.Add({{"source", name}});
    source.up = &up.Add({{"source", name}});
    sources_.push_back(source);
  }
  positions_failures_ = &prometheus::BuildCounter()
                             .Name("registry_rca_positions_write_failures_total")
                             .Help("Positions-file writes that failed.")
                             .Register(registry)
                             .Add({});
}

void SourceMetrics::Publish(size_t index, const tailers::SourceStats& stats) {
  Source& source = sources_.at(index);
  Advance(source.bytes, stats.bytes_read.load());
  const std::array<uint64_t, kTransitionKinds.size()> totals = {
      stats.rotations.load(), stats.truncations.load(), stats.deletions.load(),
      stats.replacements.load(), stats.permission_denied.load()};
  for (size_t k = 0; k < totals.size(); ++k) Advance(source.transitions[k], totals[k]);
  source.open->Set(static_cast<double>(stats.files_open.load()));
  source.lag->Set(static_cast<double>(stats.lag_bytes.load()));
  source.up->Set(stats.up.load() ? 1 : 0);
}

void SourceMetrics::PublishPositionsWriteFailures(uint64_t total) {
  Advance(positions_failures_, total);
}

}  // namespace rrca::metrics
