#pragma once

#include <cstdint>
#include <string>

namespace rrca {

// When a multipart upload became visible (listable), bounded by what the logs observed. Pure
// functions of their arguments: no state, no allocation except the sentence, safe anywhere.
//
// The store *acknowledges* CreateMultipartUpload at create start + its logged duration. On a
// synchronous store that is also when the upload becomes listable; on an eventually consistent
// one it is not, and only observations tell: a request whose listing did not contain the upload
// (seen invisible) or one that used it (seen visible). Visibility is taken as monotonic until
// the upload is completed or aborted, so an invisible observation after the first visible one
// says nothing about creation (the upload may be gone) and is ignored.
//
// All times are on the registry's clock (the caller shifts store times by its skew estimate).
struct VisibilityEvidence {
  int64_t create_start_ns = 0;  // the earliest moment the create can have started; 0: unknown
  int64_t ack_ns = 0;           // create start + the store's logged duration
  // The latest moment the acknowledgement can have been: the POST's answer when the registry's
  // log has it (the registry waited for the create), else the ack plus the store time's
  // precision and the clock tolerance between the two hosts. An invisible observation after it
  // contradicts the acknowledgement; one between ack_ns and it only narrows the ack.
  int64_t ack_latest_ns = 0;
  // How much later than ack_ns the ack may have been by the store's own time precision (a
  // whole-second log: up to 1 s, narrowed by the POST's answer); 0 for a precise log.
  int64_t ack_uncertain_ns = 0;
  // Allowed between the two hosts' clocks when comparing a request's arrival with the ack.
  int64_t tolerance_ns = 0;
  const int64_t* invisible_ns = nullptr;  // moments the upload was seen not visible
  size_t invisible_count = 0;
  int64_t first_visible_ns = 0;  // the earliest moment it was seen visible; 0: never
};

struct VisibilityBounds {
  enum class Kind : uint8_t {
    kUnknown,       // no create in the store's log: nothing is measured from it
    kAcknowledged,  // nothing contradicts the acknowledgement: visible at the ack (exact)
    kInterval,      // seen invisible after the ack, then seen visible (or the ack's imprecision
                    // left room): (lower, upper]
    kLowerBound,    // seen invisible after the ack, never seen visible: > lower (censored)
  };
  Kind kind = Kind::kUnknown;
  int64_t lower_ns = 0;  // absolute: the upload was not visible yet at this moment (ack: = upper)
  int64_t upper_ns = 0;  // absolute: visible by then; 0 for kLowerBound
  int64_t create_start_ns = 0;
  int64_t ack_after_ns = 0;  // the store's logged create duration
  int64_t ack_uncertain_ns = 0;
  int64_t tolerance_ns = 0;

  bool known() const { return kind != Kind::kUnknown; }
  bool has_upper() const { return kind == Kind::kAcknowledged || kind == Kind::kInterval; }
  // Seconds after the create's start.
  double lower_seconds() const;
  double upper_seconds() const;  // -1 when there is no upper bound
  double ack_seconds() const;
  // The one number the metrics carry per upload: the upper bound when the upload was seen
  // visible (the ack when nothing contradicts it), else the lower bound.
  double reported_seconds() const { return has_upper() ? upper_seconds() : lower_seconds(); }
  int64_t reported_ns() const { return has_upper() ? upper_ns : lower_ns; }
  const char* kind_name() const;
  // "visible between 1.02 s and 1.98 s after create; acknowledged after 0.006 s" and the like.
  std::string Sentence() const;
};

VisibilityBounds BoundVisibility(const VisibilityEvidence& evidence);

// Whether a request that arrived at `arrival_ns` came before the upload was visible, by the
// bounds alone: kYes when it arrived no later than a moment the upload was seen invisible (or,
// for an acknowledged upload, before the ack less the clock tolerance), kNo when it arrived
// once the upload was surely visible, kUnknown in between.
enum class Before : uint8_t { kYes, kNo, kUnknown };
Before ArrivedBeforeVisible(const VisibilityBounds& bounds, int64_t arrival_ns);

}  // namespace rrca
