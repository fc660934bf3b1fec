#include "exporter/ui/ui_timeline.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "common/time_util.h"
#include "exporter/ui/ui_page.h"

namespace rrca::ui {
namespace {

// The drawing's geometry, in SVG user units (the SVG scales to the page width).
constexpr double kWidth = 960;
constexpr double kPlotLeft = 130;
constexpr double kPlotRight = 940;
constexpr double kRowHeight = 16;
constexpr double kBarHeight = 11;
constexpr double kLanePadding = 8;
constexpr double kTop = 22;      // room for the race label
constexpr size_t kMaxRows = 12;  // more overlapping events share the last row
constexpr double kMinBarWidth = 2;

std::string Printf(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string Printf(const char* format, ...) {
  char buffer[256];
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  return std::string(buffer, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), 255));
}

enum class Lane : uint8_t { kHop, kRegistry, kStore };

// One drawn response or store call: an entry of the explain JSON's "events" (registry or store
// lane) or of its optional "hops" (the proxy / core lane).
struct Event {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  bool has_duration = false;
  Lane lane = Lane::kRegistry;
  int status = 0;
  std::string what, source, time_text, line;
  std::string uri, cause;  // hops only
  bool has_line = false;
  size_t row = 0;
  bool store() const { return lane == Lane::kStore; }
  bool error() const { return status == 0 || status >= 400; }
  bool registry_call(std::string_view method) const {
    return lane == Lane::kRegistry && std::string_view(what).starts_with(method);
  }
};

// The fields both arrays share: time, status, duration, source and raw line.
bool ParseCommon(const Json& item, Event* event) {
  event->time_text = JsonString(item, "time");
  if (!ParseRfc3339(event->time_text, &event->start_ns)) return false;
  event->source = JsonString(item, "source");
  const Json* line = JsonFind(item, "line");
  event->has_line = line != nullptr && line->is_string();
  if (event->has_line) event->line = JsonAsString(*line);
  if (const Json* status = JsonFind(item, "status"); status != nullptr && status->is_number()) {
    event->status = static_cast<int>(JsonAsNumber(*status));
  }
  const Json* duration = JsonFind(item, "duration_seconds");
  event->has_duration = duration != nullptr && duration->is_number();
  const double seconds = event->has_duration ? std::max(0.0, JsonAsNumber(*duration)) : 0;
  event->end_ns = SaturatingAdd(event->start_ns, static_cast<int64_t>(seconds * 1e9));
  return true;
}

std::vector<Event> EventsOf(const Json& explain) {
  std::vector<Event> events;
  if (const Json* list = JsonFind(explain, "events"); list != nullptr && list->is_array()) {
    for (const Json& item : JsonArray(*list)) {
      Event event;
      if (!ParseCommon(item, &event)) continue;
      event.lane = JsonString(item, "side") == "store" ? Lane::kStore : Lane::kRegistry;
      event.what = JsonString(item, "what");
      events.push_back(std::move(event));
    }
  }
  // The hops in front of the registry (Harbor's nginx, core): each response the client got.
  if (const Json* list = JsonFind(explain, "hops"); list != nullptr && list->is_array()) {
    for (const Json& item : JsonArray(*list)) {
      Event event;
      if (!ParseCommon(item, &event)) continue;
      event.lane = Lane::kHop;
      event.uri = JsonString(item, "uri");
      event.cause = JsonString(item, "cause");
      event.what = JsonString(item, "hop") + " " + JsonString(item, "method") + " " +
                   (event.status > 0 ? std::to_string(event.status) : std::string("unknown"));
      if (!event.cause.empty()) event.what += " " + event.cause;
      events.push_back(std::move(event));
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.start_ns < b.start_ns; });
  return events;
}

// Greedy interval packing per lane: each event goes to the first row free at its start.
size_t PackRows(std::vector<Event>& events, Lane lane, double ns_per_unit) {
  std::vector<int64_t> row_end;
  // Bars are at least kMinBarWidth wide: a row is free once that much has passed too.
  const auto min_span = static_cast<int64_t>(kMinBarWidth * ns_per_unit) + 1;
  for (Event& event : events) {
    if (event.lane != lane) continue;
    const int64_t end = std::max(event.end_ns, event.start_ns + min_span);
    size_t row = 0;
    while (row < row_end.size() && row_end[row] >= event.start_ns) ++row;
    if (row >= kMaxRows) row = kMaxRows - 1;
    if (row >= row_end.size()) row_end.resize(row + 1, 0);
    row_end[row] = std::max(row_end[row], end);
    event.row = row;
  }
  return std::max<size_t>(row_end.size(), 1);
}

// A tick step of 1, 2 or 5 times a power of ten giving about `target` ticks over `span`.
double TickStep(double span_seconds, int target) {
  const double raw = span_seconds / target;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double factor : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= factor * power) return factor * power;
  }
  return 10 * power;
}

std::string Seconds(double seconds) {
  if (std::fabs(seconds) < 1) return Printf("%+.3f s", seconds);
  return Printf("%+.2f s", seconds);
}

double NumberOr(const Json* object, std::string_view key, double fallback) {
  const Json* value = object == nullptr ? nullptr : JsonFind(*object, key);
  return value != nullptr && value->is_number() ? JsonAsNumber(*value) : fallback;
}

// The log cell: the source file, and the raw line behind a disclosure (no script needed).
std::string LogCell(const Event& event) {
  if (!event.has_line) return HtmlEscape(event.source);
  return "<details class=\"raw\"><summary>" + HtmlEscape(event.source) +
         "</summary><pre class=\"raw\">" + HtmlEscape(event.line) + "</pre></details>";
}

// The events as a table (without script, for copying, for screen readers): the registry and
// store events (`lane` kRegistry) or the hops (kHop).
std::string EventTable(const std::vector<Event>& events, int64_t origin_ns, Lane lane,
                       std::string_view id) {
  const bool hops = lane == Lane::kHop;
  std::string body = hops ? "<h2>Hops in front of the registry</h2>" : "<h2>Events</h2>";
  body += "<table id=\"" + std::string(id) +
          "\" class=\"events\"><thead><tr><th>After POST</th><th>Time</th><th>Lane</th>"
          "<th>What</th><th>Status</th><th>Duration</th><th>Log</th></tr></thead><tbody>";
  for (const Event& event : events) {
    if ((event.lane == Lane::kHop) != hops) continue;
    std::string what = HtmlEscape(event.what);
    if (!event.uri.empty()) what += "<br><code>" + HtmlEscape(event.uri) + "</code>";
    body += std::string("<tr class=\"") + (event.error() ? "error" : "ok") +
            "\"><td class=\"num\">" + Seconds((event.start_ns - origin_ns) / 1e9) + "</td><td>" +
            HtmlEscape(event.time_text) + "</td><td>" +
            (hops            ? "proxy · core"
             : event.store() ? "store"
                             : "registry") +
            "</td><td class=\"what\">" + what + "</td><td class=\"status\">" +
            std::to_string(event.status) + "</td><td class=\"num\">" +
            (event.has_duration ? Printf("%.3f s", (event.end_ns - event.start_ns) / 1e9)
                                : std::string("–")) +
            "</td><td class=\"source\">" + LogCell(event) + "</td></tr>";
  }
  return body + "</tbody></table>";
}

}  // namespace

std::string UploadTimelineBody(const Json& explain) {
  std::vector<Event> events = EventsOf(explain);
  const std::string uuid = JsonString(explain, "upload_uuid");
  const std::string outcome = JsonString(explain, "outcome", "open");
  const Json* visibility = JsonFind(explain, "visibility");
  const std::string kind = visibility == nullptr ? "" : JsonString(*visibility, "kind");

  // The origin: the POST that started the upload, else the first event.
  int64_t origin_ns = events.empty() ? 0 : events.front().start_ns;
  for (const Event& event : events) {
    if (event.registry_call("POST")) {
      origin_ns = event.start_ns;
      break;
    }
  }
  // The visibility interval, absolute, when the create's start is known.
  int64_t create_ns = 0;
  int64_t visible_from_ns = 0, visible_by_ns = 0, ack_ns = 0;
  const bool has_create =
      visibility != nullptr && ParseRfc3339(JsonString(*visibility, "create_start"), &create_ns);
  if (has_create) {
    const double lower = NumberOr(visibility, "lower_seconds", -1);
    const double upper = NumberOr(visibility, "upper_seconds", -1);
    const double ack = NumberOr(visibility, "acknowledged_seconds", -1);
    if (lower >= 0) visible_from_ns = create_ns + static_cast<int64_t>(lower * 1e9);
    if (upper >= 0) visible_by_ns = create_ns + static_cast<int64_t>(upper * 1e9);
    if (ack >= 0) ack_ns = create_ns + static_cast<int64_t>(ack * 1e9);
  }

  int64_t low_ns = origin_ns, high_ns = origin_ns;
  for (const Event& event : events) {
    low_ns = std::min(low_ns, event.start_ns);
    high_ns = std::max(high_ns, event.end_ns);
  }
  for (const int64_t t : {visible_from_ns, visible_by_ns, ack_ns}) {
    if (t != 0) high_ns = std::max(high_ns, t);
  }
  if (visible_from_ns != 0 && visible_by_ns == 0) {  // a lower bound: leave room to its right
    high_ns += std::max<int64_t>((high_ns - low_ns) / 10, 1'000'000);
  }
  high_ns = std::max(high_ns, low_ns + 1'000'000);
  const double span_ns = static_cast<double>(high_ns - low_ns);
  const double plot_width = kPlotRight - kPlotLeft;
  auto x = [&](int64_t t) {
    return kPlotLeft + static_cast<double>(t - low_ns) / span_ns * plot_width;
  };

  const double ns_per_unit = span_ns / plot_width;
  const bool has_hops = std::any_of(events.begin(), events.end(),
                                    [](const Event& event) { return event.lane == Lane::kHop; });
  // Lanes top to bottom: the hops in front (only when the JSON has them), registry, store.
  double lane_top[3] = {0, 0, 0};
  double lane_height[3] = {0, 0, 0};
  double next_top = kTop;
  for (const Lane lane : {Lane::kHop, Lane::kRegistry, Lane::kStore}) {
    if (lane == Lane::kHop && !has_hops) continue;
    const size_t i = static_cast<size_t>(lane);
    lane_top[i] = next_top;
    lane_height[i] = PackRows(events, lane, ns_per_unit) * kRowHeight + 2 * kLanePadding;
    next_top += lane_height[i] + 6;
  }
  const double registry_top = lane_top[static_cast<size_t>(Lane::kRegistry)];
  const double store_top = lane_top[static_cast<size_t>(Lane::kStore)];
  const double axis_y = next_top - 6;
  const double height = axis_y + 24;

  std::string body;
  body += "<h1>Upload <code>" + HtmlEscape(uuid) + "</code> <span class=\"badge " +
          HtmlEscape(outcome) + "\" id=\"outcome\">" + HtmlEscape(outcome) + "</span></h1>";
  const bool raced = outcome.starts_with("raced");
  body += std::string("<p class=\"verdict") + (raced ? "" : " calm") + "\" id=\"verdict\">" +
          HtmlEscape(JsonString(explain, "verdict", "No verdict yet.")) + "</p>";
  body += "<dl class=\"facts\"><dt>Repository</dt><dd id=\"repository\">" +
          HtmlEscape(JsonString(explain, "repository")) + "</dd>";
  if (visibility != nullptr) {
    body += "<dt>Create to visible</dt><dd id=\"visibility-text\">" +
            HtmlEscape(JsonString(*visibility, "text")) + "</dd>";
  }
  const double gap = NumberOr(&explain, "client_gap_seconds", -1);
  if (gap >= 0) {
    body += "<dt>POST answered to first PATCH</dt><dd>" + Printf("%.3f s", gap) + "</dd>";
  }
  const double unsafe = NumberOr(&explain, "unsafe_window_seconds", -1);
  if (unsafe >= 0) body += "<dt>Unsafe window</dt><dd>" + Printf("%.3f s", unsafe) + "</dd>";
  body += "<dt>Raw data</dt><dd><a href=\"/api/v1/uploads/" + HtmlEscape(uuid) +
          "\">JSON</a></dd></dl>";

  // The drawing.
  body += Printf(
      "<svg class=\"timeline\" id=\"timeline\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
      "aria-label=\"Timeline of the upload\" xmlns=\"http://www.w3.org/2000/svg\">",
      kWidth, height);
  static constexpr const char* kLaneNames[] = {"proxy · core", "client · registry", "store"};
  static constexpr const char* kLaneIds[] = {"lane-hops", "lane-registry", "lane-store"};
  for (size_t i = 0; i < 3; ++i) {
    if (lane_height[i] == 0) continue;
    body += Printf(
        "<rect class=\"lane\" id=\"%s\" x=\"0\" y=\"%.1f\" width=\"%.0f\" height=\"%.1f\"/>"
        "<text class=\"lane-label\" x=\"8\" y=\"%.1f\">%s</text>",
        kLaneIds[i], lane_top[i], kWidth, lane_height[i], lane_top[i] + 16, kLaneNames[i]);
  }
  const double lanes_top = has_hops ? lane_top[0] : registry_top, lanes_bottom = axis_y;
  // Axis ticks relative to the origin.
  const double step = TickStep(span_ns / 1e9, 8);
  const double first_tick = std::ceil((low_ns - origin_ns) / 1e9 / step) * step;
  for (double tick = first_tick; tick * 1e9 <= high_ns - origin_ns + 1; tick += step) {
    const double tx = x(origin_ns + static_cast<int64_t>(tick * 1e9));
    body += Printf(
        "<line class=\"tick\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
        tx, lanes_top, tx, axis_y + 4, tx, axis_y + 16,
        Seconds(std::fabs(tick) < step / 1e6 ? 0 : tick).c_str());
  }
  // What is known of visibility, across the registry and store lanes.
  if (visible_from_ns != 0) {
    const double from = x(visible_from_ns);
    const double to = visible_by_ns != 0 ? x(visible_by_ns) : kPlotRight;
    body += Printf(
        "<rect class=\"visibility\" id=\"visibility\" data-kind=\"%s\" x=\"%.1f\" y=\"%.1f\" "
        "width=\"%.1f\" height=\"%.1f\"><title>",
        HtmlEscape(kind).c_str(), from, registry_top, std::max(to - from, 1.0),
        lanes_bottom - registry_top);
    body += HtmlEscape(JsonString(*visibility, "text")) + "</title></rect>";
    body +=
        Printf("<line class=\"visibility-edge\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
               from, registry_top, from, lanes_bottom);
  }
  if (ack_ns != 0) {
    body += Printf(
        "<line class=\"ack\" id=\"acknowledged\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
        "y2=\"%.1f\"><title>the store acknowledged the create</title></line>",
        x(ack_ns), store_top, x(ack_ns), lanes_bottom);
  }
  // The events; each one's tooltip ends with its raw log line.
  for (const Event& event : events) {
    const double top = lane_top[static_cast<size_t>(event.lane)] + kLanePadding +
                       event.row * kRowHeight + (kRowHeight - kBarHeight) / 2;
    const double left = x(event.start_ns);
    const double width = std::max(x(event.end_ns) - left, kMinBarWidth);
    const double relative = (event.start_ns - origin_ns) / 1e9;
    // Hops get their own class: "event" is one entry of the JSON's "events" array.
    std::string classes = event.lane == Lane::kHop ? "hop-event " : "event ";
    classes += event.error() ? "error" : "ok";
    classes += event.lane == Lane::kHop     ? " hop"
               : event.lane == Lane::kStore ? " store"
                                            : " registry";
    body += Printf("<g class=\"%s\" data-status=\"%d\" data-start=\"%.6f\">", classes.c_str(),
                   event.status, relative);
    body += Printf("<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" rx=\"2\"/>", left,
                   top, width, kBarHeight);
    body += "<title>" + HtmlEscape(event.what) + " · " + Seconds(relative);
    if (event.has_duration) {
      body += Printf(" · %.3f s", (event.end_ns - event.start_ns) / 1e9);
    }
    if (!event.uri.empty()) body += " · " + HtmlEscape(event.uri);
    body += " · " + HtmlEscape(event.time_text) + " · " + HtmlEscape(event.source);
    if (event.has_line) body += "\n" + HtmlEscape(event.line);
    body += "</title></g>";
  }
  // The race: the first PATCH, when the evidence says it came before the upload was visible.
  if (raced) {
    for (const Event& event : events) {
      if (!event.registry_call("PATCH")) continue;
      const double rx = x(event.start_ns);
      body += Printf(
          "<line class=\"race\" id=\"race\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
          "<text class=\"race-label\" x=\"%.1f\" y=\"14\" text-anchor=\"middle\">first PATCH "
          "(raced)</text>",
          rx, lanes_top - 4, rx, lanes_bottom, rx);
      break;
    }
  }
  body += "</svg>";
  body +=
      "<p class=\"legend muted\"><span><i class=\"ok\"></i>registry request answered "
      "&lt;400</span><span><i class=\"error\"></i>error</span><span><i class=\"store\"></i>store "
      "request</span><span><i class=\"vis\"></i>when the upload became visible (as far as the "
      "logs tell)</span>";
  if (has_hops) body += "<span><i class=\"hop\"></i>answered by a hop in front, &lt;400</span>";
  body += "</p>";

  // An access log in the S3 server format has whole seconds: say so rather than mislead.
  const bool coarse_store = std::any_of(events.begin(), events.end(), [](const Event& event) {
    return event.store() && event.start_ns % 1'000'000'000 == 0;
  });
  if (coarse_store) {
    body +=
        "<p class=\"muted\" id=\"store-resolution\">The store's log gives whole seconds: its "
        "requests are drawn at the start of their second.</p>";
  }
  body += EventTable(events, origin_ns, Lane::kRegistry, "events");
  if (has_hops) body += EventTable(events, origin_ns, Lane::kHop, "hops");
  return body;
}

std::string UnknownUploadBody(std::string_view uuid) {
  return "<h1>Unknown upload</h1><p id=\"not-found\">No upload <code>" + HtmlEscape(uuid) +
         "</code> is known: it may not have been seen in the logs read, or it was forgotten "
         "(timelines are kept for a bounded number of recent uploads).</p>";
}

}  // namespace rrca::ui
