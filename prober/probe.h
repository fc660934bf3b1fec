#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/event.h"
#include "prober/probe_config.h"
#include "prober/probe_http.h"
#include "prober/probe_result.h"
#include "prober/stop_signal.h"

// Running one probe once. Each run is bounded by the probe's timeout (cleanup gets a few
// seconds more, and runs also after a stop), cleans up what it created, and never throws.
namespace rrca::prober {

// What a probe's cleanup (cancel or abort its upload) may take, also after a stop.
inline constexpr std::chrono::seconds kCleanupTime{5};

inline double SecondsBetween(std::chrono::steady_clock::time_point from,
                             std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// "registry-rca-probe/<version>": registry-rca recognises its own probe requests in the
// registry's log by it (tailers/parse/registry/registry_parse, exporter/pipeline/pipeline).
std::string ProbeUserAgent();
inline constexpr std::string_view kProbeUserAgentPrefix = rrca::kProbeUserAgentPrefix;

ProbeResult RunProbe(const ProbeConfig& config, const StopSignal& stop);
ProbeResult RunRegistryProbe(const ProbeConfig& config, const StopSignal& stop);
ProbeResult RunStoreProbe(const ProbeConfig& config, const StopSignal& stop);

// --- the pure decisions of a run, unit-tested -------------------------------------------------

// A request that got no answer: "stopped" -> kStopped, "answer" -> kAnswer, else kNetwork.
FailReason NoAnswerReason(std::string_view curl_reason);
// Records a failure of the run; the first one is the run's, later ones are ignored.
void Fail(ProbeResult* result, FailReason reason, std::string detail);
// The cleanup request `step` answered `answer`: unless 204, a kCleanup failure when the run had
// none, else a note after the failure it had.
void CheckCleanup(const HttpAnswer& answer, const std::string& step, ProbeResult* result);

// What a visibility check's status says.
enum class Check { kVisible, kNotYet, kAuth, kUnexpected };
// Registry GET of an upload's status: 204 visible; 404 (BLOB_UPLOAD_UNKNOWN) and 5xx (the s3
// driver's "Path not found" while the store hides the upload) not yet; 401/403 auth.
Check ClassifyRegistryCheck(int status);
// Store ListMultipartUploads: 200 is read (listed or not yet), 5xx (SlowDown) not yet, 401/403
// auth. `listed` says whether the answer holds the upload.
Check ClassifyStoreCheck(int status, bool listed);

// When a check ran, in seconds after the create (ProbeResult): its request sent, its answer
// received.
struct CheckTimes {
  double sent = 0;
  double answered = 0;
};
// Fills the visibility of `result` from the last check that did not see the upload (`not_yet`,
// nullptr when the first check saw it) and the first that did (`seen`). Each check's listing ran
// somewhere between its request and its answer, so the upload became visible in
// (not_yet.sent, seen.answered]; the estimate is halfway between the two checks' middles, or
// seen.answered when the first check saw it.
void SetVisibility(const CheckTimes* not_yet, const CheckTimes& seen, ProbeResult* result);

// Reads the visibility checks' answers in the order they were sent (ProbeHttp::Repeat): the
// first the check classifies kVisible gives the visibility (SetVisibility, with the last kNotYet
// sent before it); an answer that is neither, or a request without an answer (but a timeout:
// the deadline), fails the run; none visible: kNotVisible, or kStopped when `stop` was set.
// `what` names the check in the failure's detail.
void JudgeChecks(const std::vector<TimedAnswer>& checks,
                 const std::function<Check(int status)>& classify_status, const std::string& what,
                 const StopSignal& stop, ProbeResult* result);
void JudgeChecks(const std::vector<TimedAnswer>& checks,
                 const std::function<Check(const HttpAnswer&)>& classify, const std::string& what,
                 const StopSignal& stop, ProbeResult* result);

// <prefix><probe name>/ : what the leftover sweep aborts, and the start of every probe key.
std::string StoreProbeKeyPrefix(const ProbeConfig& config);

}  // namespace rrca::prober
