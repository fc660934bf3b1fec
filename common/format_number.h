#pragma once

#include <cstdio>
#include <string>

namespace rrca {

// One number through a printf format ("%.3f s"), for the sentences the product writes. The
// format is always a literal of ours; the result is cut at 255 bytes.
inline std::string FormatNumber(const char* format, double value) {
  char buffer[256];
  std::snprintf(buffer, sizeof(buffer), format, value);
  return buffer;
}

}  // namespace rrca
