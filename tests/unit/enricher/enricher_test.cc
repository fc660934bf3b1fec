// The alert enricher (exporter/enricher/enricher.h) with fake daemon callbacks; deliveries go to
// a real HTTP sink on 127.0.0.1:<ephemeral> started by the test.
#include "exporter/enricher/enricher.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

#include "common/json.h"
#include "exporter/enricher/enricher_history.h"
#include "exporter/enricher/enricher_http.h"
#include "tests/unit/enricher/test_sink.h"

namespace rrca::enricher {

namespace {

using namespace std::chrono_literals;

constexpr int64_t kNow = 1'795'956'600'000'000'000;  // 2026-11-29T12:50:00Z
constexpr char kUuid1[] = "a5c3381f-3bc6-4040-a438-e4b3462a8459";
constexpr char kUuid2[] = "dd76ec6c-8952-4e17-921b-3a7532f1889a";

std::string CausesJson() {
  return R"({"since_seconds":900,"until":"2026-11-29T12:50:43Z","truncated":false,"causes":[)"
         R"({"cause":"upload_not_yet_visible","severity":"critical","count":42,"repositories":[)"
         R"({"repository":"lab/app","count":30},{"repository":"lab/b\"q","count":12}],)"
         R"("example":{"time":"2026-11-29T12:50:43Z","request_id":"r1","upload_uuid":")" +
         std::string(kUuid1) +
         R"("}},)"
         R"({"cause":"blob_unknown","severity":"info","count":8,"repositories":[)"
         R"({"repository":"lab/c","count":8}],"example":{"time":"x","request_id":"r2","upload_uuid":""}}]})";
}

std::string ExplainJson(std::string_view uuid) {
  return R"({"upload_uuid":")" + std::string(uuid) +
         R"(","repository":"lab/app","outcome":"raced_failed","verdict":"the first PATCH came before the upload was visible.","create_to_visible_seconds":2.2,"client_gap_seconds":0.05,"unsafe_window_seconds":2.1,"events":[)"
         R"({"time":"2026-11-29T12:50:43.366000000Z","side":"registry","what":"POST 202","status":202,"duration_seconds":null,"source":"registry"},)"
         R"({"time":"2026-11-29T12:50:43.400000000Z","side":"store","what":"store create_multipart data 200","status":200,"duration_seconds":2.2,"source":"store"},)"
         R"({"time":"2026-11-29T12:50:43.580000000Z","side":"registry","what":"PATCH 500 upload_not_yet_visible","status":500,"duration_seconds":0.05,"source":"registry","line":"RAW-REGISTRY-LINE"}],)"
         R"("hops":[{"hop":"proxy","time":"2026-11-29T12:50:43.570Z","method":"PATCH","status":500,"line":"RAW-NGINX-LINE"}]})";
}

// Metric families as the daemon's registry would hand them over.
std::vector<prometheus::MetricFamily> Families(double creates_slow, double store_503) {
  prometheus::MetricFamily c2v;
  c2v.name = kCreateToVisibleFamily;
  c2v.type = prometheus::MetricType::Histogram;
  prometheus::ClientMetric m;
  m.label = {{"bucket", "b1"}};
  m.histogram.sample_count = static_cast<std::uint64_t>(creates_slow);
  m.histogram.bucket = {
      {0, 1.0},
      {static_cast<std::uint64_t>(creates_slow), 4.0},
      {static_cast<std::uint64_t>(creates_slow), std::numeric_limits<double>::infinity()}};
  c2v.metric.push_back(m);
  prometheus::MetricFamily s3;
  s3.name = kStoreRequestsFamily;
  s3.type = prometheus::MetricType::Counter;
  prometheus::ClientMetric ok, bad;
  ok.label = {{"bucket", "b1"}, {"operation", "create_multipart"}, {"code", "200"}};
  ok.counter.value = 100;
  bad.label = {{"bucket", "b1"}, {"operation", "create_multipart"}, {"code", "503"}};
  bad.counter.value = store_503;
  s3.metric = {ok, bad};
  return {c2v, s3};
}

std::string Payload(const std::string& group_key, const std::string& fingerprint,
                    const std::string& cause = "upload_not_yet_visible",
                    const std::string& starts_at = "2026-11-29T12:30:00.5Z") {
  return R"({"receiver":"registry-rca-enricher","status":"firing","alerts":[{"status":"firing",)"
         R"("labels":{"alertname":"RegistryRCAUploadsNotYetVisible","cause":")" +
         cause +
         R"(","cluster":"prod","severity":"critical"},)"
         R"("annotations":{"summary":"Pushes fail.","runbook_url":"https://x/runbook.md#)" +
         cause + R"("},"startsAt":")" + starts_at +
         R"(","endsAt":"0001-01-01T00:00:00Z",)"
         R"("generatorURL":"http://prometheus/graph","fingerprint":")" +
         fingerprint +
         R"("}],)"
         R"("groupLabels":{"alertname":"RegistryRCAUploadsNotYetVisible"},"commonLabels":{"cluster":"prod"},)"
         R"("commonAnnotations":{"summary":"Pushes fail."},"externalURL":"http://am:9093",)"
         R"("version":"4","groupKey":")" +
         group_key + R"(","truncatedAlerts":0})";
}

struct Fixture {
  std::atomic<int> causes_calls{0};
  std::atomic<int> explain_calls{0};
  Json causes = Json::parse(CausesJson());  // what RecentErrors::Causes would hand over
  std::string open_uuid;  // explained as still open, with only the registry's side
  double creates_slow = 10, store_503 = 3;
  int64_t now = kNow;

  EnricherSources Sources() {
    EnricherSources s;
    s.causes_json = [this](int64_t) {
      ++causes_calls;
      return causes;
    };
    s.explain_json = [this](std::string_view uuid) -> std::optional<Json> {
      ++explain_calls;
      if (uuid != kUuid1 && uuid != kUuid2) return std::nullopt;
      if (uuid == open_uuid) {
        return Json::parse(
            R"({"upload_uuid":")" + std::string(uuid) +
            R"(","repository":"lab/app","outcome":"open","verdict":"","events":[)"
            R"({"time":"2026-11-29T12:50:43.366000000Z","side":"registry","what":"POST 202"}]})");
      }
      return Json::parse(ExplainJson(uuid));
    };
    s.example_uploads = [](std::string_view cause, int64_t, size_t) {
      return cause == "upload_not_yet_visible"
                 ? std::vector<std::string>{kUuid2, "00000000-0000-0000-0000-000000000000", kUuid1}
                 : std::vector<std::string>{};
    };
    s.collect = [this] { return Families(creates_slow, store_503); };
    return s;
  }
  EnricherConfig Config(const std::vector<std::string>& downstreams = {}) {
    EnricherConfig c;
    c.enabled = true;
    c.downstream_urls = downstreams;
    c.timeout_seconds = 2;
    c.retries = 2;
    c.dashboard_base_url = "http://grafana:3000";
    c.external_url = "http://rca:9479";
    return c;
  }
  EnricherOptions Options() {
    EnricherOptions o;
    o.now_ns = [this] { return now; };
    o.first_backoff = 10ms;
    return o;
  }
};

double Value(prometheus::Registry& registry, const std::string& name) {
  double sum = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      sum += family.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
    }
  }
  return sum;
}

TEST(EnricherTest, AttachesCausesRepositoriesStoreLatencyExamplesAndLinks) {
  Fixture f;
  prometheus::Registry registry;
  EnricherConfig config = f.Config();
  config.min_window_seconds = 30;
  Enricher enricher(config, f.Sources(), registry, f.Options());
  enricher.Snapshot();  // at 12:50:00: 10 slow creates and 3 store 503s so far
  f.creates_slow = 30;
  f.store_503 = 10;
  f.now = kNow + 60'000'000'000LL;  // 12:51:00; the alert started at 12:50:10.5
  const std::string body = Payload("{}:{alertname=\\\"A\\\"}", "fp1", "upload_not_yet_visible",
                                   "2026-11-29T12:50:10.5Z");
  auto payload = ParseJson(body);
  ASSERT_TRUE(payload.ok());
  const Enricher::Outcome outcome = enricher.Process(payload.value(), body);
  ASSERT_TRUE(outcome.enriched) << outcome.error;
  auto out = ParseJson(outcome.body);
  ASSERT_TRUE(out.ok()) << outcome.body;

  // Same schema: everything Alertmanager sent is still there.
  for (const char* key : {"receiver", "status", "groupLabels", "commonLabels", "externalURL",
                          "version", "groupKey", "truncatedAlerts"}) {
    EXPECT_EQ(out.value().at(key).dump(), payload.value().at(key).dump()) << key;
  }
  const Json& alert = out.value().at("alerts")[0];
  EXPECT_EQ(JsonString(alert, "startsAt"), "2026-11-29T12:50:10.5Z");
  const Json& a = alert.at("annotations");
  EXPECT_EQ(JsonString(a, "summary"), "Pushes fail.");
  EXPECT_EQ(JsonString(a, "rca_summary").rfind("upload_not_yet_visible: 42 error responses", 0), 0u)
      << JsonString(a, "rca_summary");
  EXPECT_NE(JsonString(a, "rca_summary").find("(84% of 50)"), std::string::npos);
  EXPECT_EQ(JsonString(a, "rca_causes"), "upload_not_yet_visible 42, blob_unknown 8");
  EXPECT_EQ(JsonString(a, "rca_top_repositories"), "lab/app (30), lab/b\"q (12)");
  EXPECT_EQ(JsonString(a, "rca_store_errors"), "create_multipart 503 (7)");
  // 20 slow creates in the window, all in (1 s, 4 s]: p50 = 2.5 s.
  EXPECT_NE(JsonString(a, "rca_latency").find("create-to-visible p50 2.5s p99 3.97s"),
            std::string::npos)
      << JsonString(a, "rca_latency");
  // Two examples: the first candidate, then (the unknown UUID skipped) the second one.
  EXPECT_EQ(JsonString(a, "rca_example_upload")
                .rfind(std::string(kUuid2) + " (lab/app, raced_failed): ", 0),
            0u);
  EXPECT_EQ(JsonString(a, "rca_example_upload_2").rfind(kUuid1, 0), 0u);
  EXPECT_EQ(JsonString(a, "rca_example_timeline"),
            "12:50:43.366 registry POST 202; 12:50:43.400 store create_multipart data 200; "
            "12:50:43.580 registry PATCH 500 upload_not_yet_visible");
  const std::string dashboard = JsonString(a, "rca_dashboard_url");
  EXPECT_EQ(
      dashboard.rfind("http://grafana:3000/d/registry-rca-overview/registry-rca-overview?orgId=1"
                      "&var-cluster=prod&var-cause=upload_not_yet_visible&from=",
                      0),
      0u)
      << dashboard;
  EXPECT_EQ(JsonString(a, "rca_runbook_url"),
            "https://github.com/registry-rca/registry-rca/blob/main/docs/"
            "runbook.md#upload_not_yet_visible");
  EXPECT_EQ(JsonString(a, "rca_explain_url"),
            std::string("http://rca:9479/api/v1/uploads/") + kUuid2);

  // The detailed object, per alert.
  const Json& e = out.value().at("enrichment");
  EXPECT_EQ(JsonString(e, "source"), "registry-rca");
  EXPECT_FALSE(e.at("deduplicated").get<bool>());
  const Json& d = e.at("alerts")[0];
  EXPECT_EQ(JsonString(d, "fingerprint"), "fp1");
  EXPECT_EQ(d.at("window").at("seconds").get<double>(), 49);  // startsAt..now, whole seconds
  EXPECT_EQ(d.at("errors_of_cause").get<double>(), 42);
  EXPECT_EQ(d.at("causes").size(), 2u);
  EXPECT_EQ(d.at("examples").size(), 2u);
  EXPECT_EQ(d.at("examples")[0].at("events").size(), 3u);
  // The raw log lines of the explain JSON stay behind the explain URL: every notification would
  // otherwise carry up to 2 KiB per event.
  EXPECT_EQ(outcome.body.find("RAW-"), std::string::npos);
  EXPECT_EQ(d.at("examples")[0].at("hops").size(), 1u);
  EXPECT_NE(d.at("links").value("repository_dashboard", "").find("&var-repository=lab%2Fapp"),
            std::string::npos);
  EXPECT_EQ(d.at("latency").at("uploads_measured").get<double>(), 0);
  // A one-alert group: the rca_* annotations are common annotations too.
  EXPECT_EQ(out.value().at("commonAnnotations").value("rca_causes", ""),
            JsonString(a, "rca_causes"));
}

// The unclassified alert fires for errors no rule names: their masked templates (from
// /api/v1/causes) go with it, so the receiver sees what the new failure looks like.
TEST(EnricherTest, UnclassifiedAlertCarriesTheTemplates) {
  Fixture f;
  f.causes = Json::parse(
      R"({"since_seconds":900,"until":"2026-11-29T12:50:43Z","truncated":false,"causes":[)"
      R"({"cause":"unclassified","severity":"warning","count":7,"repositories":[)"
      R"({"repository":"lab/app","count":7}],"example":{"time":"x","request_id":"r9","upload_uuid":""},)"
      R"("templates_total":2,"templates":[{"field":"err.detail","template":"s3aws: XMinioFoo: <n> <path>",)"
      R"("count":5,"example":"s3aws: XMinioFoo: 12 /a/b"},{"field":"err.detail","template":"boom <host>",)"
      R"("count":2,"example":"boom x.example"}]}]})");
  prometheus::Registry registry;
  Enricher enricher(f.Config(), f.Sources(), registry, f.Options());
  for (const std::string cause : {"unclassified", "upload_not_yet_visible"}) {
    const std::string body = Payload("{}:{alertname=\\\"U\\\"}", "fp-" + cause, cause);
    auto payload = ParseJson(body);
    ASSERT_TRUE(payload.ok());
    const Enricher::Outcome outcome = enricher.Process(payload.value(), body);
    ASSERT_TRUE(outcome.enriched) << outcome.error;
    auto out = ParseJson(outcome.body);
    ASSERT_TRUE(out.ok());
    const Json& a = out.value().at("alerts")[0].at("annotations");
    if (cause == "unclassified") {
      EXPECT_EQ(JsonString(a, "rca_unclassified_templates"),
                "5x s3aws: XMinioFoo: <n> <path>; 2x boom <host>");
    } else {
      EXPECT_EQ(JsonFind(a, "rca_unclassified_templates"), nullptr);  // only for that alert
    }
  }
}

TEST(EnricherTest, DecidedUploadsWithBothSidesAreBetterExamples) {
  Fixture f;
  f.open_uuid = kUuid2;  // the newest, but its store lines have not been read yet
  prometheus::Registry registry;
  Enricher enricher(f.Config(), f.Sources(), registry, f.Options());
  const std::string body = Payload("g", "fp");
  auto outcome = enricher.Process(ParseJson(body).value(), body);
  ASSERT_TRUE(outcome.enriched);
  auto out = ParseJson(outcome.body);
  const Json& a = out.value().at("alerts")[0].at("annotations");
  EXPECT_EQ(JsonString(a, "rca_example_upload").rfind(kUuid1, 0), 0u)
      << JsonString(a, "rca_example_upload");
  EXPECT_EQ(
      JsonString(a, "rca_example_upload_2").rfind(std::string(kUuid2) + " (lab/app, open)", 0), 0u);
  EXPECT_EQ(JsonString(a, "rca_explain_url"),
            std::string("http://rca:9479/api/v1/uploads/") + kUuid1);
}

TEST(EnricherTest, GenericAlertSummarisesAllCausesAndExporterAlertsAreLeftAlone) {
  Fixture f;
  prometheus::Registry registry;
  Enricher enricher(f.Config(), f.Sources(), registry, f.Options());
  std::string body = Payload("g", "fp", "any");
  auto payload = ParseJson(body);
  auto outcome = enricher.Process(payload.value(), body);
  ASSERT_TRUE(outcome.enriched);
  auto out = ParseJson(outcome.body);
  const Json& a = out.value().at("alerts")[0].at("annotations");
  EXPECT_EQ(JsonString(a, "rca_summary").rfind("all causes: 50 error responses", 0), 0u);
  EXPECT_EQ(JsonString(a, "rca_top_repositories"), "lab/app (30), lab/b\"q (12), lab/c (8)");
  EXPECT_NE(JsonString(a, "rca_runbook_url").find("#registry_5xx_ratio"), std::string::npos);

  body = Payload("g2", "fp", "exporter");
  payload = ParseJson(body);
  outcome = enricher.Process(payload.value(), body);
  out = ParseJson(outcome.body);
  EXPECT_EQ(JsonFind(out.value().at("alerts")[0].at("annotations"), "rca_summary"), nullptr);
  EXPECT_EQ(out.value().at("enrichment").at("alerts_skipped").get<double>(), 1);
}

TEST(EnricherTest, BurstOfTheSameGroupIsEnrichedOnce) {
  Fixture f;
  prometheus::Registry registry;
  EnricherConfig config = f.Config();
  config.dedupe_window_seconds = 300;
  Enricher enricher(config, f.Sources(), registry, f.Options());
  const std::string body = Payload("group-1", "fp1");
  auto payload = ParseJson(body);
  auto first = enricher.Process(payload.value(), body);
  ASSERT_TRUE(first.enriched);
  EXPECT_FALSE(first.deduplicated);
  EXPECT_EQ(f.causes_calls, 1);
  const int explains = f.explain_calls;

  f.now += 60'000'000'000LL;  // a minute later, same group: the cached enrichment
  f.causes = Json::array();   // no `causes` list: would fail if it were asked again
  auto second = enricher.Process(payload.value(), body);
  ASSERT_TRUE(second.enriched) << second.error;
  EXPECT_TRUE(second.deduplicated);
  EXPECT_EQ(f.causes_calls, 1);
  EXPECT_EQ(f.explain_calls, explains);
  auto out1 = ParseJson(first.body);
  auto out2 = ParseJson(second.body);
  EXPECT_EQ(out1.value().at("alerts").dump(), out2.value().at("alerts").dump());
  EXPECT_TRUE(out2.value().at("enrichment").at("alerts")[0].at("cached").get<bool>());

  // After the window the group is enriched again (and here fails: the original goes out).
  f.now += 300'000'000'000LL;
  auto third = enricher.Process(payload.value(), body);
  EXPECT_FALSE(third.enriched);
  EXPECT_EQ(third.body, body);
  EXPECT_EQ(f.causes_calls, 2);
}

TEST(EnricherTest, HandleValidatesQueuesAndRefusesWhenFull) {
  Fixture f;
  prometheus::Registry registry;
  EnricherConfig config = f.Config();
  config.queue_size = 2;
  Enricher enricher(config, f.Sources(), registry, f.Options());  // not started: nothing drains
  web::HttpRequest get{"GET", "/api/v1/alerts", "", "", "127.0.0.1:1", ""};
  EXPECT_EQ(enricher.Handle(get).status, 405);
  for (const std::string& bad :
       {std::string("garbage"), std::string("[]"), std::string("{\"alerts\":{}}"),
        std::string("{\"alerts\":[1]}"), std::string("{\"alerts\":[{\"labels\":{\"a\":1}}]}"),
        std::string("{\"alerts\":[],\"groupKey\":[]}")}) {
    web::HttpRequest post{"POST", "/api/v1/alerts", "", bad, "127.0.0.1:1", ""};
    const web::HttpResponse response = enricher.Handle(post);
    EXPECT_EQ(response.status, 400) << bad;
    EXPECT_TRUE(ParseJson(response.body).ok()) << response.body;
  }
  // Over a bound of the parser (depth here, values below): too large for us, 413, not 400.
  web::HttpRequest deep{"POST", "/api/v1/alerts", "", std::string(200, '['), "127.0.0.1:1", ""};
  EXPECT_EQ(enricher.Handle(deep).status, 413);
  std::string many = "{\"alerts\":[";
  for (int i = 0; i < 300'000; ++i) many += "0,";
  many += "0]}";
  web::HttpRequest wide{"POST", "/api/v1/alerts", "", many, "127.0.0.1:1", ""};
  EXPECT_EQ(enricher.Handle(wide).status, 413);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_notifications_rejected_total"), 8);
  web::HttpRequest good{"POST", "/api/v1/alerts", "", Payload("g", "f"), "127.0.0.1:1", ""};
  EXPECT_EQ(enricher.Handle(good).status, 202);
  EXPECT_EQ(enricher.Handle(good).status, 202);
  EXPECT_EQ(enricher.Handle(good).status, 503);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_notifications_received_total"), 2);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_notifications_dropped_total"), 1);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_queue_length"), 2);
}

TEST(EnricherTest, DeliversEnrichedToEveryDownstreamWithRetries) {
  Fixture f;
  TestSink flaky({500, 503});  // two failures, then 200
  TestSink steady;
  prometheus::Registry registry;
  Enricher enricher(f.Config({flaky.url(), steady.url()}), f.Sources(), registry, f.Options());
  enricher.Start();
  web::HttpRequest post{"POST", "/api/v1/alerts", "", Payload("g", "f"), "127.0.0.1:1", ""};
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(enricher.Handle(post).status, 202);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 100ms);  // answered at once
  ASSERT_TRUE(flaky.WaitForBodies(1));
  ASSERT_TRUE(steady.WaitForBodies(1));
  ASSERT_TRUE(enricher.WaitIdle(5s));
  EXPECT_EQ(flaky.requests(), 3);
  for (const std::string& body : {flaky.bodies()[0], steady.bodies()[0]}) {
    auto out = ParseJson(body);
    ASSERT_TRUE(out.ok()) << body;
    EXPECT_NE(JsonFind(out.value(), "enrichment"), nullptr);
    EXPECT_NE(out.value().at("alerts")[0].at("annotations").value("rca_summary", ""), "");
  }
  EXPECT_EQ(Value(registry, "registry_rca_enricher_forwarded_total"), 2);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_forward_retries_total"), 2);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_notifications_enriched_total"), 1);
  enricher.Stop();
}

TEST(EnricherTest, ForwardsTheOriginalUnchangedWhenEnrichmentFails) {
  Fixture f;
  f.causes = Json::object();  // the daemon's answer lacks its `causes` list
  TestSink sink;
  prometheus::Registry registry;
  Enricher enricher(f.Config({sink.url()}), f.Sources(), registry, f.Options());
  enricher.Start();
  const std::string body = "  " + Payload("g", "f") + "\n";  // whitespace kept byte for byte
  web::HttpRequest post{"POST", "/api/v1/alerts", "", body, "127.0.0.1:1", ""};
  EXPECT_EQ(enricher.Handle(post).status, 202);
  ASSERT_TRUE(sink.WaitForBodies(1));
  EXPECT_EQ(sink.bodies()[0], body);
  ASSERT_TRUE(enricher.WaitIdle(5s));
  EXPECT_EQ(Value(registry, "registry_rca_enricher_enrichment_failures_total"), 1);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_forwarded_total"), 1);
}

TEST(EnricherTest, GivesUpOnClientErrorsAtOnceAndOnDeadDownstreamsAfterRetries) {
  Fixture f;
  TestSink rejecting({400, 400, 400});
  prometheus::Registry registry;
  EnricherConfig config = f.Config({rejecting.url(), "http://127.0.0.1:1/"});
  config.timeout_seconds = 0.5;
  Enricher enricher(config, f.Sources(), registry, f.Options());
  enricher.Start();
  web::HttpRequest post{"POST", "/api/v1/alerts", "", Payload("g", "f"), "127.0.0.1:1", ""};
  EXPECT_EQ(enricher.Handle(post).status, 202);
  ASSERT_TRUE(enricher.WaitIdle(10s));
  EXPECT_EQ(rejecting.requests(), 1);  // 4xx: not retried
  EXPECT_EQ(Value(registry, "registry_rca_enricher_forward_failures_total"), 2);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_forward_retries_total"), 2);  // the dead one
  enricher.Stop();
}

TEST(EnricherTest, StopIsPromptDuringBackoff) {
  Fixture f;
  prometheus::Registry registry;
  EnricherConfig config = f.Config({"http://127.0.0.1:1/"});
  config.retries = 10;
  EnricherOptions options = f.Options();
  options.first_backoff = 10s;
  Enricher enricher(config, f.Sources(), registry, options);
  enricher.Start();
  web::HttpRequest post{"POST", "/api/v1/alerts", "", Payload("g", "f"), "127.0.0.1:1", ""};
  EXPECT_EQ(enricher.Handle(post).status, 202);
  // The first attempt failed and the 10 s backoff began once a retry is counted.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (Value(registry, "registry_rca_enricher_forward_retries_total") < 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(Value(registry, "registry_rca_enricher_forward_retries_total"), 1)
      << "the worker never reached the backoff";
  const auto started = std::chrono::steady_clock::now();
  enricher.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

}  // namespace
}  // namespace rrca::enricher
