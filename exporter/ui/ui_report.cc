#include "exporter/ui/ui_report.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "exporter/ui/ui_cause.h"
#include "exporter/ui/ui_overview.h"
#include "exporter/ui/ui_page.h"
#include "exporter/ui/ui_timeline.h"

namespace rrca::ui {
namespace {

constexpr std::string_view kUploadsRoute = "/ui/uploads/";
constexpr std::string_view kCausesRoute = "/ui/causes/";

// Rewrites the links of a rendered view for a file of its own: a timeline or cause drawn in
// the report becomes an anchor inside it, any other link (the daemon's routes, the JSON APIs,
// a runbook on the web) its text only. Safe on rendered views only: everything from a log went
// through HtmlEscape, so `<a `, `>` and `"` occur only in the renderers' own markup.
std::string LocalLinks(std::string_view html, const std::set<std::string>& uploads,
                       const std::set<std::string>& causes) {
  std::string out;
  out.reserve(html.size());
  constexpr std::string_view kHref = " href=\"";
  size_t at = 0;
  while (true) {
    const size_t link = html.find("<a ", at);
    const size_t tag_end = link == std::string_view::npos ? link : html.find('>', link);
    const size_t close = tag_end == std::string_view::npos ? tag_end : html.find("</a>", tag_end);
    if (close == std::string_view::npos) break;
    out.append(html.substr(at, link - at));
    const std::string_view tag = html.substr(link, tag_end - link);
    const size_t href = tag.find(kHref);
    const size_t url_start = href == std::string_view::npos ? href : href + kHref.size();
    const std::string_view url = url_start == std::string_view::npos
                                     ? std::string_view()
                                     : tag.substr(url_start, tag.find('"', url_start) - url_start);
    std::string anchor;
    if (url.starts_with(kUploadsRoute)) {
      const std::string uuid(url.substr(kUploadsRoute.size()));
      if (uploads.contains(uuid)) anchor = "#upload-" + uuid;
    } else if (url.starts_with(kCausesRoute)) {
      const std::string_view rest = url.substr(kCausesRoute.size());
      const std::string cause(rest.substr(0, rest.find('?')));
      if (causes.contains(cause)) anchor = "#cause-" + cause;
    } else if (url.starts_with("#")) {
      anchor = std::string(url);
    }
    if (!anchor.empty()) out += "<a href=\"" + anchor + "\">";
    out.append(html.substr(tag_end + 1, close - tag_end - 1));  // the link's text
    if (!anchor.empty()) out += "</a>";
    at = close + 4;
  }
  out.append(html.substr(at));
  return out;
}

// Element ids made unique in the one document: each view's ids get the view's prefix (the
// renderers' own markup is the only place `id="` occurs, as above).
std::string PrefixIds(std::string_view html, std::string_view prefix) {
  std::string out;
  constexpr std::string_view kId = " id=\"";
  size_t at = 0;
  for (size_t found; (found = html.find(kId, at)) != std::string_view::npos;) {
    out.append(html.substr(at, found + kId.size() - at));
    out.append(prefix);
    out += '-';
    at = found + kId.size();
  }
  out.append(html.substr(at));
  return out;
}

}  // namespace

std::string OfflineReport(const ReportInput& input) {
  std::set<std::string> uploads, causes;
  for (const Json& upload : input.uploads) uploads.insert(JsonString(upload, "upload_uuid"));
  for (const Json& cause : input.cause_pages) causes.insert(JsonString(cause, "cause"));

  std::string body =
      "<p class=\"muted\" id=\"report-files\">Report of <code>registry-rca "
      "analyze</code> over";
  for (const std::string& file : input.files) body += " <code>" + HtmlEscape(file) + "</code>";
  body += ". Contents: <a href=\"#overview\">overview</a>";
  if (!causes.empty()) body += ", <a href=\"#causes\">causes</a>";
  if (!uploads.empty()) body += ", <a href=\"#uploads\">upload timelines</a>";
  body += ".</p>";

  body += "<section class=\"part\" id=\"overview\">";
  if (input.causes != nullptr && input.latency != nullptr) {
    body += PrefixIds(
        LocalLinks(OverviewBody(*input.causes, *input.latency, kAllLogTime, ""), uploads, causes),
        "overview");
  }
  body += "</section><div id=\"causes\">";
  for (const Json& cause : input.cause_pages) {
    const std::string id = "cause-" + JsonString(cause, "cause");
    body += "<section class=\"part cause\" id=\"" + HtmlEscape(id) + "\">" +
            PrefixIds(LocalLinks(CauseBody(cause, kAllLogTime), uploads, causes), HtmlEscape(id)) +
            "</section>";
  }
  body += "</div><div id=\"uploads\">";
  for (const Json& upload : input.uploads) {
    const std::string id = "upload-" + JsonString(upload, "upload_uuid");
    body += "<section class=\"part upload\" id=\"" + HtmlEscape(id) + "\">" +
            PrefixIds(LocalLinks(UploadTimelineBody(upload), uploads, causes), HtmlEscape(id)) +
            "</section>";
  }
  if (input.uploads_left_out > 0) {
    body += "<p class=\"muted\" id=\"uploads-left-out\">" + std::to_string(input.uploads_left_out) +
            " more upload timelines are not drawn (the report's bound); <code>registry-rca "
            "serve</code> shows every one kept.</p>";
  }
  body += "</div>";
  return OfflinePage("Report", body);
}

}  // namespace rrca::ui
