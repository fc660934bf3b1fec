#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace rrca::enricher {

// `enricher:` (optional): the alert enricher behind POST /api/v1/alerts, see docs/enricher.md.
struct EnricherConfig {
  bool enabled = false;                      // the section is present
  std::vector<std::string> downstream_urls;  // http(s):// webhooks that get the enriched payload
  double timeout_seconds = 5;                // per delivery attempt
  int retries = 3;                           // attempts after the first, backoff 1 s, 2 s, 4 s...
  double dedupe_window_seconds = 300;        // a group key's enrichment is reused this long
  double min_window_seconds = 600;           // an alert's range is at least this long
  std::string dashboard_base_url;            // Grafana, e.g. http://grafana:3000; empty: no links
  std::string runbook_base_url =
      "https://github.com/registry-rca/registry-rca/blob/main/docs/runbook.md";
  std::string external_url;  // how receivers reach registry-rca (explain links); empty: none
  size_t queue_size = 64;    // notifications waiting; more are refused (503) and counted
  size_t queue_max_bytes = 32 << 20;  // their bodies' bytes at most; more are refused likewise
  // PEM bundle that verifies https downstreams instead of the system's trust store; a relative
  // path is relative to the config file's folder. Empty: the system's store.
  std::string ca_file;
};

}  // namespace rrca::enricher
