// The alert enricher under hostile notifications: the dedupe
// cache, the queue and the work per alert stay bounded whatever an unauthenticated client posts.
// Each attack runs against the defaults with a control beside it; memory is the process' RSS.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "common/json.h"
#include "exporter/enricher/enricher.h"

namespace rrca::enricher {
namespace {

// Under ASan (shadow memory, a quarantine of freed blocks) and TSan the process' RSS and its
// speed say nothing about the code's bounds: those figures are asserted in the release build
// (`make test`); the counters and the accepted/refused decisions are asserted everywhere.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

using Steady = std::chrono::steady_clock;
constexpr int64_t kNow = 1'795'956'600'000'000'000;  // 2026-11-29T12:50:00Z

size_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

double Value(prometheus::Registry& registry, const std::string& name,
             const std::string& label_value = "") {
  double sum = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      if (!label_value.empty() && (m.label.empty() || m.label[0].value != label_value)) continue;
      sum += family.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
    }
  }
  return sum;
}

EnricherSources Sources() {
  EnricherSources s;
  s.causes_json = [](int64_t) {
    return Json::parse(R"({"until":"2026-11-29T12:50:43Z","causes":[{"cause":"x","count":1}]})");
  };
  return s;
}

EnricherConfig Config() {
  EnricherConfig c;
  c.enabled = true;
  return c;
}

EnricherOptions Options(const int64_t* now) {
  EnricherOptions o;
  o.now_ns = [now] { return *now; };
  return o;
}

// One alert; `annotations` is the inside of its annotations object.
std::string Payload(const std::string& group_key, const std::string& fingerprint,
                    const std::string& annotations = R"("summary":"s")") {
  return R"({"receiver":"r","status":"firing","version":"4","groupKey":")" + group_key +
         R"(","alerts":[{"status":"firing","labels":{"alertname":"A","cause":"x"},)"
         R"("annotations":{)" +
         annotations + R"(},"startsAt":"2026-11-29T12:40:00Z","fingerprint":")" + fingerprint +
         R"("}]})";
}

Enricher::Outcome ProcessBody(Enricher& enricher, const std::string& body) {
  auto payload = ParseJson(body);
  EXPECT_TRUE(payload.ok()) << payload.status().message();
  return enricher.Process(payload.value(), body);
}

// Finding 3: one group key, thousands of new fingerprints (and long ones): RSS went from 11 MB
// to 870 MB in 15 s. The cache holds at most max_per_group alerts per group, max_bytes in all.
TEST(EnricherBounds, DedupeCacheIsBoundedPerGroupGroupsAndBytes) {
  int64_t now = kNow;
  prometheus::Registry registry;
  Enricher enricher(Config(), Sources(), registry, Options(&now));
  const DedupeCacheLimits limits;  // the defaults
  // Control: a burst of the same alert is served from the cache.
  ASSERT_TRUE(ProcessBody(enricher, Payload("g", "fp-control")).enriched);
  ASSERT_TRUE(ProcessBody(enricher, Payload("g", "fp-control")).deduplicated);

  const size_t rss_before = RssBytes();
  const std::string padding(20'000, 'f');  // each fingerprint is kept (key, order, detail)
  constexpr int kAlerts = 2000;
  for (int i = 0; i < kAlerts; ++i) {
    ASSERT_TRUE(ProcessBody(enricher, Payload("g", padding + std::to_string(i))).enriched);
  }
  const size_t grown = RssBytes() - std::min(RssBytes(), rss_before);
  EXPECT_LE(Value(registry, "registry_rca_enricher_dedupe_cache_alerts"), limits.max_per_group);
  EXPECT_LE(Value(registry, "registry_rca_enricher_dedupe_cache_bytes"), limits.max_bytes);
  EXPECT_GE(Value(registry, "registry_rca_enricher_dedupe_cache_evictions_total", "per_group") +
                Value(registry, "registry_rca_enricher_dedupe_cache_evictions_total", "bytes"),
            kAlerts + 1 - limits.max_per_group);
  // Unbounded, 2000 x 20 KB fingerprints held three times over is 120 MB.
  if (!kSanitized) {
    EXPECT_LT(grown, 48u << 20) << "RSS grew by " << (grown >> 20) << " MiB";
  }
  // The newest alert is still cached: the bound evicts the oldest.
  EXPECT_TRUE(
      ProcessBody(enricher, Payload("g", padding + std::to_string(kAlerts - 1))).deduplicated);

  // Many group keys: at most max_groups.
  for (size_t i = 0; i < limits.max_groups + 100; ++i) {
    ASSERT_TRUE(ProcessBody(enricher, Payload("group-" + std::to_string(i), "fp")).enriched);
  }
  EXPECT_LE(Value(registry, "registry_rca_enricher_dedupe_cache_groups"), limits.max_groups);
  EXPECT_GE(Value(registry, "registry_rca_enricher_dedupe_cache_evictions_total", "groups"), 100);
}

// Finding 8: the queue held each notification's parsed tree beside its body (32 posts of 7.5 MB
// with the downstream refusing: 1.28 GB). Now only bodies wait, at most queue_max_bytes of them.
TEST(EnricherBounds, QueueIsBoundedInBytesNotJustNotifications) {
  int64_t now = kNow;
  prometheus::Registry registry;
  const EnricherConfig config = Config();  // queue_size 64, queue_max_bytes 32 MiB
  Enricher enricher(config, Sources(), registry, Options(&now));  // not started: nothing drains
  // ~2 MiB of small values (a tree far larger than its text), under the 250,000-value limit.
  std::string annotations;
  for (int i = 0; annotations.size() < (2u << 20) - 64; ++i) {
    annotations += (i ? "," : "") + std::string(R"("k)") + std::to_string(i) + R"(":")" +
                   std::string(20, 'v') + R"(")";
  }
  const std::string body = Payload("g", "fp", annotations);
  web::HttpRequest post{"POST", "/api/v1/alerts", "", body, "127.0.0.1:1", ""};
  const size_t rss_before = RssBytes();
  int accepted = 0, refused = 0;
  for (int i = 0; i < 32; ++i) {
    const int status = enricher.Handle(post).status;
    accepted += status == 202;
    refused += status == 503;
  }
  const size_t grown = RssBytes() - std::min(RssBytes(), rss_before);
  EXPECT_EQ(accepted, static_cast<int>(config.queue_max_bytes / body.size()));
  EXPECT_EQ(refused, 32 - accepted);
  EXPECT_LE(Value(registry, "registry_rca_enricher_queue_bytes"), config.queue_max_bytes);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_notifications_dropped_total"), refused);
  if (!kSanitized) {
    EXPECT_LT(grown, 2 * config.queue_max_bytes) << "RSS grew by " << (grown >> 20) << " MiB";
  }
}

// Finding 8 again, the CPU and memory side: with the queue full, a body is refused before it is
// parsed (the http_attacks test saw four 7.5 MB bodies parsed at once only to be refused, RSS
// +231 MB). A body that is not even JSON therefore gets the queue's 503, not a parser's 400.
TEST(EnricherBounds, AFullQueueRefusesBeforeParsing) {
  int64_t now = kNow;
  prometheus::Registry registry;
  EnricherConfig config = Config();
  config.queue_size = 2;
  Enricher enricher(config, Sources(), registry, Options(&now));  // not started: nothing drains
  const web::HttpRequest post{"POST", "/api/v1/alerts", "", Payload("g", "fp"), "127.0.0.1:1", ""};
  const web::HttpRequest garbage{"POST", "/api/v1/alerts", "", "{not json", "127.0.0.1:1", ""};
  EXPECT_EQ(enricher.Handle(garbage).status, 400);  // room left: parsed, and refused as bad
  EXPECT_EQ(enricher.Handle(post).status, 202);
  EXPECT_EQ(enricher.Handle(post).status, 202);
  EXPECT_EQ(enricher.Handle(garbage).status, 503);  // full: never parsed
  EXPECT_EQ(enricher.Handle(post).status, 503);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_notifications_rejected_total"), 1);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_notifications_dropped_total"), 2);
}

// The same flood, drained: every queued body is delivered (parsed again by the worker).
TEST(EnricherBounds, QueuedBodiesAreParsedAgainAndDelivered) {
  int64_t now = kNow;
  prometheus::Registry registry;
  Enricher enricher(Config(), Sources(), registry, Options(&now));
  enricher.Start();
  web::HttpRequest post{"POST", "/api/v1/alerts", "", Payload("g", "fp"), "127.0.0.1:1", ""};
  EXPECT_EQ(enricher.Handle(post).status, 202);
  ASSERT_TRUE(enricher.WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(Value(registry, "registry_rca_enricher_notifications_enriched_total"), 1);
  EXPECT_EQ(Value(registry, "registry_rca_enricher_queue_bytes"), 0);
  enricher.Stop();
}

// Finding 9: 80,000 rca_* annotations took 11.2 s (a linear find per key per alert). Alerts over
// max_annotations_per_alert are forwarded as they came (counted), and the common annotations
// are found in linear time even when the cap is lifted.
TEST(EnricherBounds, ManyAnnotationsCostLinearTime) {
  auto annotations = [](int n) {
    std::string text = R"("summary":"s")";
    for (int i = 0; i < n; ++i) text += R"(,"rca_)" + std::to_string(i) + R"(":"v")";
    return text;
  };
  auto two_alerts = [&](int n) {  // the same annotations on two alerts: all of them shared
    const std::string one = Payload("g", "fp1", annotations(n));
    const size_t start = one.find(R"({"status":"firing","labels")");
    std::string second = one.substr(start, one.size() - 2 - start);
    second.replace(second.rfind("fp1"), 3, "fp2");
    return one.substr(0, one.size() - 2) + "," + second + "]}";
  };
  auto timed = [](Enricher& enricher, const std::string& body, Enricher::Outcome* outcome) {
    const auto start = Steady::now();
    *outcome = ProcessBody(enricher, body);
    return std::chrono::duration<double>(Steady::now() - start).count();
  };
  int64_t now = kNow;
  prometheus::Registry registry;
  Enricher enricher(Config(), Sources(), registry, Options(&now));
  Enricher::Outcome outcome;
  const double control = timed(enricher, two_alerts(100), &outcome);
  ASSERT_TRUE(outcome.enriched) << outcome.error;

  const double capped = timed(enricher, two_alerts(80'000), &outcome);
  ASSERT_TRUE(outcome.enriched) << outcome.error;
  EXPECT_EQ(
      Value(registry, "registry_rca_enricher_alerts_not_enriched_total", "annotations_per_alert"),
      2);
  auto out = ParseJson(outcome.body, {.max_bytes = 64 << 20, .max_values = 1 << 20});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(JsonObject(JsonFind(out.value(), "commonAnnotations")).size(), 80'000u);
  if (!kSanitized) {
    EXPECT_LT(capped, 2.0) << "control " << control << " s";
  }

  EnricherOptions uncapped_options = Options(&now);
  uncapped_options.max_annotations_per_alert = 1'000'000;
  prometheus::Registry other;
  Enricher uncapped(Config(), Sources(), other, uncapped_options);
  const double uncapped_seconds = timed(uncapped, two_alerts(80'000), &outcome);
  ASSERT_TRUE(outcome.enriched) << outcome.error;
  out = ParseJson(outcome.body, {.max_bytes = 64 << 20, .max_values = 1 << 20});
  ASSERT_TRUE(out.ok());
  EXPECT_NE(JsonString(JsonObject(JsonFind(out.value(), "commonAnnotations")), "rca_summary"), "");
  if (!kSanitized) {
    EXPECT_LT(uncapped_seconds, 2.0) << "control " << control << " s";
  }
}

}  // namespace
}  // namespace rrca::enricher
