// Fuzzes the way a request URI becomes a repository label value:
// tailers/parse/registry/registry_uri.h ParseRegistryUri, then exporter/pipeline/repository_table.h
// RepositoryTable::Intern (Docker Distribution's name grammar, the configured rewrites, the cap).
// Each input line is
// "<METHOD> <URI>" (no space: the whole line is the URI), as in a request line of a registry's
// log; the line itself is interned too, as a `vars.name` field would be.
// Invariants: every label value is "", "__other__", "__invalid__" or a name of the grammar (a
// rewrite's result aside); a name over 255 bytes is "__invalid__"; the same name gets the same
// id again; tracked() stays at the cap; every fold and every invalid name is counted; the table
// holds no more than the cap's worth of names (never the long lines it was given).
// Seeds: fuzz/corpus/repository_table/ (request lines and names from the logs). Dictionary:
// registry.dict.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "exporter/pipeline/repository_table.h"
#include "fuzz/fuzz_util.h"
#include "tailers/parse/registry/registry_uri.h"

namespace {

using rrca::pipeline::RepositoryTable;

constexpr size_t kCap = 4;

// What the table's one rewrite ('ci/[0-9]+' -> 'ci/*', RE2 searches) makes of a name: the
// leftmost "ci/" followed by digits, with the digits replaced.
std::string Rewritten(std::string_view name) {
  for (size_t at = name.find("ci/"); at != std::string_view::npos; at = name.find("ci/", at + 1)) {
    size_t end = at + 3;
    while (end < name.size() && name[end] >= '0' && name[end] <= '9') ++end;
    if (end > at + 3) {
      return std::string(name.substr(0, at)) + "ci/*" + std::string(name.substr(end));
    }
  }
  return std::string(name);
}

void CheckIntern(RepositoryTable& table, std::string_view raw) {
  const uint64_t folded = table.folded();
  const uint64_t invalid = table.invalid();
  const uint32_t id = table.Intern(raw);
  const std::string& name = table.Name(id);
  rrca::fuzz::Touch(name);
  RRCA_FUZZ_CHECK(table.Intern(raw) == id);  // cached or not, the same answer
  const bool is_other = name == RepositoryTable::kOther;
  const bool is_invalid = name == RepositoryTable::kInvalid;
  RRCA_FUZZ_CHECK(table.folded() == folded + (is_other ? 2 : 0));
  RRCA_FUZZ_CHECK(table.invalid() == invalid + (is_invalid ? 2 : 0));
  if (raw.empty()) {
    RRCA_FUZZ_CHECK(id == 0 && name.empty());
  } else if (!RepositoryTable::IsValidName(raw)) {
    RRCA_FUZZ_CHECK(is_invalid);
  } else if (!is_other) {
    RRCA_FUZZ_CHECK(name == Rewritten(raw));
  }
  if (raw.size() > RepositoryTable::kMaxNameBytes) RRCA_FUZZ_CHECK(is_invalid);
  RRCA_FUZZ_CHECK(table.tracked() <= kCap);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  RepositoryTable table(kCap, {{"ci/[0-9]+", "ci/*"}});
  const size_t empty_bytes = table.bytes_held();
  rrca::fuzz::ForEachLine(input, [&](std::string_view line) {
    std::string_view method;
    std::string_view uri = line;
    if (const size_t space = line.find(' '); space != std::string_view::npos) {
      method = line.substr(0, space);
      uri = line.substr(space + 1);
    }
    const rrca::tailers::UriInfo info = rrca::tailers::ParseRegistryUri(method, uri);
    RRCA_FUZZ_CHECK(rrca::fuzz::Inside(info.repository, uri));
    CheckIntern(table, info.repository);
    CheckIntern(table, line);
  });
  // At most kCap names of 255 bytes (plus the rewrite's "*") and the cache of raw names of at
  // most 255 bytes each (kCap * 4 + 1024 entries; an input of max_len has fewer lines).
  const size_t lines = static_cast<size_t>(std::count(input.begin(), input.end(), '\n')) + 1;
  RRCA_FUZZ_CHECK(table.bytes_held() <= empty_bytes + (kCap + 2 * lines) * 512 + 64 * 1024);
  return 0;
}
