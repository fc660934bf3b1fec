// Which registry upload an S3 key belongs to.
#include <algorithm>

#include "tailers/parse/s3/s3_parse.h"

namespace rrca::tailers {
namespace {

constexpr std::string_view kRepositories = "docker/registry/v2/repositories/";
// Repository name components match [a-z0-9]+([._-][a-z0-9]+)*, so none can be "_uploads":
// the first "/_uploads/" ends the name.
constexpr std::string_view kUploads = "/_uploads/";

std::string_view TrimSlashes(std::string_view text) {
  while (text.starts_with("/")) text.remove_prefix(1);
  while (text.ends_with("/")) text.remove_suffix(1);
  return text;
}

}  // namespace

UploadKey ParseUploadKey(std::string_view key, std::string_view root_prefix) {
  UploadKey result;
  if (key.starts_with("/")) key.remove_prefix(1);
  // The driver joins rootdirectory and path without the root's leading slash.
  const std::string_view root = TrimSlashes(root_prefix);
  if (!root.empty()) {
    if (!key.starts_with(root) || key.substr(root.size(), 1) != "/") return result;
    key.remove_prefix(root.size() + 1);
  }
  if (!key.starts_with(kRepositories)) return result;
  key.remove_prefix(kRepositories.size());
  const size_t uploads = key.find(kUploads);
  if (uploads == 0 || uploads == std::string_view::npos) return result;
  const std::string_view after = key.substr(uploads + kUploads.size());
  const size_t slash = std::min(after.find('/'), after.size());
  if (slash == 0) return result;
  result.repository = key.substr(0, uploads);
  result.upload_uuid = after.substr(0, slash);
  result.file = after.substr(std::min(slash + 1, after.size()));
  result.ok = true;
  return result;
}

}  // namespace rrca::tailers
