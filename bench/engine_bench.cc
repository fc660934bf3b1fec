// Micro-benchmarks of the stages after parsing: the rule engine (RuleSet::Classify with the
// default catalogue), the request joiner, the upload correlator and the whole Pipeline with
// metrics (what `analyze` and `serve` run per line).
//
//   build-perf/bench/engine_bench [--benchmark_filter=Pipeline]
//
// Inputs: every `match` example of rules/default_rules.yaml (run through the real pipeline, the
// way `registry-rca check` does, and kept as joined requests), and the generated corpus of
// parsers_bench.cc ($RRCA_BENCH_CORPUS, default /tmp/rrca-microbench, written once by
// bench/gen_logs.py: 20 MB registry log, seed 1, with its AWS and RGW store logs).
#include <benchmark/benchmark.h>
#include <prometheus/registry.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_corpus.h"
#include "common/event.h"
#include "common/request.h"
#include "exporter/app/config.h"
#include "exporter/app/rules_loader.h"
#include "exporter/metrics/metrics.h"
#include "exporter/metrics/upload_metrics.h"
#include "exporter/pipeline/correlator.h"
#include "exporter/pipeline/joiner.h"
#include "exporter/pipeline/pipeline.h"
#include "exporter/pipeline/recent_errors.h"
#include "exporter/pipeline/repository_table.h"
#include "rules/rule_set.h"
#include "tailers/parse/registry/registry_reader.h"
#include "tailers/parse/s3/s3_reader.h"

namespace {

using rrca::JoinedRequest;
using rrca::RegistryEvent;
using rrca::S3Event;
namespace t = rrca::tailers;

using rrca::bench::Corpus;
using rrca::bench::Lines;
using rrca::bench::LoadLines;
using rrca::bench::RegistryText;
using rrca::bench::StoreAws;
using rrca::bench::StoreRgw;

const std::shared_ptr<const rrca::rules::RuleSet>& DefaultRules() {
  static const std::shared_ptr<const rrca::rules::RuleSet> rules = [] {
    auto loaded = rrca::app::LoadRules(rrca::app::Config());
    if (!loaded.ok()) throw std::runtime_error(loaded.status().message());
    return loaded.value();
  }();
  return rules;
}

// ---- owned copies of the views that the stages hand over ----

class Arena {
 public:
  std::string_view Keep(std::string_view text) {
    if (text.empty()) return {};
    strings_.emplace_back(text);  // a deque never moves its elements
    return strings_.back();
  }

 private:
  std::deque<std::string> strings_;
};

JoinedRequest Own(const JoinedRequest& in, Arena& arena) {
  JoinedRequest out = in;
  for (std::string_view* view :
       {&out.source, &out.request_id, &out.method, &out.uri, &out.repository, &out.upload_uuid,
        &out.msg, &out.err_code, &out.err_message, &out.err_detail, &out.messages,
        &out.upload_state.name, &out.upload_state.uuid}) {
    *view = arena.Keep(*view);
  }
  return out;
}

RegistryEvent Own(const RegistryEvent& in, Arena& arena) {
  RegistryEvent out = in;
  for (std::string_view* view :
       {&out.msg, &out.request_id, &out.method, &out.uri, &out.repository, &out.upload_uuid,
        &out.err_code, &out.err_message, &out.err_detail, &out.trace_func}) {
    *view = arena.Keep(*view);
  }
  return out;
}

S3Event Own(const S3Event& in, Arena& arena) {
  S3Event out = in;
  for (std::string_view* view :
       {&out.raw_operation, &out.bucket, &out.key, &out.request_id, &out.error_code}) {
    *view = arena.Keep(*view);
  }
  return out;
}

struct OwnedClassified {
  JoinedRequest request;
  rrca::rules::Verdict verdict;
  std::string_view cause;
  std::string_view repository_label;
};

// Keeps every judged request a pipeline produces (errors only, or all).
class Keeper : public rrca::pipeline::ClassifiedObserver {
 public:
  explicit Keeper(bool errors_only) : errors_only_(errors_only) {}
  void OnClassified(const rrca::pipeline::Classified& c) override {
    if (errors_only_ && !c.request.IsError()) return;
    kept.push_back(
        {Own(c.request, arena), c.verdict, arena.Keep(c.cause), arena.Keep(c.repository_label)});
    expected_rule.push_back(current_rule);
  }
  std::vector<OwnedClassified> kept;
  std::vector<const rrca::rules::Rule*> expected_rule;
  const rrca::rules::Rule* current_rule = nullptr;
  Arena arena;

 private:
  bool errors_only_;
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

// The error requests of every `match` example of the default catalogue, joined by the real
// pipeline (envelope, parser, joiner), with the rule each should be classified by.
Keeper& CatalogueErrors() {
  static Keeper keeper(true);
  static bool done = false;
  if (done) return keeper;
  done = true;
  const auto& rules = DefaultRules();
  for (const rrca::rules::Rule& rule : rules->rules()) {
    for (const rrca::rules::RuleExample& example : rule.examples) {
      if (!example.should_match) continue;
      rrca::pipeline::Pipeline pipeline(rrca::app::PipelineOptionsFrom(rrca::app::Config(), 2026),
                                        rules, nullptr);
      keeper.current_rule = &rule;
      pipeline.AddObserver(&keeper);
      const auto stream = pipeline.OpenStream("example", t::EnvelopeHint::kAuto);
      Feed(pipeline, stream, example.lines);
      pipeline.Finish();
    }
  }
  return keeper;
}

// Every request of the 20 MB corpus as the pipeline judged it.
Keeper& CorpusRequests() {
  static Keeper keeper(false);
  static bool done = false;
  if (done) return keeper;
  done = true;
  rrca::pipeline::Pipeline::Options options =
      rrca::app::PipelineOptionsFrom(rrca::app::Config(), 2026);
  options.max_repositories = 100'000;
  rrca::pipeline::Pipeline pipeline(options, DefaultRules(), nullptr);
  pipeline.AddObserver(&keeper);
  const auto stream = pipeline.OpenStream("registry", t::EnvelopeHint::kAuto);
  size_t count = 0;
  for (std::string_view line : RegistryText().lines) {
    pipeline.OnLine(stream, line);
    if (++count % 4096 == 0) pipeline.Tick();
  }
  pipeline.Finish();
  return keeper;
}

// ---- rule engine ----

void BM_Classify_CatalogueExamples(benchmark::State& state) {
  const Keeper& errors = CatalogueErrors();
  const auto& rules = DefaultRules();
  size_t as_expected = 0;
  for (auto _ : state) {
    as_expected = 0;
    for (size_t i = 0; i < errors.kept.size(); ++i) {
      const rrca::rules::Verdict verdict = rules->Classify(errors.kept[i].request);
      as_expected += verdict.rule == errors.expected_rule[i];
      benchmark::DoNotOptimize(verdict);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * errors.kept.size()));
  state.counters["requests"] = static_cast<double>(errors.kept.size());
  state.counters["as_expected"] = static_cast<double>(as_expected);
  state.counters["rules"] = static_cast<double>(rules->rules().size());
}
BENCHMARK(BM_Classify_CatalogueExamples);

// One example per rule, by rule position: the later the rule, the more rules are tried first.
void BM_Classify_ByRulePosition(benchmark::State& state) {
  const Keeper& errors = CatalogueErrors();
  const auto& rules = DefaultRules();
  const size_t position = static_cast<size_t>(state.range(0));
  const rrca::rules::Rule* wanted =
      position < rules->rules().size() ? &rules->rules()[position] : nullptr;
  const JoinedRequest* request = nullptr;
  for (size_t i = 0; i < errors.kept.size() && request == nullptr; ++i) {
    if (errors.expected_rule[i] == wanted &&
        rules->Classify(errors.kept[i].request).rule == wanted) {
      request = &errors.kept[i].request;
    }
  }
  if (request == nullptr) {
    state.SkipWithError("no example request for this rule position");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(rules->Classify(*request));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(wanted->name);
}
BENCHMARK(BM_Classify_ByRulePosition)->Arg(0)->Arg(10)->Arg(20)->Arg(30)->Arg(40)->Arg(47);

// A request no rule matches: every rule is tried (the worst case).
void BM_Classify_Unclassified(benchmark::State& state) {
  Arena arena;
  JoinedRequest request;
  request.origin = JoinedRequest::Origin::kSummary;
  request.method = "GET";
  request.uri = "/v2/team/app/manifests/latest";
  request.repository = "team/app";
  request.operation = rrca::Operation::kManifestGet;
  request.status = 500;
  request.level = rrca::Level::kError;
  request.msg = "response completed with error";
  request.err_code = "unknown";
  request.err_message = "unknown error";
  request.err_detail = "something nobody has seen before";
  const auto& rules = DefaultRules();
  if (rules->Classify(request).rule != nullptr) {
    state.SkipWithError("the constructed request matched a rule");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(rules->Classify(request));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Classify_Unclassified);

// A success (the pipeline does not classify successes; this is what it would cost).
void BM_Classify_Success(benchmark::State& state) {
  const Keeper& corpus = CorpusRequests();
  const JoinedRequest* request = nullptr;
  for (const OwnedClassified& c : corpus.kept) {
    if (c.request.status == 200 && c.request.operation == rrca::Operation::kBlobGet) {
      request = &c.request;
      break;
    }
  }
  if (request == nullptr) {
    for (const OwnedClassified& c : corpus.kept) {
      if (c.request.status == 200) {
        request = &c.request;
        break;
      }
    }
  }
  if (request == nullptr) {
    state.SkipWithError("no 200 in the corpus");
    return;
  }
  const auto& rules = DefaultRules();
  for (auto _ : state) benchmark::DoNotOptimize(rules->Classify(*request));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Classify_Success);

// Every error response of the generated corpus (~1.5 % of requests, several causes).
void BM_Classify_CorpusErrors(benchmark::State& state) {
  const Keeper& corpus = CorpusRequests();
  std::vector<const JoinedRequest*> errors;
  for (const OwnedClassified& c : corpus.kept) {
    if (c.request.IsError()) errors.push_back(&c.request);
  }
  const auto& rules = DefaultRules();
  for (auto _ : state) {
    for (const JoinedRequest* request : errors) benchmark::DoNotOptimize(rules->Classify(*request));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * errors.size()));
  state.counters["requests"] = static_cast<double>(errors.size());
}
BENCHMARK(BM_Classify_CorpusErrors);

// ---- joiner ----

class EventKeeper : public t::RegistryEventSink {
 public:
  void OnRegistryEvent(const RegistryEvent& event) override { events.push_back(Own(event, arena)); }
  std::vector<RegistryEvent> events;
  Arena arena;
};

const EventKeeper& CorpusEvents() {
  static EventKeeper keeper;
  static bool done = false;
  if (done) return keeper;
  done = true;
  t::RegistryReader::Options options;
  options.syslog_year = 2026;
  t::RegistryReader reader(options, &keeper);
  for (std::string_view line : RegistryText().lines) reader.OnLine(line);
  reader.Flush();
  return keeper;
}

class CountingRequestSink : public rrca::pipeline::JoinedRequestSink {
 public:
  void OnRequest(const JoinedRequest& request) override {
    ++requests;
    benchmark::DoNotOptimize(request.status);
  }
  uint64_t requests = 0;
};

void BM_Joiner(benchmark::State& state) {
  const EventKeeper& events = CorpusEvents();
  CountingRequestSink sink;
  for (auto _ : state) {
    rrca::pipeline::RequestJoiner joiner(rrca::pipeline::RequestJoiner::Options(), &sink);
    size_t count = 0;
    for (const RegistryEvent& event : events.events) {
      joiner.OnEvent(event, "registry");
      if (++count % 1024 == 0) joiner.AdvanceTo(event.time_ns);
    }
    joiner.FlushAll();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events.events.size()));
  state.counters["events"] = static_cast<double>(events.events.size());
  state.counters["requests_per_pass"] =
      static_cast<double>(sink.requests) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Joiner)->Unit(benchmark::kMillisecond);

// ---- correlator ----

class S3Keeper : public t::S3EventSink {
 public:
  void OnS3Event(const S3Event& event) override { events.push_back(Own(event, arena)); }
  std::vector<S3Event> events;
  Arena arena;
};

const S3Keeper& StoreEvents(const Lines& lines) {
  static std::map<const Lines*, S3Keeper> cache;
  auto found = cache.find(&lines);
  if (found != cache.end()) return found->second;
  S3Keeper& keeper = cache[&lines];
  t::S3Reader reader(&keeper);
  for (std::string_view line : lines.lines) reader.OnLine(line);
  return keeper;
}

struct CorrelatorUnderTest {
  CorrelatorUnderTest()
      : registry(std::make_shared<prometheus::Registry>()),
        repositories(100'000, {}),
        metrics(*registry),
        correlator(rrca::pipeline::UploadCorrelator::Options(), &repositories, &metrics) {}
  std::shared_ptr<prometheus::Registry> registry;
  rrca::pipeline::RepositoryTable repositories;
  rrca::metrics::UploadMetrics metrics;
  rrca::pipeline::UploadCorrelator correlator;
};

void Replay(rrca::pipeline::UploadCorrelator& correlator, const OwnedClassified& c) {
  const rrca::pipeline::Classified classified{c.request, c.verdict, c.cause, c.repository_label};
  correlator.OnClassified(classified);
}

void BM_Correlator_OnClassified(benchmark::State& state) {
  const Keeper& corpus = CorpusRequests();
  size_t uploads = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto under_test = std::make_unique<CorrelatorUnderTest>();
    state.ResumeTiming();
    size_t count = 0;
    for (const OwnedClassified& c : corpus.kept) {
      Replay(under_test->correlator, c);
      if (++count % 1024 == 0) under_test->correlator.AdvanceTo(c.request.time_ns);
    }
    uploads = under_test->correlator.open_uploads();
    state.PauseTiming();
    under_test.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * corpus.kept.size()));
  state.counters["requests"] = static_cast<double>(corpus.kept.size());
  state.counters["open_uploads_at_end"] = static_cast<double>(uploads);
}
BENCHMARK(BM_Correlator_OnClassified)->Unit(benchmark::kMillisecond);

// The store's events after the registry's requests are known (their uploads are open).
void BM_Correlator_OnS3Event(benchmark::State& state, const Lines* (*store)()) {
  const Keeper& corpus = CorpusRequests();
  const S3Keeper& events = StoreEvents(*store());
  for (auto _ : state) {
    state.PauseTiming();
    auto under_test = std::make_unique<CorrelatorUnderTest>();
    for (const OwnedClassified& c : corpus.kept) Replay(under_test->correlator, c);
    state.ResumeTiming();
    for (const S3Event& event : events.events) {
      under_test->metrics.CountS3Request(event.bucket, event.op, event.status, event.duration_ns);
      under_test->correlator.OnS3Event(event, "store");
    }
    state.PauseTiming();
    under_test.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events.events.size()));
  state.counters["events"] = static_cast<double>(events.events.size());
}
BENCHMARK_CAPTURE(BM_Correlator_OnS3Event, aws, [] {
  return &StoreAws();
})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Correlator_OnS3Event, rgw, [] {
  return &StoreRgw();
})->Unit(benchmark::kMillisecond);

// ---- the whole pipeline, with metrics ----

struct PipelineUnderTest {
  explicit PipelineUnderTest(bool with_metrics)
      : registry(std::make_shared<prometheus::Registry>()) {
    if (with_metrics) metrics = std::make_unique<rrca::metrics::Metrics>(registry);
    rrca::pipeline::Pipeline::Options options =
        rrca::app::PipelineOptionsFrom(rrca::app::Config(), 2026);
    pipeline = std::make_unique<rrca::pipeline::Pipeline>(options, DefaultRules(), metrics.get());
    pipeline->AddObserver(&recent);
  }
  std::shared_ptr<prometheus::Registry> registry;
  std::unique_ptr<rrca::metrics::Metrics> metrics;
  rrca::pipeline::RecentErrors recent;  // serve's observer
  std::unique_ptr<rrca::pipeline::Pipeline> pipeline;
};

// One pass over the registry corpus as `analyze` makes it (Tick every 4096 lines, Finish); a
// fresh pipeline and registry every pass, so first-time label sets are paid for as in analyze.
void BM_Pipeline_Registry(benchmark::State& state, bool with_metrics) {
  const Lines& lines = RegistryText();
  for (auto _ : state) {
    state.PauseTiming();
    auto under_test = std::make_unique<PipelineUnderTest>(with_metrics);
    const auto stream = under_test->pipeline->OpenStream("registry", t::EnvelopeHint::kAuto);
    state.ResumeTiming();
    size_t count = 0;
    for (std::string_view line : lines.lines) {
      under_test->pipeline->OnLine(stream, line);
      if (++count % 4096 == 0) under_test->pipeline->Tick();
    }
    under_test->pipeline->Finish();
    state.PauseTiming();
    under_test.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * lines.bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines.lines.size()));
}
BENCHMARK_CAPTURE(BM_Pipeline_Registry, with_metrics, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Pipeline_Registry, no_metrics, false)->Unit(benchmark::kMillisecond);

// S3 parsing + correlation + store metrics through the pipeline, after the registry log was
// fed (so the uploads exist): the store side of `analyze --s3-log` without the time merging.
void BM_Pipeline_Store(benchmark::State& state, const Lines* (*store)()) {
  const Lines& registry_lines = RegistryText();
  const Lines& store_lines = *store();
  for (auto _ : state) {
    state.PauseTiming();
    auto under_test = std::make_unique<PipelineUnderTest>(true);
    rrca::pipeline::Pipeline& pipeline = *under_test->pipeline;
    const auto registry = pipeline.OpenStream("registry", t::EnvelopeHint::kAuto);
    const auto s3 = pipeline.OpenStream("store", t::EnvelopeHint::kNone,
                                        rrca::pipeline::Pipeline::StreamKind::kS3);
    for (std::string_view line : registry_lines.lines) pipeline.OnLine(registry, line);
    pipeline.FlushStream(registry);
    state.ResumeTiming();
    size_t count = 0;
    for (std::string_view line : store_lines.lines) {
      pipeline.OnLine(s3, line);
      if (++count % 4096 == 0) pipeline.Tick();
    }
    pipeline.Finish();
    state.PauseTiming();
    under_test.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * store_lines.bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * store_lines.lines.size()));
}
BENCHMARK_CAPTURE(BM_Pipeline_Store, aws, [] {
  return &StoreAws();
})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Pipeline_Store, rgw, [] {
  return &StoreRgw();
})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
