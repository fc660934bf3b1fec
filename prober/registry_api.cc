#include "prober/registry_api.h"

#include <curl/curl.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "common/codecs.h"
#include "common/curl_easy.h"

namespace rrca::prober {
namespace {

struct CurlUrlFree {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlFree>;

std::string Part(CURLU* url, CURLUPart part) {
  char* text = nullptr;
  std::string out;
  if (curl_url_get(url, part, &text, 0) == CURLUE_OK) out = text;
  curl_free(text);
  return out;
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

constexpr size_t kMaxToken = 16 << 10;

}  // namespace

bool IsValidRepositoryName(std::string_view repository) {
  if (repository.empty() || repository.size() > 255) return false;
  // path-component := [a-z0-9]+ (separator [a-z0-9]+)*; separator := [_.] | __ | -+
  size_t pos = 0;
  while (true) {
    size_t start = pos;
    while (pos < repository.size() && IsLowerAlnum(repository[pos])) ++pos;
    if (pos == start) return false;
    if (pos == repository.size()) return true;
    const char c = repository[pos];
    if (c == '/') {
      ++pos;
      continue;
    }
    if (c == '.') {
      ++pos;
    } else if (c == '_') {
      ++pos;
      if (pos < repository.size() && repository[pos] == '_') ++pos;
    } else if (c == '-') {
      while (pos < repository.size() && repository[pos] == '-') ++pos;
    } else {
      return false;
    }
    if (pos == repository.size() || !IsLowerAlnum(repository[pos])) return false;
  }
}

StatusOr<std::string> RegistryUploadsUrl(std::string_view base_url, std::string_view repository) {
  if (!IsValidRepositoryName(repository)) {
    return Status::InvalidArgument(
        "repository: not a valid repository name (lowercase [a-z0-9] components "
        "separated by / . _ -)");
  }
  InitCurlOnce();
  CurlUrl url(curl_url());
  if (!url) return Status::ResourceExhausted("out of memory");
  if (curl_url_set(url.get(), CURLUPART_URL, std::string(base_url).c_str(), 0) != CURLUE_OK) {
    return Status::InvalidArgument("url: not a valid URL");
  }
  const std::string scheme = Part(url.get(), CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https")
    return Status::InvalidArgument("url: must be http(s)://");
  if (!Part(url.get(), CURLUPART_USER).empty() || !Part(url.get(), CURLUPART_QUERY).empty() ||
      !Part(url.get(), CURLUPART_FRAGMENT).empty()) {
    return Status::InvalidArgument(
        "url: only scheme, host, port and path (credentials go in their files)");
  }
  std::string path = Part(url.get(), CURLUPART_PATH);
  while (!path.empty() && path.back() == '/') path.pop_back();
  path += "/v2/" + std::string(repository) + "/blobs/uploads/";
  curl_url_set(url.get(), CURLUPART_PATH, path.c_str(), 0);
  return Part(url.get(), CURLUPART_URL);
}

StatusOr<std::string> ResolveLocation(std::string_view request_url, std::string_view location) {
  if (location.empty()) return Status::Unavailable("the answer has no Location");
  InitCurlOnce();
  CurlUrl base(curl_url());
  CurlUrl resolved(curl_url());
  if (!base || !resolved) return Status::ResourceExhausted("out of memory");
  const std::string request(request_url);
  if (curl_url_set(base.get(), CURLUPART_URL, request.c_str(), 0) != CURLUE_OK ||
      curl_url_set(resolved.get(), CURLUPART_URL, request.c_str(), 0) != CURLUE_OK) {
    return Status::InvalidArgument("the request URL does not parse");
  }
  // Set on a handle that holds the request URL, a relative Location is resolved as a redirect.
  if (curl_url_set(resolved.get(), CURLUPART_URL, std::string(location).c_str(), 0) != CURLUE_OK) {
    return Status::Unavailable("the Location does not parse as a URL");
  }
  const std::string scheme = Part(resolved.get(), CURLUPART_SCHEME);
  if ((scheme != "http" && scheme != "https") ||
      Part(resolved.get(), CURLUPART_HOST) != Part(base.get(), CURLUPART_HOST) ||
      Part(resolved.get(), CURLUPART_PORT) != Part(base.get(), CURLUPART_PORT) ||
      scheme != Part(base.get(), CURLUPART_SCHEME)) {
    return Status::Unavailable("the Location points at another host, port or scheme");
  }
  return Part(resolved.get(), CURLUPART_URL);
}

std::optional<Challenge> ParseChallenge(std::string_view header) {
  auto skip_space = [&](size_t pos) {
    while (pos < header.size() && (header[pos] == ' ' || header[pos] == '\t')) ++pos;
    return pos;
  };
  auto is_token = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' ||
           c == '\'' || c == '*' || c == '+' || c == '^' || c == '`' || c == '|' || c == '~';
  };
  auto lower = [](std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  size_t pos = skip_space(0);
  const size_t scheme_start = pos;
  while (pos < header.size() && is_token(header[pos])) ++pos;
  if (pos == scheme_start) return std::nullopt;
  Challenge challenge;
  challenge.scheme = lower(header.substr(scheme_start, pos - scheme_start));
  pos = skip_space(pos);
  while (pos < header.size()) {
    const size_t name_start = pos;
    while (pos < header.size() && is_token(header[pos])) ++pos;
    if (pos == name_start) return std::nullopt;
    const std::string name = lower(header.substr(name_start, pos - name_start));
    pos = skip_space(pos);
    if (pos >= header.size() || header[pos] != '=') {
      // "Basic, Bearer realm=..." or a second challenge: the first one ends here.
      return challenge;
    }
    pos = skip_space(pos + 1);
    std::string value;
    if (pos < header.size() && header[pos] == '"') {
      ++pos;
      bool closed = false;
      while (pos < header.size()) {
        const char c = header[pos++];
        if (c == '\\' && pos < header.size()) {
          value.push_back(header[pos++]);
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          value.push_back(c);
        }
      }
      if (!closed) return std::nullopt;
    } else {
      const size_t value_start = pos;
      while (pos < header.size() && is_token(header[pos])) ++pos;
      value = header.substr(value_start, pos - value_start);
    }
    challenge.params[name] = std::move(value);
    pos = skip_space(pos);
    if (pos < header.size()) {
      if (header[pos] != ',') return std::nullopt;
      pos = skip_space(pos + 1);
    }
  }
  return challenge;
}

StatusOr<std::string> TokenUrl(const Challenge& challenge, std::string_view default_scope) {
  const auto realm = challenge.params.find("realm");
  if (realm == challenge.params.end() || realm->second.empty()) {
    return Status::Unavailable("the Bearer challenge names no realm");
  }
  if (!realm->second.starts_with("https://") && !realm->second.starts_with("http://")) {
    return Status::Unavailable("the Bearer realm is not an http(s) URL");
  }
  std::string url = realm->second;
  char separator = url.find('?') == std::string::npos ? '?' : '&';
  const auto service = challenge.params.find("service");
  if (service != challenge.params.end() && !service->second.empty()) {
    url += separator + std::string("service=") + PercentEncode(service->second, false);
    separator = '&';
  }
  const auto scope = challenge.params.find("scope");
  const std::string_view wanted =
      scope != challenge.params.end() && !scope->second.empty() ? scope->second : default_scope;
  url += separator + std::string("scope=") + PercentEncode(wanted, false);
  return url;
}

StatusOr<std::string> ParseTokenAnswer(std::string_view body) {
  const nlohmann::json answer = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object())
    return Status::Unavailable("the token service's answer is not a JSON object");
  std::string token;
  for (const char* key : {"token", "access_token"}) {
    const auto found = answer.find(key);
    if (found != answer.end() && found->is_string() && !found->get<std::string>().empty()) {
      token = found->get<std::string>();
      break;
    }
  }
  if (token.empty()) return Status::Unavailable("the token service's answer holds no token");
  if (token.size() > kMaxToken) return Status::Unavailable("the token is longer than 16 KiB");
  for (const char c : token) {
    if (c <= ' ' || c > '~') return Status::Unavailable("the token is not printable ASCII");
  }
  return token;
}

}  // namespace rrca::prober
