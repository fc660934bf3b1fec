#pragma once

#include <string>
#include <string_view>

#include "common/json.h"

// The web UI's overview (GET /): error responses by cause over a chosen window, ranked, with
// count, share, severity, the top repositories and the latest example (its upload's timeline
// one click away); unclassified errors by message template; create-to-visible and the clients'
// race margin since start (percentiles); the links to the metrics, health
// and the JSON APIs. Drawn from the JSON that GET /api/v1/causes?since=<window> and
// GET /api/v1/latency return (one source of truth). Stateless; thread-safe.
namespace rrca::ui {

// The windows offered, as the `since` values the causes API takes.
inline constexpr std::string_view kOverviewWindows[] = {"15m", "1h", "6h", "24h"};
// The window of analyze's report: all the log time read (no window links, no daemon links).
inline constexpr std::string_view kAllLogTime = "all";

// The body of the overview (escaped HTML, to be framed by Page()). `causes` is the causes API's
// answer for `window`, `latency` the latency API's (GET /api/v1/latency); `telemetry_path` is
// where the metrics are served; `grafana_url` (web.grafana_url, "" for none) where the bundled
// dashboards are, by their uids.
std::string OverviewBody(const Json& causes, const Json& latency, std::string_view window,
                         std::string_view telemetry_path, std::string_view grafana_url = "");

}  // namespace rrca::ui
