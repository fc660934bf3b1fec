#include "exporter/http_server.h"

#include <CivetServer.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "exporter/tls_context.h"
#include "exporter/web_auth.h"
#include "exporter/web_relay.h"

namespace rrca::exporter {

static_assert(FrontOptions{}.max_body_bytes == HttpServer::kMaxBodyBytes,
              "the front refuses bodies civetweb would");

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
      response = {405, "text/plain; charset=utf-8", "method not allowed\n"};
    } else if (!ReadBody(conn, info, &request.body)) {
      response = {413, "text/plain; charset=utf-8", "request body too large\n"};
    } else {
      response = route->second(request);
    }
    Send(conn, *state, request.method, response, "");
    spdlog::debug("http: {} {} {} {}", client->address, request.method, request.path,
                  response.status);
    return true;
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
std::map<std::string, HttpServer::Handler>::const_iterator HttpServer::FindRoute(
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

void HttpServer::Route(const std::string& path, Handler handler) {
  routes_[path] = std::move(handler);
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
  // civetweb serves only the front, on loopback; keep-alive off: one request per relay.
  const std::vector<std::string> options = {
      "listening_ports",    "127.0.0.1:0", "num_threads",       std::to_string(threads),
      "request_timeout_ms", "10000",       "enable_keep_alive", "no",
  };
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
