#include "exporter/analyze.h"

#include <prometheus/text_serializer.h>

#include <ctime>
#include <limits>
#include <memory>

#include "exporter/correlator.h"
#include "exporter/pipeline.h"
#include "exporter/report.h"
#include "exporter/rules_loader.h"
#include "tailers/line_reader.h"
#include "tailers/registry_parse.h"
#include "tailers/s3_reader.h"

namespace rrca::exporter {
namespace {

constexpr size_t kLinesPerTick = 4096;

int CurrentYear() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  return utc.tm_year + 1900;
}

struct Input {
  std::unique_ptr<tailers::LineReader> reader;
  Pipeline::StreamId stream = 0;
  std::string_view line;
  int64_t time_ns = 0;
  bool done = false;
  bool s3 = false;
};

// Feeds one file straight through: the fast path, no time peeking.
void FeedSingle(Input& input, Pipeline& pipeline) {
  size_t count = 0;
  std::string_view line;
  while (input.reader->Next(&line)) {
    pipeline.OnLine(input.stream, line);
    if (++count % kLinesPerTick == 0) pipeline.Tick();
  }
}

// Several files: always feed the line with the earliest time next. A line without a time (a
// continuation) goes with its file's previous line.
void FeedMerged(std::vector<Input>& inputs, Pipeline& pipeline) {
  auto advance = [&](Input& input) {
    if (!input.reader->Next(&input.line)) {
      input.done = true;
      pipeline.CloseStream(input.stream);  // a finished file no longer holds back time
      return;
    }
    const int64_t time = pipeline.PeekTime(input.stream, input.line);
    if (time != 0) input.time_ns = time;
  };
  for (Input& input : inputs) advance(input);
  size_t count = 0;
  while (true) {
    Input* next = nullptr;
    for (Input& input : inputs) {
      if (!input.done && (next == nullptr || input.time_ns < next->time_ns)) next = &input;
    }
    if (next == nullptr) break;
    pipeline.OnLine(next->stream, next->line);
    if (++count % kLinesPerTick == 0) pipeline.Tick();
    advance(*next);
  }
}

}  // namespace

int RunAnalyze(const AnalyzeOptions& options, std::FILE* out, std::FILE* err) {
  auto rules = LoadRules(options.config);
  if (!rules.ok()) {
    std::fprintf(err, "registry-rca: invalid rules:\n%s\n", rules.status().message().c_str());
    return 2;
  }
  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(registry);
  Pipeline pipeline(PipelineOptionsFrom(options.config, CurrentYear()), rules.value(), &metrics);
  JsonlWriter jsonl(out);
  TextReport report;
  if (options.format == "jsonl") pipeline.AddObserver(&jsonl);
  if (options.format == "text") pipeline.AddObserver(&report);

  std::vector<Input> inputs;
  std::vector<std::pair<std::string, Pipeline::StreamKind>> files;
  for (const std::string& file : options.files)
    files.emplace_back(file, Pipeline::StreamKind::kRegistry);
  for (const std::string& file : options.s3_files)
    files.emplace_back(file, Pipeline::StreamKind::kS3);
  for (const auto& [file, kind] : files) {
    std::string error;
    tailers::LineReader* reader =
        tailers::LineReader::Open(file, options.config.max_line_bytes, &error);
    if (reader == nullptr) {
      std::fprintf(err, "registry-rca: %s\n", error.c_str());
      return 1;
    }
    Input input;
    input.reader.reset(reader);
    input.s3 = kind == Pipeline::StreamKind::kS3;
    input.stream =
        pipeline.OpenStream(file == "-" ? "stdin" : file, tailers::EnvelopeHint::kAuto, kind);
    inputs.push_back(std::move(input));
  }
  if (inputs.size() == 1 && !inputs[0].s3) {
    FeedSingle(inputs[0], pipeline);
  } else {
    FeedMerged(inputs, pipeline);
  }
  pipeline.Finish();

  int status = 0;
  for (const Input& input : inputs) {
    if (!input.reader->error().empty()) {
      std::fprintf(err, "registry-rca: read error: %s\n", input.reader->error().c_str());
      status = 1;
    }
    if (input.reader->lines_too_long() > 0) {
      std::fprintf(err, "registry-rca: skipped %llu lines longer than %zu bytes\n",
                   static_cast<unsigned long long>(input.reader->lines_too_long()),
                   options.config.max_line_bytes);
    }
  }
  if (options.format == "text") {
    report.Print(out);
    PrintUploadReport(pipeline.correlator(), out);
  }
  if (options.format == "metrics") {
    const std::string text = prometheus::TextSerializer().Serialize(registry->Collect());
    std::fwrite(text.data(), 1, text.size(), out);
  }
  std::fflush(out);
  return status;
}

}  // namespace rrca::exporter
