// Ceph RGW access lines from its beast (and older civetweb) frontend, and the S3 REST request
// helpers they and the RGW ops log need.
#include <algorithm>

#include "common/time_util.h"
#include "tailers/parse/s3/s3_parse.h"

namespace rrca::tailers {
namespace {

// Calls `visit(name)` for each parameter name of a query string until it returns false;
// returns false when a visit did.
template <typename Visit>
bool ForEachParamName(std::string_view query, Visit visit) {
  while (!query.empty()) {
    const size_t amp = std::min(query.find('&'), query.size());
    const std::string_view param = query.substr(0, amp);
    if (!visit(param.substr(0, std::min(param.find('='), param.size())))) return false;
    query.remove_prefix(std::min(amp + 1, query.size()));
  }
  return true;
}

bool IsOneOf(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Presigned URLs carry their signature in X-Amz-* parameters; they change nothing.
bool IsSignatureParam(std::string_view name) { return name.starts_with("X-Amz-"); }

// A bucket GET is a listing unless it asks for a sub-resource (?location, ?acl, ...).
bool OnlyListParams(std::string_view query) {
  return ForEachParamName(query, [](std::string_view name) {
    return name.empty() || IsSignatureParam(name) ||
           IsOneOf(name, {"list-type", "prefix", "delimiter", "max-keys", "marker",
                          "continuation-token", "start-after", "encoding-type", "fetch-owner",
                          "versions", "key-marker", "version-id-marker"});
  });
}

// Object sub-resources that make a GET/PUT/DELETE something other than the object itself.
bool HasObjectSubresource(std::string_view query) {
  return !ForEachParamName(query, [](std::string_view name) {
    return !IsOneOf(name, {"acl", "tagging", "retention", "legal-hold", "torrent", "restore",
                           "select", "attributes"});
  });
}

S3Op BucketOp(std::string_view method, std::string_view query) {
  if (method == "GET") {
    if (HasQueryParam(query, "uploads")) return S3Op::kListMultipart;
    return OnlyListParams(query) ? S3Op::kList : S3Op::kOther;
  }
  if (method == "POST" && HasQueryParam(query, "delete")) return S3Op::kDelete;
  return S3Op::kOther;
}

S3Op ObjectOp(std::string_view method, std::string_view query) {
  const bool upload_id = HasQueryParam(query, "uploadId");
  if (method == "POST") {
    if (HasQueryParam(query, "uploads")) return S3Op::kCreateMultipart;
    return upload_id ? S3Op::kCompleteMultipart : S3Op::kOther;
  }
  if (upload_id) {
    if (method == "PUT") return S3Op::kUploadPart;
    if (method == "GET") return S3Op::kListParts;
    if (method == "DELETE") return S3Op::kAbortMultipart;
    return S3Op::kOther;
  }
  if (HasObjectSubresource(query)) return S3Op::kOther;
  if (method == "PUT") return S3Op::kPut;
  if (method == "GET") return S3Op::kGet;
  if (method == "HEAD") return S3Op::kHead;
  if (method == "DELETE") return S3Op::kDelete;
  return S3Op::kOther;
}

bool IsMethod(std::string_view method) {
  return !method.empty() && method.size() <= 16 &&
         std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// "beast: " or "civetweb: " followed by the request's address "0x...: "; returns the text
// after that address, or an empty view when the line is no access line.
std::string_view AfterAccessMarker(std::string_view line, bool* civetweb) {
  // The marker sits after the log prefix (time, thread, level), well inside the first bytes.
  const std::string_view head = line.substr(0, 256);
  size_t at = head.find("beast: 0x");
  size_t marker_size = 7;
  *civetweb = false;
  if (at == std::string_view::npos) {
    at = head.find("civetweb: 0x");
    marker_size = 10;
    *civetweb = true;
  }
  if (at == std::string_view::npos || (at > 0 && line[at - 1] != ' ')) return {};
  const size_t address_end = line.find(": ", at + marker_size);
  if (address_end == std::string_view::npos) return {};
  return line.substr(address_end + 2);
}

std::string_view TrimLineEnd(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

bool HasQueryParam(std::string_view query, std::string_view name) {
  return !ForEachParamName(query, [name](std::string_view param) { return param != name; });
}

bool SplitS3Request(std::string_view request, S3Request* out) {
  const size_t method_end = request.find(' ');
  if (method_end == std::string_view::npos) return false;
  std::string_view target = request.substr(method_end + 1);
  target = target.substr(0, std::min(target.find(' '), target.size()));
  if (const size_t scheme = target.find("://");
      scheme != std::string_view::npos && !target.starts_with("/")) {
    const size_t path = target.find('/', scheme + 3);
    target = path == std::string_view::npos ? "/" : target.substr(path);
  }
  if (!target.starts_with("/") || !IsMethod(request.substr(0, method_end))) return false;
  const size_t query_start = std::min(target.find('?'), target.size());
  const std::string_view path = target.substr(1, query_start - 1);
  const size_t slash = std::min(path.find('/'), path.size());
  out->method = request.substr(0, method_end);
  out->bucket = path.substr(0, slash);
  out->key = path.substr(std::min(slash + 1, path.size()));
  out->query = target.substr(std::min(query_start + 1, target.size()));
  return true;
}

S3Op S3OpFromRequest(const S3Request& request) {
  if (request.bucket.empty()) return S3Op::kOther;  // ListBuckets and service-level calls
  return request.key.empty() ? BucketOp(request.method, request.query)
                             : ObjectOp(request.method, request.query);
}

// <prefix> beast: 0x..: ip - user [start] "METHOD target HTTP/1.1" status bytes referer agent
// range latency=1.935999990s. civetweb lines have the same head and no latency.
ParseResult ParseRgwBeastLine(std::string_view line, S3Event* out) {
  bool civetweb = false;
  std::string_view rest = AfterAccessMarker(TrimLineEnd(line), &civetweb);
  if (rest.empty()) return ParseResult::kNotThisFormat;
  const size_t open = rest.find(" [");
  const size_t close = rest.find("] \"", open);
  if (open == std::string_view::npos || close == std::string_view::npos) {
    return ParseResult::kMalformed;
  }
  const size_t request_end = rest.find('"', close + 3);
  int64_t start_ns = 0;
  S3Request request;
  if (request_end == std::string_view::npos ||
      !ParseClfTime(rest.substr(open + 2, close - open - 2), &start_ns) ||
      !SplitS3Request(rest.substr(close + 3, request_end - close - 3), &request)) {
    return ParseResult::kMalformed;
  }
  // After the request: " status bytes ...".
  rest = rest.substr(request_end + 1);
  const size_t status_end = std::min(rest.find(' ', 1), rest.size());
  const size_t bytes_end = std::min(rest.find(' ', status_end + 1), rest.size());
  int64_t status = 0;
  int64_t bytes = 0;
  if (!rest.starts_with(" ") || !ParseDecimal(rest.substr(1, status_end - 1), &status) ||
      status > 999 || status_end >= rest.size() ||
      !ParseDecimal(rest.substr(status_end + 1, bytes_end - status_end - 1), &bytes)) {
    return ParseResult::kMalformed;
  }
  int64_t duration_ns = -1;
  const size_t latency = rest.rfind(" latency=");
  if (latency != std::string_view::npos && latency >= bytes_end) {
    if (!ParseS3Duration(rest.substr(latency + 9), &duration_ns)) return ParseResult::kMalformed;
  } else if (!civetweb) {
    return ParseResult::kMalformed;  // beast always ends with the latency: the line was cut
  }
  *out = S3Event{};
  out->start_ns = start_ns;
  out->duration_ns = duration_ns;
  out->op = S3OpFromRequest(request);
  out->raw_operation = request.method;  // the log names no operation; the method is what it has
  out->bucket = request.bucket;
  out->key = request.key;
  out->status = static_cast<int>(status);
  return CheckS3EventText(*out);
}

}  // namespace rrca::tailers
