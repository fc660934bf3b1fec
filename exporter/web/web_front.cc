#include "exporter/web/web_front.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <system_error>

#include "exporter/web/tls_context.h"

namespace rrca::web {
namespace {

using SteadyClock = std::chrono::steady_clock;

// "ip:port" and "ip" of a peer.
std::pair<std::string, std::string> PeerName(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
    port = ntohs(v4->sin_port);
    return {std::string(host) + ":" + std::to_string(port), host};
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
  port = ntohs(v6->sin6_port);
  if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
    inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], host, sizeof(host));
    return {std::string(host) + ":" + std::to_string(port), host};
  }
  inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
  return {"[" + std::string(host) + "]:" + std::to_string(port), host};
}

// A bound, listening socket for host:port ("" host: every address, dual-stack when possible).
StatusOr<int> BindListener(const std::string& listen_address) {
  const size_t colon = listen_address.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("--web.listen-address: '" + listen_address + "' has no :port");
  }
  std::string host = listen_address.substr(0, colon);
  const std::string port = listen_address.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
    return Status::InvalidArgument("--web.listen-address: '" + listen_address + "': bad port");
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
  return Status::IoError("cannot listen on " + listen_address + ": " + last_error);
}

}  // namespace

// One open connection. Its fd is closed only under table_mutex_, after the slot left the table,
// so an eviction (a shutdown() under the same mutex) never reaches a reused descriptor.
struct WebFront::Slot : WebFront::Connection {
  int fd = -1;
  std::string ip;
  std::string address;
  int stop_pipe = -1;
  SteadyClock::time_point accepted;
  std::atomic<ConnectionPhase> phase{ConnectionPhase::kWaiting};
  std::atomic<bool> proven{false};
  bool evicted = false;  // guarded by table_mutex_
  std::thread thread;    // guarded by table_mutex_: set before the thread can reach Finish

  void SetPhase(ConnectionPhase value) override { phase.store(value); }
  void MarkProven() override { proven.store(true); }
  int stop_fd() const override { return stop_pipe; }
  SteadyClock::time_point accepted_at() const override { return accepted; }
};

WebFront::WebFront(FrontOptions options, std::shared_ptr<const TlsContext> tls, Serve serve)
    : options_(options),
      tls_enabled_(tls != nullptr),
      serve_(std::move(serve)),
      tls_(std::move(tls)) {}

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

void WebFront::Start() {
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) stop_pipe_[0] = stop_pipe_[1] = -1;
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

void WebFront::Stop() {
  if (!acceptor_.joinable()) return;
  stopping_ = true;
  (void)!::write(stop_pipe_[1], "x", 1);
  acceptor_.join();
  {
    std::unique_lock lock(table_mutex_);
    threads_done_.wait(lock, [this] { return open_.empty(); });
  }
  JoinFinishedThreads();
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
  stop_pipe_[0] = stop_pipe_[1] = -1;
}

bool WebFront::Admit(const std::string& ip) {
  auto evictable = [](const Slot& slot) {
    return !slot.evicted && slot.phase.load() != ConnectionPhase::kBusy;
  };
  if (open_.size() >= 2 * options_.max_connections) return false;  // evicted ones still closing
  std::string victim_ip;
  const auto mine = per_client_.find(ip);
  if (mine != per_client_.end() && mine->second >= options_.max_connections_per_client) {
    victim_ip = ip;
  } else if (live_ >= options_.max_connections) {
    size_t most = 0;
    for (const auto& [client, count] : per_client_) {
      if (count > most) most = count, victim_ip = client;
    }
  } else {
    return true;
  }
  // The oldest evictable connection of victim_ip, unproven ones first; else (global limit only)
  // of anyone, likewise.
  auto oldest = [&](bool any_client) -> std::shared_ptr<Slot> {
    for (const bool proven : {false, true}) {
      for (const auto& slot : open_) {
        if (evictable(*slot) && slot->proven.load() == proven &&
            (any_client || slot->ip == victim_ip)) {
          return slot;
        }
      }
    }
    return nullptr;
  };
  std::shared_ptr<Slot> victim = oldest(/*any_client=*/false);
  if (victim == nullptr && victim_ip != ip) victim = oldest(/*any_client=*/true);
  if (victim == nullptr) return false;
  victim->evicted = true;
  ::shutdown(victim->fd, SHUT_RDWR);  // its thread wakes, sees the end, and closes it
  --live_;
  if (--per_client_[victim->ip] == 0) per_client_.erase(victim->ip);
  ++counters_.evicted;
  return true;
}

void WebFront::AcceptLoop() {
  auto last_warning = SteadyClock::time_point{};
  while (!stopping_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    const int ready = ::poll(fds, 2, 1000);
    if (stopping_ || fds[1].revents != 0) break;
    // Finished threads are joined when no client waits (poll timed out) or once 32 wait to be,
    // not before every accept: a flood of short connections must not delay a scraper's accept.
    if (ready == 0 || FinishedThreadsWaiting() >= 32) JoinFinishedThreads();
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
    auto [peer, ip] = PeerName(address);
    auto slot = std::make_shared<Slot>();
    slot->fd = fd;
    slot->ip = ip;
    slot->address = peer;
    slot->stop_pipe = stop_pipe_[0];
    slot->accepted = SteadyClock::now();
    {
      std::lock_guard lock(table_mutex_);
      if (!Admit(ip)) {
        ++counters_.refused_over_limit;
        ::close(fd);
        const auto now = SteadyClock::now();
        if (now - last_warning > std::chrono::seconds(10)) {
          last_warning = now;
          spdlog::warn(
              "http: {} connections open ({} from {}), none idle: refusing more ({} "
              "refused so far)",
              live_, per_client_[ip], ip, counters_.refused_over_limit.load());
        }
        continue;
      }
      open_.push_back(slot);
      ++live_;
      ++per_client_[ip];
    }
    ++counters_.accepted;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    bool started = true;
    {
      std::lock_guard lock(table_mutex_);  // the thread's Finish waits until slot->thread is set
      try {
        slot->thread = std::thread([this, slot] { Run(slot); });
      } catch (const std::system_error& e) {  // out of threads: drop this one, keep serving
        spdlog::warn("http: cannot start a connection thread: {}", e.what());
        started = false;
      }
    }
    if (!started) Finish(slot);
  }
}

void WebFront::Finish(const std::shared_ptr<Slot>& slot) {
  std::lock_guard lock(table_mutex_);
  open_.remove(slot);
  if (!slot->evicted) {
    --live_;
    if (--per_client_[slot->ip] == 0) per_client_.erase(slot->ip);
  }
  ::close(slot->fd);
  if (slot->thread.joinable()) finished_threads_.push_back(std::move(slot->thread));
  threads_done_.notify_all();
}

// Connection threads are joined, never detached: a thread past Finish still runs its thread-exit
// work (OpenSSL frees its per-thread error queue and random state then), and a detached one could
// still be doing that when Stop() has returned and the process exits -- LeakSanitizer then reports
// the 904-byte error queue as a leak. Joined by the acceptor (when idle, or 32 at a time) and by
// Stop().
void WebFront::JoinFinishedThreads() {
  std::vector<std::thread> finished;
  {
    std::lock_guard lock(table_mutex_);
    finished.swap(finished_threads_);
  }
  for (std::thread& thread : finished) thread.join();
}

size_t WebFront::FinishedThreadsWaiting() {
  std::lock_guard lock(table_mutex_);
  return finished_threads_.size();
}

void WebFront::Run(std::shared_ptr<Slot> slot) {
  // Named for `top -H` and `ps -L`, and for the test that no connection thread outlives Stop().
  pthread_setname_np(pthread_self(), kConnectionThreadName);
  ClientInfo info{slot->address, slot->ip, tls_enabled_, ""};
  std::unique_ptr<web::ClientStream> client;
  if (tls_enabled_) {
    std::shared_ptr<const TlsContext> tls;  // held for the handshake; SSL objects then own a ref
    {
      std::lock_guard lock(tls_mutex_);
      tls = tls_;
    }
    std::string error;
    client = web::AcceptTls(slot->fd, tls->ctx(), slot->accepted + options_.head_timeout,
                            slot->stop_pipe, &error, &info.tls_subject);
    if (client == nullptr) {
      ++counters_.handshake_failures;
      spdlog::debug("http: {}: TLS handshake failed: {}", info.address, error);
    }
  } else {
    client = web::PlainStream(slot->fd);
  }
  if (client != nullptr) serve_(*client, info, *slot);
  client.reset();
  Finish(slot);
}

}  // namespace rrca::web
