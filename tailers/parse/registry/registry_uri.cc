#include "tailers/parse/registry/registry_uri.h"

#include <limits>

#include "common/codecs.h"
#include "common/time_util.h"
#include "tailers/parse/json_scan.h"

namespace rrca::tailers {
namespace {

Operation ManifestOperation(std::string_view method) {
  if (method == "GET") return Operation::kManifestGet;
  if (method == "HEAD") return Operation::kManifestHead;
  if (method == "PUT") return Operation::kManifestPut;
  if (method == "DELETE") return Operation::kManifestDelete;
  return Operation::kOther;
}

Operation UploadOperation(std::string_view method) {
  if (method == "POST") return Operation::kBlobUploadStart;
  if (method == "PATCH") return Operation::kBlobUploadChunk;
  if (method == "PUT") return Operation::kBlobUploadComplete;
  if (method == "GET" || method == "HEAD") return Operation::kBlobUploadStatus;
  if (method == "DELETE") return Operation::kBlobUploadCancel;
  return Operation::kOther;
}

Operation BlobOperation(std::string_view method) {
  if (method == "GET") return Operation::kBlobGet;
  if (method == "HEAD") return Operation::kBlobHead;
  if (method == "DELETE") return Operation::kBlobDelete;
  return Operation::kOther;
}

// Where the base64 of a `_state` token ends: at its first '=', written or percent-encoded ("%3D":
// the token sits in a query string). Nothing after it is read, not even a broken escape. A "%3D"
// that is not an escape of its own lies inside a broken one before it, which fails either way.
size_t TokenEnd(std::string_view token) {
  size_t end = token.find('=');
  for (size_t i = token.find('%'); i < end && i + 2 < token.size(); i = token.find('%', i + 1)) {
    if (token[i + 1] == '3' && (token[i + 2] == 'D' || token[i + 2] == 'd')) return i;
  }
  return end;
}

// Percent-decodes then base64url-decodes `token` into *out, up to its padding.
bool DecodeToken(std::string_view token, std::string* out) {
  const std::string_view base64 = token.substr(0, TokenEnd(token));
  // The registry escapes only the padding, which TokenEnd cut off: most tokens need no copy.
  if (base64.find('%') == std::string_view::npos) return DecodeBase64Unpadded(base64, out);
  std::string unescaped;
  return PercentDecode(base64, &unescaped) && DecodeBase64Unpadded(unescaped, out);
}

int64_t ParseInteger(std::string_view text) {
  int64_t value = 0;
  bool any = false;
  for (char c : text) {
    if (c < '0' || c > '9') break;
    // `_state` is client-controlled (its HMAC is not checked here): an Offset with more digits
    // than int64_t holds overflowed, undefined behaviour (fuzz/regressions/registry_uri).
    // Such an offset is unknown.
    if (value > (std::numeric_limits<int64_t>::max() - 9) / 10) return -1;
    value = value * 10 + (c - '0');
    any = true;
  }
  return any ? value : -1;
}

}  // namespace

UriInfo ParseRegistryUri(std::string_view method, std::string_view uri) {
  UriInfo info;
  std::string_view path = uri.substr(0, uri.find('?'));
  if (!path.starts_with("/v2")) return info;
  if (path == "/v2" || path == "/v2/") {
    info.operation = Operation::kBase;
    return info;
  }
  if (path == "/v2/_catalog") {
    info.operation = Operation::kCatalog;
    return info;
  }
  path.remove_prefix(4);  // "/v2/"
  if (path.ends_with("/tags/list")) {
    info.repository = path.substr(0, path.size() - 10);
    info.operation = method == "GET" || method == "HEAD" ? Operation::kTagsList : Operation::kOther;
    return info;
  }
  // The route is decided by the components after the repository: the reference, digest and
  // upload UUID never contain '/', so look at the last one or two components only. (Searching
  // for "/manifests/" or "/blobs/uploads" anywhere took a repository such as "a/manifests/b" or
  // "a/blobs/uploads/b" for the route: a blob GET on "a/manifests/b" became a manifest GET
  // on "a".)
  const size_t last_slash = path.rfind('/');
  if (last_slash == std::string_view::npos) return info;
  const std::string_view head = path.substr(0, last_slash);  // everything before the last part
  const std::string_view tail = path.substr(last_slash + 1);
  constexpr std::string_view kUploads = "/blobs/uploads";
  constexpr std::string_view kManifests = "/manifests";
  constexpr std::string_view kBlobs = "/blobs";
  if (head.ends_with(kUploads)) {  // <name>/blobs/uploads/ and <name>/blobs/uploads/<uuid>
    info.repository = head.substr(0, head.size() - kUploads.size());
    info.operation = UploadOperation(method);
  } else if (head.ends_with(kBlobs) && tail == "uploads") {  // <name>/blobs/uploads (no slash)
    info.repository = head.substr(0, head.size() - kBlobs.size());
    info.operation = UploadOperation(method);
  } else if (head.ends_with(kManifests) && !tail.empty()) {  // <name>/manifests/<reference>
    info.repository = head.substr(0, head.size() - kManifests.size());
    info.operation = ManifestOperation(method);
  } else if (head.ends_with(kBlobs) && !tail.empty()) {  // <name>/blobs/<digest>
    info.repository = head.substr(0, head.size() - kBlobs.size());
    info.operation = BlobOperation(method);
  }
  return info;
}

UploadState DecodeUploadState(std::string_view uri, std::string* scratch) {
  UploadState state;
  scratch->clear();
  size_t at = uri.find("_state=");
  if (at == std::string_view::npos) return state;
  std::string_view token = uri.substr(at + 7);
  token = token.substr(0, token.find('&'));
  if (!DecodeToken(token, scratch) || scratch->size() <= 32) return state;
  // The first 32 bytes are the HMAC-SHA256; the rest is the JSON the registry signed.
  JsonObjectScanner scanner(std::string_view(*scratch).substr(32));
  JsonMember member;
  while (scanner.Next(&member)) {
    if (member.key == "Name" && member.is_string) {
      state.name = member.value;
    } else if (member.key == "UUID" && member.is_string) {
      state.uuid = member.value;
    } else if (member.key == "Offset" && !member.is_string) {
      state.offset = ParseInteger(member.value);
    } else if (member.key == "StartedAt" && member.is_string) {
      ParseRfc3339(member.value, &state.started_at_ns);
    }
  }
  state.valid = !scanner.malformed() && state.started_at_ns != 0;
  return state;
}

}  // namespace rrca::tailers
