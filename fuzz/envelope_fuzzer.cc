// Fuzzes tailers/parse/envelope.h: Unwrap of one physical line under every envelope hint.
// Seeds: fuzz/corpus/envelope/ (one raw line of each envelope). Dictionary: envelope.dict.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "tailers/parse/envelope.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using rrca::tailers::EnvelopeHint;
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  std::string scratch;
  for (const EnvelopeHint hint : {EnvelopeHint::kAuto, EnvelopeHint::kNone, EnvelopeHint::kSyslog,
                                  EnvelopeHint::kCri, EnvelopeHint::kDockerJson}) {
    for (const int year : {1970, 2026}) {
      const rrca::tailers::Unwrapped unwrapped = rrca::tailers::Unwrap(line, hint, year, &scratch);
      rrca::fuzz::Touch(rrca::tailers::EnvelopeName(unwrapped.envelope));
      rrca::fuzz::Touch(unwrapped.payload);
      // The payload views the line, or the unescaped json-file text in *scratch.
      RRCA_FUZZ_CHECK(rrca::fuzz::InsideEither(unwrapped.payload, line, scratch));
      if (hint == EnvelopeHint::kNone) RRCA_FUZZ_CHECK(!unwrapped.malformed);
    }
  }
  return 0;
}
