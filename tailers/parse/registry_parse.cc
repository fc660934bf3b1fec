#include "tailers/parse/registry_parse.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "common/time_util.h"
#include "tailers/parse/json_scan.h"
#include "tailers/parse/record_finder.h"
#include "tailers/parse/registry_fields.h"

namespace rrca::tailers {

using registry_fields::Assign;
using registry_fields::Field;
using registry_fields::FieldOf;
using registry_fields::FindClosingQuote;
using registry_fields::LevelOf;
using registry_fields::ParseStatusCode;

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

ParseStatus ParseLogrusJsonScan(std::string_view record, std::string* scratch,
                                RegistryEvent* event) {
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

namespace {

// A longer record is read by json_scan alone, so the per-thread buffers below never grow past
// this (registry records are a few KB; the follower lets lines of up to 1 MiB through).
constexpr size_t kMaxSimdjsonRecordBytes = 64 * 1024;

// What ParseLogrusJson keeps between calls, one per thread that parses (the daemon's processing
// thread, analyze, tests, benchmarks), so no call allocates once the longest record was seen:
// simdjson's parser (index and string buffers sized for the longest record, at most
// kMaxSimdjsonRecordBytes) and a copy of the record with the SIMDJSON_PADDING readable bytes
// after it that simdjson needs. The record's own buffer gives no such promise. Nothing in it
// outlives a call: every view handed out points into the record or the caller's scratch.
struct SimdjsonState {
  simdjson::ondemand::parser parser{kMaxSimdjsonRecordBytes};
  std::unique_ptr<char[]> padded;
  size_t padded_size = 0;
  LogrusJsonStats stats;
};

SimdjsonState& ThisThreadsState() {
  thread_local SimdjsonState state;
  return state;
}

std::string_view TrimJsonSpace(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                           text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

// Reads the record's top-level members as ParseLogrusJsonScan does, with simdjson finding them:
// keys as written, string values between their quotes (escaped ones decoded by the same
// AppendJsonUnescaped), other scalars as their raw token. Values are taken from `record`, not
// from the padded copy, so they live as long as json_scan's did. False when simdjson refuses the
// record or a member is not a plain scalar (an object or an array among them): the caller then
// reads the record with json_scan.
bool ReadWithSimdjson(std::string_view record, SimdjsonState* state, std::string* scratch,
                      RegistryEvent* event, bool* any) {
  namespace od = simdjson::ondemand;
  const size_t padded_size = record.size() + simdjson::SIMDJSON_PADDING;
  if (state->padded_size < padded_size) {
    state->padded = std::make_unique_for_overwrite<char[]>(padded_size);
    state->padded_size = padded_size;
  }
  char* const copy = state->padded.get();
  if (!record.empty()) std::memcpy(copy, record.data(), record.size());
  std::memset(copy + record.size(), ' ', simdjson::SIMDJSON_PADDING);
  const char* const copy_end = copy + record.size();
  const auto in_record = [&](std::string_view in_copy) {
    return record.substr(static_cast<size_t>(in_copy.data() - copy), in_copy.size());
  };
  od::document doc;
  if (state->parser.iterate(simdjson::padded_string_view(copy, record.size(), padded_size))
          .get(doc) != simdjson::SUCCESS) {
    return false;
  }
  od::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) return false;
  for (auto member_result : object) {
    od::field member;
    if (std::move(member_result).get(member) != simdjson::SUCCESS) return false;
    // The key as written, up to the quote simdjson found closing it: an escaped quote leaves a
    // trailing backslash, and no key we look for has one.
    const char* const key = member.key().raw();
    const void* quote = std::memchr(key, '"', static_cast<size_t>(copy_end - key));
    if (quote == nullptr) return false;
    const Field field = FieldOf(std::string_view(key, static_cast<const char*>(quote) - key));
    // The value's first token, not consumed: On-Demand skips it when the loop goes on.
    const std::string_view raw = member.value().raw_json_token();
    const char first = raw.empty() ? '\0' : raw[0];
    // Lines whose members are not all plain `"key": string, number, true, false or null` are
    // json_scan's to read, so both readers see the same members: On-Demand skips an unread value
    // leniently (a string followed by ':' is taken for a key, a '}' for the object's end,
    // containers by counting brackets only), and it lets a bare value run on into a quoted part
    // (4"a b") where json_scan ends it at the first space or comma. Registry records are flat.
    const bool literal = first == '-' || (first >= '0' && first <= '9') || first == 't' ||
                         first == 'f' || first == 'n';
    if (first != '"' && !literal) return false;  // an object, an array, a missing value
    const char after = raw.data()[raw.size()];   // the next structural character, or padding
    if (after != ',' && after != '}') return false;
    if (literal && std::memchr(raw.data(), '"', raw.size()) != nullptr) return false;
    if (field == Field::kIgnored) continue;
    *any = true;
    std::string_view token = TrimJsonSpace(raw);
    if (first == '"') {
      if (token.size() < 2 || token.back() != '"') return false;
      token = in_record(token.substr(1, token.size() - 2));
      if (std::memchr(token.data(), '\\', token.size()) != nullptr) {
        // JSON escapes differ from Go quoting (\uXXXX): decode them properly.
        const size_t start = scratch->size();
        AppendJsonUnescaped(token, scratch);
        token = std::string_view(*scratch).substr(start);
      }
      Assign(field, token, false, scratch, event);
    } else if (field == Field::kStatus) {
      event->status = ParseStatusCode(in_record(token));
    } else {
      Assign(field, in_record(token), false, scratch, event);
    }
  }
  return true;
}

}  // namespace

ParseStatus ParseLogrusJson(std::string_view record, std::string* scratch, RegistryEvent* event) {
  SimdjsonState& state = ThisThreadsState();
  if (record.size() <= kMaxSimdjsonRecordBytes) {
    const RegistryEvent before = *event;
    scratch->clear();
    scratch->reserve(record.size());  // unescaping only shrinks: views into it stay valid
    bool any = false;
    if (ReadWithSimdjson(record, &state, scratch, event, &any)) {
      ++state.stats.simdjson;
      return any ? ParseStatus::kOk : ParseStatus::kMalformed;
    }
    *event = before;  // what simdjson assigned before it gave up
  }
  ++state.stats.json_scan;
  return ParseLogrusJsonScan(record, scratch, event);
}

LogrusJsonStats LogrusJsonStatsOfThisThread() { return ThisThreadsState().stats; }

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
