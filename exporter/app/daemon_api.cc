#include "exporter/app/daemon_api.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/json.h"
#include "exporter/metrics/upload_metrics.h"
#include "exporter/pipeline/correlator.h"
#include "exporter/ui/ui_cause.h"
#include "exporter/ui/ui_overview.h"
#include "exporter/ui/ui_page.h"
#include "exporter/ui/ui_search.h"
#include "exporter/ui/ui_timeline.h"
#include "exporter/web/web_auth.h"

namespace rrca::app {
namespace {

// Entries per POST /api/v1/ingest/minio-audit (MinIO sends one, or its batch_size): bounds how
// long one request holds the processing lock.
constexpr size_t kMaxIngestEntries = 10'000;

// An API answer: the edge where a JSON value becomes text (DumpJson never throws, and replaces
// invalid UTF-8 that log lines can bring).
web::HttpResponse JsonResponse(int status, const Json& value) {
  return web::HttpResponse{status, "application/json", DumpJson(value) + "\n"};
}

Json ApiError(std::string_view message) {
  Json error = Json::object();
  error["error"] = message;
  return error;
}

// A cause the API and its page answer 200 for: in the catalogue, or seen in the window.
bool IsKnownCause(const Json& cause) {
  const Json* known = JsonFind(cause, "known");
  const Json* count = JsonFind(cause, "count");
  return (known != nullptr && JsonAsBool(*known)) ||
         (count != nullptr && JsonAsNumber(*count) != 0);
}

}  // namespace

DaemonApi::DaemonApi(DaemonState* state, web::HttpServer* http, enricher::Enricher* enricher,
                     std::function<std::string()> reload)
    : state_(state), http_(http), enricher_(enricher), reload_(std::move(reload)) {}

void DaemonApi::Route(const std::string& telemetry_path) {
  http_->Route(
      telemetry_path, [this](const web::HttpRequest&) { return Scrape(); },
      web::HttpServer::RouteKind::kScrape);
  if (enricher_ != nullptr) {
    http_->Route(
        "/api/v1/alerts",
        [this](const web::HttpRequest& request) { return enricher_->Handle(request); },
        web::HttpServer::RouteKind::kStateChanging);
  }
  http_->Route("/-/healthy", [](const web::HttpRequest&) {
    return web::HttpResponse{200, "text/plain; charset=utf-8", "Healthy\n"};
  });
  // Like SIGHUP: a broken configuration is rejected, the old one keeps running. The errors
  // name files and paths: they go to the log, not to whoever asked.
  http_->Route(
      "/-/reload",
      [this](const web::HttpRequest& request) {
        if (request.method != "POST") {
          return web::HttpResponse{405, "text/plain; charset=utf-8", "POST only\n"};
        }
        return reload_().empty()
                   ? web::HttpResponse{200, "text/plain; charset=utf-8", "reloaded\n"}
                   : web::HttpResponse{400, "text/plain; charset=utf-8",
                                       "reload failed; the running configuration is kept (see the "
                                       "log)\n"};
      },
      web::HttpServer::RouteKind::kStateChanging, /*max_body_bytes=*/1024);
  http_->Route("/-/ready", [this](const web::HttpRequest&) {
    return state_->ready ? web::HttpResponse{200, "text/plain; charset=utf-8", "Ready\n"}
                         : web::HttpResponse{503, "text/plain; charset=utf-8", "Not ready\n"};
  });
  http_->Route("/api/v1/uploads/", [this](const web::HttpRequest& request) {
    const std::string uuid = request.path.substr(std::string("/api/v1/uploads/").size());
    std::optional<Json> explain;
    {
      std::lock_guard lock(state_->mutex);
      explain = state_->ExplainLocked(uuid);
    }
    if (!explain.has_value()) return JsonResponse(404, ApiError("unknown upload"));
    return JsonResponse(200, *explain);
  });
  // The web UI's pages render the JSON the APIs above return (one source of truth).
  http_->Route("/ui/app.css",
               [](const web::HttpRequest& request) { return ui::StyleSheet(request); });
  http_->Route("/ui/uploads/", [this](const web::HttpRequest& request) {
    return UploadPage(request.path.substr(std::string("/ui/uploads/").size()));
  });
  http_->Route("/api/v1/latency",
               [this](const web::HttpRequest&) { return JsonResponse(200, Latency()); });
  http_->Route("/ui/causes/", [this](const web::HttpRequest& request) {
    return CausePage(request.path.substr(std::string("/ui/causes/").size()), request.query);
  });
  http_->Route("/api/v1/causes/", [this](const web::HttpRequest& request) {
    std::string window = ui::QueryParameter(request.query, "since");
    if (window.empty()) window = "10m";
    int64_t since_ns = 0;
    if (!pipeline::RecentErrors::ParseSince(window, &since_ns)) {
      return JsonResponse(400, ApiError("since must be a duration such as 10m"));
    }
    const std::string cause = request.path.substr(std::string("/api/v1/causes/").size());
    Json answer;
    {
      std::lock_guard lock(state_->mutex);
      answer = state_->recent_errors.Cause(cause, since_ns, state_->pipeline.rules());
    }
    return JsonResponse(IsKnownCause(answer) ? 200 : 404, answer);
  });
  http_->Route("/ui/search", [this](const web::HttpRequest& request) {
    return Search(ui::QueryParameter(request.query, "q"));
  });
  http_->Route("/api/v1/causes", [this](const web::HttpRequest& request) {
    int64_t since_ns = 600'000'000'000;
    // The `since` parameter only: "xsince=" or a value in another parameter is not it.
    size_t at = std::string::npos;
    for (size_t start = 0; start <= request.query.size();) {
      const size_t end = std::min(request.query.find('&', start), request.query.size());
      if (std::string_view(request.query).substr(start, end - start).starts_with("since=")) {
        at = start;
      }
      start = end + 1;
    }
    if (at != std::string::npos) {
      const std::string value = request.query.substr(at + 6, request.query.find('&', at) - at - 6);
      if (!pipeline::RecentErrors::ParseSince(value, &since_ns)) {
        return JsonResponse(400, ApiError("since must be a duration such as 10m"));
      }
    }
    Json answer;
    {
      std::lock_guard lock(state_->mutex);
      answer = state_->recent_errors.Causes(since_ns);
    }
    return JsonResponse(200, answer);
  });
  // MinIO has no audit log file: its audit webhook target posts entries here (JSON objects,
  // one per line or one per request), read like a store log line.
  http_->Route(
      "/api/v1/ingest/minio-audit",
      [this](const web::HttpRequest& request) { return IngestMinioAudit(request); },
      web::HttpServer::RouteKind::kStateChanging);
  http_->Route("/", [this, telemetry_path](const web::HttpRequest& request) {
    return Overview(ui::QueryParameter(request.query, "since"), telemetry_path);
  });
}

// The metrics and the positions saved for them describe the same lines: both are taken with
// the processing lock held, so a crash after this scrape re-reads exactly what it did not see.
// Under the lock only copies are made (the small registry's Collect, the store's flat value
// arrays); the text is rendered after it is released.
web::HttpResponse DaemonApi::Scrape() {
  metrics::Metrics::Snapshot metrics;
  tailers::PositionsFile::Snapshot snapshot;
  state_->scrapes_waiting.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(state_->mutex);
    state_->scrapes_waiting.fetch_sub(1, std::memory_order_relaxed);
    MirrorHttpTotals();
    state_->metrics.TakeSnapshot(&metrics);
    snapshot = state_->positions.TakeSnapshot();
    // Encoded under the lock: what waits is read in place, not copied (see Waiting).
    snapshot.pipeline_state = EncodeCarryOver(state_->TakeCarryOver());
  }
  // Render first, so that once the positions are on disk only sending the body remains:
  // the window in which a crash loses lines Prometheus did not get is as small as it can be.
  std::string body = metrics::Metrics::Render(metrics);
  if (Status saved = state_->positions.Save(snapshot); !saved.ok()) {
    spdlog::warn("saving positions: {}", saved.message());
  }
  // The copy and the text of what waits can be tens of MB with a full joiner; glibc keeps
  // freed memory in each worker thread's arena, so without this every worker held a copy.
  if (snapshot.pipeline_state.size() > (1u << 20)) {
    snapshot = {};
    malloc_trim(0);
  }
  return {200, "text/plain; version=0.0.4; charset=utf-8", std::move(body)};
}

// Under state_->mutex (state_->metrics is the processing thread's otherwise).
void DaemonApi::MirrorHttpTotals() {
  const web::FrontCounters* front = http_->front_counters();
  if (front == nullptr) return;
  metrics::Metrics::HttpTotals totals;
  totals.accepted = front->accepted.load();
  totals.refused = front->refused_over_limit.load();
  totals.evicted = front->evicted.load();
  totals.handshake_failed = front->handshake_failures.load();
  totals.bad_request = front->bad_requests.load();
  totals.head_timeout = front->head_timeouts.load();
  totals.body_timeout = front->body_timeouts.load();
  totals.over_budget = front->over_budget.load();
  totals.busy = front->busy.load();
  const std::shared_ptr<const web::BasicAuth> auth = http_->auth();
  totals.auth_busy = auth != nullptr ? auth->bcrypt_busy() : 0;
  state_->metrics.SetHttpTotals(totals);
}

web::HttpResponse DaemonApi::UploadPage(const std::string& uuid) {
  std::optional<Json> explain;
  {
    std::lock_guard lock(state_->mutex);
    explain = state_->ExplainLocked(uuid);
  }
  if (!explain.has_value()) {
    return ui::PageResponse(404, ui::Page("Unknown upload", ui::UnknownUploadBody(uuid)));
  }
  return ui::PageResponse(200, ui::Page("Upload " + uuid, ui::UploadTimelineBody(*explain)));
}

// The upload histograms since start (the small prometheus-cpp registry, not the
// per-repository series).
Json DaemonApi::Latency() {
  std::vector<prometheus::MetricFamily> families;
  {
    std::lock_guard lock(state_->mutex);
    families = state_->registry->Collect();
  }
  return enricher::LatencySummary(state_->started_ns, families);
}

// A cause's page: the cause API's answer for the window, drawn.
web::HttpResponse DaemonApi::CausePage(const std::string& cause, const std::string& query) {
  std::string window = ui::QueryParameter(query, "since");
  if (window.empty()) window = "1h";
  int64_t since_ns = 0;
  if (!pipeline::RecentErrors::ParseSince(window, &since_ns)) {
    return ui::PageResponse(400, ui::Page("Cause",
                                          "<h1>Bad window</h1><p>since must be a duration such as "
                                          "1h.</p>"));
  }
  Json answer;
  {
    std::lock_guard lock(state_->mutex);
    answer = state_->recent_errors.Cause(cause, since_ns, state_->pipeline.rules());
  }
  if (!IsKnownCause(answer)) {
    return ui::PageResponse(
        404, ui::Page("Unknown cause", "<h1>Unknown cause</h1><p id=\"not-found\">No cause <code>" +
                                           ui::HtmlEscape(cause) +
                                           "</code> is in the catalogue or the recent errors."
                                           " <a href=\"/\">All causes</a>.</p>"));
  }
  return ui::PageResponse(200, ui::Page(cause, ui::CauseBody(answer, window)));
}

// The overview: the causes API's answer for the window, drawn.
web::HttpResponse DaemonApi::Overview(std::string window, const std::string& telemetry_path) {
  if (window.empty()) window = "1h";
  int64_t since_ns = 0;
  if (!pipeline::RecentErrors::ParseSince(window, &since_ns)) {
    return ui::PageResponse(400, ui::Page("Overview",
                                          "<h1>Bad window</h1><p>since must be a duration such as "
                                          "<a href=\"/?since=1h\">1h</a>.</p>"));
  }
  Json causes;
  {
    std::lock_guard lock(state_->mutex);
    causes = state_->recent_errors.Causes(since_ns);
  }
  const Json latency = Latency();
  return ui::PageResponse(
      200, ui::Page("Overview", ui::OverviewBody(causes, latency, window, telemetry_path,
                                                 state_->config.grafana_url)));
}

// An upload UUID leads to its timeline (a redirect, so the address can be shared); anything
// else is looked up in the recent errors.
web::HttpResponse DaemonApi::Search(std::string query) {
  query.erase(0, query.find_first_not_of(" \t"));
  query.erase(query.find_last_not_of(" \t") + 1);
  const bool uuid_like = !query.empty() && query.size() <= 64 &&
                         query.find_first_not_of("0123456789abcdefABCDEF-") == std::string::npos;
  bool known = false;
  if (uuid_like) {
    std::lock_guard lock(state_->mutex);
    known = state_->pipeline.correlator().Explain(query).has_value();
  }
  if (known) {
    web::HttpResponse response = ui::PageResponse(302, "");
    response.headers += "Location: /ui/uploads/" + query + "\r\n";
    return response;
  }
  // Else the recent errors by request id, upload or repository (a query longer than any of
  // those is not looked up).
  Json found;
  {
    std::lock_guard lock(state_->mutex);
    found = state_->recent_errors.Search(query.size() <= 512 ? query : std::string());
  }
  const bool any = !JsonArray(JsonFind(found, "matches")).empty();
  return ui::PageResponse(any ? 200 : 404, ui::Page("Search", ui::SearchBody(found)));
}

web::HttpResponse DaemonApi::IngestMinioAudit(const web::HttpRequest& request) {
  if (request.method != "POST") {
    return web::HttpResponse{405, "text/plain; charset=utf-8", "POST only\n"};
  }
  const std::string_view text = request.body;
  const size_t entries = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) +
                         (text.empty() || text.back() == '\n' ? 0 : 1);
  std::unique_lock lock(state_->mutex);
  if (entries > kMaxIngestEntries) {
    state_->metrics.CountIngestRejected();
    return web::HttpResponse{
        413, "text/plain; charset=utf-8",
        "at most " + std::to_string(kMaxIngestEntries) + " entries per request\n"};
  }
  if (!state_->minio_stream.has_value()) {
    state_->minio_stream = state_->pipeline.OpenStream("minio-audit", tailers::EnvelopeHint::kNone,
                                                       pipeline::Pipeline::StreamKind::kS3);
  }
  std::string_view body = request.body;
  size_t since_unlock = 0;
  while (!body.empty()) {
    const size_t newline = body.find('\n');
    const std::string_view line = body.substr(0, newline);
    if (!line.empty()) state_->pipeline.OnLine(*state_->minio_stream, line);
    if (newline == std::string_view::npos) break;
    body.remove_prefix(newline + 1);
    // A post of 10,000 entries must not hold a scrape for its whole length: let waiting
    // scrapes in between (each line stands alone, so order within the post is all that counts).
    if (++since_unlock >= 256 && state_->scrapes_waiting.load(std::memory_order_relaxed) > 0) {
      lock.unlock();
      state_->LetScrapesIn();
      lock.lock();
      since_unlock = 0;
    }
  }
  return web::HttpResponse{200, "text/plain; charset=utf-8", ""};
}

}  // namespace rrca::app
