#include "exporter/app/daemon_reload.h"

#include <spdlog/spdlog.h>

#include "exporter/web/web_config.h"

namespace rrca::app {

DaemonReloader::DaemonReloader(DaemonState* state, web::HttpServer* http,
                               std::string web_config_file)
    : state_(state), http_(http), web_config_file_(std::move(web_config_file)) {}

void DaemonReloader::Start() {
  std::lock_guard reload_lock(reload_mutex_);  // a POST /-/reload may already come
  probes_ = state_->config.probes;
  StartProber();
}

void DaemonReloader::Stop() {
  // A POST /-/reload still being served must not start a new prober after this one stops.
  std::lock_guard reload_lock(reload_mutex_);
  prober_shut_down_ = true;
  if (prober_ != nullptr) prober_->Stop();  // interrupts a run; its cleanup takes <= 5 s
}

// Reloads the rules and their parameters, and the probes, from the configuration file,
// atomically: on any error nothing changes and the errors are returned (and logged). Other keys
// (sources, web, windows) take effect at the next start; a change to them is logged.
std::string DaemonReloader::Reload() {
  std::lock_guard reload_lock(reload_mutex_);
  auto loaded = LoadConfig(state_->config.file);
  StatusOr<std::shared_ptr<const rules::RuleSet>> rules =
      loaded.ok() ? LoadRules(loaded.value())
                  : StatusOr<std::shared_ptr<const rules::RuleSet>>(loaded.status());
  std::unique_lock lock(state_->mutex);
  if (!rules.ok()) {
    spdlog::error("reload rejected, keeping the running configuration:\n{}",
                  rules.status().message());
    state_->metrics.SetConfigReload(false, 0);
    return rules.status().message();
  }
  if (loaded.value().sources.size() != state_->config.sources.size() ||
      loaded.value().listen_address != state_->config.listen_address) {
    spdlog::warn("reload: sources and web settings take effect at the next start");
  }
  if (!web_config_file_.empty()) {
    // TLS material and users reload with the rest; a broken file keeps the running ones.
    StatusOr<web::WebConfig> web = web::LoadWebConfig(web_config_file_);
    Status applied = web.ok() ? http_->SetWebConfig(web.value()) : web.status();
    if (!applied.ok()) {
      spdlog::error("reload rejected, keeping the running web configuration:\n{}",
                    applied.message());
      state_->metrics.SetConfigReload(false, 0);
      return applied.message();
    }
    state_->metrics.SetTlsCertificateExpiry(http_->tls_certificate_expiry());
  }
  state_->pipeline.SetRules(rules.value());
  state_->pipeline.SetProbeRepositories(ProbeRepositories(loaded.value().probes));
  state_->metrics.SetConfigReload(true, static_cast<double>(WallNowNs()) / 1e9);
  // At most one line per 10 s: POST /-/reload may come in a flood.
  ++reloads_unlogged_;
  const int64_t now = WallNowNs();
  if (now - reload_logged_ns_ >= 10'000'000'000) {
    spdlog::info("reloaded rules: {} rules ({} reloads since the last line)",
                 rules.value()->rules().size(), reloads_unlogged_);
    reloads_unlogged_ = 0;
    reload_logged_ns_ = now;
  }
  // The prober writes no state under state_->mutex: stopping it (up to 5 s of cleanup) must not
  // hold the pipeline back.
  lock.unlock();
  ReloadProbes(std::move(loaded.value().probes));
  return "";
}

// Under reload_mutex_: the probes of a reloaded configuration replace the running ones when
// they differ (a probe kept by type and name keeps its series). The running prober is stopped
// first (a run is interrupted, its cleanup takes at most 5 s), so ProbeMetrics is never
// reconfigured while a run records, and a probe removed from the file stops at once.
void DaemonReloader::ReloadProbes(std::vector<prober::ProbeConfig> probes) {
  if (probes == probes_ || prober_shut_down_) return;
  if (prober_ != nullptr) prober_->Stop();
  prober_.reset();
  spdlog::info("reload: {} probes (were {})", probes.size(), probes_.size());
  probes_ = std::move(probes);
  StartProber();
}

// The active prober (probes:): its own thread; results go straight to atomic metrics.
// Under reload_mutex_, with no prober running.
void DaemonReloader::StartProber() {
  if (probe_metrics_ == nullptr)
    probe_metrics_ = std::make_unique<metrics::ProbeMetrics>(*state_->registry);
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

// Where the registry probes start their uploads: the pipeline keeps those uploads' store
// events from the upload correlator.
std::vector<std::string> DaemonReloader::ProbeRepositories(
    const std::vector<prober::ProbeConfig>& probes) {
  std::vector<std::string> repositories;
  for (const prober::ProbeConfig& probe : probes) {
    if (probe.kind == prober::ProbeConfig::Kind::kRegistry) {
      repositories.push_back(probe.registry.repository);
    }
  }
  return repositories;
}

}  // namespace rrca::app
