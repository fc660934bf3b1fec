#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "common/format_number.h"
#include "common/time_util.h"
#include "exporter/pipeline/correlator.h"  // the class these members belong to

// The correlator's evidence of visibility (what each registry request and store event says about
// whether the upload was listable), the bounds drawn from it, and how a decided upload is told:
// the verdict's sentences and the explain API's JSON. Same ownership as correlator.cc: the
// processing thread; Explain and VisibilityOf are const and called under the daemon's lock.
namespace rrca::pipeline {
namespace {

// A duration of the explain JSON: seconds rounded to microseconds (the text API always printed
// six decimals), null when unknown (negative).
Json ExplainSeconds(double seconds) {
  return seconds < 0 ? Json(nullptr) : JsonNumber(std::round(seconds * 1e6) / 1e6);
}

bool IsNotVisibleCause(std::string_view cause) {
  return cause == "upload_not_yet_visible" || cause == "upload_listing_missing";
}

// When a registry request's listing of the upload ran. The storage driver's Writer() call (on
// resume: ListMultipartUploads, then ListParts when found) is timed in the debug log; it started
// no earlier than the request arrived, so it ended no earlier than arrival + its duration, and
// no later than the answer. Where inside the call the store looked is not known: a call no
// longer than the clock tolerance (which two hosts' times are compared with anyway) is placed
// at that end; a longer one, or one not timed, at the request's arrival for a failure (so the
// moment bounds visibility from below) and at its answer for a success (from above).
int64_t ListingTime(const JoinedRequest& request, bool failed, int64_t tolerance_ns) {
  const int64_t end = std::max(request.time_ns, request.arrival_ns);
  if (!failed) return end;
  if (request.writer_duration_ns >= 0 && request.writer_duration_ns <= tolerance_ns) {
    return std::min(SaturatingAdd(request.arrival_ns, request.writer_duration_ns), end);
  }
  return request.arrival_ns;
}

}  // namespace

void UploadCorrelator::NoteInvisible(Upload& upload, int64_t time_ns, bool store) {
  size_t slot = upload.invisible_count;
  if (slot == kMaxObservations) {
    // Full: replace the earliest; any subset of the moments still bounds visibility from below.
    slot = 0;
    for (size_t i = 1; i < kMaxObservations; ++i) {
      if (upload.invisible_ns[i] < upload.invisible_ns[slot]) slot = i;
    }
    if (upload.invisible_ns[slot] >= time_ns) return;
  } else {
    ++upload.invisible_count;
  }
  upload.invisible_ns[slot] = time_ns;
  const uint8_t bit = static_cast<uint8_t>(1u << slot);
  upload.invisible_store = store ? (upload.invisible_store | bit) : (upload.invisible_store & ~bit);
}

void UploadCorrelator::NoteRegistryOutcome(Upload& upload, const Classified& classified,
                                           bool failed) {
  const JoinedRequest& request = classified.request;
  if (request.operation != Operation::kBlobUploadStatus &&
      (upload.first_patch_arrival_ns == 0 || request.arrival_ns < upload.first_patch_arrival_ns)) {
    upload.first_patch_arrival_ns = request.arrival_ns;
  }
  if (request.upload_state.valid && upload.started_at_ns == 0) {
    upload.started_at_ns = request.upload_state.started_at_ns;
  }
  const int64_t listing = ListingTime(request, failed, options_.clock_tolerance_ns);
  if (failed) {
    const bool not_visible = IsNotVisibleCause(classified.cause);
    (not_visible ? upload.failed_not_visible : upload.failed_other) = true;
    if (not_visible) {
      NoteInvisible(upload, listing, /*store=*/false);
      upload.last_not_visible_ns = std::max(upload.last_not_visible_ns, request.time_ns);
      if (!std::isnan(request.upload_age_seconds) && metrics_ != nullptr) {
        metrics_->CountConfirmation(classified.cause, "state_age");
      }
    }
    return;
  }
  if (upload.first_visible_registry_ns == 0 || listing < upload.first_visible_registry_ns) {
    upload.first_visible_registry_ns = listing;
  }
  if (request.operation == Operation::kBlobUploadComplete) {
    upload.completed = true;
    upload.completed_ns = std::max(upload.completed_ns, request.time_ns);
  }
}

// The store's own word on the upload: a part written or the upload completed proves it existed
// (visible by the request's end; a whole-second time may be up to 1 s late); a listing or a
// ListParts that failed for its key saw it missing (at the request's start at the latest).
void UploadCorrelator::NoteStoreOutcome(Upload& upload, const S3Event& event,
                                        std::string_view file) {
  if (file != "data") return;
  const bool ok = event.status >= 200 && event.status < 300;
  if (ok && (event.op == S3Op::kUploadPart || event.op == S3Op::kCompleteMultipart)) {
    const int64_t by =
        SaturatingAdd(SaturatingAdd(event.start_ns, std::max<int64_t>(event.duration_ns, 0)),
                      IsPreciseTime(event.start_ns) ? 0 : kNanosPerSecond);
    if (upload.first_visible_store_ns == 0 || by < upload.first_visible_store_ns) {
      upload.first_visible_store_ns = by;
    }
  } else if ((event.status == 404 || event.error_code == "NoSuchUpload") &&
             (event.op == S3Op::kListMultipart || event.op == S3Op::kListParts)) {
    NoteInvisible(upload, event.start_ns, /*store=*/true);
  }
}

// Everything on the registry's clock: store times less the skew estimate. The create's start
// and its ack as logged; a whole-second store time is narrowed by the POST that made the create
// (it cannot have started before the POST arrived, nor been acknowledged after its answer).
VisibilityBounds UploadCorrelator::Bounds(const Upload& upload) const {
  VisibilityEvidence e;
  if (upload.create_duration_ns < 0) return BoundVisibility(e);
  const bool precise = IsPreciseTime(upload.create_start_ns);
  const bool post_known = upload.post_answered_ns != 0;
  const int64_t logged_start = SaturatingSub(upload.create_start_ns, skew_ns_);
  int64_t start = logged_start;
  int64_t uncertain = precise ? 0 : kNanosPerSecond;
  if (!precise && post_known && upload.post_arrival_ns > start &&
      upload.post_arrival_ns < SaturatingAdd(start, kNanosPerSecond)) {
    start = upload.post_arrival_ns;
  }
  e.create_start_ns = start == 0 ? 1 : start;
  e.ack_ns = SaturatingAdd(start, upload.create_duration_ns);
  if (post_known) {
    uncertain =
        std::min(uncertain, std::max<int64_t>(0, SaturatingSub(upload.post_answered_ns, e.ack_ns)));
    e.ack_latest_ns = upload.post_answered_ns;
  } else {
    e.ack_latest_ns =
        SaturatingAdd(SaturatingAdd(e.ack_ns, uncertain), options_.clock_tolerance_ns);
  }
  e.ack_uncertain_ns = uncertain;
  e.tolerance_ns = post_known ? 0 : options_.clock_tolerance_ns;
  std::array<int64_t, kMaxObservations> invisible{};
  for (size_t i = 0; i < upload.invisible_count; ++i) {
    const bool store = (upload.invisible_store >> i) & 1u;
    invisible[i] = store ? SaturatingSub(upload.invisible_ns[i], skew_ns_) : upload.invisible_ns[i];
  }
  e.invisible_ns = invisible.data();
  e.invisible_count = upload.invisible_count;
  int64_t visible = upload.first_visible_registry_ns;
  if (upload.first_visible_store_ns != 0) {
    const int64_t store = SaturatingSub(upload.first_visible_store_ns, skew_ns_);
    visible = visible == 0 ? store : std::min(visible, store);
  }
  e.first_visible_ns = visible;
  return BoundVisibility(e);
}

// Raced: the first PATCH came while the upload was invisible, by the bounds. A listing that did
// not contain the upload ran after the first PATCH arrived, so that PATCH came before the upload
// was visible whatever the bounds leave open (within the clock tolerance of an ack, or inside
// the interval), provided the store's create is known at all.
Before UploadCorrelator::FirstPatchBefore(const Upload& upload, const VisibilityBounds& bounds) {
  if (upload.first_patch_arrival_ns == 0 || !bounds.known()) return Before::kUnknown;
  const Before before = ArrivedBeforeVisible(bounds, upload.first_patch_arrival_ns);
  if (before == Before::kUnknown && upload.failed_not_visible) return Before::kYes;
  return before;
}

// One sentence per fact, each drawn from the same bounds, so none can contradict another.
std::string UploadCorrelator::Verdict(const Upload& upload, const VisibilityBounds& bounds,
                                      Before first_patch, double gap) const {
  std::string verdict;
  if (gap >= 0) {
    verdict += FormatNumber("the first PATCH arrived %.2f s after the POST was answered; ", gap);
  } else if (upload.started_at_ns != 0 && upload.first_patch_arrival_ns != 0) {
    verdict += FormatNumber(
        "the first PATCH arrived %.2f s after the upload started (_state); ",
        NanosToSeconds(SaturatingSub(upload.first_patch_arrival_ns, upload.started_at_ns)));
  }
  verdict += bounds.Sentence();
  if (bounds.known() && upload.first_patch_arrival_ns != 0) {
    const double at =
        NanosToSeconds(SaturatingSub(upload.first_patch_arrival_ns, bounds.create_start_ns));
    switch (first_patch) {
      case Before::kYes:
        verdict += FormatNumber(
            "; the first PATCH came %.3f s after create, before the upload was "
            "visible",
            at);
        break;
      case Before::kNo:
        verdict += FormatNumber(
            "; the first PATCH came %.3f s after create, after the upload was "
            "visible",
            at);
        break;
      case Before::kUnknown:
        verdict += FormatNumber(
            "; the first PATCH came %.3f s after create: whether the upload was "
            "visible then is not known",
            at);
        break;
    }
  }
  if (upload.failed_not_visible) {
    verdict += upload.completed && upload.completed_ns > upload.last_not_visible_ns
                   ? "; a listing did not contain the upload, and the client's retry on it "
                     "later completed"
                   : "; a listing did not contain the upload";
  }
  return verdict + ".";
}

std::optional<VisibilityBounds> UploadCorrelator::VisibilityOf(std::string_view uuid) const {
  auto it = timelines_.find(std::string(uuid));
  if (it == timelines_.end() || it->second.outcome.empty()) return std::nullopt;
  return it->second.visibility;
}

std::optional<Json> UploadCorrelator::Explain(std::string_view uuid) const {
  auto it = timelines_.find(std::string(uuid));
  if (it == timelines_.end()) return std::nullopt;
  const Timeline& t = it->second;
  std::vector<const TimelineEvent*> events;
  for (const TimelineEvent& event : t.events) events.push_back(&event);
  std::stable_sort(
      events.begin(), events.end(),
      [](const TimelineEvent* a, const TimelineEvent* b) { return a->time_ns < b->time_ns; });
  Json out = Json::object();
  out["upload_uuid"] = uuid;
  out["repository"] = t.repository;
  out["outcome"] = t.outcome.empty() ? "open" : t.outcome;
  out["verdict"] = t.verdict;
  out["create_to_visible_seconds"] = ExplainSeconds(t.create_to_visible);
  const VisibilityBounds& v = t.visibility;
  Json visibility = Json::object();
  visibility["kind"] = t.outcome.empty() ? "open" : v.kind_name();
  visibility["lower_seconds"] = ExplainSeconds(v.known() ? v.lower_seconds() : -1);
  visibility["upper_seconds"] = ExplainSeconds(v.known() ? v.upper_seconds() : -1);
  visibility["acknowledged_seconds"] = ExplainSeconds(v.known() ? v.ack_seconds() : -1);
  if (v.known() && v.create_start_ns > 1) {  // 1: the create's time is not known
    visibility["create_start"] = FormatRfc3339Nanos(v.create_start_ns);
  }
  visibility["text"] = t.outcome.empty() ? "not decided yet" : v.Sentence();
  out["visibility"] = std::move(visibility);
  out["client_gap_seconds"] = ExplainSeconds(t.client_gap);
  out["unsafe_window_seconds"] = ExplainSeconds(t.unsafe_window);
  Json& list = out["events"] = Json::array();
  for (const TimelineEvent* event : events) {
    Json item = Json::object();
    item["time"] = FormatRfc3339Nanos(event->time_ns);
    item["side"] = event->store ? "store" : "registry";
    item["what"] = event->what;
    item["status"] = event->status;
    item["duration_seconds"] =
        ExplainSeconds(event->duration_ns >= 0 ? NanosToSeconds(event->duration_ns) : -1);
    item["source"] = event->source;
    item["line"] = event->has_line ? Json(event->line) : Json(nullptr);
    list.push_back(std::move(item));
  }
  return out;
}

}  // namespace rrca::pipeline
