#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

#include "exporter/enricher/enricher_content.h"
#include "exporter/metrics/enricher_metrics.h"

namespace rrca::enricher {

struct DedupeCacheLimits {
  size_t max_groups = 256;      // group keys
  size_t max_per_group = 64;    // alert enrichments (fingerprints) per group key
  size_t max_bytes = 16 << 20;  // all enrichments, estimated (keys and serialized detail)
};

// The alert enricher's burst dedupe: within `window_ns` of a group key's first enrichment, the
// enrichment of an alert (by fingerprint) is reused. Group keys and fingerprints come from
// whoever can POST to /api/v1/alerts, so everything is bounded: past
// max_groups the oldest group goes, past max_per_group the group's oldest alert, past max_bytes
// the oldest other groups and then this group's oldest alerts. Every eviction before the window
// ended is counted by reason (registry_rca_enricher_dedupe_cache_evictions_total); sizes are
// gauges. Not thread-safe: the enricher's worker owns it.
class DedupeCache {
 public:
  // `metrics`: the cache's families (exporter/metrics/enricher_metrics.h); must outlive it.
  DedupeCache(DedupeCacheLimits limits, int64_t window_ns, metrics::DedupeCacheMetrics& metrics);

  // Opens the group's window at `now_ns` unless one is open (evicting a group when full).
  void Open(const std::string& group_key, int64_t now_ns);
  // The cached enrichment of an alert of an open group, or null.
  const AlertEnrichment* Find(const std::string& group_key, const std::string& fingerprint) const;
  // Caches an alert's enrichment in an open group (evicting what the bounds require).
  void Put(const std::string& group_key, const std::string& fingerprint,
           const AlertEnrichment& enrichment);

  size_t groups() const { return groups_.size(); }
  size_t alerts() const { return alerts_; }
  size_t bytes() const { return bytes_; }

 private:
  using Reason = metrics::DedupeCacheMetrics::Eviction;
  struct Entry {
    AlertEnrichment enrichment;
    size_t bytes = 0;
  };
  struct Group {
    int64_t created_ns = 0;
    std::unordered_map<std::string, Entry> alerts;  // by fingerprint
    std::deque<std::string> order;                  // fingerprints, oldest first
    size_t bytes = 0;
  };
  using Groups = std::unordered_map<std::string, Group>;

  void Drop(Groups::iterator group, Reason reason, bool counted);
  void DropOldest(Group* group, Reason reason);
  Groups::iterator Oldest(const Group* except);
  void Publish();

  const DedupeCacheLimits limits_;
  const int64_t window_ns_;
  Groups groups_;
  size_t alerts_ = 0;
  size_t bytes_ = 0;
  metrics::DedupeCacheMetrics& metrics_;
};

}  // namespace rrca::enricher
