#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <string>

namespace rrca::metrics {

// The burst-dedupe cache's families (exporter/enricher/enricher_cache.h): its size, and the
// enrichments evicted before their window ended by the bound reached.
struct DedupeCacheMetrics {
  explicit DedupeCacheMetrics(prometheus::Registry& registry);

  enum Eviction { kGroups, kPerGroup, kBytes };  // the `reason` label's values, in this order
  prometheus::Gauge& groups;
  prometheus::Gauge& alerts;
  prometheus::Gauge& bytes;
  std::array<prometheus::Counter*, 3> evictions{};
};

// The alert enricher's families (exporter/enricher/enricher.h): notifications by what became of
// them, its queue, deliveries per downstream, alerts left unenriched by a bound, and the dedupe
// cache. Declared at construction; the per-downstream series when a downstream is added. Series
// are prometheus-cpp's (thread-safe): the HTTP handlers and the enricher's worker add at once.
class EnricherMetrics {
 public:
  explicit EnricherMetrics(prometheus::Registry& registry);

  // A downstream webhook's series, labelled with its URL without credentials.
  struct Downstream {
    prometheus::Counter* delivered = nullptr;
    prometheus::Counter* failed = nullptr;
    prometheus::Counter* retries = nullptr;
  };
  Downstream AddDownstream(const std::string& redacted_url);

  enum NotEnriched { kAlertsPerNotification, kAnnotationsPerAlert };  // the `reason` label

  // Declared in the order they are registered, which is the order /metrics lists them in.
  DedupeCacheMetrics cache;
  prometheus::Counter& received;
  prometheus::Counter& rejected;
  prometheus::Counter& dropped;
  prometheus::Counter& enriched;
  prometheus::Counter& deduplicated;
  prometheus::Counter& failures;
  prometheus::Gauge& queue_length;
  prometheus::Gauge& queue_bytes;
  prometheus::Histogram& delivery_seconds;

 private:
  prometheus::Family<prometheus::Counter>& not_enriched_;
  prometheus::Family<prometheus::Counter>& forwarded_;
  prometheus::Family<prometheus::Counter>& forward_failures_;
  prometheus::Family<prometheus::Counter>& forward_retries_;

 public:
  std::array<prometheus::Counter*, 2> not_enriched{};  // by NotEnriched
};

}  // namespace rrca::metrics
