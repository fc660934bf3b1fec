// Ceph RGW ops log entries (rgw_format_ops_log_entry): one JSON object per request.
#include <utility>

#include "common/time_util.h"
#include "tailers/parse/json_scan.h"
#include "tailers/parse/s3/s3_parse.h"

namespace rrca::tailers {
namespace {

struct OpsMembers {
  FoundMember bucket, object, time, operation, uri, http_status, error_code, total_time, trans_id;
};

void Collect(const JsonMember& member, OpsMembers* m) {
  static constexpr std::pair<std::string_view, FoundMember OpsMembers::*> kUsed[] = {
      {"bucket", &OpsMembers::bucket},
      {"object", &OpsMembers::object},
      {"time", &OpsMembers::time},
      {"operation", &OpsMembers::operation},
      {"uri", &OpsMembers::uri},
      {"http_status", &OpsMembers::http_status},
      {"error_code", &OpsMembers::error_code},
      {"total_time", &OpsMembers::total_time},
      {"trans_id", &OpsMembers::trans_id},
  };
  for (const auto& [name, slot] : kUsed) {
    if (member.key == name) {
      m->*slot = FoundMember{member, true};
      return;
    }
  }
}

// RGW's op names (RGWOp::name()). Note the trap: "list_multipart" is RGWListMultipart, i.e.
// ListParts; listing a bucket's multipart uploads is "list_bucket_multiparts".
S3Op OpFromRgwName(std::string_view name, const S3Request& request) {
  if (name == "init_multipart") return S3Op::kCreateMultipart;
  if (name == "list_bucket_multiparts") return S3Op::kListMultipart;
  if (name == "list_multipart") return S3Op::kListParts;
  if (name == "complete_multipart") return S3Op::kCompleteMultipart;
  if (name == "abort_multipart") return S3Op::kAbortMultipart;
  if (name == "put_obj") {
    return HasQueryParam(request.query, "uploadId") ? S3Op::kUploadPart : S3Op::kPut;
  }
  if (name == "get_obj") return request.method == "HEAD" ? S3Op::kHead : S3Op::kGet;
  if (name == "stat_obj") return S3Op::kHead;
  if (name == "delete_obj" || name == "multi_object_delete") return S3Op::kDelete;
  if (name == "copy_obj") return S3Op::kCopy;
  if (name == "list_bucket") return S3Op::kList;
  return S3Op::kOther;
}

// The uri member is "METHOD /bucket/key?query HTTP/1.1"; without the method (no
// REQUEST_METHOD in the request's environment) only the query is of use.
S3Request RequestFromUri(std::string_view uri) {
  S3Request request;
  if (!SplitS3Request(uri, &request)) {
    request = S3Request{};
    const size_t query = uri.find('?');
    if (query != std::string_view::npos) request.query = uri.substr(query + 1);
  }
  return request;
}

// Strips the ops-log socket's framing: a leading "[" or "," and a trailing "," or "]".
std::string_view StripFraming(std::string_view line) {
  const size_t first = line.find_first_not_of(" \t[,");
  if (first == std::string_view::npos) return {};
  line.remove_prefix(first);
  const size_t last = line.find_last_not_of(" \t\r\n,]");
  return line.substr(0, last == std::string_view::npos ? 0 : last + 1);
}

// Optional string members read as empty when absent; "-" stands for "no object" in RGW.
bool OptionalRgwString(const FoundMember& found, std::string* scratch, std::string_view* value) {
  *value = {};
  if (!found.present) return true;
  if (!JsonStringValue(found.member, scratch, value)) return false;
  if (*value == "-") *value = {};
  return true;
}

// http_status is a string, total_time a number; either form is accepted for both.
bool OptionalNumber(const FoundMember& found, int64_t* value) {
  *value = -1;
  return !found.present || ParseDecimal(found.member.value, value);
}

}  // namespace

ParseResult ParseRgwOpsLine(std::string_view line, std::string* scratch, S3Event* out) {
  const std::string_view json = StripFraming(line);
  if (!json.starts_with("{")) return ParseResult::kNotThisFormat;
  OpsMembers m;
  JsonObjectScanner scanner(json);
  for (JsonMember member; scanner.Next(&member);) Collect(member, &m);
  if (scanner.malformed()) return ParseResult::kMalformed;
  if (!m.operation.present || !m.time.present) return ParseResult::kNotThisFormat;

  PrepareJsonScratch(json.size(), scratch);
  std::string_view time, uri;
  int64_t start_ns = 0, status = -1, total_ms = -1;
  *out = S3Event{};
  if (!JsonStringValue(m.time.member, scratch, &time) || !ParseRfc3339(time, &start_ns) ||
      !JsonStringValue(m.operation.member, scratch, &out->raw_operation) ||
      !OptionalRgwString(m.bucket, scratch, &out->bucket) ||
      !OptionalRgwString(m.object, scratch, &out->key) ||
      !OptionalRgwString(m.uri, scratch, &uri) ||
      !OptionalRgwString(m.error_code, scratch, &out->error_code) ||
      !OptionalRgwString(m.trans_id, scratch, &out->request_id) ||
      !OptionalNumber(m.http_status, &status) || status > 999 ||
      !OptionalNumber(m.total_time, &total_ms) ||
      (total_ms >= 0 && !MillisToNanos(total_ms, &out->duration_ns))) {
    return ParseResult::kMalformed;
  }
  const S3Request request = RequestFromUri(uri);
  // Ceph releases that do not log "object" have the key only in the uri (still encoded).
  if (!m.object.present) out->key = request.key;
  out->start_ns = start_ns;  // req_state::time: when the request arrived
  out->op = OpFromRgwName(out->raw_operation, request);
  out->status = status < 0 ? 0 : static_cast<int>(status);
  return CheckS3EventText(*out);
}

}  // namespace rrca::tailers
