#pragma once

#include <string>
#include <string_view>

#include "common/json.h"
#include "exporter/web/http_server.h"

// The pieces every page of the built-in web UI shares: escaping, the page frame, the style
// sheet (compiled in, served with an ETag) and the headers that keep log content inert.
//
// Everything on a page that came from a log (repository names, URIs, error details, file
// names) goes through HtmlEscape; pages carry no inline script or style, and the
// Content-Security-Policy refuses both, so a hostile line that slipped through could still not
// run. Stateless functions; thread-safe.
namespace rrca::ui {

// Text for an HTML element or a quoted attribute value: & < > " ' escaped, invalid UTF-8
// replaced by U+FFFD, other control characters than tab and newline replaced by U+FFFD.
std::string HtmlEscape(std::string_view text);

// The value of parameter `name` in a query string, decoded; "" when absent.
std::string QueryParameter(std::string_view query, std::string_view name);

// A whole page: the frame (title, style sheet, header with the search box) around `body_html`.
// `title` is text (escaped here); `body_html` must already be escaped HTML.
std::string Page(std::string_view title, std::string_view body_html);

// A whole page that stands alone (analyze's HTML report, opened from disk): the style sheet
// inline, no search box, nothing loaded from anywhere. Same contract for `body_html`.
std::string OfflinePage(std::string_view title, std::string_view body_html);

// A cause's errors over a window as bars, one per slice of an API's "series" array (null or
// empty: ""), scaled to its own busiest slice; inline SVG.
std::string Sparkline(const Json* series);

// The response for a page: text/html, the UI's Content-Security-Policy, no caching.
web::HttpResponse PageResponse(int status, std::string body_html);

// GET /ui/app.css: the style sheet, 304 when If-None-Match names its ETag.
web::HttpResponse StyleSheet(const web::HttpRequest& request);

// The policy sent with every page: no script, no inline style, nothing from elsewhere.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'";

}  // namespace rrca::ui
