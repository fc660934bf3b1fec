#pragma once

#include <array>
#include <string>
#include <string_view>

// What one probe run found: the hand-off from a probe to the metrics and the `probe` command.
namespace rrca::prober {

// Why a run failed: a closed set (the `reason` label of registry_rca_probe_failures_total).
enum class FailReason : uint8_t {
  kNone,
  kConfig,      // credentials unreadable, URL unusable
  kAuth,        // 401/403, or the token service refused or answered nonsense
  kCreate,      // the POST / CreateMultipartUpload did not start an upload
  kNotVisible,  // the upload never became visible before the deadline
  kStatus,      // an answer no step expects (e.g. 400 on the status GET)
  kAnswer,      // a malformed or oversized answer (no Location, no UploadId), curl "answer"
  kNetwork,     // resolve, connect, send, TLS, curl timeouts
  kCleanup,     // the DELETE / AbortMultipartUpload failed (the next run's sweep retries)
  kStopped,     // the daemon stopped during the run (cleanup still attempted)
  kCount,
};
std::string_view FailReasonName(FailReason reason);
constexpr std::array<FailReason, 9> kFailReasons = {
    FailReason::kConfig,     FailReason::kAuth,    FailReason::kCreate,
    FailReason::kNotVisible, FailReason::kStatus,  FailReason::kAnswer,
    FailReason::kNetwork,    FailReason::kCleanup, FailReason::kStopped};

struct ProbeResult {
  bool ok() const { return reason == FailReason::kNone; }
  FailReason reason = FailReason::kNone;
  std::string detail;  // words for the log and the `probe` command; never a credential
  // Visibility, when the upload was seen visible, in seconds after the create request was sent
  // (the registry probe's POST, the store probe's CreateMultipartUpload): create-to-visible as
  // the store log counts it, from the create's start. It includes the create's own time
  // (create_seconds, the POST's 202 or the store's answer); a client that resumes at once after
  // the 202 waits visibility_seconds - create_seconds. It became visible after
  // `visible_after_seconds` (the request of the last check that did not see it; 0 when the first
  // check saw it) and by `visible_by_seconds` (the answer of the first check that saw it);
  // `visibility_seconds` is halfway between those two checks' middles, or
  // `visible_by_seconds` when the first check saw it (see SetVisibility).
  bool measured = false;
  double visibility_seconds = 0;
  double visible_after_seconds = 0;
  double visible_by_seconds = 0;
  double create_seconds = 0;    // the create request itself, sent to acknowledged
  int checks = 0;               // visibility checks made
  double duration_seconds = 0;  // the whole run, cleanup included
  int leftovers_aborted = 0;    // store probe: earlier probe uploads found and aborted
};

}  // namespace rrca::prober
