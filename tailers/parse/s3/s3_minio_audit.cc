// MinIO audit log entries (the JSON its audit webhook posts, one entry per request).
#include <limits>
#include <utility>

#include "common/time_util.h"
#include "tailers/parse/json_scan.h"
#include "tailers/parse/s3/s3_parse.h"

namespace rrca::tailers {
namespace {

// Top level: time, requestID, api{...}; in api: name, bucket, object, statusCode,
// timeToResponse ("2500000ns"), timeToResponseInNS ("2500000", newer releases). The entry has no
// S3 error code (api.status is the HTTP reason phrase, "error" free text), so error_code stays
// empty: the status says as much.
struct AuditMembers {
  FoundMember time, request_id, api;
  FoundMember name, bucket, object, status_code, time_to_response, time_to_response_ns;
};

template <size_t N>
void Collect(const JsonMember& member,
             const std::pair<std::string_view, FoundMember AuditMembers::*> (&used)[N],
             AuditMembers* m) {
  for (const auto& [name, slot] : used) {
    if (member.key == name) {
      m->*slot = FoundMember{member, true};
      return;
    }
  }
}

constexpr std::pair<std::string_view, FoundMember AuditMembers::*> kTopLevel[] = {
    {"time", &AuditMembers::time},
    {"requestID", &AuditMembers::request_id},
    {"api", &AuditMembers::api},
};

constexpr std::pair<std::string_view, FoundMember AuditMembers::*> kApi[] = {
    {"name", &AuditMembers::name},
    {"bucket", &AuditMembers::bucket},
    {"object", &AuditMembers::object},
    {"statusCode", &AuditMembers::status_code},
    {"timeToResponse", &AuditMembers::time_to_response},
    {"timeToResponseInNS", &AuditMembers::time_to_response_ns},
};

struct ApiName {
  std::string_view name;
  S3Op op;
};

constexpr ApiName kApiNames[] = {
    {"NewMultipartUpload", S3Op::kCreateMultipart},
    {"ListMultipartUploads", S3Op::kListMultipart},
    {"PutObjectPart", S3Op::kUploadPart},
    {"CompleteMultipartUpload", S3Op::kCompleteMultipart},
    {"AbortMultipartUpload", S3Op::kAbortMultipart},
    {"ListObjectParts", S3Op::kListParts},
    {"PutObject", S3Op::kPut},
    {"GetObject", S3Op::kGet},
    {"HeadObject", S3Op::kHead},
    {"DeleteObject", S3Op::kDelete},
    {"DeleteMultipleObjects", S3Op::kDelete},
    {"CopyObject", S3Op::kCopy},
    {"CopyObjectPart", S3Op::kCopy},
    {"ListObjectsV1", S3Op::kList},
    {"ListObjectsV2", S3Op::kList},
    {"ListObjectsV2M", S3Op::kList},
    {"ListObjectVersions", S3Op::kList},
    {"ListObjectVersionsM", S3Op::kList},
};

S3Op OpFromApiName(std::string_view name) {
  for (const ApiName& entry : kApiNames) {
    if (entry.name == name) return entry.op;
  }
  return S3Op::kOther;
}

// Walks the entry and its api object; false when either is broken.
bool CollectMembers(std::string_view json, AuditMembers* m) {
  JsonObjectScanner top(json);
  for (JsonMember member; top.Next(&member);) Collect(member, kTopLevel, m);
  if (top.malformed()) return false;
  if (!m->api.present || !m->api.member.value.starts_with("{")) return true;
  JsonObjectScanner api(m->api.member.value);
  for (JsonMember member; api.Next(&member);) Collect(member, kApi, m);
  return !api.malformed();
}

bool OptionalString(const FoundMember& found, std::string* scratch, std::string_view* value) {
  *value = {};
  return !found.present || JsonStringValue(found.member, scratch, value);
}

// timeToResponseInNS when present, else timeToResponse ("2500000ns"; a Go duration in general).
bool Duration(const AuditMembers& m, int64_t* nanos) {
  *nanos = -1;
  if (m.time_to_response_ns.present) {
    return ParseDecimal(m.time_to_response_ns.member.value, nanos) && *nanos <= kMaxS3DurationNanos;
  }
  return !m.time_to_response.present || ParseS3Duration(m.time_to_response.member.value, nanos);
}

}  // namespace

ParseResult ParseMinioAuditEntry(std::string_view json, std::string* scratch, S3Event* out) {
  const size_t first = json.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || json[first] != '{') return ParseResult::kNotThisFormat;
  json.remove_prefix(first);
  AuditMembers m;
  if (!CollectMembers(json, &m)) return ParseResult::kMalformed;
  if (!m.api.present || !m.api.member.value.starts_with("{")) return ParseResult::kNotThisFormat;

  PrepareJsonScratch(json.size(), scratch);
  std::string_view time;
  int64_t time_ns = 0, status = 0, duration_ns = -1;
  *out = S3Event{};
  if (!m.time.present || !JsonStringValue(m.time.member, scratch, &time) ||
      !ParseRfc3339(time, &time_ns) || !m.name.present ||
      !JsonStringValue(m.name.member, scratch, &out->raw_operation) ||
      !OptionalString(m.bucket, scratch, &out->bucket) ||
      !OptionalString(m.object, scratch, &out->key) ||
      !OptionalString(m.request_id, scratch, &out->request_id) ||
      (m.status_code.present && !ParseDecimal(m.status_code.member.value, &status)) ||
      status > 999 || !Duration(m, &duration_ns) ||
      time_ns < std::numeric_limits<int64_t>::min() + kMaxS3DurationNanos) {
    return ParseResult::kMalformed;
  }
  // MinIO stamps the entry when it is built, after the response was sent: the request started
  // timeToResponse earlier.
  out->start_ns = duration_ns > 0 ? time_ns - duration_ns : time_ns;
  out->duration_ns = duration_ns;
  out->op = OpFromApiName(out->raw_operation);
  out->status = static_cast<int>(status);
  return CheckS3EventText(*out);
}

}  // namespace rrca::tailers
