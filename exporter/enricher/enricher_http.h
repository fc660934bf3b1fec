#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

// The alert enricher's outgoing side: POSTs one JSON document to a webhook over http or https
// and reports the answer's status. libcurl does the work (name resolution inside the deadline,
// TLS with certificate and host name verification, Basic auth, keep-alive); this file decides
// which of curl's options a webhook gets and turns curl's outcome into a PostResult.
namespace rrca::enricher {

// A downstream webhook URL, checked and split by curl's URL API (CURLU) when the config is
// loaded, so that a URL curl would refuse never gets as far as a delivery.
struct HttpUrl {
  // The URL as curl normalised it, without user info: what curl is given for each request, and
  // what logs and the `downstream` metric label show. Never holds a credential.
  std::string redacted;
  // From `user:password@` in the URL, percent-decoded by curl; sent as a Basic Authorization
  // header. `has_credentials` is false when the URL had no user info.
  std::string user;
  std::string password;
  bool has_credentials = false;
  bool https = false;
};

// "http[s]://[user[:password]@]host[:port][/path][?query]". Anything else (another scheme, a
// fragment, port 0, what curl's URL parser refuses) is an error saying why; the message never
// repeats the URL, which may hold a password.
StatusOr<HttpUrl> ParseHttpUrl(std::string_view url);

struct PostOptions {
  // The whole exchange: name resolution, connect, TLS handshake, sending, and the answer.
  std::chrono::milliseconds timeout{5000};
  std::string user_agent;
  // PEM bundle that verifies https peers instead of the system's trust store; empty: the
  // system's store. Peers are always verified (certificate chain and host name).
  std::string ca_file;
  // The most of an answer's head, and separately of its body, that is read. A longer answer is
  // cut there (the connection is closed): its status still counts.
  size_t max_answer_bytes = 64 << 10;
};

struct PostResult {
  int status = 0;  // the HTTP status, 0 when no status line came
  // When status is 0, one word for which step failed: "resolve", "connect", "tls", "timeout",
  // "send", "answer" (broken or oversized head), "curl" (anything else); empty otherwise.
  std::string reason;
  // When status is 0: the reason and curl's words ("tls: SSL certificate problem: unable to get
  // local issuer certificate (verified with /etc/rca/ca.pem)"). Never holds a credential.
  std::string error;
  bool answer_cut = false;   // the answer was longer than max_answer_bytes and was not read out
  long new_connections = 0;  // connections this request opened; 0 when it reused one
  bool ok() const { return status >= 200 && status < 300; }
  // Worth trying again: no answer, 5xx, or 429 (as Alertmanager's own webhook notifier does).
  bool retryable() const { return status == 0 || status == 429 || status >= 500; }
};

// One libcurl easy handle and the connections it keeps alive (up to 16 hosts, idle ones closed
// by curl after about two minutes), reused by every Post. Not thread-safe: curl easy handles
// must not be used by two threads at once, so each thread owns its own client (see PostJson).
// Post never throws; options of one Post do not leak into the next (the handle is reset each
// time; connections, TLS sessions and the DNS cache survive the reset).
class WebhookClient {
 public:
  WebhookClient();
  ~WebhookClient();
  WebhookClient(const WebhookClient&) = delete;
  WebhookClient& operator=(const WebhookClient&) = delete;

  // POSTs `body` (Content-Type: application/json); `body` must stay valid during the call.
  PostResult Post(const HttpUrl& url, std::string_view body, const PostOptions& options);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Post through the calling thread's own WebhookClient (thread_local, created on first use,
// cleaned up when the thread ends). The enricher's single worker thread therefore holds one
// easy handle that keeps a connection to each downstream open between notifications.
// Thread-safe: no state is shared between threads.
PostResult PostJson(const HttpUrl& url, std::string_view body, const PostOptions& options);

}  // namespace rrca::enricher
