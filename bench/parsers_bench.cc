// Micro-benchmarks of the byte-level stages: every registry record parser (logrus text summary,
// the debug-trace prefilter path, logrus JSON, access log), every envelope, the store-log parsers
// (RGW beast, AWS server access), and the two readers over whole generated logs.
//
//   build-perf/bench/parsers_bench [--benchmark_filter=Reader]
//
// The inputs are lines of a corpus that bench/gen_logs.py writes once into
// $RRCA_BENCH_CORPUS (default /tmp/rrca-microbench): a 20 MB registry log (seed 1, text, raw
// quoting, no envelope) with its AWS and RGW store logs, and 5 MB registry logs in JSON and in
// the syslog, CRI and docker envelopes. bytes_per_second is input bytes (the line as read).
#include <benchmark/benchmark.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_corpus.h"
#include "common/event.h"
#include "tailers/parse/envelope.h"
#include "tailers/parse/registry/registry_parse.h"
#include "tailers/parse/registry/registry_reader.h"
#include "tailers/parse/s3/s3_parse.h"
#include "tailers/parse/s3/s3_reader.h"

namespace {

using rrca::RegistryEvent;
using rrca::S3Event;
namespace t = rrca::tailers;

using rrca::bench::Corpus;
using rrca::bench::Lines;
using rrca::bench::LoadLines;
using rrca::bench::RegistryText;
using rrca::bench::StoreAws;
using rrca::bench::StoreRgw;

const Lines& Registry5M(const std::string& variant, const std::string& args) {
  return LoadLines(Corpus("registry-5M-" + variant + ".log", "--size 5M " + args));
}

// The first line for which `pick` is true.
std::string FirstLine(const Lines& lines, const std::function<bool(std::string_view)>& pick) {
  for (std::string_view line : lines.lines) {
    if (pick(line)) return std::string(line);
  }
  throw std::runtime_error("no such line in the corpus");
}

bool Has(std::string_view line, std::string_view part) {
  return line.find(part) != std::string_view::npos;
}

// ---- line samples ----

const std::string& SuccessSummaryLine() {
  static const std::string line = FirstLine(RegistryText(), [](std::string_view l) {
    return l.starts_with("time=") && Has(l, "msg=\"response completed\"") && Has(l, "/blobs/") &&
           Has(l, "http.response.status=");
  });
  return line;
}
const std::string& ErrorSummaryLine() {
  static const std::string line = FirstLine(RegistryText(), [](std::string_view l) {
    return l.starts_with("time=") && Has(l, "msg=\"response completed with error\"") &&
           Has(l, "http.response.status=");
  });
  return line;
}
const std::string& DebugTraceLine() {
  static const std::string line = FirstLine(RegistryText(), [](std::string_view l) {
    return l.starts_with("time=") && Has(l, "level=debug msg=\"s3aws.") && Has(l, "trace.func=");
  });
  return line;
}
const std::string& AuthorizingLine() {
  static const std::string line = FirstLine(RegistryText(), [](std::string_view l) {
    return l.starts_with("time=") && Has(l, "msg=\"authorizing request\"");
  });
  return line;
}
const std::string& AccessLine() {
  static const std::string line = FirstLine(RegistryText(), [](std::string_view l) {
    return !l.empty() && l[0] >= '0' && l[0] <= '9' && Has(l, "/blobs/");
  });
  return line;
}
const std::string& JsonSummaryLine() {
  static const std::string line = FirstLine(Registry5M("json", "--format json"), [](auto l) {
    return l.starts_with("{") && Has(l, "\"msg\":\"response completed\"") && Has(l, "/blobs/");
  });
  return line;
}
const std::string& JsonDebugLine() {
  static const std::string line = FirstLine(Registry5M("json", "--format json"), [](auto l) {
    return l.starts_with("{") && Has(l, "\"level\":\"debug\"") && Has(l, "\"msg\":\"s3aws.");
  });
  return line;
}
const std::string& BeastLine() {
  static const std::string line = FirstLine(
      StoreRgw(), [](std::string_view l) { return Has(l, " beast: ") && Has(l, "/_uploads/"); });
  return line;
}
const std::string& AwsLine() {
  static const std::string line = FirstLine(StoreAws(), [](std::string_view l) {
    return Has(l, "REST.PUT.OBJECT") && Has(l, "/_uploads/");
  });
  return line;
}

void PerLine(benchmark::State& state, size_t bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["line_bytes"] = static_cast<double>(bytes);
}

// ---- registry record parsers ----

void BM_LogrusText_Summary(benchmark::State& state) {
  const std::string& line = SuccessSummaryLine();
  std::string scratch;
  for (auto _ : state) {
    RegistryEvent event;
    bool interesting = false;
    auto status = t::ParseLogrusText(line, true, &scratch, &event, &interesting);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(event);
  }
  PerLine(state, line.size() + 1);
}
BENCHMARK(BM_LogrusText_Summary);

void BM_LogrusText_ErrorSummary(benchmark::State& state) {
  const std::string& line = ErrorSummaryLine();
  std::string scratch;
  for (auto _ : state) {
    RegistryEvent event;
    bool interesting = false;
    auto status = t::ParseLogrusText(line, true, &scratch, &event, &interesting);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(event);
  }
  PerLine(state, line.size() + 1);
}
BENCHMARK(BM_LogrusText_ErrorSummary);

// The prefilter: a debug storage trace, header only (time, level, msg), then skipped.
void BM_LogrusText_DebugTrace_Prefilter(benchmark::State& state) {
  const std::string& line = DebugTraceLine();
  std::string scratch;
  bool interesting = true;
  for (auto _ : state) {
    RegistryEvent event;
    auto status = t::ParseLogrusText(line, true, &scratch, &event, &interesting);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(event);
  }
  if (interesting) state.SkipWithError("the debug trace was not filtered out");
  PerLine(state, line.size() + 1);
}
BENCHMARK(BM_LogrusText_DebugTrace_Prefilter);

void BM_LogrusText_Authorizing_Prefilter(benchmark::State& state) {
  const std::string& line = AuthorizingLine();
  std::string scratch;
  for (auto _ : state) {
    RegistryEvent event;
    bool interesting = true;
    auto status = t::ParseLogrusText(line, true, &scratch, &event, &interesting);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(event);
  }
  PerLine(state, line.size() + 1);
}
BENCHMARK(BM_LogrusText_Authorizing_Prefilter);

// The same debug trace with the full field scan: what the prefilter saves.
void BM_LogrusText_DebugTrace_FullScan(benchmark::State& state) {
  const std::string& line = DebugTraceLine();
  std::string scratch;
  for (auto _ : state) {
    RegistryEvent event;
    bool interesting = true;
    auto status = t::ParseLogrusText(line, false, &scratch, &event, &interesting);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(event);
  }
  PerLine(state, line.size() + 1);
}
BENCHMARK(BM_LogrusText_DebugTrace_FullScan);

void BM_LogrusJson_Summary(benchmark::State& state) {
  const std::string& line = JsonSummaryLine();
  std::string scratch;
  for (auto _ : state) {
    RegistryEvent event;
    auto status = t::ParseLogrusJson(line, &scratch, &event);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(event);
  }
  PerLine(state, line.size() + 1);
}
BENCHMARK(BM_LogrusJson_Summary);

// JSON has no header-only path: a debug trace costs a whole object scan.
void BM_LogrusJson_DebugTrace(benchmark::State& state) {
  const std::string& line = JsonDebugLine();
  std::string scratch;
  for (auto _ : state) {
    RegistryEvent event;
    auto status = t::ParseLogrusJson(line, &scratch, &event);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(event);
  }
  PerLine(state, line.size() + 1);
}
BENCHMARK(BM_LogrusJson_DebugTrace);

void BM_AccessLog(benchmark::State& state) {
  const std::string& line = AccessLine();
  for (auto _ : state) {
    RegistryEvent event;
    auto status = t::ParseAccessLog(line, &event);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(event);
  }
  PerLine(state, line.size() + 1);
}
BENCHMARK(BM_AccessLog);

void BM_DetectRecordStart(benchmark::State& state) {
  const std::string& line = SuccessSummaryLine();
  for (auto _ : state) benchmark::DoNotOptimize(t::DetectRecordStart(line));
  PerLine(state, line.size() + 1);
}
BENCHMARK(BM_DetectRecordStart);

// ---- envelopes: Unwrap (auto-detect) of the summary line in each wrapper ----

std::string JsonEscaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Enveloped(t::Envelope envelope) {
  const std::string& payload = SuccessSummaryLine();
  switch (envelope) {
    case t::Envelope::kNone:
      return payload;
    case t::Envelope::kSyslog:
      return "Mar  2 16:00:00 172.25.0.1 registry[3915]: " + payload;
    case t::Envelope::kRfc5424:
      return "<30>1 2026-03-02T08:00:00.051Z harbor-registry registry 3915 - - " + payload;
    case t::Envelope::kCri:
      return "2026-03-02T08:00:00.051115269Z stderr F " + payload;
    case t::Envelope::kDockerJson:
      return "{\"log\":\"" + JsonEscaped(payload + "\n") +
             "\",\"stream\":\"stderr\",\"time\":\"2026-03-02T08:00:00.051115269Z\"}";
    case t::Envelope::kSvlogd:
      return "2026-03-02_08:00:00.05111 " + payload;
    case t::Envelope::kCompose:
      return "registry_1  | " + payload;
  }
  return payload;
}

void BM_Unwrap(benchmark::State& state, t::Envelope envelope) {
  const std::string line = Enveloped(envelope);
  std::string scratch;
  const t::Unwrapped check = t::Unwrap(line, t::EnvelopeHint::kAuto, 2026, &scratch);
  if (check.envelope != envelope || check.malformed || check.partial ||
      check.payload != SuccessSummaryLine()) {
    state.SkipWithError("envelope not recognised as constructed");
    return;
  }
  for (auto _ : state) {
    t::Unwrapped out = t::Unwrap(line, t::EnvelopeHint::kAuto, 2026, &scratch);
    benchmark::DoNotOptimize(out);
  }
  PerLine(state, line.size() + 1);
}
BENCHMARK_CAPTURE(BM_Unwrap, none, t::Envelope::kNone);
BENCHMARK_CAPTURE(BM_Unwrap, syslog, t::Envelope::kSyslog);
BENCHMARK_CAPTURE(BM_Unwrap, rfc5424, t::Envelope::kRfc5424);
BENCHMARK_CAPTURE(BM_Unwrap, cri, t::Envelope::kCri);
BENCHMARK_CAPTURE(BM_Unwrap, docker_json, t::Envelope::kDockerJson);
BENCHMARK_CAPTURE(BM_Unwrap, svlogd, t::Envelope::kSvlogd);
BENCHMARK_CAPTURE(BM_Unwrap, compose, t::Envelope::kCompose);

// ---- store-log parsers ----

void BM_RgwBeast(benchmark::State& state) {
  const std::string& line = BeastLine();
  for (auto _ : state) {
    S3Event event;
    auto result = t::ParseRgwBeastLine(line, &event);
    benchmark::DoNotOptimize(result);
    benchmark::DoNotOptimize(event);
  }
  PerLine(state, line.size() + 1);
}
BENCHMARK(BM_RgwBeast);

void BM_AwsAccess(benchmark::State& state) {
  const std::string& line = AwsLine();
  for (auto _ : state) {
    S3Event event;
    auto result = t::ParseAwsAccessLine(line, &event);
    benchmark::DoNotOptimize(result);
    benchmark::DoNotOptimize(event);
  }
  PerLine(state, line.size() + 1);
}
BENCHMARK(BM_AwsAccess);

void BM_DetectS3Format(benchmark::State& state) {
  const std::string& line = AwsLine();
  for (auto _ : state) benchmark::DoNotOptimize(t::DetectS3Format(line));
  PerLine(state, line.size() + 1);
}
BENCHMARK(BM_DetectS3Format);

void BM_ParseUploadKey(benchmark::State& state) {
  S3Event event;
  t::ParseAwsAccessLine(AwsLine(), &event);
  const std::string key(event.key);
  for (auto _ : state) benchmark::DoNotOptimize(t::ParseUploadKey(key, ""));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseUploadKey);

// The UTF-8 check every store parser ends with (a quarter of the store side's instructions in
// the profile), and a prototype of the proposed ASCII fast path, on the same parsed AWS line.
void BM_CheckS3EventText(benchmark::State& state) {
  S3Event event;
  t::ParseAwsAccessLine(AwsLine(), &event);
  for (auto _ : state) benchmark::DoNotOptimize(t::CheckS3EventText(event));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CheckS3EventText);

bool AllAscii(std::string_view text) {
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, text.data() + i, 8);
    if ((word & 0x8080808080808080ULL) != 0) return false;
  }
  for (; i < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) >= 0x80) return false;
  }
  return true;
}

void BM_PrototypeCheckAsciiFastPath(benchmark::State& state) {
  S3Event event;
  t::ParseAwsAccessLine(AwsLine(), &event);
  for (auto _ : state) {
    bool ok = true;
    for (std::string_view text :
         {event.raw_operation, event.bucket, event.key, event.request_id, event.error_code}) {
      ok &= AllAscii(text) || t::CheckS3EventText(event) == t::ParseResult::kOk;
    }
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_PrototypeCheckAsciiFastPath);

// ---- readers over whole logs (the realistic mix) ----

class CountingRegistrySink : public t::RegistryEventSink {
 public:
  void OnRegistryEvent(const RegistryEvent& event) override {
    ++events;
    benchmark::DoNotOptimize(event.status);
  }
  uint64_t events = 0;
};

void BM_RegistryReader(benchmark::State& state, const Lines* (*corpus)()) {
  const Lines& lines = *corpus();
  CountingRegistrySink sink;
  uint64_t records = 0;
  for (auto _ : state) {
    t::RegistryReader::Options options;
    options.syslog_year = 2026;
    t::RegistryReader reader(options, &sink);
    for (std::string_view line : lines.lines) reader.OnLine(line);
    reader.Flush();
    records = 0;
    for (uint64_t r : reader.stats().records) records += r;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * lines.bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines.lines.size()));
  state.counters["lines"] = static_cast<double>(lines.lines.size());
  state.counters["events_per_pass"] =
      static_cast<double>(sink.events) / static_cast<double>(state.iterations());
  state.counters["records"] = static_cast<double>(records);
}
BENCHMARK_CAPTURE(BM_RegistryReader, text_raw_20M, [] {
  return &RegistryText();
})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RegistryReader, json_5M, [] {
  return &Registry5M("json", "--format json");
})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RegistryReader, text_escaped_5M, [] {
  return &Registry5M("escaped", "--quoting escaped");
})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RegistryReader, syslog_5M, [] {
  return &Registry5M("syslog", "--envelope syslog");
})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RegistryReader, cri_5M, [] {
  return &Registry5M("cri", "--envelope cri");
})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RegistryReader, docker_5M, [] {
  return &Registry5M("docker", "--envelope docker");
})->Unit(benchmark::kMillisecond);

class CountingS3Sink : public t::S3EventSink {
 public:
  void OnS3Event(const S3Event& event) override {
    ++events;
    benchmark::DoNotOptimize(event.status);
  }
  uint64_t events = 0;
};

void BM_S3Reader(benchmark::State& state, const Lines* (*corpus)()) {
  const Lines& lines = *corpus();
  CountingS3Sink sink;
  for (auto _ : state) {
    t::S3Reader reader(&sink);
    for (std::string_view line : lines.lines) reader.OnLine(line);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * lines.bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines.lines.size()));
  state.counters["lines"] = static_cast<double>(lines.lines.size());
  state.counters["events_per_pass"] =
      static_cast<double>(sink.events) / static_cast<double>(state.iterations());
}
BENCHMARK_CAPTURE(BM_S3Reader, aws_access, [] {
  return &StoreAws();
})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_S3Reader, rgw_radosgw_log, [] {
  return &StoreRgw();
})->Unit(benchmark::kMillisecond);

// What analyze does per line when it merges several files by time: peek the time first (a
// whole parse for store lines), then parse again in the reader.
void BM_PeekS3LineTime(benchmark::State& state, const Lines* (*corpus)()) {
  const Lines& lines = *corpus();
  std::string scratch;
  for (auto _ : state) {
    int64_t sum = 0;
    for (std::string_view line : lines.lines) sum += t::PeekS3LineTime(line, &scratch);
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * lines.bytes));
}
BENCHMARK_CAPTURE(BM_PeekS3LineTime, aws_access, [] {
  return &StoreAws();
})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PeekS3LineTime, rgw_radosgw_log, [] {
  return &StoreRgw();
})->Unit(benchmark::kMillisecond);

void BM_PeekLineTime(benchmark::State& state) {
  const Lines& lines = RegistryText();
  std::string scratch;
  for (auto _ : state) {
    int64_t sum = 0;
    for (std::string_view line : lines.lines) sum += t::PeekLineTime(line, 2026, &scratch);
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * lines.bytes));
}
BENCHMARK(BM_PeekLineTime)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
