#include "tailers/parse/fragment_parse.h"

#include <algorithm>
#include <array>

#include "common/ascii.h"
#include "common/time_util.h"

namespace rrca::tailers {
namespace {

// The value of a registry error body's "code" ({"errors":[{"code":"BLOB_UNKNOWN",...), or of
// a pretty-printed "err.code": "...".
std::string_view QuotedCode(std::string_view text) {
  for (std::string_view key :
       {std::string_view("\"code\":\""), std::string_view("\"err.code\": \"")}) {
    const size_t at = text.find(key);
    if (at == std::string_view::npos) continue;
    const size_t start = at + key.size();
    const size_t end = text.find('"', start);
    if (end != std::string_view::npos && end > start) return text.substr(start, end - start);
  }
  return {};
}

// A logfmt value after `key=`: quoted (Go %q; raw newlines of 2.7/2.8 are not here, one line
// at a time), or unquoted up to the next " err." key or the end (hand-retyped fragments
// put spaces in unquoted values).
std::string_view ValueAfter(std::string_view line, size_t value_start, std::string* scratch) {
  std::string_view rest = line.substr(value_start);
  if (rest.starts_with('"')) {
    scratch->clear();
    size_t i = 1;
    for (; i < rest.size() && rest[i] != '"'; ++i) {
      if (rest[i] == '\\' && i + 1 < rest.size()) {
        const char escaped = rest[++i];
        scratch->push_back(escaped == 'n' ? '\n' : escaped == 't' ? '\t' : escaped);
      } else {
        scratch->push_back(rest[i]);
      }
    }
    return *scratch;
  }
  const size_t next = rest.find(" err.");
  return TrimBlanks(rest.substr(0, next));
}

// Where the evidence starts in a line, and whether the line names the failing storage call.
constexpr std::array<std::string_view, 24> kEvidence = {
    "s3aws: ",
    "filesystem: ",
    "swift: ",
    "azure: ",
    "gcs: ",
    "oss: ",
    "storage: service returned error",
    "inmemory: ",
    "panic: ",
    "caused by: ",
    "failed to garbage collect",
    "upload resumed at wrong offest",
    "upload resumed at wrong offset",
    "Path not found: ",
    "RequestError: send request failed",
    "NoSuchUpload",
    "driver.Error{",
    "map[DriverName:",
    "&s3.Error{",
    "{\"errors\":[{\"code\":\"",
    "dial tcp",
    "x509: ",
    "http: proxy error: ",
    "net/http: ",
};

size_t EarliestEvidence(std::string_view line) {
  size_t best = std::string_view::npos;
  for (std::string_view marker : kEvidence) {
    const size_t at = line.find(marker);
    if (at < best) best = at;
  }
  // The tail of an AWS error cut off from its record: "status code: 500, request id: ...".
  const size_t status = line.find("status code: ");
  if (status < best && line.find(", request id:", status) != std::string_view::npos) {
    best = status;
  }
  return best;
}

Level GoLogLevel(std::string_view name) {
  if (name == "ERROR") return Level::kError;
  if (name == "WARNING") return Level::kWarning;
  if (name == "INFO") return Level::kInfo;
  if (name == "DEBUG") return Level::kDebug;
  if (name == "FATAL") return Level::kFatal;
  return Level::kUnknown;
}

}  // namespace

bool HasErrorEvidence(std::string_view text) {
  return EarliestEvidence(text) != std::string_view::npos ||
         text.find("err.detail=") != std::string_view::npos;
}

ParseStatus ParseHarborGoLog(std::string_view record, RegistryEvent* event) {
  std::string_view rest = record;
  if (rest.front() != '[') {
    const size_t space = rest.find(' ');
    if (space == std::string_view::npos) return ParseStatus::kMalformed;
    int64_t time_ns = 0;
    if (ParseRfc3339(rest.substr(0, space), &time_ns)) event->time_ns = time_ns;
    rest.remove_prefix(space + 1);
  }
  const size_t close = rest.find(']');
  if (!rest.starts_with('[') || close == std::string_view::npos) return ParseStatus::kMalformed;
  event->level = GoLogLevel(rest.substr(1, close - 1));
  rest.remove_prefix(close + 1);
  // "[/path/file.go:123]" and, in newer versions, "[requestID=\"...\"]", then ": message".
  const size_t colon = rest.find("]: ");
  std::string_view message = colon != std::string_view::npos ? rest.substr(colon + 3) : rest;
  message = TrimBlanks(message);
  event->msg = message;
  event->err_detail = message;
  event->err_code = QuotedCode(message);
  // Harbor logs some storage failures at INFO ("failed to remove blob: ... with
  // error:filesystem: Path not found") and relays registry errors at DEBUG: evidence decides.
  if (event->level < Level::kError && HasErrorEvidence(message)) event->level = Level::kError;
  return ParseStatus::kOk;
}

bool ParseFragment(std::string_view line, std::string* scratch, RegistryEvent* event) {
  line = TrimBlanks(line);
  const size_t detail_key = line.find("err.detail=");
  const size_t code_key = line.find("err.code=");
  const size_t message_key = line.find("err.message=");
  const size_t evidence = EarliestEvidence(line);
  if (detail_key == std::string_view::npos && code_key == std::string_view::npos &&
      message_key == std::string_view::npos && evidence == std::string_view::npos) {
    return false;
  }
  event->kind = RegistryEvent::Kind::kAppLog;
  event->level = line.starts_with("panic: ") || line.find(" panic: ") != std::string_view::npos
                     ? Level::kPanic
                     : Level::kError;
  event->msg = line;
  if (code_key != std::string_view::npos) {
    // err.code is one word or quoted; scratch is reused below, so take the view from the line.
    std::string_view code = line.substr(code_key + 9);
    if (code.starts_with('"')) {
      code.remove_prefix(1);
      code = code.substr(0, code.find('"'));
    } else {
      code = code.substr(0, code.find(' '));
    }
    event->err_code = code;
  } else {
    event->err_code = QuotedCode(line);
  }
  if (detail_key != std::string_view::npos) {
    event->err_detail = ValueAfter(line, detail_key + 11, scratch);
  } else if (evidence != std::string_view::npos) {
    std::string_view detail = line.substr(evidence);
    while (!detail.empty() && (detail.back() == '"' || detail.back() == ',')) {
      detail.remove_suffix(1);
    }
    event->err_detail = detail;
  } else {
    event->err_detail = ValueAfter(line, message_key + 12, scratch);
  }
  return true;
}

}  // namespace rrca::tailers
