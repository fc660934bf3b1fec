#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "common/status.h"

namespace rrca::exporter {

class TlsContext;
namespace relay {
class ClientStream;
}

// Who is behind one relayed connection, for the HTTP layer (logs, decisions).
struct ClientInfo {
  std::string address;      // "ip:port" of the real client
  bool tls = false;         // the client came over TLS
  std::string tls_subject;  // its certificate's subject, when it sent one
};

struct FrontOptions {
  size_t max_connections = 256;                   // more are closed at once (counted)
  std::chrono::milliseconds head_timeout{10000};  // TLS handshake + request head
  std::chrono::milliseconds body_timeout{30000};  // the whole request, body included
  std::chrono::milliseconds idle_timeout{60000};  // relaying with no progress
  size_t max_head_bytes = 64 << 10;               // larger heads get 431
  size_t max_body_bytes = 8 << 20;                // larger Content-Length gets 413
  size_t body_budget_bytes = 64 << 20;            // bodies buffered at once, all clients
};

// Counters of the connection front, for logs and metrics. Monotonic.
struct FrontCounters {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused_over_limit{0};
  std::atomic<uint64_t> handshake_failures{0};  // includes plain HTTP sent to the TLS port
  std::atomic<uint64_t> head_timeouts{0};       // slow or half-open clients dropped
  std::atomic<uint64_t> body_timeouts{0};       // bodies not sent in time
  std::atomic<uint64_t> over_budget{0};         // 503: too many bodies buffered at once
};

// The public side of the HTTP server. It owns the listening socket; every accepted connection
// gets its own thread (at most max_connections), which terminates TLS when a TlsContext is given,
// reads the whole request head and its Content-Length body within deadlines, and only then
// connects to the private civetweb listener on 127.0.0.1:<backend_port> and relays bytes both
// ways, unchanged. So a slow, half-open or idle client holds only its own thread, never one of
// civetweb's few workers (which would otherwise wait up to its request timeout on each), and
// never blocks other clients. Bodies buffered at once are bounded by body_budget_bytes (then
// 503); chunked bodies are not buffered (civetweb's request timeout bounds them).
//
// The civetweb listener is reachable by other local processes, so the HTTP layer must serve only
// connections this front made: Lookup() answers for the relay socket's (127.0.0.1, local port),
// which the kernel makes unique while the relay is open, and returns the real client.
// Thread-safe. Stop() (or the destructor) closes the listener and ends every connection.
class WebFront {
 public:
  WebFront(FrontOptions options, std::shared_ptr<const TlsContext> tls);
  ~WebFront();
  WebFront(const WebFront&) = delete;
  WebFront& operator=(const WebFront&) = delete;

  // Binds the public socket. listen_address: ":9479" (all addresses, IPv6 and IPv4),
  // "0.0.0.0:9479", "127.0.0.1:0", "[::1]:9479", "localhost:9479"; port 0 picks a free one.
  Status Listen(const std::string& listen_address);
  int port() const { return port_; }
  // Starts accepting; connections are relayed to 127.0.0.1:backend_port.
  void Start(int backend_port);
  void Stop();

  // Replaces the TLS context for new connections (certificate rotation); open ones keep theirs.
  // Only between two non-null contexts: a front is TLS or plaintext for its whole life.
  void SetTls(std::shared_ptr<const TlsContext> tls);

  // The client behind a backend connection from (remote_addr, remote_port), if it is ours.
  std::optional<ClientInfo> Lookup(std::string_view remote_addr, int remote_port) const;
  const FrontCounters& counters() const { return counters_; }

 private:
  struct Worker {
    std::thread thread;
    std::unique_ptr<std::atomic<bool>> done;
  };
  void AcceptLoop();
  void Reap(bool all);
  void Serve(int fd, std::string peer);  // one connection, on its own thread
  // Reads the request into *request; false when it was answered or dropped instead.
  bool ReadRequest(relay::ClientStream& client, const std::string& peer, std::string* request);
  bool Reserve(size_t bytes);
  void Register(int port, ClientInfo info);
  void Unregister(int port);

  const FrontOptions options_;
  const bool tls_enabled_;
  mutable std::mutex tls_mutex_;
  std::shared_ptr<const TlsContext> tls_;  // guarded by tls_mutex_
  int listen_fd_ = -1;
  int port_ = 0;
  int backend_port_ = 0;
  int stop_pipe_[2] = {-1, -1};  // readable once stopping: every wait polls it
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> active_{0};
  std::atomic<size_t> buffered_body_bytes_{0};
  std::thread acceptor_;
  std::list<Worker> workers_;  // touched by the acceptor thread (and Stop, after joining it)
  mutable std::mutex relays_mutex_;
  std::unordered_map<int, ClientInfo> relays_;  // relay's local port -> client
  FrontCounters counters_;
};

}  // namespace rrca::exporter
