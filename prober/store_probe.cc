// The store probe: CreateMultipartUpload on <prefix><name>/<id>, ListMultipartUploads (prefix)
// until the upload is listed, AbortMultipartUpload. libcurl signs every request (SigV4).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>

#include "common/clock.h"
#include "prober/credentials.h"
#include "prober/probe.h"
#include "prober/probe_http.h"
#include "prober/s3_api.h"

namespace rrca::prober {
namespace {

using Clock = std::chrono::steady_clock;
// SHA-256 of the empty body: every request of the probe has one. Sent as x-amz-content-sha256,
// which S3 requires on SigV4 requests (and libcurl signs, as it signs every x-amz-* header).
constexpr const char* kEmptyPayloadHash =
    "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string RandomId() {
  std::random_device device;
  char id[40];
  const int64_t now = WallNowNs() / 1'000'000;
  std::snprintf(id, sizeof(id), "%lld-%08x%08x", static_cast<long long>(now), device(), device());
  return id;
}

class StoreSession {
 public:
  StoreSession(const ProbeConfig& config, Credentials credentials, const StopSignal& stop)
      : target_{config.store.endpoint, config.store.bucket, config.store.virtual_host},
        credentials_(std::move(credentials)),
        stop_(stop),
        http_(ProbeUserAgent(), config.store.ca_file, 1 << 20),
        sigv4_("aws:amz:" + config.store.region + ":s3"),
        poll_interval_(config.poll_interval) {}

  const S3Target& target() const { return target_; }

  HttpAnswer Send(const std::string& method, std::string_view key, const std::string& query,
                  Clock::time_point deadline, OnStop on_stop) {
    return http_.Call(MakeCall(method, key, query, deadline, on_stop));
  }

  HttpCall MakeCall(const std::string& method, std::string_view key, const std::string& query,
                    Clock::time_point deadline, OnStop on_stop) {
    HttpCall call;
    call.method = method;
    call.url = S3Url(target_, key, query);
    call.headers.push_back(kEmptyPayloadHash);
    call.use_credentials = true;
    call.user = credentials_.user;
    call.password = credentials_.password;
    call.aws_sigv4 = sigv4_;
    ApplyStopPolicy(on_stop, stop_, &call);
    call.timeout =
        std::max(std::chrono::milliseconds(1),
                 std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    return call;
  }

  HttpAnswer List(const std::string& prefix, Clock::time_point deadline) {
    return Send("GET", "", CanonicalQuery({{"prefix", prefix}, {"uploads", ""}}), deadline,
                OnStop::kAbort);
  }

  std::vector<TimedAnswer> Checks(const std::string& key, Clock::time_point origin,
                                  Clock::time_point deadline,
                                  const std::function<Check(const HttpAnswer&)>& classify) {
    return http_.Repeat(MakeCall("GET", "", CanonicalQuery({{"prefix", key}, {"uploads", ""}}),
                                 deadline, OnStop::kAbort),
                        poll_interval_, origin, deadline, [&classify](const HttpAnswer& answer) {
                          return answer.status != 0 && classify(answer) != Check::kNotYet;
                        });
  }

  HttpAnswer Abort(const std::string& key, const std::string& upload_id) {
    return Send("DELETE", key, CanonicalQuery({{"uploadId", upload_id}}),
                Clock::now() + kCleanupTime, OnStop::kIgnore);
  }

 private:
  S3Target target_;
  Credentials credentials_;
  const StopSignal& stop_;
  ProbeHttp http_;
  std::string sigv4_;
  std::chrono::milliseconds poll_interval_;
};

void FailOnAnswer(ProbeResult* result, const HttpAnswer& answer, FailReason on_status,
                  const std::string& step) {
  if (answer.status == 0) {
    Fail(result, NoAnswerReason(answer.reason), step + ": " + answer.error);
  } else if (answer.status == 401 || answer.status == 403) {
    Fail(result, FailReason::kAuth, step + " answered " + std::to_string(answer.status));
  } else {
    Fail(result, on_status, step + " answered " + std::to_string(answer.status));
  }
}

bool Listed(const std::string& body, const std::string& upload_id) {
  for (const ListedUpload& upload : ParseListedUploads(body)) {
    if (upload.upload_id == upload_id) return true;
  }
  return false;
}

}  // namespace

ProbeResult RunStoreProbe(const ProbeConfig& config, const StopSignal& stop) {
  ProbeResult result;
  const Clock::time_point deadline = Clock::now() + config.timeout;
  auto credentials = LoadStoreCredentials(config.store);
  if (!credentials.ok()) {
    Fail(&result, FailReason::kConfig, credentials.status().message());
    return result;
  }
  StoreSession session(config, std::move(credentials.value()), stop);
  if (Status checked = CheckS3Target(session.target()); !checked.ok()) {
    Fail(&result, FailReason::kConfig, checked.message());
    return result;
  }
  // Leftovers of earlier runs (a crash, a failed abort) under this probe's own prefix.
  const std::string prefix = StoreProbeKeyPrefix(config);
  const HttpAnswer leftovers = session.List(prefix, deadline);
  if (leftovers.status != 200) {
    FailOnAnswer(&result, leftovers, FailReason::kStatus, "ListMultipartUploads (leftovers)");
    return result;
  }
  for (const ListedUpload& upload : ParseListedUploads(leftovers.body)) {
    if (!upload.key.starts_with(prefix)) continue;
    if (session.Abort(upload.key, upload.upload_id).status == 204) ++result.leftovers_aborted;
  }

  const std::string key = prefix + RandomId();
  const Clock::time_point sent = Clock::now();
  // A stop while the create is under way lets it finish, so that its upload is aborted now
  // rather than by the next run's sweep.
  const HttpAnswer created =
      session.Send("POST", key, CanonicalQuery({{"uploads", ""}}), deadline, OnStop::kFinish);
  const Clock::time_point acked = Clock::now();
  result.create_seconds = SecondsBetween(sent, acked);
  if (created.status != 200) {
    FailOnAnswer(&result, created, FailReason::kCreate, "CreateMultipartUpload");
    return result;  // nothing was created (or the next run's sweep finds it)
  }
  const std::string upload_id = ParseCreateUploadId(created.body);
  if (upload_id.empty()) {
    Fail(&result, FailReason::kAnswer, "CreateMultipartUpload answered 200 without an UploadId");
    return result;
  }
  // Until listed, the deadline, or a stop: ListMultipartUploads (prefix: the key) every
  // poll_interval.
  const auto classify = [&upload_id](const HttpAnswer& answer) {
    return ClassifyStoreCheck(answer.status, Listed(answer.body, upload_id));
  };
  JudgeChecks(session.Checks(key, sent, deadline, classify), classify, "ListMultipartUploads", stop,
              &result);
  CheckCleanup(session.Abort(key, upload_id), "AbortMultipartUpload", &result);
  return result;
}

}  // namespace rrca::prober
