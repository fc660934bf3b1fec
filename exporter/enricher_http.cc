#include "exporter/enricher_http.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace rrca::exporter {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr size_t kMaxAnswerBytes = 64 << 10;

std::string Base64(std::string_view in) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

std::string PercentDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

int RemainingMs(SteadyClock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool WaitFd(int fd, short events, SteadyClock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    const int ready = ::poll(&p, 1, RemainingMs(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

int Connect(const HttpUrl& url, SteadyClock::time_point deadline, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  const int rc =
      ::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &addresses);
  if (rc != 0) {
    *error = "resolve " + url.host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = addresses; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int err = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        if (WaitFd(fd, POLLOUT, deadline)) {
          socklen_t length = sizeof(err);
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &length);
        } else {
          err = ETIMEDOUT;
        }
      }
    }
    if (err != 0) {
      *error = std::string("connect: ") + std::strerror(err);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(addresses);
  if (fd >= 0) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  return fd;
}

bool SendAll(int fd, std::string_view data, SteadyClock::time_point deadline) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return false;
    } else if (!WaitFd(fd, POLLOUT, deadline)) {
      return false;
    }
  }
  return true;
}

// Reads the answer until the server closes, the body announced is complete, or a cap; returns
// the status code of "HTTP/1.x NNN ...", 0 when none arrived.
int ReadStatus(int fd, SteadyClock::time_point deadline, std::string* error) {
  std::string answer;
  char buffer[4096];
  while (answer.size() < kMaxAnswerBytes) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      answer.append(buffer, static_cast<size_t>(n));
      const size_t head_end = answer.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        // Enough once the head is complete and the announced body (if any) has arrived.
        std::string head = answer.substr(0, head_end);
        for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const size_t at = head.find("\r\ncontent-length:");
        const size_t body = answer.size() - head_end - 4;
        if (at == std::string::npos || std::strtoull(head.c_str() + at + 17, nullptr, 10) <= body) {
          break;
        }
      }
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && WaitFd(fd, POLLIN, deadline)) continue;
    if (answer.empty()) *error = RemainingMs(deadline) == 0 ? "timeout" : std::strerror(errno);
    break;
  }
  if (answer.rfind("HTTP/1.", 0) != 0 || answer.size() < 12) {
    if (error->empty()) *error = answer.empty() ? "no answer" : "not an HTTP answer";
    return 0;
  }
  const int status = std::atoi(answer.c_str() + 9);
  if (status < 100 || status > 999) {
    *error = "malformed status line";
    return 0;
  }
  return status;
}

}  // namespace

StatusOr<HttpUrl> ParseHttpUrl(std::string_view url) {
  if (url.rfind("https://", 0) == 0) {
    return Status::Error(
        "https is not supported: registry-rca's webhook client speaks plain http only (Debian's "
        "civetweb TLS is broken); use http to a local TLS-terminating proxy instead");
  }
  if (url.rfind("http://", 0) != 0) return Status::Error("must start with http://");
  std::string_view rest = url.substr(7);
  HttpUrl out;
  const size_t path_at = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_at);
  if (path_at != std::string_view::npos) {
    out.target = std::string(rest.substr(path_at));
    if (out.target[0] == '?') out.target = "/" + out.target;
  }
  for (char c : out.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '#') {
      return Status::Error("the path may not contain spaces, control characters or '#'");
    }
  }
  std::string userinfo;
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    userinfo = std::string(authority.substr(0, at));
    authority.remove_prefix(at + 1);
    out.authorization = "Basic " + Base64(PercentDecode(userinfo));
  }
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::Error("unclosed '[' in the host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') return Status::Error("unexpected text after ']'");
    if (!after.empty()) port_text = after.substr(1);
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return Status::Error("no host");
  for (char c : out.host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' &&
        c != '_') {
      return Status::Error("invalid character in the host");
    }
  }
  if (!port_text.empty() || (authority.size() > 0 && authority.back() == ':')) {
    int port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) return Status::Error("invalid port");
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) return Status::Error("invalid port");
    out.port = port;
  }
  const std::string host =
      out.host.find(':') != std::string::npos ? "[" + out.host + "]" : out.host;
  out.redacted =
      "http://" + host + (out.port != 80 ? ":" + std::to_string(out.port) : "") + out.target;
  return out;
}

PostResult PostJson(const HttpUrl& url, std::string_view body, std::chrono::milliseconds timeout,
                    std::string_view user_agent) {
  const auto deadline = SteadyClock::now() + timeout;
  PostResult result;
  const int fd = Connect(url, deadline, &result.error);
  if (fd < 0) return result;
  const std::string host =
      url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  std::string head =
      "POST " + url.target + " HTTP/1.1\r\nHost: " + host +
      (url.port != 80 ? ":" + std::to_string(url.port) : "") +
      "\r\nUser-Agent: " + std::string(user_agent) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n";
  if (!url.authorization.empty()) head += "Authorization: " + url.authorization + "\r\n";
  head += "\r\n";
  if (!SendAll(fd, head, deadline) || !SendAll(fd, body, deadline)) {
    result.error = RemainingMs(deadline) == 0 ? "timeout" : "send: connection closed";
    // The server may still have answered (e.g. 413 before reading everything).
  }
  result.status = ReadStatus(fd, deadline, &result.error);
  if (result.status != 0) result.error.clear();
  ::close(fd);
  return result;
}

}  // namespace rrca::exporter
