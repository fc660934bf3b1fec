#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/app/daemon_state.h"
#include "exporter/metrics/probe_metrics.h"
#include "exporter/web/http_server.h"
#include "prober/probe_config.h"
#include "prober/runner.h"

namespace rrca::app {

// Reloading the configuration (SIGHUP, POST /-/reload) and running the active prober, whose
// probes are part of what reloads. A reload changes the rules and their parameters, the probes
// and the web config (TLS, users) atomically: on any error nothing changes. Other keys (sources,
// listen address, windows) take effect at the next start.
//
// Thread-safety: Reload may come from the signal thread and HTTP threads at once; one runs at a
// time (reload_mutex_), and it takes the state's mutex only to swap the rules in. The prober has
// its own thread and writes only ProbeMetrics' atomic metrics, never under the state's mutex.
class DaemonReloader {
 public:
  DaemonReloader(DaemonState* state, web::HttpServer* http, std::string web_config_file);

  // Starts the prober with the configuration's probes (none: nothing runs).
  void Start();
  // Stops the prober for good (shutdown): a run is interrupted, its cleanup takes at most 5 s
  // more; a reload still being served starts no new one.
  void Stop();
  // "" when the configuration reloaded, else its errors (also logged).
  std::string Reload();

  // Where the registry probes start their uploads: the pipeline keeps those uploads' store
  // events from the upload correlator.
  static std::vector<std::string> ProbeRepositories(const std::vector<prober::ProbeConfig>& probes);

 private:
  void ReloadProbes(std::vector<prober::ProbeConfig> probes);
  void StartProber();

  DaemonState* state_;
  web::HttpServer* http_;
  const std::string web_config_file_;  // --web.config.file; empty: plaintext, no users
  std::mutex reload_mutex_;            // one reload at a time; guards everything below
  int64_t reload_logged_ns_ = 0;
  uint64_t reloads_unlogged_ = 0;
  std::vector<prober::ProbeConfig> probes_;  // the running probes (the file's, at the last reload)
  bool prober_shut_down_ = false;
  std::unique_ptr<metrics::ProbeMetrics> probe_metrics_;
  std::unique_ptr<prober::ProbeRunner> prober_;  // after what its sink writes: destroyed first
};

}  // namespace rrca::app
