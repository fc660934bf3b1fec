#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/event.h"
#include "common/request.h"
#include "common/status.h"

namespace rrca::pipeline {

// A first-in first-out run of one key's entries: a vector and the index of its front. One
// std::deque per key cost a 512-byte block for every distinct request (a million distinct URIs
// took hundreds of MB); this costs a vector, and popping the front stays O(1) amortized.
template <typename T>
class KeyFifo {
 public:
  using iterator = typename std::vector<T>::iterator;
  bool empty() const { return head_ == items_.size(); }
  T& front() { return items_[head_]; }
  void push_back(T value) { items_.push_back(std::move(value)); }
  void pop_front() {
    if (++head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    } else if (head_ > 32 && head_ * 2 > items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  iterator begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  iterator end() { return items_.end(); }
  void erase(iterator it) {
    items_.erase(it);
    if (empty()) {
      items_.clear();
      head_ = 0;
    }
  }

 private:
  std::vector<T> items_;
  size_t head_ = 0;
};

// Receives each joined request exactly once; the request's views die when the call returns.
class JoinedRequestSink {
 public:
  virtual ~JoinedRequestSink() = default;
  virtual void OnRequest(const JoinedRequest& request) = 0;
};

// Joins the records of one registry into requests, by http.request.id, and decides which
// line counts each response exactly once:
//  * the application log's summary ("response completed [with error]") is the response;
//    earlier warning/error lines of the same id say where it failed;
//  * an access-log line counts only when no summary matches it (same method, URI and status,
//    started within `kAccessMatchTolerance`): Harbor writes both into one file, and at level
//    warn/error the application log has no line for successful responses. How long an unmatched
//    access line waits depends on where its summary would be. The registry writes the summary
//    before the access line (the access log wraps the handler), so when the line's own file
//    (stream) also holds summaries, the partner is already read or a few lines behind (the two
//    go through different pipes): the line waits kSameStreamLookahead more lines of its file
//    or kSameStreamWallWaitNs, whichever comes first. Otherwise (access log in a file of its
//    own) the summary may sit in another file read later: the line waits `access_window`;
//  * error lines whose summary never comes are reported once `window` has passed (log time),
//    with status unknown; error lines outside any request are reported at once.
// Time only advances through AdvanceTo (log time), so tests step it. Owned by the processing
// thread; not thread-safe. Memory is bounded by the window and `max_pending`.
class RequestJoiner {
 public:
  struct Options {
    int64_t window_ns = 60'000'000'000;        // how long error lines wait for their summary
    int64_t access_window_ns = 5'000'000'000;  // how long access lines wait for a summary
    size_t max_pending = 100'000;              // requests and access lines held at once
  };

  RequestJoiner(Options options, JoinedRequestSink* sink);

  // `stream` is the file the event was read from (the pipeline's stream id).
  void OnEvent(const RegistryEvent& event, std::string_view source, uint32_t stream = 0);
  // Flushes what waited longer than its window, relative to `now_ns` (log time). With a wall
  // clock (`wall_ns` != 0, the daemon), an entry must also have waited kMinWallWaitNs of wall
  // time: files are read in chunks in any order, so log time alone would flush a line before
  // the file holding its partner was even read.
  void AdvanceTo(int64_t now_ns, int64_t wall_ns = 0);
  static constexpr int64_t kMinWallWaitNs = 2'000'000'000;
  static constexpr int64_t kSameStreamWallWaitNs = 300'000'000;
  static constexpr uint64_t kSameStreamLookahead = 64;
  // The wall clock at which the next events are queued (the daemon sets it per chunk).
  void SetWallClock(int64_t wall_ns) {
    if (wall_ns > wall_ns_) wall_ns_ = wall_ns;
  }
  // End of input: flushes everything still waiting.
  void FlushAll();

  // What waits to be counted (error lines without their summary, access lines without their
  // partner) and what a later line may still match (summaries already counted, error requests
  // already reported), for the positions file: see joiner_state.cc. RestoreState replaces the
  // joiner's waiting state with a saved one, or changes nothing and says why.
  // TakeWaiting only copies (the scrape holds the processing lock for it); WaitingJson, called
  // after the lock is released, builds the text's value.
  struct Waiting;
  Waiting TakeWaiting() const;
  static nlohmann::json WaitingJson(const Waiting& waiting);
  static void AppendWaitingJson(const Waiting& waiting, std::string* out);
  nlohmann::json SaveState() const;
  Status RestoreState(const nlohmann::json& state);

  size_t pending_requests() const { return pending_.size(); }
  size_t pending_access_lines() const { return pending_access_.size(); }
  uint64_t access_lines_matched() const { return access_lines_matched_; }

 private:
  // Error lines of one request, waiting for its summary.
  struct Pending {
    std::string source;
    int64_t first_time_ns = 0;
    int64_t last_time_ns = 0;
    Level level = Level::kUnknown;
    bool has_error_lines = false;  // false: only storage traces, nothing to report on its own
    int64_t writer_duration_ns = -1;
    bool probe = false;  // a line carried registry-rca's probe user agent
    std::string method, uri, repository, upload_uuid, last_msg, messages, detail;
    std::string err_code, err_message;  // registry 2.0/2.1 "An error occured" lines carry them
  };
  // An access-log response waiting for a summary that would make it a duplicate.
  struct PendingAccess {
    uint64_t key = 0;
    int64_t time_ns = 0;
    int64_t queued_wall_ns = 0;
    uint64_t queued_line = 0;  // the stream's event count when queued
    uint32_t stream = 0;
    bool summaries_in_stream = false;
    bool matched = false;
    bool probe = false;
    std::string source, method, uri;
    int status = 0;
  };
  struct RecentSummary {
    uint64_t key;
    int64_t arrival_ns;
    int64_t queued_wall_ns;
  };
  struct PendingOrder {
    int64_t first_time_ns;
    int64_t queued_wall_ns;
    std::string id;
  };
  struct Reported {
    int64_t time_ns;
    int64_t queued_wall_ns;  // forgotten only after kMinWallWaitNs too, like everything here
    std::string id;
  };

 public:
  // Views into the joiner: valid while it is not changed (the processing lock held), so a
  // scrape encodes them before it releases the lock. Pointers, not copies: a full joiner holds
  // 100,000 lines, and a copy per scrape cost more memory than the joiner itself.
  // About how many bytes AppendWaitingJson writes for one waiting access line.
  static size_t EncodedSize(const PendingAccess& access) {
    return 50 + access.source.size() + access.method.size() + access.uri.size();
  }
  struct Waiting {
    struct Request {
      const std::string* id;
      const Pending* pending;
      int64_t queued_wall_ns = 0;
    };
    int64_t now_ns = 0;
    std::vector<Request> requests;
    std::vector<const PendingAccess*> access;  // not yet matched
    std::vector<const RecentSummary*> recent_summaries;
    std::vector<const Reported*> reported_errors;
  };

 private:
  bool Waited(int64_t queued_wall_ns) const {
    return wall_ns_ == 0 || wall_ns_ - queued_wall_ns >= kMinWallWaitNs;
  }

  void OnSummary(const RegistryEvent& event, std::string_view source);
  void NoteStreamEvent(uint32_t stream, bool summary);
  void OnErrorLine(const RegistryEvent& event, std::string_view source);
  void OnWriterTrace(const RegistryEvent& event, std::string_view source);
  Pending& PendingFor(const RegistryEvent& event, std::string_view source);
  void OnAccessLine(const RegistryEvent& event, std::string_view source, uint32_t stream);
  bool ConsumeRecentSummary(uint64_t key, int64_t start_ns);
  bool ConsumePendingAccess(uint64_t key, int64_t arrival_ns);
  void RememberSummary(uint64_t key, int64_t arrival_ns);
  void EmitPending(const std::string& id, Pending& pending, int status = 0);
  // A request known only from its error lines (e.g. a 401's "error authorizing context") and
  // an access line of the same method and URI are one response: the id of such a request.
  const std::string* FindPendingFor(uint64_t method_uri_key, int64_t access_start_ns) const;
  bool MergeWithPending(const PendingAccess& access);
  void DropPending(std::unordered_map<std::string, Pending>::iterator it);
  void EmitAccess(const PendingAccess& access);
  void PopPendingAccess();
  bool SameStreamWaitOver(const PendingAccess& access) const;
  void FlushSameStreamAccess();
  void Emit(JoinedRequest& request);
  void ExpireRecent(int64_t now_ns);
  void ForgetOldestSummary();

  Options options_;
  JoinedRequestSink* sink_;
  std::unordered_map<std::string, Pending> pending_;
  // ResponseKey(method, uri, 0) -> request id, for FindPendingFor; entries may be stale.
  std::unordered_multimap<uint64_t, std::string> pending_by_key_;
  std::deque<PendingOrder> pending_order_;  // FIFO
  std::deque<PendingAccess> pending_access_;
  // key -> the waiting access lines of that key in arrival order (a subsequence of
  // pending_access_, whose elements keep their address while others come and go). FIFO per key,
  // so popping the oldest line is O(1) however many identical requests wait (GET /v2/ floods).
  std::unordered_map<uint64_t, KeyFifo<PendingAccess*>> pending_access_index_;
  // The waiting lines whose stream holds summaries, oldest first: a subsequence of
  // pending_access_, so its front is always the first of them still in pending_access_.
  std::deque<PendingAccess*> same_stream_access_;
  // Per stream: events seen, and whether any was a summary.
  std::vector<uint64_t> stream_events_;
  std::vector<bool> stream_has_summaries_;
  // key -> arrivals of the summaries counted recently, in reading order (see the FIFO above).
  std::unordered_map<uint64_t, KeyFifo<int64_t>> recent_summaries_;
  std::deque<RecentSummary> recent_order_;
  // Error summaries already reported: the registry writes one line per error code.
  std::unordered_set<std::string> reported_errors_;
  std::deque<Reported> reported_order_;
  std::string upload_scratch_;
  uint64_t access_lines_matched_ = 0;
  int64_t now_ns_ = 0;
  int64_t wall_ns_ = 0;
};

// The key that identifies "the same response" in the application and the access log.
uint64_t ResponseKey(std::string_view method, std::string_view uri, int status);

}  // namespace rrca::pipeline
