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

namespace rrca::exporter {

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
//     error-log line alone, whose start nginx does not log, reaches back `window`).
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
// Bounded: at most max_pending hop responses wait (the oldest is then decided early) and at most
// max_index registry responses are remembered (the oldest is forgotten); both are counted in
// stats(). One thread (the pipeline's); not thread-safe.
class HopJoiner {
 public:
  struct Options {
    int64_t window_ns = 60'000'000'000;
    int64_t tolerance_ns = 1'000'000'000;
    size_t max_pending = 10'000;
    size_t max_index = 100'000;
  };
  struct Stats {
    uint64_t counted = 0;         // responses counted at a hop (OnHopRequest)
    uint64_t relayed = 0;         // the registry logged the client's status: counted there
    uint64_t registry_first = 0;  // the registry's error came first and was counted
    uint64_t superseded = 0;      // registry errors not counted: the hop answered differently
    uint64_t lines_merged = 0;    // nginx error + access line of one response
    uint64_t core_attached = 0;   // core lines that were evidence of a proxy response
    uint64_t pending_forced = 0;  // decided early because max_pending waited
    uint64_t index_evicted = 0;   // registry responses forgotten because max_index were held
  };

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
    std::string message;   // the first error line's message
    std::string messages;  // further error lines, "<hop>: <message>\n" each
    int status = 0;        // the access line's; 0 before it
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
    int64_t arrival_ns = 0;
    int64_t end_ns = 0;
    int status = 0;
    int64_t duration_ns = -1;
    bool error = false;
    bool consumed = false;
  };
  using PendingList = std::list<Pending>;

  void OnProxyEvent(const HopEvent& event, std::string_view source);
  void OnCoreEvent(const HopEvent& event, std::string_view source);
  PendingList::iterator Add(Pending pending);
  void AbsorbCore(Pending& proxy);
  void MatchIndex(Pending& pending);
  bool Overlaps(const Pending& pending, int64_t registry_arrival_ns) const;
  void Emit(PendingList::iterator it);
  void Index(const std::string& key, const Indexed& entry);
  void ExpireIndex(int64_t cutoff_ns);

  Options options_;
  HopRequestSink* sink_;
  Stats stats_;
  size_t lone_core_ = 0;  // core lines without a URI waiting in pending_ (AbsorbCore's work)
  PendingList pending_;
  std::unordered_multimap<std::string, PendingList::iterator> pending_by_key_;
  std::unordered_map<std::string, std::vector<Indexed>> index_;
  std::deque<std::pair<int64_t, std::string>> index_order_;  // (end, key), in arrival order
};

}  // namespace rrca::exporter
