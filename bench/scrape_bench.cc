// What a /metrics scrape costs inside the daemon with 1,000 repositories x all causes, on the
// product's path (daemon.cc's Scrape): Metrics::TakeSnapshot under the processing lock (the small
// prometheus-cpp registry's Collect and the ExpositionStore's flat arrays copied), then
// Metrics::Render outside it. BM_Legacy* measure the path before the exposition store: the same
// series in prometheus-cpp families (the store copied into a registry of its own),
// Registry::Collect and TextSerializer. bench/scrape_bench.py measures the scrape end to end over
// HTTP.
//
//   build-perf/bench/scrape_bench [--benchmark_filter=...]
//
// The fill: the error requests of every `match` example of the default catalogue, each counted
// (Metrics::CountResponse + CountError, as Pipeline::OnRequest does) for repositories
// scrape/r0000 .. scrape/r0999, then the 20 MB generated corpus through a Pipeline sharing the
// same registry (its own repositories, success and error series, reader counters).
#include <benchmark/benchmark.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/request.h"
#include "exporter/app/config.h"
#include "exporter/app/rules_loader.h"
#include "exporter/metrics/metrics.h"
#include "exporter/pipeline/pipeline.h"

namespace {

namespace t = rrca::tailers;

std::string CorpusPath() {
  const char* env = std::getenv("RRCA_BENCH_CORPUS");
  const std::string dir = env != nullptr && *env != '\0' ? env : "/tmp/rrca-microbench";
  const std::string path = dir + "/registry-20M.log";
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && st.st_size > 0) return path;
  const std::string command = "mkdir -p '" + dir +
                              "' && python3 '" RRCA_SOURCE_DIR
                              "/bench/gen_logs.py' --quiet --seed 1 --size 20M --s3-log '" +
                              dir + "/s3-20M.log' --rgw-log '" + dir + "/rgw-20M.log' --out '" +
                              path + "'";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("cannot generate " + path);
  return path;
}

struct Error {
  rrca::Operation operation;
  int status;
  std::string cause, rule;
  double age;
};

// Errors of the catalogue's examples as the pipeline judges them.
class ErrorKeeper : public rrca::pipeline::ClassifiedObserver {
 public:
  void OnClassified(const rrca::pipeline::Classified& c) override {
    if (!c.request.IsError()) return;
    errors.push_back({c.request.operation, c.request.status, std::string(c.cause),
                      c.verdict.rule != nullptr ? c.verdict.rule->name : "",
                      c.request.upload_age_seconds});
  }
  std::vector<Error> errors;
};

void Feed(rrca::pipeline::Pipeline& pipeline, rrca::pipeline::Pipeline::StreamId stream,
          std::string_view text) {
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    const size_t length = newline == std::string_view::npos ? text.size() : newline;
    pipeline.OnLine(stream, text.substr(0, length));
    text.remove_prefix(std::min(text.size(), length + 1));
  }
}

struct Filled {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<rrca::metrics::Metrics> metrics;
  std::unique_ptr<rrca::pipeline::Pipeline> pipeline;
  size_t error_kinds = 0;
  size_t causes = 0;
};

Filled& Fill(size_t repos) {
  static std::map<size_t, std::unique_ptr<Filled>> cache;
  auto& slot = cache[repos];
  if (slot) return *slot;
  slot = std::make_unique<Filled>();
  Filled& filled = *slot;
  auto rules = rrca::app::LoadRules(rrca::app::Config());
  if (!rules.ok()) throw std::runtime_error(rules.status().message());
  ErrorKeeper keeper;
  for (const auto& rule : rules.value()->rules()) {
    for (const auto& example : rule.examples) {
      if (!example.should_match) continue;
      rrca::pipeline::Pipeline pipeline(rrca::app::PipelineOptionsFrom(rrca::app::Config(), 2026),
                                        rules.value(), nullptr);
      pipeline.AddObserver(&keeper);
      Feed(pipeline, pipeline.OpenStream("example", t::EnvelopeHint::kAuto), example.lines);
      pipeline.Finish();
    }
  }
  filled.error_kinds = keeper.errors.size();
  std::set<std::string> causes;
  for (const Error& e : keeper.errors) causes.insert(e.cause);
  filled.causes = causes.size();

  filled.metrics = std::make_unique<rrca::metrics::Metrics>(filled.registry);
  rrca::pipeline::Pipeline::Options options =
      rrca::app::PipelineOptionsFrom(rrca::app::Config(), 2026);
  options.max_repositories = repos + 1000;
  filled.pipeline =
      std::make_unique<rrca::pipeline::Pipeline>(options, rules.value(), filled.metrics.get());
  // Ids above the pipeline's own: the fill's repositories are labels only here.
  for (size_t r = 0; r < repos; ++r) {
    char name[32];
    std::snprintf(name, sizeof(name), "scrape/r%04zu", r);
    const uint32_t id = static_cast<uint32_t>(1'000'000 + r);
    for (const Error& e : keeper.errors) {
      filled.metrics->CountResponse(id, name, e.operation, e.status);
      filled.metrics->CountError(id, name, e.operation, e.status, e.cause, e.rule, e.age);
    }
  }
  std::ifstream in(CorpusPath(), std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  const auto stream = filled.pipeline->OpenStream("registry", t::EnvelopeHint::kAuto);
  Feed(*filled.pipeline, stream, text);
  filled.pipeline->Tick();
  return filled;
}

// The registry as it was before the ExpositionStore: every family in prometheus-cpp.
prometheus::Registry& Legacy(Filled& filled) {
  static std::map<Filled*, std::unique_ptr<prometheus::Registry>> cache;
  auto& slot = cache[&filled];
  if (!slot) {
    slot = std::make_unique<prometheus::Registry>();
    filled.metrics->exposition().CopyInto(*slot);
  }
  return *slot;
}

// Both registries: the small one stays in prometheus-cpp on either path.
std::vector<prometheus::MetricFamily> LegacyCollect(Filled& filled) {
  std::vector<prometheus::MetricFamily> families = filled.registry->Collect();
  for (auto& family : Legacy(filled).Collect()) families.push_back(std::move(family));
  return families;
}

void Describe(benchmark::State& state, Filled& filled, size_t body_bytes) {
  state.counters["series"] = static_cast<double>(filled.metrics->exposition().series_count() + [&] {
    size_t series = 0;
    for (const auto& family : filled.registry->Collect()) series += family.metric.size();
    return series;
  }());
  state.counters["error_kinds"] = static_cast<double>(filled.error_kinds);
  state.counters["causes"] = static_cast<double>(filled.causes);
  state.counters["body_bytes"] = static_cast<double>(body_bytes);
}

std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// The whole scrape as the daemon does it (without HTTP and the positions file). `same_as_legacy`
// = 1 when the body holds exactly the lines prometheus-cpp writes for the same series (families
// and series may come in another order).
void BM_Scrape(benchmark::State& state) {
  Filled& filled = Fill(static_cast<size_t>(state.range(0)));
  {
    rrca::metrics::Metrics::Snapshot snapshot;
    filled.metrics->TakeSnapshot(&snapshot);
    const bool same = SortedLines(rrca::metrics::Metrics::Render(snapshot)) ==
                      SortedLines(prometheus::TextSerializer().Serialize(LegacyCollect(filled)));
    state.counters["same_as_legacy"] = same ? 1 : 0;
  }
  size_t bytes = 0;
  for (auto _ : state) {
    rrca::metrics::Metrics::Snapshot snapshot;
    filled.metrics->TakeSnapshot(&snapshot);
    const std::string body = rrca::metrics::Metrics::Render(snapshot);
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  Describe(state, filled, bytes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_Scrape)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

// The part under the processing lock: what the tailers wait for while a scrape runs.
void BM_ScrapeUnderLock(benchmark::State& state) {
  Filled& filled = Fill(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    rrca::metrics::Metrics::Snapshot snapshot;
    filled.metrics->TakeSnapshot(&snapshot);
    benchmark::DoNotOptimize(snapshot.store.values.data());
  }
}
BENCHMARK(BM_ScrapeUnderLock)->Arg(1000)->Unit(benchmark::kMicrosecond);

// The part outside the lock.
void BM_ScrapeRender(benchmark::State& state) {
  Filled& filled = Fill(static_cast<size_t>(state.range(0)));
  rrca::metrics::Metrics::Snapshot snapshot;
  filled.metrics->TakeSnapshot(&snapshot);
  for (auto _ : state) {
    const std::string body = rrca::metrics::Metrics::Render(snapshot);
    benchmark::DoNotOptimize(body.data());
  }
}
BENCHMARK(BM_ScrapeRender)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_LegacyCollect(benchmark::State& state) {
  Filled& filled = Fill(static_cast<size_t>(state.range(0)));
  Legacy(filled);
  for (auto _ : state) benchmark::DoNotOptimize(LegacyCollect(filled));
}
BENCHMARK(BM_LegacyCollect)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_LegacySerialize(benchmark::State& state) {
  const auto families = LegacyCollect(Fill(static_cast<size_t>(state.range(0))));
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string body = prometheus::TextSerializer().Serialize(families);
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_LegacySerialize)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
