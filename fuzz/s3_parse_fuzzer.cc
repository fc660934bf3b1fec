// Fuzzes tailers/parse/s3/s3_parse.h: the four S3 log parsers (AWS access log, RGW beast, RGW ops
// JSON, MinIO audit JSON), DetectS3Format, ParseUploadKey and the shared building blocks, on one
// line. Checks the header's promises: views stay inside the line or the scratch, a kOk event's text
// is valid UTF-8 and its duration is within kMaxS3DurationNanos. Seeds: fuzz/corpus/s3_parse/.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "tailers/parse/s3/s3_parse.h"

namespace {

using rrca::S3Event;
using rrca::tailers::ParseResult;

void CheckResult(ParseResult result, const S3Event& event, std::string_view line,
                 const std::string& scratch) {
  if (result != ParseResult::kOk) return;  // *out is unspecified then
  rrca::fuzz::CheckEvent(event, line, scratch);
  RRCA_FUZZ_CHECK(rrca::tailers::CheckS3EventText(event) == ParseResult::kOk);
  RRCA_FUZZ_CHECK(event.duration_ns >= -1 &&
                  event.duration_ns <= rrca::tailers::kMaxS3DurationNanos);
  rrca::fuzz::Touch(rrca::S3OpName(event.op));
  for (const std::string_view root : {"", "/registry/", "a"}) {
    const rrca::tailers::UploadKey key = rrca::tailers::ParseUploadKey(event.key, root);
    RRCA_FUZZ_CHECK(rrca::fuzz::Inside(key.repository, event.key));
    RRCA_FUZZ_CHECK(rrca::fuzz::Inside(key.upload_uuid, event.key));
    RRCA_FUZZ_CHECK(rrca::fuzz::Inside(key.file, event.key));
  }
}

// The reference for ParseDecimal: 1 to 18 ASCII digits.
bool IsShortDecimal(std::string_view text) {
  if (text.empty() || text.size() > 18) return false;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  std::string scratch;

  rrca::fuzz::Touch(rrca::tailers::S3FormatName(rrca::tailers::DetectS3Format(line)));
  {
    S3Event event;
    CheckResult(rrca::tailers::ParseAwsAccessLine(line, &event), event, line, scratch);
  }
  {
    S3Event event;
    CheckResult(rrca::tailers::ParseRgwBeastLine(line, &event), event, line, scratch);
  }
  {
    S3Event event;
    CheckResult(rrca::tailers::ParseRgwOpsLine(line, &scratch, &event), event, line, scratch);
  }
  {
    S3Event event;
    CheckResult(rrca::tailers::ParseMinioAuditEntry(line, &scratch, &event), event, line, scratch);
  }

  // The building blocks, on the raw input.
  for (const std::string_view root : {"", "registry"}) {
    const rrca::tailers::UploadKey key = rrca::tailers::ParseUploadKey(line, root);
    RRCA_FUZZ_CHECK(rrca::fuzz::Inside(key.repository, line));
    RRCA_FUZZ_CHECK(rrca::fuzz::Inside(key.upload_uuid, line));
    RRCA_FUZZ_CHECK(rrca::fuzz::Inside(key.file, line));
  }
  rrca::tailers::S3Request request;
  if (rrca::tailers::SplitS3Request(line, &request)) {
    for (const std::string_view part :
         {request.method, request.bucket, request.key, request.query}) {
      RRCA_FUZZ_CHECK(rrca::fuzz::Inside(part, line));
    }
    rrca::fuzz::Touch(rrca::S3OpName(rrca::tailers::S3OpFromRequest(request)));
    rrca::fuzz::Touch(rrca::tailers::HasQueryParam(request.query, "uploadId") ? "y" : "n");
  }
  int64_t value = -1;
  const bool decimal = rrca::tailers::ParseDecimal(line, &value);
  RRCA_FUZZ_CHECK(decimal == IsShortDecimal(line));
  if (decimal) RRCA_FUZZ_CHECK(value >= 0);
  int64_t nanos = -1;
  if (rrca::tailers::ParseS3Duration(line, &nanos)) {
    RRCA_FUZZ_CHECK(nanos >= 0 && nanos <= rrca::tailers::kMaxS3DurationNanos);
  }
  if (decimal && rrca::tailers::MillisToNanos(value, &nanos)) {
    RRCA_FUZZ_CHECK(nanos >= 0 && nanos <= rrca::tailers::kMaxS3DurationNanos);
  }
  return 0;
}
