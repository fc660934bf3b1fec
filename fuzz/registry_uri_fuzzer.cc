// Fuzzes tailers/parse/registry/registry_uri.h: ParseRegistryUri and DecodeUploadState (`_state`
// decoding: percent-decoding, base64url, the signed JSON). The input is used twice: as "<METHOD>
// <URI>" as in a request line (no space: the whole input is the URI), and as the JSON inside a
// `_state` token that this target signs with a zero HMAC and base64url-encodes -- random mutations
// rarely make valid base64 of JSON, and the JSON is where the numbers are.
// Seeds: fuzz/corpus/registry_uri/ (request lines and decoded `_state` JSON).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/request.h"
#include "fuzz/fuzz_util.h"
#include "tailers/parse/registry/registry_uri.h"

namespace {

void CheckState(std::string_view uri) {
  std::string scratch;
  const rrca::UploadState state = rrca::tailers::DecodeUploadState(uri, &scratch);
  rrca::fuzz::Touch(state.name);
  rrca::fuzz::Touch(state.uuid);
  RRCA_FUZZ_CHECK(rrca::fuzz::Inside(state.name, scratch));
  RRCA_FUZZ_CHECK(rrca::fuzz::Inside(state.uuid, scratch));
  RRCA_FUZZ_CHECK(state.offset >= -1);
  if (state.valid) RRCA_FUZZ_CHECK(state.started_at_ns != 0);
}

std::string Base64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (const char c : bytes) {
    bits = (bits << 8) | static_cast<unsigned char>(c);
    count += 8;
    while (count >= 6) {
      count -= 6;
      out.push_back(kAlphabet[(bits >> count) & 63]);
    }
  }
  if (count > 0) out.push_back(kAlphabet[(bits << (6 - count)) & 63]);
  return out;  // unpadded, as the registry writes it
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view method;
  std::string_view uri = input;
  if (const size_t space = input.find(' '); space != std::string_view::npos) {
    method = input.substr(0, space);
    uri = input.substr(space + 1);
  }

  const rrca::tailers::UriInfo info = rrca::tailers::ParseRegistryUri(method, uri);
  rrca::fuzz::Touch(info.repository);
  rrca::fuzz::Touch(rrca::OperationName(info.operation));
  RRCA_FUZZ_CHECK(rrca::fuzz::Inside(info.repository, uri));
  RRCA_FUZZ_CHECK(info.operation < rrca::Operation::kCount);

  CheckState(uri);
  // The input as the signed JSON of a `_state` token.
  const std::string token = Base64Url(std::string(32, '\0') + std::string(input));
  CheckState("/v2/a/b/blobs/uploads/0b1c?_state=" + token + "&digest=sha256:00");
  return 0;
}
