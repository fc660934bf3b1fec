#include "exporter/ui/ui_overview.h"

#include <algorithm>
#include <cstdio>

#include "exporter/ui/ui_page.h"

namespace rrca::ui {
namespace {

constexpr size_t kTopRepositories = 3;

std::string Percent(double share) {
  char text[16];
  std::snprintf(text, sizeof(text), "%.1f%%", share * 100);
  return text;
}

// The share as a bar: an SVG (no inline style is allowed) 100 units wide.
std::string ShareBar(double share) {
  char svg[256];
  std::snprintf(svg, sizeof(svg),
                "<svg class=\"share\" viewBox=\"0 0 100 8\" aria-hidden=\"true\">"
                "<rect class=\"share-bg\" width=\"100\" height=\"8\"/>"
                "<rect class=\"share-fg\" width=\"%.1f\" height=\"8\"/></svg>",
                std::clamp(share, 0.0, 1.0) * 100);
  return svg;
}

std::string WindowLinks(std::string_view window) {
  std::string links = "<nav class=\"windows\" aria-label=\"Window\">";
  for (const std::string_view option : kOverviewWindows) {
    if (option == window) {
      links += "<strong aria-current=\"true\">" + std::string(option) + "</strong>";
    } else {
      links += "<a href=\"/?since=" + std::string(option) + "\">" + std::string(option) + "</a>";
    }
  }
  return links + "</nav>";
}

std::string Templates(const Json& cause) {
  const Json* templates = JsonFind(cause, "templates");
  if (templates == nullptr || JsonArray(*templates).empty()) return "";
  std::string out =
      "<h2>Unclassified errors by message template</h2><table id=\"templates\"><thead><tr>"
      "<th>Count</th><th>Field</th><th>Template</th><th>Latest message</th></tr></thead><tbody>";
  for (const Json& entry : JsonArray(*templates)) {
    const Json* count = JsonFind(entry, "count");
    out += "<tr><td class=\"num\">" +
           std::to_string(count == nullptr ? 0 : static_cast<long long>(JsonAsNumber(*count))) +
           "</td><td>" + HtmlEscape(JsonString(entry, "field")) + "</td><td class=\"what\"><code>" +
           HtmlEscape(JsonString(entry, "template")) + "</code></td><td class=\"what\">" +
           HtmlEscape(JsonString(entry, "example")) + "</td></tr>";
  }
  out +=
      "</tbody></table><p class=\"muted\">A rule for a template: <code>registry-rca "
      "suggest-rules</code> (see the README's Rules).</p>";
  return out;
}

std::string Seconds(const Json* summary, std::string_view key) {
  const Json* value = summary == nullptr ? nullptr : JsonFind(*summary, key);
  if (value == nullptr || !value->is_number()) return "–";
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f s", JsonAsNumber(*value));
  return text;
}

// Create-to-visible against the clients' gap between the POST's answer and the first PATCH:
// when uploads take longer to become visible than clients wait, pushes race.
std::string Latency(const Json& latency, bool all) {
  struct Row {
    const char* key;
    const char* what;
  };
  static constexpr Row kRows[] = {
      {"create_to_visible_seconds", "Create to visible (uploads seen visible)"},
      {"client_gap_seconds", "Race margin: POST answered to first PATCH"},
      {"unsafe_window_seconds", "Unsafe window (first PATCH before visible)"}};
  std::string out =
      (all ? std::string("<h2>Uploads in the logs read")
           : "<h2>Uploads since " + HtmlEscape(JsonString(latency, "since"))) +
      "</h2><table id=\"latency\"><thead><tr><th></th><th>Uploads</th><th>p50</th><th>p90</th>"
      "<th>p99</th></tr></thead><tbody>";
  for (const Row& row : kRows) {
    const Json* summary = JsonFind(latency, row.key);
    const Json* count = summary == nullptr ? nullptr : JsonFind(*summary, "count");
    out += std::string("<tr data-family=\"") + row.key + "\"><td>" + row.what +
           "</td><td class=\"num\">" +
           std::to_string(count == nullptr ? 0 : static_cast<long long>(JsonAsNumber(*count))) +
           "</td><td class=\"num\">" + Seconds(summary, "p50") + "</td><td class=\"num\">" +
           Seconds(summary, "p90") + "</td><td class=\"num\">" + Seconds(summary, "p99") +
           "</td></tr>";
  }
  return out +
         "</tbody></table><p class=\"muted\">When create to visible exceeds the race margin, "
         "clients PATCH uploads the store does not list yet (upload_not_yet_visible). "
         "Percentiles from the histograms' buckets, as histogram_quantile() computes them.</p>";
}

}  // namespace

std::string OverviewBody(const Json& causes, const Json& latency, std::string_view window,
                         std::string_view telemetry_path, std::string_view grafana_url) {
  // kAllLogTime: analyze's report, which covers everything read and links nowhere.
  const bool all = window == kAllLogTime;
  std::string body = "<h1>Error responses by cause</h1>";
  if (!all) body += WindowLinks(window);
  const Json* list = JsonFind(causes, "causes");
  double total = 0;
  if (list != nullptr) {
    for (const Json& cause : JsonArray(*list)) {
      if (const Json* count = JsonFind(cause, "count")) total += JsonAsNumber(*count);
    }
  }
  const std::string until = JsonString(causes, "until");
  body += "<p class=\"muted\" id=\"window\">" +
          (all ? std::string("All the log time read")
               : "The last " + HtmlEscape(window) + " of log time") +
          (until.empty() ? std::string() : " up to " + HtmlEscape(until)) + ": " +
          std::to_string(static_cast<long long>(total)) + " error responses.";
  const Json* truncated = JsonFind(causes, "truncated");
  if (truncated != nullptr && JsonAsBool(*truncated)) {
    body +=
        " More errors fell in this window than are kept: the counts cover the newest ones "
        "(the metrics count all).";
  }
  body += "</p>";

  const Json* unclassified = nullptr;
  if (total > 0) {
    body +=
        "<table id=\"causes\"><thead><tr><th>Cause</th><th>Severity</th><th>Count</th>"
        "<th>Share</th><th>Over the window</th><th>Top repositories</th><th>Latest example</th>"
        "</tr></thead><tbody>";
    for (const Json& cause : JsonArray(*list)) {
      const std::string id = JsonString(cause, "cause");
      if (id == "unclassified") unclassified = &cause;
      const Json* count_value = JsonFind(cause, "count");
      const double count = count_value == nullptr ? 0 : JsonAsNumber(*count_value);
      const std::string severity = JsonString(cause, "severity");
      body += "<tr class=\"cause\" data-cause=\"" + HtmlEscape(id) +
              "\"><td><a href=\"/ui/causes/" + HtmlEscape(id) + "?since=" + HtmlEscape(window) +
              "\"><code>" + HtmlEscape(id) + "</code></a></td><td><span class=\"badge severity-" +
              HtmlEscape(severity) + "\">" + HtmlEscape(severity) +
              "</span></td><td class=\"num\">" + std::to_string(static_cast<long long>(count)) +
              "</td><td class=\"num\">" + Percent(count / total) + " " + ShareBar(count / total) +
              "</td><td>" + Sparkline(JsonFind(cause, "series")) + "</td><td>";
      if (const Json* repositories = JsonFind(cause, "repositories")) {
        const auto& entries = JsonArray(*repositories);
        for (size_t i = 0; i < std::min(entries.size(), kTopRepositories); ++i) {
          const Json* repository_count = JsonFind(entries[i], "count");
          const std::string name = JsonString(entries[i], "repository");
          body += (i > 0 ? "<br>" : "") +
                  (name.empty() ? std::string("<span class=\"muted\">(none)</span>")
                                : HtmlEscape(name)) +
                  " <span class=\"muted\">" +
                  std::to_string(repository_count == nullptr
                                     ? 0
                                     : static_cast<long long>(JsonAsNumber(*repository_count))) +
                  "</span>";
        }
        if (entries.size() > kTopRepositories) {
          body += "<br><span class=\"muted\">and " +
                  std::to_string(entries.size() - kTopRepositories) + " more</span>";
        }
      }
      body += "</td><td class=\"what\">";
      if (const Json* example = JsonFind(cause, "example")) {
        body += HtmlEscape(JsonString(*example, "time"));
        const std::string request_id = JsonString(*example, "request_id");
        if (!request_id.empty()) {
          body += "<br><span class=\"muted\">request</span> " + HtmlEscape(request_id);
        }
        const std::string upload = JsonString(*example, "upload_uuid");
        if (!upload.empty()) {
          body += "<br><a href=\"/ui/uploads/" + HtmlEscape(upload) + "\">upload timeline</a>";
        }
      }
      body += "</td></tr>";
    }
    body += "</tbody></table>";
  }
  if (unclassified != nullptr) body += Templates(*unclassified);
  body += Latency(latency, all);
  if (all) return body;

  body += "<h2>More</h2><ul class=\"links\"><li><a href=\"" + HtmlEscape(telemetry_path) +
          "\">Metrics</a></li><li><a href=\"/api/v1/causes?since=" + std::string(window) +
          "\">This table as JSON</a> (<code>/api/v1/causes?since=…</code>; the uploads' "
          "percentiles: <a href=\"/api/v1/latency\">/api/v1/latency</a>)</li>"
          "<li><code>/api/v1/uploads/&lt;uuid&gt;</code>: one upload's timeline as JSON, drawn at "
          "<code>/ui/uploads/&lt;uuid&gt;</code> (or use the search box)</li>"
          "<li><a href=\"/-/healthy\">Health</a> / <a href=\"/-/ready\">Readiness</a></li>";
  if (!grafana_url.empty()) {
    std::string root(grafana_url);
    while (!root.empty() && root.back() == '/') root.pop_back();
    body += "<li id=\"grafana\">Grafana: <a href=\"" + HtmlEscape(root) +
            "/d/registry-rca-overview\">overview</a>, <a href=\"" + HtmlEscape(root) +
            "/d/registry-rca-repository\">repository</a>, <a href=\"" + HtmlEscape(root) +
            "/d/registry-rca-exporter\">the exporter itself</a></li>";
  }
  body += "</ul>";
  return body;
}

}  // namespace rrca::ui
