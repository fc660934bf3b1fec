#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"

// The alert enricher's outgoing side: a minimal HTTP/1.1 client that POSTs one JSON document to a
// webhook and reads the status line. Plain http only: registry-rca has no TLS client (Debian's
// civetweb TLS is broken, see docs/enricher.md), so https URLs are refused when the config is
// loaded, never downgraded.
namespace rrca::exporter {

struct HttpUrl {
  std::string host;  // a name or an IP literal (IPv6 without brackets)
  int port = 80;
  std::string target = "/";   // path and query
  std::string authorization;  // "Basic ..." from user:password@ in the URL, or empty
  std::string redacted;       // the URL without its user info: for logs and metric labels
};

// "http://[user:password@]host[:port][/path][?query]". Anything else is an error saying why.
StatusOr<HttpUrl> ParseHttpUrl(std::string_view url);

struct PostResult {
  int status = 0;     // the HTTP status, 0 when no answer came
  std::string error;  // why not, when status is 0 ("connect: Connection refused", "timeout")
  bool ok() const { return status >= 200 && status < 300; }
  // Worth trying again: no answer, 5xx, or 429 (as Alertmanager's own webhook notifier does).
  bool retryable() const { return status == 0 || status == 429 || status >= 500; }
};

// POSTs `body` (Content-Type: application/json) and waits at most `timeout` for the whole
// exchange: name resolution aside (getaddrinfo has no timeout), connect, send and the answer's
// head. Never throws; thread-safe (no shared state).
PostResult PostJson(const HttpUrl& url, std::string_view body, std::chrono::milliseconds timeout,
                    std::string_view user_agent);

}  // namespace rrca::exporter
