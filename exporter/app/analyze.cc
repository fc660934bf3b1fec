#include "exporter/app/analyze.h"

#include <prometheus/text_serializer.h>

#include <array>
#include <ctime>
#include <limits>
#include <memory>
#include <optional>
#include <set>

#include "common/json.h"
#include "common/time_util.h"
#include "exporter/app/report.h"
#include "exporter/app/rules_loader.h"
#include "exporter/enricher/enricher_history.h"
#include "exporter/pipeline/correlator.h"
#include "exporter/pipeline/hop_joiner_explain.h"
#include "exporter/pipeline/pipeline.h"
#include "exporter/pipeline/recent_errors.h"
#include "exporter/ui/ui_report.h"
#include "tailers/follow/line_reader.h"
#include "tailers/parse/registry/registry_parse.h"
#include "tailers/parse/s3/s3_reader.h"

namespace rrca::app {
namespace {

constexpr size_t kLinesPerTick = 4096;

class NullSink : public tailers::RegistryEventSink,
                 public tailers::S3EventSink,
                 public tailers::HopEventSink {
 public:
  void OnRegistryEvent(const RegistryEvent&) override {}
  void OnS3Event(const S3Event&) override {}
  void OnHopEvent(const HopEvent&) override {}
};

// One file's lines again, through a reader of its own, to learn which line each skip came from:
// after every line, the reason whose count grew gets that line as its first example.
class LineAudit {
 public:
  LineAudit(pipeline::Pipeline::StreamKind kind, const tailers::RegistryReader::Options& options) {
    if (kind == pipeline::Pipeline::StreamKind::kS3) {
      s3_ = std::make_unique<tailers::S3Reader>(&sink_);
    } else if (kind == pipeline::Pipeline::StreamKind::kProxy ||
               kind == pipeline::Pipeline::StreamKind::kCore) {
      hop_ = std::make_unique<tailers::HopReader>(
          tailers::HopReader::Options{
              kind == pipeline::Pipeline::StreamKind::kProxy ? Hop::kProxy : Hop::kCore,
              options.envelope, options.max_record_bytes, options.syslog_year},
          &sink_);
    } else {
      registry_ = std::make_unique<tailers::RegistryReader>(options, &sink_);
    }
  }
  void OnLine(std::string_view line) {
    if (s3_ != nullptr) {
      s3_->OnLine(line);
      Note(kNotAccessLine, s3_->stats().not_access_lines, line);
      Note(kS3Malformed, s3_->stats().malformed, line);
      return;
    }
    if (hop_ != nullptr) {
      hop_->OnLine(line);
      const auto& skipped = hop_->stats().skipped;
      for (size_t i = 0; i < skipped.size(); ++i) Note(i, skipped[i], line);
      return;
    }
    registry_->OnLine(line);
    const auto& skipped = registry_->stats().skipped;
    for (size_t i = 0; i < skipped.size(); ++i) Note(i, skipped[i], line);
  }
  void Finish() {
    if (registry_ == nullptr) return;
    registry_->Flush();
    const auto& skipped = registry_->stats().skipped;
    for (size_t i = 0; i < skipped.size(); ++i) Note(i, skipped[i], {});
  }
  void AddTo(LineAccount* account) const {
    account->lines += s3_ != nullptr    ? s3_->stats().lines
                      : hop_ != nullptr ? hop_->stats().lines
                                        : registry_->stats().lines;
    for (size_t i = 0; i < kReasons; ++i) account->Add(Name(i), seen_[i], examples_[i]);
  }

 private:
  static constexpr size_t kSkips = static_cast<size_t>(tailers::RecordSkip::kCount);
  static constexpr size_t kNotAccessLine = kSkips;
  static constexpr size_t kS3Malformed = kSkips + 1;
  static constexpr size_t kReasons = kSkips + 2;
  static std::string_view Name(size_t reason) {
    if (reason == kNotAccessLine) return "not_access_line";  // as the metric's reason label
    if (reason == kS3Malformed) return "s3_malformed";
    return tailers::RecordSkipName(static_cast<tailers::RecordSkip>(reason));
  }
  void Note(size_t reason, uint64_t count, std::string_view line) {
    if (count == seen_[reason]) return;
    if (seen_[reason] == 0 && examples_[reason].empty()) {
      examples_[reason] = std::string(line.substr(0, LineAccount::kExampleBytes));
    }
    seen_[reason] = count;
  }
  NullSink sink_;
  std::unique_ptr<tailers::RegistryReader> registry_;
  std::unique_ptr<tailers::S3Reader> s3_;
  std::unique_ptr<tailers::HopReader> hop_;
  std::array<uint64_t, kReasons> seen_{};
  std::array<std::string, kReasons> examples_;
};

struct Input {
  std::unique_ptr<tailers::LineReader> reader;
  std::unique_ptr<LineAudit> audit;
  pipeline::Pipeline::StreamId stream = 0;
  std::string source;  // the stream's source name
  std::string_view line;
  int64_t time_ns = 0;
  bool done = false;
  bool s3 = false;
};

// Feeds one file straight through: the fast path, no time peeking.
void FeedSingle(Input& input, pipeline::Pipeline& pipeline) {
  size_t count = 0;
  std::string_view line;
  while (input.reader->Next(&line)) {
    pipeline.OnLine(input.stream, line);
    if (input.audit != nullptr) input.audit->OnLine(line);
    if (++count % kLinesPerTick == 0) pipeline.Tick();
  }
}

// Several files: always feed the line with the earliest time next. A line without a time (a
// continuation) goes with its file's previous line.
void FeedMerged(std::vector<Input>& inputs, pipeline::Pipeline& pipeline) {
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
    if (next->audit != nullptr) next->audit->OnLine(next->line);
    if (++count % kLinesPerTick == 0) pipeline.Tick();
    advance(*next);
  }
}

// The time span of the errors, for the report's one window (all the log time read).
class ErrorSpan : public pipeline::ClassifiedObserver {
 public:
  void OnClassified(const pipeline::Classified& classified) override {
    const int64_t time = classified.request.time_ns;
    if (time != 0 && (first_ns == 0 || time < first_ns)) first_ns = time;
  }
  int64_t first_ns = 0;
};

// Timelines in the HTML report: every raced or failed upload first, then those the causes'
// examples name, at most this many (each is a few KiB of SVG and table).
constexpr size_t kReportTimelines = 200;
constexpr size_t kReportErrors = 100'000;  // the recent-errors ring behind the report's counts

// An upload's explain JSON with the responses of the hops in front (--proxy-log, --core-log), as
// the daemon's API answers it.
std::optional<Json> ExplainUpload(const pipeline::Pipeline& pipeline, const std::string& uuid) {
  std::optional<Json> explain = pipeline.correlator().Explain(uuid);
  if (explain.has_value())
    pipeline::AddHops(uuid, pipeline.hop_joiner(), pipeline.rules(), &*explain);
  return explain;
}

void AddTimeline(const pipeline::Pipeline& pipeline, const std::string& uuid,
                 std::set<std::string>* seen, ui::ReportInput* report) {
  if (!seen->insert(uuid).second) return;
  if (report->uploads.size() >= kReportTimelines) {
    ++report->uploads_left_out;
    return;
  }
  std::optional<Json> explain = ExplainUpload(pipeline, uuid);
  if (explain.has_value()) report->uploads.push_back(std::move(*explain));
}

// `--format=html`: the web UI's views from the same JSON the daemon's APIs answer with.
void PrintHtmlReport(const AnalyzeOptions& options, const pipeline::Pipeline& pipeline,
                     const pipeline::RecentErrors& errors, const ErrorSpan& span,
                     const prometheus::Registry& registry, std::FILE* out) {
  const int64_t latest = errors.latest_time_ns();
  const int64_t since = std::max<int64_t>(latest - span.first_ns + 1, 1);
  const Json causes = errors.Causes(since);
  const Json latency = enricher::LatencySummary(0, registry.Collect());
  ui::ReportInput report;
  report.files = options.files;
  for (const auto* more : {&options.s3_files, &options.proxy_files, &options.core_files}) {
    report.files.insert(report.files.end(), more->begin(), more->end());
  }
  report.causes = &causes;
  report.latency = &latency;
  std::set<std::string> seen;
  for (const std::string& uuid : pipeline.correlator().TimelineUuids(
           {"raced_failed", "raced_recovered", "raced_ok", "failed_other"}, SIZE_MAX)) {
    AddTimeline(pipeline, uuid, &seen, &report);
  }
  for (const Json& cause : JsonArray(JsonFind(causes, "causes"))) {
    Json page = errors.Cause(JsonString(cause, "cause"), since, pipeline.rules());
    for (const Json& uuid : JsonArray(JsonFind(page, "uploads"))) {
      if (uuid.is_string()) AddTimeline(pipeline, JsonAsString(uuid), &seen, &report);
    }
    report.cause_pages.push_back(std::move(page));
  }
  const std::string html = ui::OfflineReport(report);
  std::fwrite(html.data(), 1, html.size(), out);
}

}  // namespace

int FeedFiles(const AnalyzeOptions& options, pipeline::Pipeline& pipeline, LineAccount* account,
              std::FILE* err) {
  const tailers::RegistryReader::Options audit_options{
      tailers::EnvelopeHint::kAuto, options.config.max_line_bytes, CurrentUtcYear()};
  std::vector<Input> inputs;
  std::vector<std::pair<std::string, pipeline::Pipeline::StreamKind>> files;
  for (const std::string& file : options.files)
    files.emplace_back(file, pipeline::Pipeline::StreamKind::kRegistry);
  for (const std::string& file : options.s3_files)
    files.emplace_back(file, pipeline::Pipeline::StreamKind::kS3);
  for (const std::string& file : options.proxy_files)
    files.emplace_back(file, pipeline::Pipeline::StreamKind::kProxy);
  for (const std::string& file : options.core_files)
    files.emplace_back(file, pipeline::Pipeline::StreamKind::kCore);
  for (const auto& [file, kind] : files) {
    std::string error;
    tailers::LineReader* reader =
        tailers::LineReader::Open(file, options.config.max_line_bytes, &error);
    if (reader == nullptr) {
      std::fprintf(err, "registry-rca: %s\n", error.c_str());
      return -1;
    }
    Input input;
    input.reader.reset(reader);
    input.s3 = kind == pipeline::Pipeline::StreamKind::kS3;
    if (account != nullptr) input.audit = std::make_unique<LineAudit>(kind, audit_options);
    input.source = file == "-" ? "stdin" : file;
    input.stream = pipeline.OpenStream(input.source, tailers::EnvelopeHint::kAuto, kind);
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
    if (input.audit != nullptr) {
      input.audit->Finish();
      input.audit->AddTo(account);
      account->lines += input.reader->lines_too_long();
      account->Add("line_too_long", input.reader->lines_too_long(), {});
    }
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
  return status;
}

int RunAnalyze(const AnalyzeOptions& options, std::FILE* out, std::FILE* err) {
  auto rules = LoadRules(options.config);
  if (!rules.ok()) {
    std::fprintf(err, "registry-rca: invalid rules:\n%s\n", rules.status().message().c_str());
    return 2;
  }
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::Metrics metrics(registry);
  pipeline::Pipeline pipeline(PipelineOptionsFrom(options.config, CurrentUtcYear()), rules.value(),
                              &metrics);
  JsonlWriter jsonl(out);
  TextReport report;
  LineAccount lines;
  const bool reporting = options.format == "text" || options.format == "jsonl";
  if (options.format == "jsonl") pipeline.AddObserver(&jsonl);
  if (reporting) pipeline.AddObserver(&report);
  pipeline::RecentErrors errors(kReportErrors);
  ErrorSpan span;
  if (options.format == "html") {
    pipeline.AddObserver(&errors);
    pipeline.AddObserver(&span);
  }
  const int status = FeedFiles(options, pipeline, reporting ? &lines : nullptr, err);
  if (status < 0) return 1;  // a file could not be opened: nothing was read, no report
  if (options.format == "text") {
    report.Print(lines, out);
    PrintUploadReport(
        pipeline.correlator(),
        [&pipeline](const std::string& uuid) { return ExplainUpload(pipeline, uuid); }, out);
  }
  if (options.format == "jsonl") report.PrintJsonSummary(lines, out, &pipeline.correlator());
  if (options.format == "html") PrintHtmlReport(options, pipeline, errors, span, *registry, out);
  if (options.format == "metrics") {
    const std::string text = prometheus::TextSerializer().Serialize(registry->Collect());
    std::fwrite(text.data(), 1, text.size(), out);
  }
  std::fflush(out);
  return status;
}

}  // namespace rrca::app
