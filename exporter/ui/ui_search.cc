#include "exporter/ui/ui_search.h"

#include "exporter/ui/ui_page.h"

namespace rrca::exporter::ui {

std::string SearchBody(const JsonValue& search) {
  const std::string query = search.GetString("query");
  const JsonValue* matches = search.Find("matches");
  std::string body = "<h1>Search</h1>";
  if (matches == nullptr || matches->AsArray().empty()) {
    return body + "<p id=\"not-found\">Nothing is known by <code>" + HtmlEscape(query) +
           "</code>: no upload with this UUID, and no recent error with this request id, upload "
           "or repository.</p>";
  }
  const JsonValue* truncated = search.Find("truncated");
  body += "<p id=\"found\">Recent errors with request id, upload or repository <code>" +
          HtmlEscape(query) + "</code>, newest first" +
          (truncated != nullptr && truncated->AsBool() ? " (the newest 50)" : "") +
          ":</p><table id=\"matches\"><thead><tr><th>Time</th><th>Cause</th><th>Status</th>"
          "<th>Operation</th><th>Repository</th><th>Request</th><th>Upload</th>"
          "<th>Error detail</th></tr></thead><tbody>";
  for (const JsonValue& match : matches->AsArray()) {
    const std::string cause = match.GetString("cause");
    const std::string upload = match.GetString("upload_uuid");
    const JsonValue* status = match.Find("status");
    body += "<tr class=\"match\"><td>" + HtmlEscape(match.GetString("time")) +
            "</td><td><a href=\"/ui/causes/" + HtmlEscape(cause) + "?since=24h\"><code>" +
            HtmlEscape(cause) + "</code></a></td><td class=\"num\">" +
            std::to_string(status == nullptr ? 0 : static_cast<long long>(status->AsNumber())) +
            "</td><td>" + HtmlEscape(match.GetString("operation")) + "</td><td class=\"what\">" +
            HtmlEscape(match.GetString("repository")) + "</td><td class=\"what\">" +
            HtmlEscape(match.GetString("request_id")) + "</td><td>" +
            (upload.empty() ? std::string()
                            : "<a href=\"/ui/uploads/" + HtmlEscape(upload) + "\">timeline</a>") +
            "</td><td class=\"what\">" + HtmlEscape(match.GetString("detail")) + "</td></tr>";
  }
  return body + "</tbody></table>";
}

}  // namespace rrca::exporter::ui
