#pragma once

#include <string>
#include <string_view>

namespace rrca {

// The small text codecs every layer needs: hex digits, base64 and percent-encoding. Pure
// functions of their input, thread-safe, never throw; bad input is a return value.

// The value of one hexadecimal digit (either case), or -1. Inline: the JSON scanner calls it for
// every \uXXXX escape on the per-line path.
constexpr int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Which base64 alphabet a character is read in (RFC 4648): kStandard is section 4 ("+/"),
// kUrlSafe section 5 ("-_"), kEither accepts both, even mixed in one text.
enum class Base64Alphabet { kStandard, kUrlSafe, kEither };

// The 6-bit value of one base64 character in `alphabet`, or -1 (also for the padding '=').
constexpr int Base64Value(char c, Base64Alphabet alphabet) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  const bool standard = alphabet != Base64Alphabet::kUrlSafe;
  const bool url_safe = alphabet != Base64Alphabet::kStandard;
  if ((c == '+' && standard) || (c == '-' && url_safe)) return 62;
  if ((c == '/' && standard) || (c == '_' && url_safe)) return 63;
  return -1;
}

// Strict RFC 4648 section 4 base64 as HTTP Basic auth carries it: the standard alphabet, a length
// that is a multiple of 4, '=' only as the last one or two characters. Replaces *out with the
// bytes; false on any stray character (then *out holds a prefix and must not be used).
bool DecodeBase64(std::string_view in, std::string* out);

// Lenient base64 as tokens in URLs carry it (the registry's `_state`): either alphabet, padding
// optional; decoding ends at the first '=' and nothing after it is read. Bits of an incomplete
// last byte are dropped. Appends to *out; false on a character outside both alphabets.
bool DecodeBase64Unpadded(std::string_view in, std::string* out);

// Percent-encodes every byte except RFC 3986's unreserved characters (A-Z a-z 0-9 - _ . ~) and,
// with `keep_slash`, '/' (an S3 key's path). Upper-case hex digits, as SigV4 requires.
std::string PercentEncode(std::string_view text, bool keep_slash);

// Decodes %XX escapes (either case) and appends the bytes to *out; every other byte is copied.
// False at a '%' not followed by two hex digits (then *out holds what was decoded before it).
bool PercentDecode(std::string_view in, std::string* out);

// Decodes a query parameter's value as browsers send it: '+' is a space, %XX escapes are decoded
// and a '%' without two hex digits stays as written. Never fails.
std::string QueryValueDecode(std::string_view value);

}  // namespace rrca
