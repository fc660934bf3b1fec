#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tailers/follow/tail_types.h"

namespace rrca::metrics {

// The file-reading families, per source: bytes read, file transitions by kind, files open, the
// unread lag, whether the source is up, and the positions file's write failures. The tailers
// count in atomics on their own threads (tailers::SourceStats); Publish mirrors those totals
// into these families. Declared at construction, one series per source, none ever removed.
// Not thread-safe: the daemon's processing thread publishes.
class SourceMetrics {
 public:
  SourceMetrics(prometheus::Registry& registry, const std::vector<std::string>& sources);

  // The source at `index` (the order given at construction) has counted `stats` so far.
  void Publish(size_t index, const tailers::SourceStats& stats);
  void PublishPositionsWriteFailures(uint64_t total);

 private:
  struct Source {
    prometheus::Counter* bytes = nullptr;
    std::vector<prometheus::Counter*> transitions;  // in the order of kTransitionKinds
    prometheus::Gauge* open = nullptr;
    prometheus::Gauge* lag = nullptr;
    prometheus::Gauge* up = nullptr;
  };
  std::vector<Source> sources_;
  prometheus::Counter* positions_failures_ = nullptr;
};

}  // namespace rrca::metrics
