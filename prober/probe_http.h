#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "prober/stop_signal.h"

// The prober's HTTP client: one libcurl easy handle (connections kept alive between the calls
// of a run), the transport and TLS options every client of ours shares (common/curl_easy.h),
// and bounds on everything an answer fills. Not thread-safe: one per probe run.
namespace rrca::prober {

struct HttpCall {
  std::string method = "GET";  // GET, POST (empty body), DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // Basic auth, or with `aws_sigv4` ("aws:amz:<region>:s3") the access key and secret that
  // libcurl signs the request with (CURLOPT_AWS_SIGV4).
  bool use_credentials = false;
  std::string user;
  std::string password;
  std::string aws_sigv4;
  std::chrono::milliseconds timeout{10'000};
  const StopSignal* stop = nullptr;  // aborts the transfer when stopped; null: never (cleanup)
  // How long a transfer already under way may go on after the stop. Zero for checks; a create
  // gets the cleanup time, since the far side may already have made what its answer names and
  // only that answer lets the probe remove it. A call that starts after the stop never runs.
  std::chrono::milliseconds stop_grace{0};
};

// How a probe's request reacts to the prober being stopped.
enum class OnStop {
  kAbort,   // a check: aborted at once
  kFinish,  // a create: finishes within kStopGraceForCreate, so that it can be cleaned up
  kIgnore,  // cleanup: runs to its own deadline
};
inline constexpr std::chrono::milliseconds kStopGraceForCreate{5'000};
// Sets call->stop and call->stop_grace for `on_stop`.
void ApplyStopPolicy(OnStop on_stop, const StopSignal& stop, HttpCall* call);

struct HttpAnswer {
  int status = 0;                // 0: no answer (see reason)
  std::string location;          // the Location header, when present
  std::string www_authenticate;  // the first WWW-Authenticate header, when present
  std::string body;              // at most the client's max_body bytes
  bool cut = false;              // the head or body was longer than its bound
  std::string reason;  // no answer: "resolve", "connect", "timeout", "tls", "send", "answer",
                       // "curl", "stopped"
  std::string error;   // no answer: the reason and curl's words
};

// An answer with when its request was sent and its answer came, in seconds after an origin.
struct TimedAnswer {
  double sent = 0;
  double answered = 0;
  HttpAnswer answer;
};

class ProbeHttp {
 public:
  // The most of an answer's head (all header lines) and of a kept header value.
  static constexpr size_t kMaxHeadBytes = 64 << 10;
  static constexpr size_t kMaxHeaderValue = 8 << 10;
  // The most requests Repeat keeps in flight at once.
  static constexpr size_t kMaxInFlight = 8;

  ProbeHttp(std::string user_agent, std::string ca_file, size_t max_body = 1 << 20);
  ~ProbeHttp();
  ProbeHttp(const ProbeHttp&) = delete;
  ProbeHttp& operator=(const ProbeHttp&) = delete;

  HttpAnswer Call(const HttpCall& call);

  // Sends `call` every `interval` (a fixed grid of starts, not a pause between answers, so that
  // a slow answer does not coarsen the measurement), at most kMaxInFlight at once, until an
  // answer is `decisive`, the deadline passes (each request's timeout is the time left) or
  // call.stop is set; then waits for the requests in flight (after a decisive answer, one second
  // at most). Returns every answer in the order the requests were sent, timed from `origin`.
  std::vector<TimedAnswer> Repeat(const HttpCall& call, std::chrono::milliseconds interval,
                                  std::chrono::steady_clock::time_point origin,
                                  std::chrono::steady_clock::time_point deadline,
                                  const std::function<bool(const HttpAnswer&)>& decisive);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rrca::prober
