#include "prober/probe_http.h"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <cstring>

#include "common/curl_easy.h"

namespace rrca::prober {
namespace {

// One transfer: an easy handle, what its answer filled, and its bounds. Reused between calls
// (connections and TLS sessions survive curl_easy_reset).
struct Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  size_t max_body = 0;
  char error[CURL_ERROR_SIZE] = {};
  HttpAnswer answer;
  size_t head_bytes = 0;
  bool have_www_authenticate = false;
  const StopSignal* stop = nullptr;
  std::chrono::milliseconds stop_grace{0};
  std::chrono::steady_clock::time_point sent;

  explicit Transfer(size_t body_bound) : easy(curl_easy_init()), max_body(body_bound) {}
  ~Transfer() {
    curl_slist_free_all(headers);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  static size_t OnBody(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t bytes = size * count;
    if (t->answer.body.size() + bytes > t->max_body) {
      t->answer.cut = true;
      return 0;  // curl stops reading and closes the connection
    }
    t->answer.body.append(data, bytes);
    return bytes;
  }

  // Keeps Location and the first WWW-Authenticate; a new status line (after 100 Continue)
  // starts the head again.
  static size_t OnHeader(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t bytes = size * count;
    t->head_bytes += bytes;
    if (t->head_bytes > ProbeHttp::kMaxHeadBytes) {
      t->answer.cut = true;
      return 0;
    }
    std::string_view line(data, bytes);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.starts_with("HTTP/")) {
      t->answer.location.clear();
      t->answer.www_authenticate.clear();
      t->have_www_authenticate = false;
      return bytes;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return bytes;
    const std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    const auto is = [&](const char* wanted) {
      return name.size() == std::strlen(wanted) &&
             strncasecmp(name.data(), wanted, name.size()) == 0;
    };
    std::string* keep = nullptr;
    if (is("Location")) {
      keep = &t->answer.location;
    } else if (is("WWW-Authenticate") && !t->have_www_authenticate) {
      keep = &t->answer.www_authenticate;
      t->have_www_authenticate = true;
    }
    if (keep != nullptr) {
      if (value.size() > ProbeHttp::kMaxHeaderValue) {
        t->answer.cut = true;
        return 0;
      }
      keep->assign(value);
    }
    return bytes;
  }

  static int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(user);
    return t->stop != nullptr && t->stop->StoppedFor(t->stop_grace) ? 1 : 0;
  }

  // Back to curl's defaults (nothing of the previous call carries over), then this call's
  // options. False when the handle could not be created.
  bool Prepare(const HttpCall& call, const std::string& user_agent, const std::string& ca_file) {
    if (easy == nullptr) return false;
    curl_easy_reset(easy);
    curl_slist_free_all(headers);
    headers = nullptr;
    error[0] = '\0';
    answer = HttpAnswer();
    head_bytes = 0;
    have_www_authenticate = false;
    stop = call.stop;
    stop_grace = call.stop_grace;
    SetCurlTransport(easy, {call.timeout, ca_file, user_agent}, error);
    curl_easy_setopt(easy, CURLOPT_URL, call.url.c_str());
    for (const std::string& header : call.headers) {
      headers = curl_slist_append(headers, header.c_str());
    }
    // Every request has an empty body. A POST is sent as a custom method without a body, as
    // `curl -X POST` does: with CURLOPT_POSTFIELDS libcurl 7.88 signs (SigV4) a form
    // Content-Type even when that header is removed, and the store refuses the signature.
    if (call.method != "GET") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, call.method.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    if (call.use_credentials) {
      curl_easy_setopt(easy, CURLOPT_USERNAME, call.user.c_str());
      curl_easy_setopt(easy, CURLOPT_PASSWORD, call.password.c_str());
      if (call.aws_sigv4.empty()) {
        curl_easy_setopt(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      } else {
        curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, call.aws_sigv4.c_str());
      }
    }
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &Transfer::OnProgress);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, this);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, this);
    return true;
  }

  // The answer, once curl finished the transfer with `code`.
  HttpAnswer Finish(CURLcode code) {
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    HttpAnswer out = std::move(answer);
    answer = HttpAnswer();
    if (code == CURLE_OK && status >= 100 && status <= 999) {
      out.status = static_cast<int>(status);
      return out;
    }
    // A cut answer is no answer: what it held cannot be trusted.
    out.status = 0;
    out.reason = code == CURLE_ABORTED_BY_CALLBACK ? "stopped"
                 : out.cut                         ? "answer"
                                                   : CurlFailureReason(code);
    out.error = out.reason + ": " +
                (out.cut            ? std::string("the answer is longer than its bound")
                 : error[0] != '\0' ? std::string(error)
                                    : std::string(curl_easy_strerror(code)));
    return out;
  }
};

HttpAnswer NoHandle() {
  HttpAnswer answer;
  answer.reason = "curl";
  answer.error = "curl: cannot create a handle (out of memory)";
  return answer;
}

}  // namespace

struct ProbeHttp::State {
  std::string user_agent;
  std::string ca_file;
  size_t max_body = 0;
  Transfer single{0};
  std::vector<std::unique_ptr<Transfer>> pool;  // Repeat's transfers, at most kMaxInFlight
};

ProbeHttp::ProbeHttp(std::string user_agent, std::string ca_file, size_t max_body) {
  InitCurlOnce();
  state_ = std::make_unique<State>();
  state_->user_agent = std::move(user_agent);
  state_->ca_file = std::move(ca_file);
  state_->max_body = max_body;
  state_->single.max_body = max_body;
}

ProbeHttp::~ProbeHttp() = default;

void ApplyStopPolicy(OnStop on_stop, const StopSignal& stop, HttpCall* call) {
  call->stop = on_stop == OnStop::kIgnore ? nullptr : &stop;
  call->stop_grace =
      on_stop == OnStop::kFinish ? kStopGraceForCreate : std::chrono::milliseconds(0);
}

HttpAnswer ProbeHttp::Call(const HttpCall& call) {
  if (call.stop != nullptr && call.stop->stopped()) {
    HttpAnswer answer;
    answer.reason = "stopped";
    answer.error = "stopped";
    return answer;
  }
  Transfer& t = state_->single;
  if (!t.Prepare(call, state_->user_agent, state_->ca_file)) return NoHandle();
  return t.Finish(curl_easy_perform(t.easy));
}

std::vector<TimedAnswer> ProbeHttp::Repeat(const HttpCall& call, std::chrono::milliseconds interval,
                                           std::chrono::steady_clock::time_point origin,
                                           std::chrono::steady_clock::time_point deadline,
                                           const std::function<bool(const HttpAnswer&)>& decisive) {
  using Clock = std::chrono::steady_clock;
  std::vector<TimedAnswer> answers;
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) {
    answers.push_back({0, 0, NoHandle()});
    return answers;
  }
  const auto seconds = [&](Clock::time_point at) {
    return std::chrono::duration<double>(at - origin).count();
  };
  std::vector<Transfer*> running;
  Clock::time_point next_start = Clock::now();
  bool done = false;
  Clock::time_point grace;
  while (true) {
    const Clock::time_point now = Clock::now();
    const bool stopped = call.stop != nullptr && call.stop->stopped();
    if (!done && !stopped && now < deadline && now >= next_start && running.size() < kMaxInFlight) {
      Transfer* t = nullptr;
      for (auto& pooled : state_->pool) {
        if (std::find(running.begin(), running.end(), pooled.get()) == running.end()) {
          t = pooled.get();
          break;
        }
      }
      if (t == nullptr) {
        state_->pool.push_back(std::make_unique<Transfer>(state_->max_body));
        t = state_->pool.back().get();
      }
      HttpCall timed = call;
      timed.timeout =
          std::max(std::chrono::milliseconds(1),
                   std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
      if (!t->Prepare(timed, state_->user_agent, state_->ca_file) ||
          curl_multi_add_handle(multi, t->easy) != CURLM_OK) {
        answers.push_back({seconds(now), seconds(now), NoHandle()});
        done = true;
      } else {
        t->sent = now;
        running.push_back(t);
      }
      // A fixed grid of starts; after a pause (too many in flight) it starts again from now.
      next_start = std::max(next_start + interval, now);
    }
    int active = 0;
    curl_multi_perform(multi, &active);
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      const CURLcode code = message->data.result;
      curl_multi_remove_handle(multi, message->easy_handle);
      running.erase(std::find(running.begin(), running.end(), t));
      TimedAnswer timed{seconds(t->sent), seconds(Clock::now()), t->Finish(code)};
      if (decisive(timed.answer)) done = true;
      answers.push_back(std::move(timed));
    }
    if (running.empty() && (done || stopped || Clock::now() >= deadline)) break;
    // After the decisive answer, the requests still in flight (sent earlier, they may answer
    // earlier evidence) get a grace of one second; then they are dropped unanswered.
    if (done && grace == Clock::time_point()) grace = Clock::now() + std::chrono::seconds(1);
    if (done && Clock::now() >= grace) {
      for (Transfer* t : running) curl_multi_remove_handle(multi, t->easy);
      running.clear();
      break;
    }
    const auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(next_start - Clock::now());
    const int wait_ms = done || running.size() >= kMaxInFlight
                            ? 10
                            : static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 10));
    curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
  }
  curl_multi_cleanup(multi);
  std::sort(answers.begin(), answers.end(),
            [](const TimedAnswer& a, const TimedAnswer& b) { return a.sent < b.sent; });
  return answers;
}

}  // namespace rrca::prober
