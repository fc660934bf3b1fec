#include "exporter/web_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace rrca::exporter::relay {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr size_t kChunk = 16384;
constexpr size_t kRelayBuffer = 256 << 10;  // per direction

enum class Wait { kReady, kTimeout, kStopped };

int MillisUntil(Deadline deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, INT_MAX));
}

// Waits until `fd` has one of `events` (or an error: the next call reports it).
Wait WaitFor(int fd, short events, Deadline deadline, int stop_fd) {
  while (true) {
    const int timeout = MillisUntil(deadline);
    if (timeout <= 0) return Wait::kTimeout;
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    const int ready = ::poll(fds, 2, timeout);
    if (ready < 0 && errno != EINTR) return Wait::kTimeout;
    if (ready <= 0) continue;
    if (fds[1].revents != 0) return Wait::kStopped;
    if (fds[0].revents != 0) return Wait::kReady;
  }
}

Wait WaitIo(int fd, Io io, Deadline deadline, int stop_fd) {
  return WaitFor(fd, io == Io::kWantWrite ? POLLOUT : POLLIN, deadline, stop_fd);
}

class Plain : public ClientStream {
 public:
  explicit Plain(int fd) : fd_(fd) {}
  Io Read(char* data, size_t size, size_t* done) override {
    ssize_t n;
    do n = ::recv(fd_, data, size, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) *done = static_cast<size_t>(n);
    if (n > 0) return Io::kOk;
    if (n == 0) return Io::kClosed;
    return errno == EAGAIN || errno == EWOULDBLOCK ? Io::kWantRead : Io::kError;
  }
  Io Write(const char* data, size_t size, size_t* done) override {
    ssize_t n;
    do n = ::send(fd_, data, size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n >= 0) *done = static_cast<size_t>(n);
    if (n >= 0) return Io::kOk;
    return errno == EAGAIN || errno == EWOULDBLOCK ? Io::kWantWrite : Io::kError;
  }
  void Shutdown() override { ::shutdown(fd_, SHUT_WR); }
  int fd() const override { return fd_; }

 private:
  int fd_;
};

class Tls : public ClientStream {
 public:
  Tls(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Tls() override { SSL_free(ssl_); }
  Io Read(char* data, size_t size, size_t* done) override {
    ERR_clear_error();
    return Result(SSL_read_ex(ssl_, data, size, done));
  }
  Io Write(const char* data, size_t size, size_t* done) override {
    ERR_clear_error();
    return Result(SSL_write_ex(ssl_, data, size, done));
  }
  void Shutdown() override {
    ERR_clear_error();
    if (!shut_) SSL_shutdown(ssl_);
    shut_ = true;
  }
  int fd() const override { return fd_; }

 private:
  Io Result(int ok) {
    if (ok == 1) return Io::kOk;
    switch (SSL_get_error(ssl_, ok)) {
      case SSL_ERROR_WANT_READ:
        return Io::kWantRead;
      case SSL_ERROR_WANT_WRITE:
        return Io::kWantWrite;
      case SSL_ERROR_ZERO_RETURN:
        return Io::kClosed;
      case SSL_ERROR_SYSCALL:
        return errno == 0 ? Io::kClosed : Io::kError;
      default:
        return Io::kError;
    }
  }
  int fd_;
  SSL* ssl_;
  bool shut_ = false;
};

std::string OpenSslReason() {
  const unsigned long code = ERR_peek_last_error();
  if (code == 0) return "connection closed during the handshake";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof(buffer));
  ERR_clear_error();
  return buffer;
}

// Where the request head ends (after its blank line), or npos. Leading blank lines, which
// servers skip, do not count as the end.
size_t HeadEnd(const std::string& buffer) {
  const size_t start = buffer.find_first_not_of("\r\n");
  if (start == std::string::npos) return std::string::npos;
  const size_t crlf = buffer.find("\n\r\n", start);
  const size_t lf = buffer.find("\n\n", start);
  const size_t a = crlf == std::string::npos ? crlf : crlf + 3;
  const size_t b = lf == std::string::npos ? lf : lf + 2;
  return std::min(a, b);
}

// The one Content-Length of a head; -1 when absent, repeated, malformed or chunked.
int64_t ContentLength(std::string_view head) {
  int64_t length = -1;
  size_t line_start = head.find('\n');
  while (line_start != std::string_view::npos && line_start + 1 < head.size()) {
    const size_t line_end = head.find('\n', line_start + 1);
    std::string_view line = head.substr(line_start + 1, line_end - line_start - 1);
    line_start = line_end;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    if (name == "transfer-encoding") return -1;
    if (name != "content-length") continue;
    if (length >= 0) return -1;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.remove_suffix(1);
    if (value.empty() || value.size() > 15) return -1;
    length = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return -1;
      length = length * 10 + (c - '0');
    }
  }
  return length;
}

}  // namespace

std::unique_ptr<ClientStream> PlainStream(int fd) { return std::make_unique<Plain>(fd); }

std::unique_ptr<ClientStream> AcceptTls(int fd, ssl_ctx_st* ctx, Deadline deadline, int stop_fd,
                                        std::string* error, std::string* peer_subject) {
  // A TLS client speaks first with a handshake record (0x16); an HTTP client with a method.
  if (WaitFor(fd, POLLIN, deadline, stop_fd) != Wait::kReady) {
    *error = "no TLS handshake within the deadline";
    return nullptr;
  }
  unsigned char first = 0;
  if (::recv(fd, &first, 1, MSG_PEEK) != 1) {
    *error = "closed before the handshake";
    return nullptr;
  }
  if (first != 0x16) {
    if (first >= 'A' && first <= 'Z') {
      static const char kResponse[] =
          "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Connection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
      (void)!::send(fd, kResponse, sizeof(kResponse) - 1, MSG_NOSIGNAL);
      // Read what it sent, briefly, so that closing does not reset the answer away.
      Plain plain(fd);
      Linger(plain, std::min(deadline, SteadyClock::now() + std::chrono::milliseconds(500)),
             stop_fd);
      *error = "plain HTTP sent to the TLS port";
    } else {
      *error = "not a TLS handshake";
    }
    return nullptr;
  }
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    *error = OpenSslReason();
    return nullptr;
  }
  SSL_set_accept_state(ssl);
  auto stream = std::make_unique<Tls>(fd, ssl);
  while (true) {
    ERR_clear_error();
    const int result = SSL_do_handshake(ssl);
    if (result == 1) break;
    const int code = SSL_get_error(ssl, result);
    if (code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE) {
      *error = OpenSslReason();
      return nullptr;
    }
    const Io io = code == SSL_ERROR_WANT_WRITE ? Io::kWantWrite : Io::kWantRead;
    if (WaitIo(fd, io, deadline, stop_fd) != Wait::kReady) {
      *error = "TLS handshake not finished within the deadline";
      return nullptr;
    }
  }
  if (X509* peer = SSL_get0_peer_certificate(ssl)) {
    char subject[256] = {};
    X509_NAME_oneline(X509_get_subject_name(peer), subject, sizeof(subject));
    *peer_subject = subject;
  }
  return stream;
}

Head ReadHead(ClientStream& client, Deadline deadline, size_t max_head, int stop_fd,
              std::string* buffer, RequestHead* head) {
  char chunk[kChunk];
  while (true) {
    const size_t end = HeadEnd(*buffer);
    if (end != std::string::npos) {
      if (end > max_head) return Head::kTooLarge;
      head->end = end;
      head->content_length = ContentLength(std::string_view(*buffer).substr(0, end));
      return Head::kComplete;
    }
    if (buffer->size() > max_head) return Head::kTooLarge;
    size_t n = 0;
    const Io io = client.Read(chunk, sizeof(chunk), &n);
    if (io == Io::kOk) {
      buffer->append(chunk, n);
    } else if (io == Io::kClosed || io == Io::kError) {
      return Head::kClosed;
    } else if (WaitIo(client.fd(), io, deadline, stop_fd) != Wait::kReady) {
      return Head::kTimeout;
    }
  }
}

Head ReadUntil(ClientStream& client, Deadline deadline, size_t total, int stop_fd,
               std::string* buffer) {
  std::string chunk(kChunk, '\0');
  while (buffer->size() < total) {
    size_t n = 0;
    const Io io = client.Read(chunk.data(), std::min(chunk.size(), total - buffer->size()), &n);
    if (io == Io::kOk) {
      buffer->append(chunk.data(), n);
    } else if (io == Io::kClosed || io == Io::kError) {
      return Head::kClosed;
    } else if (WaitIo(client.fd(), io, deadline, stop_fd) != Wait::kReady) {
      return Head::kTimeout;
    }
  }
  return Head::kComplete;
}

bool WriteAll(ClientStream& client, std::string_view data, Deadline deadline, int stop_fd) {
  while (!data.empty()) {
    size_t n = 0;
    const Io io = client.Write(data.data(), std::min(data.size(), kChunk), &n);
    if (io == Io::kOk) {
      data.remove_prefix(n);
    } else if (io == Io::kClosed || io == Io::kError ||
               WaitIo(client.fd(), io, deadline, stop_fd) != Wait::kReady) {
      return false;
    }
  }
  return true;
}

int ConnectLoopback(int port, Deadline deadline, int stop_fd) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    int error = errno;
    if (error == EINPROGRESS && WaitFor(fd, POLLOUT, deadline, stop_fd) == Wait::kReady) {
      socklen_t length = sizeof(error);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    }
    if (error != 0) {
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

int LocalPort(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  return ntohs(address.sin_port);
}

bool Relay(ClientStream& client, int backend, std::string to_backend,
           std::chrono::milliseconds idle, int stop_fd) {
  std::string to_client;
  bool client_eof = false;
  bool backend_eof = false;
  bool backend_shut = false;
  char chunk[kChunk];
  Deadline idle_deadline = SteadyClock::now() + idle;
  while (true) {
    short client_events = 0;
    short backend_events = 0;
    bool progress = false;
    size_t n = 0;
    if (!client_eof && to_backend.size() < kRelayBuffer) {
      const Io io = client.Read(chunk, sizeof(chunk), &n);
      if (io == Io::kOk) to_backend.append(chunk, n);
      if (io == Io::kClosed) client_eof = true;
      if (io == Io::kError) return false;
      if (io == Io::kWantRead) client_events |= POLLIN;
      if (io == Io::kWantWrite) client_events |= POLLOUT;
      progress |= io == Io::kOk || io == Io::kClosed;
    }
    if (!to_backend.empty() && !backend_shut) {
      const ssize_t sent = ::send(backend, to_backend.data(), to_backend.size(), MSG_NOSIGNAL);
      if (sent > 0) to_backend.erase(0, static_cast<size_t>(sent));
      if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) backend_events |= POLLOUT;
      if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        // The backend has answered and stopped reading: the rest of the request is moot.
        to_backend.clear();
        client_eof = backend_shut = true;
      }
      progress |= sent > 0;
    }
    if (client_eof && to_backend.empty() && !backend_shut) {
      ::shutdown(backend, SHUT_WR);
      backend_shut = true;
    }
    if (!backend_eof && to_client.size() < kRelayBuffer) {
      const ssize_t got = ::recv(backend, chunk, sizeof(chunk), 0);
      if (got > 0) to_client.append(chunk, static_cast<size_t>(got));
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        backend_eof = true;
      }
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) backend_events |= POLLIN;
      progress |= got >= 0;
    }
    if (!to_client.empty()) {
      const Io io = client.Write(to_client.data(), std::min(to_client.size(), kChunk), &n);
      if (io == Io::kOk) to_client.erase(0, n);
      if (io == Io::kClosed || io == Io::kError) return false;
      if (io == Io::kWantRead) client_events |= POLLIN;
      if (io == Io::kWantWrite) client_events |= POLLOUT;
      progress |= io == Io::kOk;
    }
    if (backend_eof && to_client.empty()) return true;
    const auto now = SteadyClock::now();
    if (progress) {
      idle_deadline = now + idle;
      continue;
    }
    const int timeout = MillisUntil(idle_deadline);
    if (timeout <= 0) return false;
    pollfd fds[3] = {
        {client.fd(), client_events, 0}, {backend, backend_events, 0}, {stop_fd, POLLIN, 0}};
    if (::poll(fds, 3, timeout) < 0 && errno != EINTR) return false;
    if (fds[2].revents != 0) return false;
  }
}

void Linger(ClientStream& client, Deadline deadline, int stop_fd) {
  client.Shutdown();
  char chunk[kChunk];
  while (true) {
    size_t n = 0;
    const Io io = client.Read(chunk, sizeof(chunk), &n);
    if (io == Io::kOk) continue;
    if (io == Io::kClosed || io == Io::kError) return;
    if (WaitIo(client.fd(), io, deadline, stop_fd) != Wait::kReady) return;
  }
}

}  // namespace rrca::exporter::relay
