// AWS S3 server access log lines (also written by Ceph bucket logging and S3 proxies).
#include <array>

#include "common/time_util.h"
#include "tailers/parse/s3/s3_parse.h"

namespace rrca::tailers {
namespace {

// Field positions as AWS documents them. Everything from the user agent on is optional to us:
// AWS keeps appending fields, and a line cut after the user agent has all we keep.
enum Field : int {
  kOwner,
  kBucket,
  kTime,
  kRemoteIp,
  kRequester,
  kRequestId,
  kOperation,
  kKey,
  kRequestUri,
  kStatus,
  kErrorCode,
  kBytesSent,
  kObjectSize,
  kTotalTime,
  kTurnAroundTime,
  kReferrer,
  kUserAgent,
  kFieldCount,
};

enum class Step : uint8_t { kField, kEnd, kBroken };

// Walks the single-space-separated fields of a line: bare words, "quoted" strings (a backslash
// escapes the next byte, the escapes stay in the view) and [bracketed] times. Views exclude the
// quotes and brackets.
class FieldReader {
 public:
  explicit FieldReader(std::string_view line) : line_(line) {
    while (!line_.empty() && (line_.back() == '\n' || line_.back() == '\r')) line_.remove_suffix(1);
  }

  Step Next(std::string_view* field) {
    if (pos_ >= line_.size()) return Step::kEnd;
    if (pos_ > 0) {
      if (line_[pos_] != ' ' || pos_ + 1 >= line_.size()) return Step::kBroken;
      ++pos_;
    }
    size_t end = 0;
    const char first = line_[pos_];
    if (first == '"' || first == '[') {
      end = first == '"' ? ClosingQuote(pos_ + 1) : line_.find(']', pos_ + 1);
      if (end == std::string_view::npos) return Step::kBroken;
      *field = line_.substr(pos_ + 1, end - pos_ - 1);
      ++end;
    } else {
      end = std::min(line_.find(' ', pos_), line_.size());
      *field = line_.substr(pos_, end - pos_);
    }
    pos_ = end;
    return pos_ < line_.size() && line_[pos_] != ' ' ? Step::kBroken : Step::kField;
  }

 private:
  size_t ClosingQuote(size_t pos) const {
    while (pos < line_.size()) {
      if (line_[pos] == '\\') {
        pos += 2;
      } else if (line_[pos] == '"') {
        return pos;
      } else {
        ++pos;
      }
    }
    return std::string_view::npos;
  }

  std::string_view line_;
  size_t pos_ = 0;
};

struct OperationName {
  std::string_view name;
  S3Op op;
};

constexpr OperationName kOperations[] = {
    {"REST.POST.UPLOADS", S3Op::kCreateMultipart},
    {"REST.GET.UPLOADS", S3Op::kListMultipart},
    {"REST.PUT.PART", S3Op::kUploadPart},
    {"REST.POST.UPLOAD", S3Op::kCompleteMultipart},
    {"REST.DELETE.UPLOAD", S3Op::kAbortMultipart},
    {"REST.GET.UPLOAD", S3Op::kListParts},
    {"REST.PUT.OBJECT", S3Op::kPut},
    {"REST.GET.OBJECT", S3Op::kGet},
    {"REST.HEAD.OBJECT", S3Op::kHead},
    {"REST.DELETE.OBJECT", S3Op::kDelete},
    {"REST.POST.MULTI_OBJECT_DELETE", S3Op::kDelete},
    {"BATCH.DELETE.OBJECT", S3Op::kDelete},
    {"REST.COPY.OBJECT", S3Op::kCopy},
    {"REST.COPY.PART", S3Op::kCopy},
    {"REST.COPY.OBJECT_GET", S3Op::kCopy},
    {"REST.GET.BUCKET", S3Op::kList},
    {"REST.GET.BUCKETVERSIONS", S3Op::kList},
};

S3Op OperationFromName(std::string_view name) {
  for (const OperationName& entry : kOperations) {
    if (entry.name == name) return entry.op;
  }
  return S3Op::kOther;
}

std::string_view DashIsEmpty(std::string_view field) { return field == "-" ? "" : field; }

// Whether `field`, a view into `line`, was written in [brackets] (the reader drops them).
bool Bracketed(std::string_view line, std::string_view field) {
  const size_t at = static_cast<size_t>(field.data() - line.data());
  return at > 0 && line[at - 1] == '[';
}

// Numeric fields are "-" when not applicable; checking them catches lines whose fields slipped.
bool NumberOrDash(std::string_view field, int64_t* value) {
  *value = -1;
  return field == "-" || ParseDecimal(field, value);
}

}  // namespace

ParseResult ParseAwsAccessLine(std::string_view line, S3Event* out) {
  FieldReader reader(line);
  std::array<std::string_view, kFieldCount> fields;
  // Up to and including a valid [time], a line that does not fit is some other format.
  int64_t start_ns = 0;
  for (int i = kOwner; i <= kTime; ++i) {
    if (reader.Next(&fields[i]) != Step::kField) return ParseResult::kNotThisFormat;
  }
  if (fields[kOwner].empty() || !Bracketed(line, fields[kTime]) ||
      !ParseClfTime(fields[kTime], &start_ns)) {
    return ParseResult::kNotThisFormat;
  }
  for (int i = kTime + 1; i < kFieldCount; ++i) {
    if (reader.Next(&fields[i]) != Step::kField) return ParseResult::kMalformed;
  }
  int64_t status = 0, bytes_sent = 0, object_size = 0, total_ms = 0, turn_around_ms = 0;
  if (!NumberOrDash(fields[kStatus], &status) || status > 999 ||
      !NumberOrDash(fields[kBytesSent], &bytes_sent) ||
      !NumberOrDash(fields[kObjectSize], &object_size) ||
      !NumberOrDash(fields[kTotalTime], &total_ms) ||
      !NumberOrDash(fields[kTurnAroundTime], &turn_around_ms) || fields[kOperation].empty()) {
    return ParseResult::kMalformed;
  }
  int64_t duration_ns = -1;
  if (total_ms >= 0 && !MillisToNanos(total_ms, &duration_ns)) return ParseResult::kMalformed;
  *out = S3Event{};
  out->start_ns = start_ns;
  out->duration_ns = duration_ns;
  out->raw_operation = fields[kOperation];
  out->op = OperationFromName(fields[kOperation]);
  out->bucket = DashIsEmpty(fields[kBucket]);
  out->key = DashIsEmpty(fields[kKey]);
  out->request_id = DashIsEmpty(fields[kRequestId]);
  out->error_code = DashIsEmpty(fields[kErrorCode]);
  out->status = status < 0 ? 0 : static_cast<int>(status);
  return CheckS3EventText(*out);
}

}  // namespace rrca::tailers
