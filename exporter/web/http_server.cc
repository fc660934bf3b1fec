#include "exporter/web/http_server.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <optional>
#include <semaphore>
#include <string_view>
#include <thread>

#include "exporter/web/tls_context.h"
#include "exporter/web/web_auth.h"

namespace rrca::web {

static_assert(FrontOptions{}.max_body_bytes == HttpServer::kMaxBodyBytes,
              "the default body limit is the largest");

namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// "application/json", parameters (charset) allowed, any case.
bool IsJson(const char* content_type) {
  if (content_type == nullptr) return false;
  std::string_view type(content_type);
  type = Trim(type.substr(0, type.find(';')));
  return Lower(type) == "application/json";
}

// "scheme://host[:port]" without a default port, lower case, for comparing origins.
std::string NormalizeOrigin(std::string_view scheme, std::string_view authority) {
  std::string host = Lower(Trim(authority));
  const std::string default_port = scheme == "https" ? ":443" : ":80";
  if (host.ends_with(default_port)) host.resize(host.size() - default_port.size());
  return std::string(scheme) + "://" + host;
}

}  // namespace

// Browsers send Origin with every cross-site POST, and cannot send application/json cross-site
// without a preflight, which we never answer.
HttpResponse CrossSiteRefusal(const char* origin, const char* host, const char* content_type,
                              bool empty_body, bool tls) {
  if (origin != nullptr) {
    const std::string own = NormalizeOrigin(tls ? "https" : "http", host != nullptr ? host : "");
    std::string_view given = Trim(origin);
    const size_t scheme_end = given.find("://");
    if (host == nullptr || scheme_end == std::string_view::npos ||
        NormalizeOrigin(Lower(given.substr(0, scheme_end)), given.substr(scheme_end + 3)) != own) {
      return {403, "text/plain; charset=utf-8", "cross-origin requests are refused\n"};
    }
  }
  if (content_type == nullptr && empty_body && origin == nullptr) return {0, "", ""};
  if (!IsJson(content_type)) {
    return {415, "text/plain; charset=utf-8", "Content-Type must be application/json\n"};
  }
  return {0, "", ""};
}

namespace {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

HttpResponse Text(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body)};
}

}  // namespace

// Where handlers run. Scrapes run on their connection's thread, at most scrape_slots at once.
// Every other route runs on a pool of other_slots threads at nice 10 (a thread may always lower
// its own priority, never raise it back, hence a pool): a flood of webhook posts, each parsed and
// enriched on the CPU, then yields the cores to scrapes instead of sharing them evenly. A request
// that finds no slot within slot_wait gets 503. Thread-safe.
class HttpServer::Lanes {
 public:
  explicit Lanes(const FrontOptions& options)
      : scrape_(static_cast<std::ptrdiff_t>(options.scrape_slots)),
        other_(static_cast<std::ptrdiff_t>(options.other_slots)) {
    for (size_t i = 0; i < options.other_slots; ++i) {
      workers_.emplace_back([this] { Work(); });
    }
  }
  ~Lanes() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }

  // The handler's response, or nullopt when no slot came within `wait`.
  std::optional<HttpResponse> Run(RouteKind kind, const std::function<HttpResponse()>& handler,
                                  std::chrono::milliseconds wait) {
    if (kind == RouteKind::kScrape) {
      if (!scrape_.try_acquire_for(wait)) return std::nullopt;
      HttpResponse response = Guarded(handler);
      scrape_.release();
      return response;
    }
    if (!other_.try_acquire_for(wait)) return std::nullopt;
    // The semaphore admits at most as many jobs as there are workers: none waits in the queue.
    std::packaged_task<HttpResponse()> task([&handler] { return Guarded(handler); });
    std::future<HttpResponse> result = task.get_future();
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(task));
    }
    wake_.notify_one();
    HttpResponse response = result.get();
    other_.release();
    return response;
  }

 private:
  static HttpResponse Guarded(const std::function<HttpResponse()>& handler) {
    try {
      return handler();
    } catch (const std::exception& e) {
      spdlog::error("http: handler failed: {}", e.what());
      return Text(500, "internal error\n");
    }
  }

  void Work() {
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);  // best effort
    while (true) {
      std::packaged_task<HttpResponse()> task;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, and nothing left to answer
        task = std::move(jobs_.front());
        jobs_.pop_front();
      }
      task();
    }
  }

  std::counting_semaphore<> scrape_;
  std::counting_semaphore<> other_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<HttpResponse()>> jobs_;  // guarded by mutex_
  bool stopping_ = false;                                // guarded by mutex_
  std::vector<std::thread> workers_;
};

// The decision on a request from its head alone.
struct HttpServer::Admission {
  HttpResponse refusal;         // status 0: admitted
  std::string refusal_headers;  // e.g. WWW-Authenticate
  const RouteEntry* route = nullptr;
  std::string user;
  std::shared_ptr<const WebState> state;
};

HttpServer::Admission HttpServer::Admit(const web::RequestHead& head,
                                        const ClientInfo& info) const {
  Admission admission;
  admission.state = State();
  admission.refusal.status = 0;
  const WebState& state = *admission.state;
  if (state.auth != nullptr &&
      !state.auth->Check(head.has_authorization ? head.authorization.c_str() : nullptr,
                         &admission.user)) {
    spdlog::debug("http: {} {} {}: 401 (basic auth)", info.address, head.method, head.path);
    admission.refusal = Text(401, "Unauthorized\n");
    admission.refusal_headers = "WWW-Authenticate: Basic\r\n";
    return admission;
  }
  const auto route = FindRoute(head.path);
  if (route == routes_.end()) {
    admission.refusal = Text(404, "404 page not found\n");
    return admission;
  }
  admission.route = &route->second;
  if (head.method != "GET" && head.method != "HEAD" && head.method != "POST") {
    admission.refusal = Text(405, "method not allowed\n");
    return admission;
  }
  if (head.method == "POST" && route->second.kind == RouteKind::kStateChanging) {
    admission.refusal =
        CrossSiteRefusal(head.has_origin ? head.origin.c_str() : nullptr, head.host.c_str(),
                         head.has_content_type ? head.content_type.c_str() : nullptr,
                         head.content_length == 0, state.tls != nullptr);
    if (admission.refusal.status != 0) {
      spdlog::debug("http: {} POST {}: {} (cross-site check)", info.address, head.path,
                    admission.refusal.status);
      return admission;
    }
  }
  if (head.content_length > route->second.max_body_bytes) {
    admission.refusal = Text(413, "request body too large\n");
  }
  return admission;
}

bool HttpServer::Reserve(size_t bytes) {
  size_t current = buffered_body_bytes_.load();
  do {
    if (current + bytes > front_options_.body_budget_bytes) return false;
  } while (!buffered_body_bytes_.compare_exchange_weak(current, current + bytes));
  return true;
}

void HttpServer::ServeConnection(web::ClientStream& client, const ClientInfo& info,
                                 WebFront::Connection& connection) {
  web::RequestReader reader(client, connection.stop_fd(), front_options_.max_head_bytes);
  constexpr int kMaxRequestsPerConnection = 1000;
  for (int served = 0; served < kMaxRequestsPerConnection; ++served) {
    if (!ServeRequest(client, info, connection, reader, served == 0)) return;
  }
}

bool HttpServer::ServeRequest(web::ClientStream& client, const ClientInfo& info,
                              WebFront::Connection& connection, web::RequestReader& reader,
                              bool first) {
  using SteadyClock = std::chrono::steady_clock;
  const int stop_fd = connection.stop_fd();
  FrontCounters& counters = front_->counters();
  connection.SetPhase(ConnectionPhase::kWaiting);
  const auto now = SteadyClock::now();
  // The first head must be in by head_timeout after accept (the TLS handshake included); a
  // later one may start within keep_alive_timeout and then has head_timeout to finish.
  const auto first_byte = first ? connection.accepted_at() + front_options_.head_timeout
                                : now + front_options_.keep_alive_timeout;
  const auto head_deadline = first ? first_byte : first_byte + front_options_.head_timeout;
  auto reply = [&](const HttpResponse& response, const std::string& extra, bool keep,
                   const std::string& method) {
    const std::shared_ptr<const WebState> state = State();
    std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                      ReasonPhrase(response.status) + "\r\nContent-Type: " + response.content_type +
                      "\r\nContent-Length: " + std::to_string(response.body.size()) +
                      "\r\nCache-Control: " + response.cache_control + "\r\n" + response.headers;
    if (!keep) out += "Connection: close\r\n";
    for (const auto& [name, value] : state->headers) out += name + ": " + value + "\r\n";
    out += extra + "\r\n";
    if (method != "HEAD") out += response.body;
    const auto deadline = SteadyClock::now() + front_options_.write_timeout;
    const bool written = web::WriteAll(client, out, deadline, stop_fd);
    if (written && response.status < 400) connection.MarkProven();
    if (written && !keep) {
      web::Linger(client, SteadyClock::now() + std::chrono::seconds(1), stop_fd);
    }
    return written && keep;
  };

  web::RequestHead head;
  std::string reason;
  switch (reader.ReadHead(first_byte, head_deadline, &head, &reason)) {
    case web::ReadStatus::kOk:
      break;
    case web::ReadStatus::kBad:
      ++counters.bad_requests;
      spdlog::debug("http: {}: 400: {}", info.address, reason);
      return reply(Text(400, "bad request: " + reason + "\n"), "", false, "");
    case web::ReadStatus::kTooLarge:
      ++counters.bad_requests;
      return reply(Text(431, "request head too large\n"), "", false, "");
    case web::ReadStatus::kNoLength:
      ++counters.bad_requests;
      return reply(Text(411, "send the body with a Content-Length (no Transfer-Encoding)\n"), "",
                   false, "");
    case web::ReadStatus::kTimeout:
      ++counters.head_timeouts;
      spdlog::debug("http: {}: no complete request head within the deadline", info.address);
      return reply(Text(408, "request head not received in time\n"), "", false, "");
    case web::ReadStatus::kIdleTimeout:
      // A connection that never sent a request; later ones merely end their keep-alive.
      if (first) ++counters.head_timeouts;
      return false;
    default:
      return false;  // closed or stopping: nobody to answer
  }
  const auto request_start = SteadyClock::now();
  Admission admission = Admit(head, info);
  if (admission.refusal.status != 0) {
    // An unread body would be taken for the next request: close after refusing one.
    return reply(admission.refusal, admission.refusal_headers,
                 head.keep_alive && head.content_length == 0, head.method);
  }

  HttpRequest request;
  request.method = head.method;
  request.path = head.path;
  request.query = head.query;
  request.remote_address = info.address;
  request.user = admission.user;
  request.if_none_match = head.if_none_match;
  size_t reserved = 0;
  if (head.content_length > 0) {
    connection.SetPhase(ConnectionPhase::kBody);
    if (head.expect_continue &&
        !web::WriteAll(client, "HTTP/1.1 100 Continue\r\n\r\n",
                       SteadyClock::now() + front_options_.write_timeout, stop_fd)) {
      return false;
    }
    // Small bodies are never refused for budget (at most max_connections of them exist); large
    // ones are reserved as their bytes arrive, so announcing a size holds nothing.
    const bool large = head.content_length > front_options_.small_body_bytes;
    const web::ReadStatus body = reader.ReadBody(
        request_start + front_options_.body_timeout,
        [&](size_t bytes) {
          if (!large) return true;
          if (!Reserve(bytes)) return false;
          reserved += bytes;
          return true;
        },
        &request.body);
    if (body != web::ReadStatus::kOk) {
      buffered_body_bytes_ -= reserved;
      switch (body) {
        case web::ReadStatus::kRefused:
          ++counters.over_budget;
          return reply(Text(503, "too many large request bodies at once; retry\n"),
                       "Retry-After: 1\r\n", false, head.method);
        case web::ReadStatus::kTimeout:
          ++counters.body_timeouts;
          return reply(Text(408, "request body not received in time\n"), "", false, head.method);
        case web::ReadStatus::kBad:
          ++counters.bad_requests;
          return reply(Text(400, "bad request body\n"), "", false, head.method);
        default:
          return false;
      }
    }
  }

  connection.SetPhase(ConnectionPhase::kBusy);
  HttpResponse response;
  std::optional<HttpResponse> handled = lanes_->Run(
      admission.route->kind, [&] { return admission.route->handler(request); },
      front_options_.slot_wait);
  if (handled.has_value()) {
    response = std::move(*handled);
  } else {
    ++counters.busy;
    response = Text(503, "busy; retry\n");
  }
  request.body = std::string();  // the reserved bytes are gone now
  buffered_body_bytes_ -= reserved;
  spdlog::debug("http: {} {} {} {}", info.address, request.method, request.path, response.status);
  return reply(response, response.status == 503 ? "Retry-After: 1\r\n" : "", head.keep_alive,
               head.method);
}

HttpServer::HttpServer() : state_(std::make_shared<WebState>()) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::SetWebConfig(const WebConfig& config) {
  const std::string name = config.file.empty() ? "web config" : config.file;
  const bool running = front_ != nullptr;
  auto state = std::make_shared<WebState>();
  if (config.tls.enabled()) {
    auto tls = TlsContext::Create(config.tls, name);
    if (!tls.ok()) {
      if (!running) config_status_ = tls.status();
      return tls.status();
    }
    state->tls = std::move(tls.value());
  }
  if (running && (state->tls != nullptr) != tls()) {
    return Status::InvalidArgument(name + ": switching between TLS and plaintext needs a restart");
  }
  if (!config.basic_auth_users.empty()) {
    state->auth = std::make_shared<BasicAuth>(config.basic_auth_users);
    if (state->tls == nullptr) {
      spdlog::warn("{}: basic auth without tls_server_config: passwords cross the network in clear",
                   name);
    }
  }
  state->headers = config.headers;
  if (running) front_->SetTls(state->tls);
  {
    std::lock_guard lock(state_mutex_);
    state_ = std::move(state);
  }
  if (!running) config_status_ = Status::Ok();
  return Status::Ok();
}

std::shared_ptr<const HttpServer::WebState> HttpServer::State() const {
  std::lock_guard lock(state_mutex_);
  return state_;
}

bool HttpServer::tls() const {
  const auto state = State();
  return state != nullptr && state->tls != nullptr;
}

std::shared_ptr<const BasicAuth> HttpServer::auth() const {
  const auto state = State();
  return state != nullptr ? state->auth : nullptr;
}

// Exact paths first; a route registered with a trailing '/' also serves the paths below it
// (/api/v1/uploads/<uuid>), the longest such prefix winning.
std::map<std::string, HttpServer::RouteEntry>::const_iterator HttpServer::FindRoute(
    const std::string& path) const {
  auto route = routes_.find(path);
  if (route != routes_.end()) return route;
  for (auto it = routes_.begin(); it != routes_.end(); ++it) {
    const std::string& prefix = it->first;
    if (prefix.size() > 1 && prefix.back() == '/' && path.starts_with(prefix) &&
        (route == routes_.end() || prefix.size() > route->first.size())) {
      route = it;
    }
  }
  return route;
}

void HttpServer::Route(const std::string& path, Handler handler, RouteKind kind,
                       size_t max_body_bytes) {
  if (max_body_bytes == 0 && kind == RouteKind::kStateChanging) max_body_bytes = kMaxBodyBytes;
  routes_[path] = RouteEntry{std::move(handler), kind, max_body_bytes};
}

int64_t HttpServer::tls_certificate_expiry() const {
  const auto state = State();
  return state != nullptr && state->tls != nullptr ? state->tls->not_after() : 0;
}

Status HttpServer::Start(const std::string& listen_address) {
  if (!config_status_.ok()) return config_status_;  // never serve plaintext instead of TLS
  // spdlog creates its default logger on first use; do that here, before the serving threads
  // log concurrently (Debian's libspdlog is not instrumented, so TSan would see a race).
  spdlog::default_logger();
  lanes_ = std::make_unique<Lanes>(front_options_);
  front_ = std::make_unique<WebFront>(
      front_options_, State()->tls,
      [this](web::ClientStream& client, const ClientInfo& info, WebFront::Connection& connection) {
        ServeConnection(client, info, connection);
      });
  if (Status listening = front_->Listen(listen_address); !listening.ok()) {
    front_.reset();
    return listening;
  }
  front_->Start();
  port_ = front_->port();
  return Status::Ok();
}

void HttpServer::Stop() {
  if (front_ != nullptr) front_->Stop();  // every connection has ended when this returns
  lanes_.reset();                         // so no handler runs any more
}

}  // namespace rrca::web
