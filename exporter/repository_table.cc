#include "exporter/repository_table.h"

#include <re2/re2.h>

namespace rrca::exporter {
namespace {

constexpr uint32_t kEmptyId = 0;
constexpr uint32_t kOtherId = 1;
constexpr uint32_t kInvalidId = 2;

// The registry's repository grammar, loosely: lower-case letters, digits and separators.
bool IsValidRepositoryName(std::string_view name) {
  if (name.size() > 255) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == '-' || c == '/';
    if (!ok) return false;
  }
  return true;
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
  auto cached = raw_cache_.find(raw);
  if (cached != raw_cache_.end()) {
    if (cached->second == kOtherId) folded_.fetch_add(1, std::memory_order_relaxed);
    return cached->second;
  }
  const uint32_t id = Resolve(raw);
  // The cache is bounded too: past it, unseen names are resolved each time (still capped).
  if (raw_cache_.size() < cap_ * 4 + 1024) raw_cache_.emplace(std::string(raw), id);
  return id;
}

uint32_t RepositoryTable::Resolve(std::string_view raw) {
  if (!IsValidRepositoryName(raw)) return kInvalidId;
  std::string name(raw);
  for (const auto& [pattern, replacement] : rewrites_) {
    if (RE2::Replace(&name, *pattern, replacement)) break;
  }
  auto found = ids_.find(name);
  if (found != ids_.end()) return found->second;
  if (ids_.size() >= cap_) {
    folded_.fetch_add(1, std::memory_order_relaxed);
    return kOtherId;
  }
  const uint32_t id = static_cast<uint32_t>(names_.size());
  names_.push_back(name);
  ids_.emplace(std::move(name), id);
  tracked_.store(ids_.size(), std::memory_order_relaxed);
  return id;
}

}  // namespace rrca::exporter
