#pragma once

#include <string>
#include <string_view>

#include "common/request.h"

// What a registry request URI says: the API operation, the repository and the upload's
// `_state`. Pure functions; the URI is the raw, still percent-encoded RequestURI.
namespace rrca::tailers {

struct UriInfo {
  Operation operation = Operation::kOther;
  std::string_view repository;  // view into the URI; empty for base/catalog/other
};

UriInfo ParseRegistryUri(std::string_view method, std::string_view uri);

// Decodes `_state=` from the URI into *scratch (cleared first); the result views *scratch.
// Tolerates missing base64 padding, %3D-escaped padding and a trailing "&digest=...".
UploadState DecodeUploadState(std::string_view uri, std::string* scratch);

}  // namespace rrca::tailers
