// The registry's own access log (gorilla/handlers' combined format), one of the record formats of
// registry_parse.h: 172.17.0.1 - - [05/Jun/2024:10:00:00 +0000] "PATCH /v2/... HTTP/1.1" 500 ...
#include "common/time_util.h"
#include "tailers/parse/registry/registry_fields.h"
#include "tailers/parse/registry/registry_parse.h"

namespace rrca::tailers {

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
  event->status = registry_fields::ParseStatusCode(record.substr(pos + 1, 3));
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
