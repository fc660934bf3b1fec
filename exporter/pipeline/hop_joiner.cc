#include "exporter/pipeline/hop_joiner.h"

#include <algorithm>

#include "common/time_util.h"
#include "tailers/parse/registry/registry_uri.h"

namespace rrca::pipeline {
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

// Appends a raw line to `lines` ('\n'-separated), keeping at most HopJoiner::kMaxLineBytes and
// never cutting a UTF-8 sequence.
void AppendLine(std::string_view line, std::string* lines) {
  if (!lines->empty()) {
    if (lines->size() + 1 >= HopJoiner::kMaxLineBytes) return;
    lines->push_back('\n');
  }
  size_t room = HopJoiner::kMaxLineBytes - lines->size();
  if (line.size() > room) {
    while (room > 0 && (static_cast<unsigned char>(line[room]) & 0xC0) == 0x80) --room;
    line = line.substr(0, room);
  }
  lines->append(line);
}

// `text` cut to at most HopJoiner::kMaxLineBytes, never inside a UTF-8 sequence.
std::string Capped(std::string_view text) {
  std::string out;
  AppendLine(text, &out);
  return out;
}

// Two X-Request-Ids that are both known and differ: the lines are of different requests.
bool IdsDiffer(std::string_view a, std::string_view b) {
  return !a.empty() && !b.empty() && a != b;
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

// The other line (error or access) of the same nginx response: by the X-Request-Id both carry,
// else by the key, written within the tolerance.
HopJoiner::PendingList::iterator HopJoiner::OtherLineOf(const HopEvent& event,
                                                        const std::string& key) {
  const bool access = event.kind == HopEvent::Kind::kAccess;
  auto complements = [access](const Pending& other) {
    return other.hop == Hop::kProxy && !(access ? other.has_access : other.has_error);
  };
  if (!event.request_id.empty()) {
    auto [begin, end] = pending_by_id_.equal_range(std::string(event.request_id));
    for (auto found = begin; found != end; ++found) {
      if (complements(*found->second)) return found->second;
    }
  }
  if (key.empty()) return pending_.end();
  auto [begin, end] = pending_by_key_.equal_range(key);
  for (auto found = begin; found != end; ++found) {
    Pending& other = *found->second;
    if (!complements(other) || IdsDiffer(other.request_id, event.request_id)) continue;
    if (std::llabs(SaturatingSub(other.end_ns, event.time_ns)) > options_.tolerance_ns) continue;
    return found->second;
  }
  return pending_.end();
}

HopJoiner::Pending* HopJoiner::PendingWithId(std::string_view id, Hop hop) {
  if (id.empty()) return nullptr;
  auto [begin, end] = pending_by_id_.equal_range(std::string(id));
  for (auto found = begin; found != end; ++found) {
    if (found->second->hop == hop) return &*found->second;
  }
  return nullptr;
}

void HopJoiner::OnProxyEvent(const HopEvent& event, std::string_view source) {
  const bool access = event.kind == HopEvent::Kind::kAccess;
  std::string key = event.uri.empty() ? std::string() : JoinKey(event.method, event.uri);
  if (auto found = OtherLineOf(event, key); found != pending_.end()) {
    Pending* other = &*found;
    if (access) {
      other->has_access = true;
      other->status = event.status;
      other->request_time_ns = event.request_time_ns;
      other->end_ns = std::max(other->end_ns, event.time_ns);
    } else {
      other->has_error = true;
      other->message = std::string(event.message);
    }
    if (other->request_id.empty() && !event.request_id.empty()) {
      other->request_id = std::string(event.request_id);
      pending_by_id_.emplace(other->request_id, found);
    }
    AppendLine(event.line, &other->line);
    ++stats_.lines_merged;
    if (!other->registry_seen) MatchIndex(*other);
    AbsorbCore(*other);
    return;
  }
  Pending pending;
  pending.hop = Hop::kProxy;
  pending.source = std::string(source);
  pending.key = std::move(key);
  pending.method = std::string(event.method);
  pending.uri = std::string(event.uri);
  pending.end_ns = event.time_ns;
  pending.request_id = std::string(event.request_id);
  AppendLine(event.line, &pending.line);
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
  // Evidence of a proxy response that was waiting when the core line came? The one with the
  // same X-Request-Id whatever the times, else one whose time covers it (and whose id, when
  // both have one, is the same).
  Pending* proxy = PendingWithId(event.request_id, Hop::kProxy);
  if (proxy != nullptr && !proxy->has_core) {
    ++stats_.request_id_joins;
  } else {
    proxy = nullptr;
    for (Pending& candidate : pending_) {
      if (candidate.hop != Hop::kProxy || candidate.has_core ||
          IdsDiffer(candidate.request_id, event.request_id)) {
        continue;
      }
      if (Overlaps(candidate, event.time_ns)) {
        proxy = &candidate;
        break;
      }
    }
  }
  if (proxy != nullptr) {
    proxy->has_core = true;
    proxy->messages += "core: " + std::string(event.message) + "\n";
    AppendLine(event.line, &proxy->line);
    ++stats_.core_attached;
    return;
  }
  Pending pending;
  pending.hop = Hop::kCore;
  pending.source = std::string(source);
  pending.has_error = true;
  pending.message = std::string(event.message);
  pending.end_ns = event.time_ns;
  pending.method = std::string(event.method);
  pending.uri = std::string(event.uri);
  pending.request_id = std::string(event.request_id);
  AppendLine(event.line, &pending.line);
  if (!pending.uri.empty()) pending.key = JoinKey(pending.method, pending.uri);
  auto it = Add(std::move(pending));
  if (it->key.empty()) {
    ++lone_core_;
  } else {
    MatchIndex(*it);
  }
}

// A core line that waited alone and belongs to `proxy` (same X-Request-Id, else inside its
// time) is its evidence instead.
void HopJoiner::AbsorbCore(Pending& proxy) {
  if (proxy.has_core || lone_core_ == 0) return;
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->hop != Hop::kCore || !it->key.empty()) continue;
    const bool same_id = !proxy.request_id.empty() && it->request_id == proxy.request_id;
    if (!same_id && (IdsDiffer(proxy.request_id, it->request_id) || !Overlaps(proxy, it->end_ns))) {
      continue;
    }
    if (same_id) ++stats_.request_id_joins;
    proxy.has_core = true;
    proxy.messages += "core: " + it->message + "\n";
    AppendLine(it->line, &proxy.line);
    ++stats_.core_attached;
    --lone_core_;
    Unlink(it);
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
  if (!it->request_id.empty()) pending_by_id_.emplace(it->request_id, it);
  return it;
}

// Removes `it` from the lookup maps (not from pending_).
void HopJoiner::Unlink(PendingList::iterator it) {
  for (auto* map : {&pending_by_key_, &pending_by_id_}) {
    const std::string& name = map == &pending_by_key_ ? it->key : it->request_id;
    if (name.empty()) continue;
    auto [begin, end] = map->equal_range(name);
    for (auto found = begin; found != end; ++found) {
      if (found->second == it) {
        map->erase(found);
        break;
      }
    }
  }
}

// The registry's response that came before the hop's line: the one with the hop's X-Request-Id,
// else the latest whose arrival lies in the hop's time.
void HopJoiner::MatchIndex(Pending& pending) {
  if (pending.key.empty() || pending.registry_seen) return;
  auto found = index_.find(pending.key);
  if (found == index_.end()) return;
  Indexed* best = nullptr;
  bool by_id = false;
  for (Indexed& entry : found->second) {
    if (entry.consumed) continue;
    if (!pending.request_id.empty() && entry.request_id == pending.request_id) {
      best = &entry;
      by_id = true;
      break;
    }
    if (!Overlaps(pending, entry.arrival_ns)) continue;
    if (best == nullptr || entry.arrival_ns > best->arrival_ns) best = &entry;
  }
  if (best == nullptr) return;
  if (by_id) ++stats_.request_id_joins;
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
  Pending* best = nullptr;
  if (!request.request_id.empty()) {
    auto [begin, end] = pending_by_id_.equal_range(std::string(request.request_id));
    for (auto found = begin; found != end; ++found) {
      if (!found->second->registry_seen && found->second->key == key) {
        best = &*found->second;
        ++stats_.request_id_joins;
        break;
      }
    }
  }
  if (best == nullptr) {
    auto [begin, end] = pending_by_key_.equal_range(key);
    for (auto found = begin; found != end; ++found) {
      Pending& pending = *found->second;
      if (pending.registry_seen || !Overlaps(pending, arrival)) continue;
      if (best == nullptr || pending.end_ns < best->end_ns) best = &pending;
    }
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
  if (request.request_id.size() <= 64) entry.request_id = std::string(request.request_id);
  entry.arrival_ns = arrival;
  entry.end_ns = request.time_ns;
  entry.status = request.status;
  entry.duration_ns = request.duration_ns;
  entry.error = request.IsError();
  Index(key, std::move(entry));
  return {};
}

void HopJoiner::Index(const std::string& key, Indexed entry) {
  if (index_order_.size() >= options_.max_index) {
    ++stats_.index_evicted;
    ExpireIndex(INT64_MIN);  // drops exactly the oldest
  }
  index_order_.emplace_back(entry.end_ns, key);
  index_[key].push_back(std::move(entry));
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
    Remember(pending, nullptr);
  } else if (pending.registry_seen && pending.registry_counted) {
    ++stats_.registry_first;
    Remember(pending, nullptr);
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
    request.request_id = pending.request_id;
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
    Remember(pending, &request);
    if (sink_ != nullptr) sink_->OnHopRequest(request);
  }
  if (pending.hop == Hop::kCore && pending.key.empty()) --lone_core_;
  Unlink(it);
  pending_.erase(it);
}

// Keeps a decided hop response of an upload's request for HistoryOf (bounded, counted).
void HopJoiner::Remember(const Pending& pending, const JoinedRequest* counted) {
  const size_t at = pending.key.find(" upload:");
  if (at == std::string::npos || options_.max_history_uploads == 0 ||
      options_.max_history_per_upload == 0) {
    return;
  }
  const std::string uuid = pending.key.substr(at + 8);
  auto found = history_.find(uuid);
  if (found == history_.end()) {
    if (history_.size() >= options_.max_history_uploads) EvictOldestUpload();
    history_order_.push_back(uuid);
    found = history_.emplace(uuid, std::deque<HopRecord>()).first;
  }
  std::deque<HopRecord>& records = found->second;
  if (records.size() >= options_.max_history_per_upload) {
    ++stats_.history_hops_dropped;
    history_bytes_ -= records.front().Bytes();
    records.pop_front();
  }
  HopRecord& record = records.emplace_back();
  record.hop = pending.hop;
  record.origin =
      pending.has_access ? JoinedRequest::Origin::kAccessLog : JoinedRequest::Origin::kErrorLines;
  record.end_ns = pending.end_ns;
  record.time_ns = pending.request_time_ns >= 0
                       ? SaturatingSub(pending.end_ns, pending.request_time_ns)
                       : pending.end_ns;
  record.method = Capped(pending.method);
  record.uri = Capped(pending.uri);
  const tailers::UriInfo info = tailers::ParseRegistryUri(pending.method, pending.uri);
  record.repository = Capped(info.repository);
  record.operation = info.operation;
  record.status = pending.VisibleStatus();
  record.duration_ns = pending.request_time_ns;
  record.counted = counted != nullptr;
  record.registry_status = pending.registry_seen ? pending.registry_status : 0;
  record.registry_duration_ns = pending.registry_seen ? pending.registry_duration_ns : -1;
  record.request_id = Capped(pending.request_id);
  record.source = Capped(pending.source);
  record.message = Capped(pending.message);
  record.messages = Capped(pending.messages);
  record.line = pending.line;
  history_bytes_ += record.Bytes();
  // The byte budget: the oldest uploads go, never the one just kept.
  while (history_bytes_ > options_.max_history_bytes && history_order_.front() != uuid) {
    EvictOldestUpload();
  }
}

void HopJoiner::EvictOldestUpload() {
  if (history_order_.empty()) return;
  ++stats_.history_uploads_evicted;
  auto found = history_.find(history_order_.front());
  if (found != history_.end()) {
    for (const HopRecord& record : found->second) history_bytes_ -= record.Bytes();
    history_.erase(found);
  }
  history_order_.pop_front();
}

size_t HopJoiner::HopRecord::Bytes() const {
  return sizeof(HopRecord) + method.size() + uri.size() + repository.size() + request_id.size() +
         source.size() + message.size() + messages.size() + line.size();
}

const std::deque<HopJoiner::HopRecord>* HopJoiner::HistoryOf(std::string_view uuid) const {
  auto found = history_.find(std::string(uuid));
  return found == history_.end() ? nullptr : &found->second;
}

JoinedRequest HopJoiner::HopRecord::AsRequest() const {
  JoinedRequest request;
  request.origin = origin;
  request.hop = hop;
  request.source = source;
  request.time_ns = end_ns;
  request.arrival_ns = time_ns;
  request.request_id = request_id;
  request.method = method;
  request.uri = uri;
  request.repository = repository;
  request.operation = operation;
  request.status = status;
  request.duration_ns = duration_ns;
  request.level = Level::kError;
  request.msg = message;
  request.messages = messages;
  request.registry_status = registry_status;
  request.registry_duration_ns = registry_duration_ns;
  return request;
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

}  // namespace rrca::pipeline
