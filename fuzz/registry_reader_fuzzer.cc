// Fuzzes tailers/parse/registry/registry_reader.h: a RegistryReader fed the input's lines, as a
// stream of one file (envelopes, CRI/json-file fragments, multi-line records, held records, Flush).
// Two readers run: auto-detection with the default limit, and a fixed envelope hint with a tiny
// max_record_bytes so the too-long paths run too. Seeds: fuzz/corpus/registry_reader/.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "tailers/parse/registry/registry_reader.h"

namespace {

using rrca::tailers::EnvelopeHint;
using rrca::tailers::RegistryReader;

// Reads every byte of every event. The views must be alive for the call (ASan reports a view
// into a freed or reallocated buffer).
class TouchingSink : public rrca::tailers::RegistryEventSink {
 public:
  void OnRegistryEvent(const rrca::RegistryEvent& event) override {
    for (const std::string_view field :
         {event.msg, event.request_id, event.method, event.uri, event.repository, event.upload_uuid,
          event.err_code, event.err_message, event.err_detail, event.trace_func}) {
      rrca::fuzz::Touch(field);
    }
    ++events;
  }
  uint64_t events = 0;
};

void Run(std::string_view data, RegistryReader::Options options) {
  TouchingSink sink;
  RegistryReader reader(options, &sink);
  rrca::fuzz::ForEachLine(data, [&](std::string_view line) { reader.OnLine(line); });
  reader.Flush();
  const rrca::tailers::ReaderStats& stats = reader.stats();
  uint64_t lines = 0;
  rrca::fuzz::ForEachLine(data, [&](std::string_view) { ++lines; });
  RRCA_FUZZ_CHECK(stats.lines == lines);
  RRCA_FUZZ_CHECK(stats.empty_lines <= stats.lines);
  // Each record reaches the sink at most once, and a physical line starts at most one record.
  RRCA_FUZZ_CHECK(sink.events <= stats.lines);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Run(text, {EnvelopeHint::kAuto, 1 << 20, 2026});
  static constexpr EnvelopeHint kHints[] = {EnvelopeHint::kAuto, EnvelopeHint::kNone,
                                            EnvelopeHint::kSyslog, EnvelopeHint::kCri,
                                            EnvelopeHint::kDockerJson};
  Run(text, {kHints[size % 5], 64 + size % 64, 1970});
  return 0;
}
