#pragma once

#include <curl/curl.h>

#include <chrono>
#include <string>

// What every libcurl client of registry-rca (the alert enricher's webhook client, the active
// prober) sets the same way: the one-time global init, the transport and TLS options of a
// request, and one word for the step that failed. Each client keeps its own handles, callbacks
// and bounds; only these decisions are shared, so that they cannot drift apart.
namespace rrca {

// curl_global_init once per process, before the first easy handle. libcurl 7.84+ built
// "threadsafe" (Debian 12's is) makes this safe from any thread; never cleaned up, because
// worker threads may still hold handles while the process exits.
void InitCurlOnce();

struct CurlTransport {
  // The whole exchange: name resolution, connect, TLS handshake, sending, and the answer.
  std::chrono::milliseconds timeout{5000};
  // PEM bundle that verifies https peers instead of the system's trust store; empty: the
  // system's store. Peers are always verified (certificate chain and host name).
  std::string ca_file;
  std::string user_agent;
};

// Sets, on a freshly reset handle: http/https only, no redirects, no signals (curl's threaded
// resolver keeps name resolution inside the timeout), the timeout, no proxy from the
// environment, TLS 1.2 at least with peer and host verification (and `ca_file` *replacing* the
// system's store), the user agent, and `error_buffer` (CURL_ERROR_SIZE bytes) for curl's words.
// curl copies the strings; `error_buffer` must outlive the transfer.
void SetCurlTransport(CURL* easy, const CurlTransport& transport, char* error_buffer);

// Which step failed, in one word, from curl's result code: "resolve", "connect", "timeout",
// "tls", "send", "answer" (broken or oversized answer), "curl" (anything else).
const char* CurlFailureReason(CURLcode code);

}  // namespace rrca
