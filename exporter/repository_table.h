#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/string_hash.h"

namespace re2 {
class RE2;
}

namespace rrca::exporter {

struct RepositoryRewrite {
  std::string pattern;      // RE2, searched in the repository name
  std::string replacement;  // RE2 rewrite string (\1 ...)
};

// Interns repository names into small ids for label values, under a cap: log-derived labels are
// attacker- and CI-controlled. A name is first validated (the registry's own grammar, at most
// 255 bytes; anything else becomes "__invalid__"), then rewritten by the configured rules, then
// given an id while fewer than `cap` names are tracked; later names fold into "__other__" and
// are counted. Ids are never expired (an expired counter would look like a reset).
// Owned by the processing thread; tracked()/folded() may be read from any thread.
class RepositoryTable {
 public:
  static constexpr std::string_view kOther = "__other__";
  static constexpr std::string_view kInvalid = "__invalid__";

  RepositoryTable(size_t cap, const std::vector<RepositoryRewrite>& rewrites);
  ~RepositoryTable();

  uint32_t Intern(std::string_view raw);
  const std::string& Name(uint32_t id) const { return names_[id]; }

  size_t tracked() const { return tracked_.load(std::memory_order_relaxed); }
  uint64_t folded() const { return folded_.load(std::memory_order_relaxed); }
  size_t cap() const { return cap_; }

  // Validates rewrite patterns; returns an error per bad pattern.
  static std::vector<std::string> CheckRewrites(const std::vector<RepositoryRewrite>& rewrites);

 private:
  using Hash = StringViewHash;
  using Equal = StringViewEqual;

  uint32_t Resolve(std::string_view raw);

  size_t cap_;
  std::vector<std::pair<std::unique_ptr<re2::RE2>, std::string>> rewrites_;
  std::vector<std::string> names_;  // by id; 0 = "", 1 = __other__, 2 = __invalid__
  std::unordered_map<std::string, uint32_t, Hash, Equal> ids_;        // final name -> id
  std::unordered_map<std::string, uint32_t, Hash, Equal> raw_cache_;  // raw name -> id
  std::atomic<size_t> tracked_{0};
  std::atomic<uint64_t> folded_{0};
};

}  // namespace rrca::exporter
