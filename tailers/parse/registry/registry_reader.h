#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/event.h"
#include "tailers/parse/envelope.h"
#include "tailers/parse/registry/registry_parse.h"

namespace rrca::tailers {

// Why a physical line was not turned into (part of) a record. Each reason is a label value.
enum class RecordSkip : uint8_t {
  kUnknownFormat,       // not a registry record, and nothing to continue
  kMalformed,           // a record start that does not parse (truncated JSON, broken access line)
  kEnvelopeMalformed,   // a broken Docker json-file wrapper
  kOrphanContinuation,  // continuation after a record that was already complete
  kTooLong,             // record or joined fragments longer than max_record_bytes
  kCount,
};
std::string_view RecordSkipName(RecordSkip reason);

// Counts what PhysicalLines made of a line in a reader's stats (any struct with empty_lines,
// continuation_lines and skipped[RecordSkip]) when it gave no payload; false for kPayload. Every
// physical line lands in exactly one counter: lines == empty + continuation + records + skipped.
template <typename Stats>
bool CountedWithoutPayload(PhysicalLines::Step step, Stats* stats) {
  switch (step) {
    case PhysicalLines::Step::kPayload:
      return false;
    case PhysicalLines::Step::kEmpty:
      ++stats->empty_lines;
      return true;
    case PhysicalLines::Step::kHeld:  // counted with the line its last piece completes
      ++stats->continuation_lines;
      return true;
    case PhysicalLines::Step::kEnvelopeMalformed:
      ++stats->skipped[static_cast<size_t>(RecordSkip::kEnvelopeMalformed)];
      return true;
    case PhysicalLines::Step::kTooLong:
      ++stats->skipped[static_cast<size_t>(RecordSkip::kTooLong)];
      return true;
  }
  return true;
}

struct ReaderStats {
  uint64_t lines = 0;  // physical lines seen
  uint64_t empty_lines = 0;
  uint64_t continuation_lines = 0;                 // lines that continued a multi-line record
  uint64_t unterminated_records = 0;               // records emitted with a quote still open
  std::array<uint64_t, kRecordFormats> records{};  // by RecordFormat
  std::array<uint64_t, static_cast<size_t>(RecordSkip::kCount)> skipped{};
};

// Receives the records a reader produces; the event's views die when the call returns.
class RegistryEventSink {
 public:
  virtual ~RegistryEventSink() = default;
  virtual void OnRegistryEvent(const RegistryEvent& event) = 0;
};

// Turns the physical lines of one registry log stream into RegistryEvents: removes envelopes,
// joins CRI "P" and Docker json-file fragments, continues multi-line logrus records (registry
// 2.7/2.8 writes raw newlines inside quoted values) and parses. Only "interesting" records
// (responses, warnings, errors, access lines) reach the sink; every other line is counted.
//
// One instance per stream (per file), owned and called by one thread. Bad input is counted by
// reason in stats() and never stops the stream; memory is bounded by max_record_bytes.
class RegistryReader {
 public:
  struct Options {
    EnvelopeHint envelope = EnvelopeHint::kAuto;
    size_t max_record_bytes = 1 << 20;
    int syslog_year = 1970;  // the year for syslog timestamps, which have none
  };

  RegistryReader(Options options, RegistryEventSink* sink);

  // One physical line without its trailing newline.
  void OnLine(std::string_view line);
  // Emits a held record (end of input, idle stream, rotation).
  void Flush();

  // What the reader holds between lines: a record waiting for its continuation, the CRI or
  // json-file pieces of a line not yet complete. Carried over a restart with the positions
  // (which already moved past those lines): see Pipeline::SaveState.
  struct Held {
    std::string record;
    int64_t record_envelope_time_ns = 0;
    std::string fragments;
    int64_t fragments_time_ns = 0;
    int64_t last_time_ns = 0;
    std::string error_fragment;            // see ParseFragment
    bool error_fragment_is_golog = false;  // a Harbor Go-log record held for its next lines
    bool empty() const { return record.empty() && fragments.empty() && error_fragment.empty(); }
  };
  Held held() const {
    return {held_,
            held_envelope_time_ns_,
            lines_.partial_lines().held(),
            lines_.partial_lines().time_ns(),
            last_time_ns_,
            held_fragment_,
            held_is_golog_};
  }
  void RestoreHeld(Held held) {
    held_ = std::move(held.record);
    held_envelope_time_ns_ = held.record_envelope_time_ns;
    lines_.partial_lines().Restore(std::move(held.fragments), held.fragments_time_ns);
    if (held.last_time_ns > last_time_ns_) last_time_ns_ = held.last_time_ns;
    held_fragment_ = std::move(held.error_fragment);
    held_is_golog_ = held.error_fragment_is_golog;
    if (!held_.empty()) after_text_record_ = previous_record_interesting_ = true;
  }

  const ReaderStats& stats() const { return stats_; }
  // The time of the latest record seen (interesting or not); 0 before the first.
  int64_t last_time_ns() const { return last_time_ns_; }

 private:
  void OnPayload(std::string_view payload, int64_t envelope_time_ns);
  void StartRecord(std::string_view payload, RecordFormat format, int64_t envelope_time_ns);
  bool UnwrapShipperJson(std::string_view payload, int64_t envelope_time_ns, int depth);
  static bool ContinuesFragment(std::string_view line);
  static bool StartsEmbeddedRecord(std::string_view line);
  void EmitHeldFragment();
  void ContinueHeld(std::string_view payload);
  void EmitHeld();
  void Emit(RegistryEvent& event, RecordFormat format, int64_t envelope_time_ns);
  void Skip(RecordSkip reason) { ++stats_.skipped[static_cast<size_t>(reason)]; }

  Options options_;
  RegistryEventSink* sink_;
  ReaderStats stats_;
  PhysicalLines lines_;  // envelopes and CRI P / json-file pieces of one line
  std::string parse_scratch_;
  std::string held_;  // a logrus text record whose quoted value continues on the next line
  int64_t held_envelope_time_ns_ = 0;
  // The previous record was logrus text, so an unmarked line may continue it.
  bool after_text_record_ = false;
  bool previous_record_interesting_ = false;
  int64_t last_time_ns_ = 0;
  int shipper_depth_ = 0;      // a shipper's JSON inside a shipper's JSON is not unwrapped again
  std::string held_fragment_;  // a fragment (see ParseFragment) waiting for continuation lines
  int64_t held_fragment_time_ns_ = 0;
  bool held_is_golog_ = false;  // the held text is a Harbor Go-log record, not a fragment
};

}  // namespace rrca::tailers
