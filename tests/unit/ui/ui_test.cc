#include <gtest/gtest.h>

#include <string>

#include "common/json.h"
#include "exporter/ui/ui_cause.h"
#include "exporter/ui/ui_overview.h"
#include "exporter/ui/ui_page.h"
#include "exporter/ui/ui_report.h"
#include "exporter/ui/ui_search.h"
#include "exporter/ui/ui_timeline.h"

// The web UI's rendering without a browser (tests/e2e/ui_browser_test.sh drives chromium):
// escaping, query parsing, and what the timeline draws for each kind of visibility evidence.
namespace rrca::ui {
namespace {

Json Parse(const std::string& text) {
  StatusOr<Json> parsed = ParseJson(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  return parsed.ok() ? parsed.value() : Json();
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// An upload like the lab's: POST at 0, the store's create acknowledged after 6 ms, a PATCH
// that failed at 75 ms, then (for `interval`) a PATCH that succeeded at 1.5 s.
std::string Explain(const std::string& kind, const std::string& outcome) {
  const bool interval = kind == "interval";
  std::string json = R"({"upload_uuid":"dd76ec6c-8952-4e17-921b-3a7532f1889a",
    "repository":"lab/app","outcome":")" +
                     outcome + R"(","verdict":"the first PATCH came before the upload was visible.",
    "create_to_visible_seconds":0.5,
    "visibility":{"kind":")" +
                     kind + R"(","lower_seconds":0.1,"upper_seconds":)" +
                     (interval ? "1.45" : "null") + R"(,"acknowledged_seconds":0.006,
      "create_start":"2026-11-29T12:50:41.030000000Z","text":"visible between 0.1 s and 1.45 s"},
    "client_gap_seconds":0.004,"unsafe_window_seconds":0.05,
    "events":[
     {"time":"2026-11-29T12:50:41.000000000Z","side":"registry","what":"POST 202","status":202,
      "duration_seconds":0.071,"source":"registry"},
     {"time":"2026-11-29T12:50:41.030000000Z","side":"store","what":"store create_multipart data 200",
      "status":200,"duration_seconds":0.006,"source":"store"},
     {"time":"2026-11-29T12:50:41.075000000Z","side":"registry",
      "what":"PATCH 500 upload_not_yet_visible","status":500,"duration_seconds":0.097,
      "source":"registry"})";
  if (interval) {
    json += R"(,{"time":"2026-11-29T12:50:42.500000000Z","side":"registry","what":"PATCH 202",
      "status":202,"duration_seconds":null,"source":"registry"})";
  }
  return json + "]}";
}

TEST(UiEscapeTest, MarkupQuotesAndControlBytesBecomeText) {
  EXPECT_EQ(HtmlEscape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
  EXPECT_EQ(HtmlEscape(std::string("a\x01"
                                   "b\tc",
                                   5)),
            "a\xEF\xBF\xBD"
            "b\tc");
  EXPECT_EQ(HtmlEscape("\xff<"), "\xEF\xBF\xBD&lt;");  // invalid UTF-8 cannot hide a '<'
}

TEST(UiQueryTest, DecodesOnlyTheNamedParameter) {
  EXPECT_EQ(QueryParameter("x=1&q=%3Cb%3E+c&y=2", "q"), "<b> c");
  EXPECT_EQ(QueryParameter("xq=1&q=2", "q"), "2");
  EXPECT_EQ(QueryParameter("q", "q"), "");
  EXPECT_EQ(QueryParameter("q=%zz%4", "q"), "%zz%4");  // invalid escapes stay as written
  EXPECT_EQ(QueryParameter("", "q"), "");
}

TEST(UiTimelineTest, DrawsLanesEventsTheRaceAndAnOpenEndedLowerBound) {
  const std::string body = UploadTimelineBody(Parse(Explain("lower_bound", "raced_failed")));
  EXPECT_EQ(Count(body, "class=\"lane-label\""), 2u);
  EXPECT_EQ(Count(body, "<g class=\"event "), 3u);
  EXPECT_EQ(Count(body, "<g class=\"event error registry\" data-status=\"500\""), 1u);
  EXPECT_EQ(Count(body, "<g class=\"event ok store\""), 1u);
  EXPECT_NE(body.find("id=\"race\""), std::string::npos);
  EXPECT_NE(body.find("data-kind=\"lower_bound\""), std::string::npos);
  // A lower bound has no upper end: the shading runs to the plot's right edge (x 940).
  const size_t at = body.find("id=\"visibility\"");
  ASSERT_NE(at, std::string::npos);
  const std::string rect = body.substr(at, body.find('>', at) - at);
  const double x = std::stod(rect.substr(rect.find("x=\"") + 3));
  const double width = std::stod(rect.substr(rect.find("width=\"") + 7));
  EXPECT_NEAR(x + width, 940, 0.5);
  // Times relative to the POST; the table lists every event once.
  EXPECT_NE(body.find("+0.075 s"), std::string::npos);
  EXPECT_EQ(Count(body, "<tr class="), 3u);
}

TEST(UiTimelineTest, AnIntervalIsShadedBetweenItsBoundsAndACalmUploadHasNoRaceMark) {
  const std::string body = UploadTimelineBody(Parse(Explain("interval", "completed")));
  EXPECT_EQ(body.find("id=\"race\""), std::string::npos);
  EXPECT_NE(body.find("class=\"verdict calm\""), std::string::npos);
  const size_t at = body.find("id=\"visibility\"");
  ASSERT_NE(at, std::string::npos);
  const std::string rect = body.substr(at, body.find('>', at) - at);
  const double width = std::stod(rect.substr(rect.find("width=\"") + 7));
  EXPECT_GT(width, 100);      // 1.35 s of a 1.5 s axis
  EXPECT_LT(width, 830 - 1);  // but not the whole plot
  // An event without a duration is drawn (a minimal bar) and shown as "–" in the table.
  EXPECT_EQ(Count(body, "<g class=\"event "), 4u);
  EXPECT_NE(body.find("<td class=\"num\">–</td>"), std::string::npos);
}

TEST(UiTimelineTest, LogContentIsEscapedEverywhere) {
  Json explain = Parse(Explain("lower_bound", "raced_failed"));
  Json* events = JsonFind(explain, "events");
  ASSERT_NE(events, nullptr);
  Json& first = (*events)[1];
  first["what"] = "store put <script>x</script> 403 <img src=x onerror=y>";
  first["source"] = "\"><svg onload=z>";
  explain["repository"] = "<b>repo</b>";
  explain["verdict"] = "</p><script>v</script>";
  const std::string body = UploadTimelineBody(explain);
  for (const char* raw : {"<script", "<img", "<svg onload", "<b>"}) {
    EXPECT_EQ(body.find(raw), std::string::npos) << raw;
  }
  EXPECT_NE(body.find("&lt;script&gt;x&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(body.find("&lt;/p&gt;&lt;script&gt;v"), std::string::npos);
  EXPECT_NE(body.find("&quot;&gt;&lt;svg onload=z&gt;"), std::string::npos);
}

TEST(UiTimelineTest, AnUploadWithoutEventsOrBoundsStillRenders) {
  const std::string body =
      UploadTimelineBody(Parse(R"({"upload_uuid":"u","outcome":"open","events":[]})"));
  EXPECT_NE(body.find("id=\"timeline\""), std::string::npos);
  EXPECT_EQ(body.find("id=\"visibility\""), std::string::npos);
  EXPECT_EQ(Count(body, "<g class=\"event "), 0u);
}

TEST(UiOverviewTest, RanksCausesWithShareAndEscapesWhatCameFromLogs) {
  const std::string body = OverviewBody(Parse(R"({"since_seconds":3600,
    "until":"2026-11-29T12:50:43Z","truncated":false,"causes":[
     {"cause":"upload_not_yet_visible","severity":"critical","count":3,"series":[0,2,0,1],
      "repositories":[{"repository":"lab/a","count":2},{"repository":"","count":1}],
      "example":{"time":"t","request_id":"r<1>","upload_uuid":"u\"><x"}},
     {"cause":"unclassified","severity":"warning","count":1,"repositories":[],
      "example":{"time":"t","request_id":"","upload_uuid":""},"templates_total":1,
      "templates":[{"field":"err.message","template":"<b>boom</b> <N>","count":1,
        "example":"<script>alert(1)</script>"}]}]})"),
                                        Parse(R"({"since":"2026-11-29T12:00:00Z",
    "create_to_visible_seconds":{"count":4,"p50":0.5,"p90":1.9,"p99":2.25},
    "client_gap_seconds":{"count":4,"p50":0.004,"p90":null,"p99":null},
    "unsafe_window_seconds":{"count":0,"p50":null,"p90":null,"p99":null}})"),
                                        "1h", "/metrics");
  EXPECT_EQ(Count(body, "<tr class=\"cause\""), 2u);
  EXPECT_LT(body.find("data-cause=\"upload_not_yet_visible\""),
            body.find("data-cause=\"unclassified\""));
  EXPECT_NE(body.find("75.0%"), std::string::npos);
  // The sparkline: one bar per slice, the busiest full height, empty slices flat.
  EXPECT_EQ(Count(body, "class=\"spark-bar\""), 4u);
  EXPECT_NE(body.find("y=\"0.00\" width=\"2.4\" height=\"16.00\"><title>2</title>"),
            std::string::npos);
  EXPECT_NE(body.find("height=\"0.00\"><title>0</title>"), std::string::npos);
  EXPECT_NE(body.find("<strong aria-current=\"true\">1h</strong>"), std::string::npos);
  EXPECT_NE(body.find("(none)"), std::string::npos);
  EXPECT_NE(body.find("id=\"templates\""), std::string::npos);
  for (const char* raw : {"<script", "<b>", "r<1>", "u\"><x"}) {
    EXPECT_EQ(body.find(raw), std::string::npos) << raw;
  }
  EXPECT_NE(body.find("href=\"/ui/uploads/u&quot;&gt;&lt;x\""), std::string::npos);
  EXPECT_NE(body.find("href=\"/metrics\""), std::string::npos);
  // The percentiles since start; null is shown as a dash.
  EXPECT_NE(body.find("<td class=\"num\">2.250 s</td>"), std::string::npos);
  EXPECT_NE(body.find("<td class=\"num\">0.004 s</td><td class=\"num\">–</td>"), std::string::npos);
}

TEST(UiOverviewTest, LinksTheDashboardsWhenGrafanaIsConfigured) {
  const Json causes = Parse(R"({"causes":[]})");
  const Json latency = Parse(R"({"since":"s"})");
  EXPECT_EQ(OverviewBody(causes, latency, "1h", "/metrics").find("id=\"grafana\""),
            std::string::npos);
  const std::string body = OverviewBody(causes, latency, "1h", "/metrics", "https://g.example/");
  EXPECT_NE(body.find("href=\"https://g.example/d/registry-rca-overview\""), std::string::npos);
  EXPECT_NE(body.find("href=\"https://g.example/d/registry-rca-repository\""), std::string::npos);
}

TEST(UiOverviewTest, NoErrorsIsSaidInWords) {
  const std::string body =
      OverviewBody(Parse(R"({"causes":[]})"), Parse(R"({"since":"s"})"), "15m", "/metrics");
  EXPECT_EQ(Count(body, "<td class=\"num\">–</td>"), 9u);  // no upload yet: no percentile
  EXPECT_EQ(body.find("id=\"causes\""), std::string::npos);
  EXPECT_NE(body.find("The last 15m of log time: 0 error responses."), std::string::npos);
}

TEST(UiCauseTest, ShowsCatalogueExamplesAndUploadsAndEscapesDetails) {
  const std::string body = CauseBody(Parse(R"({"cause":"upload_not_yet_visible","known":true,
    "severity":"critical","summary":"The store acknowledged <early>.",
    "runbook":"https://runbooks.example/x?a=1&b=2","count":2,"series":[1,1],
    "repositories":[{"repository":"lab/a","count":2}],
    "operations":[{"operation":"blob_upload_chunk","count":2}],
    "examples":[{"time":"t1","status":500,"operation":"blob_upload_chunk","repository":"lab/a",
      "request_id":"r1","upload_uuid":"u1","detail":"Path not found <script>x</script>"},
     {"time":"t0","status":500,"operation":"blob_upload_chunk","repository":"lab/a",
      "request_id":"r0","upload_uuid":"","detail":"d"}],"uploads":["u1"]})"),
                                     "6h");
  EXPECT_EQ(Count(body, "<tr class=\"example\">"), 2u);
  EXPECT_NE(body.find("The store acknowledged &lt;early&gt;."), std::string::npos);
  EXPECT_NE(body.find("href=\"https://runbooks.example/x?a=1&amp;b=2\""), std::string::npos);
  EXPECT_NE(body.find("Path not found &lt;script&gt;"), std::string::npos);
  EXPECT_EQ(body.find("<script"), std::string::npos);
  EXPECT_EQ(Count(body, "href=\"/ui/uploads/u1\""), 2u);  // its example row and the list
  EXPECT_NE(body.find("<strong aria-current=\"true\">6h</strong>"), std::string::npos);
  EXPECT_EQ(Count(body, "class=\"spark-bar\""), 2u);
}

TEST(UiSearchTest, ListsMatchesEscapedAndSaysWhenNothingIsKnown) {
  const std::string body = SearchBody(Parse(R"({"query":"<q>","truncated":false,"matches":[
    {"time":"t","cause":"blob_unknown","status":404,"operation":"blob_head","repository":"<r>",
     "request_id":"<q>","upload_uuid":"u","detail":"<d>"}]})"));
  EXPECT_EQ(Count(body, "<tr class=\"match\">"), 1u);
  EXPECT_NE(body.find("href=\"/ui/causes/blob_unknown?since=24h\""), std::string::npos);
  EXPECT_NE(body.find("href=\"/ui/uploads/u\""), std::string::npos);
  for (const char* raw : {"<q>", "<r>", "<d>"}) EXPECT_EQ(body.find(raw), std::string::npos);
  const std::string none = SearchBody(Parse(R"({"query":"<x>","matches":[]})"));
  EXPECT_NE(none.find("id=\"not-found\""), std::string::npos);
  EXPECT_NE(none.find("&lt;x&gt;"), std::string::npos);
}

// Each event's raw log line: in its tooltip (the SVG title) and behind a disclosure in the
// table (works without script), escaped; an event whose line was not kept shows its file only.
TEST(UiTimelineTest, EveryEventShowsItsRawLineOnHoverAndInTheTable) {
  Json explain = Parse(Explain("lower_bound", "raced_failed"));
  Json& events = explain.at("events");
  events[0]["line"] = "time=\"t\" msg=\"response completed\" uuid=<u>";
  events[1]["line"] = "rgw 200 <script>document.title='pwned'</script>";
  events[2]["line"] = Json();
  const std::string body = UploadTimelineBody(explain);
  EXPECT_EQ(Count(body, "<details class=\"raw\">"), 2u);
  EXPECT_EQ(Count(body,
                  "<summary>registry</summary><pre class=\"raw\">time=&quot;t&quot; "
                  "msg=&quot;response completed&quot; uuid=&lt;u&gt;</pre>"),
            1u);
  EXPECT_EQ(Count(body,
                  "<summary>store</summary><pre class=\"raw\">rgw 200 "
                  "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;</pre>"),
            1u);
  // The tooltips: file, then the line on a line of its own.
  EXPECT_EQ(Count(body,
                  " · registry\ntime=&quot;t&quot; msg=&quot;response completed&quot; "
                  "uuid=&lt;u&gt;</title>"),
            1u);
  EXPECT_EQ(Count(body, " · store\nrgw 200 &lt;script&gt;"), 1u);
  EXPECT_EQ(body.find("<script"), std::string::npos);
  // The PATCH's line was not kept: its file only.
  EXPECT_NE(body.find("<td class=\"source\">registry</td>"), std::string::npos);
}

// The hops in front of the registry (Harbor's nginx and core), when the explain JSON has them:
// a third lane above the registry's, each response with its status and cause, its raw line in
// the tooltip and in a table of its own; without them, two lanes as before.
TEST(UiTimelineTest, HopsGetALaneAboveTheRegistry) {
  Json explain = Parse(Explain("lower_bound", "raced_failed"));
  const Json hops = Parse(R"([
    {"hop":"proxy","time":"2026-11-29T12:50:41.075000000Z","offset_seconds":0.075,
     "method":"PATCH","uri":"/v2/lab/app/blobs/uploads/dd76?_state=<x>","status":504,
     "duration_seconds":1.2,"cause":"proxy_upstream_timeout","source":"proxy.log",
     "line":"10.0.0.1 - - \"PATCH /v2/lab/app <script>\" 504"},
    {"hop":"core","time":"2026-11-29T12:50:41.080000000Z","method":"PATCH",
     "uri":"/v2/lab/app/blobs/uploads/dd76","status":502,"duration_seconds":null,"cause":null,
     "source":"core.log","line":"http: proxy error: context canceled"}])");
  explain["hops"] = hops;
  const std::string body = UploadTimelineBody(explain);
  EXPECT_EQ(Count(body, "class=\"lane-label\""), 3u);
  EXPECT_NE(body.find(">proxy · core</text>"), std::string::npos);
  auto lane_y = [&](const std::string& id) {
    const size_t at = body.find("id=\"" + id + "\"");
    EXPECT_NE(at, std::string::npos) << id;
    return at == std::string::npos ? -1.0 : std::stod(body.substr(body.find("y=\"", at) + 3));
  };
  EXPECT_LT(lane_y("lane-hops"), lane_y("lane-registry"));
  EXPECT_LT(lane_y("lane-registry"), lane_y("lane-store"));
  EXPECT_EQ(Count(body, "<g class=\"hop-event error hop\" data-status=\"504\""), 1u);
  EXPECT_EQ(Count(body, "<g class=\"hop-event error hop\" data-status=\"502\""), 1u);
  EXPECT_EQ(Count(body, "<g class=\"event "), 3u);  // the events are still the API's events
  EXPECT_NE(body.find("<title>proxy PATCH 504 proxy_upstream_timeout · +0.075 s · 1.200 s · "
                      "/v2/lab/app/blobs/uploads/dd76?_state=&lt;x&gt; · "),
            std::string::npos);
  EXPECT_NE(body.find("proxy.log\n10.0.0.1 - - &quot;PATCH /v2/lab/app &lt;script&gt;&quot; "
                      "504</title>"),
            std::string::npos);
  EXPECT_NE(body.find("<table id=\"hops\""), std::string::npos);
  EXPECT_NE(body.find("<summary>core.log</summary><pre class=\"raw\">http: proxy error: "
                      "context canceled</pre>"),
            std::string::npos);
  EXPECT_EQ(body.find("<script"), std::string::npos);
  // The table of events keeps only the API's events.
  const std::string events = body.substr(body.find("<table id=\"events\""));
  EXPECT_EQ(Count(events.substr(0, events.find("</table>")), "<tr class="), 3u);

  explain["hops"] = Parse("[]");
  const std::string plain = UploadTimelineBody(explain);
  EXPECT_EQ(Count(plain, "class=\"lane-label\""), 2u);
  EXPECT_EQ(plain.find("lane-hops"), std::string::npos);
  EXPECT_EQ(plain.find("id=\"hops\""), std::string::npos);
}

// analyze's HTML report: one file, the style sheet inline, nothing fetched, the views linked
// to one another inside it, links to the daemon's routes left as text, ids unique.
TEST(UiReportTest, OneSelfContainedFileWithLinksInsideIt) {
  const Json causes = Parse(R"({"until":"2026-11-29T12:50:43Z","causes":[
     {"cause":"upload_not_yet_visible","severity":"critical","count":1,"series":[1],
      "repositories":[{"repository":"lab/app","count":1}],
      "example":{"time":"t","request_id":"r1",
                 "upload_uuid":"dd76ec6c-8952-4e17-921b-3a7532f1889a"}}]})");
  const Json latency = Parse(R"({"since":"1970-01-01T00:00:00Z",
    "create_to_visible_seconds":{"count":1,"p50":0.5,"p90":0.5,"p99":0.5}})");
  ReportInput input;
  input.causes = &causes;
  input.latency = &latency;
  input.cause_pages.push_back(Parse(R"({"cause":"upload_not_yet_visible","known":true,
    "severity":"critical","summary":"s","count":1,"series":[1],
    "runbook":"https://runbooks.example/upload_not_yet_visible",
    "examples":[{"time":"t","status":500,"operation":"blob_upload_chunk","repository":"lab/app",
      "request_id":"r1","upload_uuid":"dd76ec6c-8952-4e17-921b-3a7532f1889a","detail":"d"}],
    "uploads":["dd76ec6c-8952-4e17-921b-3a7532f1889a","00000000-0000-0000-0000-000000000000"]})"));
  input.uploads.push_back(Parse(Explain("lower_bound", "raced_failed")));
  input.uploads_left_out = 3;
  input.files = {"registry.log", "<store>.log"};
  const std::string html = OfflineReport(input);
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_NE(html.find(".timeline .lane{"), std::string::npos);
  for (const char* absent :
       {"<script", "<link", "src=", "href=\"/", "href=\"http", "url(", "<form", "@import"}) {
    EXPECT_EQ(html.find(absent), std::string::npos) << absent;
  }
  // The overview's and the cause's links to the drawn timeline and cause stay inside the file.
  EXPECT_EQ(Count(html, "href=\"#upload-dd76ec6c-8952-4e17-921b-3a7532f1889a\""), 3u);
  EXPECT_NE(html.find("href=\"#cause-upload_not_yet_visible\""), std::string::npos);
  EXPECT_NE(html.find("<section class=\"part upload\" "
                      "id=\"upload-dd76ec6c-8952-4e17-921b-3a7532f1889a\">"),
            std::string::npos);
  // A runbook on the web is named, not linked; an upload not drawn likewise.
  EXPECT_NE(html.find("<p>Runbook: https://runbooks.example/upload_not_yet_visible</p>"),
            std::string::npos);
  EXPECT_NE(html.find("<li><code>00000000-0000-0000-0000-000000000000</code></li>"),
            std::string::npos);
  EXPECT_EQ(html.find(" id=\"timeline\""), std::string::npos);
  EXPECT_EQ(Count(html, " id=\"upload-dd76ec6c-8952-4e17-921b-3a7532f1889a-timeline\""), 1u);
  EXPECT_NE(html.find("All the log time read"), std::string::npos);
  EXPECT_NE(html.find("&lt;store&gt;.log"), std::string::npos);
  EXPECT_NE(html.find("id=\"uploads-left-out\">3 more"), std::string::npos);
}

TEST(UiPageTest, PagesCarryThePolicyAndTheSheetRevalidates) {
  const web::HttpResponse page = PageResponse(200, Page("<t>", "<p>x</p>"));
  EXPECT_NE(page.headers.find("Content-Security-Policy: default-src 'none'"), std::string::npos);
  EXPECT_NE(page.body.find("<title>&lt;t&gt; · registry-rca</title>"), std::string::npos);
  web::HttpRequest request;
  const web::HttpResponse sheet = StyleSheet(request);
  EXPECT_EQ(sheet.status, 200);
  const size_t at = sheet.headers.find("ETag: ");
  ASSERT_NE(at, std::string::npos);
  request.if_none_match = sheet.headers.substr(at + 6, sheet.headers.find('\r', at) - at - 6);
  const web::HttpResponse again = StyleSheet(request);
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
}

}  // namespace
}  // namespace rrca::ui
