// What a /metrics scrape costs inside the daemon with 1,000 repositories x all causes: the
// prometheus-cpp Registry::Collect (taken under the processing lock in daemon.cc's Scrape) and
// the TextSerializer (outside it). bench/scrape_bench.py measures the same end to end over HTTP.
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
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/request.h"
#include "exporter/config.h"
#include "exporter/metrics.h"
#include "exporter/pipeline.h"
#include "exporter/rules_loader.h"

namespace {

namespace ex = rrca::exporter;
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
class ErrorKeeper : public ex::ClassifiedObserver {
 public:
  void OnClassified(const ex::Classified& c) override {
    if (!c.request.IsError()) return;
    errors.push_back({c.request.operation, c.request.status, std::string(c.cause),
                      c.verdict.rule != nullptr ? c.verdict.rule->name : "",
                      c.request.upload_age_seconds});
  }
  std::vector<Error> errors;
};

void Feed(ex::Pipeline& pipeline, ex::Pipeline::StreamId stream, std::string_view text) {
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    const size_t length = newline == std::string_view::npos ? text.size() : newline;
    pipeline.OnLine(stream, text.substr(0, length));
    text.remove_prefix(std::min(text.size(), length + 1));
  }
}

struct Filled {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<ex::Metrics> metrics;
  std::unique_ptr<ex::Pipeline> pipeline;
  size_t error_kinds = 0;
  size_t causes = 0;
};

Filled& Fill(size_t repos) {
  static std::map<size_t, std::unique_ptr<Filled>> cache;
  auto& slot = cache[repos];
  if (slot) return *slot;
  slot = std::make_unique<Filled>();
  Filled& filled = *slot;
  auto rules = ex::LoadRules(ex::Config());
  if (!rules.ok()) throw std::runtime_error(rules.status().message());
  ErrorKeeper keeper;
  for (const auto& rule : rules.value()->rules()) {
    for (const auto& example : rule.examples) {
      if (!example.should_match) continue;
      ex::Pipeline pipeline(ex::PipelineOptionsFrom(ex::Config(), 2026), rules.value(), nullptr);
      pipeline.AddObserver(&keeper);
      Feed(pipeline, pipeline.OpenStream("example", t::EnvelopeHint::kAuto), example.lines);
      pipeline.Finish();
    }
  }
  filled.error_kinds = keeper.errors.size();
  std::set<std::string> causes;
  for (const Error& e : keeper.errors) causes.insert(e.cause);
  filled.causes = causes.size();

  filled.metrics = std::make_unique<ex::Metrics>(filled.registry);
  ex::Pipeline::Options options = ex::PipelineOptionsFrom(ex::Config(), 2026);
  options.max_repositories = repos + 1000;
  filled.pipeline = std::make_unique<ex::Pipeline>(options, rules.value(), filled.metrics.get());
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

void Describe(benchmark::State& state, Filled& filled) {
  size_t series = 0;
  for (const auto& family : filled.registry->Collect()) series += family.metric.size();
  state.counters["series"] = static_cast<double>(series);
  state.counters["error_kinds"] = static_cast<double>(filled.error_kinds);
  state.counters["causes"] = static_cast<double>(filled.causes);
}

void BM_Collect(benchmark::State& state) {
  Filled& filled = Fill(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(filled.registry->Collect());
  Describe(state, filled);
}
BENCHMARK(BM_Collect)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_Serialize(benchmark::State& state) {
  Filled& filled = Fill(static_cast<size_t>(state.range(0)));
  const auto families = filled.registry->Collect();
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string body = prometheus::TextSerializer().Serialize(families);
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_Serialize)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_CollectAndSerialize(benchmark::State& state) {
  Filled& filled = Fill(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    const std::string body = prometheus::TextSerializer().Serialize(filled.registry->Collect());
    benchmark::DoNotOptimize(body.data());
  }
  Describe(state, filled);
}
BENCHMARK(BM_CollectAndSerialize)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

// A prototype of the proposed fix, for its order of magnitude: every counter series' text prefix
// (`name{label="value",...} `) rendered once, values kept in a flat array; a scrape copies the
// values (what would happen under the processing lock) and renders them with std::to_chars into
// one reserved string. Counters only (they are all but a few hundred of the series); no escaping
// needed for these label values.
void BM_PrototypePrerendered(benchmark::State& state) {
  Filled& filled = Fill(static_cast<size_t>(state.range(0)));
  std::vector<std::string> prefixes;
  std::vector<double> values;
  for (const auto& family : filled.registry->Collect()) {
    if (family.type != prometheus::MetricType::Counter) continue;
    for (const auto& metric : family.metric) {
      std::string prefix = family.name;
      prefix += '{';
      for (size_t i = 0; i < metric.label.size(); ++i) {
        if (i > 0) prefix += ',';
        prefix += metric.label[i].name + "=\"" + metric.label[i].value + "\"";
      }
      prefix += "} ";
      prefixes.push_back(std::move(prefix));
      values.push_back(metric.counter.value);
    }
  }
  std::vector<double> snapshot(values.size());
  std::string body;
  for (auto _ : state) {
    std::copy(values.begin(), values.end(), snapshot.begin());  // under the lock
    body.clear();
    body.reserve(16 << 20);
    char number[32];
    for (size_t i = 0; i < prefixes.size(); ++i) {
      body += prefixes[i];
      const auto end = std::to_chars(number, number + sizeof(number), snapshot[i]).ptr;
      body.append(number, end);
      body += '\n';
    }
    benchmark::DoNotOptimize(body.data());
  }
  state.counters["counter_series"] = static_cast<double>(prefixes.size());
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_PrototypePrerendered)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
