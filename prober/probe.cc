#include "prober/probe.h"

#include <cstdio>

#ifndef RRCA_VERSION
#define RRCA_VERSION "dev"
#endif

namespace rrca::prober {

std::string_view KindName(ProbeConfig::Kind kind) {
  return kind == ProbeConfig::Kind::kRegistry ? "registry" : "store";
}

std::string_view FailReasonName(FailReason reason) {
  switch (reason) {
    case FailReason::kNone:
      return "none";
    case FailReason::kConfig:
      return "config";
    case FailReason::kAuth:
      return "auth";
    case FailReason::kCreate:
      return "create";
    case FailReason::kNotVisible:
      return "not_visible";
    case FailReason::kStatus:
      return "status";
    case FailReason::kAnswer:
      return "answer";
    case FailReason::kNetwork:
      return "network";
    case FailReason::kCleanup:
      return "cleanup";
    case FailReason::kStopped:
      return "stopped";
    case FailReason::kCount:
      break;
  }
  return "unknown";
}

std::string ProbeUserAgent() { return std::string(kProbeUserAgentPrefix) + RRCA_VERSION; }

ProbeResult RunProbe(const ProbeConfig& config, const StopSignal& stop) {
  const auto start = std::chrono::steady_clock::now();
  ProbeResult result = config.kind == ProbeConfig::Kind::kRegistry ? RunRegistryProbe(config, stop)
                                                                   : RunStoreProbe(config, stop);
  result.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

FailReason NoAnswerReason(std::string_view curl_reason) {
  if (curl_reason == "stopped") return FailReason::kStopped;
  if (curl_reason == "answer") return FailReason::kAnswer;
  return FailReason::kNetwork;
}

void Fail(ProbeResult* result, FailReason reason, std::string detail) {
  if (result->reason != FailReason::kNone) return;
  result->reason = reason;
  result->detail = std::move(detail);
}

void CheckCleanup(const HttpAnswer& answer, const std::string& step, ProbeResult* result) {
  if (answer.status == 204) return;
  const std::string why =
      answer.status == 0 ? answer.error : "answered " + std::to_string(answer.status);
  if (result->ok()) {
    Fail(result, FailReason::kCleanup, step + " " + why);
  } else {
    result->detail += "; " + step + " " + why;
  }
}

Check ClassifyRegistryCheck(int status) {
  if (status == 204) return Check::kVisible;
  if (status == 404 || (status >= 500 && status <= 599)) return Check::kNotYet;
  if (status == 401 || status == 403) return Check::kAuth;
  return Check::kUnexpected;
}

Check ClassifyStoreCheck(int status, bool listed) {
  if (status == 200) return listed ? Check::kVisible : Check::kNotYet;
  if (status >= 500 && status <= 599) return Check::kNotYet;
  if (status == 401 || status == 403) return Check::kAuth;
  return Check::kUnexpected;
}

void SetVisibility(const CheckTimes* not_yet, const CheckTimes& seen, ProbeResult* result) {
  result->measured = true;
  result->visible_by_seconds = seen.answered;
  if (not_yet == nullptr) {
    result->visible_after_seconds = 0;
    result->visibility_seconds = seen.answered;
  } else {
    result->visible_after_seconds = not_yet->sent;
    result->visibility_seconds =
        ((not_yet->sent + not_yet->answered) / 2 + (seen.sent + seen.answered) / 2) / 2;
  }
}

void JudgeChecks(const std::vector<TimedAnswer>& checks,
                 const std::function<Check(int status)>& classify_status, const std::string& what,
                 const StopSignal& stop, ProbeResult* result) {
  JudgeChecks(
      checks, [&](const HttpAnswer& answer) { return classify_status(answer.status); }, what, stop,
      result);
}

void JudgeChecks(const std::vector<TimedAnswer>& checks,
                 const std::function<Check(const HttpAnswer&)>& classify, const std::string& what,
                 const StopSignal& stop, ProbeResult* result) {
  result->checks = static_cast<int>(checks.size());
  CheckTimes not_yet;
  bool seen_not_yet = false;
  int last_status = 0;
  for (const TimedAnswer& check : checks) {
    const HttpAnswer& answer = check.answer;
    last_status = answer.status;
    if (answer.status == 0) {
      if (answer.reason == "timeout") continue;  // the deadline decides
      result->reason = NoAnswerReason(answer.reason);
      result->detail = what + ": " + answer.error;
      return;
    }
    const CheckTimes times{check.sent, check.answered};
    switch (classify(answer)) {
      case Check::kVisible:
        SetVisibility(seen_not_yet ? &not_yet : nullptr, times, result);
        return;
      case Check::kNotYet:
        not_yet = times;
        seen_not_yet = true;
        continue;
      case Check::kAuth:
        result->reason = FailReason::kAuth;
        result->detail = what + " answered " + std::to_string(answer.status);
        return;
      case Check::kUnexpected:
        result->reason = FailReason::kStatus;
        result->detail = what + " answered " + std::to_string(answer.status);
        return;
    }
  }
  if (stop.stopped()) {
    result->reason = FailReason::kStopped;
    result->detail = "stopped while waiting for the upload to be visible";
    return;
  }
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%.3f", checks.empty() ? 0.0 : checks.back().answered);
  result->reason = FailReason::kNotVisible;
  result->detail = "not visible " + std::string(seconds) + " s after the create was sent (" +
                   std::to_string(checks.size()) + " checks, last status " +
                   std::to_string(last_status) + ")";
}

std::string StoreProbeKeyPrefix(const ProbeConfig& config) {
  return config.store.prefix + config.name + "/";
}

}  // namespace rrca::prober
