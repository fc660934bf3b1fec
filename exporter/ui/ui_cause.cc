#include "exporter/ui/ui_cause.h"

#include "exporter/ui/ui_overview.h"
#include "exporter/ui/ui_page.h"

namespace rrca::ui {
namespace {

long long Integer(const Json& object, std::string_view key) {
  const Json* value = JsonFind(object, key);
  return value == nullptr ? 0 : static_cast<long long>(JsonAsNumber(*value));
}

// A two-column table of names and counts (the API's ranked arrays).
std::string RankedTable(const Json& cause, std::string_view key, std::string_view name,
                        std::string_view heading) {
  const Json* entries = JsonFind(cause, key);
  if (entries == nullptr || JsonArray(*entries).empty()) return "";
  std::string out = "<table class=\"ranked\" id=\"" + std::string(key) + "\"><thead><tr><th>" +
                    std::string(heading) + "</th><th>Errors</th></tr></thead><tbody>";
  for (const Json& entry : JsonArray(*entries)) {
    const std::string text = JsonString(entry, name);
    out += "<tr><td>" +
           (text.empty() ? std::string("<span class=\"muted\">(none)</span>") : HtmlEscape(text)) +
           "</td><td class=\"num\">" + std::to_string(Integer(entry, "count")) + "</td></tr>";
  }
  return out + "</tbody></table>";
}

}  // namespace

std::string CauseBody(const Json& cause, std::string_view window) {
  const std::string id = JsonString(cause, "cause");
  const std::string severity = JsonString(cause, "severity");
  std::string body = "<h1><code>" + HtmlEscape(id) + "</code>";
  if (!severity.empty()) {
    body += " <span class=\"badge severity-" + HtmlEscape(severity) + "\">" + HtmlEscape(severity) +
            "</span>";
  }
  body += "</h1>";
  const bool all = window == kAllLogTime;
  if (!all) body += "<nav class=\"windows\" aria-label=\"Window\">";
  for (const std::string_view option : kOverviewWindows) {
    if (all) break;
    if (option == window) {
      body += "<strong aria-current=\"true\">" + std::string(option) + "</strong>";
    } else {
      body += "<a href=\"/ui/causes/" + HtmlEscape(id) + "?since=" + std::string(option) + "\">" +
              std::string(option) + "</a>";
    }
  }
  if (!all) body += "<a href=\"/?since=" + HtmlEscape(window) + "\">all causes</a></nav>";
  const std::string summary = JsonString(cause, "summary");
  if (!summary.empty())
    body += "<p class=\"summary\" id=\"summary\">" + HtmlEscape(summary) + "</p>";
  const std::string runbook = JsonString(cause, "runbook");
  if (runbook.starts_with("https://") || runbook.starts_with("http://")) {
    body += "<p>Runbook: <a id=\"runbook\" href=\"" + HtmlEscape(runbook) + "\">" +
            HtmlEscape(runbook) + "</a></p>";
  } else if (!runbook.empty()) {
    body += "<p>Runbook: <code id=\"runbook\">" + HtmlEscape(runbook) +
            "</code> in the registry-rca repository</p>";
  }
  const std::string until = JsonString(cause, "until");
  body += "<p id=\"window\">" + std::to_string(Integer(cause, "count")) +
          (all ? std::string(" error responses in all the log time read")
               : " error responses in the last " + HtmlEscape(window) + " of log time") +
          (until.empty() ? std::string() : " up to " + HtmlEscape(until)) + " " +
          Sparkline(JsonFind(cause, "series")) + "</p>";
  body += "<div class=\"columns\">" +
          RankedTable(cause, "repositories", "repository", "Repository") +
          RankedTable(cause, "operations", "operation", "Operation") + "</div>";

  const Json* examples = JsonFind(cause, "examples");
  if (examples != nullptr && !JsonArray(*examples).empty()) {
    body +=
        "<h2>Latest error responses</h2><table id=\"examples\"><thead><tr><th>Time</th>"
        "<th>Status</th><th>Operation</th><th>Repository</th><th>Request</th><th>Upload</th>"
        "<th>Error detail</th></tr></thead><tbody>";
    for (const Json& example : JsonArray(*examples)) {
      const std::string upload = JsonString(example, "upload_uuid");
      body += "<tr class=\"example\"><td>" + HtmlEscape(JsonString(example, "time")) +
              "</td><td class=\"num\">" + std::to_string(Integer(example, "status")) + "</td><td>" +
              HtmlEscape(JsonString(example, "operation")) + "</td><td class=\"what\">" +
              HtmlEscape(JsonString(example, "repository")) + "</td><td class=\"what\">" +
              HtmlEscape(JsonString(example, "request_id")) + "</td><td>" +
              (upload.empty() ? std::string()
                              : "<a href=\"/ui/uploads/" + HtmlEscape(upload) + "\">timeline</a>") +
              "</td><td class=\"what\">" + HtmlEscape(JsonString(example, "detail")) + "</td></tr>";
    }
    body += "</tbody></table>";
  }
  const Json* uploads = JsonFind(cause, "uploads");
  if (uploads != nullptr && !JsonArray(*uploads).empty()) {
    body += "<h2>Uploads involved</h2><ul id=\"uploads\">";
    for (const Json& upload : JsonArray(*uploads)) {
      body += "<li><a href=\"/ui/uploads/" + HtmlEscape(JsonAsString(upload)) + "\"><code>" +
              HtmlEscape(JsonAsString(upload)) + "</code></a></li>";
    }
    body += "</ul>";
  }
  if (!all) {
    body += "<p class=\"muted\"><a href=\"/api/v1/causes/" + HtmlEscape(id) +
            "?since=" + HtmlEscape(window) + "\">This page as JSON</a></p>";
  }
  return body;
}

}  // namespace rrca::ui
