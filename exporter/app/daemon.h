#pragma once

#include <string>

namespace rrca::exporter {

struct ServeOptions {
  std::string config_file;
  std::string listen_address;   // empty: from the config (default :9479)
  std::string telemetry_path;   // empty: from the config (default /metrics)
  std::string web_config_file;  // --web.config.file: TLS and basic auth; empty: plaintext
};

// `registry-rca serve`: tails the configured sources and serves /metrics, /-/healthy, /-/ready
// and a landing page until SIGTERM/SIGINT; SIGHUP reloads the rules. Returns the exit code.
int RunServe(const ServeOptions& options);

}  // namespace rrca::exporter
