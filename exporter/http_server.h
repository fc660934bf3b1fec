#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "exporter/web_config.h"
#include "exporter/web_front.h"

class CivetServer;

namespace rrca::exporter {

class BasicAuth;
class TlsContext;

struct HttpRequest {
  std::string method;
  std::string path;
  std::string query;  // without the '?'
  std::string body;
  std::string remote_address;  // the real client, "ip:port" (also behind the TLS front)
  std::string user;            // the basic-auth user, when users are configured
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// The daemon's HTTP endpoint. Routes are exact paths registered before Start; handlers run on
// civetweb's worker threads, so they must only read thread-safe state. Request bodies are capped
// (kMaxBodyBytes) to bound memory.
//
// Layout: a WebFront owns the public socket (TLS terminated there with OpenSSL 3 when the web
// config has tls_server_config) and relays complete requests to civetweb, which listens on
// 127.0.0.1:<ephemeral> only and serves nothing but connections the front made. Basic auth
// (web config basic_auth_users) is checked before routing, for every path and method; failures
// get 401 with `WWW-Authenticate: Basic`. The configured http_server_config.headers go on every
// response. If TLS is configured and cannot be set up, Start fails: never plaintext instead.
//
// Cross-site requests (issue 13, finding 11): a browser on another site can POST to us with
// text/plain or a form type and no preflight. So a POST to a state-changing route needs
// `Content-Type: application/json` (415 otherwise), except an empty body with no Content-Type
// and no Origin (`curl -X POST .../-/reload`), and an Origin header, when sent, must be our own
// (scheme, Host; 403 otherwise). No route answers CORS preflights: OPTIONS gets 405 with no
// Access-Control-* header, civetweb's own preflight answer being switched off.
class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  enum class RouteKind { kRead, kStateChanging };
  static constexpr size_t kMaxBodyBytes = 8 << 20;

  HttpServer();
  ~HttpServer();

  // TLS, headers and users from `--web.config.file` (see LoadWebConfig). Loads the certificate
  // files now, so errors name them. Before Start, a failure leaves the server unable to start.
  // After Start it is a reload (SIGHUP): new connections get the new certificate, users and
  // headers at once; a failure, or a switch between TLS and plaintext (which needs a restart),
  // keeps the running configuration and returns why.
  Status SetWebConfig(const WebConfig& config);
  // Connection limits and timeouts of the front (defaults are fine; tests shorten them).
  void SetFrontOptions(const FrontOptions& options) { front_options_ = options; }

  // Exact paths; a path ending in '/' also serves everything below it.
  void Route(const std::string& path, Handler handler, RouteKind kind = RouteKind::kRead);

  // listen_address: ":9479", "127.0.0.1:9479", "[::1]:9479", "localhost:0" (port 0 = any free).
  Status Start(const std::string& listen_address, int threads = 4);
  void Stop();
  // The port actually bound (useful with port 0).
  int port() const { return port_; }
  bool tls() const;

  // The server certificate's notAfter (Unix seconds), 0 without TLS.
  int64_t tls_certificate_expiry() const;

  // The private civetweb port (tests check that it serves nobody but the front).
  int internal_port() const { return internal_port_; }
  const FrontCounters* front_counters() const { return front_ ? &front_->counters() : nullptr; }
  std::shared_ptr<const BasicAuth> auth() const;

 private:
  class Dispatcher;
  struct RouteEntry {
    Handler handler;
    RouteKind kind = RouteKind::kRead;
  };
  std::map<std::string, RouteEntry>::const_iterator FindRoute(const std::string& path) const;
  std::map<std::string, RouteEntry> routes_;
  // What a web config sets, swapped whole by SetWebConfig; requests use a snapshot.
  struct WebState {
    std::shared_ptr<const TlsContext> tls;  // null: plaintext
    std::shared_ptr<BasicAuth> auth;        // null: no users
    std::vector<std::pair<std::string, std::string>> headers;
  };
  std::shared_ptr<const WebState> State() const;

  mutable std::mutex state_mutex_;
  std::shared_ptr<const WebState> state_;  // guarded by state_mutex_
  Status config_status_;
  FrontOptions front_options_;
  std::unique_ptr<WebFront> front_;
  std::unique_ptr<CivetServer> server_;
  std::unique_ptr<Dispatcher> dispatcher_;
  int port_ = 0;
  int internal_port_ = 0;
};

// The cross-site check of a POST to a state-changing route, from its headers (null: absent):
// status 0 when it may go on, else the refusal (403 foreign Origin, 415 not JSON). The Origin
// must equal "http[s]://" + Host; a DNS-rebinding page controls Host too, which this does not
// catch (basic auth does).
HttpResponse CrossSiteRefusal(const char* origin, const char* host, const char* content_type,
                              bool empty_body, bool tls);

}  // namespace rrca::exporter
