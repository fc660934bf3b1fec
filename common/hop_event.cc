#include "common/hop_event.h"

namespace rrca {

std::string_view HopName(Hop hop) {
  switch (hop) {
    case Hop::kRegistry:
      return "registry";
    case Hop::kCore:
      return "core";
    case Hop::kProxy:
      return "proxy";
  }
  return "registry";
}

}  // namespace rrca
