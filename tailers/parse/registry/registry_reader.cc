#include "tailers/parse/registry/registry_reader.h"

#include <cstring>

#include "tailers/parse/fragment_parse.h"
#include "tailers/parse/json_scan.h"
#include "tailers/parse/record_finder.h"

namespace rrca::tailers {
namespace {

// Removes SGR colour sequences (ESC [ digits/semicolons m); other bytes are kept.
std::string StripColors(std::string_view payload) {
  std::string out;
  out.reserve(payload.size());
  size_t pos = 0;
  while (pos < payload.size()) {
    if (payload[pos] == '\x1b' && pos + 1 < payload.size() && payload[pos + 1] == '[') {
      size_t end = pos + 2;
      while (end < payload.size() &&
             ((payload[end] >= '0' && payload[end] <= '9') || payload[end] == ';')) {
        ++end;
      }
      if (end < payload.size() && payload[end] == 'm') {
        pos = end + 1;
        continue;
      }
    }
    out.push_back(payload[pos++]);
  }
  return out;
}

// A held record is logrus text or, rarely, logrus' TTY form; its first bytes say which. (Parsing
// a held TTY record as text lost its level and message.)
ParseStatus ParseHeld(std::string_view held, std::string* scratch, RegistryEvent* event) {
  if (DetectRecordStart(held) == RecordFormat::kLogrusTty) {
    return ParseLogrusTty(held, scratch, event);
  }
  bool interesting = true;
  return ParseLogrusText(held, false, scratch, event, &interesting);
}

}  // namespace

std::string_view RecordSkipName(RecordSkip reason) {
  switch (reason) {
    case RecordSkip::kUnknownFormat:
      return "unknown_format";
    case RecordSkip::kMalformed:
      return "malformed";
    case RecordSkip::kEnvelopeMalformed:
      return "envelope_malformed";
    case RecordSkip::kOrphanContinuation:
      return "orphan_continuation";
    case RecordSkip::kTooLong:
      return "too_long";
    case RecordSkip::kCount:
      break;
  }
  return "unknown";
}

RegistryReader::RegistryReader(Options options, RegistryEventSink* sink)
    : options_(options), sink_(sink) {}

void RegistryReader::OnLine(std::string_view line) {
  ++stats_.lines;
  const PhysicalLines::Step step =
      lines_.Next(line, options_.envelope, options_.syslog_year, options_.max_record_bytes);
  if (CountedWithoutPayload(step, &stats_)) return;
  OnPayload(lines_.payload(), lines_.time_ns());
}

void RegistryReader::OnPayload(std::string_view payload, int64_t envelope_time_ns) {
  // logrus on a terminal colours the level and every key ("\x1b[31mERRO\x1b[0m[0001] ...  \x1b[31m
  // err.code\x1b[0m=..."), and a TTY-attached container's log file keeps those bytes: without
  // this the short form was never recognised outside copy-pasted text. Rare, so the copy is fine.
  std::string plain;
  if (payload.find('\x1b') != std::string_view::npos) {
    plain = StripColors(payload);
    payload = plain;
  }
  // A record pasted out of a JSON string ("time=\"...\" level=error msg=\"...\""): one level
  // of escaping removed. Checked on two bytes, so other lines pay nothing.
  std::string unescaped;
  if (payload.starts_with("time=\\\"")) {
    unescaped.reserve(payload.size());
    for (size_t i = 0; i < payload.size(); ++i) {
      if (payload[i] == '\\' && i + 1 < payload.size() &&
          (payload[i + 1] == '"' || payload[i + 1] == '\\')) {
        ++i;
      }
      unescaped.push_back(payload[i]);
    }
    payload = unescaped;
  }
  // A blog or chat rendering turned the quotes typographic (time=”...”): read ASCII quotes.
  std::string ascii;
  if (payload.find('\xe2') != std::string_view::npos &&
      (payload.find("=\xe2\x80\x9d") != std::string_view::npos ||
       payload.find("=\xe2\x80\x9c") != std::string_view::npos)) {
    for (size_t i = 0; i < payload.size(); ++i) {
      if (payload.compare(i, 2, "\xe2\x80") == 0 && i + 2 < payload.size() &&
          (payload[i + 2] == '\x9c' || payload[i + 2] == '\x9d')) {
        ascii.push_back('"');
        i += 2;
      } else {
        ascii.push_back(payload[i]);
      }
    }
    payload = ascii;
  }
  if (!held_fragment_.empty()) {
    // A Go-log message goes on until a line starts a record; a JSON object inside it (a
    // relayed error body) is part of the message unless it is a log record itself.
    const bool continues =
        held_is_golog_
            ? DetectRecordStart(payload) == RecordFormat::kUnknown && !StartsEmbeddedRecord(payload)
            : ContinuesFragment(payload) || held_fragment_.back() == ':';
    if (continues && held_fragment_.size() + payload.size() + 1 <= options_.max_record_bytes) {
      ++stats_.continuation_lines;
      held_fragment_.push_back('\n');
      held_fragment_.append(payload);
      return;
    }
    EmitHeldFragment();
  }
  const RecordFormat format = DetectRecordStart(payload);
  if (format != RecordFormat::kUnknown) {
    if (!held_.empty()) EmitHeld();
    StartRecord(payload, format, envelope_time_ns);
    return;
  }
  if (!held_.empty()) {
    // A record behind a prefix starts a new record: the held one was cut where it was pasted
    // (its quote never closes). A JSON object does not: an error's text may quote one.
    if (!StartsEmbeddedRecord(payload)) {
      ContinueHeld(payload);
      return;
    }
    EmitHeld();
  }
  // A record behind a prefix no envelope explains (docker logs -t, kubectl --prefix, grep, a
  // log viewer's columns): read from where it starts. One level only: the prefix is gone then.
  if (const size_t at = FindEmbeddedRecord(payload); at != std::string_view::npos) {
    const std::string_view record = payload.substr(at);
    if (DetectRecordStart(record) != RecordFormat::kUnknown) {
      StartRecord(record, DetectRecordStart(record), envelope_time_ns);
      return;
    }
  }
  if (after_text_record_ && !previous_record_interesting_) {
    // Part of a multi-line record nobody needs (e.g. a debug trace); it was counted already.
    ++stats_.continuation_lines;
    return;
  }
  // No record, but error evidence (a pasted fragment, a GC's error chain): one error, held for
  // its continuation lines ("caused by: ...", an indented "status code: 403, ...").
  RegistryEvent event;
  if (ParseFragment(payload, &parse_scratch_, &event)) {
    ++stats_.records[static_cast<size_t>(RecordFormat::kFragment)];
    after_text_record_ = false;
    previous_record_interesting_ = true;
    held_fragment_.assign(payload);
    held_fragment_time_ns_ = envelope_time_ns;
    held_is_golog_ = false;
    return;
  }
  Skip(after_text_record_ ? RecordSkip::kOrphanContinuation : RecordSkip::kUnknownFormat);
}

// Log shippers keep the record in one string member: fluent-bit, fluentd and Vector's "log" or
// "message" (with "stream"/"logtag"), journald's "MESSAGE", some in "msg". When the member holds
// a record of its own, that record is what to read; a logrus JSON record is read as it is.
bool RegistryReader::UnwrapShipperJson(std::string_view payload, int64_t envelope_time_ns,
                                       int depth) {
  if (depth > 0) return false;
  JsonObjectScanner scanner(payload);
  JsonMember member;
  while (scanner.Next(&member)) {
    // "M": zap's development encoder (chartmuseum, which Harbor ships).
    if (!member.is_string ||
        (member.key != "log" && member.key != "message" && member.key != "MESSAGE" &&
         member.key != "msg" && member.key != "M")) {
      continue;
    }
    std::string inner;
    if (member.has_escapes) {
      AppendJsonUnescaped(member.value, &inner);
    } else {
      inner.assign(member.value);
    }
    while (!inner.empty() && (inner.back() == '\n' || inner.back() == '\r')) inner.pop_back();
    const RecordFormat format = DetectRecordStart(inner);
    if (format == RecordFormat::kLogrusJson ||
        (format == RecordFormat::kUnknown && FindEmbeddedRecord(inner) == std::string_view::npos &&
         !HasErrorEvidence(inner))) {
      continue;
    }
    shipper_depth_ = depth + 1;
    OnPayload(inner, envelope_time_ns);
    shipper_depth_ = 0;
    return true;
  }
  return false;
}

void RegistryReader::StartRecord(std::string_view payload, RecordFormat format,
                                 int64_t envelope_time_ns) {
  RegistryEvent event;
  ParseStatus status = ParseStatus::kMalformed;
  bool interesting = true;
  after_text_record_ = format == RecordFormat::kLogrusText || format == RecordFormat::kLogrusTty;
  switch (format) {
    case RecordFormat::kLogrusText:
      status = ParseLogrusText(payload, true, &parse_scratch_, &event, &interesting);
      break;
    case RecordFormat::kLogrusJson: {
      // A pasted array element or a viewer's row ends in "," or " |" after the object.
      const size_t close = payload.rfind('}');
      if (close != std::string_view::npos) payload = payload.substr(0, close + 1);
      status = ParseLogrusJson(payload, &parse_scratch_, &event);
      if (event.level == Level::kUnknown &&
          UnwrapShipperJson(payload, envelope_time_ns, shipper_depth_)) {
        return;
      }
      interesting = IsInteresting(event.level, event.msg);
      break;
    }
    case RecordFormat::kHarborGoLog:
      status = ParseHarborGoLog(payload, &event);
      interesting = event.level >= Level::kWarning;
      if (status == ParseStatus::kOk && interesting) {
        // Its message may go on over the next lines (a relayed error, a reporter's wrap):
        // held like a fragment until a line starts a record.
        ++stats_.records[static_cast<size_t>(format)];
        previous_record_interesting_ = true;
        if (event.time_ns != 0) last_time_ns_ = event.time_ns;
        held_fragment_.assign(payload);
        held_fragment_time_ns_ = envelope_time_ns;
        held_is_golog_ = true;
        return;
      }
      break;
    case RecordFormat::kLogrusTty:
      status = ParseLogrusTty(payload, &parse_scratch_, &event);
      interesting = IsInteresting(event.level, event.msg);
      break;
    case RecordFormat::kAccessLog:
      status = ParseAccessLog(payload, &event);
      break;
    case RecordFormat::kFragment:  // not a record start: see OnPayload
    case RecordFormat::kUnknown:
      break;
  }
  previous_record_interesting_ = interesting;
  if (event.time_ns != 0) last_time_ns_ = event.time_ns;
  if (status == ParseStatus::kMalformed) {
    Skip(RecordSkip::kMalformed);
    previous_record_interesting_ = false;
    return;
  }
  // Checked before counting the record: a line is either a record or skipped, never both.
  if (interesting && status == ParseStatus::kUnterminated &&
      payload.size() > options_.max_record_bytes) {
    Skip(RecordSkip::kTooLong);
    return;
  }
  ++stats_.records[static_cast<size_t>(format)];
  if (!interesting) return;
  if (status == ParseStatus::kUnterminated) {
    held_.assign(payload);
    held_envelope_time_ns_ = envelope_time_ns;
    return;
  }
  Emit(event, format, envelope_time_ns);
}

void RegistryReader::ContinueHeld(std::string_view payload) {
  if (held_.size() + payload.size() + 1 > options_.max_record_bytes) {
    // Give up waiting for the closing quote: emit what we have rather than grow. This line is
    // dropped, so it is a too_long skip (as a continuation line it was dropped unseen).
    Skip(RecordSkip::kTooLong);
    EmitHeld();
    return;
  }
  ++stats_.continuation_lines;
  held_.push_back('\n');
  held_.append(payload);
  // This line starts inside the held record's open quoted value, so the line alone decides
  // whether the record is now complete: parse it as the rest of a quoted value. The whole record
  // is parsed only once it is complete. (Re-parsing the whole record for every continuation
  // line cost O(n^2): an open quote followed by many short quote-bearing lines took minutes.)
  std::string probe = "x=\"";
  probe.append(payload);
  RegistryEvent probe_event;
  bool interesting = true;
  if (ParseLogrusText(probe, false, &parse_scratch_, &probe_event, &interesting) ==
      ParseStatus::kUnterminated) {
    return;
  }
  RegistryEvent event;
  if (ParseHeld(held_, &parse_scratch_, &event) == ParseStatus::kUnterminated) return;
  Emit(event, RecordFormat::kLogrusText, held_envelope_time_ns_);
  held_.clear();
}

void RegistryReader::EmitHeld() {
  RegistryEvent event;
  // Still unterminated: the fields read so far are all the record will ever have.
  ParseHeld(held_, &parse_scratch_, &event);
  ++stats_.unterminated_records;
  Emit(event, RecordFormat::kLogrusText, held_envelope_time_ns_);
  held_.clear();
}

void RegistryReader::Emit(RegistryEvent& event, RecordFormat format, int64_t envelope_time_ns) {
  (void)format;
  // The record's own time wins over the envelope's.
  if (event.time_ns == 0) event.time_ns = envelope_time_ns != 0 ? envelope_time_ns : last_time_ns_;
  if (event.time_ns != 0) last_time_ns_ = event.time_ns;
  sink_->OnRegistryEvent(event);
}

void RegistryReader::Flush() {
  if (!held_.empty()) EmitHeld();
  if (!held_fragment_.empty()) EmitHeldFragment();
}

// Whether a line that does not start a record holds one behind a prefix. An embedded JSON object
// counts only when it is a log record or a shipper's envelope of one: an error's text may quote
// a registry error body ({"errors":[...]}) on the next line.
bool RegistryReader::StartsEmbeddedRecord(std::string_view line) {
  const size_t at = FindEmbeddedRecord(line);
  if (at == std::string_view::npos) return false;
  if (line[at] != '{') return true;
  const std::string_view json = line.substr(at);
  for (std::string_view key :
       {"\"level\":", "\"msg\":", "\"log\":", "\"message\":", "\"MESSAGE\":"}) {
    if (json.find(key) != std::string_view::npos) return true;
  }
  return false;
}

// What a Go error chain or an AWS error puts on the lines after the first one.
bool RegistryReader::ContinuesFragment(std::string_view line) {
  return line.starts_with(' ') || line.starts_with('\t') || line.starts_with("caused by: ") ||
         line.starts_with("status code: ");
}

void RegistryReader::EmitHeldFragment() {
  const std::string fragment = std::move(held_fragment_);
  held_fragment_.clear();
  RegistryEvent event;
  if (held_is_golog_) {
    if (ParseHarborGoLog(fragment, &event) == ParseStatus::kOk) {
      Emit(event, RecordFormat::kHarborGoLog, held_fragment_time_ns_);
    }
  } else if (ParseFragment(fragment, &parse_scratch_, &event)) {
    Emit(event, RecordFormat::kFragment, held_fragment_time_ns_);
  }
}

}  // namespace rrca::tailers
