#pragma once

#include <functional>
#include <string_view>

namespace rrca {

// Hash and equality for maps keyed by std::string that are looked up by std::string_view
// (C++20 heterogeneous lookup): no std::string is built per lookup on the per-line path.
struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>()(text); }
};

struct StringViewEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

}  // namespace rrca
