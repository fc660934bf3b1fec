#pragma once

#include <functional>
#include <string>

#include "common/json.h"
#include "exporter/app/daemon_state.h"
#include "exporter/enricher/enricher.h"
#include "exporter/web/http_server.h"

namespace rrca::app {

// The daemon's HTTP routes: /metrics (or --web.telemetry-path), /-/healthy, /-/ready,
// POST /-/reload, the APIs (/api/v1/causes[/<cause>], /api/v1/uploads/<uuid>, /api/v1/latency,
// POST /api/v1/alerts when the enricher runs, POST /api/v1/ingest/minio-audit) and the web UI
// (/, /ui/...), whose pages render the same JSON the APIs return.
//
// The JSON is built as values (rrca::Json) by the pipeline and serialised here, at the edge, by
// the API routes only; the pages draw the same values without a text round trip.
//
// Thread-safety: handlers run on the HTTP server's threads; each takes the state's mutex only to
// copy what it needs and renders outside it. The daemon owns everything this points to and
// stops the server before destroying it.
class DaemonApi {
 public:
  // `reload` is the configuration reload (SIGHUP's): "" when it worked, else the errors.
  DaemonApi(DaemonState* state, web::HttpServer* http, enricher::Enricher* enricher,
            std::function<std::string()> reload);

  // Registers every route on the server (before it starts).
  void Route(const std::string& telemetry_path);

 private:
  // The metrics and the positions saved for them describe the same lines (see the .cc).
  web::HttpResponse Scrape();
  // Under the state's mutex: the HTTP front's atomic totals into the metrics.
  void MirrorHttpTotals();
  web::HttpResponse UploadPage(const std::string& uuid);
  // GET /api/v1/latency's answer (the overview page draws it too).
  Json Latency();
  web::HttpResponse CausePage(const std::string& cause, const std::string& query);
  web::HttpResponse Overview(std::string window, const std::string& telemetry_path);
  web::HttpResponse Search(std::string query);
  web::HttpResponse IngestMinioAudit(const web::HttpRequest& request);

  DaemonState* state_;
  web::HttpServer* http_;
  enricher::Enricher* enricher_;  // null when the config has no enricher: section
  std::function<std::string()> reload_;
};

}  // namespace rrca::app
