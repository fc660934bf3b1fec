#include "tailers/parse/envelope.h"

#include <algorithm>

#include "common/ascii.h"
#include "common/time_util.h"
#include "tailers/parse/json_scan.h"

namespace rrca::tailers {
namespace {

size_t SkipToken(std::string_view line, size_t pos) {
  while (pos < line.size() && line[pos] != ' ') ++pos;
  return pos;
}

// "<NN>" at the start of a syslog line; returns the position after it (0 when absent).
size_t SkipPriority(std::string_view line) {
  if (line.empty() || line[0] != '<') return 0;
  size_t pos = 1;
  while (pos < line.size() && pos < 5 && IsAsciiDigit(line[pos])) ++pos;
  return (pos > 1 && pos < line.size() && line[pos] == '>') ? pos + 1 : 0;
}

// RFC 3164 as rsyslog writes it for Harbor: "Mmm dd hh:mm:ss host tag[pid]: payload".
bool UnwrapSyslog(std::string_view line, int year, Unwrapped* out) {
  size_t pos = SkipPriority(line);
  if (line.size() < pos + 16) return false;
  const int month = MonthFromAbbrev(line.substr(pos, 3));
  if (month == 0 || line[pos + 3] != ' ') return false;
  pos += 4;
  if (line[pos] == ' ') ++pos;  // day padded with a space ("Apr  6")
  int day = 0;
  while (pos < line.size() && IsAsciiDigit(line[pos]) && day < 100)
    day = day * 10 + (line[pos++] - '0');
  if (day < 1 || day > 31 || pos + 9 > line.size() || line[pos] != ' ') return false;
  ++pos;
  const std::string_view clock = line.substr(pos, 8);
  if (clock.size() < 8 || clock[2] != ':' || clock[5] != ':' || !IsAsciiDigit(clock[0]) ||
      !IsAsciiDigit(clock[7])) {
    return false;
  }
  pos += 8;
  if (pos >= line.size() || line[pos] != ' ') return false;
  ++pos;
  // Host then tag, or just the tag; the tag is the token that ends with ':'.
  size_t end = SkipToken(line, pos);
  if (end == pos) return false;
  if (line[end - 1] != ':') {
    pos = end + 1;
    end = SkipToken(line, pos);
    if (end == pos || line[end - 1] != ':') return false;
  }
  const int hour = (clock[0] - '0') * 10 + (clock[1] - '0');
  const int minute = (clock[3] - '0') * 10 + (clock[4] - '0');
  const int second = (clock[6] - '0') * 10 + (clock[7] - '0');
  // Local time of the log host; used only when the record has no time of its own.
  out->time_ns =
      (DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
       hour * 3600 + minute * 60 + second) *
      kNanosPerSecond;
  out->envelope = Envelope::kSyslog;
  out->payload = end + 1 <= line.size() ? line.substr(std::min(end + 1, line.size())) : "";
  return true;
}

// RFC 5424: "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG".
bool UnwrapRfc5424(std::string_view line, Unwrapped* out) {
  size_t pos = SkipPriority(line);
  if (pos == 0 || pos + 2 > line.size() || line[pos] != '1' || line[pos + 1] != ' ') return false;
  pos += 2;
  const size_t time_end = SkipToken(line, pos);
  int64_t time_ns = 0;
  const bool has_time = ParseRfc3339(line.substr(pos, time_end - pos), &time_ns);
  pos = time_end;
  for (int field = 0; field < 4; ++field) {  // host, app, procid, msgid
    if (pos >= line.size()) return false;
    pos = SkipToken(line, pos + 1);
  }
  if (pos + 1 >= line.size()) return false;
  ++pos;
  if (line[pos] == '-') {
    ++pos;
  } else if (line[pos] == '[') {
    // Structured data: one or more [..] elements; "]" inside values is escaped as "\]".
    while (pos < line.size() && line[pos] == '[') {
      ++pos;
      while (pos < line.size() && line[pos] != ']') pos += (line[pos] == '\\') ? 2 : 1;
      ++pos;
    }
  } else {
    return false;
  }
  if (pos < line.size() && line[pos] == ' ') ++pos;
  std::string_view payload = line.substr(std::min(pos, line.size()));
  if (payload.starts_with("\xEF\xBB\xBF")) payload.remove_prefix(3);  // BOM
  out->envelope = Envelope::kRfc5424;
  out->payload = payload;
  out->time_ns = has_time ? time_ns : 0;
  return true;
}

// CRI (containerd / CRI-O): "RFC3339NANO stream P|F payload".
bool UnwrapCri(std::string_view line, Unwrapped* out) {
  if (line.size() < 30 || !IsAsciiDigit(line[0]) || line[4] != '-' || line[10] != 'T') return false;
  const size_t time_end = SkipToken(line, 0);
  int64_t time_ns = 0;
  if (!ParseRfc3339(line.substr(0, time_end), &time_ns)) return false;
  const std::string_view rest = line.substr(time_end);
  if (!rest.starts_with(" stdout ") && !rest.starts_with(" stderr ")) return false;
  if (rest.size() < 9 || (rest[8] != 'F' && rest[8] != 'P')) return false;
  if (rest.size() > 9 && rest[9] != ' ') return false;
  out->envelope = Envelope::kCri;
  out->partial = rest[8] == 'P';
  out->time_ns = time_ns;
  out->payload = rest.size() > 10 ? rest.substr(10) : std::string_view();
  return true;
}

// Docker json-file: {"log":"...","stream":"stderr","time":"..."}.
bool UnwrapDockerJson(std::string_view line, std::string* scratch, Unwrapped* out) {
  if (!line.starts_with("{\"log\":")) return false;
  out->envelope = Envelope::kDockerJson;
  JsonObjectScanner scanner(line);
  JsonMember member;
  bool have_log = false;
  scratch->clear();
  while (scanner.Next(&member)) {
    if (member.key == "log" && member.is_string) {
      have_log = AppendJsonUnescaped(member.value, scratch);
    } else if (member.key == "time" && member.is_string) {
      ParseRfc3339(member.value, &out->time_ns);
    }
  }
  if (scanner.malformed() || !have_log) {
    out->malformed = true;
    out->payload = {};
    return true;
  }
  std::string_view payload = *scratch;
  // The daemon splits lines longer than 16 KiB; only the last piece ends with a newline.
  out->partial = !payload.ends_with('\n');
  if (!out->partial) payload.remove_suffix(1);
  if (payload.ends_with('\r')) payload.remove_suffix(1);
  out->payload = payload;
  return true;
}

// runit's svlogd: "2017-05-09_08:04:17.13891 payload" (UTC, no zone).
bool UnwrapSvlogd(std::string_view line, Unwrapped* out) {
  if (line.size() < 21 || line[4] != '-' || line[10] != '_' || line[13] != ':') return false;
  const size_t end = SkipToken(line, 0);
  if (end > 40) return false;
  char buffer[48];
  std::string_view stamp = line.substr(0, end);
  std::copy(stamp.begin(), stamp.end(), buffer);
  buffer[10] = 'T';
  buffer[end] = 'Z';
  int64_t time_ns = 0;
  if (!ParseRfc3339(std::string_view(buffer, end + 1), &time_ns)) return false;
  out->envelope = Envelope::kSvlogd;
  out->time_ns = time_ns;
  out->payload = end + 1 < line.size() ? line.substr(end + 1) : std::string_view();
  return true;
}

// docker compose logs: "<service>_1  | payload" (or "<service>-1  | ").
bool UnwrapCompose(std::string_view line, Unwrapped* out) {
  const size_t bar = line.substr(0, std::min<size_t>(line.size(), 80)).find(" | ");
  if (bar == std::string_view::npos || bar == 0) return false;
  size_t name_end = bar;
  while (name_end > 0 && line[name_end - 1] == ' ') --name_end;
  for (size_t i = 0; i < name_end; ++i) {
    const char c = line[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsAsciiDigit(c) ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  out->envelope = Envelope::kCompose;
  out->payload = line.substr(bar + 3);
  return true;
}

}  // namespace

std::string_view EnvelopeName(Envelope envelope) {
  switch (envelope) {
    case Envelope::kNone:
      return "none";
    case Envelope::kSyslog:
      return "syslog";
    case Envelope::kRfc5424:
      return "rfc5424";
    case Envelope::kCri:
      return "cri";
    case Envelope::kDockerJson:
      return "docker_json";
    case Envelope::kSvlogd:
      return "svlogd";
    case Envelope::kCompose:
      return "compose";
  }
  return "none";
}

Unwrapped Unwrap(std::string_view line, EnvelopeHint hint, int syslog_year, std::string* scratch) {
  Unwrapped out;
  out.payload = line;
  if (line.empty()) return out;
  const char first = line[0];
  // Cheap dispatch on the first byte keeps the common "no envelope" case to one comparison.
  const bool try_all = hint == EnvelopeHint::kAuto;
  // logrus text needs no work: the common case costs one comparison.
  if (first == 't' && line.starts_with("time=")) return out;
  if (first == 'l' && line.starts_with("level=")) return out;
  if (first == '{' && (try_all || hint == EnvelopeHint::kDockerJson)) {
    UnwrapDockerJson(line, scratch, &out);
    return out;
  }
  if (first == '<' && (try_all || hint == EnvelopeHint::kSyslog)) {
    if (UnwrapRfc5424(line, &out) || UnwrapSyslog(line, syslog_year, &out)) return out;
    return out;
  }
  if (IsAsciiDigit(first) && (try_all || hint == EnvelopeHint::kCri)) {
    if (UnwrapCri(line, &out)) return out;
    if (try_all) UnwrapSvlogd(line, &out);
    return out;
  }
  if (first >= 'A' && first <= 'S' && (try_all || hint == EnvelopeHint::kSyslog)) {
    if (UnwrapSyslog(line, syslog_year, &out)) return out;
  }
  if (try_all && ((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z'))) {
    UnwrapCompose(line, &out);
  }
  return out;
}

PartialLines::Step PartialLines::Add(const Unwrapped& piece, size_t max_bytes) {
  // too_long_ as well: after an over-long run was dropped text_ is empty, but the pieces up to
  // the final one still belong to the dropped line.
  if (!piece.partial && text_.empty() && !too_long_) return Step::kWhole;
  if (text_.empty()) time_ns_ = piece.time_ns;
  if (text_.size() + piece.payload.size() > max_bytes) {
    too_long_ = true;
    text_.clear();
  } else if (!too_long_) {
    text_.append(piece.payload);
  }
  if (piece.partial) return Step::kHeld;
  if (too_long_) {
    too_long_ = false;
    text_.clear();
    return Step::kTooLong;
  }
  return Step::kComplete;
}

std::string PartialLines::Take() {
  std::string line = std::move(text_);
  text_.clear();
  return line;
}

PhysicalLines::Step PhysicalLines::Next(std::string_view line, EnvelopeHint hint, int syslog_year,
                                        size_t max_record_bytes) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return Step::kEmpty;
  const Unwrapped unwrapped = Unwrap(line, hint, syslog_year, &scratch_);
  if (unwrapped.malformed) return Step::kEnvelopeMalformed;
  switch (partial_lines_.Add(unwrapped, max_record_bytes)) {
    case PartialLines::Step::kWhole:
      payload_ = unwrapped.payload;
      line_ = line;
      time_ns_ = unwrapped.time_ns;
      return Step::kPayload;
    case PartialLines::Step::kHeld:
      return Step::kHeld;
    case PartialLines::Step::kTooLong:
      return Step::kTooLong;
    case PartialLines::Step::kComplete:
      joined_ = partial_lines_.Take();
      payload_ = line_ = joined_;
      time_ns_ = partial_lines_.time_ns();
      return Step::kPayload;
  }
  return Step::kEmpty;  // not reached: every step is handled above
}

}  // namespace rrca::tailers
