#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/string_hash.h"

namespace rrca::metrics {

// Small integer ids for label values (causes, rules, buckets, outcomes...), so the metric caches
// on the per-line path are keyed by integers instead of strings concatenated per call. A lookup
// of a known value hashes the view and allocates nothing. Ids are dense from 0 and never reused.
// Not thread-safe: owned by the processing thread like the caches that use it.
class LabelInterner {
 public:
  uint32_t Intern(std::string_view text) {
    if (auto found = ids_.find(text); found != ids_.end()) return found->second;
    const auto id = static_cast<uint32_t>(names_.size());
    // Node-based map: the key's address is stable, so names_ can point at it.
    names_.push_back(&ids_.emplace(std::string(text), id).first->first);
    return id;
  }
  const std::string& Name(uint32_t id) const { return *names_[id]; }
  size_t size() const { return names_.size(); }

 private:
  using Hash = StringViewHash;
  using Equal = StringViewEqual;

  std::unordered_map<std::string, uint32_t, Hash, Equal> ids_;
  std::vector<const std::string*> names_;
};

// Two 32-bit ids as one cache key.
inline uint64_t PairKey(uint32_t high, uint32_t low) {
  return (static_cast<uint64_t>(high) << 32) | low;
}

}  // namespace rrca::metrics
