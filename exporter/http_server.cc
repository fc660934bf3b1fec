#include "exporter/http_server.h"

#include <CivetServer.h>

#include <cstring>

namespace rrca::exporter {

// One civetweb handler for "/" and below that dispatches on the exact path.
class HttpServer::Dispatcher : public CivetHandler {
 public:
  explicit Dispatcher(const std::map<std::string, Handler>* routes) : routes_(routes) {}

  bool handleGet(CivetServer* server, mg_connection* conn) override { return Handle(server, conn); }
  bool handlePost(CivetServer* server, mg_connection* conn) override {
    return Handle(server, conn);
  }
  bool handleHead(CivetServer* server, mg_connection* conn) override {
    return Handle(server, conn);
  }

 private:
  bool Handle(CivetServer*, mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    HttpRequest request;
    request.method = info->request_method != nullptr ? info->request_method : "";
    request.path = info->local_uri != nullptr ? info->local_uri : "/";
    request.query = info->query_string != nullptr ? info->query_string : "";
    HttpResponse response;
    auto route = routes_->find(request.path);
    if (route == routes_->end()) {
      response = {404, "text/plain; charset=utf-8", "404 page not found\n"};
    } else if (!ReadBody(conn, info, &request.body)) {
      response = {413, "text/plain; charset=utf-8", "request body too large\n"};
    } else {
      response = route->second(request);
    }
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
              response.status, mg_get_response_code_text(conn, response.status),
              response.content_type.c_str(), response.body.size());
    if (request.method != "HEAD") mg_write(conn, response.body.data(), response.body.size());
    return true;
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

  const std::map<std::string, Handler>* routes_;
};

HttpServer::HttpServer() = default;

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(const std::string& path, Handler handler) {
  routes_[path] = std::move(handler);
}

StatusOr<std::string> HttpServer::CivetPorts(const std::string& listen_address) {
  const size_t colon = listen_address.rfind(':');
  if (colon == std::string::npos) {
    return Status::Error("--web.listen-address: '" + listen_address + "' has no :port");
  }
  std::string host = listen_address.substr(0, colon);
  const std::string port = listen_address.substr(colon + 1);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos) {
    return Status::Error("--web.listen-address: '" + listen_address + "': bad port");
  }
  if (host.empty() || host == "0.0.0.0") return port;
  if (host == "localhost") host = "127.0.0.1";
  return host + ":" + port;
}

Status HttpServer::Start(const std::string& listen_address, int threads) {
  auto ports = CivetPorts(listen_address);
  if (!ports.ok()) return ports.status();
  const std::vector<std::string> options = {
      "listening_ports",    ports.value(), "num_threads",       std::to_string(threads),
      "request_timeout_ms", "10000",       "enable_keep_alive", "no",
  };
  try {
    server_ = std::make_unique<CivetServer>(options);
  } catch (const CivetException& e) {
    return Status::Error("cannot listen on " + listen_address + ": " + e.what());
  }
  if (server_->getContext() == nullptr) {
    return Status::Error("cannot listen on " + listen_address);
  }
  dispatcher_ = std::make_unique<Dispatcher>(&routes_);
  server_->addHandler("/", dispatcher_.get());
  const std::vector<int> bound = server_->getListeningPorts();
  port_ = bound.empty() ? 0 : bound.front();
  return Status::Ok();
}

void HttpServer::Stop() {
  if (server_ != nullptr) {
    server_->close();
    server_.reset();
  }
}

}  // namespace rrca::exporter
