#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "exporter/web/web_stream.h"

namespace rrca::web {

class TlsContext;

// Who is behind one connection, for the HTTP layer (logs, decisions).
struct ClientInfo {
  std::string address;      // "ip:port" of the client
  std::string ip;           // the address without the port: the unit of per-client limits
  bool tls = false;         // the client came over TLS
  std::string tls_subject;  // its certificate's subject, when it sent one
};

struct FrontOptions {
  size_t max_connections = 256;                         // open at once, all clients
  size_t max_connections_per_client = 64;               // open at once from one IP address
  std::chrono::milliseconds head_timeout{10000};        // TLS handshake + a request head
  std::chrono::milliseconds body_timeout{30000};        // a whole request, body included
  std::chrono::milliseconds keep_alive_timeout{30000};  // waiting for the next request
  std::chrono::milliseconds write_timeout{30000};       // writing one response
  size_t max_head_bytes = 64 << 10;                     // larger heads get 431
  size_t max_body_bytes = 8 << 20;                      // the largest body any route takes
  size_t body_budget_bytes = 64 << 20;        // bodies over small_body_bytes buffered at once
  size_t small_body_bytes = 64 << 10;         // bodies up to this size are never refused for budget
  size_t scrape_slots = 2;                    // handlers of scrape routes running at once
  size_t other_slots = 4;                     // handlers of every other route running at once
  std::chrono::milliseconds slot_wait{5000};  // then 503
};

// Counters of the HTTP server, for logs and metrics. Monotonic.
struct FrontCounters {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused_over_limit{0};  // closed at accept: no idle connection to evict
  std::atomic<uint64_t> evicted{0};             // idle or slow connections closed for a new one
  std::atomic<uint64_t> handshake_failures{0};  // includes plain HTTP sent to the TLS port
  std::atomic<uint64_t> head_timeouts{0};       // a head begun and not finished in time: 408
  std::atomic<uint64_t> body_timeouts{0};       // bodies not sent in time: 408
  std::atomic<uint64_t> bad_requests{0};        // 400, 411 and 431: malformed or unframed heads
  std::atomic<uint64_t> over_budget{0};         // 503: too many large bodies buffered at once
  std::atomic<uint64_t> busy{0};                // 503: no handler slot within slot_wait
};

// What a connection is doing, for choosing whom to evict when the limits are reached.
enum class ConnectionPhase {
  kWaiting,  // TLS handshake, or waiting for (the rest of) a request head: evictable
  kBody,     // reading an admitted body: evictable, its deadline runs anyway
  kBusy,     // running a handler or writing its answer: never evicted
};

// The connection-level half of the HTTP server: the listening socket, TLS termination, and the
// connection limits. Every accepted connection gets its own thread (at most max_connections), so a
// slow, half-open or idle client holds only its own thread and never blocks another.
//
// Limits, the written-down rule: a new connection from a client that already has
// max_connections_per_client open evicts that client's oldest evictable connection (kWaiting or
// kBody); when max_connections are open, the new connection evicts the oldest evictable connection
// of the client with the most connections. Connections that have not been answered below 400 yet
// go first, so a scraper's keep-alive connection outlives a flood of unauthenticated ones from the
// same address. When nothing can be evicted the new connection is closed at once. So an attacker
// holding idle or trickling connections only ever displaces itself, and a scraper's fresh
// connection gets in (its head arrives in one round trip, so it is never the oldest).
//
// Thread-safe. Stop() (or the destructor) closes the listener, ends every connection and joins
// its thread.
class WebFront {
 public:
  // Runs one connection after its TLS handshake, on the connection's thread, until it should close.
  class Connection {
   public:
    virtual ~Connection() = default;
    virtual void SetPhase(ConnectionPhase phase) = 0;
    // The client got an answer below 400 on this connection (it authenticated, if auth is on):
    // such connections are evicted only after every connection that has not.
    virtual void MarkProven() = 0;
    virtual int stop_fd() const = 0;
    virtual std::chrono::steady_clock::time_point accepted_at() const = 0;
  };
  using Serve = std::function<void(web::ClientStream&, const ClientInfo&, Connection&)>;

  WebFront(FrontOptions options, std::shared_ptr<const TlsContext> tls, Serve serve);
  ~WebFront();
  WebFront(const WebFront&) = delete;
  WebFront& operator=(const WebFront&) = delete;

  // Binds the public socket. listen_address: ":9479" (all addresses, IPv6 and IPv4),
  // "0.0.0.0:9479", "127.0.0.1:0", "[::1]:9479", "localhost:9479"; port 0 picks a free one.
  Status Listen(const std::string& listen_address);
  int port() const { return port_; }
  void Start();
  void Stop();

  // Replaces the TLS context for new connections (certificate rotation); open ones keep theirs.
  // Only between two non-null contexts: a front is TLS or plaintext for its whole life.
  void SetTls(std::shared_ptr<const TlsContext> tls);

  FrontCounters& counters() { return counters_; }
  // The name of every connection thread (at most 15 characters: Linux's limit).
  static constexpr const char* kConnectionThreadName = "rrca-http-conn";
  const FrontOptions& options() const { return options_; }

 private:
  struct Slot;  // one open connection
  void AcceptLoop();
  bool Admit(const std::string& ip);  // under table_mutex_: room made, or false
  void Run(std::shared_ptr<Slot> slot);
  void Finish(const std::shared_ptr<Slot>& slot);  // the connection's last step
  void JoinFinishedThreads();
  size_t FinishedThreadsWaiting();

  const FrontOptions options_;
  const bool tls_enabled_;
  const Serve serve_;
  mutable std::mutex tls_mutex_;
  std::shared_ptr<const TlsContext> tls_;  // guarded by tls_mutex_
  int listen_fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};  // readable once stopping: every wait polls it
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex table_mutex_;
  std::condition_variable threads_done_;       // open_ shrank
  std::list<std::shared_ptr<Slot>> open_;      // guarded by table_mutex_, oldest first
  size_t live_ = 0;                            // guarded by table_mutex_: open and not evicted
  std::map<std::string, size_t> per_client_;   // guarded by table_mutex_: live ones per IP
  std::vector<std::thread> finished_threads_;  // guarded by table_mutex_: past Finish, to join
  FrontCounters counters_;
};

}  // namespace rrca::web
