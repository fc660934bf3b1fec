#include "prober/s3_api.h"

#include <algorithm>

#include "common/codecs.h"

namespace rrca::prober {
namespace {

// The text between <tag> and </tag> from `pos`; advances `pos` past it. Empty view if absent.
std::string_view Element(std::string_view xml, std::string_view tag, size_t* pos,
                         size_t end = std::string_view::npos) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  const size_t start = xml.find(open, *pos);
  if (start == std::string_view::npos || start >= end) return {};
  const size_t value = start + open.size();
  const size_t stop = xml.find(close, value);
  if (stop == std::string_view::npos || stop > end) return {};
  *pos = stop + close.size();
  return xml.substr(value, stop - value);
}

std::string DecodeEntities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    static const std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool decoded = false;
    for (const auto& [entity, c] : kEntities) {
      if (text.substr(i).starts_with(entity)) {
        out.push_back(c);
        i += entity.size() - 1;
        decoded = true;
        break;
      }
    }
    if (!decoded) out.push_back('&');
  }
  return out;
}

bool ValidBucket(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  for (const char c : bucket) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return alnum(bucket.front()) && alnum(bucket.back()) &&
         bucket.find("..") == std::string_view::npos;
}

}  // namespace

Status CheckS3Target(const S3Target& target) {
  const std::string_view endpoint = target.endpoint;
  const bool https = endpoint.starts_with("https://");
  if (!https && !endpoint.starts_with("http://")) {
    return Status::InvalidArgument("endpoint: must be http(s)://host[:port]");
  }
  const std::string_view host = endpoint.substr(https ? 8 : 7);
  if (host.empty() || host.find_first_of("/?#@ ") != std::string_view::npos) {
    return Status::InvalidArgument(
        "endpoint: must be http(s)://host[:port] (no path, no credentials)");
  }
  if (!ValidBucket(target.bucket)) {
    return Status::InvalidArgument("bucket: not a valid S3 bucket name");
  }
  if (target.virtual_host && https && target.bucket.find('.') != std::string::npos) {
    return Status::InvalidArgument(
        "bucket: a name with dots cannot be addressed as a virtual host over "
        "https (the certificate cannot match); use path-style addressing");
  }
  return Status::Ok();
}

std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> params) {
  for (auto& [key, value] : params) {
    key = PercentEncode(key, false);
    value = PercentEncode(value, false);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += '&';
    out += key + "=" + value;
  }
  return out;
}

std::string S3Url(const S3Target& target, std::string_view key, std::string_view query) {
  std::string url;
  if (target.virtual_host) {
    const size_t host = target.endpoint.find("://") + 3;
    url =
        target.endpoint.substr(0, host) + target.bucket + "." + target.endpoint.substr(host) + "/";
  } else {
    url = target.endpoint + "/" + target.bucket;
    if (!key.empty()) url += "/";
  }
  url += PercentEncode(key, true);
  if (!query.empty()) url += "?" + std::string(query);
  return url;
}

std::string ParseCreateUploadId(std::string_view xml) {
  size_t pos = 0;
  return DecodeEntities(Element(xml, "UploadId", &pos));
}

std::vector<ListedUpload> ParseListedUploads(std::string_view xml) {
  std::vector<ListedUpload> out;
  size_t pos = 0;
  while (true) {
    const std::string_view upload = Element(xml, "Upload", &pos);
    if (upload.data() == nullptr) break;
    size_t at = 0;
    ListedUpload entry;
    entry.key = DecodeEntities(Element(upload, "Key", &at));
    at = 0;
    entry.upload_id = DecodeEntities(Element(upload, "UploadId", &at));
    if (!entry.upload_id.empty()) out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace rrca::prober
