#include "exporter/app/daemon.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "exporter/pipeline/carry_over.h"
#include "exporter/app/config.h"
#include "exporter/pipeline/correlator.h"
#include "exporter/enricher/enricher.h"
#include "exporter/enricher/enricher_history.h"
#include "exporter/pipeline/hop_joiner_explain.h"
#include "exporter/web/http_server.h"
#include "common/json_value.h"
#include "exporter/pipeline/pipeline.h"
#include "exporter/metrics/probe_metrics.h"
#include "exporter/pipeline/recent_errors.h"
#include "exporter/app/rules_loader.h"
#include "exporter/ui/ui_cause.h"
#include "exporter/ui/ui_overview.h"
#include "exporter/ui/ui_page.h"
#include "exporter/ui/ui_search.h"
#include "exporter/ui/ui_timeline.h"
#include "exporter/metrics/upload_metrics.h"
#include "exporter/web/web_auth.h"
#include "exporter/web/web_config.h"
#include "prober/runner.h"
#include "common/bounded_queue.h"
#include "tailers/follow/positions_file.h"
#include "tailers/follow/source_watcher.h"

namespace rrca::exporter {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kQueueChunks = 64;  // x up to 8 MiB per chunk: the bound on buffered input
// Entries per POST /api/v1/ingest/minio-audit (MinIO sends one, or its batch_size): bounds how
// long one request holds the processing lock.
constexpr size_t kMaxIngestEntries = 10'000;

int64_t WallNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int CurrentYear() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  return utc.tm_year + 1900;
}

// The daemon's moving parts and the one lock that makes a scrape consistent with the saved
// positions: the processing thread holds `mutex` while it counts a chunk, and the scrape takes
// it to collect the metrics and the positions snapshot together.
class Daemon {
 public:
  Daemon(Config config, std::shared_ptr<const rules::RuleSet> rules)
      : config_(std::move(config)),
        registry_(std::make_shared<prometheus::Registry>()),
        metrics_(registry_),
        pipeline_(PipelineOptionsFrom(config_, CurrentYear()), std::move(rules), &metrics_),
        positions_(config_.positions_file),
        queue_(kQueueChunks) {
    pipeline_.AddObserver(&recent_errors_);
    pipeline_.SetProbeRepositories(ProbeRepositories(config_.probes));
    if (config_.enricher.enabled) {
      enricher_ = std::make_unique<Enricher>(config_.enricher, EnricherSourcesFor(), *registry_);
    }
    metrics_.SetConfigReload(true, static_cast<double>(WallNanos()) / 1e9);
  }

  int Run(const std::string& listen_address, const std::string& telemetry_path,
          const WebConfig& web_config, const std::string& web_config_file) {
    web_config_file_ = web_config_file;
    if (Status web = http_.SetWebConfig(web_config); !web.ok()) {
      spdlog::error("invalid web configuration:\n{}", web.message());
      return 2;
    }
    metrics_.SetTlsCertificateExpiry(http_.tls_certificate_expiry());
    if (Status loaded = positions_.Load(); !loaded.ok()) {
      spdlog::warn("positions file ignored: {}", loaded.message());
    }
    RestoreCarriedState();
    StartWatchers();
    std::thread processor([this] { ProcessLoop(); });
    if (enricher_ != nullptr) enricher_->Start();
    RouteHttp(telemetry_path);
    if (Status started = http_.Start(listen_address); !started.ok()) {
      spdlog::error("{}", started.message());
      Shutdown(processor);
      return 1;
    }
    ready_ = true;
    {
      std::lock_guard reload_lock(reload_mutex_);  // a POST /-/reload may already come
      probes_ = config_.probes;
      StartProber();
    }
    spdlog::info("registry-rca listening on port {} ({}, {} sources)", http_.port(),
                 http_.tls() ? "TLS" : "plaintext", config_.sources.size());
    WaitForSignals();
    Shutdown(processor);
    return 0;
  }

 private:
  std::vector<std::string> SourceNames() const {
    std::vector<std::string> names;
    for (const SourceConfig& source : config_.sources) names.push_back(source.name);
    return names;
  }

  // Before the watchers start: what the last scrape's process had read but not counted.
  void RestoreCarriedState() {
    const std::string text = positions_.loaded_pipeline_state();
    if (text.empty()) return;
    std::lock_guard lock(mutex_);
    auto carried = RestoreCarryOver(text, &pipeline_, SourceNames());
    if (!carried.ok()) {
      spdlog::warn("positions file: {}; responses waiting at the last scrape are not counted",
                   carried.status().message());
      return;
    }
    for (CarriedHeld& held : carried.value()) {
      pipeline_.RestoreHeld(StreamFor(held.source_index, held.file), std::move(held.held));
    }
    spdlog::info("carried over from the last scrape: {} requests and {} access lines waiting",
                 pipeline_.pending_requests(), pipeline_.pending_access_lines());
  }

  Pipeline::StreamId StreamFor(size_t source_index, tailers::FileKey file) {
    const auto key = std::make_pair(source_index, file);
    auto stream = streams_.find(key);
    if (stream == streams_.end()) {
      const SourceConfig& source = config_.sources[source_index];
      const Pipeline::StreamKind kind = Pipeline::StreamKindOf(source.type);
      stream =
          streams_.emplace(key, pipeline_.OpenStream(source.name, source.envelope, kind)).first;
    }
    return stream->second;
  }

  // With the processing lock held: copies only.
  exporter::CarryOver TakeCarryOver() const {
    std::vector<OpenFileStream> open;
    for (const auto& [key, stream] : streams_) open.push_back({key.first, key.second, stream});
    return exporter::TakeCarryOver(pipeline_, open, SourceNames());
  }

  void StartWatchers() {
    tailers::WatcherOptions options;
    options.poll_interval =
        std::chrono::milliseconds(static_cast<int64_t>(config_.poll_interval_seconds * 1000));
    options.start_at = config_.start_at_end ? tailers::StartAt::kEnd : tailers::StartAt::kBeginning;
    options.follower.max_line_bytes = config_.max_line_bytes;
    for (size_t i = 0; i < config_.sources.size(); ++i) {
      const SourceConfig& source = config_.sources[i];
      tailers::SourceConfig watched{source.name, source.paths};
      watchers_.push_back(
          std::make_unique<tailers::SourceWatcher>(i, watched, options, &queue_, &positions_));
      watchers_.back()->Start();
    }
  }

  void ProcessLoop() {
    while (true) {
      std::optional<tailers::Chunk> chunk = queue_.Pop(std::chrono::milliseconds(200));
      LetScrapesIn();
      std::lock_guard lock(mutex_);
      if (chunk.has_value()) {
        ProcessChunk(*chunk);
      } else if (queue_closed_) {
        break;
      }
      pipeline_.Tick(WallNanos());
      PublishSourceStats();
    }
  }

  // std::mutex is not fair: while ingesting, this loop re-takes the lock as soon as it lets it
  // go, and a woken scrape lost that race chunk after chunk (tens of ms at full speed on two
  // busy cores). A waiting scrape goes first; it holds the lock for well under a millisecond.
  // At most 5 ms of yielding per chunk, so that a flood of scrapes cannot stop the reading.
  void LetScrapesIn() {
    for (int i = 0; i < 100 && scrapes_waiting_.load(std::memory_order_relaxed) > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  // The tailers count in atomics on their own threads; these mirror them as metrics.
  void PublishSourceStats() {
    if (source_metrics_.empty()) {
      auto& bytes = prometheus::BuildCounter()
                        .Name("registry_rca_bytes_read_total")
                        .Help("Bytes read from the source's files.")
                        .Register(*registry_);
      auto& rotations = prometheus::BuildCounter()
                            .Name("registry_rca_rotations_total")
                            .Help(
                                "File transitions seen, by kind (rename, truncate, delete, "
                                "replace, permission_denied).")
                            .Register(*registry_);
      auto& open = prometheus::BuildGauge()
                       .Name("registry_rca_files_open")
                       .Help("Files of the source open now, rotated ones still drained included.")
                       .Register(*registry_);
      auto& lag = prometheus::BuildGauge()
                      .Name("registry_rca_source_lag_bytes")
                      .Help("Bytes written to the source's files not read yet.")
                      .Register(*registry_);
      auto& up = prometheus::BuildGauge()
                     .Name("registry_rca_source_up")
                     .Help("1 when at least one path of the source is open and readable.")
                     .Register(*registry_);
      for (const auto& watcher : watchers_) {
        SourceMetrics m;
        const std::string& name = watcher->name();
        m.bytes = &bytes.Add({{"source", name}});
        for (const char* kind : {"rename", "truncate", "delete", "replace", "permission_denied"}) {
          m.rotations.push_back(&rotations.Add({{"source", name}, {"kind", kind}}));
        }
        m.open = &open.Add({{"source", name}});
        m.lag = &lag.Add({{"source", name}});
        m.up = &up.Add({{"source", name}});
        source_metrics_.push_back(m);
      }
      positions_failures_ = &prometheus::BuildCounter()
                                 .Name("registry_rca_positions_write_failures_total")
                                 .Help("Positions-file writes that failed.")
                                 .Register(*registry_)
                                 .Add({});
    }
    for (size_t i = 0; i < watchers_.size(); ++i) {
      const tailers::SourceStats& stats = watchers_[i]->stats();
      SourceMetrics& m = source_metrics_[i];
      Advance(m.bytes, stats.bytes_read.load());
      const uint64_t kinds[] = {stats.rotations.load(), stats.truncations.load(),
                                stats.deletions.load(), stats.replacements.load(),
                                stats.permission_denied.load()};
      for (size_t k = 0; k < m.rotations.size(); ++k) Advance(m.rotations[k], kinds[k]);
      m.open->Set(static_cast<double>(stats.files_open.load()));
      m.lag->Set(static_cast<double>(stats.lag_bytes.load()));
      m.up->Set(stats.up.load() ? 1 : 0);
      metrics_.SetLinesTooLong(
          watchers_[i]->name(),
          stats.lines_skipped[static_cast<size_t>(tailers::SkipReason::kLineTooLong)].load());
    }
    Advance(positions_failures_, positions_.stats().write_failures.load());
  }

  // Counters mirror monotonic totals: add what is new since the last look.
  static void Advance(prometheus::Counter* counter, uint64_t total) {
    const double delta = static_cast<double>(total) - counter->Value();
    if (delta > 0) counter->Increment(delta);
  }

  void ProcessChunk(const tailers::Chunk& chunk) {
    const Pipeline::StreamId id = StreamFor(chunk.source_index, chunk.file);
    auto stream = streams_.find(std::make_pair(chunk.source_index, chunk.file));
    pipeline_.NoteActivity(id, WallNanos());
    std::string_view bytes = chunk.bytes;
    while (!bytes.empty()) {
      const size_t newline = bytes.find('\n');
      const size_t length = newline == std::string_view::npos ? bytes.size() : newline;
      pipeline_.OnLine(id, bytes.substr(0, length));
      bytes.remove_prefix(std::min(bytes.size(), length + 1));
    }
    if (chunk.flushed_partial || chunk.end_of_file) pipeline_.FlushStream(id);
    if (!chunk.from_pipe) positions_.MarkProcessed(chunk);
    if (chunk.end_of_file) {
      pipeline_.CloseStream(id);
      streams_.erase(stream);
    }
  }

  void RouteHttp(const std::string& telemetry_path) {
    http_.Route(
        telemetry_path, [this](const HttpRequest&) { return Scrape(); },
        HttpServer::RouteKind::kScrape);
    if (enricher_ != nullptr) {
      http_.Route(
          "/api/v1/alerts",
          [this](const HttpRequest& request) { return enricher_->Handle(request); },
          HttpServer::RouteKind::kStateChanging);
    }
    http_.Route("/-/healthy", [](const HttpRequest&) {
      return HttpResponse{200, "text/plain; charset=utf-8", "Healthy\n"};
    });
    // Like SIGHUP: a broken configuration is rejected, the old one keeps running. The errors
    // name files and paths: they go to the log, not to whoever asked.
    http_.Route(
        "/-/reload",
        [this](const HttpRequest& request) {
          if (request.method != "POST") {
            return HttpResponse{405, "text/plain; charset=utf-8", "POST only\n"};
          }
          return Reload().empty()
                     ? HttpResponse{200, "text/plain; charset=utf-8", "reloaded\n"}
                     : HttpResponse{400, "text/plain; charset=utf-8",
                                    "reload failed; the running configuration is kept (see the "
                                    "log)\n"};
        },
        HttpServer::RouteKind::kStateChanging, /*max_body_bytes=*/1024);
    http_.Route("/-/ready", [this](const HttpRequest&) {
      return ready_ ? HttpResponse{200, "text/plain; charset=utf-8", "Ready\n"}
                    : HttpResponse{503, "text/plain; charset=utf-8", "Not ready\n"};
    });
    http_.Route("/api/v1/uploads/", [this](const HttpRequest& request) {
      const std::string uuid = request.path.substr(std::string("/api/v1/uploads/").size());
      std::lock_guard lock(mutex_);
      auto json = ExplainJsonLocked(uuid);
      if (!json.has_value()) {
        return HttpResponse{404, "application/json", "{\"error\":\"unknown upload\"}\n"};
      }
      return HttpResponse{200, "application/json", *json + "\n"};
    });
    // The web UI's pages render the JSON the APIs above return (one source of truth).
    http_.Route("/ui/app.css", [](const HttpRequest& request) { return ui::StyleSheet(request); });
    http_.Route("/ui/uploads/", [this](const HttpRequest& request) {
      return UploadPage(request.path.substr(std::string("/ui/uploads/").size()));
    });
    http_.Route("/api/v1/latency", [this](const HttpRequest&) {
      return HttpResponse{200, "application/json", LatencyJson() + "\n"};
    });
    http_.Route("/ui/causes/", [this](const HttpRequest& request) {
      return CausePage(request.path.substr(std::string("/ui/causes/").size()), request.query);
    });
    http_.Route("/api/v1/causes/", [this](const HttpRequest& request) {
      std::string window = ui::QueryParameter(request.query, "since");
      if (window.empty()) window = "10m";
      int64_t since_ns = 0;
      if (!RecentErrors::ParseSince(window, &since_ns)) {
        return HttpResponse{400, "application/json",
                            "{\"error\":\"since must be a duration such as 10m\"}\n"};
      }
      const std::string cause = request.path.substr(std::string("/api/v1/causes/").size());
      std::lock_guard lock(mutex_);
      std::string json = recent_errors_.CauseJson(cause, since_ns, pipeline_.rules());
      const bool known = json.find("\"known\":true") != std::string::npos ||
                         json.find("\"count\":0,") == std::string::npos;
      return HttpResponse{known ? 200 : 404, "application/json", std::move(json) + "\n"};
    });
    http_.Route("/ui/search", [this](const HttpRequest& request) {
      return Search(ui::QueryParameter(request.query, "q"));
    });
    http_.Route("/api/v1/causes", [this](const HttpRequest& request) {
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
        const std::string value =
            request.query.substr(at + 6, request.query.find('&', at) - at - 6);
        if (!RecentErrors::ParseSince(value, &since_ns)) {
          return HttpResponse{400, "application/json",
                              "{\"error\":\"since must be a duration such as 10m\"}\n"};
        }
      }
      std::lock_guard lock(mutex_);
      return HttpResponse{200, "application/json", recent_errors_.CausesJson(since_ns) + "\n"};
    });
    // MinIO has no audit log file: its audit webhook target posts entries here (JSON objects,
    // one per line or one per request), read like a store log line.
    http_.Route(
        "/api/v1/ingest/minio-audit",
        [this](const HttpRequest& request) { return IngestMinioAudit(request); },
        HttpServer::RouteKind::kStateChanging);
    http_.Route("/", [this, telemetry_path](const HttpRequest& request) {
      return Overview(ui::QueryParameter(request.query, "since"), telemetry_path);
    });
  }

  // GET /api/v1/uploads/<uuid>'s JSON: the correlator's explain with the responses the hops in
  // front gave to the upload's requests ("hops", exporter/pipeline/hop_joiner_explain.h). Under mutex_.
  std::optional<std::string> ExplainJsonLocked(std::string_view uuid) const {
    std::optional<std::string> json = pipeline_.correlator().ExplainJson(uuid);
    if (json.has_value()) {
      *json = ExplainWithHops(std::move(*json), uuid, pipeline_.hop_joiner(), pipeline_.rules());
    }
    return json;
  }

  HttpResponse UploadPage(const std::string& uuid) {
    std::optional<std::string> json;
    {
      std::lock_guard lock(mutex_);
      json = ExplainJsonLocked(uuid);
    }
    if (!json.has_value()) {
      return ui::PageResponse(404, ui::Page("Unknown upload", ui::UnknownUploadBody(uuid)));
    }
    StatusOr<JsonValue> explain = ParseJson(*json);
    if (!explain.ok()) {  // our own output: a failure here is a bug, said so in the log
      spdlog::error("ui: the explain JSON of upload {} does not parse: {}", uuid,
                    explain.status().message());
      return ui::PageResponse(500, ui::Page("Error", "<p>The upload could not be drawn.</p>"));
    }
    return ui::PageResponse(200,
                            ui::Page("Upload " + uuid, ui::UploadTimelineBody(explain.value())));
  }

  // The upload histograms since start (the small prometheus-cpp registry, not the
  // per-repository series).
  std::string LatencyJson() {
    std::vector<prometheus::MetricFamily> families;
    {
      std::lock_guard lock(mutex_);
      families = registry_->Collect();
    }
    return LatencySummaryJson(started_ns_, families);
  }

  // A cause's page: the cause API's answer for the window, drawn.
  HttpResponse CausePage(const std::string& cause, const std::string& query) {
    std::string window = ui::QueryParameter(query, "since");
    if (window.empty()) window = "1h";
    int64_t since_ns = 0;
    if (!RecentErrors::ParseSince(window, &since_ns)) {
      return ui::PageResponse(400,
                              ui::Page("Cause",
                                       "<h1>Bad window</h1><p>since must be a duration such as "
                                       "1h.</p>"));
    }
    std::string json;
    {
      std::lock_guard lock(mutex_);
      json = recent_errors_.CauseJson(cause, since_ns, pipeline_.rules());
    }
    StatusOr<JsonValue> parsed = ParseJson(json);
    if (!parsed.ok()) {  // our own output: a failure here is a bug, said so in the log
      spdlog::error("ui: the cause JSON does not parse: {}", parsed.status().message());
      return ui::PageResponse(500, ui::Page("Error", "<p>The cause could not be drawn.</p>"));
    }
    const JsonValue* known = parsed.value().Find("known");
    const JsonValue* count = parsed.value().Find("count");
    if ((known == nullptr || !known->AsBool()) && (count == nullptr || count->AsNumber() == 0)) {
      return ui::PageResponse(
          404,
          ui::Page("Unknown cause", "<h1>Unknown cause</h1><p id=\"not-found\">No cause <code>" +
                                        ui::HtmlEscape(cause) +
                                        "</code> is in the catalogue or the recent errors."
                                        " <a href=\"/\">All causes</a>.</p>"));
    }
    return ui::PageResponse(200, ui::Page(cause, ui::CauseBody(parsed.value(), window)));
  }

  // The overview: the causes API's answer for the window, drawn.
  HttpResponse Overview(std::string window, const std::string& telemetry_path) {
    if (window.empty()) window = "1h";
    int64_t since_ns = 0;
    if (!RecentErrors::ParseSince(window, &since_ns)) {
      return ui::PageResponse(400,
                              ui::Page("Overview",
                                       "<h1>Bad window</h1><p>since must be a duration such as "
                                       "<a href=\"/?since=1h\">1h</a>.</p>"));
    }
    std::string json;
    {
      std::lock_guard lock(mutex_);
      json = recent_errors_.CausesJson(since_ns);
    }
    StatusOr<JsonValue> causes = ParseJson(json);
    StatusOr<JsonValue> latency = ParseJson(LatencyJson());
    if (!causes.ok() || !latency.ok()) {  // our own output: a failure is a bug, said so
      spdlog::error("ui: the causes or latency JSON does not parse: {} {}",
                    causes.status().message(), latency.status().message());
      return ui::PageResponse(500, ui::Page("Error", "<p>The overview could not be drawn.</p>"));
    }
    return ui::PageResponse(
        200, ui::Page("Overview", ui::OverviewBody(causes.value(), latency.value(), window,
                                                   telemetry_path, config_.grafana_url)));
  }

  // An upload UUID leads to its timeline (a redirect, so the address can be shared); anything
  // else is looked up in the recent errors.
  HttpResponse Search(std::string query) {
    query.erase(0, query.find_first_not_of(" \t"));
    query.erase(query.find_last_not_of(" \t") + 1);
    const bool uuid_like = !query.empty() && query.size() <= 64 &&
                           query.find_first_not_of("0123456789abcdefABCDEF-") == std::string::npos;
    bool known = false;
    if (uuid_like) {
      std::lock_guard lock(mutex_);
      known = pipeline_.correlator().ExplainJson(query).has_value();
    }
    if (known) {
      HttpResponse response = ui::PageResponse(302, "");
      response.headers += "Location: /ui/uploads/" + query + "\r\n";
      return response;
    }
    // Else the recent errors by request id, upload or repository (a query longer than any of
    // those is not looked up).
    std::string json;
    {
      std::lock_guard lock(mutex_);
      json = recent_errors_.SearchJson(query.size() <= 512 ? query : std::string());
    }
    StatusOr<JsonValue> found = ParseJson(json);
    if (!found.ok()) {  // our own output: a failure here is a bug, said so in the log
      spdlog::error("ui: the search JSON does not parse: {}", found.status().message());
      return ui::PageResponse(500, ui::Page("Error", "<p>The search failed.</p>"));
    }
    const JsonValue* matches = found.value().Find("matches");
    const bool any = matches != nullptr && !matches->AsArray().empty();
    return ui::PageResponse(any ? 200 : 404, ui::Page("Search", ui::SearchBody(found.value())));
  }

  HttpResponse IngestMinioAudit(const HttpRequest& request) {
    if (request.method != "POST") {
      return HttpResponse{405, "text/plain; charset=utf-8", "POST only\n"};
    }
    const std::string_view text = request.body;
    const size_t entries = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) +
                           (text.empty() || text.back() == '\n' ? 0 : 1);
    std::unique_lock lock(mutex_);
    if (entries > kMaxIngestEntries) {
      metrics_.CountIngestRejected();
      return HttpResponse{
          413, "text/plain; charset=utf-8",
          "at most " + std::to_string(kMaxIngestEntries) + " entries per request\n"};
    }
    if (!minio_stream_.has_value()) {
      minio_stream_ = pipeline_.OpenStream("minio-audit", tailers::EnvelopeHint::kNone,
                                           Pipeline::StreamKind::kS3);
    }
    std::string_view body = request.body;
    size_t since_unlock = 0;
    while (!body.empty()) {
      const size_t newline = body.find('\n');
      const std::string_view line = body.substr(0, newline);
      if (!line.empty()) pipeline_.OnLine(*minio_stream_, line);
      if (newline == std::string_view::npos) break;
      body.remove_prefix(newline + 1);
      // A post of 10,000 entries must not hold a scrape for its whole length: let waiting
      // scrapes in between (each line stands alone, so order within the post is all that counts).
      if (++since_unlock >= 256 && scrapes_waiting_.load(std::memory_order_relaxed) > 0) {
        lock.unlock();
        LetScrapesIn();
        lock.lock();
        since_unlock = 0;
      }
    }
    return HttpResponse{200, "text/plain; charset=utf-8", ""};
  }

  // Under mutex_ (metrics_ is the processing thread's otherwise).
  void MirrorHttpTotals() {
    const FrontCounters* front = http_.front_counters();
    if (front == nullptr) return;
    Metrics::HttpTotals totals;
    totals.accepted = front->accepted.load();
    totals.refused = front->refused_over_limit.load();
    totals.evicted = front->evicted.load();
    totals.handshake_failed = front->handshake_failures.load();
    totals.bad_request = front->bad_requests.load();
    totals.head_timeout = front->head_timeouts.load();
    totals.body_timeout = front->body_timeouts.load();
    totals.over_budget = front->over_budget.load();
    totals.busy = front->busy.load();
    const std::shared_ptr<const BasicAuth> auth = http_.auth();
    totals.auth_busy = auth != nullptr ? auth->bcrypt_busy() : 0;
    metrics_.SetHttpTotals(totals);
  }

  // The metrics and the positions saved for them describe the same lines: both are taken with
  // the processing lock held, so a crash after this scrape re-reads exactly what it did not see.
  // Under the lock only copies are made (the small registry's Collect, the store's flat value
  // arrays); the text is rendered after it is released.
  HttpResponse Scrape() {
    Metrics::Snapshot metrics;
    tailers::PositionsFile::Snapshot snapshot;
    scrapes_waiting_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex_);
      scrapes_waiting_.fetch_sub(1, std::memory_order_relaxed);
      MirrorHttpTotals();
      metrics_.TakeSnapshot(&metrics);
      snapshot = positions_.TakeSnapshot();
      // Encoded under the lock: what waits is read in place, not copied (see Waiting).
      snapshot.pipeline_state = EncodeCarryOver(TakeCarryOver());
    }
    // Render first, so that once the positions are on disk only sending the body remains:
    // the window in which a crash loses lines Prometheus did not get is as small as it can be.
    std::string body = Metrics::Render(metrics);
    if (Status saved = positions_.Save(snapshot); !saved.ok()) {
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

  void WaitForSignals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    while (true) {
      int signal = 0;
      if (sigwait(&signals, &signal) != 0) continue;
      if (signal == SIGHUP) {
        Reload();
        continue;
      }
      spdlog::info("received {}, shutting down", strsignal(signal));
      return;
    }
  }

  // Reloads the rules and their parameters, and the probes, from the configuration file,
  // atomically: on any error nothing changes and the errors are returned (and logged). Other keys
  // (sources, web, windows) take effect at the next start; a change to them is logged.
  std::string Reload() {
    std::lock_guard reload_lock(reload_mutex_);
    auto loaded = LoadConfig(config_.file);
    StatusOr<std::shared_ptr<const rules::RuleSet>> rules =
        loaded.ok() ? LoadRules(loaded.value())
                    : StatusOr<std::shared_ptr<const rules::RuleSet>>(loaded.status());
    std::unique_lock lock(mutex_);
    if (!rules.ok()) {
      spdlog::error("reload rejected, keeping the running configuration:\n{}",
                    rules.status().message());
      metrics_.SetConfigReload(false, 0);
      return rules.status().message();
    }
    if (loaded.value().sources.size() != config_.sources.size() ||
        loaded.value().listen_address != config_.listen_address) {
      spdlog::warn("reload: sources and web settings take effect at the next start");
    }
    if (!web_config_file_.empty()) {
      // TLS material and users reload with the rest; a broken file keeps the running ones.
      StatusOr<WebConfig> web = LoadWebConfig(web_config_file_);
      Status applied = web.ok() ? http_.SetWebConfig(web.value()) : web.status();
      if (!applied.ok()) {
        spdlog::error("reload rejected, keeping the running web configuration:\n{}",
                      applied.message());
        metrics_.SetConfigReload(false, 0);
        return applied.message();
      }
      metrics_.SetTlsCertificateExpiry(http_.tls_certificate_expiry());
    }
    pipeline_.SetRules(rules.value());
    pipeline_.SetProbeRepositories(ProbeRepositories(loaded.value().probes));
    metrics_.SetConfigReload(true, static_cast<double>(WallNanos()) / 1e9);
    // At most one line per 10 s: POST /-/reload may come in a flood.
    ++reloads_unlogged_;
    const int64_t now = WallNanos();
    if (now - reload_logged_ns_ >= 10'000'000'000) {
      spdlog::info("reloaded rules: {} rules ({} reloads since the last line)",
                   rules.value()->rules().size(), reloads_unlogged_);
      reloads_unlogged_ = 0;
      reload_logged_ns_ = now;
    }
    // The prober writes no state under mutex_: stopping it (up to 5 s of cleanup) must not hold
    // the pipeline back.
    lock.unlock();
    ReloadProbes(std::move(loaded.value().probes));
    return "";
  }

  // Under reload_mutex_: the probes of a reloaded configuration replace the running ones when
  // they differ (a probe kept by type and name keeps its series). The running prober is stopped
  // first (a run is interrupted, its cleanup takes at most 5 s), so ProbeMetrics is never
  // reconfigured while a run records, and a probe removed from the file stops at once.
  void ReloadProbes(std::vector<prober::ProbeConfig> probes) {
    if (probes == probes_ || prober_shut_down_) return;
    if (prober_ != nullptr) prober_->Stop();
    prober_.reset();
    spdlog::info("reload: {} probes (were {})", probes.size(), probes_.size());
    probes_ = std::move(probes);
    StartProber();
  }

  // What the alert enricher may ask. It calls from its own worker thread, holding no lock of its
  // own, and each callback takes the processing lock like a scrape does.
  EnricherSources EnricherSourcesFor() {
    EnricherSources sources;
    sources.causes_json = [this](int64_t since_ns) {
      std::lock_guard lock(mutex_);
      return recent_errors_.CausesJson(since_ns);
    };
    sources.explain_json = [this](std::string_view uuid) {
      std::lock_guard lock(mutex_);
      return ExplainJsonLocked(uuid);
    };
    sources.example_uploads = [this](std::string_view cause, int64_t since_ns, size_t max) {
      std::lock_guard lock(mutex_);
      return recent_errors_.ExampleUploads(cause, since_ns, max);
    };
    // The enricher reads the store requests and the per-bucket latency histograms: they stay in
    // the (small) prometheus-cpp registry, so this Collect does not touch the per-repository
    // series of the ExpositionStore.
    sources.collect = [this] {
      std::lock_guard lock(mutex_);
      return registry_->Collect();
    };
    return sources;
  }

  // Where the registry probes start their uploads: the pipeline keeps those uploads' store
  // events from the upload correlator.
  static std::vector<std::string> ProbeRepositories(
      const std::vector<prober::ProbeConfig>& probes) {
    std::vector<std::string> repositories;
    for (const prober::ProbeConfig& probe : probes) {
      if (probe.kind == prober::ProbeConfig::Kind::kRegistry) {
        repositories.push_back(probe.registry.repository);
      }
    }
    return repositories;
  }

  // The active prober (probes:): its own thread; results go straight to atomic metrics.
  // Under reload_mutex_, with no prober running.
  void StartProber() {
    if (probe_metrics_ == nullptr) probe_metrics_ = std::make_unique<ProbeMetrics>(*registry_);
    probe_metrics_->Configure(probes_);
    if (probes_.empty()) return;
    prober_ = std::make_unique<prober::ProbeRunner>(
        probes_,
        [this](size_t index, const prober::ProbeConfig& probe, const prober::ProbeResult& r) {
          probe_metrics_->Record(index, r);
          if (!r.ok()) {
            spdlog::warn("probe {} {} failed ({}): {}", prober::KindName(probe.kind), probe.name,
                         prober::FailReasonName(r.reason), r.detail);
          }
        });
    prober_->Start();
  }

  // Stop reading, finish what was read, save the positions of what was counted, stop serving.
  void Shutdown(std::thread& processor) {
    {
      // A POST /-/reload still being served must not start a new prober after this one stops.
      std::lock_guard reload_lock(reload_mutex_);
      prober_shut_down_ = true;
      if (prober_ != nullptr) prober_->Stop();  // interrupts a run; its cleanup takes <= 5 s
    }
    for (auto& watcher : watchers_) watcher->Stop();
    queue_.Close();
    {
      std::lock_guard lock(mutex_);
      queue_closed_ = true;
    }
    processor.join();
    http_.Stop();
    if (enricher_ != nullptr) enricher_->Stop();  // after the last POST /api/v1/alerts
    // No positions are saved here: the file holds those of the last scrape, whose metrics
    // Prometheus has. What was counted since then no scrape exported, so the next process must
    // count it again (positions saved now would skip it, as a SIGKILL never does).
  }

  Config config_;
  std::shared_ptr<prometheus::Registry> registry_;
  const int64_t started_ns_ = WallNanos();  // the metrics count from here (GET /api/v1/latency)
  Metrics metrics_;
  Pipeline pipeline_;
  RecentErrors recent_errors_;
  std::optional<Pipeline::StreamId> minio_stream_;
  tailers::PositionsFile positions_;
  rrca::BoundedQueue<tailers::Chunk> queue_;
  std::vector<std::unique_ptr<tailers::SourceWatcher>> watchers_;
  std::map<std::pair<size_t, tailers::FileKey>, Pipeline::StreamId> streams_;
  HttpServer http_;
  std::mutex mutex_;
  std::mutex reload_mutex_;
  struct SourceMetrics {
    prometheus::Counter* bytes = nullptr;
    std::vector<prometheus::Counter*> rotations;
    prometheus::Gauge* open = nullptr;
    prometheus::Gauge* lag = nullptr;
    prometheus::Gauge* up = nullptr;
  };
  std::vector<SourceMetrics> source_metrics_;
  prometheus::Counter* positions_failures_ = nullptr;
  std::string web_config_file_;   // one reload at a time (SIGHUP and POST /-/reload)
  int64_t reload_logged_ns_ = 0;  // under reload_mutex_
  uint64_t reloads_unlogged_ = 0;
  bool queue_closed_ = false;
  std::atomic<bool> ready_{false};
  std::atomic<int> scrapes_waiting_{0};  // scrapes blocked on mutex_: see LetScrapesIn
  std::unique_ptr<Enricher> enricher_;   // last: stopped and destroyed before what it reads
  // The prober: changed only under reload_mutex_ (start, reload, shutdown).
  std::vector<prober::ProbeConfig> probes_;  // the running probes (the file's, at the last reload)
  bool prober_shut_down_ = false;
  std::unique_ptr<ProbeMetrics> probe_metrics_;
  std::unique_ptr<prober::ProbeRunner> prober_;  // after what its sink writes: destroyed first
};

}  // namespace

int RunServe(const ServeOptions& options) {
  // Signals are taken by sigwait in the main thread only: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto config = LoadConfig(options.config_file);
  if (!config.ok()) {
    spdlog::error("invalid configuration:\n{}", config.status().message());
    return 2;
  }
  auto rules = LoadRules(config.value());
  if (!rules.ok()) {
    spdlog::error("invalid rules:\n{}", rules.status().message());
    return 2;
  }
  if (::geteuid() == 0) {
    spdlog::warn("running as root: registry-rca needs only read access to the logs it tails");
  }
  const std::string listen =
      options.listen_address.empty() ? config.value().listen_address : options.listen_address;
  const std::string telemetry =
      options.telemetry_path.empty() ? config.value().telemetry_path : options.telemetry_path;
  WebConfig web_config;  // none: plaintext, no auth
  if (!options.web_config_file.empty()) {
    StatusOr<WebConfig> loaded = LoadWebConfig(options.web_config_file);
    if (!loaded.ok()) {
      spdlog::error("invalid web configuration:\n{}", loaded.status().message());
      return 2;
    }
    web_config = std::move(loaded.value());
  }
  Daemon daemon(std::move(config.value()), std::move(rules.value()));
  return daemon.Run(listen, telemetry, web_config, options.web_config_file);
}

}  // namespace rrca::exporter
