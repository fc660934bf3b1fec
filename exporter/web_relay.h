#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct ssl_ctx_st;

// The per-connection steps of WebFront, on non-blocking sockets with deadlines. Every wait also
// watches `stop_fd` (readable once the server stops), so no step outlives Stop().
namespace rrca::exporter::relay {

using Deadline = std::chrono::steady_clock::time_point;

enum class Io { kOk, kWantRead, kWantWrite, kClosed, kError };

// A client connection, plaintext or TLS. Not thread-safe: one connection thread owns it.
class ClientStream {
 public:
  virtual ~ClientStream() = default;
  virtual Io Read(char* data, size_t size, size_t* done) = 0;
  virtual Io Write(const char* data, size_t size, size_t* done) = 0;
  virtual void Shutdown() = 0;  // best effort: close_notify / FIN, never blocks
  virtual int fd() const = 0;
};

std::unique_ptr<ClientStream> PlainStream(int fd);

// Completes a TLS handshake on `fd` by `deadline`. A client that speaks plain HTTP gets a 400
// telling it to use https. Null on failure, with the reason in *error. The stream owns neither
// the fd nor anything else than its SSL object.
std::unique_ptr<ClientStream> AcceptTls(int fd, ssl_ctx_st* ctx, Deadline deadline, int stop_fd,
                                        std::string* error, std::string* peer_subject);

enum class Head { kComplete, kTooLarge, kTimeout, kClosed };

struct RequestHead {
  size_t end = 0;               // bytes of the head in the buffer, blank line included
  int64_t content_length = -1;  // -1: none, repeated, malformed, or chunked
};

// Reads until `buffer` holds a whole request head (at most max_head bytes) by `deadline`.
// Bytes are kept as read, and bytes past the head stay in `buffer`.
Head ReadHead(ClientStream& client, Deadline deadline, size_t max_head, int stop_fd,
              std::string* buffer, RequestHead* head);

// Reads until `buffer` holds `total` bytes, by `deadline`.
Head ReadUntil(ClientStream& client, Deadline deadline, size_t total, int stop_fd,
               std::string* buffer);

// Writes all of `data` by `deadline`.
bool WriteAll(ClientStream& client, std::string_view data, Deadline deadline, int stop_fd);

// A non-blocking socket connected to 127.0.0.1:port, or -1.
int ConnectLoopback(int port, Deadline deadline, int stop_fd);

// Relays until the backend has answered and closed and the answer is delivered (true), or
// either side fails or nothing moves for `idle` (false). `to_backend` is sent first.
bool Relay(ClientStream& client, int backend, std::string to_backend,
           std::chrono::milliseconds idle, int stop_fd);

// After the answer: half-close and discard what the client still sends, briefly, so that its
// kernel does not reset the connection before it has read the answer.
void Linger(ClientStream& client, Deadline deadline, int stop_fd);

// The (127.0.0.1-style) local port of a connected socket, or 0.
int LocalPort(int fd);

}  // namespace rrca::exporter::relay
