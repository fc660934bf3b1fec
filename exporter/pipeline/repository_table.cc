#include "exporter/pipeline/repository_table.h"

#include <re2/re2.h>

namespace rrca::pipeline {
namespace {

constexpr uint32_t kEmptyId = 0;
constexpr uint32_t kOtherId = 1;
constexpr uint32_t kInvalidId = 2;

bool IsAlphaNumeric(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`, i.e. runs of letters and
// digits joined by ".", "_", "__" or any number of "-" (reference/regexp.go in Distribution).
bool IsValidComponent(std::string_view component) {
  size_t i = 0;
  while (true) {
    const size_t run = i;
    while (i < component.size() && IsAlphaNumeric(component[i])) ++i;
    if (i == run) return false;  // empty, or a separator at the start or after a separator
    if (i == component.size()) return true;
    const size_t separator = i;
    while (i < component.size() && !IsAlphaNumeric(component[i])) ++i;
    const std::string_view sep = component.substr(separator, i - separator);
    const bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (sep != "." && sep != "_" && sep != "__" && !dashes) return false;
  }
}

RE2::Options RewriteOptions() {
  RE2::Options options;
  options.set_log_errors(false);
  return options;
}

}  // namespace

RepositoryTable::RepositoryTable(size_t cap, const std::vector<RepositoryRewrite>& rewrites)
    : cap_(cap), names_{"", std::string(kOther), std::string(kInvalid)} {
  for (const RepositoryRewrite& rewrite : rewrites) {
    auto pattern = std::make_unique<RE2>(rewrite.pattern, RewriteOptions());
    if (pattern->ok()) rewrites_.emplace_back(std::move(pattern), rewrite.replacement);
  }
}

RepositoryTable::~RepositoryTable() = default;

bool RepositoryTable::IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  size_t start = 0;
  while (true) {
    const size_t slash = name.find('/', start);
    if (!IsValidComponent(name.substr(start, slash - start))) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

size_t RepositoryTable::bytes_held() const {
  // Each map node: the key string, the id, the hash and the next pointer; each string's heap
  // block when it is longer than the small-string buffer.
  constexpr size_t kNode = sizeof(std::string) + sizeof(uint32_t) + 2 * sizeof(void*);
  const auto heap = [](const std::string& s) {
    return s.capacity() > std::string().capacity() ? s.capacity() + 1 : 0;
  };
  size_t bytes = names_.capacity() * sizeof(std::string);
  for (const std::string& name : names_) bytes += heap(name);
  for (const auto* map : {&ids_, &raw_cache_}) {
    bytes += map->bucket_count() * sizeof(void*);
    for (const auto& entry : *map) bytes += kNode + heap(entry.first);
  }
  return bytes;
}

std::vector<std::string> RepositoryTable::CheckRewrites(
    const std::vector<RepositoryRewrite>& rewrites) {
  std::vector<std::string> errors;
  for (const RepositoryRewrite& rewrite : rewrites) {
    RE2 pattern(rewrite.pattern, RewriteOptions());
    std::string error;
    if (!pattern.ok()) {
      errors.push_back("invalid RE2 pattern '" + rewrite.pattern + "': " + pattern.error());
    } else if (!pattern.CheckRewriteString(rewrite.replacement, &error)) {
      errors.push_back("invalid replacement '" + rewrite.replacement + "': " + error);
    }
  }
  return errors;
}

uint32_t RepositoryTable::Intern(std::string_view raw) {
  if (raw.empty()) return kEmptyId;
  uint32_t id = kInvalidId;
  if (auto cached = raw_cache_.find(raw); cached != raw_cache_.end()) {
    id = cached->second;
  } else {
    id = Resolve(raw);
    // The cache is bounded in entries and in bytes: past its size, unseen names are resolved
    // each time (still capped); a name over kMaxNameBytes (a megabyte of log text) is never
    // kept, or cap * 4 + 1024 of them would hold gigabytes.
    if (raw.size() <= kMaxNameBytes && raw_cache_.size() < cap_ * 4 + 1024) {
      raw_cache_.emplace(std::string(raw), id);
    }
  }
  if (id == kOtherId) folded_.fetch_add(1, std::memory_order_relaxed);
  if (id == kInvalidId) invalid_.fetch_add(1, std::memory_order_relaxed);
  return id;
}

uint32_t RepositoryTable::Resolve(std::string_view raw) {
  if (!IsValidName(raw)) return kInvalidId;
  std::string name(raw);
  for (const auto& [pattern, replacement] : rewrites_) {
    if (RE2::Replace(&name, *pattern, replacement)) break;
  }
  auto found = ids_.find(name);
  if (found != ids_.end()) return found->second;
  if (ids_.size() >= cap_) return kOtherId;  // counted by Intern
  const uint32_t id = static_cast<uint32_t>(names_.size());
  names_.push_back(name);
  ids_.emplace(std::move(name), id);
  tracked_.store(ids_.size(), std::memory_order_relaxed);
  return id;
}

}  // namespace rrca::pipeline
