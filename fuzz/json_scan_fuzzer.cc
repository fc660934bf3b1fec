// Fuzzes tailers/parse/json_scan.h: JsonObjectScanner over one object and AppendJsonUnescaped on
// every string member. Checks: views stay inside the text, the scanner ends, decoding never
// grows a string (parsers size their scratch on that) and valid UTF-8 stays valid UTF-8.
// Seeds: fuzz/corpus/json_scan/. Dictionary: json.dict.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/json_escape.h"
#include "fuzz/fuzz_util.h"
#include "tailers/parse/json_scan.h"

namespace {

bool ValidUtf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = rrca::Utf8SequenceLength(text, pos);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  rrca::tailers::JsonObjectScanner scanner(text);
  rrca::tailers::JsonMember member;
  size_t members = 0;
  std::string decoded;
  while (scanner.Next(&member)) {
    // Every member consumes at least `"":x`, so a scanner that loops would exceed this.
    RRCA_FUZZ_CHECK(++members <= size / 4 + 1);
    RRCA_FUZZ_CHECK(rrca::fuzz::Inside(member.key, text));
    RRCA_FUZZ_CHECK(rrca::fuzz::Inside(member.value, text));
    rrca::fuzz::Touch(member.key);
    rrca::fuzz::Touch(member.value);
    if (!member.is_string) {
      RRCA_FUZZ_CHECK(!member.value.empty());
      continue;
    }
    decoded.clear();
    const bool ok = rrca::tailers::AppendJsonUnescaped(member.value, &decoded);
    RRCA_FUZZ_CHECK(decoded.size() <= member.value.size());
    if (ok && ValidUtf8(member.value)) RRCA_FUZZ_CHECK(ValidUtf8(decoded));
    if (!member.has_escapes) RRCA_FUZZ_CHECK(ok && decoded == member.value);
  }
  // The whole input as a raw string body, too.
  decoded.clear();
  rrca::tailers::AppendJsonUnescaped(text, &decoded);
  RRCA_FUZZ_CHECK(decoded.size() <= text.size());
  return 0;
}
