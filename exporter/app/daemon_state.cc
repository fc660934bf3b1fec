#include "exporter/app/daemon_state.h"

#include <chrono>
#include <thread>

#include "exporter/pipeline/correlator.h"
#include "exporter/pipeline/hop_joiner_explain.h"

namespace rrca::app {

DaemonState::DaemonState(Config config_in, std::shared_ptr<const rules::RuleSet> rules,
                         int syslog_year)
    : config(std::move(config_in)),
      registry(std::make_shared<prometheus::Registry>()),
      started_ns(WallNowNs()),
      metrics(registry),
      pipeline(app::PipelineOptionsFrom(config, syslog_year), std::move(rules), &metrics),
      positions(config.positions_file) {
  pipeline.AddObserver(&recent_errors);
}

std::vector<std::string> DaemonState::SourceNames() const {
  std::vector<std::string> names;
  for (const SourceConfig& source : config.sources) names.push_back(source.name);
  return names;
}

pipeline::Pipeline::StreamId DaemonState::StreamFor(size_t source_index, tailers::FileKey file) {
  const auto key = std::make_pair(source_index, file);
  auto stream = streams.find(key);
  if (stream == streams.end()) {
    const SourceConfig& source = config.sources[source_index];
    const pipeline::Pipeline::StreamKind kind = pipeline::Pipeline::StreamKindOf(source.type);
    stream = streams.emplace(key, pipeline.OpenStream(source.name, source.envelope, kind)).first;
  }
  return stream->second;
}

// With the processing lock held: copies only.
rrca::pipeline::CarryOver DaemonState::TakeCarryOver() const {
  std::vector<pipeline::OpenFileStream> open;
  for (const auto& [key, stream] : streams) open.push_back({key.first, key.second, stream});
  return rrca::pipeline::TakeCarryOver(pipeline, open, SourceNames());
}

// GET /api/v1/uploads/<uuid>'s answer: the correlator's explain with the responses the hops in
// front gave to the upload's requests ("hops", exporter/pipeline/hop_joiner_explain.h). Under
// mutex.
std::optional<Json> DaemonState::ExplainLocked(std::string_view uuid) const {
  std::optional<Json> explain = pipeline.correlator().Explain(uuid);
  if (explain.has_value())
    pipeline::AddHops(uuid, pipeline.hop_joiner(), pipeline.rules(), &*explain);
  return explain;
}

// std::mutex is not fair: while ingesting, this loop re-takes the lock as soon as it lets it
// go, and a woken scrape lost that race chunk after chunk (tens of ms at full speed on two
// busy cores). A waiting scrape goes first; it holds the lock for well under a millisecond.
// At most 5 ms of yielding per chunk, so that a flood of scrapes cannot stop the reading.
void DaemonState::LetScrapesIn() const {
  for (int i = 0; i < 100 && scrapes_waiting.load(std::memory_order_relaxed) > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

}  // namespace rrca::app
