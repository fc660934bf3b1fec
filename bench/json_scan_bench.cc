// json_scan against simdjson's On-Demand API, the same work on the same lines: for every JSON
// line, read the fields registry_parse reads from a logrus JSON record (the keys of its FieldOf:
// msg, level, time, http.request.method/uri/id/useragent, http.response.status/duration,
// err.code/message/detail, vars.name/uuid, trace.*, and GitLab's snake_case keys), strings
// unescaped, the status as a number.
//
//   build/bench/json_scan_bench [--benchmark_filter=Lab]
//   build/bench/json_scan_bench_native     # the same source compiled with -march=native
//
// Corpora: `generated` is the JSON lines of bench/gen_logs.py --format json (5 MB, seed 1, the
// file parsers_bench also reads); `lab` is every record of the real registry 2.8.2 logs in
// tests/testdata/corpus/lab/*/registry.log as logrus' JSONFormatter writes it (converted by
// tests/testdata/registry/make_constructed.py's to_json: keys sorted, ints as numbers, < > &
// as \u003c \u003e \u0026); `testdata` is every line starting with '{' of the tests'
// *.log fixtures (logrus JSON, GitLab, Docker json-file envelopes, MinIO audit, RGW ops log,
// garbled ones included).
//
// Before any benchmark runs, both readers are run on every line of every corpus and must give
// the same fields (same strings, same status, both accept or both refuse the line); the first
// mismatches are printed and the program exits 1 without benchmarking.
//
// Ways measured, per corpus:
//   JsonScan        tailers::JsonObjectScanner + AppendJsonUnescaped (what the product runs)
//   Simdjson        On-Demand, idiomatic: unescaped_key(), get_string(), the line read in place
//                   (the corpus buffer has SIMDJSON_PADDING bytes after its last line)
//   SimdjsonCopy    the same, each line first copied into one reused padded buffer (what a
//                   drop-in needs when the line buffer has no padding)
//   SimdjsonRaw     On-Demand tuned: keys compared raw, strings without a backslash taken from
//                   raw_json_token() without a copy, get_string() only for escaped ones
//   ParseLogrusJson the product's whole record parser (simdjson, json_scan for the lines
//                   simdjson refuses; time/duration parsing; json_scan_share: the lines that
//                   fell back),
//   ParseLogrusJsonScan  the same with json_scan alone (the product before the switch), and
//   RegistryReader  the whole registry reader on the same lines: what share the field reading is
// bytes_per_second counts each line and its newline; items_per_second is lines.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/bench_corpus.h"
#include "common/event.h"
#include "tailers/parse/json_scan.h"
#include "tailers/parse/registry/registry_fields.h"
#include "tailers/parse/registry/registry_parse.h"
#include "tailers/parse/registry/registry_reader.h"

#define RRCA_STRINGIFY_(x) #x
#define RRCA_STRINGIFY(x) RRCA_STRINGIFY_(x)

namespace {

namespace t = rrca::tailers;
namespace od = simdjson::ondemand;

// ---- the fields: registry_parse's own key table, for both readers ----

using Field = t::registry_fields::Field;
using t::registry_fields::FieldOf;
constexpr size_t kFieldCount = static_cast<size_t>(Field::kUserAgent) + 1;
constexpr size_t Index(Field field) { return static_cast<size_t>(field); }

constexpr std::array<const char*, kFieldCount> kFieldNames = {
    "-",         "time",        "level",      "msg",         "request_id",     "method",
    "uri",       "status",      "duration",   "duration_ms", "repository",     "upload_uuid",
    "err.code",  "err.message", "err.detail", "error",       "trace.duration", "trace.func",
    "user_agent"};

// What one reader got from one line. The views point into the line, the reader's scratch or
// simdjson's string buffer: valid until that reader reads the next line.
struct Fields {
  std::array<std::string_view, kFieldCount> value{};  // strings unescaped; other values raw
  int status = 0;
  bool ok = false;  // the line is an object the reader walked to its end
  simdjson::error_code error = simdjson::SUCCESS;  // why simdjson refused it
};

// ---- json_scan ----

void ReadWithJsonScan(std::string_view line, std::string* scratch, Fields* out) {
  *out = Fields{};
  scratch->clear();
  scratch->reserve(line.size());  // unescaping only shrinks: views into it stay valid
  t::JsonObjectScanner scanner(line);
  t::JsonMember member;
  while (scanner.Next(&member)) {
    const Field field = FieldOf(member.key);
    if (field == Field::kIgnored) continue;
    std::string_view value = member.value;
    if (member.is_string && member.has_escapes) {
      const size_t start = scratch->size();
      t::AppendJsonUnescaped(member.value, scratch);
      value = std::string_view(*scratch).substr(start);
    }
    if (field == Field::kStatus) {
      out->status = t::registry_fields::ParseStatusCode(value);
    } else {
      out->value[Index(field)] = value;
    }
  }
  out->ok = !scanner.malformed();
}

// ---- simdjson On-Demand ----

std::string_view TrimRight(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                           text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

// `kRaw`: keys compared as written (json_scan does the same) and strings with no backslash
// taken from the input without a copy; otherwise the documented calls, unescaped_key() and
// get_string(). Non-string values are their raw token in both, as json_scan hands them out.
template <bool kRaw>
void ReadWithSimdjson(od::parser* parser, simdjson::padded_string_view input, Fields* out) {
  *out = Fields{};
  od::document doc;
  if ((out->error = parser->iterate(input).get(doc)) != simdjson::SUCCESS) return;
  od::object object;
  if ((out->error = doc.get_object().get(object)) != simdjson::SUCCESS) return;
  const char* const end = input.data() + input.size();
  for (auto member_result : object) {
    od::field member;
    if ((out->error = std::move(member_result).get(member)) != simdjson::SUCCESS) return;
    std::string_view key;
    if constexpr (kRaw) {
      const char* start = member.key().raw();
      const void* quote = std::memchr(start, '"', static_cast<size_t>(end - start));
      if (quote == nullptr) {
        out->error = simdjson::UNCLOSED_STRING;
        return;
      }
      key = std::string_view(start, static_cast<const char*>(quote) - start);
    } else {
      if ((out->error = member.unescaped_key().get(key)) != simdjson::SUCCESS) return;
    }
    const Field field = FieldOf(key);
    if (field == Field::kIgnored) continue;  // On-Demand skips the value
    od::value value = member.value();
    od::json_type type;
    if ((out->error = value.type().get(type)) != simdjson::SUCCESS) return;
    std::string_view text;
    if (type == od::json_type::string) {
      if constexpr (kRaw) {
        const std::string_view token = TrimRight(value.raw_json_token());
        if (token.size() >= 2 && std::memchr(token.data(), '\\', token.size()) == nullptr) {
          text = token.substr(1, token.size() - 2);
        } else if ((out->error = value.get_string().get(text)) != simdjson::SUCCESS) {
          return;
        }
      } else {
        if ((out->error = value.get_string().get(text)) != simdjson::SUCCESS) return;
      }
    } else {
      text = TrimRight(value.raw_json_token());
    }
    if (field == Field::kStatus) {
      out->status = t::registry_fields::ParseStatusCode(text);
    } else {
      out->value[Index(field)] = text;
    }
  }
  out->ok = true;
}

// ---- corpora ----

// A corpus's lines inside one buffer that has SIMDJSON_PADDING readable bytes after its end,
// so simdjson can read any line in place.
struct JsonLines {
  std::string name;
  std::string text;  // the lines, '\n' after each, then the padding
  std::vector<std::string_view> lines;
  size_t bytes = 0;  // the lines and their newlines, without the padding
};

JsonLines MakeJsonLines(std::string name, const std::vector<std::string_view>& from) {
  JsonLines out;
  out.name = std::move(name);
  for (std::string_view line : from) {
    if (!line.starts_with("{")) continue;  // the generated log also holds access-log lines
    out.text.append(line).push_back('\n');
  }
  out.bytes = out.text.size();
  out.text.append(simdjson::SIMDJSON_PADDING, ' ');
  std::string_view rest(out.text.data(), out.bytes);
  while (!rest.empty()) {
    const size_t newline = rest.find('\n');
    out.lines.push_back(rest.substr(0, newline));
    rest.remove_prefix(newline + 1);
  }
  return out;
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    const size_t length = newline == std::string_view::npos ? text.size() : newline;
    lines.push_back(text.substr(0, length));
    text.remove_prefix(std::min(text.size(), length + 1));
  }
  return lines;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

const JsonLines& Generated() {
  static const JsonLines lines = MakeJsonLines(
      "generated",
      rrca::bench::LoadLines(rrca::bench::Corpus("registry-5M-json.log", "--size 5M --format json"))
          .lines);
  return lines;
}

// The lab's real records in logrus' JSON form, converted afresh on every run (under a second,
// read from the converter's stdout) so a changed fixture never leaves a stale copy behind.
const JsonLines& Lab() {
  static const JsonLines lines = [] {
    const std::string command =
        "python3 -c '"
        "import glob, sys\n"
        "sys.path.insert(0, sys.argv[1] + \"/tests/testdata/registry\")\n"
        "import make_constructed as m\n"
        "for path in sorted(glob.glob(sys.argv[1] + "
        "\"/tests/testdata/corpus/lab/*/registry.log\")):\n"
        "    for line in open(path, encoding=\"utf-8\").read().split(\"\\n\"):\n"
        "        if line.startswith(\"time=\"): sys.stdout.write(m.to_json(line) + \"\\n\")\n"
        "' '" RRCA_SOURCE_DIR "'";
    std::string text;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe != nullptr) {
      char buffer[65536];
      size_t got = 0;
      while ((got = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) text.append(buffer, got);
    }
    if (pipe == nullptr || ::pclose(pipe) != 0 || text.empty()) {
      std::fprintf(stderr, "json_scan_bench: cannot convert the lab corpus: %s\n", command.c_str());
      std::exit(2);
    }
    return MakeJsonLines("lab", SplitLines(text));
  }();
  return lines;
}

const JsonLines& Testdata() {
  static const JsonLines lines = [] {
    std::vector<std::string> paths;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(
             std::filesystem::path(RRCA_SOURCE_DIR) / "tests" / "testdata")) {
      if (entry.is_regular_file() && entry.path().extension() == ".log") {
        paths.push_back(entry.path().string());
      }
    }
    std::sort(paths.begin(), paths.end());  // the same order, so the same bytes, every run
    std::string text;
    for (const std::string& path : paths) text += ReadFile(path) + "\n";
    return MakeJsonLines("testdata", SplitLines(text));
  }();
  return lines;
}

// ---- the agreement check ----

std::string Describe(const Fields& fields) {
  std::string out = fields.ok ? "ok" : "refused";
  out += " status=" + std::to_string(fields.status);
  for (size_t f = Index(Field::kTime); f < kFieldCount; ++f) {
    if (f == Index(Field::kStatus) || fields.value[f].data() == nullptr) continue;
    out += std::string(" ") + kFieldNames[f] + "=[" + std::string(fields.value[f]) + "]";
  }
  return out;
}

// The check's outcome on one corpus.
struct Agreement {
  size_t both_read = 0;     // fields identical (a failure otherwise)
  size_t both_refused = 0;  // the reader skips such a line as malformed: fields not compared
  size_t failures = 0;      // different fields, or simdjson reads a line json_scan refuses
  std::map<std::string, size_t> only_json_scan;  // lines simdjson refuses, by its error
};

void PrintDifference(const JsonLines& corpus, std::string_view line, const std::string& scan,
                     const std::string& simd, const std::string& raw, const char* what) {
  std::fprintf(stderr,
               "json_scan_bench: %s: %s\n  %.*s\n  json_scan:    %s\n  simdjson:     %s\n"
               "  simdjson raw: %s\n",
               corpus.name.c_str(), what, static_cast<int>(std::min<size_t>(line.size(), 300)),
               line.data(), scan.c_str(), simd.c_str(), raw.c_str());
}

// Both readers (and both ways of calling simdjson) on every line. A line json_scan reads and
// simdjson refuses is a failure only when `strict`: simdjson validates the whole line (UTF-8,
// an unterminated string anywhere) where json_scan reads up to what it needs, and the
// fixtures hold garbled lines on purpose.
Agreement Check(const JsonLines& corpus, bool strict) {
  od::parser parser;
  std::string scratch;
  Agreement result;
  const char* const buffer_end = corpus.text.data() + corpus.text.size();
  for (std::string_view line : corpus.lines) {
    Fields scan, simd, raw;
    ReadWithJsonScan(line, &scratch, &scan);
    const std::string scan_text = Describe(scan);
    const simdjson::padded_string_view in_place(line.data(), line.size(),
                                                static_cast<size_t>(buffer_end - line.data()));
    ReadWithSimdjson<false>(&parser, in_place, &simd);
    const std::string simd_text = Describe(simd);
    ReadWithSimdjson<true>(&parser, in_place, &raw);
    const std::string raw_text = Describe(raw);
    if (simd_text != raw_text || simd.ok != raw.ok) {
      if (++result.failures <= 5) {
        PrintDifference(corpus, line, scan_text, simd_text, raw_text, "simdjson's two ways differ");
      }
    } else if (scan.ok && simd.ok) {
      if (scan_text == simd_text) {
        ++result.both_read;
      } else if (++result.failures <= 5) {
        PrintDifference(corpus, line, scan_text, simd_text, raw_text, "different fields");
      }
    } else if (!scan.ok && !simd.ok) {
      ++result.both_refused;
    } else if (scan.ok) {
      ++result.only_json_scan[simdjson::error_message(simd.error)];
      if (strict && ++result.failures <= 5) {
        PrintDifference(corpus, line, scan_text, simd_text, raw_text, "simdjson refuses");
      }
    } else if (++result.failures <= 5) {
      PrintDifference(corpus, line, scan_text, simd_text, raw_text, "json_scan refuses");
    }
  }
  return result;
}

// ---- benchmarks ----

void Report(benchmark::State& state, const JsonLines& corpus) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus.bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * corpus.lines.size()));
  state.counters["lines"] = static_cast<double>(corpus.lines.size());
}

// `fields`: how many fields one pass read, the same for every reader of a corpus.
void Report(benchmark::State& state, const JsonLines& corpus, size_t fields_seen) {
  Report(state, corpus);
  state.counters["fields"] = static_cast<double>(fields_seen);
}

size_t Count(const Fields& fields) {
  size_t n = fields.status != 0 ? 1 : 0;
  for (std::string_view value : fields.value) n += value.data() != nullptr ? 1 : 0;
  return n;
}

void BM_JsonScan(benchmark::State& state, const JsonLines& (*corpus_of)()) {
  const JsonLines& corpus = corpus_of();
  std::string scratch;
  Fields fields;
  size_t seen = 0;
  for (auto _ : state) {
    seen = 0;
    for (std::string_view line : corpus.lines) {
      ReadWithJsonScan(line, &scratch, &fields);
      seen += Count(fields);
    }
    benchmark::DoNotOptimize(seen);
  }
  Report(state, corpus, seen);
}

template <bool kRaw, bool kCopy>
void RunSimdjson(benchmark::State& state, const JsonLines& (*corpus_of)()) {
  const JsonLines& corpus = corpus_of();
  od::parser parser;
  std::string padded;  // kCopy: one buffer for every line, grown once
  const char* const buffer_end = corpus.text.data() + corpus.text.size();
  Fields fields;
  size_t seen = 0;
  for (auto _ : state) {
    seen = 0;
    for (std::string_view line : corpus.lines) {
      if constexpr (kCopy) {
        if (padded.size() < line.size() + simdjson::SIMDJSON_PADDING) {
          padded.resize(line.size() + simdjson::SIMDJSON_PADDING);
        }
        std::memcpy(padded.data(), line.data(), line.size());
        ReadWithSimdjson<kRaw>(
            &parser, simdjson::padded_string_view(padded.data(), line.size(), padded.size()),
            &fields);
      } else {
        ReadWithSimdjson<kRaw>(
            &parser,
            simdjson::padded_string_view(line.data(), line.size(),
                                         static_cast<size_t>(buffer_end - line.data())),
            &fields);
      }
      seen += Count(fields);
    }
    benchmark::DoNotOptimize(seen);
  }
  Report(state, corpus, seen);
}

template <t::ParseStatus (*kParse)(std::string_view, std::string*, rrca::RegistryEvent*)>
void RunParseLogrusJson(benchmark::State& state, const JsonLines& (*corpus_of)()) {
  const JsonLines& corpus = corpus_of();
  std::string scratch;
  size_t ok = 0;
  for (auto _ : state) {
    ok = 0;
    for (std::string_view line : corpus.lines) {
      rrca::RegistryEvent event;
      ok += kParse(line, &scratch, &event) == t::ParseStatus::kOk ? 1 : 0;
      benchmark::DoNotOptimize(event);
    }
  }
  Report(state, corpus);
  state.counters["parsed_ok"] = static_cast<double>(ok);
}

// What the product runs: simdjson, json_scan for the lines simdjson refuses.
void BM_ParseLogrusJson(benchmark::State& state, const JsonLines& (*corpus_of)()) {
  const t::LogrusJsonStats before = t::LogrusJsonStatsOfThisThread();
  RunParseLogrusJson<t::ParseLogrusJson>(state, corpus_of);
  const t::LogrusJsonStats after = t::LogrusJsonStatsOfThisThread();
  const double calls =
      static_cast<double>(after.simdjson + after.json_scan - before.simdjson - before.json_scan);
  state.counters["json_scan_share"] =
      calls > 0 ? static_cast<double>(after.json_scan - before.json_scan) / calls : 0;
}
// The same parser with json_scan alone (the product until the switch; its fallback now).
void BM_ParseLogrusJsonScan(benchmark::State& state, const JsonLines& (*corpus_of)()) {
  RunParseLogrusJson<t::ParseLogrusJsonScan>(state, corpus_of);
}

// The whole registry reader (envelope detection, ParseLogrusJson, the request's events) on the
// same lines: how much of it the JSON field reading is.
class CountingSink : public t::RegistryEventSink {
 public:
  void OnRegistryEvent(const rrca::RegistryEvent& event) override {
    ++events;
    benchmark::DoNotOptimize(event.status);
  }
  uint64_t events = 0;
};

void BM_RegistryReader(benchmark::State& state, const JsonLines& (*corpus_of)()) {
  const JsonLines& corpus = corpus_of();
  CountingSink sink;
  for (auto _ : state) {
    t::RegistryReader::Options options;
    options.syslog_year = 2026;
    t::RegistryReader reader(options, &sink);
    for (std::string_view line : corpus.lines) reader.OnLine(line);
    reader.Flush();
  }
  Report(state, corpus);
  state.counters["events_per_pass"] =
      static_cast<double>(sink.events) / static_cast<double>(state.iterations());
}

void BM_Simdjson(benchmark::State& state, const JsonLines& (*corpus_of)()) {
  RunSimdjson<false, false>(state, corpus_of);
}
void BM_SimdjsonCopy(benchmark::State& state, const JsonLines& (*corpus_of)()) {
  RunSimdjson<false, true>(state, corpus_of);
}
void BM_SimdjsonRaw(benchmark::State& state, const JsonLines& (*corpus_of)()) {
  RunSimdjson<true, false>(state, corpus_of);
}

#define RRCA_JSON_BENCHMARKS(corpus)                                                     \
  BENCHMARK_CAPTURE(BM_JsonScan, corpus, &corpus)->Unit(benchmark::kMicrosecond);        \
  BENCHMARK_CAPTURE(BM_Simdjson, corpus, &corpus)->Unit(benchmark::kMicrosecond);        \
  BENCHMARK_CAPTURE(BM_SimdjsonCopy, corpus, &corpus)->Unit(benchmark::kMicrosecond);    \
  BENCHMARK_CAPTURE(BM_SimdjsonRaw, corpus, &corpus)->Unit(benchmark::kMicrosecond);     \
  BENCHMARK_CAPTURE(BM_ParseLogrusJson, corpus, &corpus)->Unit(benchmark::kMicrosecond); \
  BENCHMARK_CAPTURE(BM_ParseLogrusJsonScan, corpus, &corpus)->Unit(benchmark::kMicrosecond)

RRCA_JSON_BENCHMARKS(Generated);
BENCHMARK_CAPTURE(BM_RegistryReader, Generated, &Generated)->Unit(benchmark::kMicrosecond);
RRCA_JSON_BENCHMARKS(Lab);
BENCHMARK_CAPTURE(BM_RegistryReader, Lab, &Lab)->Unit(benchmark::kMicrosecond);
// Not the reader on the fixtures' lines: most of them are no registry records (envelopes,
// store logs), which the reader sends down its slow paths for pasted and shipped records.
RRCA_JSON_BENCHMARKS(Testdata);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  size_t failures = 0;
  const std::pair<const JsonLines*, bool> corpora[] = {
      {&Generated(), true}, {&Lab(), true}, {&Testdata(), false}};
  for (const auto& [corpus, strict] : corpora) {
    const Agreement agreement = Check(*corpus, strict);
    std::fprintf(stderr,
                 "json_scan_bench: %s: %zu JSON lines, %zu bytes: same fields on %zu, both "
                 "refuse %zu, %zu failures\n",
                 corpus->name.c_str(), corpus->lines.size(), corpus->bytes, agreement.both_read,
                 agreement.both_refused, agreement.failures);
    for (const auto& [error, count] : agreement.only_json_scan) {
      std::fprintf(stderr, "json_scan_bench: %s: %zu lines json_scan reads, simdjson refuses: %s\n",
                   corpus->name.c_str(), count, error.c_str());
    }
    failures += agreement.failures;
  }
  if (failures != 0) {
    std::fprintf(stderr, "json_scan_bench: json_scan and simdjson disagree on %zu lines\n",
                 failures);
    return 1;
  }
  benchmark::AddCustomContext("simdjson", std::to_string(simdjson::SIMDJSON_VERSION_MAJOR) + "." +
                                              std::to_string(simdjson::SIMDJSON_VERSION_MINOR) +
                                              "." +
                                              std::to_string(simdjson::SIMDJSON_VERSION_REVISION));
  // Stage 1 (the structural index) is chosen at run time by the library; stage 2 (walking the
  // index, unescaping) is inline code compiled for this file's target CPU.
  benchmark::AddCustomContext("simdjson_stage1",
                              std::string(simdjson::get_active_implementation()->name()));
  benchmark::AddCustomContext("simdjson_stage2", RRCA_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
