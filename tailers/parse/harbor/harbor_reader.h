#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/hop_event.h"
#include "tailers/parse/envelope.h"
#include "tailers/parse/harbor/harbor_parse.h"
#include "tailers/parse/registry/registry_reader.h"

namespace rrca::tailers {

struct HopReaderStats {
  uint64_t lines = 0;  // physical lines seen
  uint64_t empty_lines = 0;
  uint64_t continuation_lines = 0;  // CRI P / json-file pieces of a longer line
  uint64_t access_records = 0;      // nginx access lines
  uint64_t error_records = 0;       // nginx error-log lines, core Go-log / stdlib lines
  std::array<uint64_t, static_cast<size_t>(RecordSkip::kCount)> skipped{};
};

class HopEventSink {
 public:
  virtual ~HopEventSink() = default;
  virtual void OnHopEvent(const HopEvent& event) = 0;
};

// Turns the physical lines of one log of a hop in front of the registry into HopEvents:
//   Hop::kProxy  Harbor's nginx (proxy.log: access lines in timed_combined and nginx's error
//                log in one file) or ingress-nginx;
//   Hop::kCore   Harbor core (core.log: its Go log and the standard logger of its reverse proxy).
// The envelopes are those of the registry's logs (syslog from Harbor's log container, CRI,
// json-file, ...), detected per line; a record is also found behind a pasted prefix. Only what
// can be an error reaches the sink: access lines of status 499 and 5xx, error lines of level
// warn and above. Every other line is counted (stats), never fatal.
//
// One instance per stream (per file), one thread. Memory is bounded by max_record_bytes (the
// pieces of one CRI / json-file line).
class HopReader {
 public:
  struct Options {
    Hop hop = Hop::kProxy;
    EnvelopeHint envelope = EnvelopeHint::kAuto;
    size_t max_record_bytes = 1 << 20;
    int syslog_year = 1970;
  };

  HopReader(Options options, HopEventSink* sink) : options_(options), sink_(sink) {}

  // One physical line without its trailing newline.
  void OnLine(std::string_view line);
  // The time a line carries (its record's, else its envelope's; 0: none), for merging files.
  int64_t PeekTime(std::string_view line);

  const HopReaderStats& stats() const { return stats_; }
  int64_t last_time_ns() const { return last_time_ns_; }

 private:
  void OnPayload(std::string_view payload, int64_t envelope_time_ns);
  void Skip(RecordSkip reason) { ++stats_.skipped[static_cast<size_t>(reason)]; }

  Options options_;
  HopEventSink* sink_;
  HopReaderStats stats_;
  std::string_view current_line_;  // the line OnPayload is reading (valid during that call)
  PhysicalLines lines_;            // envelopes and CRI P / json-file pieces of one line
  std::string peek_scratch_;
  int64_t last_time_ns_ = 0;
};

// Parses one payload (envelope removed) of a hop's log: kOk fills *event. A record behind a
// prefix (a viewer's time column, "[nginx]", a bare syslog tag) is found too.
// `detail` as for ParseNginxAccess (the reader passes kErrorsOnly: it forwards only errors).
HopParse ParseHopPayload(Hop hop, std::string_view payload, HopEvent* event,
                         AccessDetail detail = AccessDetail::kFull);

}  // namespace rrca::tailers
