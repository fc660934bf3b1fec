// The fields of a registry record, by name: the keys Docker Distribution (dotted) and GitLab's
// registry (snake_case) log, and how each value is stored in a RegistryEvent. Shared by the
// logrus text, logrus JSON and TTY parsers (registry_parse.cc) and the access log parser.
#include "tailers/parse/registry/registry_fields.h"

#include <cstring>

#include "common/time_util.h"

namespace rrca::tailers::registry_fields {

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

}  // namespace rrca::tailers::registry_fields
