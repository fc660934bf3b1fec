#include "exporter/app/daemon.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <thread>

#include "common/bounded_queue.h"
#include "common/time_util.h"
#include "exporter/app/config.h"
#include "exporter/app/daemon_api.h"
#include "exporter/app/daemon_reload.h"
#include "exporter/app/daemon_state.h"
#include "exporter/app/rules_loader.h"
#include "exporter/app/signals.h"
#include "exporter/enricher/enricher.h"
#include "exporter/metrics/source_metrics.h"
#include "exporter/pipeline/carry_over.h"
#include "exporter/web/http_server.h"
#include "exporter/web/web_config.h"
#include "tailers/follow/source_watcher.h"

namespace rrca::app {
namespace {

constexpr size_t kQueueChunks = 64;  // x up to 8 MiB per chunk: the bound on buffered input

// The daemon's life: it starts the watchers (one thread per source), the processing thread, the
// enricher, the HTTP server and the prober; waits for a stop signal (SIGHUP reloads); stops them
// in the order that loses nothing. What the threads share is DaemonState; the routes are
// DaemonApi's, the reload and the prober DaemonReloader's.
class Daemon {
 public:
  Daemon(Config config, std::shared_ptr<const rules::RuleSet> rules,
         const std::string& web_config_file)
      : state_(std::move(config), std::move(rules), CurrentUtcYear()),
        queue_(kQueueChunks),
        reloader_(&state_, &http_, web_config_file) {
    state_.pipeline.SetProbeRepositories(DaemonReloader::ProbeRepositories(state_.config.probes));
    if (state_.config.enricher.enabled) {
      enricher_ = std::make_unique<enricher::Enricher>(state_.config.enricher, EnricherSourcesFor(),
                                                       *state_.registry);
    }
    api_ = std::make_unique<DaemonApi>(&state_, &http_, enricher_.get(),
                                       [this] { return reloader_.Reload(); });
    state_.metrics.SetConfigReload(true, static_cast<double>(WallNowNs()) / 1e9);
  }

  int Run(const std::string& listen_address, const std::string& telemetry_path,
          const web::WebConfig& web_config) {
    if (Status web = http_.SetWebConfig(web_config); !web.ok()) {
      spdlog::error("invalid web configuration:\n{}", web.message());
      return 2;
    }
    state_.metrics.SetTlsCertificateExpiry(http_.tls_certificate_expiry());
    if (Status loaded = state_.positions.Load(); !loaded.ok()) {
      spdlog::warn("positions file ignored: {}", loaded.message());
    }
    RestoreCarriedState();
    StartWatchers();
    std::thread processor([this] { ProcessLoop(); });
    if (enricher_ != nullptr) enricher_->Start();
    api_->Route(telemetry_path);
    if (Status started = http_.Start(listen_address); !started.ok()) {
      spdlog::error("{}", started.message());
      Shutdown(processor);
      return 1;
    }
    state_.ready = true;
    reloader_.Start();
    spdlog::info("registry-rca listening on port {} ({}, {} sources)", http_.port(),
                 http_.tls() ? "TLS" : "plaintext", state_.config.sources.size());
    const int signal = WaitForStopSignal([this] { reloader_.Reload(); });
    spdlog::info("received {}, shutting down", strsignal(signal));
    Shutdown(processor);
    return 0;
  }

 private:
  // Before the watchers start: what the last scrape's process had read but not counted.
  void RestoreCarriedState() {
    const std::string text = state_.positions.loaded_pipeline_state();
    if (text.empty()) return;
    std::lock_guard lock(state_.mutex);
    auto carried = pipeline::RestoreCarryOver(text, &state_.pipeline, state_.SourceNames());
    if (!carried.ok()) {
      spdlog::warn("positions file: {}; responses waiting at the last scrape are not counted",
                   carried.status().message());
      return;
    }
    for (pipeline::CarriedHeld& held : carried.value()) {
      state_.pipeline.RestoreHeld(state_.StreamFor(held.source_index, held.file),
                                  std::move(held.held));
    }
    spdlog::info("carried over from the last scrape: {} requests and {} access lines waiting",
                 state_.pipeline.pending_requests(), state_.pipeline.pending_access_lines());
  }

  void StartWatchers() {
    source_metrics_ =
        std::make_unique<metrics::SourceMetrics>(*state_.registry, state_.SourceNames());
    tailers::WatcherOptions options;
    options.poll_interval =
        std::chrono::milliseconds(static_cast<int64_t>(state_.config.poll_interval_seconds * 1000));
    options.start_at =
        state_.config.start_at_end ? tailers::StartAt::kEnd : tailers::StartAt::kBeginning;
    options.follower.max_line_bytes = state_.config.max_line_bytes;
    for (size_t i = 0; i < state_.config.sources.size(); ++i) {
      const SourceConfig& source = state_.config.sources[i];
      tailers::SourceConfig watched{source.name, source.paths};
      watchers_.push_back(std::make_unique<tailers::SourceWatcher>(i, watched, options, &queue_,
                                                                   &state_.positions));
      watchers_.back()->Start();
    }
  }

  void ProcessLoop() {
    while (true) {
      std::optional<tailers::Chunk> chunk = queue_.Pop(std::chrono::milliseconds(200));
      state_.LetScrapesIn();
      std::lock_guard lock(state_.mutex);
      if (chunk.has_value()) {
        ProcessChunk(*chunk);
      } else if (queue_closed_) {
        break;
      }
      state_.pipeline.Tick(WallNowNs());
      PublishSourceStats();
    }
  }

  // The tailers count in atomics on their own threads; these mirror them as metrics.
  void PublishSourceStats() {
    for (size_t i = 0; i < watchers_.size(); ++i) {
      const tailers::SourceStats& stats = watchers_[i]->stats();
      source_metrics_->Publish(i, stats);
      state_.metrics.SetLinesTooLong(
          watchers_[i]->name(),
          stats.lines_skipped[static_cast<size_t>(tailers::SkipReason::kLineTooLong)].load());
    }
    source_metrics_->PublishPositionsWriteFailures(state_.positions.stats().write_failures.load());
  }

  void ProcessChunk(const tailers::Chunk& chunk) {
    const pipeline::Pipeline::StreamId id = state_.StreamFor(chunk.source_index, chunk.file);
    auto stream = state_.streams.find(std::make_pair(chunk.source_index, chunk.file));
    state_.pipeline.NoteActivity(id, WallNowNs());
    std::string_view bytes = chunk.bytes;
    while (!bytes.empty()) {
      const size_t newline = bytes.find('\n');
      const size_t length = newline == std::string_view::npos ? bytes.size() : newline;
      state_.pipeline.OnLine(id, bytes.substr(0, length));
      bytes.remove_prefix(std::min(bytes.size(), length + 1));
    }
    if (chunk.flushed_partial || chunk.end_of_file) state_.pipeline.FlushStream(id);
    if (!chunk.from_pipe) state_.positions.MarkProcessed(chunk);
    if (chunk.end_of_file) {
      state_.pipeline.CloseStream(id);
      state_.streams.erase(stream);
    }
  }

  // What the alert enricher may ask. It calls from its own worker thread, holding no lock of its
  // own, and each callback takes the processing lock like a scrape does.
  enricher::EnricherSources EnricherSourcesFor() {
    enricher::EnricherSources sources;
    sources.causes_json = [this](int64_t since_ns) {
      std::lock_guard lock(state_.mutex);
      return state_.recent_errors.Causes(since_ns);
    };
    sources.explain_json = [this](std::string_view uuid) {
      std::lock_guard lock(state_.mutex);
      return state_.ExplainLocked(uuid);
    };
    sources.example_uploads = [this](std::string_view cause, int64_t since_ns, size_t max) {
      std::lock_guard lock(state_.mutex);
      return state_.recent_errors.ExampleUploads(cause, since_ns, max);
    };
    // The enricher reads the store requests and the per-bucket latency histograms: they stay in
    // the (small) prometheus-cpp registry, so this Collect does not touch the per-repository
    // series of the ExpositionStore.
    sources.collect = [this] {
      std::lock_guard lock(state_.mutex);
      return state_.registry->Collect();
    };
    return sources;
  }

  // Stop reading, finish what was read, save the positions of what was counted, stop serving.
  void Shutdown(std::thread& processor) {
    reloader_.Stop();
    for (auto& watcher : watchers_) watcher->Stop();
    queue_.Close();
    {
      std::lock_guard lock(state_.mutex);
      queue_closed_ = true;
    }
    processor.join();
    http_.Stop();
    if (enricher_ != nullptr) enricher_->Stop();  // after the last POST /api/v1/alerts
    // No positions are saved here: the file holds those of the last scrape, whose metrics
    // Prometheus has. What was counted since then no scrape exported, so the next process must
    // count it again (positions saved now would skip it, as a SIGKILL never does).
  }

  DaemonState state_;
  BoundedQueue<tailers::Chunk> queue_;
  std::vector<std::unique_ptr<tailers::SourceWatcher>> watchers_;
  std::unique_ptr<metrics::SourceMetrics> source_metrics_;  // set with the watchers
  bool queue_closed_ = false;                               // under state_.mutex
  web::HttpServer http_;
  std::unique_ptr<enricher::Enricher>
      enricher_;  // after what it reads: stopped and destroyed before it
  std::unique_ptr<DaemonApi> api_;
  DaemonReloader reloader_;  // last: its prober is destroyed first
};

}  // namespace

int RunServe(const ServeOptions& options) {
  // Signals are taken by sigwait in the main thread only: block them before any thread starts.
  BlockDaemonSignals();

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
  web::WebConfig web_config;  // none: plaintext, no auth
  if (!options.web_config_file.empty()) {
    StatusOr<web::WebConfig> loaded = web::LoadWebConfig(options.web_config_file);
    if (!loaded.ok()) {
      spdlog::error("invalid web configuration:\n{}", loaded.status().message());
      return 2;
    }
    web_config = std::move(loaded.value());
  }
  Daemon daemon(std::move(config.value()), std::move(rules.value()), options.web_config_file);
  return daemon.Run(listen, telemetry, web_config);
}

}  // namespace rrca::app
