#include "tailers/parse/registry/registry_parse.h"

#include <algorithm>
#include <cstring>

#include "common/time_util.h"
#include "tailers/parse/envelope.h"
#include "tailers/parse/record_finder.h"

// What the registry's record formats share: telling them apart, which records deserve a full
// parse, and a line's time for lining files up. Each format's parser has its own file:
// registry_logrus_text.cc (text and tty), registry_logrus_json.cc, registry_access_log.cc.
namespace rrca::tailers {

std::string_view RecordFormatName(RecordFormat format) {
  switch (format) {
    case RecordFormat::kLogrusText:
      return "logrus_text";
    case RecordFormat::kLogrusJson:
      return "logrus_json";
    case RecordFormat::kLogrusTty:
      return "logrus_tty";
    case RecordFormat::kAccessLog:
      return "access_log";
    case RecordFormat::kHarborGoLog:
      return "harbor_golog";
    case RecordFormat::kFragment:
      return "fragment";
    case RecordFormat::kUnknown:
      break;
  }
  return "unknown";
}

RecordFormat DetectRecordStart(std::string_view payload) {
  if (payload.empty()) return RecordFormat::kUnknown;
  const char first = payload[0];
  if (first == 't' && payload.starts_with("time=")) return RecordFormat::kLogrusText;
  if (first == '{') return RecordFormat::kLogrusJson;
  // logrus puts time, level and msg first, but custom field orders exist: level= first too.
  if (first == 'l' && payload.starts_with("level=")) return RecordFormat::kLogrusText;
  if (payload.size() > 10 && payload[4] == '[' &&
      (payload.starts_with("INFO") || payload.starts_with("WARN") || payload.starts_with("ERRO") ||
       payload.starts_with("DEBU") || payload.starts_with("FATA") || payload.starts_with("PANI") ||
       payload.starts_with("TRAC"))) {  // logrus' trace level: TRAC[0000]
    return RecordFormat::kLogrusTty;
  }
  if (((first >= '0' && first <= '9') || first == '[') && IsHarborGoLogStart(payload)) {
    return RecordFormat::kHarborGoLog;
  }
  // Access log: "<host> <ident> <user> [<time>] "..." -- look for " [dd/" in the first bytes.
  const size_t window = std::min<size_t>(payload.size(), 320);
  const void* bracket = std::memchr(payload.data(), '[', window);
  if (bracket != nullptr) {
    const size_t at = static_cast<const char*>(bracket) - payload.data();
    // Anchored: exactly "<host> <ident> <user> [" before it, as gorilla/handlers writes, so
    // other tools' access lines that embed the same shape later on are not taken for ours.
    const bool three_tokens = std::count(payload.begin(), payload.begin() + at, ' ') == 3;
    if (three_tokens && at > 0 && payload[at - 1] == ' ' && at + 4 < payload.size() &&
        payload[at + 3] == '/' && payload[at + 1] >= '0' && payload[at + 1] <= '3') {
      return RecordFormat::kAccessLog;
    }
  }
  return RecordFormat::kUnknown;
}

bool IsInteresting(Level level, std::string_view msg) {
  if (level >= Level::kWarning) return true;
  // "response completed" (with or without error), GitLab's "access", and infos such as
  // "error resolving upload: invalid secret".
  // The S3 driver's Writer trace ties a POST to its upload UUID (the Location header with it is
  // not logged) and times the listing a PATCH waits for: one line per upload request.
  return msg.starts_with("response completed") || msg.starts_with("error") ||
         msg.starts_with("client disconnected") || msg.starts_with("upload resumed") ||
         msg.starts_with("unknown error") || msg.starts_with("s3aws.Writer(") ||
         msg == "access";  // GitLab's access line, logged at level info
}

int64_t PeekLineTime(std::string_view line, int syslog_year, std::string* scratch) {
  const Unwrapped unwrapped = Unwrap(line, EnvelopeHint::kAuto, syslog_year, scratch);
  const std::string_view payload = unwrapped.payload;
  int64_t time_ns = 0;
  if (payload.starts_with("time=\"")) {
    ParseRfc3339(payload.substr(6, 40), &time_ns);
  } else if (payload.starts_with("{")) {
    const size_t at = payload.find("\"time\":\"");
    if (at != std::string_view::npos) ParseRfc3339(payload.substr(at + 8, 40), &time_ns);
  } else if (DetectRecordStart(payload) == RecordFormat::kAccessLog) {
    const size_t open = payload.find(" [");
    if (open != std::string_view::npos) ParseClfTime(payload.substr(open + 2, 40), &time_ns);
  }
  return time_ns != 0 ? time_ns : unwrapped.time_ns;
}

}  // namespace rrca::tailers
