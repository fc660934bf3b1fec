#include "exporter/ui/ui_search.h"

#include "exporter/ui/ui_page.h"

namespace rrca::ui {

std::string SearchBody(const Json& search) {
  const std::string query = JsonString(search, "query");
  const Json* matches = JsonFind(search, "matches");
  std::string body = "<h1>Search</h1>";
  if (matches == nullptr || JsonArray(*matches).empty()) {
    return body + "<p id=\"not-found\">Nothing is known by <code>" + HtmlEscape(query) +
           "</code>: no upload with this UUID, and no recent error with this request id, upload "
           "or repository.</p>";
  }
  const Json* truncated = JsonFind(search, "truncated");
  body += "<p id=\"found\">Recent errors with request id, upload or repository <code>" +
          HtmlEscape(query) + "</code>, newest first" +
          (truncated != nullptr && JsonAsBool(*truncated) ? " (the newest 50)" : "") +
          ":</p><table id=\"matches\"><thead><tr><th>Time</th><th>Cause</th><th>Status</th>"
          "<th>Operation</th><th>Repository</th><th>Request</th><th>Upload</th>"
          "<th>Error detail</th></tr></thead><tbody>";
  for (const Json& match : JsonArray(*matches)) {
    const std::string cause = JsonString(match, "cause");
    const std::string upload = JsonString(match, "upload_uuid");
    const Json* status = JsonFind(match, "status");
    body += "<tr class=\"match\"><td>" + HtmlEscape(JsonString(match, "time")) +
            "</td><td><a href=\"/ui/causes/" + HtmlEscape(cause) + "?since=24h\"><code>" +
            HtmlEscape(cause) + "</code></a></td><td class=\"num\">" +
            std::to_string(status == nullptr ? 0 : static_cast<long long>(JsonAsNumber(*status))) +
            "</td><td>" + HtmlEscape(JsonString(match, "operation")) + "</td><td class=\"what\">" +
            HtmlEscape(JsonString(match, "repository")) + "</td><td class=\"what\">" +
            HtmlEscape(JsonString(match, "request_id")) + "</td><td>" +
            (upload.empty() ? std::string()
                            : "<a href=\"/ui/uploads/" + HtmlEscape(upload) + "\">timeline</a>") +
            "</td><td class=\"what\">" + HtmlEscape(JsonString(match, "detail")) + "</td></tr>";
  }
  return body + "</tbody></table>";
}

}  // namespace rrca::ui
