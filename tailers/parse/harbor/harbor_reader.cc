#include "tailers/parse/harbor/harbor_reader.h"

#include "common/ascii.h"
#include "common/time_util.h"
#include "tailers/parse/harbor/harbor_parse.h"
#include "tailers/parse/record_finder.h"

namespace rrca::tailers {
namespace {

// "YYYY/MM/DD HH:MM:SS" at text[at].
bool SlashTimeAt(std::string_view text, size_t at) {
  if (at + 19 > text.size()) return false;
  const std::string_view t = text.substr(at, 19);
  return IsAsciiDigit(t[0]) && IsAsciiDigit(t[3]) && t[4] == '/' && t[7] == '/' && t[10] == ' ' &&
         t[13] == ':' && t[16] == ':' && IsAsciiDigit(t[18]);
}

// Where an nginx error-log or Go stdlib line starts inside `payload` (0 when at the start),
// within its first kSearchBytes; npos when nowhere.
size_t FindSlashTime(std::string_view payload) {
  const size_t limit = payload.size() < kSearchBytes ? payload.size() : kSearchBytes;
  for (size_t at = payload.find('/', 4); at < limit; at = payload.find('/', at + 1)) {
    if (SlashTimeAt(payload, at - 4)) return at - 4;
  }
  return std::string_view::npos;
}

// A viewer's leading "YYYY-MM-DD HH:MM:SS" column, as UTC; 0 when none.
int64_t LeadingDashTime(std::string_view payload) {
  if (payload.size() < 19 || payload[4] != '-' || payload[7] != '-' ||
      (payload[10] != ' ' && payload[10] != 'T') || payload[13] != ':') {
    return 0;
  }
  char stamp[20];
  for (size_t i = 0; i < 19; ++i) stamp[i] = payload[i];
  stamp[19] = 'Z';
  int64_t time_ns = 0;
  return ParseRfc3339(std::string_view(stamp, 20), &time_ns) ? time_ns : 0;
}

}  // namespace

HopParse ParseHopPayload(Hop hop, std::string_view payload, HopEvent* event, AccessDetail detail) {
  *event = HopEvent{};
  if (hop == Hop::kCore) {
    HopParse parsed = ParseCoreLine(payload, event);
    if (parsed != HopParse::kNotRecord) return parsed;
    size_t at = FindEmbeddedRecord(payload);
    if (at == std::string_view::npos || !IsHarborGoLogStart(payload.substr(at))) {
      at = FindSlashTime(payload);
    }
    if (at == std::string_view::npos || at == 0) return HopParse::kNotRecord;
    *event = HopEvent{};
    return ParseCoreLine(payload.substr(at), event);
  }
  // Most lines are access lines: an error line is looked for behind a prefix only when the line
  // is no access line (an error line's quoted request is followed by no status, so it never
  // reads as one).
  if (SlashTimeAt(payload, 0)) {
    const HopParse parsed = ParseNginxError(payload, event);
    if (parsed != HopParse::kNotRecord) return parsed;
    *event = HopEvent{};
  }
  const HopParse parsed = ParseNginxAccess(payload, event, detail);
  if (parsed == HopParse::kOk) {
    if (event->time_ns == 0) event->time_ns = LeadingDashTime(payload);
    return parsed;
  }
  const size_t slash = FindSlashTime(payload);
  if (slash != std::string_view::npos && slash != 0) {
    HopEvent error;
    const HopParse error_parsed = ParseNginxError(payload.substr(slash), &error);
    if (error_parsed != HopParse::kNotRecord) {
      *event = error;
      return error_parsed;
    }
  }
  return parsed;
}

void HopReader::OnLine(std::string_view line) {
  ++stats_.lines;
  const PhysicalLines::Step step =
      lines_.Next(line, options_.envelope, options_.syslog_year, options_.max_record_bytes);
  if (CountedWithoutPayload(step, &stats_)) return;
  current_line_ = lines_.line();
  OnPayload(lines_.payload(), lines_.time_ns());
}

void HopReader::OnPayload(std::string_view payload, int64_t envelope_time_ns) {
  HopEvent event;
  const HopParse parsed = ParseHopPayload(options_.hop, payload, &event, AccessDetail::kErrorsOnly);
  if (parsed == HopParse::kNotRecord) {
    Skip(RecordSkip::kUnknownFormat);
    return;
  }
  if (parsed == HopParse::kMalformed) {
    Skip(RecordSkip::kMalformed);
    return;
  }
  // The record's own time wins; Harbor 2.x's access format has none, its envelope has.
  event.line = current_line_;
  if (event.time_ns == 0) event.time_ns = envelope_time_ns;
  if (event.time_ns == 0) event.time_ns = last_time_ns_;
  if (event.time_ns > last_time_ns_) last_time_ns_ = event.time_ns;
  if (event.kind == HopEvent::Kind::kAccess) {
    ++stats_.access_records;
    if (event.status == 499 || event.status >= 500) sink_->OnHopEvent(event);
  } else {
    ++stats_.error_records;
    if (event.level >= Level::kWarning) sink_->OnHopEvent(event);
  }
}

int64_t HopReader::PeekTime(std::string_view line) {
  const Unwrapped unwrapped = Unwrap(line, options_.envelope, options_.syslog_year, &peek_scratch_);
  HopEvent event;
  if (ParseHopPayload(options_.hop, unwrapped.payload, &event, AccessDetail::kErrorsOnly) ==
          HopParse::kOk &&
      event.time_ns != 0) {
    return event.time_ns;
  }
  return unwrapped.time_ns;
}

}  // namespace rrca::tailers
