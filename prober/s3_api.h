#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

// Pure functions of the store probe: S3 URLs in path or virtual-host style with their query in
// canonical form (sorted, RFC 3986-encoded: what SigV4 signs, so that libcurl's signature and
// the store's agree on every curl version), and the few answers it reads. No I/O; unit-tested.
namespace rrca::prober {

struct S3Target {
  std::string endpoint;  // http(s)://host[:port]
  std::string bucket;
  bool virtual_host = false;
};

// Checks endpoint (http(s)://host[:port], nothing else) and bucket (S3's bucket-name grammar,
// and no dots with virtual-host addressing over https, whose wildcard certificate cannot match).
Status CheckS3Target(const S3Target& target);

// "k=v&k2=" sorted by key, keys and values percent-encoded.
std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> params);

// The URL of `key` (empty: the bucket itself) with `query` (already canonical) appended.
std::string S3Url(const S3Target& target, std::string_view key, std::string_view query);

// <UploadId> of a CreateMultipartUpload answer; empty when there is none.
std::string ParseCreateUploadId(std::string_view xml);

struct ListedUpload {
  std::string key;
  std::string upload_id;
};
// The <Upload> entries of a ListMultipartUploads answer (Key and UploadId, XML entities decoded).
std::vector<ListedUpload> ParseListedUploads(std::string_view xml);

}  // namespace rrca::prober
