#include "exporter/enricher/enricher_http.h"

#include <curl/curl.h>

#include "common/curl_easy.h"

namespace rrca::enricher {
namespace {

// The most hosts whose idle connections one client keeps (curl's default is 5).
constexpr long kMaxCachedConnections = 16;

struct CurlUrlFree {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlFree>;

// One part of a parsed URL as a std::string (curl allocates it); nullopt-like "absent" is
// reported through `present`.
CURLUcode GetPart(CURLU* url, CURLUPart part, unsigned flags, std::string* out,
                  bool* present = nullptr) {
  char* text = nullptr;
  const CURLUcode rc = curl_url_get(url, part, &text, flags);
  if (present != nullptr) *present = rc == CURLUE_OK;
  if (rc == CURLUE_OK) out->assign(text);
  curl_free(text);
  return rc;
}

}  // namespace

StatusOr<HttpUrl> ParseHttpUrl(std::string_view text) {
  CurlUrl url(curl_url());
  if (!url) return Status::InvalidArgument("out of memory parsing the URL");
  // No CURLU_DEFAULT_SCHEME: a URL without its scheme is refused rather than guessed.
  const CURLUcode rc = curl_url_set(url.get(), CURLUPART_URL, std::string(text).c_str(), 0);
  if (rc != CURLUE_OK)
    return Status::InvalidArgument(std::string("invalid URL: ") + curl_url_strerror(rc));
  HttpUrl out;
  std::string scheme;
  GetPart(url.get(), CURLUPART_SCHEME, 0, &scheme);
  if (scheme != "http" && scheme != "https") {
    return Status::InvalidArgument("must start with http:// or https://");
  }
  out.https = scheme == "https";
  std::string port, fragment;
  bool has_fragment = false;
  GetPart(url.get(), CURLUPART_PORT, 0, &port);
  if (port == "0") return Status::InvalidArgument("invalid port 0");
  GetPart(url.get(), CURLUPART_FRAGMENT, 0, &fragment, &has_fragment);
  if (has_fragment) return Status::InvalidArgument("a webhook URL has no #fragment");
  // User info: percent-decoded by curl (CURLU_URLDECODE refuses what decodes to control
  // characters). Handed to curl apart from the URL, so neither logs nor labels ever see it.
  bool has_user = false, has_password = false;
  if (GetPart(url.get(), CURLUPART_USER, CURLU_URLDECODE, &out.user, &has_user) ==
          CURLUE_URLDECODE ||
      GetPart(url.get(), CURLUPART_PASSWORD, CURLU_URLDECODE, &out.password, &has_password) ==
          CURLUE_URLDECODE) {
    return Status::InvalidArgument("the user info does not percent-decode to printable text");
  }
  out.has_credentials = has_user || has_password;
  curl_url_set(url.get(), CURLUPART_USER, nullptr, 0);
  curl_url_set(url.get(), CURLUPART_PASSWORD, nullptr, 0);
  curl_url_set(url.get(), CURLUPART_OPTIONS, nullptr, 0);
  // CURLU_NO_DEFAULT_PORT: "http://h:80/x" and "http://h/x" are one downstream label.
  if (GetPart(url.get(), CURLUPART_URL, CURLU_NO_DEFAULT_PORT, &out.redacted) != CURLUE_OK) {
    return Status::InvalidArgument("the URL cannot be put back together without its user info");
  }
  return out;
}

// What one easy handle needs besides itself; lives as long as the client.
struct WebhookClient::State {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;  // Content-Type, and no "Expect: 100-continue"
  char error[CURL_ERROR_SIZE] = {};
  // Per Post: bytes of the answer seen so far, and whether a bound cut it.
  size_t limit = 0;
  size_t head_bytes = 0;
  size_t body_bytes = 0;
  bool head_cut = false;
  bool body_cut = false;

  // Answers are counted, never kept: a webhook's body says nothing the status does not.
  static size_t OnBody(char*, size_t size, size_t count, void* user) {
    auto* state = static_cast<State*>(user);
    state->body_bytes += size * count;
    if (state->body_bytes > state->limit) {
      state->body_cut = true;
      return 0;  // curl stops reading and closes the connection
    }
    return size * count;
  }
  static size_t OnHeader(char*, size_t size, size_t count, void* user) {
    auto* state = static_cast<State*>(user);
    state->head_bytes += size * count;
    if (state->head_bytes > state->limit) {
      state->head_cut = true;
      return 0;  // curl keeps every header line for curl_easy_header(): bound them
    }
    return size * count;
  }
};

WebhookClient::WebhookClient() : state_(std::make_unique<State>()) {
  InitCurlOnce();
  state_->easy = curl_easy_init();
  state_->headers = curl_slist_append(nullptr, "Content-Type: application/json");
  // curl would send "Expect: 100-continue" for bodies over 1 MiB and wait up to a second for a
  // "100 Continue" most webhook receivers never send.
  state_->headers = curl_slist_append(state_->headers, "Expect:");
}

WebhookClient::~WebhookClient() {
  if (state_->easy != nullptr) curl_easy_cleanup(state_->easy);
  curl_slist_free_all(state_->headers);
}

PostResult WebhookClient::Post(const HttpUrl& url, std::string_view body,
                               const PostOptions& options) {
  PostResult result;
  State& state = *state_;
  CURL* easy = state.easy;
  if (easy == nullptr || state.headers == nullptr) {
    result.reason = "curl";
    result.error = "curl: cannot create a handle (out of memory)";
    return result;
  }
  // Back to curl's defaults: nothing of the previous downstream's options (credentials, CA)
  // carries over. Kept by curl across the reset: open connections, TLS sessions, DNS cache.
  curl_easy_reset(easy);
  state.error[0] = '\0';
  state.limit = options.max_answer_bytes;
  state.head_bytes = state.body_bytes = 0;
  state.head_cut = state.body_cut = false;
  // Transport and TLS as every client of ours sets them (common/curl_easy.h): no redirects (a
  // redirected POST is not a delivery), no proxy variables, peers verified.
  SetCurlTransport(easy, {options.timeout, options.ca_file, options.user_agent}, state.error);
  curl_easy_setopt(easy, CURLOPT_URL, url.redacted.c_str());
  curl_easy_setopt(easy, CURLOPT_MAXCONNECTS, kMaxCachedConnections);

  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());  // not copied: body outlives the call
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, state.headers);
  if (url.has_credentials) {
    curl_easy_setopt(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(easy, CURLOPT_USERNAME, url.user.c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD, url.password.c_str());
  }

  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &State::OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &State::OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &state);

  const CURLcode code = curl_easy_perform(easy);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &result.new_connections);
  result.answer_cut = state.head_cut || state.body_cut;
  // Once a status line arrived the downstream has answered: what happens to the rest of the
  // answer (cut at our bound, never finished) does not change its verdict.
  if (status >= 100 && status <= 999) {
    result.status = static_cast<int>(status);
    return result;
  }
  result.reason = CurlFailureReason(code);
  result.error = result.reason + ": ";
  if (state.head_cut) {
    result.error += "the answer's head is longer than " + std::to_string(state.limit) + " bytes";
  } else {
    result.error += state.error[0] != '\0' ? state.error : curl_easy_strerror(code);
  }
  if (result.reason == "tls" && url.https) {
    result.error += options.ca_file.empty() ? " (verified with the system's trust store)"
                                            : " (verified with " + options.ca_file + ")";
  }
  return result;
}

PostResult PostJson(const HttpUrl& url, std::string_view body, const PostOptions& options) {
  // Owned by the calling thread, so never shared: see WebhookClient.
  thread_local WebhookClient client;
  return client.Post(url, body, options);
}

}  // namespace rrca::enricher
