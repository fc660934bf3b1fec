#pragma once

#include <cstdint>
#include <string_view>

// The value types handed from one stage to the next. All string_views point into a buffer
// owned by the producer and are valid only during the call that hands the event over;
// a consumer that keeps anything copies it.
namespace rrca {

enum class Level : uint8_t { kUnknown, kTrace, kDebug, kInfo, kWarning, kError, kFatal, kPanic };

// One record of a registry's log: an application (logrus text / JSON / GitLab) record or an
// access-log line, with the fields the joiner and the rules need.
struct RegistryEvent {
  enum class Kind : uint8_t { kAppLog, kAccessLog };
  Kind kind = Kind::kAppLog;
  int64_t time_ns = 0;  // the record's own time (access log: when the request started); 0 unknown
  Level level = Level::kUnknown;
  std::string_view msg;
  std::string_view request_id;  // http.request.id / correlation_id
  std::string_view method;
  std::string_view uri;          // raw request URI, still percent-encoded
  std::string_view repository;   // vars.name / vars_name
  std::string_view upload_uuid;  // vars.uuid
  std::string_view err_code;
  std::string_view err_message;
  std::string_view err_detail;
  std::string_view trace_func;     // storage driver trace: which call (s3aws.Writer(...))
  int status = 0;                  // http.response.status; 0 when the record has none
  int64_t duration_ns = -1;        // http.response.duration; -1 unknown
  int64_t trace_duration_ns = -1;  // trace.duration of a storage-driver call; -1 none
  // The request's user agent (http.request.useragent, the access log's last field) starts with
  // kProbeUserAgentPrefix: registry-rca's own active probe, counted apart from users' traffic.
  bool probe = false;
};

// The user agent of registry-rca's probe requests: "registry-rca-probe/<version>" (prober/).
inline constexpr std::string_view kProbeUserAgentPrefix = "registry-rca-probe/";

// One request the object store served, from any of the S3 log formats.
enum class S3Op : uint8_t {
  kCreateMultipart,
  kListMultipart,
  kUploadPart,
  kCompleteMultipart,
  kAbortMultipart,
  kListParts,
  kPut,
  kGet,
  kHead,
  kDelete,
  kCopy,
  kList,
  kOther,
};

struct S3Event {
  int64_t start_ns = 0;      // when the store received the request
  int64_t duration_ns = -1;  // how long the store took; -1 unknown
  S3Op op = S3Op::kOther;
  std::string_view raw_operation;  // as logged: REST.POST.UPLOADS, init_multipart, ...
  std::string_view bucket;
  std::string_view key;  // object key without the bucket, percent-decoding not applied
  std::string_view request_id;
  std::string_view error_code;  // NoSuchKey, SlowDown, ... empty when none
  int status = 0;
};

std::string_view LevelName(Level level);
std::string_view S3OpName(S3Op op);

}  // namespace rrca
