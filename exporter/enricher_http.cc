#include "exporter/enricher_http.h"

#include <curl/curl.h>

#include <mutex>

namespace rrca::exporter {
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

// curl_global_init once per process, before the first easy handle. libcurl 7.84+ built
// "threadsafe" (Debian 12's is) makes this safe from any thread; never cleaned up, because
// worker threads may still hold handles while the process exits.
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Which step failed, in one word, from curl's result code.
const char* ReasonOf(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return "resolve";
    case CURLE_COULDNT_CONNECT:
      return "connect";
    case CURLE_OPERATION_TIMEDOUT:
      return "timeout";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
      return "tls";
    case CURLE_SEND_ERROR:
      return "send";
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_PARTIAL_FILE:
    case CURLE_WRITE_ERROR:  // our own bound on the answer's head
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return "answer";
    default:
      return "curl";
  }
}

}  // namespace

StatusOr<HttpUrl> ParseHttpUrl(std::string_view text) {
  CurlUrl url(curl_url());
  if (!url) return Status::Error("out of memory parsing the URL");
  // No CURLU_DEFAULT_SCHEME: a URL without its scheme is refused rather than guessed.
  const CURLUcode rc = curl_url_set(url.get(), CURLUPART_URL, std::string(text).c_str(), 0);
  if (rc != CURLUE_OK) return Status::Error(std::string("invalid URL: ") + curl_url_strerror(rc));
  HttpUrl out;
  std::string scheme;
  GetPart(url.get(), CURLUPART_SCHEME, 0, &scheme);
  if (scheme != "http" && scheme != "https") {
    return Status::Error("must start with http:// or https://");
  }
  out.https = scheme == "https";
  std::string port, fragment;
  bool has_fragment = false;
  GetPart(url.get(), CURLUPART_PORT, 0, &port);
  if (port == "0") return Status::Error("invalid port 0");
  GetPart(url.get(), CURLUPART_FRAGMENT, 0, &fragment, &has_fragment);
  if (has_fragment) return Status::Error("a webhook URL has no #fragment");
  // User info: percent-decoded by curl (CURLU_URLDECODE refuses what decodes to control
  // characters). Handed to curl apart from the URL, so neither logs nor labels ever see it.
  bool has_user = false, has_password = false;
  if (GetPart(url.get(), CURLUPART_USER, CURLU_URLDECODE, &out.user, &has_user) ==
          CURLUE_URLDECODE ||
      GetPart(url.get(), CURLUPART_PASSWORD, CURLU_URLDECODE, &out.password, &has_password) ==
          CURLUE_URLDECODE) {
    return Status::Error("the user info does not percent-decode to printable text");
  }
  out.has_credentials = has_user || has_password;
  curl_url_set(url.get(), CURLUPART_USER, nullptr, 0);
  curl_url_set(url.get(), CURLUPART_PASSWORD, nullptr, 0);
  curl_url_set(url.get(), CURLUPART_OPTIONS, nullptr, 0);
  // CURLU_NO_DEFAULT_PORT: "http://h:80/x" and "http://h/x" are one downstream label.
  if (GetPart(url.get(), CURLUPART_URL, CURLU_NO_DEFAULT_PORT, &out.redacted) != CURLUE_OK) {
    return Status::Error("the URL cannot be put back together without its user info");
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
  const long timeout_ms = static_cast<long>(options.timeout.count());

  curl_easy_setopt(easy, CURLOPT_URL, url.redacted.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);  // a redirected POST is not a delivery
  // Only the deadline interrupts a transfer, never a signal: curl's threaded resolver keeps
  // name resolution inside the timeout without SIGALRM, which would be unsafe in a worker.
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_MAXCONNECTS, kMaxCachedConnections);
  // http_proxy and friends in the environment are ignored, as by the plain client before and
  // by Prometheus' own HTTP clients unless configured.
  curl_easy_setopt(easy, CURLOPT_PROXY, "");
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, state.error);

  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());  // not copied: body outlives the call
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, state.headers);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, options.user_agent.c_str());
  if (url.has_credentials) {
    curl_easy_setopt(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(easy, CURLOPT_USERNAME, url.user.c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD, url.password.c_str());
  }

  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(easy, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!options.ca_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
    // Debian's libcurl also trusts /etc/ssl/certs by default: the given bundle *replaces* it.
    curl_easy_setopt(easy, CURLOPT_CAPATH, static_cast<char*>(nullptr));
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
  result.reason = ReasonOf(code);
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

}  // namespace rrca::exporter
