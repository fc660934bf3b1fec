#pragma once

#include <string>
#include <string_view>

// A minimal, tolerant scanner for one flat-or-nested JSON object per line (logrus JSON, Docker
// json-file, GitLab access logs). It walks the top-level members and hands out raw value views;
// strings are unescaped on request. Never allocates unless a string has escapes; never throws.
namespace rrca::tailers {

struct JsonMember {
  std::string_view key;    // raw key (keys we look for never contain escapes)
  std::string_view value;  // raw value: for strings, the text between the quotes (still escaped)
  bool is_string = false;
  bool has_escapes = false;  // the string value contains backslash escapes
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
