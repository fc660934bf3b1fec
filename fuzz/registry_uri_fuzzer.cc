// Fuzzes tailers/registry_uri.h: ParseRegistryUri and DecodeUploadState (`_state` decoding:
// percent-decoding, base64url, the signed JSON). Input: "<METHOD> <URI>" as in a request line
// (no space: the whole input is the URI). Seeds: fuzz/corpus/registry_uri/.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/request.h"
#include "fuzz/fuzz_util.h"
#include "tailers/registry_uri.h"

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

  std::string scratch;
  const rrca::UploadState state = rrca::tailers::DecodeUploadState(uri, &scratch);
  rrca::fuzz::Touch(state.name);
  rrca::fuzz::Touch(state.uuid);
  RRCA_FUZZ_CHECK(rrca::fuzz::Inside(state.name, scratch));
  RRCA_FUZZ_CHECK(rrca::fuzz::Inside(state.uuid, scratch));
  RRCA_FUZZ_CHECK(state.offset >= -1);
  if (state.valid) RRCA_FUZZ_CHECK(state.started_at_ns != 0);
  return 0;
}
