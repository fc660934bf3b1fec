#include "exporter/pipeline.h"

#include <algorithm>
#include <cstdint>

namespace rrca::exporter {

// One stream's reader, forwarding its records to the shared joiner with the source's name.
struct Pipeline::Stream : public tailers::RegistryEventSink {
  Stream(Pipeline* owner, std::string source_name, tailers::RegistryReader::Options options)
      : pipeline(owner), source(std::move(source_name)), reader(options, this) {}

  void OnRegistryEvent(const RegistryEvent& event) override {
    if (event.time_ns > pipeline->latest_time_ns_) pipeline->latest_time_ns_ = event.time_ns;
    pipeline->joiner_.OnEvent(event, source);
  }

  // Hands the counts since the last call to the metrics.
  void Publish(Metrics* metrics) {
    const tailers::ReaderStats& now = reader.stats();
    tailers::ReaderStats delta = now;
    delta.lines -= published.lines;
    for (size_t i = 0; i < delta.records.size(); ++i) delta.records[i] -= published.records[i];
    for (size_t i = 0; i < delta.skipped.size(); ++i) delta.skipped[i] -= published.skipped[i];
    metrics->AddReaderStats(source, delta);
    published = now;
  }

  Pipeline* pipeline;
  std::string source;
  tailers::RegistryReader reader;
  tailers::ReaderStats published;
  int64_t last_activity_wall_ns = 0;
};

Pipeline::Pipeline(Options options, std::shared_ptr<const rules::RuleSet> rules, Metrics* metrics)
    : options_(std::move(options)),
      rules_(std::move(rules)),
      metrics_(metrics),
      repositories_(options_.max_repositories, options_.repository_rewrites),
      joiner_(options_.join, this) {
  if (metrics_ != nullptr) metrics_->DeclareCauses(rules_->causes());
}

Pipeline::~Pipeline() = default;

Pipeline::StreamId Pipeline::OpenStream(std::string source, tailers::EnvelopeHint envelope) {
  tailers::RegistryReader::Options reader_options;
  reader_options.envelope = envelope;
  reader_options.max_record_bytes = options_.max_record_bytes;
  reader_options.syslog_year = options_.syslog_year;
  streams_.push_back(std::make_unique<Stream>(this, std::move(source), reader_options));
  return streams_.size() - 1;
}

void Pipeline::OnLine(StreamId stream, std::string_view line) {
  streams_[stream]->reader.OnLine(line);
}

void Pipeline::FlushStream(StreamId stream) { streams_[stream]->reader.Flush(); }

void Pipeline::CloseStream(StreamId stream) {
  if (streams_[stream] == nullptr) return;
  streams_[stream]->reader.Flush();
  if (metrics_ != nullptr) {
    streams_[stream]->Publish(metrics_);
  }
  streams_[stream].reset();
}

const tailers::ReaderStats& Pipeline::stream_stats(StreamId stream) const {
  return streams_[stream]->reader.stats();
}

void Pipeline::NoteActivity(StreamId stream, int64_t wall_ns) {
  if (streams_[stream] != nullptr) streams_[stream]->last_activity_wall_ns = wall_ns;
  last_activity_wall_ns_ = wall_ns;
  joiner_.SetWallClock(wall_ns);
}

void Pipeline::Tick(int64_t wall_ns) {
  int64_t low = INT64_MAX;
  for (const auto& stream : streams_) {
    if (stream == nullptr || stream->reader.last_time_ns() == 0) continue;
    if (wall_ns != 0 && wall_ns - stream->last_activity_wall_ns > kIdleNs) continue;
    low = std::min(low, stream->reader.last_time_ns());
  }
  if (low == INT64_MAX) {
    // Every stream is quiet: let log time run on with the wall clock.
    low = latest_time_ns_ + (wall_ns != 0 ? wall_ns - last_activity_wall_ns_ : 0);
  }
  joiner_.AdvanceTo(low, wall_ns);
  if (metrics_ == nullptr) return;
  for (const auto& stream : streams_) {
    if (stream != nullptr) stream->Publish(metrics_);
  }
  metrics_->SetRepositoryGauges(repositories_.tracked(), repositories_.cap(),
                                repositories_.folded());
}

void Pipeline::Finish() {
  // Everything was read: nothing can match what still waits.
  for (const auto& stream : streams_) {
    if (stream != nullptr) stream->reader.Flush();
  }
  joiner_.FlushAll();
  Tick();
}

void Pipeline::SetRules(std::shared_ptr<const rules::RuleSet> rules) {
  rules_ = std::move(rules);
  if (metrics_ != nullptr) metrics_->DeclareCauses(rules_->causes());
}

void Pipeline::OnRequest(const JoinedRequest& request) {
  const uint32_t repository_id = repositories_.Intern(request.repository);
  const std::string& repository = repositories_.Name(repository_id);
  rules::Verdict verdict;
  std::string_view cause;
  const bool is_error = request.IsError();
  if (is_error) {
    verdict = rules_->Classify(request);
    cause = rules_->CauseName(verdict.cause_id);
  }
  if (metrics_ != nullptr) {
    if (request.origin != JoinedRequest::Origin::kBackground) {
      metrics_->CountResponse(repository_id, repository, request.operation, request.status);
    }
    if (is_error) {
      metrics_->CountError(repository_id, repository, request.operation, request.status, cause,
                           verdict.rule != nullptr ? std::string_view(verdict.rule->name) : "",
                           request.upload_age_seconds);
    }
  }
  const Classified classified{request, verdict, cause, repository};
  for (ClassifiedObserver* observer : observers_) observer->OnClassified(classified);
}

}  // namespace rrca::exporter
