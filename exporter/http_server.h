#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

class CivetServer;

namespace rrca::exporter {

struct HttpRequest {
  std::string method;
  std::string path;
  std::string query;  // without the '?'
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// The daemon's HTTP endpoint on civetweb (plaintext; see README for TLS). Routes are exact
// paths registered before Start; handlers run on civetweb's worker threads, so they must only
// read thread-safe state. Request bodies are capped (kMaxBodyBytes) to bound memory.
class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  static constexpr size_t kMaxBodyBytes = 8 << 20;

  HttpServer();
  ~HttpServer();

  void Route(const std::string& path, Handler handler);

  // listen_address: ":9479", "127.0.0.1:9479", "[::1]:9479", "localhost:0" (port 0 = any free).
  Status Start(const std::string& listen_address, int threads = 4);
  void Stop();
  // The port actually bound (useful with port 0).
  int port() const { return port_; }

  // civetweb's listening_ports form of a Prometheus-style listen address.
  static StatusOr<std::string> CivetPorts(const std::string& listen_address);

 private:
  class Dispatcher;
  std::map<std::string, Handler> routes_;
  std::unique_ptr<CivetServer> server_;
  std::unique_ptr<Dispatcher> dispatcher_;
  int port_ = 0;
};

}  // namespace rrca::exporter
