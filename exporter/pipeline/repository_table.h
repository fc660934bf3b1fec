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

namespace rrca::pipeline {

struct RepositoryRewrite {
  std::string pattern;      // RE2, searched in the repository name
  std::string replacement;  // RE2 rewrite string (\1 ...)
};

// Interns repository names into small ids for label values, under a cap: log-derived labels are
// attacker- and CI-controlled. A name is first validated (Docker Distribution's grammar: at most
// 255 bytes of path components `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*` joined by '/'; anything
// else becomes "__invalid__" and is counted), then rewritten by the configured rules, then given
// an id while fewer than `cap` names are tracked; later names fold into "__other__" and are
// counted. Ids are never expired (an expired counter would look like a reset).
//
// Memory is bounded whatever the input: at most `cap` names of at most 255 bytes (plus what a
// rewrite adds), and a cache of raw names (cap * 4 + 1024 entries) that keeps only names of at
// most kMaxNameBytes -- a megabyte-long name is resolved to "__invalid__" and forgotten.
// Owned by the processing thread; tracked()/folded()/invalid() may be read from any thread.
class RepositoryTable {
 public:
  static constexpr std::string_view kOther = "__other__";
  static constexpr std::string_view kInvalid = "__invalid__";
  static constexpr size_t kMaxNameBytes = 255;  // reference.NameTotalLengthMax

  RepositoryTable(size_t cap, const std::vector<RepositoryRewrite>& rewrites);
  ~RepositoryTable();

  uint32_t Intern(std::string_view raw);
  const std::string& Name(uint32_t id) const { return names_[id]; }

  size_t tracked() const { return tracked_.load(std::memory_order_relaxed); }
  uint64_t folded() const { return folded_.load(std::memory_order_relaxed); }
  // Interns that gave "__invalid__" (each one counts, as folded() does for "__other__").
  uint64_t invalid() const { return invalid_.load(std::memory_order_relaxed); }
  size_t cap() const { return cap_; }
  // The bytes the table holds for names (the strings of both maps and the id list, with their
  // nodes): what a flood of names can make it keep. For tests and the bounds checks; O(size).
  size_t bytes_held() const;

  // Docker Distribution's repository-name grammar (without a registry host), at most
  // kMaxNameBytes.
  static bool IsValidName(std::string_view name);

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
  std::atomic<uint64_t> invalid_{0};
};

}  // namespace rrca::pipeline
