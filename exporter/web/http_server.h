#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "exporter/web/web_config.h"
#include "exporter/web/web_front.h"
#include "exporter/web/web_request.h"

namespace rrca::web {

class BasicAuth;
class TlsContext;

struct HttpRequest {
  std::string method;
  std::string path;
  std::string query;  // without the '?'
  std::string body;
  std::string remote_address;   // the real client, "ip:port" (also behind the TLS front)
  std::string user;             // the basic-auth user, when users are configured
  std::string if_none_match{};  // the If-None-Match header, "" when absent
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Extra header lines, each ending in "\r\n" (a page's Content-Security-Policy, an ETag).
  std::string headers{};
  std::string cache_control = "no-store";
};

// The daemon's HTTP endpoint: HTTP/1.1 with keep-alive, over TLS (OpenSSL 3, terminated here)
// when the web config has tls_server_config. Each request is parsed once (web::RequestReader,
// Boost.Beast's parser) and admitted from its head alone, before any body byte is read, in this
// order: basic auth (web config basic_auth_users; 401 with `WWW-Authenticate: Basic`, for every
// path and method), the route (404), the method (GET, HEAD, POST; 405 otherwise, OPTIONS too: no
// route answers CORS preflights), the cross-site check of a POST to a state-changing route (see
// CrossSiteRefusal), and the route's body limit (413). Only then is the body read, within the
// request's deadline and the shared body budget, and the handler run in its lane: scrape routes
// have handler slots of their own, so no other traffic can queue a scrape. Connection limits
// and eviction are WebFront's. The configured http_server_config.headers go on every response.
// If TLS is configured and cannot be set up, Start fails: never plaintext instead.
//
// Handlers run on connection threads, several at once: they must only read thread-safe state.
class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // kScrape: /metrics, with handler slots of its own. kRead: no body. kStateChanging: POST with a
  // JSON body (cross-site checked), up to the route's body limit.
  enum class RouteKind { kScrape, kRead, kStateChanging };
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

  // Exact paths; a path ending in '/' also serves everything below it. max_body_bytes: the
  // largest body the route takes (0: the default, kMaxBodyBytes for kStateChanging, none else).
  void Route(const std::string& path, Handler handler, RouteKind kind = RouteKind::kRead,
             size_t max_body_bytes = 0);

  // listen_address: ":9479", "127.0.0.1:9479", "[::1]:9479", "localhost:0" (port 0 = any free).
  Status Start(const std::string& listen_address);
  void Stop();
  // The port actually bound (useful with port 0).
  int port() const { return port_; }
  bool tls() const;

  // The server certificate's notAfter (Unix seconds), 0 without TLS.
  int64_t tls_certificate_expiry() const;

  // Null before Start.
  const FrontCounters* front_counters() const { return front_ ? &front_->counters() : nullptr; }
  // Bytes of large bodies held now (reserved from the body budget), all connections.
  size_t buffered_body_bytes() const { return buffered_body_bytes_.load(); }
  std::shared_ptr<const BasicAuth> auth() const;

 private:
  struct RouteEntry {
    Handler handler;
    RouteKind kind = RouteKind::kRead;
    size_t max_body_bytes = 0;
  };
  struct Admission;
  class Lanes;
  void ServeConnection(web::ClientStream& client, const ClientInfo& info,
                       WebFront::Connection& connection);
  // One request; false when the connection must close after it.
  bool ServeRequest(web::ClientStream& client, const ClientInfo& info,
                    WebFront::Connection& connection, web::RequestReader& reader, bool first);
  Admission Admit(const web::RequestHead& head, const ClientInfo& info) const;
  bool Reserve(size_t bytes);
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
  std::unique_ptr<Lanes> lanes_;
  std::atomic<size_t> buffered_body_bytes_{0};  // large bodies held now, all connections
  int port_ = 0;
};

// The cross-site check of a POST to a state-changing route, from its headers (null: absent):
// status 0 when it may go on, else the refusal (403 foreign Origin, 415 not JSON). The Origin
// must equal "http[s]://" + Host; a DNS-rebinding page controls Host too, which this does not
// catch (basic auth does).
HttpResponse CrossSiteRefusal(const char* origin, const char* host, const char* content_type,
                              bool empty_body, bool tls);

}  // namespace rrca::web
