#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "exporter/enricher/enricher_config.h"
#include "exporter/pipeline/repository_table.h"
#include "prober/probe_config.h"
#include "tailers/parse/envelope.h"

namespace rrca::app {

struct SourceConfig {
  std::string name;                // the `source` label
  std::string type = "registry";   // registry | s3 | harbor_proxy | harbor_core
  std::vector<std::string> paths;  // files or globs; "-" reads stdin
  tailers::EnvelopeHint envelope = tailers::EnvelopeHint::kAuto;
};

// The daemon's configuration: plain values with their defaults. The smallest valid file is
// `sources:` with one entry (name, type, paths) and optionally `start_at`.
struct Config {
  std::string file;  // where it was loaded from
  std::vector<SourceConfig> sources;
  bool start_at_end = true;  // start_at: end | beginning
  std::string positions_file = "/var/lib/registry-rca/positions.json";
  double poll_interval_seconds = 0.25;
  size_t max_line_bytes = 1 << 20;
  std::vector<std::string> rules_files;  // globs, relative to the config file's folder
  std::map<std::string, double> rule_params;
  size_t max_repositories = 1000;
  size_t max_buckets = 100;  // bucket label values (store logs, MinIO audit); then __other__
  std::vector<pipeline::RepositoryRewrite> repository_rewrites;
  double join_window_seconds = 60;        // error lines wait this long for their summary
  double access_window_seconds = 5;       // access lines wait this long for a summary
  std::string storage_root_directory;     // the s3 driver's rootdirectory, may be empty
  size_t max_open_uploads = 100'000;      // upload states the correlator holds at most
  double reorder_window_seconds = 600;    // how late store lines may arrive
  double clock_tolerance_seconds = 0.25;  // clock uncertainty between registry and store
  std::string listen_address = ":9479";
  std::string telemetry_path = "/metrics";
  std::string grafana_url;  // web.grafana_url: the web UI links the dashboards there ("": no links)
  enricher::EnricherConfig enricher;
  std::vector<prober::ProbeConfig> probes;  // `probes:` (config_probes.cc); none: no prober
};

// Parses and validates; every error at once, one per line: "file:line:col: key.path: message".
StatusOr<Config> ParseConfig(const std::string& text, const std::string& file_name);
StatusOr<Config> LoadConfig(const std::string& path);

// The rule files a config names, globs expanded (sorted), relative paths resolved.
std::vector<std::string> ExpandRuleFiles(const Config& config, std::vector<std::string>* errors);

}  // namespace rrca::app
