// Fuzzes tailers/parse/harbor/harbor_parse.h and tailers/parse/harbor/harbor_reader.h: the parsers
// of the hops in front of the registry (nginx access and error lines, Harbor core's Go and stdlib
// log) on the whole input, then the input's lines through a proxy and a core HopReader (envelopes,
// CRI/json-file pieces, prefixes; core's requestID, GitLab's $gzip_ratio). Every view must lie
// inside the input (or the piece the reader joined), a status is 100..599 or 0, durations are -1 or
// non-negative, and the reader's counters add up. Seeds: fuzz/corpus/harbor/. Dictionary:
// registry.dict.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "tailers/parse/harbor/harbor_parse.h"
#include "tailers/parse/harbor/harbor_reader.h"

namespace {

using rrca::HopEvent;

void CheckFields(const HopEvent& event) {
  RRCA_FUZZ_CHECK(event.status == 0 || (event.status >= 100 && event.status <= 599));
  RRCA_FUZZ_CHECK(event.request_time_ns >= -1);
  RRCA_FUZZ_CHECK(event.upstream_time_ns >= -1);
  for (const std::string_view field :
       {event.method, event.uri, event.message, event.upstream, event.request_id}) {
    rrca::fuzz::Touch(field);
  }
}

void CheckInside(const HopEvent& event, std::string_view input) {
  CheckFields(event);
  for (const std::string_view field :
       {event.method, event.uri, event.message, event.upstream, event.request_id}) {
    RRCA_FUZZ_CHECK(rrca::fuzz::Inside(field, input));
  }
}

class Sink : public rrca::tailers::HopEventSink {
 public:
  void OnHopEvent(const HopEvent& event) override {
    CheckFields(event);
    rrca::fuzz::Touch(event.line);  // the raw line (or the joined pieces) the explain API keeps
    RRCA_FUZZ_CHECK(!event.line.empty());
    RRCA_FUZZ_CHECK(event.kind == HopEvent::Kind::kError || event.status == 499 ||
                    event.status >= 500);
    ++events;
  }
  uint64_t events = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const rrca::Hop hop : {rrca::Hop::kProxy, rrca::Hop::kCore}) {
    HopEvent event;
    rrca::tailers::ParseHopPayload(hop, input, &event);
    CheckInside(event, input);
  }
  HopEvent event;
  rrca::tailers::ParseNginxAccess(input, &event);
  CheckInside(event, input);
  event = HopEvent{};
  rrca::tailers::ParseNginxError(input, &event);
  CheckInside(event, input);
  event = HopEvent{};
  rrca::tailers::ParseCoreLine(input, &event);
  CheckInside(event, input);

  for (const rrca::Hop hop : {rrca::Hop::kProxy, rrca::Hop::kCore}) {
    Sink sink;
    rrca::tailers::HopReader reader({hop, rrca::tailers::EnvelopeHint::kAuto, 4096, 2026}, &sink);
    size_t start = 0;
    uint64_t lines = 0;
    while (start <= input.size()) {
      size_t end = input.find('\n', start);
      if (end == std::string_view::npos) end = input.size();
      const std::string_view line = input.substr(start, end - start);
      rrca::fuzz::Touch(std::to_string(reader.PeekTime(line)));
      reader.OnLine(line);
      ++lines;
      start = end + 1;
    }
    const rrca::tailers::HopReaderStats& stats = reader.stats();
    uint64_t skipped = 0;
    for (const uint64_t count : stats.skipped) skipped += count;
    RRCA_FUZZ_CHECK(stats.lines == lines);
    RRCA_FUZZ_CHECK(stats.empty_lines + stats.continuation_lines + stats.access_records +
                        stats.error_records + skipped ==
                    stats.lines);
    RRCA_FUZZ_CHECK(sink.events <= stats.access_records + stats.error_records);
  }
  return 0;
}
