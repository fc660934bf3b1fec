// The registry probe: POST /v2/<repository>/blobs/uploads/, GET the Location until 204, DELETE.
#include <algorithm>
#include <chrono>
#include <thread>

#include "prober/credentials.h"
#include "prober/probe.h"
#include "prober/probe_http.h"
#include "prober/registry_api.h"

namespace rrca::prober {
namespace {

using Clock = std::chrono::steady_clock;

// One run's requests with the registry's auth: anonymous, Basic, or the Bearer token flow. A
// 401 with a challenge is answered once per request (a token is fetched, or Basic is used) and
// the token is kept for the rest of the run.
class RegistrySession {
 public:
  RegistrySession(const ProbeConfig& config, Credentials credentials, const StopSignal& stop)
      : config_(config),
        credentials_(std::move(credentials)),
        stop_(stop),
        http_(ProbeUserAgent(), config.registry.ca_file, 64 << 10),
        scope_("repository:" + config.registry.repository + ":pull,push") {}

  // `deadline`: the transfer's own bound; `on_stop`: see OnStop.
  HttpAnswer Send(const std::string& method, const std::string& url, Clock::time_point deadline,
                  OnStop on_stop) {
    HttpAnswer answer = SendOnce(method, url, deadline, on_stop);
    if (answer.status != 401) return answer;
    const auto challenge = ParseChallenge(answer.www_authenticate);
    if (!challenge.has_value()) {
      auth_error_ = "401 without a usable WWW-Authenticate challenge";
      return answer;
    }
    if (challenge->scheme == "basic") {
      if (!credentials_.present || use_basic_) {
        auth_error_ = credentials_.present ? "the registry refused the Basic credentials"
                                           : "the registry wants Basic credentials; none are set";
        return answer;
      }
      use_basic_ = true;
    } else if (challenge->scheme == "bearer") {
      if (!FetchToken(*challenge, deadline, on_stop)) return answer;
    } else {
      auth_error_ = "unsupported auth scheme " + challenge->scheme;
      return answer;
    }
    answer = SendOnce(method, url, deadline, on_stop);
    if (answer.status == 401 && auth_error_.empty()) {
      auth_error_ = "the registry refused the credentials";
    }
    return answer;
  }

  const std::string& auth_error() const { return auth_error_; }

  // The status GETs, every poll_interval, with the auth this run settled on.
  std::vector<TimedAnswer> Checks(const std::string& url, Clock::time_point origin,
                                  Clock::time_point deadline) {
    return http_.Repeat(MakeCall("GET", url, deadline, OnStop::kAbort), config_.poll_interval,
                        origin, deadline, [](const HttpAnswer& answer) {
                          return answer.status != 0 &&
                                 ClassifyRegistryCheck(answer.status) != Check::kNotYet;
                        });
  }

 private:
  HttpAnswer SendOnce(const std::string& method, const std::string& url, Clock::time_point deadline,
                      OnStop on_stop) {
    return http_.Call(MakeCall(method, url, deadline, on_stop));
  }

  HttpCall MakeCall(const std::string& method, const std::string& url, Clock::time_point deadline,
                    OnStop on_stop) {
    HttpCall call;
    call.method = method;
    call.url = url;
    ApplyStopPolicy(on_stop, stop_, &call);
    call.timeout =
        std::max(std::chrono::milliseconds(1),
                 std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    if (!token_.empty()) {
      call.headers.push_back("Authorization: Bearer " + token_);
    } else if (use_basic_) {
      call.use_credentials = true;
      call.user = credentials_.user;
      call.password = credentials_.password;
    }
    return call;
  }

  bool FetchToken(const Challenge& challenge, Clock::time_point deadline, OnStop on_stop) {
    auto url = TokenUrl(challenge, scope_);
    if (!url.ok()) {
      auth_error_ = url.status().message();
      return false;
    }
    HttpCall call;
    call.url = url.value();
    ApplyStopPolicy(on_stop, stop_, &call);
    call.timeout =
        std::max(std::chrono::milliseconds(1),
                 std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    if (credentials_.present) {
      call.use_credentials = true;
      call.user = credentials_.user;
      call.password = credentials_.password;
    }
    const HttpAnswer answer = http_.Call(call);
    if (answer.status != 200) {
      auth_error_ = answer.status == 0 ? "token service: " + answer.error
                                       : "token service answered " + std::to_string(answer.status);
      return false;
    }
    auto token = ParseTokenAnswer(answer.body);
    if (!token.ok()) {
      auth_error_ = token.status().message();
      return false;
    }
    token_ = std::move(token.value());
    return true;
  }

  const ProbeConfig& config_;
  Credentials credentials_;
  const StopSignal& stop_;
  ProbeHttp http_;
  std::string scope_;
  std::string token_;
  bool use_basic_ = false;
  std::string auth_error_;
};

// A request that did not get the status a step wanted.
void FailOnAnswer(ProbeResult* result, const HttpAnswer& answer, const RegistrySession& session,
                  FailReason on_status, const std::string& step) {
  if (answer.status == 0) {
    Fail(result, NoAnswerReason(answer.reason), step + ": " + answer.error);
  } else if (answer.status == 401 || answer.status == 403) {
    Fail(result, FailReason::kAuth,
         step + " answered " + std::to_string(answer.status) +
             (session.auth_error().empty() ? "" : ": " + session.auth_error()));
  } else {
    Fail(result, on_status, step + " answered " + std::to_string(answer.status));
  }
}

}  // namespace

ProbeResult RunRegistryProbe(const ProbeConfig& config, const StopSignal& stop) {
  ProbeResult result;
  const Clock::time_point deadline = Clock::now() + config.timeout;
  auto credentials = LoadRegistryCredentials(config.registry);
  if (!credentials.ok()) {
    Fail(&result, FailReason::kConfig, credentials.status().message());
    return result;
  }
  auto uploads_url = RegistryUploadsUrl(config.registry.url, config.registry.repository);
  if (!uploads_url.ok()) {
    Fail(&result, FailReason::kConfig, uploads_url.status().message());
    return result;
  }
  RegistrySession session(config, std::move(credentials.value()), stop);
  const Clock::time_point sent = Clock::now();
  // A stop while the POST is under way lets it finish: the registry may already have created
  // the upload, and only the answer's Location lets the probe cancel it.
  const HttpAnswer created = session.Send("POST", uploads_url.value(), deadline, OnStop::kFinish);
  const Clock::time_point acked = Clock::now();
  result.create_seconds = SecondsBetween(sent, acked);
  if (created.status != 202) {
    FailOnAnswer(&result, created, session, FailReason::kCreate, "POST " + uploads_url.value());
    return result;
  }
  auto location = ResolveLocation(uploads_url.value(), created.location);
  if (!location.ok()) {
    Fail(&result, FailReason::kAnswer, "POST answered 202: " + location.status().message());
    return result;
  }
  // Until 204, the deadline, or a stop: GET the upload's status every poll_interval.
  JudgeChecks(session.Checks(location.value(), sent, deadline), ClassifyRegistryCheck,
              "GET upload status", stop, &result);
  if (result.reason == FailReason::kAuth && !session.auth_error().empty()) {
    result.detail += ": " + session.auth_error();
  }
  // Cancel the upload whatever happened: a few seconds of its own, also after a stop. The
  // registry resumes the upload to cancel it, so while the store still hides it the DELETE fails
  // like the GETs did (404, 5xx): tried again every poll_interval until the cleanup time is up.
  // An upload still hidden then stays for the registry's upload purging.
  const Clock::time_point cleanup_deadline = Clock::now() + kCleanupTime;
  HttpAnswer cancelled;
  while (true) {
    cancelled = session.Send("DELETE", location.value(), cleanup_deadline, OnStop::kIgnore);
    if (cancelled.status == 204 || ClassifyRegistryCheck(cancelled.status) != Check::kNotYet ||
        Clock::now() + config.poll_interval >= cleanup_deadline) {
      break;
    }
    std::this_thread::sleep_for(config.poll_interval);  // not stopped: this is the cleanup
  }
  CheckCleanup(cancelled, "DELETE of the probe upload", &result);
  return result;
}

}  // namespace rrca::prober
