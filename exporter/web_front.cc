#include "exporter/web_front.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "exporter/tls_context.h"
#include "exporter/web_relay.h"

namespace rrca::exporter {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string PeerName(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
    port = ntohs(v4->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
  port = ntohs(v6->sin6_port);
  if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
    inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], host, sizeof(host));
    return std::string(host) + ":" + std::to_string(port);
  }
  inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

// A bound, listening socket for host:port ("" host: every address, dual-stack when possible).
StatusOr<int> BindListener(const std::string& listen_address) {
  const size_t colon = listen_address.rfind(':');
  if (colon == std::string::npos) {
    return Status::Error("--web.listen-address: '" + listen_address + "' has no :port");
  }
  std::string host = listen_address.substr(0, colon);
  const std::string port = listen_address.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
    return Status::Error("--web.listen-address: '" + listen_address + "': bad port");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") host = "127.0.0.1";
  const std::vector<std::string> candidates =
      host.empty() ? std::vector<std::string>{"::", "0.0.0.0"} : std::vector<std::string>{host};
  std::string last_error = "no usable address";
  for (const std::string& candidate : candidates) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    if (const int rc = ::getaddrinfo(candidate.c_str(), port.c_str(), &hints, &found); rc != 0) {
      last_error = gai_strerror(rc);
      continue;
    }
    for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
      const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) continue;
      const int one = 1;
      const int zero = 0;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      if (ai->ai_family == AF_INET6 && candidate == "::") {
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
      }
      if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 128) == 0) {
        ::freeaddrinfo(found);
        return fd;
      }
      last_error = std::strerror(errno);
      ::close(fd);
    }
    ::freeaddrinfo(found);
  }
  return Status::Error("cannot listen on " + listen_address + ": " + last_error);
}

// Writes a short error response from the front itself and lets the client read it.
void Reply(relay::ClientStream& client, const char* status_line, const char* extra, int stop_fd) {
  const std::string response = std::string("HTTP/1.1 ") + status_line +
                               "\r\nContent-Type: text/plain; charset=utf-8\r\n" + extra +
                               "Connection: close\r\nContent-Length: 0\r\n\r\n";
  const auto deadline = SteadyClock::now() + std::chrono::seconds(2);
  if (relay::WriteAll(client, response, deadline, stop_fd))
    relay::Linger(client, deadline, stop_fd);
}

}  // namespace

WebFront::WebFront(FrontOptions options, std::shared_ptr<const TlsContext> tls)
    : options_(options), tls_enabled_(tls != nullptr), tls_(std::move(tls)) {}

void WebFront::SetTls(std::shared_ptr<const TlsContext> tls) {
  if (tls == nullptr || !tls_enabled_) return;
  std::lock_guard lock(tls_mutex_);
  tls_ = std::move(tls);
}

WebFront::~WebFront() {
  Stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

Status WebFront::Listen(const std::string& listen_address) {
  StatusOr<int> fd = BindListener(listen_address);
  if (!fd.ok()) return fd.status();
  listen_fd_ = fd.value();
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = address.ss_family == AF_INET
              ? ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port)
              : ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  return Status::Ok();
}

void WebFront::Start(int backend_port) {
  backend_port_ = backend_port;
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) stop_pipe_[0] = stop_pipe_[1] = -1;
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

void WebFront::Stop() {
  if (!acceptor_.joinable()) return;
  stopping_ = true;
  (void)!::write(stop_pipe_[1], "x", 1);
  acceptor_.join();
  Reap(/*all=*/true);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
  stop_pipe_[0] = stop_pipe_[1] = -1;
}

void WebFront::AcceptLoop() {
  auto last_warning = SteadyClock::time_point{};
  while (!stopping_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    const int ready = ::poll(fds, 2, 1000);
    Reap(/*all=*/false);
    if (stopping_ || fds[1].revents != 0) break;
    if (ready <= 0 || (fds[0].revents & POLLIN) == 0) continue;
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        ::poll(nullptr, 0, 50);  // out of descriptors: back off instead of spinning
      }
      continue;
    }
    if (active_.load() >= options_.max_connections) {
      ++counters_.refused_over_limit;
      ::close(fd);
      const auto now = SteadyClock::now();
      if (now - last_warning > std::chrono::seconds(10)) {
        last_warning = now;
        spdlog::warn("http: {} connections open, refusing more ({} refused so far)",
                     options_.max_connections, counters_.refused_over_limit.load());
      }
      continue;
    }
    ++counters_.accepted;
    ++active_;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto done = std::make_unique<std::atomic<bool>>(false);
    std::atomic<bool>* flag = done.get();
    std::string peer = PeerName(address);
    try {
      std::thread thread([this, fd, peer = std::move(peer), flag]() mutable {
        Serve(fd, std::move(peer));
        --active_;
        flag->store(true);
      });
      workers_.push_back(Worker{std::move(thread), std::move(done)});
    } catch (const std::system_error& e) {  // out of threads: drop this one, keep serving
      --active_;
      ::close(fd);
      spdlog::warn("http: cannot start a connection thread: {}", e.what());
    }
  }
}

void WebFront::Reap(bool all) {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (all || it->done->load()) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

void WebFront::Serve(int fd, std::string peer) {
  const int stop_fd = stop_pipe_[0];
  const auto start = SteadyClock::now();
  const auto head_deadline = start + options_.head_timeout;
  ClientInfo info{peer, tls_enabled_, ""};
  std::unique_ptr<relay::ClientStream> client;
  if (tls_enabled_) {
    std::shared_ptr<const TlsContext> tls;  // held for the handshake; SSL objects then own a ref
    {
      std::lock_guard lock(tls_mutex_);
      tls = tls_;
    }
    std::string error;
    client = relay::AcceptTls(fd, tls->ctx(), head_deadline, stop_fd, &error, &info.tls_subject);
    if (client == nullptr) {
      ++counters_.handshake_failures;
      spdlog::debug("http: {}: TLS handshake failed: {}", peer, error);
      ::close(fd);
      return;
    }
  } else {
    client = relay::PlainStream(fd);
  }
  std::string request;
  const bool complete = ReadRequest(*client, peer, &request);
  const auto write_deadline = SteadyClock::now() + std::chrono::seconds(5);
  if (complete) {
    const int backend = relay::ConnectLoopback(backend_port_, write_deadline, stop_fd);
    const int relay_port = backend >= 0 ? relay::LocalPort(backend) : 0;
    if (relay_port == 0) {
      spdlog::warn("http: cannot reach the internal listener on port {}", backend_port_);
      Reply(*client, "503 Service Unavailable", "", stop_fd);
    } else {
      Register(relay_port, info);
      const bool ok =
          relay::Relay(*client, backend, std::move(request), options_.idle_timeout, stop_fd);
      Unregister(relay_port);
      if (ok) relay::Linger(*client, SteadyClock::now() + std::chrono::seconds(1), stop_fd);
    }
    if (backend >= 0) ::close(backend);
  }
  client.reset();
  ::close(fd);
}

bool WebFront::ReadRequest(relay::ClientStream& client, const std::string& peer,
                           std::string* request) {
  const int stop_fd = stop_pipe_[0];
  const auto start = SteadyClock::now();
  relay::RequestHead head;
  relay::Head result = relay::ReadHead(client, start + options_.head_timeout,
                                       options_.max_head_bytes, stop_fd, request, &head);
  if (result == relay::Head::kTooLarge) {
    Reply(client, "431 Request Header Fields Too Large", "", stop_fd);
    return false;
  }
  if (result == relay::Head::kTimeout) {
    ++counters_.head_timeouts;
    spdlog::debug("http: {}: no complete request head within the deadline", peer);
  }
  if (result != relay::Head::kComplete) return false;
  if (head.content_length <= 0) return true;
  const auto length = static_cast<size_t>(head.content_length);
  if (length > options_.max_body_bytes) {
    Reply(client, "413 Payload Too Large", "", stop_fd);
    return false;
  }
  if (!Reserve(length)) {
    ++counters_.over_budget;
    Reply(client, "503 Service Unavailable", "Retry-After: 1\r\n", stop_fd);
    return false;
  }
  result =
      relay::ReadUntil(client, start + options_.body_timeout, head.end + length, stop_fd, request);
  buffered_body_bytes_ -= length;  // from here the bytes are the relay's, bounded per connection
  if (result == relay::Head::kTimeout) {
    ++counters_.body_timeouts;
    Reply(client, "408 Request Timeout", "", stop_fd);
  }
  return result == relay::Head::kComplete;
}

bool WebFront::Reserve(size_t bytes) {
  size_t current = buffered_body_bytes_.load();
  do {
    if (current + bytes > options_.body_budget_bytes) return false;
  } while (!buffered_body_bytes_.compare_exchange_weak(current, current + bytes));
  return true;
}

void WebFront::Register(int port, ClientInfo info) {
  std::lock_guard lock(relays_mutex_);
  relays_[port] = std::move(info);
}

void WebFront::Unregister(int port) {
  std::lock_guard lock(relays_mutex_);
  relays_.erase(port);
}

std::optional<ClientInfo> WebFront::Lookup(std::string_view remote_addr, int remote_port) const {
  if (remote_addr != "127.0.0.1") return std::nullopt;
  std::lock_guard lock(relays_mutex_);
  const auto found = relays_.find(remote_port);
  if (found == relays_.end()) return std::nullopt;
  return found->second;
}

}  // namespace rrca::exporter
