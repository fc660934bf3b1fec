#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct ssl_ctx_st;

// Byte streams of the HTTP server's client connections, plaintext or TLS, on non-blocking
// sockets with deadlines. Every wait also watches `stop_fd` (readable once the server stops), so
// no step outlives Stop().
namespace rrca::web {

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

enum class ReadResult { kData, kClosed, kTimeout, kStopped };

// Reads what is there (at least one byte, at most `size`) by `deadline`.
ReadResult ReadSome(ClientStream& client, char* data, size_t size, Deadline deadline, int stop_fd,
                    size_t* done);

// Writes all of `data` by `deadline`.
bool WriteAll(ClientStream& client, std::string_view data, Deadline deadline, int stop_fd);

// After the answer: half-close and discard what the client still sends, briefly, so that its
// kernel does not reset the connection before it has read the answer.
void Linger(ClientStream& client, Deadline deadline, int stop_fd);

}  // namespace rrca::web
