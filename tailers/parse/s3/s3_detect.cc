// Which S3 log format a line is, and the small checks every S3 parser shares.
#include <algorithm>
#include <cstring>
#include <utility>

#include "common/json_escape.h"
#include "tailers/parse/json_scan.h"
#include "tailers/parse/s3/s3_parse.h"

namespace rrca::tailers {
namespace {

// JSON: the first top-level key that only one of the two formats has decides.
S3Format DetectJson(std::string_view json) {
  JsonObjectScanner scanner(json);
  JsonMember member;
  while (scanner.Next(&member)) {
    if (member.key == "api" && member.value.starts_with("{")) return S3Format::kMinioAudit;
    if (member.key == "operation" || member.key == "trans_id" || member.key == "http_status") {
      return S3Format::kRgwOps;
    }
  }
  return S3Format::kUnknown;
}

// "owner bucket [dd/": the AWS access log's first two fields and the opening of its time.
bool LooksLikeAwsAccess(std::string_view line) {
  const size_t owner_end = line.find(' ');
  if (owner_end == 0 || owner_end == std::string_view::npos) return false;
  const size_t bucket_end = line.find(' ', owner_end + 1);
  if (bucket_end == std::string_view::npos || bucket_end == owner_end + 1) return false;
  const std::string_view time = line.substr(bucket_end + 1);
  return time.size() > 3 && time[0] == '[' && time[1] >= '0' && time[1] <= '9' && time[3] == '/';
}

// "... beast: 0x7f..: " or "... civetweb: 0x7f..: ". Two thirds of a radosgw log are its other
// lines ("====== starting new request req=0x..."), so the search looks for the rarer ": 0x"
// (memmem) and only then at the word before it.
bool LooksLikeRgwAccess(std::string_view line) {
  const std::string_view head = line.substr(0, 256);
  size_t from = 0;
  while (from < head.size()) {
    const void* found = ::memmem(head.data() + from, head.size() - from, ": 0x", 4);
    if (found == nullptr) return false;
    const size_t at = static_cast<const char*>(found) - head.data();
    for (const std::string_view word : {std::string_view("beast"), std::string_view("civetweb")}) {
      if (at >= word.size() && head.substr(at - word.size(), word.size()) == word &&
          (at == word.size() || head[at - word.size() - 1] == ' ')) {
        return true;
      }
    }
    from = at + 1;
  }
  return false;
}

}  // namespace

std::string_view S3FormatName(S3Format format) {
  switch (format) {
    case S3Format::kAwsAccess:
      return "aws_access";
    case S3Format::kRgwBeast:
      return "rgw_beast";
    case S3Format::kRgwOps:
      return "rgw_ops";
    case S3Format::kMinioAudit:
      return "minio_audit";
    case S3Format::kUnknown:
      break;
  }
  return "unknown";
}

S3Format DetectS3Format(std::string_view line) {
  // The RGW ops socket frames entries as "[{...},\n{...}": the framing is not the entry.
  const size_t first = line.find_first_not_of(" \t[,");
  if (first != std::string_view::npos && line[first] == '{') return DetectJson(line.substr(first));
  if (LooksLikeRgwAccess(line)) return S3Format::kRgwBeast;
  if (LooksLikeAwsAccess(line)) return S3Format::kAwsAccess;
  return S3Format::kUnknown;
}

bool ParseDecimal(std::string_view text, int64_t* value) {
  if (text.empty() || text.size() > 18) return false;
  int64_t result = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    result = result * 10 + (c - '0');
  }
  *value = result;
  return true;
}

bool ParseS3Duration(std::string_view text, int64_t* nanos) {
  // Longer suffixes first: "ms" also ends in "s".
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"ns", 1},
      {"us", 1'000},
      {"\xC2\xB5s", 1'000},  // µs
      {"\xCE\xBCs", 1'000},
      {"ms", 1'000'000},
      {"s", 1'000'000'000},
  };
  for (const auto& [suffix, unit] : kUnits) {
    if (!text.ends_with(suffix)) continue;
    const std::string_view number = text.substr(0, text.size() - suffix.size());
    const size_t dot = std::min(number.find('.'), number.size());
    const std::string_view fraction_text = number.substr(std::min(dot + 1, number.size()));
    int64_t whole = 0;
    int64_t fraction = 0;
    if (!ParseDecimal(number.substr(0, dot), &whole) || whole > kMaxS3DurationNanos / unit) {
      return false;
    }
    if (dot < number.size() &&
        (fraction_text.size() > 9 || !ParseDecimal(fraction_text, &fraction))) {
      return false;
    }
    int64_t scale = 1;
    for (size_t i = 0; i < fraction_text.size(); ++i) scale *= 10;
    *nanos = whole * unit + fraction * unit / scale;  // fraction * unit < 10^18
    return true;
  }
  return false;
}

bool MillisToNanos(int64_t millis, int64_t* nanos) {
  if (millis < 0 || millis > kMaxS3DurationNanos / 1'000'000) return false;
  *nanos = millis * 1'000'000;
  return true;
}

ParseResult CheckS3EventText(const S3Event& event) {
  for (const std::string_view text :
       {event.raw_operation, event.bucket, event.key, event.request_id, event.error_code}) {
    if (!IsValidUtf8(text)) return ParseResult::kMalformed;
  }
  return ParseResult::kOk;
}

void PrepareJsonScratch(size_t json_size, std::string* scratch) {
  scratch->clear();
  // Doubling keeps a stream of slowly growing entries from reallocating at every new maximum.
  if (scratch->capacity() < json_size) {
    scratch->reserve(std::max(json_size, 2 * scratch->capacity()));
  }
}

bool JsonStringValue(const JsonMember& member, std::string* scratch, std::string_view* value) {
  if (!member.is_string) return false;
  if (!member.has_escapes) {
    *value = member.value;
    return true;
  }
  const size_t start = scratch->size();
  if (start + member.value.size() > scratch->capacity()) return false;
  if (!AppendJsonUnescaped(member.value, scratch)) return false;
  *value = std::string_view(scratch->data() + start, scratch->size() - start);
  return true;
}

}  // namespace rrca::tailers
