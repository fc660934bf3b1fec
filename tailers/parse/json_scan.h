#pragma once

#include <string>
#include <string_view>

// A minimal, tolerant scanner for one flat-or-nested JSON object per line (Docker json-file
// envelopes, MinIO audit, the RGW ops log, registry_uri, shipped records). It walks the top-level
// members and hands out raw value views; strings are unescaped on request. Never allocates
// unless a string has escapes; never throws.
//
// The registry's logrus JSON records are read with simdjson On-Demand instead
// (ParseLogrusJson in registry_parse.cc), which reads their fields 1.7-1.9x faster (figures in
// bench/README.md, bench/json_scan_bench.cc; the whole record parser gained 1.4x). This scanner
// stays its fallback, for what simdjson refuses whole (invalid UTF-8 anywhere in the line, some
// text after the object) and for records that are not flat, whose garbled members On-Demand
// would skip more leniently than this scanner reads them. The other formats above were not
// measured against simdjson and keep this scanner.
namespace rrca::tailers {

struct JsonMember {
  std::string_view key;    // raw key (keys we look for never contain escapes)
  std::string_view value;  // raw value: for strings, the text between the quotes (still escaped)
  bool is_string = false;
  bool has_escapes = false;  // the string value contains backslash escapes
};

// A member a parser looks for, and whether the entry had it.
struct FoundMember {
  JsonMember member;
  bool present = false;
};

class JsonObjectScanner {
 public:
  explicit JsonObjectScanner(std::string_view text);

  // Advances to the next top-level member. Returns false at the end or on malformed input
  // (then malformed() is true).
  bool Next(JsonMember* member);
  bool malformed() const { return malformed_; }

 private:
  bool SkipValue();
  bool ScanString(std::string_view* raw, bool* has_escapes);
  void SkipSpace();

  std::string_view text_;
  size_t pos_ = 0;
  bool malformed_ = false;
  bool done_ = false;
};

// Appends the unescaped form of a raw JSON string body to `out` (\uXXXX incl. surrogate pairs).
// Returns false on a malformed escape (what was decoded so far stays appended).
bool AppendJsonUnescaped(std::string_view raw, std::string* out);

}  // namespace rrca::tailers
