#pragma once

#include <prometheus/registry.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "exporter/app/config.h"
#include "exporter/app/rules_loader.h"
#include "exporter/metrics/metrics.h"
#include "exporter/pipeline/carry_over.h"
#include "exporter/pipeline/pipeline.h"
#include "exporter/pipeline/recent_errors.h"
#include "tailers/follow/positions_file.h"

namespace rrca::app {

// What the daemon's threads share (app/daemon.cc owns it): the pipeline and everything it
// writes, and the one lock that makes a scrape consistent with the saved positions.
//
// Thread-safety: `mutex` guards every member but the atomics and the two set at construction
// (config, started_ns; registry's families are prometheus-cpp's, locked inside). The processing
// thread holds it while it counts a chunk; a scrape, an API handler, a reload and the enricher's
// callbacks take it to copy what they need and render outside it.
struct DaemonState {
  DaemonState(Config config, std::shared_ptr<const rules::RuleSet> rules, int syslog_year);

  std::vector<std::string> SourceNames() const;
  // Under mutex: the pipeline's stream for a file of a source, opened on first use.
  pipeline::Pipeline::StreamId StreamFor(size_t source_index, tailers::FileKey file);
  // Under mutex: what was read but not counted yet, copied for the positions file.
  pipeline::CarryOver TakeCarryOver() const;
  // Under mutex: GET /api/v1/uploads/<uuid>'s answer, the correlator's explain with the
  // responses the hops in front gave to the upload's requests ("hops"), as a value the caller
  // owns (usable after the lock is released); nullopt for an unknown upload.
  std::optional<Json> ExplainLocked(std::string_view uuid) const;
  // Before taking mutex for a long stretch of work: lets waiting scrapes go first.
  void LetScrapesIn() const;

  const Config config;
  const std::shared_ptr<prometheus::Registry> registry;
  const int64_t started_ns;  // the metrics count from here (GET /api/v1/latency)
  metrics::Metrics metrics;
  pipeline::Pipeline pipeline;
  pipeline::RecentErrors recent_errors;  // observes the pipeline's classified errors
  tailers::PositionsFile positions;
  std::map<std::pair<size_t, tailers::FileKey>, pipeline::Pipeline::StreamId> streams;
  std::optional<pipeline::Pipeline::StreamId>
      minio_stream;  // POST /api/v1/ingest/minio-audit's stream
  std::mutex mutex;
  std::atomic<int> scrapes_waiting{0};  // scrapes blocked on mutex: see LetScrapesIn
  std::atomic<bool> ready{false};       // GET /-/ready: serving and the probes started
};

}  // namespace rrca::app
