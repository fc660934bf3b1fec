#include "tailers/parse/harbor/harbor_parse.h"

#include <cstdint>

#include "common/ascii.h"
#include "common/time_util.h"
#include "tailers/parse/fragment_parse.h"
#include "tailers/parse/record_finder.h"

namespace rrca::tailers {
namespace {

// Three digits 100..599 (499 included) followed by the end or a space.
int StatusAt(std::string_view text, size_t pos) {
  if (pos + 3 > text.size() || !IsAsciiDigit(text[pos]) || !IsAsciiDigit(text[pos + 1]) ||
      !IsAsciiDigit(text[pos + 2]) || (pos + 3 < text.size() && text[pos + 3] != ' ')) {
    return 0;
  }
  const int status = (text[pos] - '0') * 100 + (text[pos + 1] - '0') * 10 + (text[pos + 2] - '0');
  return status >= 100 && status <= 599 ? status : 0;
}

// nginx's $request_time / $upstream_response_time: "0.123", "900.004", "-", or a list
// "0.5, 0.7" / "0.5 : 0.7" when several upstreams were tried (the last one counts).
bool ParseSeconds(std::string_view text, int64_t* nanos) {
  if (text.empty() || text.size() > 16) return false;
  int64_t whole = 0;
  size_t pos = 0;
  while (pos < text.size() && IsAsciiDigit(text[pos])) whole = whole * 10 + (text[pos++] - '0');
  if (pos == 0) return false;
  int64_t fraction = 0;
  int64_t scale = kNanosPerSecond;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    while (pos < text.size() && IsAsciiDigit(text[pos])) {
      if (scale > 1) {
        scale /= 10;
        fraction += (text[pos] - '0') * scale;
      }
      ++pos;
    }
  }
  if (pos != text.size() || whole > 1'000'000'000) return false;
  *nanos = whole * kNanosPerSecond + fraction;
  return true;
}

// The next space-separated token from *pos; a bracketed token ("[name]") is one token.
std::string_view NextToken(std::string_view text, size_t* pos) {
  while (*pos < text.size() && text[*pos] == ' ') ++*pos;
  const size_t start = *pos;
  if (start < text.size() && text[start] == '[') {
    const size_t close = text.find(']', start);
    *pos = close == std::string_view::npos ? text.size() : close + 1;
  } else {
    while (*pos < text.size() && text[*pos] != ' ') ++*pos;
  }
  return text.substr(start, *pos - start);
}

// A quoted value starting at text[*pos] == '"'; nginx escapes '"' and '\' inside as \x22, so a
// quote always ends it. False when it does not end.
bool NextQuoted(std::string_view text, size_t* pos, std::string_view* value) {
  while (*pos < text.size() && text[*pos] == ' ') ++*pos;
  if (*pos >= text.size() || text[*pos] != '"') return false;
  const size_t close = text.find('"', *pos + 1);
  if (close == std::string_view::npos) {
    *value = text.substr(*pos + 1);
    *pos = text.size();
    return false;
  }
  *value = text.substr(*pos + 1, close - *pos - 1);
  *pos = close + 1;
  return true;
}

// "2019/04/18 10:33:44[.123456]" (nginx's error log, Go's standard logger), read as UTC.
bool ParseSlashTime(std::string_view text, int64_t* unix_ns) {
  char stamp[40];
  if (text.size() < 19 || text.size() + 1 > sizeof(stamp)) return false;
  for (size_t i = 0; i < text.size(); ++i) stamp[i] = text[i];
  stamp[4] = stamp[7] = '-';
  stamp[10] = 'T';
  stamp[text.size()] = 'Z';
  return ParseRfc3339(std::string_view(stamp, text.size() + 1), unix_ns);
}

bool IsMethodChar(char c) { return c >= 'A' && c <= 'Z'; }

// Harbor's Go log writes the request's id between the source position and the message:
// `[/server/middleware/util.go:57][requestID="5f0c..."]: message`. Empty when absent or longer
// than an id can be (then it is not one).
std::string_view GoLogRequestId(std::string_view line) {
  constexpr std::string_view kKey = "][requestID=\"";
  const size_t end_of_header = line.find("]: ");
  const size_t key = line.substr(0, end_of_header).find(kKey);
  if (key == std::string_view::npos) return {};
  const std::string_view rest = line.substr(key + kKey.size());
  const size_t close = rest.find('"');
  if (close == std::string_view::npos || close == 0 || close > 64) return {};
  return rest.substr(0, close);
}

// Where the quoted request line starts: the first '"' followed by an upper-case method and a
// space, within the first kSearchBytes.
size_t FindRequestQuote(std::string_view line) {
  size_t at = 0;
  const size_t limit = line.size() < kSearchBytes ? line.size() : kSearchBytes;
  while ((at = line.find('"', at)) != std::string_view::npos && at < limit) {
    size_t end = at + 1;
    while (end < line.size() && IsMethodChar(line[end]) && end - at <= 10) ++end;
    if (end > at + 1 && end < line.size() && line[end] == ' ') return at;
    ++at;
  }
  return std::string_view::npos;
}

// nginx's $request_time / $upstream_response_time: seconds with exactly three decimals.
bool HasMillis(std::string_view token) {
  if (token.ends_with(',')) token.remove_suffix(1);
  const size_t dot = token.find('.');
  return dot != std::string_view::npos && dot > 0 && token.size() - dot - 1 == 3;
}

// ingress-nginx's tail after the user agent: request_length request_time [upstream]
// [alternative] upstream_addr upstream_response_length upstream_response_time upstream_status
// req_id. Harbor's: request_time upstream_response_time pipe.
void ParseTail(std::string_view tail, HopEvent* event) {
  // Offsets, not string_views: an array of views would be zeroed on every line (measured: a
  // quarter of the access parser's time).
  constexpr size_t kMaxTokens = 12;
  uint32_t starts[kMaxTokens];
  uint32_t sizes[kMaxTokens];
  size_t count = 0;
  size_t pos = 0;
  while (count < kMaxTokens) {
    const std::string_view token = NextToken(tail, &pos);
    if (token.empty()) break;
    starts[count] = static_cast<uint32_t>(token.data() - tail.data());
    sizes[count] = static_cast<uint32_t>(token.size());
    ++count;
  }
  auto tokens = [&](size_t i) { return tail.substr(starts[i], sizes[i]); };
  int64_t nanos = 0;
  if (count >= 9 && tokens(2).starts_with('[')) {  // ingress-nginx
    if (ParseSeconds(tokens(1), &nanos)) event->request_time_ns = nanos;
    event->upstream = tokens(4) == "-" ? std::string_view() : tokens(4);
    std::string_view upstream_time = tokens(6);
    const size_t last = upstream_time.find_last_of(", :");
    if (last != std::string_view::npos) upstream_time.remove_prefix(last + 1);
    if (ParseSeconds(upstream_time, &nanos)) event->upstream_time_ns = nanos;
    if (tokens(8).size() <= 64 && tokens(8) != "-") event->request_id = tokens(8);
    return;
  }
  // ingress-nginx before [$proxy_alternative_upstream_name] (0.2x): one token fewer.
  if (count == 8 && tokens(2).starts_with('[') && !tokens(3).starts_with('[')) {
    if (ParseSeconds(tokens(1), &nanos)) event->request_time_ns = nanos;
    event->upstream = tokens(3) == "-" ? std::string_view() : tokens(3);
    std::string_view upstream_time = tokens(5);
    const size_t last = upstream_time.find_last_of(", :");
    if (last != std::string_view::npos) upstream_time.remove_prefix(last + 1);
    if (ParseSeconds(upstream_time, &nanos)) event->upstream_time_ns = nanos;
    if (tokens(7).size() <= 64 && tokens(7) != "-") event->request_id = tokens(7);
    return;
  }
  // Harbor: "<request_time> <upstream_response_time> <pipe>"; upstream times of retried
  // upstreams come as "0.5," "0.7" or "0.5" ":" "0.7". nginx writes both times with exactly three
  // decimals; GitLab's gitlab_access format ends with $gzip_ratio instead ("4.33" or "-"), which
  // is no time.
  if (count == 0 || !HasMillis(tokens(0))) return;
  if (ParseSeconds(tokens(0), &nanos)) event->request_time_ns = nanos;
  for (size_t i = 1; i < count; ++i) {
    std::string_view token = tokens(i);
    if (token.ends_with(',')) token.remove_suffix(1);
    if (ParseSeconds(token, &nanos)) event->upstream_time_ns = nanos;
  }
}

}  // namespace

bool SplitRequestLine(std::string_view request, std::string_view* method, std::string_view* uri) {
  const size_t first_space = request.find(' ');
  if (first_space == 0 || first_space == std::string_view::npos) return false;
  for (size_t i = 0; i < first_space; ++i) {
    if (!IsMethodChar(request[i])) return false;
  }
  std::string_view rest = request.substr(first_space + 1);
  const size_t last_space = rest.rfind(' ');
  if (last_space != std::string_view::npos && rest.substr(last_space + 1).starts_with("HTTP/")) {
    rest = rest.substr(0, last_space);
  }
  if (rest.empty() || rest.front() != '/' || rest.find(' ') != std::string_view::npos) {
    return false;
  }
  *method = request.substr(0, first_space);
  *uri = rest;
  return true;
}

HopParse ParseNginxAccess(std::string_view line, HopEvent* event, AccessDetail detail) {
  event->hop = Hop::kProxy;
  event->kind = HopEvent::Kind::kAccess;
  event->level = Level::kInfo;
  const size_t quote = FindRequestQuote(line);
  if (quote == std::string_view::npos) return HopParse::kNotRecord;
  // A time in brackets before the request, when the format has one: the last bracketed field
  // (older ingress-nginx logs "[$the_real_ip]" before it).
  const std::string_view head = line.substr(0, quote);
  const size_t open = head.rfind('[');
  const size_t close = head.rfind(']');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
    int64_t time_ns = 0;
    if (ParseClfTime(head.substr(open + 1, close - open - 1), &time_ns)) event->time_ns = time_ns;
  }
  size_t pos = quote;
  std::string_view request;
  if (!NextQuoted(line, &pos, &request)) return HopParse::kMalformed;
  if (!SplitRequestLine(request, &event->method, &event->uri)) return HopParse::kMalformed;
  if (pos + 4 > line.size() || line[pos] != ' ') return HopParse::kMalformed;
  event->status = StatusAt(line, pos + 1);
  if (event->status == 0) return HopParse::kMalformed;
  if (detail == AccessDetail::kErrorsOnly && event->status != 499 && event->status < 500) {
    return HopParse::kOk;
  }
  pos += 4;
  const std::string_view bytes = NextToken(line, &pos);
  if (bytes.empty()) return HopParse::kOk;  // cut after the status: still one response
  std::string_view referer;
  std::string_view agent;
  if (!NextQuoted(line, &pos, &referer) || !NextQuoted(line, &pos, &agent)) {
    return HopParse::kOk;  // cut inside the quoted fields (a viewer's truncated row)
  }
  // Formats with "$http_x_forwarded_for" after the agent.
  size_t after = pos;
  std::string_view forwarded;
  if (NextQuoted(line, &after, &forwarded)) pos = after;
  ParseTail(line.substr(pos), event);
  return HopParse::kOk;
}

HopParse ParseNginxError(std::string_view line, HopEvent* event) {
  event->hop = Hop::kProxy;
  event->kind = HopEvent::Kind::kError;
  // "2019/04/18 10:33:44 [error] 9#0: "
  if (line.size() < 22 || line[4] != '/' || line[7] != '/' || line[10] != ' ' || line[13] != ':' ||
      line[16] != ':' || line[19] != ' ' || line[20] != '[') {
    return HopParse::kNotRecord;
  }
  int64_t time_ns = 0;
  if (!ParseSlashTime(line.substr(0, 19), &time_ns)) return HopParse::kMalformed;
  event->time_ns = time_ns;
  const size_t level_end = line.find(']', 21);
  if (level_end == std::string_view::npos || level_end > 32) return HopParse::kMalformed;
  const std::string_view level = line.substr(21, level_end - 21);
  event->level = level == "emerg" || level == "alert" || level == "crit" ? Level::kFatal
                 : level == "error"                                      ? Level::kError
                 : level == "warn"                                       ? Level::kWarning
                 : level == "notice" || level == "info"                  ? Level::kInfo
                                                                         : Level::kDebug;
  std::string_view rest = line.substr(level_end + 1);
  // " 9#0: *971 " : the process, thread and connection numbers.
  const size_t colon = rest.find(": ");
  if (colon == std::string_view::npos || colon > 24) return HopParse::kMalformed;
  rest.remove_prefix(colon + 2);
  if (rest.starts_with('*')) {
    const size_t space = rest.find(' ');
    rest.remove_prefix(space == std::string_view::npos ? rest.size() : space + 1);
  }
  // The message ends where nginx's context starts: ", client: ".
  const size_t context = rest.find(", client: ");
  event->message = TrimBlanks(rest.substr(0, context));
  if (context == std::string_view::npos) return HopParse::kOk;
  const std::string_view fields = rest.substr(context);
  const size_t request_key = fields.find(", request: \"");
  if (request_key != std::string_view::npos) {
    size_t pos = request_key + 11;
    std::string_view request;
    NextQuoted(fields, &pos, &request);  // a cut line keeps what it has
    SplitRequestLine(request, &event->method, &event->uri);
    if (event->uri.empty()) {
      // Cut inside the URI: keep the part that arrived (the join needs only its upload UUID).
      const size_t space = request.find(' ');
      if (space != std::string_view::npos && request.substr(space + 1).starts_with('/')) {
        event->method = request.substr(0, space);
        event->uri = request.substr(space + 1);
      }
    }
  }
  const size_t upstream_key = fields.find(", upstream: \"");
  if (upstream_key != std::string_view::npos) {
    size_t pos = upstream_key + 12;
    NextQuoted(fields, &pos, &event->upstream);
  }
  return HopParse::kOk;
}

HopParse ParseCoreLine(std::string_view line, HopEvent* event) {
  event->hop = Hop::kCore;
  event->kind = HopEvent::Kind::kError;
  if (IsHarborGoLogStart(line)) {
    RegistryEvent parsed;
    if (ParseHarborGoLog(line, &parsed) != ParseStatus::kOk) return HopParse::kMalformed;
    event->time_ns = parsed.time_ns;
    event->level = parsed.level;
    event->message = parsed.msg;
    event->request_id = GoLogRequestId(line);
    return HopParse::kOk;
  }
  // The reverse proxy's message without the logger's time (log flags 0, or as users quote it).
  if (line.starts_with("http: proxy error: ")) {
    event->message = TrimBlanks(line);
    event->level = Level::kError;
    return HopParse::kOk;
  }
  // Go's standard logger: "2026/03/17 14:12:33 message" (optionally ".000000" microseconds).
  if (line.size() < 20 || line[4] != '/' || line[7] != '/' || line[10] != ' ' || line[13] != ':' ||
      line[16] != ':') {
    return HopParse::kNotRecord;
  }
  size_t end = 19;
  if (end < line.size() && line[end] == '.') {
    ++end;
    while (end < line.size() && IsAsciiDigit(line[end])) ++end;
  }
  int64_t time_ns = 0;
  if (!ParseSlashTime(line.substr(0, end), &time_ns)) return HopParse::kMalformed;
  event->time_ns = time_ns;
  event->message = TrimBlanks(line.substr(end));
  // The stdlib logger has no level; the reverse proxy's and the server's lines are errors.
  event->level = event->message.starts_with("http: ") ? Level::kError : Level::kInfo;
  return HopParse::kOk;
}

}  // namespace rrca::tailers
