#include "exporter/pipeline/joiner.h"

#include <algorithm>
#include <cstdlib>

#include "common/time_util.h"
#include "tailers/parse/registry/registry_uri.h"

namespace rrca::pipeline {
namespace {

// An access-log time has second resolution and is taken when the request starts; a summary's
// arrival is its time minus its duration. Both describe the same moment within this.
constexpr int64_t kAccessMatchTolerance = 3'000'000'000;
constexpr size_t kMaxMessagesBytes = 8192;

constexpr std::string_view kWherePrefixes[] = {
    "error resolving upload: ",
    "unknown error completing upload: ",
    "unknown error reading request payload: ",
    "error canceling upload after error: ",
};

bool IsSummary(const RegistryEvent& event) {
  return event.msg.starts_with("response completed") || event.status != 0;
}

bool IsErrorSummary(const RegistryEvent& event) {
  return event.status >= 400 || !event.err_code.empty();
}

// The failing call's error from a "where" message, e.g. the Path-not-found of
// "error resolving upload: s3aws: Path not found: ...".
std::string_view DetailOf(std::string_view msg) {
  for (std::string_view prefix : kWherePrefixes) {
    if (msg.starts_with(prefix)) return msg.substr(prefix.size());
  }
  return msg;
}

void AssignIfEmpty(std::string& target, std::string_view value) {
  if (target.empty() && !value.empty()) target.assign(value);
}

}  // namespace

uint64_t ResponseKey(std::string_view method, std::string_view uri, int status) {
  const std::hash<std::string_view> hash;
  uint64_t key = hash(uri);
  key ^= hash(method) + 0x9e3779b97f4a7c15ULL + (key << 6) + (key >> 2);
  key ^= static_cast<uint64_t>(status) * 0xff51afd7ed558ccdULL;
  return key;
}

RequestJoiner::RequestJoiner(Options options, JoinedRequestSink* sink)
    : options_(options), sink_(sink) {}

void RequestJoiner::OnEvent(const RegistryEvent& event, std::string_view source, uint32_t stream) {
  const bool access = event.kind == RegistryEvent::Kind::kAccessLog;
  const bool summary = !access && IsSummary(event);
  NoteStreamEvent(stream, summary);
  if (access) {
    OnAccessLine(event, source, stream);
  } else if (summary) {
    OnSummary(event, source);
  } else if (event.level < Level::kWarning && event.msg.starts_with("s3aws.Writer(")) {
    OnWriterTrace(event, source);
  } else {
    OnErrorLine(event, source);
  }
}

void RequestJoiner::NoteStreamEvent(uint32_t stream, bool summary) {
  if (stream >= stream_events_.size()) {
    stream_events_.resize(stream + 1, 0);
    stream_has_summaries_.resize(stream + 1, false);
  }
  ++stream_events_[stream];
  if (summary) stream_has_summaries_[stream] = true;
}

void RequestJoiner::OnSummary(const RegistryEvent& event, std::string_view source) {
  const bool is_error = IsErrorSummary(event);
  if (is_error && !event.request_id.empty()) {
    // The registry writes one "response completed with error" line per error code.
    if (!reported_errors_.emplace(event.request_id).second) return;
    reported_order_.push_back({event.time_ns, wall_ns_, std::string(event.request_id)});
  }
  JoinedRequest request;
  request.origin = JoinedRequest::Origin::kSummary;
  request.source = source;
  request.time_ns = event.time_ns;
  request.duration_ns = event.duration_ns;
  request.arrival_ns =
      event.duration_ns >= 0 ? SaturatingSub(event.time_ns, event.duration_ns) : event.time_ns;
  request.request_id = event.request_id;
  request.method = event.method;
  request.uri = event.uri;
  request.repository = event.repository;
  request.upload_uuid = event.upload_uuid;
  request.status = event.status;
  request.level = event.level;
  request.msg = event.msg;
  request.err_code = event.err_code;
  request.err_message = event.err_message;
  request.err_detail = event.err_detail;
  request.probe = event.probe;
  auto pending =
      event.request_id.empty() ? pending_.end() : pending_.find(std::string(event.request_id));
  if (pending != pending_.end()) {
    const Pending& lines = pending->second;
    request.messages = lines.messages;
    if (request.method.empty()) request.method = lines.method;
    if (request.uri.empty()) request.uri = lines.uri;
    if (request.repository.empty()) request.repository = lines.repository;
    if (request.upload_uuid.empty()) request.upload_uuid = lines.upload_uuid;
    request.probe |= lines.probe;
    if (request.err_detail.empty() && is_error) request.err_detail = lines.detail;
    if (!lines.has_error_lines) request.messages = {};
    request.writer_duration_ns = lines.writer_duration_ns;
  }
  const uint64_t key = ResponseKey(request.method, request.uri, request.status);
  const int64_t arrival = request.arrival_ns;
  Emit(request);
  if (pending != pending_.end()) DropPending(pending);
  if (!ConsumePendingAccess(key, arrival)) RememberSummary(key, arrival);
}

void RequestJoiner::OnErrorLine(const RegistryEvent& event, std::string_view source) {
  if (event.request_id.empty()) {
    // Startup warnings and the like are no errors; a warning that says "error ..." is one whose
    // request fields were cut off (a pasted "error authorizing context: ..." is a 401).
    if (event.level < Level::kError && !event.msg.starts_with("error ")) return;
    JoinedRequest request;
    request.origin = JoinedRequest::Origin::kBackground;
    request.source = source;
    request.time_ns = request.arrival_ns = event.time_ns;
    request.level = event.level;
    request.msg = event.msg;
    request.err_code = event.err_code;
    request.err_message = event.err_message;
    request.err_detail = event.err_detail.empty() ? DetailOf(event.msg) : event.err_detail;
    std::string messages = std::string(LevelName(event.level)) + ": " + std::string(event.msg);
    request.messages = messages;
    Emit(request);
    return;
  }
  // Lines shipped newest-first (a pasted block, some shippers' exports) put the summary before
  // its error lines: the response is counted already, and its detail line adds nothing.
  if (reported_errors_.contains(std::string(event.request_id))) return;
  Pending& pending = PendingFor(event, source);
  const bool was_indexed = pending.has_error_lines && !pending.uri.empty();
  pending.has_error_lines = true;
  pending.last_time_ns = event.time_ns;
  if (event.level > pending.level) pending.level = event.level;
  AssignIfEmpty(pending.method, event.method);
  AssignIfEmpty(pending.uri, event.uri);
  if (!was_indexed && !pending.uri.empty()) {
    // Indexed for FindPendingFor once it has an error line and a URI.
    pending_by_key_.emplace(ResponseKey(pending.method, pending.uri, 0),
                            std::string(event.request_id));
  }
  AssignIfEmpty(pending.repository, event.repository);
  AssignIfEmpty(pending.upload_uuid, event.upload_uuid);
  pending.last_msg.assign(event.msg);
  AssignIfEmpty(pending.err_code, event.err_code);
  AssignIfEmpty(pending.err_message, event.err_message);
  if (!event.err_detail.empty()) {
    pending.detail.assign(event.err_detail);
  } else if (!event.err_message.empty() && event.err_message != "unknown error") {
    // Registry 2.0/2.1 logged "An error occured" with the store's text in err.message.
    pending.detail.assign(event.err_message);
  } else if (pending.detail.empty() || event.level >= Level::kError) {
    pending.detail.assign(DetailOf(event.msg));
  }
  if (pending.messages.size() < kMaxMessagesBytes) {
    pending.messages.append(LevelName(event.level));
    pending.messages.append(": ");
    pending.messages.append(event.msg.substr(0, kMaxMessagesBytes));
    pending.messages.push_back('\n');
  }
}

RequestJoiner::Pending& RequestJoiner::PendingFor(const RegistryEvent& event,
                                                  std::string_view source) {
  auto [it, inserted] = pending_.try_emplace(std::string(event.request_id));
  Pending& pending = it->second;
  if (inserted) {
    if (pending_.size() > options_.max_pending && !pending_order_.empty()) {
      // Over the bound: report the oldest now rather than grow.
      auto oldest = pending_.find(pending_order_.front().id);
      if (oldest != pending_.end() && oldest != it) {
        if (oldest->second.has_error_lines) EmitPending(oldest->first, oldest->second);
        DropPending(oldest);
      }
      pending_order_.pop_front();
    }
    pending.source.assign(source);
    pending.first_time_ns = event.time_ns;
    pending_order_.push_back({event.time_ns, wall_ns_, it->first});
  }
  pending.probe |= event.probe;
  return pending;
}

// s3aws.Writer("/docker/registry/v2/repositories/<name>/_uploads/<uuid>/data", append): names
// the upload of a POST and times the store call (the listing, on append) of a PATCH/PUT.
void RequestJoiner::OnWriterTrace(const RegistryEvent& event, std::string_view source) {
  if (event.request_id.empty()) return;
  const size_t at = event.msg.find("/_uploads/");
  if (at == std::string_view::npos || at + 10 + 36 > event.msg.size()) return;
  Pending& pending = PendingFor(event, source);
  pending.last_time_ns = event.time_ns;
  AssignIfEmpty(pending.upload_uuid, event.msg.substr(at + 10, 36));
  AssignIfEmpty(pending.method, event.method);
  AssignIfEmpty(pending.uri, event.uri);
  AssignIfEmpty(pending.repository, event.repository);
  if (event.trace_duration_ns >= 0) pending.writer_duration_ns = event.trace_duration_ns;
}

void RequestJoiner::OnAccessLine(const RegistryEvent& event, std::string_view source,
                                 uint32_t stream) {
  const uint64_t key = ResponseKey(event.method, event.uri, event.status);
  if (ConsumeRecentSummary(key, event.time_ns)) {
    ++access_lines_matched_;
    return;
  }
  // A request known so far only from its error lines may still get its summary: in another
  // file read later, or later in this file's time order. So the line waits like any other and
  // is merged with those error lines only when its wait is over (FlushSameStreamAccess,
  // AdvanceTo); merging now counted the response twice once the summary came.
  if (pending_access_.size() >= options_.max_pending) {
    // Bounded: the oldest waiting line is counted now instead of waiting out its window.
    if (!pending_access_.front().matched) EmitAccess(pending_access_.front());
    PopPendingAccess();
  }
  PendingAccess access;
  access.key = key;
  access.time_ns = event.time_ns;
  access.queued_wall_ns = wall_ns_;
  access.stream = stream;
  access.queued_line = stream_events_[stream];
  access.summaries_in_stream = stream_has_summaries_[stream];
  access.source.assign(source);
  access.method.assign(event.method);
  access.uri.assign(event.uri);
  access.status = event.status;
  access.probe = event.probe;
  pending_access_.push_back(std::move(access));
  pending_access_index_[key].push_back(&pending_access_.back());
  if (pending_access_.back().summaries_in_stream) {
    same_stream_access_.push_back(&pending_access_.back());
  }
}

bool RequestJoiner::SameStreamWaitOver(const PendingAccess& access) const {
  if (stream_events_[access.stream] - access.queued_line >= kSameStreamLookahead) return true;
  return wall_ns_ != 0 && wall_ns_ - access.queued_wall_ns >= kSameStreamWallWaitNs;
}

// Counts the waiting lines whose summary would have been read by now (see the class comment).
// They stay in pending_access_, marked matched, until its own order drops them.
void RequestJoiner::FlushSameStreamAccess() {
  while (!same_stream_access_.empty() && SameStreamWaitOver(*same_stream_access_.front())) {
    PendingAccess& access = *same_stream_access_.front();
    same_stream_access_.pop_front();
    if (access.matched) continue;
    if (!MergeWithPending(access)) EmitAccess(access);
    access.matched = true;
  }
}

// How far a summary's arrival is from an access line's start. The access log truncates the
// start to the second, so the best partner lies in [start, start + 1 s): measure from its middle.
static int64_t MatchDistance(int64_t access_start_ns, int64_t arrival_ns) {
  const int64_t distance = SaturatingSub(arrival_ns, SaturatingSub(access_start_ns, -500'000'000));
  return distance == INT64_MIN ? INT64_MAX : std::llabs(distance);
}

// Identical requests (GET /v2/, POSTs to one repository) share a key, so each line takes the
// closest partner, not the first one within tolerance: greedy first-fit strands later lines.
bool RequestJoiner::ConsumeRecentSummary(uint64_t key, int64_t start_ns) {
  auto summaries = recent_summaries_.find(key);
  if (summaries == recent_summaries_.end()) return false;
  KeyFifo<int64_t>& arrivals = summaries->second;
  auto best = arrivals.end();
  int64_t best_distance = kAccessMatchTolerance + 1;
  for (auto it = arrivals.begin(); it != arrivals.end(); ++it) {
    // In reading order, so roughly in arrival order: far past the line's start, none is closer
    // (the slack covers long requests finishing out of order).
    if (SaturatingSub(*it, start_ns) > 4 * kAccessMatchTolerance) break;
    const int64_t distance = MatchDistance(start_ns, *it);
    if (distance < best_distance) {
      best = it;
      best_distance = distance;
    }
  }
  if (best == arrivals.end()) return false;
  arrivals.erase(best);
  if (arrivals.empty()) recent_summaries_.erase(summaries);
  return true;
}

bool RequestJoiner::ConsumePendingAccess(uint64_t key, int64_t arrival_ns) {
  auto lines = pending_access_index_.find(key);
  if (lines == pending_access_index_.end()) return false;
  KeyFifo<PendingAccess*>& same_key = lines->second;
  // Matched lines at the front are never a partner again: dropped here, so that a long run of
  // identical requests is not scanned again for every summary.
  while (!same_key.empty() && same_key.front()->matched) same_key.pop_front();
  PendingAccess* best = nullptr;
  int64_t best_distance = kAccessMatchTolerance + 1;
  for (PendingAccess* access : same_key) {
    if (access->matched) continue;
    // Lines are in reading order, which is time order within a file: past the tolerance on the
    // late side, no later line is closer.
    if (SaturatingSub(access->time_ns, arrival_ns) > 2 * kAccessMatchTolerance) break;
    const int64_t distance = MatchDistance(access->time_ns, arrival_ns);
    if (distance < best_distance) {  // ties: the oldest line, so a run is consumed from its front
      best = access;
      best_distance = distance;
    }
  }
  if (best == nullptr) return false;
  best->matched = true;
  ++access_lines_matched_;
  return true;
}

void RequestJoiner::PopPendingAccess() {
  PendingAccess* front = &pending_access_.front();
  if (!same_stream_access_.empty() && same_stream_access_.front() == front) {
    same_stream_access_.pop_front();
  }
  // The oldest line of all is the oldest of its key, unless ConsumePendingAccess dropped it.
  auto lines = pending_access_index_.find(front->key);
  if (lines != pending_access_index_.end()) {
    if (!lines->second.empty() && lines->second.front() == front) lines->second.pop_front();
    if (lines->second.empty()) pending_access_index_.erase(lines);
  }
  pending_access_.pop_front();
}

void RequestJoiner::RememberSummary(uint64_t key, int64_t arrival_ns) {
  recent_summaries_[key].push_back(arrival_ns);
  recent_order_.push_back({key, arrival_ns, wall_ns_});
  if (recent_order_.size() > options_.max_pending * 2) ForgetOldestSummary();
}

void RequestJoiner::DropPending(std::unordered_map<std::string, Pending>::iterator it) {
  const Pending& pending = it->second;
  if (!pending.uri.empty()) {
    auto [begin, end] = pending_by_key_.equal_range(ResponseKey(pending.method, pending.uri, 0));
    for (auto entry = begin; entry != end; ++entry) {
      if (entry->second == it->first) {
        pending_by_key_.erase(entry);
        break;
      }
    }
  }
  pending_.erase(it);
}

const std::string* RequestJoiner::FindPendingFor(uint64_t method_uri_key,
                                                 int64_t access_start_ns) const {
  // Identical requests (a burst of 401s on GET /v2/) wait together: each access line takes the
  // closest, so that no line takes another's partner and strands its own request, which then
  // counted twice (alone with status unknown, and its line alone).
  auto [begin, end] = pending_by_key_.equal_range(method_uri_key);
  const std::string* best = nullptr;
  int64_t best_distance = INT64_MAX;
  for (auto it = begin; it != end; ++it) {
    auto pending = pending_.find(it->second);
    if (pending == pending_.end() || !pending->second.has_error_lines) continue;
    // The error lines are written while the request runs, after the (truncated) start second.
    const int64_t delta = SaturatingSub(pending->second.first_time_ns, access_start_ns);
    if (delta < -kAccessMatchTolerance || delta > 2 * kAccessMatchTolerance) continue;
    const int64_t distance = MatchDistance(access_start_ns, pending->second.first_time_ns);
    if (distance < best_distance) {
      best = &it->second;
      best_distance = distance;
    }
  }
  return best;
}

bool RequestJoiner::MergeWithPending(const PendingAccess& access) {
  const std::string* id = FindPendingFor(ResponseKey(access.method, access.uri, 0), access.time_ns);
  if (id == nullptr) return false;
  auto pending = pending_.find(*id);
  EmitPending(pending->first, pending->second, access.status);
  DropPending(pending);
  ++access_lines_matched_;
  return true;
}

void RequestJoiner::EmitPending(const std::string& id, Pending& pending, int status) {
  if (status == 0) {
    // Its access line may be waiting: then that line gives the status and is not counted twice.
    // Newest first, and only as far back as a partner could be: the scan stays short even
    // when many lines wait (an attacker controls how many requests end without a summary).
    for (auto it = pending_access_.rbegin(); it != pending_access_.rend(); ++it) {
      PendingAccess& access = *it;
      const int64_t delta = SaturatingSub(pending.first_time_ns, access.time_ns);
      if (delta > 2 * kAccessMatchTolerance) break;
      if (!access.matched && access.method == pending.method && access.uri == pending.uri &&
          delta >= -kAccessMatchTolerance) {
        access.matched = true;
        status = access.status;
        ++access_lines_matched_;
        break;
      }
    }
  }
  JoinedRequest request;
  request.status = status;
  request.origin = JoinedRequest::Origin::kErrorLines;
  request.source = pending.source;
  request.time_ns = pending.last_time_ns;
  request.arrival_ns = pending.first_time_ns;
  request.request_id = id;
  request.method = pending.method;
  request.uri = pending.uri;
  request.repository = pending.repository;
  request.upload_uuid = pending.upload_uuid;
  request.level = pending.level;
  request.msg = pending.last_msg;
  request.err_detail = pending.detail;
  request.err_code = pending.err_code;
  request.err_message = pending.err_message;
  request.messages = pending.messages;
  request.probe = pending.probe;
  Emit(request);
}

void RequestJoiner::EmitAccess(const PendingAccess& access) {
  JoinedRequest request;
  request.origin = JoinedRequest::Origin::kAccessLog;
  request.source = access.source;
  request.time_ns = request.arrival_ns = access.time_ns;
  request.method = access.method;
  request.uri = access.uri;
  request.status = access.status;
  request.level = Level::kInfo;
  request.probe = access.probe;
  Emit(request);
}

void RequestJoiner::Emit(JoinedRequest& request) {
  const tailers::UriInfo info = tailers::ParseRegistryUri(request.method, request.uri);
  request.operation = info.operation;
  if (request.repository.empty()) request.repository = info.repository;
  // Only failures need the upload's age; decoding every successful PATCH would be waste.
  if (request.IsError() && request.uri.find("_state=") != std::string_view::npos) {
    request.upload_state = tailers::DecodeUploadState(request.uri, &upload_scratch_);
    if (request.upload_state.valid && request.arrival_ns != 0) {
      request.upload_age_seconds = static_cast<double>(SaturatingSub(
                                       request.arrival_ns, request.upload_state.started_at_ns)) /
                                   1e9;
      if (request.repository.empty()) request.repository = request.upload_state.name;
      if (request.upload_uuid.empty()) request.upload_uuid = request.upload_state.uuid;
    }
  }
  sink_->OnRequest(request);
}

void RequestJoiner::AdvanceTo(int64_t now_ns, int64_t wall_ns) {
  if (now_ns > now_ns_) now_ns_ = now_ns;
  if (wall_ns > wall_ns_) wall_ns_ = wall_ns;
  if (now_ns_ == 0) return;
  const int64_t error_deadline = now_ns_ - options_.window_ns;
  while (!pending_order_.empty() && pending_order_.front().first_time_ns < error_deadline &&
         Waited(pending_order_.front().queued_wall_ns)) {
    auto it = pending_.find(pending_order_.front().id);
    if (it != pending_.end() && it->second.first_time_ns == pending_order_.front().first_time_ns) {
      if (it->second.has_error_lines) EmitPending(it->first, it->second);
      DropPending(it);
    }
    pending_order_.pop_front();
  }
  FlushSameStreamAccess();
  const int64_t access_deadline = now_ns_ - options_.access_window_ns;
  while (!pending_access_.empty() && pending_access_.front().time_ns < access_deadline &&
         Waited(pending_access_.front().queued_wall_ns)) {
    if (!pending_access_.front().matched && !MergeWithPending(pending_access_.front())) {
      EmitAccess(pending_access_.front());
    }
    PopPendingAccess();
  }
  ExpireRecent(access_deadline - kAccessMatchTolerance);
  while (!reported_order_.empty() && reported_order_.front().time_ns < error_deadline &&
         Waited(reported_order_.front().queued_wall_ns)) {
    reported_errors_.erase(reported_order_.front().id);
    reported_order_.pop_front();
  }
}

void RequestJoiner::ExpireRecent(int64_t deadline_ns) {
  while (!recent_order_.empty() && recent_order_.front().arrival_ns < deadline_ns &&
         Waited(recent_order_.front().queued_wall_ns)) {
    ForgetOldestSummary();
  }
}

void RequestJoiner::ForgetOldestSummary() {
  const RecentSummary oldest = recent_order_.front();
  recent_order_.pop_front();
  // The oldest remembered is the oldest of its key, unless an access line consumed it already.
  auto summaries = recent_summaries_.find(oldest.key);
  if (summaries == recent_summaries_.end()) return;
  auto it = std::find(summaries->second.begin(), summaries->second.end(), oldest.arrival_ns);
  if (it != summaries->second.end()) summaries->second.erase(it);
  if (summaries->second.empty()) recent_summaries_.erase(summaries);
}

void RequestJoiner::FlushAll() {
  for (const PendingOrder& order : pending_order_) {
    auto it = pending_.find(order.id);
    if (it != pending_.end() && it->second.first_time_ns == order.first_time_ns) {
      if (it->second.has_error_lines) EmitPending(it->first, it->second);
      DropPending(it);
    }
  }
  pending_order_.clear();
  pending_.clear();
  for (const PendingAccess& access : pending_access_) {
    if (!access.matched) EmitAccess(access);
  }
  pending_access_.clear();
  pending_access_index_.clear();
  same_stream_access_.clear();
  pending_by_key_.clear();
  recent_summaries_.clear();
  recent_order_.clear();
}

}  // namespace rrca::pipeline
