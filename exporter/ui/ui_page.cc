#include "exporter/ui/ui_page.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "common/codecs.h"
#include "common/json_escape.h"

namespace rrca::ui {
namespace {

// The whole style sheet. Lanes, events and the visibility interval are styled by class, so
// the SVG needs no style attributes (which the policy refuses).
constexpr std::string_view kStyleSheet = R"css(
:root{--fg:#1d2330;--muted:#5b6475;--line:#d5dae3;--bg:#fff;--ok:#2f855a;--err:#c53030;
--store:#2b6cb0;--vis:#f6e05e;--race:#c53030}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg)}
header{display:flex;gap:1.5em;align-items:center;padding:.6em 1.2em;background:#1d2330;color:#fff}
header a{color:#fff;text-decoration:none;font-weight:600}
header form{margin-left:auto}
header input{width:26em;max-width:50vw;padding:.3em .5em;border-radius:4px;border:0}
main{padding:1em 1.2em;max-width:1200px}
h1{font-size:1.3em;margin:.2em 0 .4em;overflow-wrap:anywhere}
h2{font-size:1.05em;margin:1.4em 0 .4em}
.muted{color:var(--muted)}
.badge{display:inline-block;padding:.05em .55em;border-radius:9px;font-size:.85em;
background:#e2e8f0;vertical-align:middle}
.badge.raced_failed,.badge.raced_recovered{background:#fed7d7;color:#822727}
.badge.completed{background:#c6f6d5;color:#22543d}
.verdict{font-size:1.05em;padding:.6em .8em;border-left:4px solid var(--race);background:#fff5f5;
overflow-wrap:anywhere}
.verdict.calm{border-color:var(--ok);background:#f0fff4}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:.6em 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
.timeline{width:100%;height:auto;border:1px solid var(--line);border-radius:4px}
.timeline text{font-size:11px;fill:var(--muted)}
.timeline .lane-label{font-size:12px;font-weight:600;fill:var(--fg)}
.timeline .lane{fill:#f7f9fc}
.timeline .tick{stroke:var(--line)}
.timeline .event.ok rect{fill:var(--ok)}
.timeline .event.error rect{fill:var(--err)}
.timeline .event.store rect{fill:var(--store)}
.timeline .event.store.error rect{fill:var(--err)}
.timeline .event:hover rect{stroke:#000;stroke-width:1}
.timeline .visibility{fill:var(--vis);fill-opacity:.45}
.timeline .visibility-edge{stroke:#b7791f;stroke-dasharray:3 2}
.timeline .race{stroke:var(--race);stroke-width:2}
.timeline .race-label{fill:var(--race);font-weight:600}
.timeline .ack{stroke:var(--store);stroke-dasharray:2 2}
table{border-collapse:collapse;width:100%;margin:.4em 0}
th,td{text-align:left;padding:.25em .6em;border-bottom:1px solid var(--line);vertical-align:top}
td.what,td.source{overflow-wrap:anywhere}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.error td.status{color:var(--err);font-weight:600}
.legend span{margin-right:1.2em}
.legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:-1px}
.legend .ok{background:var(--ok)}.legend .error{background:var(--err)}
.legend .store{background:var(--store)}.legend .vis{background:var(--vis)}
.legend .hop{background:#6b46c1}
nav.windows{margin:.2em 0 .6em}nav.windows a,nav.windows strong{margin-right:.9em}
svg.share{width:6em;height:.6em;vertical-align:middle}
.share-bg{fill:#edf2f7}.share-fg{fill:#4a5568}
svg.spark{width:7.2em;height:1.2em;vertical-align:middle;background:#f7f9fc}
.spark-bar{fill:#c53030}
.badge.severity-critical{background:#fed7d7;color:#822727}
.badge.severity-warning{background:#feebc8;color:#7b341e}
ul.links li{margin:.2em 0}
.columns{display:flex;gap:2em;flex-wrap:wrap}.columns table.ranked{width:auto;min-width:20em}
p.summary{max-width:60em}
details.raw summary{cursor:pointer;overflow-wrap:anywhere}
pre.raw{white-space:pre-wrap;overflow-wrap:anywhere;margin:.3em 0;padding:.3em .5em;font-size:12px;
background:#f7f9fc;max-height:20em;overflow:auto}
td code{overflow-wrap:anywhere}
.timeline .hop-event.ok rect{fill:#6b46c1}
.timeline .hop-event.error rect{fill:var(--err)}
.timeline .hop-event:hover rect{stroke:#000;stroke-width:1}
section.part{border-top:2px solid var(--line);margin-top:2em}
)css";

std::string StyleSheetTag() {
  // FNV-1a: a stable tag for the compiled-in sheet (changes with every edit of it).
  uint64_t hash = 1469598103934665603ull;
  for (const char c : kStyleSheet) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  char tag[24];
  std::snprintf(tag, sizeof(tag), "\"%016llx\"", static_cast<unsigned long long>(hash));
  return tag;
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  const std::string valid = SanitizeUtf8(text);
  std::string out;
  out.reserve(valid.size() + valid.size() / 8);
  for (const char c : valid) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') {
          out += "\xEF\xBF\xBD";
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string QueryParameter(std::string_view query, std::string_view name) {
  for (size_t start = 0; start <= query.size();) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(start, end - start);
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return QueryValueDecode(pair.substr(name.size() + 1));
    }
    start = end + 1;
  }
  return "";
}

std::string Page(std::string_view title, std::string_view body_html) {
  std::string page =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>";
  page += HtmlEscape(title);
  page +=
      " · registry-rca</title><link rel=\"stylesheet\" href=\"/ui/app.css\"></head><body>"
      "<header><a href=\"/\">registry-rca</a>"
      "<form action=\"/ui/search\" method=\"get\" role=\"search\">"
      "<input name=\"q\" aria-label=\"Search\" "
      "placeholder=\"Upload UUID, request id or repository\" "
      "maxlength=\"200\"></form></header><main>";
  page += body_html;
  page += "</main></body></html>\n";
  return page;
}

std::string Sparkline(const Json* series) {
  if (series == nullptr || JsonArray(*series).empty()) return "";
  const auto& slices = JsonArray(*series);
  double busiest = 0;
  for (const Json& slice : slices) busiest = std::max(busiest, JsonAsNumber(slice));
  constexpr double kBar = 3, kHeight = 16;
  char head[160];
  std::snprintf(
      head, sizeof(head),
      "<svg class=\"spark\" viewBox=\"0 0 %.0f %.0f\" preserveAspectRatio=\"none\" role=\"img\" "
      "aria-label=\"errors over the window\">",
      kBar * static_cast<double>(slices.size()), kHeight);
  std::string svg = head;
  for (size_t i = 0; i < slices.size(); ++i) {
    const double count = JsonAsNumber(slices[i]);
    const double height = busiest > 0 && count > 0 ? std::max(1.5, count / busiest * kHeight) : 0;
    char bar[160];
    std::snprintf(bar, sizeof(bar),
                  "<rect class=\"spark-bar\" x=\"%.1f\" y=\"%.2f\" width=\"%.1f\" "
                  "height=\"%.2f\"><title>%.0f</title></rect>",
                  kBar * static_cast<double>(i), kHeight - height, kBar - 0.6, height, count);
    svg += bar;
  }
  return svg + "</svg>";
}

std::string OfflinePage(std::string_view title, std::string_view body_html) {
  std::string page =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>";
  page += HtmlEscape(title);
  page += " · registry-rca</title><style>";
  page += kStyleSheet;
  page += "</style></head><body><header><strong>registry-rca</strong></header><main>";
  page += body_html;
  page += "</main></body></html>\n";
  return page;
}

web::HttpResponse PageResponse(int status, std::string body_html) {
  web::HttpResponse response{status, "text/html; charset=utf-8", std::move(body_html)};
  response.headers = "Content-Security-Policy: " + std::string(kContentSecurityPolicy) +
                     "\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n";
  return response;
}

web::HttpResponse StyleSheet(const web::HttpRequest& request) {
  static const std::string kTag = StyleSheetTag();
  web::HttpResponse response{200, "text/css; charset=utf-8", std::string(kStyleSheet)};
  if (request.if_none_match == kTag) {
    response.status = 304;
    response.body.clear();
  }
  // Revalidated on every use: a new build's sheet is picked up at once.
  response.cache_control = "no-cache";
  response.headers = "ETag: " + kTag + "\r\nX-Content-Type-Options: nosniff\r\n";
  return response;
}

}  // namespace rrca::ui
