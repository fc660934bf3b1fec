// The web UI's server time: what one page costs from the data to the HTML, on the largest
// inputs the daemon keeps (the ring of 10,000 recent errors spread over 1,000 repositories and
// every cause of the catalogue; an upload timeline at its event cap). The issue's budget is
// 300 ms for the overview. Run: build/bench/ui_bench
#include <benchmark/benchmark.h>

#include <string>

#include "common/json.h"
#include "exporter/app/config.h"
#include "exporter/app/rules_loader.h"
#include "exporter/pipeline/pipeline.h"
#include "exporter/pipeline/recent_errors.h"
#include "exporter/ui/ui_cause.h"
#include "exporter/ui/ui_overview.h"
#include "exporter/ui/ui_page.h"
#include "exporter/ui/ui_timeline.h"

namespace rrca::bench {
namespace {

// A full ring: 10,000 errors, every cause, 1,000 repositories, one second apart.
const pipeline::RecentErrors& FullRing(const rules::RuleSet& catalogue) {
  static pipeline::RecentErrors* ring = [&] {
    auto* recent = new pipeline::RecentErrors(10'000);
    const rules::Verdict none;
    const auto& causes = catalogue.causes();
    for (int i = 0; i < 10'000; ++i) {
      JoinedRequest request;
      request.status = 500;
      request.time_ns = 1'700'000'000'000'000'000 + i * 1'000'000'000LL;
      request.err_code = "unknown";
      request.err_detail = "s3aws: Path not found: /docker/registry/v2/repositories/team-" +
                           std::to_string(i % 1000) + "/app/_uploads/x/data";
      request.request_id = "req-" + std::to_string(i);
      request.upload_uuid = "upload-" + std::to_string(i % 3000);
      const std::string repository = "team-" + std::to_string(i % 1000) + "/app";
      recent->OnClassified(pipeline::Classified{
          request, none, causes[static_cast<size_t>(i) % causes.size()], repository});
    }
    return recent;
  }();
  return *ring;
}

const rules::RuleSet& Catalogue() {
  static auto loaded = app::LoadRules(app::Config());
  return *loaded.value();
}

void BM_OverviewPage(benchmark::State& state) {
  const pipeline::RecentErrors& ring = FullRing(Catalogue());
  size_t bytes = 0;
  for (auto _ : state) {
    const Json causes = ring.Causes(24LL * 3600 * 1'000'000'000);
    const std::string page = ui::Page("Overview", ui::OverviewBody(causes, Json(), "24h", "/m"));
    bytes = page.size();
    benchmark::DoNotOptimize(page.data());
  }
  state.counters["page_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_OverviewPage)->Unit(benchmark::kMillisecond);

// The overview's two halves apart: the ring's summary (under the daemon's lock) and the renderer
// (outside it), so a change to one is measured without the other.
void BM_OverviewData(benchmark::State& state) {
  const pipeline::RecentErrors& ring = FullRing(Catalogue());
  for (auto _ : state) {
    const Json causes = ring.Causes(24LL * 3600 * 1'000'000'000);
    benchmark::DoNotOptimize(&causes);
  }
}
BENCHMARK(BM_OverviewData)->Unit(benchmark::kMillisecond);

void BM_OverviewRender(benchmark::State& state) {
  const Json causes = FullRing(Catalogue()).Causes(24LL * 3600 * 1'000'000'000);
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string page = ui::Page("Overview", ui::OverviewBody(causes, Json(), "24h", "/m"));
    bytes = page.size();
    benchmark::DoNotOptimize(page.data());
  }
  state.counters["page_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_OverviewRender)->Unit(benchmark::kMillisecond);

void BM_CausePage(benchmark::State& state) {
  const pipeline::RecentErrors& ring = FullRing(Catalogue());
  size_t bytes = 0;
  for (auto _ : state) {
    const Json cause =
        ring.Cause("upload_not_yet_visible", 24LL * 3600 * 1'000'000'000, Catalogue());
    const std::string page = ui::Page("Cause", ui::CauseBody(cause, "24h"));
    bytes = page.size();
    benchmark::DoNotOptimize(page.data());
  }
  state.counters["page_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_CausePage)->Unit(benchmark::kMillisecond);

// An upload with 200 events (a long push of many chunks) in both lanes.
void BM_TimelinePage(benchmark::State& state) {
  std::string json =
      R"({"upload_uuid":"u","repository":"team/app","outcome":"raced_recovered","verdict":"v",)"
      R"("visibility":{"kind":"interval","lower_seconds":1.0,"upper_seconds":2.0,)"
      R"("acknowledged_seconds":0.006,"create_start":"2026-11-29T12:50:41.000000000Z",)"
      R"("text":"t"},"events":[)";
  for (int i = 0; i < 200; ++i) {
    char event[320];
    std::snprintf(event, sizeof(event),
                  R"(%s{"time":"2026-11-29T12:50:%02d.%09dZ","side":"%s","what":"PATCH 202",)"
                  R"("status":202,"duration_seconds":0.05,"source":"registry"})",
                  i > 0 ? "," : "", 41 + i / 100, (i % 100) * 10'000'000,
                  i % 2 == 0 ? "registry" : "store");
    json += event;
  }
  json += "]}";
  // Parsed once: the daemon hands the renderer the value (UploadCorrelator::Explain).
  const StatusOr<Json> explain = ParseJson(json);
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string page = ui::Page("Upload", ui::UploadTimelineBody(explain.value()));
    bytes = page.size();
    benchmark::DoNotOptimize(page.data());
  }
  state.counters["page_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_TimelinePage)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rrca::bench

BENCHMARK_MAIN();
