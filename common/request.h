#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

#include "common/event.h"
#include "common/hop_event.h"

// One response the registry gave (or would have given), assembled from the lines of one
// http.request.id, or from an access-log line when the application log has none. This is what
// the rules judge. Views are valid only during the call that hands the request over.
namespace rrca {

// The closed set of registry API operations (derived from method and URI).
enum class Operation : uint8_t {
  kBase,
  kCatalog,
  kTagsList,
  kManifestGet,
  kManifestHead,
  kManifestPut,
  kManifestDelete,
  kBlobGet,
  kBlobHead,
  kBlobDelete,
  kBlobUploadStart,
  kBlobUploadChunk,
  kBlobUploadComplete,
  kBlobUploadStatus,
  kBlobUploadCancel,
  kOther,
  kCount,
};
std::string_view OperationName(Operation operation);

// The decoded `_state` token of an upload URI (an HMAC, then JSON; read without the secret).
struct UploadState {
  bool valid = false;
  std::string_view name;
  std::string_view uuid;
  int64_t offset = -1;
  int64_t started_at_ns = 0;
};

struct JoinedRequest {
  enum class Origin : uint8_t {
    kSummary,     // the application log's "response completed [with error]" line
    kAccessLog,   // only the access log had this response
    kErrorLines,  // error lines whose summary never came (log cut, level filtered)
    kBackground,  // an error line outside any request (purge, redis, startup)
  };
  Origin origin = Origin::kSummary;
  std::string_view source;
  int64_t time_ns = 0;     // when the response completed (or the last line's time)
  int64_t arrival_ns = 0;  // when the request arrived: time - duration, when known
  std::string_view request_id;
  std::string_view method;
  std::string_view uri;
  std::string_view repository;
  std::string_view upload_uuid;
  Operation operation = Operation::kOther;
  int status = 0;  // 0: unknown (no summary)
  int64_t duration_ns = -1;
  Level level = Level::kUnknown;
  std::string_view msg;
  std::string_view err_code;
  std::string_view err_message;
  std::string_view err_detail;
  std::string_view messages;  // earlier messages, "<level>: <msg>\n" each
  UploadState upload_state;
  int64_t writer_duration_ns = -1;  // the storage driver's Writer() call (debug trace), if logged
  double upload_age_seconds = NAN;  // arrival - _state.StartedAt; NaN when unknown
  bool probe = false;  // registry-rca's own probe request (RegistryEvent::probe): counted apart
  // The hop that answered the client (kRegistry: the registry's own log). For a response of a
  // hop in front (exporter/pipeline/hop_joiner.h), what the registry logged of the same request:
  // its status (0: not seen) and http.response.duration (-1: not seen).
  Hop hop = Hop::kRegistry;
  int registry_status = 0;
  int64_t registry_duration_ns = -1;

  bool IsError() const { return status >= 400 || status == 0 || !err_code.empty(); }
};

}  // namespace rrca
