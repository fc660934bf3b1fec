// Fuzzes the positions file's reader (tailers/follow/positions_file.h): PositionsFromJson on
// arbitrary bytes, as the daemon reads a positions file it finds at start-up (a torn write, a file
// of another version, a hand edit). Errors say where ("byte N: ..."); a table that loads must write
// back (PositionsToJson) to a file that loads to the same table, timestamp and pipeline state,
// so a restart after a restart resumes where the first one did. Seeds: fuzz/corpus/positions/.
// Dictionary: json.dict.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "tailers/follow/positions_file.h"

namespace {

bool SameTable(const std::map<rrca::tailers::FileKey, rrca::tailers::Position>& a,
               const std::map<rrca::tailers::FileKey, rrca::tailers::Position>& b) {
  if (a.size() != b.size()) return false;
  for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
    if (!(i->first == j->first)) return false;
    const rrca::tailers::Position& p = i->second;
    const rrca::tailers::Position& q = j->second;
    if (p.source != q.source || p.path != q.path || p.offset != q.offset ||
        p.fingerprint != q.fingerprint || p.fingerprint_len != q.fingerprint_len ||
        p.closed_at_unix_ns != q.closed_at_unix_ns) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  int64_t saved_at = 0;
  std::string state;
  auto loaded = rrca::tailers::PositionsFromJson(text, &saved_at, &state);
  if (!loaded.ok()) {
    RRCA_FUZZ_CHECK(loaded.status().message().starts_with("byte "));
    return 0;
  }
  for (const auto& [key, position] : loaded.value()) {
    rrca::fuzz::Touch(position.source);
    rrca::fuzz::Touch(position.path);
  }
  const std::string written = rrca::tailers::PositionsToJson(loaded.value(), saved_at, state);
  int64_t saved_at_again = 0;
  std::string state_again;
  auto reloaded = rrca::tailers::PositionsFromJson(written, &saved_at_again, &state_again);
  RRCA_FUZZ_CHECK(reloaded.ok());
  RRCA_FUZZ_CHECK(SameTable(loaded.value(), reloaded.value()));
  RRCA_FUZZ_CHECK(saved_at_again == saved_at);
  RRCA_FUZZ_CHECK(state_again == state);
  return 0;
}
