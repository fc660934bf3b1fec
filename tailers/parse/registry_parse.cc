#include "tailers/parse/registry_parse.h"

#include <algorithm>
#include <cstring>

#include "common/time_util.h"
#include "tailers/parse/json_scan.h"
#include "tailers/parse/record_finder.h"

namespace rrca::tailers {
namespace {

enum class Field : uint8_t {
  kIgnored,
  kTime,
  kLevel,
  kMsg,
  kRequestId,
  kMethod,
  kUri,
  kStatus,
  kDuration,
  kDurationMs,
  kRepository,
  kUploadUuid,
  kErrCode,
  kErrMessage,
  kErrDetail,
  kError,
  kTraceDuration,
  kTraceFunc,
  kUserAgent,
};

// Docker Distribution's dotted keys and GitLab's snake_case keys map onto the same fields.
Field FieldOf(std::string_view key) {
  switch (key.size()) {
    case 3:
      if (key == "msg") return Field::kMsg;
      if (key == "uri") return Field::kUri;
      break;
    case 4:
      if (key == "time") return Field::kTime;
      if (key == "code") return Field::kErrCode;
      break;
    case 5:
      if (key == "level") return Field::kLevel;
      if (key == "error") return Field::kError;
      break;
    case 6:
      if (key == "method") return Field::kMethod;
      if (key == "status") return Field::kStatus;
      if (key == "detail") return Field::kErrDetail;
      break;
    case 8:
      if (key == "err.code") return Field::kErrCode;
      break;
    case 9:
      if (key == "vars.name") return Field::kRepository;
      if (key == "vars.uuid") return Field::kUploadUuid;
      if (key == "vars_name") return Field::kRepository;
      if (key == "vars_uuid") return Field::kUploadUuid;
      break;
    case 10:
      if (key == "err.detail") return Field::kErrDetail;
      if (key == "user_agent") return Field::kUserAgent;  // GitLab
      if (key == "trace.func") return Field::kTraceFunc;
      break;
    case 11:
      if (key == "err.message") return Field::kErrMessage;
      if (key == "duration_ms") return Field::kDurationMs;
      break;
    case 14:
      if (key == "correlation_id") return Field::kRequestId;
      if (key == "trace.duration") return Field::kTraceDuration;
      break;
    case 15:
      if (key == "http.request.id") return Field::kRequestId;
      break;
    case 16:
      if (key == "http.request.uri") return Field::kUri;
      break;
    case 19:
      if (key == "http.request.method") return Field::kMethod;
      break;
    case 20:
      if (key == "http.response.status") return Field::kStatus;
      break;
    case 22:
      if (key == "http.response.duration") return Field::kDuration;
      if (key == "http.request.useragent") return Field::kUserAgent;
      break;
    default:
      break;
  }
  return Field::kIgnored;
}

Level LevelOf(std::string_view text) {
  if (text.empty()) return Level::kUnknown;
  switch (text[0]) {
    case 'd':
    case 'D':
      return Level::kDebug;
    case 'i':
    case 'I':
      return Level::kInfo;
    case 'w':
    case 'W':
      return Level::kWarning;
    case 'e':
    case 'E':
      return Level::kError;
    case 'f':
    case 'F':
      return Level::kFatal;
    case 'p':
    case 'P':
      return Level::kPanic;
    case 't':
    case 'T':
      return Level::kTrace;
    default:
      return Level::kUnknown;
  }
}

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// True when text[pos..] is "key=" for a logrus key.
bool KeyFollows(std::string_view text, size_t pos) {
  const size_t start = pos;
  while (pos < text.size() && IsKeyChar(text[pos])) ++pos;
  return pos > start && pos < text.size() && text[pos] == '=';
}

int ParseStatusCode(std::string_view text) {
  if (text.size() != 3) return 0;
  int code = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    code = code * 10 + (c - '0');
  }
  return code >= 100 ? code : 0;
}

// The end of a quoted logrus value that starts at `pos` (after the opening quote). Registry
// 2.7/2.8 (every Harbor) does not escape inner quotes, so a quote only closes the value when it
// is unescaped and followed by the end of the record or by " key=". npos when unterminated.
size_t FindClosingQuote(std::string_view text, size_t pos) {
  while (pos < text.size()) {
    const void* found = std::memchr(text.data() + pos, '"', text.size() - pos);
    if (found == nullptr) return std::string_view::npos;
    const size_t quote = static_cast<const char*>(found) - text.data();
    size_t backslashes = 0;
    while (quote > backslashes && text[quote - backslashes - 1] == '\\') ++backslashes;
    pos = quote + 1;
    if (backslashes % 2 == 1) continue;
    if (pos == text.size()) return quote;
    if (text[pos] == ' ') {
      size_t next = pos;
      while (next < text.size() && text[next] == ' ') ++next;
      if (next == text.size() || KeyFollows(text, next)) return quote;
    }
  }
  return std::string_view::npos;
}

// Decodes the Go-quoted escapes registry v2.0-2.6 and v3 write (\" \\ \n \t) into *scratch.
std::string_view Unescape(std::string_view raw, std::string* scratch) {
  if (std::memchr(raw.data(), '\\', raw.size()) == nullptr) return raw;
  const size_t start = scratch->size();
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\' && i + 1 < raw.size()) {
      const char next = raw[i + 1];
      if (next == '"' || next == '\\') {
        c = next, ++i;
      } else if (next == 'n') {
        c = '\n', ++i;
      } else if (next == 't') {
        c = '\t', ++i;
      }
    }
    scratch->push_back(c);
  }
  return std::string_view(*scratch).substr(start);
}

// Stores one field's value. Views into *scratch stay valid because the caller reserved room
// for the whole record before parsing (unescaping only shrinks).
void Assign(Field field, std::string_view value, bool quoted, std::string* scratch,
            RegistryEvent* event) {
  switch (field) {
    case Field::kTime:
      ParseRfc3339(value, &event->time_ns);
      break;
    case Field::kLevel:
      event->level = LevelOf(value);
      break;
    case Field::kMsg:
      event->msg = quoted ? Unescape(value, scratch) : value;
      break;
    case Field::kRequestId:
      event->request_id = value;
      break;
    case Field::kMethod:
      event->method = value;
      break;
    case Field::kUri:
      event->uri = value;
      break;
    case Field::kStatus:
      event->status = ParseStatusCode(value);
      break;
    case Field::kDuration:
      ParseGoDuration(value, &event->duration_ns);
      break;
    case Field::kDurationMs: {
      double ms = 0;
      if (!value.empty() && value.size() < 32) {
        char buffer[32];
        std::memcpy(buffer, value.data(), value.size());
        buffer[value.size()] = '\0';
        ms = std::strtod(buffer, nullptr);
        // strtod takes "inf", "nan" and "1e300": converting those to int64_t is undefined
        // behaviour (fuzz/regressions/registry_parse). A duration outside [0, ~104 days] stays
        // unknown; NaN fails the comparison too.
        if (ms >= 0 && ms < 9e12) event->duration_ns = static_cast<int64_t>(ms * 1e6);
      }
      break;
    }
    case Field::kRepository:
      event->repository = quoted ? Unescape(value, scratch) : value;
      break;
    case Field::kUploadUuid:
      event->upload_uuid = value;
      break;
    case Field::kErrCode:
      event->err_code = value;
      break;
    case Field::kErrMessage:
      event->err_message = quoted ? Unescape(value, scratch) : value;
      break;
    case Field::kErrDetail:
      event->err_detail = quoted ? Unescape(value, scratch) : value;
      break;
    case Field::kError:
      // GitLab logs the wrapped error as "error"; use it when there is no detail.
      if (event->err_detail.empty()) event->err_detail = quoted ? Unescape(value, scratch) : value;
      break;
    case Field::kTraceDuration:
      ParseGoDuration(value, &event->trace_duration_ns);
      break;
    case Field::kTraceFunc:
      event->trace_func = value;
      break;
    case Field::kUserAgent:
      event->probe = value.starts_with(kProbeUserAgentPrefix);
      break;
    case Field::kIgnored:
      break;
  }
}

}  // namespace

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
       payload.starts_with("TRAC"))) {  // logrus' trace level (TRAC[0000]) was missing
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
         msg == "access";  // GitLab's access line (level info): was missing, so dropped
}

ParseStatus ParseLogrusText(std::string_view record, bool header_only, std::string* scratch,
                            RegistryEvent* event, bool* interesting) {
  scratch->clear();
  scratch->reserve(record.size());
  bool have_msg = false;
  bool have_level = false;
  size_t pos = 0;
  const size_t size = record.size();
  while (pos < size) {
    while (pos < size && (record[pos] == ' ' || record[pos] == '\n' || record[pos] == '\t')) ++pos;
    if (pos >= size) break;
    const size_t key_start = pos;
    while (pos < size && record[pos] != '=' && record[pos] != ' ') ++pos;
    if (pos >= size || record[pos] != '=') continue;  // a bare word: not a field
    const Field field = FieldOf(record.substr(key_start, pos - key_start));
    ++pos;
    std::string_view value;
    bool quoted = false;
    if (pos < size && record[pos] == '"') {
      const size_t close = FindClosingQuote(record, pos + 1);
      if (close == std::string_view::npos) {
        Assign(field, record.substr(pos + 1), true, scratch, event);
        if (field == Field::kMsg) have_msg = true;
        *interesting = IsInteresting(event->level, event->msg);
        return ParseStatus::kUnterminated;
      }
      value = record.substr(pos + 1, close - pos - 1);
      quoted = true;
      pos = close + 1;
    } else {
      const size_t start = pos;
      while (pos < size && record[pos] != ' ') ++pos;
      value = record.substr(start, pos - start);
    }
    Assign(field, value, quoted, scratch, event);
    have_msg |= field == Field::kMsg;
    have_level |= field == Field::kLevel;
    // The cheap prefilter: once time, level and msg are known, decide whether to go on.
    if (header_only && have_msg && have_level && !IsInteresting(event->level, event->msg)) {
      *interesting = false;
      return ParseStatus::kOk;
    }
  }
  *interesting = IsInteresting(event->level, event->msg);
  return (have_msg || have_level) ? ParseStatus::kOk : ParseStatus::kMalformed;
}

ParseStatus ParseLogrusJson(std::string_view record, std::string* scratch, RegistryEvent* event) {
  scratch->clear();
  scratch->reserve(record.size());
  JsonObjectScanner scanner(record);
  JsonMember member;
  bool any = false;
  while (scanner.Next(&member)) {
    const Field field = FieldOf(member.key);
    if (field == Field::kIgnored) continue;
    any = true;
    std::string_view value = member.value;
    if (member.is_string && member.has_escapes) {
      // JSON escapes differ from Go quoting (\uXXXX): decode them properly.
      const size_t start = scratch->size();
      AppendJsonUnescaped(member.value, scratch);
      value = std::string_view(*scratch).substr(start);
    }
    if (field == Field::kStatus && !member.is_string) {
      event->status = ParseStatusCode(value);
    } else {
      Assign(field, value, false, scratch, event);
    }
  }
  if (scanner.malformed()) return ParseStatus::kMalformed;
  return any ? ParseStatus::kOk : ParseStatus::kMalformed;
}

ParseStatus ParseLogrusTty(std::string_view record, std::string* scratch, RegistryEvent* event) {
  // "INFO[0000] message<padding to 44>  key=value ...": no absolute time in this form.
  event->level = LevelOf(record.substr(0, 1));
  const size_t close = record.find("] ");
  if (close == std::string_view::npos) return ParseStatus::kMalformed;
  const size_t msg_start = close + 2;
  // The message ends where the padding before the first field starts.
  size_t msg_end = record.find("  ", msg_start);
  if (msg_end == std::string_view::npos) msg_end = record.size();
  event->msg = record.substr(msg_start, msg_end - msg_start);
  bool interesting = false;
  RegistryEvent fields;
  ParseStatus status = ParseStatus::kOk;
  if (msg_end < record.size()) {
    // An unterminated value still hands over the fields read so far (and msg, level), as the
    // text parser does: a held TTY record emitted at end of input used to lose them all.
    status = ParseLogrusText(record.substr(msg_end), false, scratch, &fields, &interesting);
    if (status != ParseStatus::kUnterminated) status = ParseStatus::kOk;
    fields.msg = event->msg;
    fields.level = event->level;
    *event = fields;
  }
  return status;
}

ParseStatus ParseAccessLog(std::string_view record, RegistryEvent* event) {
  event->kind = RegistryEvent::Kind::kAccessLog;
  const size_t open = record.find(" [");
  if (open == std::string_view::npos) return ParseStatus::kMalformed;
  const size_t close = record.find(']', open);
  if (close == std::string_view::npos) return ParseStatus::kMalformed;
  if (!ParseClfTime(record.substr(open + 2, close - open - 2), &event->time_ns)) {
    return ParseStatus::kMalformed;
  }
  size_t pos = close + 1;
  if (pos + 2 > record.size() || record[pos] != ' ' || record[pos + 1] != '"') {
    return ParseStatus::kMalformed;
  }
  pos += 2;
  // The request line; gorilla escapes quotes and backslashes inside it.
  size_t end = pos;
  while (end < record.size() && record[end] != '"') end += (record[end] == '\\') ? 2 : 1;
  if (end >= record.size()) return ParseStatus::kMalformed;
  const std::string_view request = record.substr(pos, end - pos);
  const size_t first_space = request.find(' ');
  const size_t last_space = request.rfind(' ');
  if (first_space == std::string_view::npos || last_space <= first_space) {
    return ParseStatus::kMalformed;
  }
  event->method = request.substr(0, first_space);
  event->uri = request.substr(first_space + 1, last_space - first_space - 1);
  pos = end + 1;
  if (pos + 4 > record.size() || record[pos] != ' ') return ParseStatus::kMalformed;
  event->status = ParseStatusCode(record.substr(pos + 1, 3));
  if (event->status == 0) return ParseStatus::kMalformed;
  event->level = Level::kInfo;
  // Combined format: ... status size "referer" "user agent"; the agent is the last quoted field.
  if (record.size() >= 2 && record.back() == '"') {
    size_t open_quote = record.size() - 1;
    do {
      open_quote = open_quote == 0 ? std::string_view::npos : record.rfind('"', open_quote - 1);
    } while (open_quote != std::string_view::npos && open_quote > 0 &&
             record[open_quote - 1] == '\\');
    if (open_quote != std::string_view::npos && open_quote > end) {
      event->probe = record.substr(open_quote + 1).starts_with(kProbeUserAgentPrefix);
    }
  }
  return ParseStatus::kOk;
}

}  // namespace rrca::tailers

#include "tailers/parse/envelope.h"

namespace rrca::tailers {

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
