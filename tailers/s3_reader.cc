#include "tailers/s3_reader.h"

namespace rrca::tailers {

namespace {

ParseResult ParseAny(std::string_view line, S3Format format, std::string* scratch, S3Event* event) {
  switch (format) {
    case S3Format::kAwsAccess:
      return ParseAwsAccessLine(line, event);
    case S3Format::kRgwBeast:
      return ParseRgwBeastLine(line, event);
    case S3Format::kRgwOps:
      return ParseRgwOpsLine(line, scratch, event);
    case S3Format::kMinioAudit:
      return ParseMinioAuditEntry(line, scratch, event);
    case S3Format::kUnknown:
      break;
  }
  return ParseResult::kNotThisFormat;
}

}  // namespace

int64_t PeekS3LineTime(std::string_view line, std::string* scratch) {
  S3Event event;
  return ParseAny(line, DetectS3Format(line), scratch, &event) == ParseResult::kOk ? event.start_ns
                                                                                   : 0;
}

void S3Reader::OnLine(std::string_view line) {
  ++stats_.lines;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const S3Format format = DetectS3Format(line);
  S3Event event;
  const ParseResult result = ParseAny(line, format, &scratch_, &event);
  if (result == ParseResult::kNotThisFormat) {
    ++stats_.not_access_lines;
    return;
  }
  if (result == ParseResult::kMalformed) {
    ++stats_.malformed;
    return;
  }
  ++stats_.records[static_cast<size_t>(format)];
  if (event.start_ns > last_time_ns_) last_time_ns_ = event.start_ns;
  sink_->OnS3Event(event);
}

}  // namespace rrca::tailers
