#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/event.h"

// Pure parsers for the object store's request logs, one line (or one JSON entry) at a time:
//   AWS access log  owner bucket [time] ip requester id REST.POST.UPLOADS key "uri" 200 ...
//   RGW beast       <time> <thread> 1 beast: 0x..: ip - user [start] "POST /b/k?uploads= ..."
//   RGW ops log     {"bucket":"b","object":"k","time":"...","operation":"init_multipart",...}
//   MinIO audit     {"time":"...","api":{"name":"NewMultipartUpload","bucket":"b",...},...}
// Each fills one S3Event whose views point into the input, or into *scratch where a JSON string
// had escapes to decode. None allocates on the common path (scratch keeps its capacity between
// calls), none throws, none reads outside the input. Bad input gives kNotThisFormat (the line is
// another format or another kind of line of the same log) or kMalformed (it is this format, but
// broken or truncated); *out is then unspecified. Every text field of a kOk event is valid UTF-8.
namespace rrca::tailers {

enum class ParseResult : uint8_t { kOk, kNotThisFormat, kMalformed };

ParseResult ParseAwsAccessLine(std::string_view line, S3Event* out);

// Other radosgw log lines ("====== req done ...", "op->ERRORHANDLER", start-up) are
// kNotThisFormat. Path-style requests only: the line has no Host header, so with virtual-hosted
// style the first path segment would be taken for the bucket.
ParseResult ParseRgwBeastLine(std::string_view line, S3Event* out);

// One JSON object per line, as `rgw ops log file path` writes it; the socket's "[" / "," framing
// is tolerated.
ParseResult ParseRgwOpsLine(std::string_view line, std::string* scratch, S3Event* out);

// One audit entry as MinIO's audit webhook posts it.
ParseResult ParseMinioAuditEntry(std::string_view json, std::string* scratch, S3Event* out);

enum class S3Format : uint8_t { kUnknown, kAwsAccess, kRgwBeast, kRgwOps, kMinioAudit };

std::string_view S3FormatName(S3Format format);

// Which parser a line is for, from its first bytes (JSON: its first decisive key). Other RGW
// log lines are kUnknown.
S3Format DetectS3Format(std::string_view line);

// `line` read by the parser of `format`; kNotThisFormat for kUnknown.
ParseResult ParseS3Line(std::string_view line, S3Format format, std::string* scratch,
                        S3Event* event);

// The registry's view of an S3 key under <root>docker/registry/v2/repositories/<name>/_uploads/
// <uuid>/<file>, where file is "data", "startedat", "hashstates/sha256/0", ... (empty for the
// upload's directory itself). Views point into `key`.
struct UploadKey {
  std::string_view repository, upload_uuid, file;
  bool ok = false;
};

// `root_prefix` is the driver's rootdirectory; it may be empty, and a leading or trailing '/' on
// it or a leading '/' on `key` is ignored.
UploadKey ParseUploadKey(std::string_view key, std::string_view root_prefix);

// --- Building blocks the parsers share (and the tests use). ---

// "GET /bucket/key?query HTTP/1.1" split path-style. An absolute-form target
// ("http://host/bucket/key") loses its scheme and host. Views point into the request.
struct S3Request {
  std::string_view method, bucket, key, query;
};
bool SplitS3Request(std::string_view request, S3Request* out);

// The S3 operation a REST request is, from its method, sub-resources and whether it names a key.
// What headers decide (x-amz-copy-source) is not visible here: a copy is a put.
S3Op S3OpFromRequest(const S3Request& request);

// Whether the query string has the parameter `name` ("uploads", "uploadId", ...).
bool HasQueryParam(std::string_view query, std::string_view name);

// A non-negative decimal of at most 18 digits; false otherwise.
bool ParseDecimal(std::string_view text, int64_t* value);

// Durations longer than this are garbled numbers, not requests; refusing them keeps the
// arithmetic on start and duration far from overflow.
inline constexpr int64_t kMaxS3DurationNanos = int64_t{100} * 86400 * 1'000'000'000;

// A duration as the stores log it: "1.927999973s" (RGW), "2500000ns" or "2.5ms" (MinIO); units
// ns, us, µs, ms, s. Exact (integer arithmetic, no float rounding); false when malformed or
// beyond kMaxS3DurationNanos.
bool ParseS3Duration(std::string_view text, int64_t* nanos);

// Whole milliseconds (AWS total time, RGW total_time) to nanoseconds, within the same bound.
bool MillisToNanos(int64_t millis, int64_t* nanos);

// kOk when every text field of the event is valid UTF-8 (they may become label values),
// kMalformed otherwise.
ParseResult CheckS3EventText(const S3Event& event);

struct JsonMember;  // tailers/parse/json_scan.h

// Readies *scratch to take every decoded string of one JSON text of `json_size` bytes without
// reallocating, so views into it stay valid while more are added (a decoded string is never
// longer than its escaped form). Allocates only when the capacity has to grow.
void PrepareJsonScratch(size_t json_size, std::string* scratch);

// A string member's value: a view into the JSON, or its decoded form appended to *scratch when
// it has escapes. False when it is not a string, an escape is broken, or the scratch would have
// to grow.
bool JsonStringValue(const JsonMember& member, std::string* scratch, std::string_view* value);

}  // namespace rrca::tailers
