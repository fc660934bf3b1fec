// The joiner's durable state: what it holds between reading a line and counting its response.
// Saved with the positions at every scrape, so that a restart neither loses a response that
// was waiting for its partner (the positions already moved past its lines) nor counts one twice
// (a summary already counted whose access line comes after the restart).
#include <nlohmann/json.hpp>

#include "common/json_escape.h"
#include "exporter/pipeline/joiner.h"
#include "exporter/pipeline/state_json.h"

namespace rrca::pipeline {

using nlohmann::json;

// Stream ids are the pipeline's and mean nothing to the next process: a restored access line
// is treated as one whose summary may be in another file (it waits access_window), which
// can only make it wait longer, never count it twice.
RequestJoiner::Waiting RequestJoiner::TakeWaiting() const {
  Waiting waiting;
  waiting.now_ns = now_ns_;
  waiting.requests.reserve(pending_order_.size());
  for (const PendingOrder& order : pending_order_) {
    auto it = pending_.find(order.id);
    if (it == pending_.end() || it->second.first_time_ns != order.first_time_ns) continue;
    waiting.requests.push_back({&it->first, &it->second, order.queued_wall_ns});
  }
  for (const PendingAccess& access : pending_access_) {
    if (!access.matched) waiting.access.push_back(&access);  // matched: kept only for order
  }
  for (const RecentSummary& summary : recent_order_) waiting.recent_summaries.push_back(&summary);
  for (const Reported& reported : reported_order_) waiting.reported_errors.push_back(&reported);
  return waiting;
}

namespace {

// The text is written directly, not through a JSON DOM: 100,000 waiting lines as a DOM took
// hundreds of MB per scrape (glibc keeps each worker thread's arena), as text about 10 MB.
void Str(std::string_view text, std::string* out) {
  out->push_back('"');
  AppendJsonEscaped(text, out);
  out->push_back('"');
}
void Num(int64_t value, std::string* out) { out->append(std::to_string(value)); }

// One element of a tuple: a string, or an integer.
void Element(std::string_view text, std::string* out) { Str(text, out); }
void Element(int64_t value, std::string* out) { Num(value, out); }
void Element(int value, std::string* out) { Num(value, out); }
void Element(uint64_t value, std::string* out) { out->append(std::to_string(value)); }

// A tuple's elements, comma-separated, without the brackets (a caller may append optional ones).
template <typename First, typename... Rest>
void Elements(std::string* out, const First& first, const Rest&... rest) {
  Element(first, out);
  ((out->push_back(','), Element(rest, out)), ...);
}

}  // namespace

// Access lines, the bulk of it, as arrays: [time, queued_wall, source, method, uri, status].
void RequestJoiner::AppendWaitingJson(const Waiting& waiting, std::string* out) {
  out->reserve(out->size() + 64 + waiting.access.size() * 96 + waiting.requests.size() * 512 +
               waiting.recent_summaries.size() * 64 + waiting.reported_errors.size() * 80);
  *out += "{\"now\":";
  Num(waiting.now_ns, out);
  *out += ",\"pending\":[";
  for (size_t i = 0; i < waiting.requests.size(); ++i) {
    const Waiting::Request& request = waiting.requests[i];
    const Pending& p = *request.pending;
    if (i > 0) out->push_back(',');
    *out += "{\"id\":";
    Str(*request.id, out);
    *out += ",\"source\":";
    Str(p.source, out);
    *out += ",\"first\":";
    Num(p.first_time_ns, out);
    *out += ",\"last\":";
    Num(p.last_time_ns, out);
    *out += ",\"queued_wall\":";
    Num(request.queued_wall_ns, out);
    *out += ",\"level\":";
    Num(static_cast<int>(p.level), out);
    *out += p.has_error_lines ? ",\"error_lines\":true" : ",\"error_lines\":false";
    if (p.probe) *out += ",\"probe\":true";  // registry-rca's own probe (absent: false)
    *out += ",\"writer_ns\":";
    Num(p.writer_duration_ns, out);
    const std::pair<const char*, const std::string*> strings[] = {
        {"method", &p.method},      {"uri", &p.uri},           {"repository", &p.repository},
        {"upload", &p.upload_uuid}, {"last_msg", &p.last_msg}, {"messages", &p.messages},
        {"detail", &p.detail},      {"err_code", &p.err_code}, {"err_message", &p.err_message}};
    for (const auto& [key, value] : strings) {
      *out += ",\"";
      *out += key;
      *out += "\":";
      Str(*value, out);
    }
    out->push_back('}');
  }
  *out += "],\"access\":[";
  for (size_t i = 0; i < waiting.access.size(); ++i) {
    const PendingAccess& a = *waiting.access[i];
    if (i > 0) out->push_back(',');
    out->push_back('[');
    Elements(out, a.time_ns, a.queued_wall_ns, std::string_view(a.source),
             std::string_view(a.method), std::string_view(a.uri), a.status);
    if (a.probe) *out += ",true";  // registry-rca's own probe (absent: false)
    out->push_back(']');
  }
  *out += "],\"recent_summaries\":[";
  for (size_t i = 0; i < waiting.recent_summaries.size(); ++i) {
    const RecentSummary& r = *waiting.recent_summaries[i];
    if (i > 0) out->push_back(',');
    out->push_back('[');
    Elements(out, r.key, r.arrival_ns, r.queued_wall_ns);
    out->push_back(']');
  }
  *out += "],\"reported_errors\":[";
  for (size_t i = 0; i < waiting.reported_errors.size(); ++i) {
    const Reported& r = *waiting.reported_errors[i];
    if (i > 0) out->push_back(',');
    out->push_back('[');
    Elements(out, r.time_ns, std::string_view(r.id), r.queued_wall_ns);
    out->push_back(']');
  }
  *out += "]}";
}

json RequestJoiner::WaitingJson(const Waiting& waiting) {
  std::string text;
  AppendWaitingJson(waiting, &text);
  return json::parse(text);
}

json RequestJoiner::SaveState() const { return WaitingJson(TakeWaiting()); }

Status RequestJoiner::RestoreState(const json& state) {
  // Built aside and swapped in: a state that does not read leaves the joiner as it was.
  RequestJoiner restored(options_, sink_);
  try {
    restored.now_ns_ = StateInteger<int64_t>(state.at("now"));
    for (const json& p : state.at("pending")) {
      if (restored.pending_.size() >= options_.max_pending) break;
      const std::string id = p.at("id").get<std::string>();
      auto [it, inserted] = restored.pending_.try_emplace(id);
      if (!inserted) continue;
      Pending& pending = it->second;
      pending.source = p.at("source").get<std::string>();
      pending.first_time_ns = StateInteger<int64_t>(p.at("first"));
      pending.last_time_ns = StateInteger<int64_t>(p.at("last"));
      const int level = StateInteger<int>(p.at("level"));
      if (level < static_cast<int>(Level::kUnknown) || level > static_cast<int>(Level::kPanic)) {
        return Status::Corruption("pending request " + id + ": level out of range");
      }
      pending.level = static_cast<Level>(level);
      pending.has_error_lines = p.at("error_lines").get<bool>();
      pending.probe = p.value("probe", false);
      pending.writer_duration_ns = StateInteger<int64_t>(p.at("writer_ns"));
      pending.method = p.at("method").get<std::string>();
      pending.uri = p.at("uri").get<std::string>();
      pending.repository = p.at("repository").get<std::string>();
      pending.upload_uuid = p.at("upload").get<std::string>();
      pending.last_msg = p.at("last_msg").get<std::string>();
      pending.messages = p.at("messages").get<std::string>();
      pending.detail = p.at("detail").get<std::string>();
      pending.err_code = p.value("err_code", std::string());
      pending.err_message = p.value("err_message", std::string());
      restored.pending_order_.push_back(
          {pending.first_time_ns, StateInteger<int64_t>(p.at("queued_wall")), id});
      if (pending.has_error_lines && !pending.uri.empty()) {
        restored.pending_by_key_.emplace(ResponseKey(pending.method, pending.uri, 0), id);
      }
    }
    for (const json& a : state.at("access")) {
      if (restored.pending_access_.size() >= options_.max_pending) break;
      PendingAccess access;
      access.time_ns = StateInteger<int64_t>(a.at(0));
      access.queued_wall_ns = StateInteger<int64_t>(a.at(1));
      access.source = a.at(2).get<std::string>();
      access.method = a.at(3).get<std::string>();
      access.uri = a.at(4).get<std::string>();
      access.status = StateInteger<int>(a.at(5));
      access.probe = a.size() > 6 && a.at(6).get<bool>();
      access.key = ResponseKey(access.method, access.uri, access.status);
      restored.pending_access_.push_back(std::move(access));
      restored.pending_access_index_[restored.pending_access_.back().key].push_back(
          &restored.pending_access_.back());
    }
    for (const json& r : state.at("recent_summaries")) {
      if (restored.recent_order_.size() >= options_.max_pending * 2) break;
      const RecentSummary summary{StateInteger<uint64_t>(r.at(0)), StateInteger<int64_t>(r.at(1)),
                                  StateInteger<int64_t>(r.at(2))};
      restored.recent_summaries_[summary.key].push_back(summary.arrival_ns);
      restored.recent_order_.push_back(summary);
    }
    for (const json& r : state.at("reported_errors")) {
      if (restored.reported_order_.size() >= options_.max_pending) break;
      const std::string id = r.at(1).get<std::string>();
      if (restored.reported_errors_.insert(id).second) {
        restored.reported_order_.push_back({StateInteger<int64_t>(r.at(0)),
                                            r.size() > 2 ? StateInteger<int64_t>(r.at(2)) : 0, id});
      }
    }
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("joiner state: ") + e.what());
  }
  // The deques' elements keep their addresses when the containers are moved.
  pending_ = std::move(restored.pending_);
  pending_by_key_ = std::move(restored.pending_by_key_);
  pending_order_ = std::move(restored.pending_order_);
  pending_access_ = std::move(restored.pending_access_);
  pending_access_index_ = std::move(restored.pending_access_index_);
  same_stream_access_.clear();
  recent_summaries_ = std::move(restored.recent_summaries_);
  recent_order_ = std::move(restored.recent_order_);
  reported_errors_ = std::move(restored.reported_errors_);
  reported_order_ = std::move(restored.reported_order_);
  now_ns_ = std::max(now_ns_, restored.now_ns_);
  return Status::Ok();
}

}  // namespace rrca::pipeline
