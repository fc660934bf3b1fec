#include "exporter/web/web_stream.h"

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

namespace rrca::web {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr size_t kChunk = 16384;

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

ReadResult ReadSome(ClientStream& client, char* data, size_t size, Deadline deadline, int stop_fd,
                    size_t* done) {
  while (true) {
    const Io io = client.Read(data, size, done);
    if (io == Io::kOk) return ReadResult::kData;
    if (io == Io::kClosed || io == Io::kError) return ReadResult::kClosed;
    switch (WaitIo(client.fd(), io, deadline, stop_fd)) {
      case Wait::kReady:
        break;
      case Wait::kTimeout:
        return ReadResult::kTimeout;
      case Wait::kStopped:
        return ReadResult::kStopped;
    }
  }
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

}  // namespace rrca::web
