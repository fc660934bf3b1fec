#include "tailers/parse/s3/s3_reader.h"

namespace rrca::tailers {

ParseResult ParseS3Line(std::string_view line, S3Format format, std::string* scratch,
                        S3Event* event) {
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

int64_t PeekS3LineTime(std::string_view line, std::string* scratch) {
  S3Event event;
  return ParseS3Line(line, DetectS3Format(line), scratch, &event) == ParseResult::kOk
             ? event.start_ns
             : 0;
}

void S3Reader::Parse(std::string_view line) {
  parsed_.data = line.data();
  parsed_.size = line.size();
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  parsed_.format = DetectS3Format(line);
  parsed_.event = S3Event{};
  parsed_.result = ParseS3Line(line, parsed_.format, &scratch_, &parsed_.event);
}

int64_t S3Reader::PeekTime(std::string_view line) {
  Parse(line);
  return parsed_.result == ParseResult::kOk ? parsed_.event.start_ns : 0;
}

void S3Reader::OnLine(std::string_view line) {
  ++stats_.lines;
  if (parsed_.data != line.data() || parsed_.size != line.size()) Parse(line);
  parsed_.data = nullptr;
  if (parsed_.result == ParseResult::kNotThisFormat) {
    ++stats_.not_access_lines;
    return;
  }
  if (parsed_.result == ParseResult::kMalformed) {
    ++stats_.malformed;
    return;
  }
  const S3Event& event = parsed_.event;
  ++stats_.records[static_cast<size_t>(parsed_.format)];
  if (event.start_ns > last_time_ns_) last_time_ns_ = event.start_ns;
  sink_->OnS3Event(event);
}

}  // namespace rrca::tailers
