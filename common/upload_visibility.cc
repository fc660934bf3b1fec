#include "common/upload_visibility.h"

#include <algorithm>
#include <cstdio>

#include "common/time_util.h"

namespace rrca {

double VisibilityBounds::lower_seconds() const {
  return NanosToSeconds(SaturatingSub(lower_ns, create_start_ns));
}

double VisibilityBounds::upper_seconds() const {
  return has_upper() ? NanosToSeconds(SaturatingSub(upper_ns, create_start_ns)) : -1;
}

double VisibilityBounds::ack_seconds() const { return NanosToSeconds(ack_after_ns); }

const char* VisibilityBounds::kind_name() const {
  switch (kind) {
    case Kind::kUnknown:
      return "unknown";
    case Kind::kAcknowledged:
      return "acknowledged";
    case Kind::kInterval:
      return "interval";
    case Kind::kLowerBound:
      return "lower_bound";
  }
  return "unknown";
}

std::string VisibilityBounds::Sentence() const {
  char buffer[256];
  switch (kind) {
    case Kind::kUnknown:
      return "the store's log has no create for this upload";
    case Kind::kAcknowledged:
      if (ack_uncertain_ns > 0) {
        std::snprintf(buffer, sizeof(buffer),
                      "visible when the store acknowledged it, %.3f s after create as logged "
                      "(whole-second store times: up to %.3f s later, and %.3f s between the two "
                      "hosts' clocks); nothing seen contradicts the acknowledgement",
                      upper_seconds(), NanosToSeconds(ack_uncertain_ns),
                      NanosToSeconds(tolerance_ns));
      } else if (tolerance_ns > 0) {
        std::snprintf(buffer, sizeof(buffer),
                      "visible when the store acknowledged it, %.3f s after create (compared "
                      "with the registry's times within %.3f s: two hosts' clocks); nothing seen "
                      "contradicts the acknowledgement",
                      upper_seconds(), NanosToSeconds(tolerance_ns));
      } else {
        std::snprintf(buffer, sizeof(buffer),
                      "visible when the store acknowledged it, %.3f s after create; nothing seen "
                      "contradicts the acknowledgement",
                      upper_seconds());
      }
      return buffer;
    case Kind::kInterval:
      std::snprintf(buffer, sizeof(buffer),
                    "visible between %.3f s and %.3f s after create; acknowledged after %.3f s",
                    lower_seconds(), upper_seconds(), ack_seconds());
      return buffer;
    case Kind::kLowerBound:
      std::snprintf(buffer, sizeof(buffer),
                    "not visible yet %.3f s after create and never seen visible (a lower "
                    "bound); acknowledged after %.3f s",
                    lower_seconds(), ack_seconds());
      return buffer;
  }
  return {};
}

VisibilityBounds BoundVisibility(const VisibilityEvidence& e) {
  VisibilityBounds bounds;
  if (e.create_start_ns == 0) return bounds;
  bounds.create_start_ns = e.create_start_ns;
  bounds.ack_after_ns = std::max<int64_t>(0, SaturatingSub(e.ack_ns, e.create_start_ns));
  bounds.ack_uncertain_ns = std::max<int64_t>(0, e.ack_uncertain_ns);
  bounds.tolerance_ns = std::max<int64_t>(0, e.tolerance_ns);
  // The last moment seen invisible before it was first seen visible.
  int64_t last_invisible = 0;
  for (size_t i = 0; i < e.invisible_count; ++i) {
    const int64_t t = e.invisible_ns[i];
    if (e.first_visible_ns != 0 && t >= e.first_visible_ns) continue;
    last_invisible = std::max(last_invisible, t);
  }
  // Within the clock tolerance of the ack, an observation from the other host contradicts
  // nothing.
  if (last_invisible == 0 || last_invisible <= SaturatingAdd(e.ack_ns, e.tolerance_ns)) {
    bounds.kind = VisibilityBounds::Kind::kAcknowledged;
    bounds.lower_ns = bounds.upper_ns = e.ack_ns;
    return bounds;
  }
  bounds.lower_ns = last_invisible;
  int64_t upper = e.first_visible_ns;
  if (last_invisible <= std::max(e.ack_ns, e.ack_latest_ns)) {
    // Not a contradiction: the ack was later than its logged time said, and no later than
    // ack_latest.
    const int64_t ack_latest = std::max(e.ack_ns, e.ack_latest_ns);
    upper = upper == 0 ? ack_latest : std::min(upper, ack_latest);
  }
  if (upper != 0) {
    bounds.kind = VisibilityBounds::Kind::kInterval;
    bounds.upper_ns = upper;
  } else {
    bounds.kind = VisibilityBounds::Kind::kLowerBound;
  }
  return bounds;
}

Before ArrivedBeforeVisible(const VisibilityBounds& bounds, int64_t arrival_ns) {
  using Kind = VisibilityBounds::Kind;
  switch (bounds.kind) {
    case Kind::kUnknown:
      return Before::kUnknown;
    case Kind::kAcknowledged:
      // The ack and the arrival are two hosts' times: only a clear difference decides.
      if (arrival_ns < SaturatingSub(bounds.upper_ns, bounds.tolerance_ns)) return Before::kYes;
      if (arrival_ns >= SaturatingAdd(SaturatingAdd(bounds.upper_ns, bounds.ack_uncertain_ns),
                                      bounds.tolerance_ns)) {
        return Before::kNo;
      }
      return Before::kUnknown;
    case Kind::kInterval:
    case Kind::kLowerBound:
      if (arrival_ns <= bounds.lower_ns) return Before::kYes;
      if (bounds.has_upper() && arrival_ns >= bounds.upper_ns) return Before::kNo;
      return Before::kUnknown;
  }
  return Before::kUnknown;
}

}  // namespace rrca
