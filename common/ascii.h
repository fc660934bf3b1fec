#pragma once

#include <string_view>

// Byte-level character tests for the log parsers: ASCII only and never locale-dependent
// (std::isdigit follows the C locale and is undefined for a negative char).
namespace rrca {

inline bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// `text` without its leading and trailing spaces and tabs.
inline std::string_view TrimBlanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace rrca
