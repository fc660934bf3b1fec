#include "exporter/enricher/enricher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <stdexcept>

#include "common/clock.h"
#include "common/time_util.h"
#include "exporter/enricher/enricher_payload.h"

namespace rrca::enricher {
namespace {

using SteadyClock = std::chrono::steady_clock;
// Alertmanager sends ~30 values per alert; this bounds a hostile body's tree to ~20 MiB.
constexpr size_t kMaxJsonValues = 250'000;

web::HttpResponse JsonAnswer(int status, const std::string& key, const std::string& message) {
  Json body = Json::object();
  body[key] = message;
  return {status, "application/json", DumpJson(body) + "\n"};
}

}  // namespace

Enricher::Enricher(EnricherConfig config, EnricherSources sources, prometheus::Registry& registry,
                   Options options)
    : config_(std::move(config)),
      sources_(std::move(sources)),
      options_(std::move(options)),
      queue_(config_.queue_size, config_.queue_max_bytes),
      metrics_(registry),
      history_(options_.now_ns ? options_.now_ns() : WallNowNs()),
      cache_(options_.dedupe, static_cast<int64_t>(config_.dedupe_window_seconds * 1e9),
             metrics_.cache) {
  if (!options_.now_ns) options_.now_ns = WallNowNs;
  for (const std::string& text : config_.downstream_urls) {
    StatusOr<HttpUrl> url = ParseHttpUrl(text);
    if (!url.ok()) {  // the config loader refuses these; never send to a half-parsed URL
      spdlog::error("enricher: downstream {} ignored: {}", text, url.status().message());
      continue;
    }
    Downstream downstream;
    downstream.url = std::move(url.value());
    downstream.counters = metrics_.AddDownstream(downstream.url.redacted);
    downstreams_.push_back(std::move(downstream));
  }
}

Enricher::~Enricher() { Stop(); }

void Enricher::Start() {
  if (worker_.joinable()) return;
  Snapshot();  // the baseline of every window that starts after now
  worker_ = std::thread([this] { Run(); });
}

void Enricher::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  queue_.Close();  // wakes the worker; later pushes fail (503)
  if (worker_.joinable()) worker_.join();
}

bool Enricher::Stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void Enricher::PublishQueueGauges() {
  std::lock_guard lock(gauge_mutex_);
  metrics_.queue_length.Set(static_cast<double>(queue_.size()));
  metrics_.queue_bytes.Set(static_cast<double>(queue_.bytes()));
}

void Enricher::Finished(size_t notifications) {
  {
    std::lock_guard lock(mutex_);
    pending_ -= notifications;
  }
  idle_.notify_all();
}

web::HttpResponse Enricher::Handle(const web::HttpRequest& request) {
  if (request.method != "POST") {
    return JsonAnswer(405, "error", "POST an Alertmanager webhook payload here");
  }
  // A full queue answers before the body is parsed: the parse of a hostile 8 MB body costs tens
  // of MB and milliseconds, for a 503 all the same (checked again below, before the push).
  if (!queue_.HasRoom(request.body.size())) {
    metrics_.dropped.Increment();
    return JsonAnswer(503, "error", "the enricher's queue is full");
  }
  JsonLimits limits;
  limits.max_bytes = web::HttpServer::kMaxBodyBytes;
  limits.max_values = kMaxJsonValues;
  StatusOr<Json> payload = ParseJson(request.body, limits);
  std::string problem = payload.ok() ? CheckPayload(payload.value()) : payload.status().message();
  if (!problem.empty()) {
    metrics_.rejected.Increment();
    // Logged at most once a minute: the counter has the rest, a hostile client no log flood.
    const int64_t now = WallNowNs();
    int64_t last = last_reject_log_ns_.load();
    if (now - last >= 60'000'000'000LL && last_reject_log_ns_.compare_exchange_strong(last, now)) {
      spdlog::warn("enricher: {} sent a bad payload: {}", request.remote_address, problem);
    }
    // A body over a bound (values, depth) is too large for us, not malformed: 413, as for bytes.
    const bool too_large =
        !payload.ok() && payload.status().code() == StatusCode::kResourceExhausted;
    return JsonAnswer(too_large ? 413 : 400, "error",
                      "not an Alertmanager webhook payload: " + problem);
  }
  payload = Json();  // only the body waits: the worker parses it again
  {
    std::lock_guard lock(mutex_);
    ++pending_;  // before the push: WaitIdle never sees the queue empty with this one unsent
  }
  const size_t bytes = request.body.size();
  if (!queue_.TryPush(Notification{request.body, SteadyClock::now()}, bytes)) {
    Finished(1);
    metrics_.dropped.Increment();
    return JsonAnswer(503, "error", "the enricher's queue is full");
  }
  PublishQueueGauges();
  metrics_.received.Increment();
  return JsonAnswer(202, "status", "accepted");
}

void Enricher::Snapshot() {
  if (!sources_.collect) return;
  const int64_t now = options_.now_ns();
  history_.Add(SampleOf(now, sources_.collect()));
}

bool Enricher::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return pending_ == 0; });
}

void Enricher::Run() {
  auto next_snapshot = SteadyClock::now() + options_.snapshot_interval;
  while (true) {
    // Wakes for a notification, the next snapshot, or Stop (which closes the queue).
    std::optional<Notification> notification = queue_.Pop(next_snapshot - SteadyClock::now());
    if (Stopping()) {
      size_t left = notification.has_value() ? 1 : 0;
      while (queue_.Pop(std::chrono::milliseconds(0)).has_value()) ++left;
      if (left > 0) {
        spdlog::warn("enricher: stopping with {} notifications not forwarded", left);
        metrics_.dropped.Increment(static_cast<double>(left));
        Finished(left);
      }
      PublishQueueGauges();
      return;
    }
    if (SteadyClock::now() >= next_snapshot) {
      Snapshot();
      next_snapshot = SteadyClock::now() + options_.snapshot_interval;
    }
    if (!notification.has_value()) continue;
    PublishQueueGauges();
    Deliver(*notification);
    Finished(1);
  }
}

Enricher::Outcome Enricher::Process(const Json& payload, const std::string& original_body) {
  Outcome outcome;
  try {
    const int64_t now = options_.now_ns();
    Json out = payload;
    const std::string group_key = JsonString(payload, "groupKey");
    if (!group_key.empty()) cache_.Open(group_key, now);
    EnrichmentBuilder builder(config_, sources_, history_, now);
    Json details = Json::array();
    size_t enriched = 0, cached = 0, skipped = 0;
    for (Json& alert : out["alerts"]) {  // CheckPayload made it an array of objects
      const Json* labels = JsonFind(alert, "labels");
      const std::string cause = labels != nullptr ? JsonString(*labels, "cause") : "";
      if (cause == "exporter") {
        ++skipped;  // registry-rca's own health: nothing of the registry's to add
        continue;
      }
      if (enriched + cached >= options_.max_alerts_enriched) {
        ++skipped;
        metrics_.not_enriched[metrics::EnricherMetrics::kAlertsPerNotification]->Increment();
        continue;
      }
      const Json* given = JsonFind(alert, "annotations");
      if (given != nullptr && JsonObject(*given).size() > options_.max_annotations_per_alert) {
        ++skipped;
        metrics_.not_enriched[metrics::EnricherMetrics::kAnnotationsPerAlert]->Increment();
        continue;
      }
      const std::string fingerprint = FingerprintOf(alert);
      AlertEnrichment enrichment;
      const AlertEnrichment* hit =
          group_key.empty() ? nullptr : cache_.Find(group_key, fingerprint);
      if (hit != nullptr) {
        enrichment = *hit;
        enrichment.detail["cached"] = Json(true);
        ++cached;
      } else {
        StatusOr<AlertEnrichment> built = builder.Build(alert);
        if (!built.ok()) throw std::runtime_error(built.status().message());
        enrichment = std::move(built.value());
        enrichment.detail["cached"] = Json(false);
        if (!group_key.empty()) cache_.Put(group_key, fingerprint, enrichment);
        ++enriched;
      }
      Json* annotations = JsonFind(alert, "annotations");
      if (annotations == nullptr || !annotations->is_object()) {
        annotations = &(alert["annotations"] = Json::object());
      }
      for (const auto& [key, value] : enrichment.annotations) {
        (*annotations)[key] = Json(value);
      }
      details.push_back(std::move(enrichment.detail));
    }
    UpdateCommonAnnotations(&out);
    Json summary = Json::object();
    summary["source"] = Json("registry-rca");
    summary["version"] = Json(RRCA_VERSION);
    summary["generated_at"] = Json(FormatRfc3339Nanos(now));
    summary["deduplicated"] = Json(cached > 0);
    summary["alerts_enriched"] = Json(static_cast<long long>(enriched));
    summary["alerts_cached"] = Json(static_cast<long long>(cached));
    summary["alerts_skipped"] = Json(static_cast<long long>(skipped));
    summary["alerts"] = std::move(details);
    out["enrichment"] = std::move(summary);
    outcome.body = DumpJson(out);
    outcome.enriched = true;
    outcome.deduplicated = cached > 0;
  } catch (const std::exception& e) {
    outcome = Outcome{original_body, false, false, e.what()};
  }
  return outcome;
}

void Enricher::Deliver(const Notification& notification) {
  JsonLimits limits;
  limits.max_bytes = web::HttpServer::kMaxBodyBytes;
  limits.max_values = kMaxJsonValues;
  StatusOr<Json> payload = ParseJson(notification.body, limits);  // Handle checked it
  const Outcome outcome = payload.ok() ? Process(payload.value(), notification.body)
                                       : Outcome{notification.body, false, false, "unparsable"};
  if (outcome.enriched) {
    metrics_.enriched.Increment();
    if (outcome.deduplicated) metrics_.deduplicated.Increment();
  } else {
    metrics_.failures.Increment();
    spdlog::warn("enricher: enrichment failed, forwarding the original: {}", outcome.error);
  }
  for (Downstream& downstream : downstreams_) Forward(downstream, outcome.body);
  metrics_.delivery_seconds.Observe(
      std::chrono::duration<double>(SteadyClock::now() - notification.received).count());
}

bool Enricher::Forward(Downstream& downstream, const std::string& body) {
  PostOptions post;
  post.timeout = std::chrono::milliseconds(static_cast<int64_t>(config_.timeout_seconds * 1000));
  post.user_agent = "registry-rca/" RRCA_VERSION;
  post.ca_file = config_.ca_file;
  auto backoff = options_.first_backoff;
  for (int attempt = 0;; ++attempt) {
    const PostResult result = PostJson(downstream.url, body, post);
    if (result.ok()) {
      downstream.counters.delivered->Increment();
      return true;
    }
    const std::string why =
        result.status != 0 ? "HTTP " + std::to_string(result.status) : result.error;
    if (!result.retryable() || attempt >= config_.retries) {
      spdlog::warn("enricher: {} did not take the notification ({}), giving up after {} attempts",
                   downstream.url.redacted, why, attempt + 1);
      downstream.counters.failed->Increment();
      return false;
    }
    spdlog::debug("enricher: {}: {}, retrying in {} ms", downstream.url.redacted, why,
                  backoff.count());
    downstream.counters.retries->Increment();
    if (!SleepUnlessStopped(backoff)) {
      downstream.counters.failed->Increment();
      return false;
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

bool Enricher::SleepUnlessStopped(std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, duration, [this] { return stopping_; });
}

}  // namespace rrca::enricher
