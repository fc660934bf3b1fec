#include "exporter/enricher/enricher_cache.h"

#include <algorithm>

namespace rrca::enricher {
namespace {

// What a cached enrichment costs, roughly: its keys (the fingerprint twice: map and order) and
// its serialized detail, twice (the tree takes more than its text).
size_t CostOf(const std::string& group_key, const std::string& fingerprint,
              const AlertEnrichment& enrichment) {
  size_t bytes = group_key.size() + 2 * fingerprint.size() + 256;
  for (const auto& [key, value] : enrichment.annotations) bytes += key.size() + value.size() + 64;
  return bytes + 2 * DumpJson(enrichment.detail).size();
}

}  // namespace

DedupeCache::DedupeCache(DedupeCacheLimits limits, int64_t window_ns,
                         metrics::DedupeCacheMetrics& metrics)
    : limits_(limits), window_ns_(window_ns), metrics_(metrics) {}

void DedupeCache::Drop(Groups::iterator group, Reason reason, bool counted) {
  if (counted)
    metrics_.evictions[reason]->Increment(static_cast<double>(group->second.alerts.size()));
  bytes_ -= group->second.bytes;
  alerts_ -= group->second.alerts.size();
  groups_.erase(group);
}

void DedupeCache::DropOldest(Group* group, Reason reason) {
  const auto found = group->alerts.find(group->order.front());
  group->order.pop_front();
  if (found == group->alerts.end()) return;  // replaced since: already accounted for
  group->bytes -= found->second.bytes;
  bytes_ -= found->second.bytes;
  --alerts_;
  group->alerts.erase(found);
  metrics_.evictions[reason]->Increment();
}

DedupeCache::Groups::iterator DedupeCache::Oldest(const Group* except) {
  auto oldest = groups_.end();
  for (auto it = groups_.begin(); it != groups_.end(); ++it) {
    if (&it->second == except) continue;
    if (oldest == groups_.end() || it->second.created_ns < oldest->second.created_ns) oldest = it;
  }
  return oldest;
}

void DedupeCache::Publish() {
  metrics_.groups.Set(static_cast<double>(groups_.size()));
  metrics_.alerts.Set(static_cast<double>(alerts_));
  metrics_.bytes.Set(static_cast<double>(bytes_));
}

void DedupeCache::Open(const std::string& group_key, int64_t now_ns) {
  auto found = groups_.find(group_key);
  if (found != groups_.end() && now_ns - found->second.created_ns >= window_ns_) {
    Drop(found, metrics::DedupeCacheMetrics::kGroups, /*counted=*/false);  // its window is over
    found = groups_.end();
  }
  if (found != groups_.end()) return;
  if (groups_.size() >= limits_.max_groups) {
    std::erase_if(groups_, [&](const auto& entry) {  // expired ones first, not counted
      if (now_ns - entry.second.created_ns < window_ns_) return false;
      bytes_ -= entry.second.bytes;
      alerts_ -= entry.second.alerts.size();
      return true;
    });
    while (!groups_.empty() && groups_.size() >= limits_.max_groups) {
      Drop(Oldest(nullptr), metrics::DedupeCacheMetrics::kGroups, /*counted=*/true);
    }
  }
  if (limits_.max_groups > 0) groups_[group_key].created_ns = now_ns;
  Publish();
}

const AlertEnrichment* DedupeCache::Find(const std::string& group_key,
                                         const std::string& fingerprint) const {
  const auto group = groups_.find(group_key);
  if (group == groups_.end()) return nullptr;
  const auto entry = group->second.alerts.find(fingerprint);
  return entry != group->second.alerts.end() ? &entry->second.enrichment : nullptr;
}

void DedupeCache::Put(const std::string& group_key, const std::string& fingerprint,
                      const AlertEnrichment& enrichment) {
  const auto found = groups_.find(group_key);
  if (found == groups_.end() || limits_.max_per_group == 0) return;
  Group* group = &found->second;
  if (group->alerts.contains(fingerprint)) return;
  const size_t bytes = CostOf(group_key, fingerprint, enrichment);
  if (bytes > limits_.max_bytes) {  // would not fit even alone
    metrics_.evictions[metrics::DedupeCacheMetrics::kBytes]->Increment();
    return;
  }
  while (group->alerts.size() >= limits_.max_per_group)
    DropOldest(group, metrics::DedupeCacheMetrics::kPerGroup);
  // Room: other groups first, oldest first; then this group's oldest alerts.
  while (bytes_ + bytes > limits_.max_bytes) {
    if (auto oldest = Oldest(group); oldest != groups_.end()) {
      Drop(oldest, metrics::DedupeCacheMetrics::kBytes, /*counted=*/true);
    } else if (!group->order.empty()) {
      DropOldest(group, metrics::DedupeCacheMetrics::kBytes);
    } else {
      break;
    }
  }
  group->alerts.emplace(fingerprint, Entry{enrichment, bytes});
  group->order.push_back(fingerprint);
  group->bytes += bytes;
  bytes_ += bytes;
  ++alerts_;
  Publish();
}

}  // namespace rrca::enricher
