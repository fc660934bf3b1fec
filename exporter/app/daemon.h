#pragma once

#include <string>

namespace rrca::app {

struct ServeOptions {
  std::string config_file;
  std::string listen_address;   // empty: from the config (default :9479)
  std::string telemetry_path;   // empty: from the config (default /metrics)
  std::string web_config_file;  // --web.config.file: TLS and basic auth; empty: plaintext
};

// `registry-rca serve`: tails the configured sources, runs the probes, and serves until
// SIGTERM/SIGINT: /metrics (or --web.telemetry-path), /-/healthy, /-/ready, POST /-/reload, the
// APIs (/api/v1/causes[/<cause>], /api/v1/uploads/<uuid>, /api/v1/latency, POST /api/v1/alerts
// when the enricher is configured, POST /api/v1/ingest/minio-audit) and the web UI (/, /ui/...).
// SIGHUP or POST /-/reload reloads the rules and the probes. Returns the exit code.
int RunServe(const ServeOptions& options);

}  // namespace rrca::app
