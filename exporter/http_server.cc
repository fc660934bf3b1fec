#include "exporter/http_server.h"

#include <CivetServer.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <string_view>
#include <thread>

#include "exporter/tls_context.h"
#include "exporter/web_auth.h"
#include "exporter/web_relay.h"

namespace rrca::exporter {

static_assert(FrontOptions{}.max_body_bytes == HttpServer::kMaxBodyBytes,
              "the front refuses bodies civetweb would");

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

// One civetweb handler for "/" and below: checks that the connection came through the front,
// then basic auth, then dispatches on the exact path.
class HttpServer::Dispatcher : public CivetHandler {
 public:
  explicit Dispatcher(const HttpServer* server) : server_(server) {}

  bool handleGet(CivetServer*, mg_connection* conn) override { return Handle(conn); }
  bool handlePost(CivetServer*, mg_connection* conn) override { return Handle(conn); }
  bool handleHead(CivetServer*, mg_connection* conn) override { return Handle(conn); }
  bool handlePut(CivetServer*, mg_connection* conn) override { return Handle(conn); }
  bool handleDelete(CivetServer*, mg_connection* conn) override { return Handle(conn); }
  bool handleOptions(CivetServer*, mg_connection* conn) override { return Handle(conn); }
  bool handlePatch(CivetServer*, mg_connection* conn) override { return Handle(conn); }

 private:
  bool Handle(mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    HttpRequest request;
    request.method = info->request_method != nullptr ? info->request_method : "";
    request.path = info->local_uri != nullptr ? info->local_uri : "/";
    request.query = info->query_string != nullptr ? info->query_string : "";
    const std::optional<ClientInfo> client =
        server_->front_->Lookup(info->remote_addr, info->remote_port);
    if (!client.has_value()) {
      // Someone on this host dialled the internal port directly: it serves only the front.
      Send(conn, WebState{}, request.method, {403, "text/plain; charset=utf-8", "Forbidden\n"}, "");
      return true;
    }
    request.remote_address = client->address;
    const std::shared_ptr<const WebState> state = server_->State();
    if (state->auth != nullptr &&
        !state->auth->Check(mg_get_header(conn, "Authorization"), &request.user)) {
      spdlog::debug("http: {} {} {}: 401 (basic auth)", client->address, request.method,
                    request.path);
      Send(conn, *state, request.method, {401, "text/plain; charset=utf-8", "Unauthorized\n"},
           "WWW-Authenticate: Basic\r\n");
      return true;
    }
    HttpResponse response;
    auto route = server_->FindRoute(request.path);
    if (route == server_->routes_.end()) {
      response = {404, "text/plain; charset=utf-8", "404 page not found\n"};
    } else if (request.method != "GET" && request.method != "HEAD" && request.method != "POST") {
      response = {405, "text/plain; charset=utf-8", "method not allowed\n"};  // OPTIONS too
    } else if (request.method == "POST" && route->second.kind == RouteKind::kStateChanging &&
               (response = CheckCrossSite(conn, info, *state)).status != 0) {
      spdlog::debug("http: {} POST {}: {} (cross-site check)", client->address, request.path,
                    response.status);
    } else if (!ReadBody(conn, info, &request.body)) {
      response = {413, "text/plain; charset=utf-8", "request body too large\n"};
    } else {
      response = route->second.handler(request);
    }
    Send(conn, *state, request.method, response, "");
    spdlog::debug("http: {} {} {} {}", client->address, request.method, request.path,
                  response.status);
    return true;
  }

  static HttpResponse CheckCrossSite(mg_connection* conn, const mg_request_info* info,
                                     const WebState& state) {
    const bool empty_body =
        info->content_length <= 0 && mg_get_header(conn, "Transfer-Encoding") == nullptr;
    return CrossSiteRefusal(mg_get_header(conn, "Origin"), mg_get_header(conn, "Host"),
                            mg_get_header(conn, "Content-Type"), empty_body, state.tls != nullptr);
  }

  static void Send(mg_connection* conn, const WebState& state, const std::string& method,
                   const HttpResponse& response, const std::string& extra_headers) {
    std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " +
                       mg_get_response_code_text(conn, response.status) +
                       "\r\nContent-Type: " + response.content_type +
                       "\r\nContent-Length: " + std::to_string(response.body.size()) +
                       "\r\nCache-Control: no-store\r\nConnection: close\r\n";
    for (const auto& [name, value] : state.headers) head += name + ": " + value + "\r\n";
    head += extra_headers + "\r\n";
    mg_write(conn, head.data(), head.size());
    if (method != "HEAD") mg_write(conn, response.body.data(), response.body.size());
  }

  static bool ReadBody(mg_connection* conn, const mg_request_info* info, std::string* body) {
    if (info->content_length > static_cast<long long>(kMaxBodyBytes)) return false;
    char buffer[16384];
    int n;
    while ((n = mg_read(conn, buffer, sizeof(buffer))) > 0) {
      body->append(buffer, static_cast<size_t>(n));
      if (body->size() > kMaxBodyBytes) return false;
    }
    return true;
  }

  const HttpServer* server_;
};

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
    return Status::Error(name + ": switching between TLS and plaintext needs a restart");
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

void HttpServer::Route(const std::string& path, Handler handler, RouteKind kind) {
  routes_[path] = RouteEntry{std::move(handler), kind};
}

int64_t HttpServer::tls_certificate_expiry() const {
  const auto state = State();
  return state != nullptr && state->tls != nullptr ? state->tls->not_after() : 0;
}

Status HttpServer::Start(const std::string& listen_address, int threads) {
  if (!config_status_.ok()) return config_status_;  // never serve plaintext instead of TLS
  // spdlog creates its default logger on first use; do that here, before the serving threads
  // log concurrently (Debian's libspdlog is not instrumented, so TSan would see a race).
  spdlog::default_logger();
  front_ = std::make_unique<WebFront>(front_options_, State()->tls);
  if (Status listening = front_->Listen(listen_address); !listening.ok()) {
    front_.reset();
    return listening;
  }
  // civetweb serves only the front, on loopback; keep-alive off: one request per relay. Empty
  // CORS settings: civetweb would otherwise answer preflights itself, allowing any origin.
  // clang-format off
  const std::vector<std::string> options = {
      "listening_ports", "127.0.0.1:0",
      "num_threads", std::to_string(threads),
      "request_timeout_ms", "10000",
      "enable_keep_alive", "no",
      "access_control_allow_origin", "",
      "access_control_allow_methods", "",
      "access_control_allow_headers", "",
  };
  // clang-format on
  try {
    server_ = std::make_unique<CivetServer>(options);
  } catch (const CivetException& e) {
    front_.reset();
    return Status::Error(std::string("cannot start the internal HTTP listener: ") + e.what());
  }
  const std::vector<int> bound =
      server_->getContext() != nullptr ? server_->getListeningPorts() : std::vector<int>{};
  if (bound.empty()) {
    front_.reset();
    server_.reset();
    return Status::Error("cannot start the internal HTTP listener on 127.0.0.1");
  }
  internal_port_ = bound.front();
  dispatcher_ = std::make_unique<Dispatcher>(this);
  server_->addHandler("/", dispatcher_.get());
  front_->Start(internal_port_);
  port_ = front_->port();
  return Status::Ok();
}

void HttpServer::Stop() {
  if (front_ != nullptr) front_->Stop();  // no new requests, open relays end
  if (server_ != nullptr) {
    // civetweb's master thread notices the stop flag only between 2-second polls of its
    // listener; a connection to it ends the wait at once.
    std::atomic<bool> closed{false};
    std::thread closer([&] {
      server_->close();
      closed = true;
    });
    while (!closed) {
      const int fd = relay::ConnectLoopback(
          internal_port_, std::chrono::steady_clock::now() + std::chrono::milliseconds(50), -1);
      if (fd >= 0) ::close(fd);
      for (int i = 0; i < 10 && !closed; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    closer.join();
    server_.reset();
  }
  front_.reset();
}

}  // namespace rrca::exporter
