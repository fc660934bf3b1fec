#include "tailers/registry_reader.h"

namespace rrca::tailers {

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
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) {
    ++stats_.empty_lines;
    return;
  }
  const Unwrapped unwrapped =
      Unwrap(line, options_.envelope, options_.syslog_year, &envelope_scratch_);
  if (unwrapped.malformed) {
    Skip(RecordSkip::kEnvelopeMalformed);
    return;
  }
  if (unwrapped.partial || !fragments_.empty()) {
    // Reassemble one logical line from CRI "P" / json-file pieces before anything else.
    if (fragments_.empty()) fragments_time_ns_ = unwrapped.time_ns;
    if (fragments_.size() + unwrapped.payload.size() > options_.max_record_bytes) {
      fragments_too_long_ = true;
      fragments_.clear();
    } else if (!fragments_too_long_) {
      fragments_.append(unwrapped.payload);
    }
    if (unwrapped.partial) return;
    if (fragments_too_long_) {
      Skip(RecordSkip::kTooLong);
    } else {
      const std::string joined = std::move(fragments_);
      OnPayload(joined, fragments_time_ns_);
    }
    fragments_.clear();
    fragments_too_long_ = false;
    return;
  }
  OnPayload(unwrapped.payload, unwrapped.time_ns);
}

void RegistryReader::OnPayload(std::string_view payload, int64_t envelope_time_ns) {
  const RecordFormat format = DetectRecordStart(payload);
  if (format != RecordFormat::kUnknown) {
    if (!held_.empty()) EmitHeld();
    StartRecord(payload, format, envelope_time_ns);
    return;
  }
  if (!held_.empty()) {
    ContinueHeld(payload);
    return;
  }
  if (after_text_record_ && !previous_record_interesting_) {
    // Part of a multi-line record nobody needs (e.g. a debug trace); it was counted already.
    ++stats_.continuation_lines;
    return;
  }
  Skip(after_text_record_ ? RecordSkip::kOrphanContinuation : RecordSkip::kUnknownFormat);
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
    case RecordFormat::kLogrusJson:
      status = ParseLogrusJson(payload, &parse_scratch_, &event);
      interesting = IsInteresting(event.level, event.msg);
      break;
    case RecordFormat::kLogrusTty:
      status = ParseLogrusTty(payload, &parse_scratch_, &event);
      interesting = IsInteresting(event.level, event.msg);
      break;
    case RecordFormat::kAccessLog:
      status = ParseAccessLog(payload, &event);
      break;
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
  ++stats_.records[static_cast<size_t>(format)];
  if (!interesting) return;
  if (status == ParseStatus::kUnterminated) {
    if (payload.size() > options_.max_record_bytes) {
      Skip(RecordSkip::kTooLong);
      return;
    }
    held_.assign(payload);
    held_envelope_time_ns_ = envelope_time_ns;
    return;
  }
  Emit(event, format, envelope_time_ns);
}

void RegistryReader::ContinueHeld(std::string_view payload) {
  ++stats_.continuation_lines;
  if (held_.size() + payload.size() + 1 > options_.max_record_bytes) {
    // Give up waiting for the closing quote: emit what we have rather than grow.
    EmitHeld();
    return;
  }
  held_.push_back('\n');
  held_.append(payload);
  RegistryEvent event;
  bool interesting = true;
  if (ParseLogrusText(held_, false, &parse_scratch_, &event, &interesting) ==
      ParseStatus::kUnterminated) {
    return;
  }
  Emit(event, RecordFormat::kLogrusText, held_envelope_time_ns_);
  held_.clear();
}

void RegistryReader::EmitHeld() {
  RegistryEvent event;
  bool interesting = true;
  // Still unterminated: the fields read so far are all the record will ever have.
  ParseLogrusText(held_, false, &parse_scratch_, &event, &interesting);
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
}

}  // namespace rrca::tailers
