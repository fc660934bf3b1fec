#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/hop_event.h"
#include "common/request.h"

namespace rrca::pipeline {

class HopRequestSink {
 public:
  virtual ~HopRequestSink() = default;
  // One client-visible error of a hop in front of the registry, to be classified and counted
  // once (request.hop says which hop). Views die when the call returns.
  virtual void OnHopRequest(const JoinedRequest& request) = 0;
};

// Joins the lines of the hops in front of the registry (Harbor's nginx `proxy`, Harbor core
// `core`) with each other and with the registry's responses, so that each response the client
// saw is counted once, at the outermost hop that logged it:
//   - nginx's error-log line and access line of one response are one (same method and URI,
//     written within `tolerance` of each other);
//   - a core line (its reverse proxy's "http: proxy error: ...", which carries no URI) that falls
//     inside a proxy response's [arrival, end] is that response's evidence;
//   - a hop's response is matched to the registry's by the request's key (method + the upload
//     UUID of an upload URI, else method + path) and time: the registry's arrival lies in the
//     hop's [arrival - tolerance, end + tolerance] (arrival = end - nginx's $request_time; an
//     error-log line alone, whose start nginx does not log, reaches back `window`);
//   - else by the X-Request-Id, when both lines carry the same one: ingress-nginx logs its
//     $req_id and sends it upstream as X-Request-ID, Harbor core keeps it and logs it as
//     [requestID="..."], so a core line with an id belongs to the proxy response with that id
//     whatever their times (and not to one with another id); a registry line whose request id
//     equals a hop's (a registry that logs the forwarded X-Request-Id) is that hop's request.
//     Different ids do not forbid a registry match: distribution logs its own http.request.id.
// Then:
//   - the registry answered with the status the client saw (a relayed 500): the registry's own
//     count stands, the hop adds nothing ("relayed");
//   - the registry answered otherwise (202 to a PATCH nginx had answered 504), or never logged the
//     request: the hop's response is counted (OnHopRequest), with the registry's status and
//     duration as evidence; a registry *error* that arrives while the hop's response waits is
//     then superseded (OnRegistryResponse returns true: the caller does not count it as an
//     error), so a 504 whose registry request later failed 499 is one error, not two;
//   - the registry's error was counted before the hop's line arrived (the proxy's log lagging
//     behind): it stands, and the hop adds nothing ("registry_first").
// A hop's response waits `window` of log time for the registry's (AdvanceTo); FlushAll decides
// every waiting one.
//
// Every decided hop response on an upload URI is also kept, for the explain API (HistoryOf):
// the last max_history_per_upload per upload, of the last max_history_uploads uploads, within
// max_history_bytes (each string of a kept response is cut at kMaxLineBytes).
//
// Bounded: at most max_pending hop responses wait (the oldest is then decided early), at most
// max_index registry responses are remembered (the oldest is forgotten), and the history is
// capped as above; all are counted in stats(). One thread (the pipeline's); not thread-safe
// (HTTP threads read HistoryOf under the daemon's lock, like the correlator's explain).
class HopJoiner {
 public:
  struct Options {
    int64_t window_ns = 60'000'000'000;
    int64_t tolerance_ns = 1'000'000'000;
    size_t max_pending = 10'000;
    size_t max_index = 100'000;
    size_t max_history_uploads = 10'000;  // uploads whose hop responses are kept
    size_t max_history_per_upload = 32;   // hop responses kept per upload (the newest)
    size_t max_history_bytes = 16 << 20;  // their strings; the oldest uploads go first
  };
  struct Stats {
    uint64_t counted = 0;           // responses counted at a hop (OnHopRequest)
    uint64_t relayed = 0;           // the registry logged the client's status: counted there
    uint64_t registry_first = 0;    // the registry's error came first and was counted
    uint64_t superseded = 0;        // registry errors not counted: the hop answered differently
    uint64_t lines_merged = 0;      // nginx error + access line of one response
    uint64_t core_attached = 0;     // core lines that were evidence of a proxy response
    uint64_t pending_forced = 0;    // decided early because max_pending waited
    uint64_t index_evicted = 0;     // registry responses forgotten because max_index were held
    uint64_t request_id_joins = 0;  // joins made by the X-Request-Id alone
    uint64_t history_uploads_evicted = 0;  // uploads whose kept hop responses were forgotten
    uint64_t history_hops_dropped = 0;     // an upload's oldest kept hop responses dropped
  };
  // One decided hop response of a request on an upload, kept for the explain API.
  struct HopRecord {
    Hop hop = Hop::kProxy;
    JoinedRequest::Origin origin = JoinedRequest::Origin::kAccessLog;
    int64_t time_ns = 0;  // when the request arrived at the hop (its end when unknown)
    int64_t end_ns = 0;   // when the hop answered (its line's time)
    std::string method;
    std::string uri;
    std::string repository;
    Operation operation = Operation::kOther;
    int status = 0;  // what the hop answered the client
    int64_t duration_ns = -1;
    // Counted at this hop (OnHopRequest); false: the registry's own count stands (it logged
    // the client's status, or its error came first).
    bool counted = false;
    int registry_status = 0;
    int64_t registry_duration_ns = -1;
    std::string request_id;
    std::string source;
    std::string message;
    std::string messages;
    std::string line;  // the hop's raw line(s), '\n'-separated, at most kMaxLineBytes
    size_t Bytes() const;
    // The request as the rules judged it when it was counted (views into this record).
    JoinedRequest AsRequest() const;
  };
  static constexpr size_t kMaxLineBytes = 2048;

  HopJoiner(Options options, HopRequestSink* sink) : options_(options), sink_(sink) {}

  void OnHopEvent(const HopEvent& event, std::string_view source);
  // What a hop in front answered the client for a registry response: `client_status` is the
  // status of the outer hop's response waiting for it (0: none), `superseded` says that the
  // registry's error must not be counted (the outer hop answered otherwise).
  struct Answer {
    bool superseded = false;
    int client_status = 0;
  };
  // Every registry response (success or error), once.
  Answer OnRegistryResponse(const JoinedRequest& request);
  void AdvanceTo(int64_t log_time_ns);
  void FlushAll();

  const Stats& stats() const { return stats_; }
  // The kept hop responses of the requests on upload `uuid`, oldest first; null when none.
  const std::deque<HopRecord>* HistoryOf(std::string_view uuid) const;
  size_t pending() const { return pending_.size(); }
  size_t indexed() const { return index_order_.size(); }

  // The join key of a request: "PATCH upload:<uuid>" for an upload URI, else "<method> <path>".
  static std::string JoinKey(std::string_view method, std::string_view uri);

 private:
  struct Pending {
    Hop hop = Hop::kProxy;
    std::string source;
    std::string key;
    std::string method;
    std::string uri;
    std::string message;     // the first error line's message
    std::string messages;    // further error lines, "<hop>: <message>\n" each
    std::string request_id;  // the X-Request-Id a line of it carried
    std::string line;        // its raw lines, '\n'-separated, at most kMaxLineBytes
    int status = 0;          // the access line's; 0 before it
    int64_t end_ns = 0;
    int64_t request_time_ns = -1;
    bool has_access = false;
    bool has_error = false;
    bool has_core = false;
    bool registry_seen = false;
    int registry_status = 0;
    int64_t registry_duration_ns = -1;
    bool registry_counted = false;  // the registry's error was counted before we saw it
    int64_t EarliestArrival(int64_t window_ns) const {
      return request_time_ns >= 0 ? end_ns - request_time_ns : end_ns - window_ns;
    }
    int VisibleStatus() const;
  };
  struct Indexed {
    std::string request_id;
    int64_t arrival_ns = 0;
    int64_t end_ns = 0;
    int status = 0;
    int64_t duration_ns = -1;
    bool error = false;
    bool consumed = false;
  };
  using PendingList = std::list<Pending>;

  void OnProxyEvent(const HopEvent& event, std::string_view source);
  PendingList::iterator OtherLineOf(const HopEvent& event, const std::string& key);
  Pending* PendingWithId(std::string_view id, Hop hop);
  void Unlink(PendingList::iterator it);
  void Remember(const Pending& pending, const JoinedRequest* counted);
  void OnCoreEvent(const HopEvent& event, std::string_view source);
  PendingList::iterator Add(Pending pending);
  void AbsorbCore(Pending& proxy);
  void MatchIndex(Pending& pending);
  bool Overlaps(const Pending& pending, int64_t registry_arrival_ns) const;
  void Emit(PendingList::iterator it);
  void Index(const std::string& key, Indexed entry);
  void ExpireIndex(int64_t cutoff_ns);

  Options options_;
  HopRequestSink* sink_;
  Stats stats_;
  size_t lone_core_ = 0;  // core lines without a URI waiting in pending_ (AbsorbCore's work)
  PendingList pending_;
  std::unordered_multimap<std::string, PendingList::iterator> pending_by_key_;
  std::unordered_multimap<std::string, PendingList::iterator> pending_by_id_;
  std::unordered_map<std::string, std::vector<Indexed>> index_;
  std::deque<std::pair<int64_t, std::string>> index_order_;         // (end, key), in arrival order
  std::unordered_map<std::string, std::deque<HopRecord>> history_;  // by upload UUID
  std::deque<std::string> history_order_;  // upload UUIDs, first kept first
  size_t history_bytes_ = 0;               // HopRecord::Bytes() of every kept response
  void EvictOldestUpload();
};

}  // namespace rrca::pipeline
