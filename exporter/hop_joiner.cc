#include "exporter/hop_joiner.h"

#include <algorithm>

#include "common/time_util.h"
#include "tailers/registry_uri.h"

namespace rrca::exporter {
namespace {

bool IsUuidChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-';
}

// The status an error line implies when no access line of the response came: nginx answers
// 504 when the upstream timed out and 502 for every other upstream failure; core's reverse
// proxy writes 502, except that a canceled request has no client left (nginx's 499).
int ImpliedStatus(Hop hop, std::string_view message) {
  if (hop == Hop::kCore)
    return message.find("context canceled") != std::string_view::npos ? 499 : 502;
  if (message.find("timed out") != std::string_view::npos &&
      message.find("while connecting to upstream") == std::string_view::npos) {
    return 504;
  }
  return 502;
}

}  // namespace

std::string HopJoiner::JoinKey(std::string_view method, std::string_view uri) {
  std::string_view path = uri.substr(0, uri.find('?'));
  const size_t uploads = path.find("/blobs/uploads/");
  if (uploads != std::string_view::npos) {
    std::string_view uuid = path.substr(uploads + 15);
    size_t end = 0;
    while (end < uuid.size() && IsUuidChar(uuid[end])) ++end;
    if (end >= 32) return std::string(method) + " upload:" + std::string(uuid.substr(0, end));
  }
  return std::string(method) + " " + std::string(path);
}

int HopJoiner::Pending::VisibleStatus() const {
  return has_access ? status : ImpliedStatus(hop, message);
}

bool HopJoiner::Overlaps(const Pending& pending, int64_t registry_arrival_ns) const {
  return registry_arrival_ns >=
             SaturatingSub(pending.EarliestArrival(options_.window_ns), options_.tolerance_ns) &&
         registry_arrival_ns <= SaturatingAdd(pending.end_ns, options_.tolerance_ns);
}

void HopJoiner::OnHopEvent(const HopEvent& event, std::string_view source) {
  if (event.hop == Hop::kCore) {
    OnCoreEvent(event, source);
  } else {
    OnProxyEvent(event, source);
  }
}

void HopJoiner::OnProxyEvent(const HopEvent& event, std::string_view source) {
  const bool access = event.kind == HopEvent::Kind::kAccess;
  std::string key = event.uri.empty() ? std::string() : JoinKey(event.method, event.uri);
  // The other line of the same response: an error line waiting for its access line or the
  // reverse, written within the tolerance.
  if (!key.empty()) {
    auto [begin, end] = pending_by_key_.equal_range(key);
    for (auto found = begin; found != end; ++found) {
      Pending& other = *found->second;
      if (other.hop != Hop::kProxy || (access ? other.has_access : other.has_error)) continue;
      if (std::llabs(SaturatingSub(other.end_ns, event.time_ns)) > options_.tolerance_ns) continue;
      if (access) {
        other.has_access = true;
        other.status = event.status;
        other.request_time_ns = event.request_time_ns;
        other.end_ns = std::max(other.end_ns, event.time_ns);
      } else {
        other.has_error = true;
        other.message = std::string(event.message);
      }
      ++stats_.lines_merged;
      if (!other.registry_seen) MatchIndex(other);
      AbsorbCore(other);
      return;
    }
  }
  Pending pending;
  pending.hop = Hop::kProxy;
  pending.source = std::string(source);
  pending.key = std::move(key);
  pending.method = std::string(event.method);
  pending.uri = std::string(event.uri);
  pending.end_ns = event.time_ns;
  if (access) {
    pending.has_access = true;
    pending.status = event.status;
    pending.request_time_ns = event.request_time_ns;
  } else {
    pending.has_error = true;
    pending.message = std::string(event.message);
  }
  auto it = Add(std::move(pending));
  MatchIndex(*it);
  AbsorbCore(*it);
}

void HopJoiner::OnCoreEvent(const HopEvent& event, std::string_view source) {
  // Evidence of a proxy response that was waiting when the core line came?
  for (Pending& proxy : pending_) {
    if (proxy.hop != Hop::kProxy || proxy.has_core) continue;
    if (Overlaps(proxy, event.time_ns)) {
      proxy.has_core = true;
      proxy.messages += "core: " + std::string(event.message) + "\n";
      ++stats_.core_attached;
      return;
    }
  }
  Pending pending;
  pending.hop = Hop::kCore;
  pending.source = std::string(source);
  pending.has_error = true;
  pending.message = std::string(event.message);
  pending.end_ns = event.time_ns;
  pending.method = std::string(event.method);
  pending.uri = std::string(event.uri);
  if (!pending.uri.empty()) pending.key = JoinKey(pending.method, pending.uri);
  auto it = Add(std::move(pending));
  if (it->key.empty()) {
    ++lone_core_;
  } else {
    MatchIndex(*it);
  }
}

// A core line that waited alone and falls inside `proxy`'s time is its evidence instead.
void HopJoiner::AbsorbCore(Pending& proxy) {
  if (proxy.has_core || lone_core_ == 0) return;
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->hop != Hop::kCore || !it->key.empty() || !Overlaps(proxy, it->end_ns)) continue;
    proxy.has_core = true;
    proxy.messages += "core: " + it->message + "\n";
    ++stats_.core_attached;
    --lone_core_;
    pending_.erase(it);
    return;
  }
}

HopJoiner::PendingList::iterator HopJoiner::Add(Pending pending) {
  if (pending_.size() >= options_.max_pending) {
    ++stats_.pending_forced;
    Emit(pending_.begin());
  }
  pending_.push_back(std::move(pending));
  auto it = std::prev(pending_.end());
  if (!it->key.empty()) pending_by_key_.emplace(it->key, it);
  return it;
}

// The registry's response that came before the hop's line.
void HopJoiner::MatchIndex(Pending& pending) {
  if (pending.key.empty() || pending.registry_seen) return;
  auto found = index_.find(pending.key);
  if (found == index_.end()) return;
  Indexed* best = nullptr;
  for (Indexed& entry : found->second) {
    if (entry.consumed || !Overlaps(pending, entry.arrival_ns)) continue;
    if (best == nullptr || entry.arrival_ns > best->arrival_ns) best = &entry;
  }
  if (best == nullptr) return;
  best->consumed = true;
  pending.registry_seen = true;
  pending.registry_status = best->status;
  pending.registry_duration_ns = best->duration_ns;
  pending.registry_counted = best->error;
}

HopJoiner::Answer HopJoiner::OnRegistryResponse(const JoinedRequest& request) {
  if (request.origin == JoinedRequest::Origin::kBackground || request.uri.empty()) return {};
  const std::string key = JoinKey(request.method, request.uri);
  const int64_t arrival =
      request.arrival_ns != 0
          ? request.arrival_ns
          : (request.duration_ns >= 0 ? SaturatingSub(request.time_ns, request.duration_ns)
                                      : request.time_ns);
  auto [begin, end] = pending_by_key_.equal_range(key);
  Pending* best = nullptr;
  for (auto found = begin; found != end; ++found) {
    Pending& pending = *found->second;
    if (pending.registry_seen || !Overlaps(pending, arrival)) continue;
    if (best == nullptr || pending.end_ns < best->end_ns) best = &pending;
  }
  if (best != nullptr) {
    best->registry_seen = true;
    best->registry_status = request.status;
    best->registry_duration_ns = request.duration_ns;
    // The registry logged what the client saw: its count stands. Otherwise the hop's answer is
    // the client's, and a registry error is the consequence (nginx gave up and closed).
    Answer answer;
    answer.client_status = best->VisibleStatus();
    answer.superseded = request.IsError() && request.status != answer.client_status;
    if (answer.superseded) ++stats_.superseded;
    return answer;
  }
  Indexed entry;
  entry.arrival_ns = arrival;
  entry.end_ns = request.time_ns;
  entry.status = request.status;
  entry.duration_ns = request.duration_ns;
  entry.error = request.IsError();
  Index(key, entry);
  return {};
}

void HopJoiner::Index(const std::string& key, const Indexed& entry) {
  if (index_order_.size() >= options_.max_index) {
    ++stats_.index_evicted;
    ExpireIndex(INT64_MIN);  // drops exactly the oldest
  }
  index_[key].push_back(entry);
  index_order_.emplace_back(entry.end_ns, key);
}

// Forgets registry responses that ended before `cutoff_ns`; INT64_MIN: the oldest one.
void HopJoiner::ExpireIndex(int64_t cutoff_ns) {
  const bool one = cutoff_ns == INT64_MIN;
  while (!index_order_.empty() && (one || index_order_.front().first < cutoff_ns)) {
    auto found = index_.find(index_order_.front().second);
    if (found != index_.end()) {
      found->second.erase(found->second.begin());
      if (found->second.empty()) index_.erase(found);
    }
    index_order_.pop_front();
    if (one) return;
  }
}

void HopJoiner::Emit(PendingList::iterator it) {
  Pending& pending = *it;
  const int visible = pending.VisibleStatus();
  if (pending.registry_seen && pending.registry_status == visible) {
    ++stats_.relayed;
  } else if (pending.registry_seen && pending.registry_counted) {
    ++stats_.registry_first;
  } else {
    JoinedRequest request;
    request.origin =
        pending.has_access ? JoinedRequest::Origin::kAccessLog : JoinedRequest::Origin::kErrorLines;
    request.hop = pending.hop;
    request.source = pending.source;
    request.time_ns = pending.end_ns;
    request.arrival_ns = pending.request_time_ns >= 0
                             ? SaturatingSub(pending.end_ns, pending.request_time_ns)
                             : pending.end_ns;
    request.method = pending.method;
    request.uri = pending.uri;
    const tailers::UriInfo info = tailers::ParseRegistryUri(pending.method, pending.uri);
    request.operation = info.operation;
    request.repository = info.repository;
    if (pending.key.find(" upload:") != std::string::npos) {
      request.upload_uuid = std::string_view(pending.key).substr(pending.key.find(':') + 1);
    }
    request.status = visible;
    request.duration_ns = pending.request_time_ns;
    request.level = Level::kError;
    request.msg = pending.message;
    request.messages = pending.messages;
    request.registry_status = pending.registry_seen ? pending.registry_status : 0;
    request.registry_duration_ns = pending.registry_seen ? pending.registry_duration_ns : -1;
    ++stats_.counted;
    if (sink_ != nullptr) sink_->OnHopRequest(request);
  }
  if (pending.hop == Hop::kCore && pending.key.empty()) --lone_core_;
  if (!pending.key.empty()) {
    auto [begin, end] = pending_by_key_.equal_range(pending.key);
    for (auto found = begin; found != end; ++found) {
      if (found->second == it) {
        pending_by_key_.erase(found);
        break;
      }
    }
  }
  pending_.erase(it);
}

void HopJoiner::AdvanceTo(int64_t log_time_ns) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto next = std::next(it);
    if (SaturatingAdd(it->end_ns, options_.window_ns) <= log_time_ns) Emit(it);
    it = next;
  }
  ExpireIndex(
      SaturatingSub(log_time_ns, SaturatingAdd(options_.window_ns, 2 * options_.tolerance_ns)));
}

void HopJoiner::FlushAll() {
  while (!pending_.empty()) Emit(pending_.begin());
  index_.clear();
  index_order_.clear();
}

}  // namespace rrca::exporter
