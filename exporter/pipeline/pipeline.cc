#include "exporter/pipeline/pipeline.h"

#include <re2/re2.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "common/time_util.h"
#include "exporter/metrics/upload_metrics.h"
#include "exporter/pipeline/correlator.h"
#include "tailers/parse/registry/registry_parse.h"

namespace rrca::pipeline {
namespace {

// The causes of the rules that judge a hop's responses (a `hop:` pattern naming proxy or core),
// pre-created at 0 in registry_rca_hop_errors_total.
std::vector<std::pair<Hop, std::string>> HopCauses(const rules::RuleSet& rules) {
  std::vector<std::pair<Hop, std::string>> causes;
  for (const rules::Rule& rule : rules.rules()) {
    for (const rules::FieldPattern& pattern : rule.match) {
      if (pattern.field != rules::RequestField::kHop || pattern.pattern == nullptr) continue;
      for (const Hop hop : {Hop::kProxy, Hop::kCore}) {
        if (pattern.pattern->pattern().find(HopName(hop)) != std::string::npos) {
          causes.emplace_back(hop, rule.cause);
        }
      }
    }
  }
  return causes;
}

}  // namespace

// One stream's reader (registry or object-store log), forwarding what it parses to the shared
// joiner or correlator with the source's name.
struct Pipeline::Stream : public tailers::RegistryEventSink,
                          public tailers::S3EventSink,
                          public tailers::HopEventSink {
  Stream(Pipeline* owner, uint32_t stream_id, std::string source_name,
         tailers::RegistryReader::Options options, StreamKind stream_kind)
      : pipeline(owner), id(stream_id), source(std::move(source_name)), kind(stream_kind) {
    if (kind == StreamKind::kRegistry) {
      registry = std::make_unique<tailers::RegistryReader>(options, this);
    } else if (kind == StreamKind::kProxy || kind == StreamKind::kCore) {
      hop = std::make_unique<tailers::HopReader>(
          tailers::HopReader::Options{kind == StreamKind::kProxy ? Hop::kProxy : Hop::kCore,
                                      options.envelope, options.max_record_bytes,
                                      options.syslog_year},
          this);
    } else {
      s3 = std::make_unique<tailers::S3Reader>(this);
    }
  }

  void OnLine(std::string_view line) {
    if (registry != nullptr) {
      registry->OnLine(line);
    } else if (hop != nullptr) {
      hop->OnLine(line);
    } else {
      s3->OnLine(line);
    }
  }
  void Flush() {
    if (registry != nullptr) registry->Flush();
  }
  int64_t last_time_ns() const {
    if (hop != nullptr) return hop->last_time_ns();
    return registry != nullptr ? registry->last_time_ns() : 0;
  }

  void OnRegistryEvent(const RegistryEvent& event) override {
    if (event.time_ns > pipeline->latest_time_ns_) pipeline->latest_time_ns_ = event.time_ns;
    pipeline->joiner_.OnEvent(event, source, id);
  }
  void OnS3Event(const S3Event& event) override { pipeline->OnS3Event(event, source); }
  void OnHopEvent(const HopEvent& event) override {
    if (event.time_ns > pipeline->latest_time_ns_) pipeline->latest_time_ns_ = event.time_ns;
    pipeline->hop_joiner_.OnHopEvent(event, source);
  }

  // Hands the counts since the last call to the metrics.
  void Publish(metrics::Metrics* metrics) {
    if (registry != nullptr) {
      const tailers::ReaderStats& now = registry->stats();
      tailers::ReaderStats delta = now;
      delta.lines -= published.lines;
      for (size_t i = 0; i < delta.records.size(); ++i) delta.records[i] -= published.records[i];
      for (size_t i = 0; i < delta.skipped.size(); ++i) delta.skipped[i] -= published.skipped[i];
      metrics->AddReaderStats(source, delta);
      published = now;
    } else if (hop != nullptr) {
      // The hop's lines in the same families as the registry's: read, skipped by reason, and
      // records (nginx access lines as access_log, error lines as harbor_golog for core and
      // fragment for nginx's error log).
      const tailers::HopReaderStats& now = hop->stats();
      tailers::ReaderStats delta;
      delta.lines = now.lines - published_hop.lines;
      for (size_t i = 0; i < delta.skipped.size(); ++i) {
        delta.skipped[i] = now.skipped[i] - published_hop.skipped[i];
      }
      delta.records[static_cast<size_t>(tailers::RecordFormat::kAccessLog)] =
          now.access_records - published_hop.access_records;
      delta.records[static_cast<size_t>(kind == StreamKind::kCore
                                            ? tailers::RecordFormat::kHarborGoLog
                                            : tailers::RecordFormat::kFragment)] =
          now.error_records - published_hop.error_records;
      metrics->AddReaderStats(source, delta);
      published_hop = now;
    } else {
      const tailers::S3ReaderStats& now = s3->stats();
      tailers::S3ReaderStats delta = now;
      delta.lines -= published_s3.lines;
      delta.not_access_lines -= published_s3.not_access_lines;
      delta.malformed -= published_s3.malformed;
      for (size_t i = 0; i < delta.records.size(); ++i) delta.records[i] -= published_s3.records[i];
      metrics->AddS3ReaderStats(source, delta);
      published_s3 = now;
    }
  }

  Pipeline* pipeline;
  uint32_t id;
  std::string source;
  StreamKind kind;
  std::unique_ptr<tailers::RegistryReader> registry;
  std::unique_ptr<tailers::S3Reader> s3;
  std::unique_ptr<tailers::HopReader> hop;
  tailers::HopReaderStats published_hop;
  tailers::ReaderStats published;
  tailers::S3ReaderStats published_s3;
  int64_t last_activity_wall_ns = 0;
};

Pipeline::Pipeline(Options options, std::shared_ptr<const rules::RuleSet> rules,
                   metrics::Metrics* metrics)
    : options_(std::move(options)),
      rules_(std::move(rules)),
      metrics_(metrics),
      repositories_(options_.max_repositories, options_.repository_rewrites),
      joiner_(options_.join, this),
      hop_joiner_(options_.hop, this) {
  if (metrics_ != nullptr) {
    metrics_->DeclareCauses(rules_->causes());
    metrics_->DeclareHopCauses(HopCauses(*rules_));
    upload_metrics_ = std::make_unique<metrics::UploadMetrics>(
        metrics_->registry(), &metrics_->exposition(), std::max<size_t>(options_.max_buckets, 1));
  }
  UploadCorrelator::Options correlator_options;
  correlator_options.root_directory = options_.storage_root_directory;
  correlator_options.max_uploads = options_.max_open_uploads;
  correlator_options.reorder_window_ns = options_.reorder_window_ns;
  correlator_options.clock_tolerance_ns = options_.clock_tolerance_ns;
  correlator_ =
      std::make_unique<UploadCorrelator>(correlator_options, &repositories_, upload_metrics_.get());
  observers_.push_back(correlator_.get());
}

Pipeline::~Pipeline() = default;

Pipeline::StreamKind Pipeline::StreamKindOf(std::string_view source_type) {
  if (source_type == "s3") return StreamKind::kS3;
  if (source_type == "harbor_proxy") return StreamKind::kProxy;
  if (source_type == "harbor_core") return StreamKind::kCore;
  return StreamKind::kRegistry;
}

Pipeline::StreamId Pipeline::OpenStream(std::string source, tailers::EnvelopeHint envelope,
                                        StreamKind kind) {
  tailers::RegistryReader::Options reader_options;
  reader_options.envelope = envelope;
  reader_options.max_record_bytes = options_.max_record_bytes;
  reader_options.syslog_year = options_.syslog_year;
  const auto id = static_cast<uint32_t>(streams_.size());
  streams_.push_back(std::make_unique<Stream>(this, id, std::move(source), reader_options, kind));
  if (kind == StreamKind::kProxy || kind == StreamKind::kCore) ++hop_streams_;
  return streams_.size() - 1;
}

// The upload correlator is told which raw line is being read (its timelines show each event's
// line), and untold after: it keeps no view of the line.
void Pipeline::OnLine(StreamId stream, std::string_view line) {
  Stream& read = *streams_[stream];
  correlator_->SetCurrentLine(read.source, line);
  read.OnLine(line);
  correlator_->SetCurrentLine({}, {});
}

int64_t Pipeline::PeekTime(StreamId stream, std::string_view line) {
  Stream& peeked = *streams_[stream];
  if (peeked.s3 != nullptr) return peeked.s3->PeekTime(line);
  if (peeked.hop != nullptr) return peeked.hop->PeekTime(line);
  return tailers::PeekLineTime(line, options_.syslog_year, &peek_scratch_);
}

void Pipeline::FlushStream(StreamId stream) { streams_[stream]->Flush(); }

void Pipeline::CloseStream(StreamId stream) {
  if (streams_[stream] == nullptr) return;
  streams_[stream]->Flush();
  if (metrics_ != nullptr) {
    streams_[stream]->Publish(metrics_);
  }
  streams_[stream].reset();
}

void Pipeline::NoteActivity(StreamId stream, int64_t wall_ns) {
  if (streams_[stream] != nullptr) streams_[stream]->last_activity_wall_ns = wall_ns;
  last_activity_wall_ns_ = wall_ns;
  joiner_.SetWallClock(wall_ns);
}

void Pipeline::Tick(int64_t wall_ns) {
  int64_t low = INT64_MAX;
  for (const auto& stream : streams_) {
    // Object-store logs may lag by hours: they must not hold the registry's time back.
    if (stream == nullptr || stream->last_time_ns() == 0) continue;
    if (wall_ns != 0 && wall_ns - stream->last_activity_wall_ns > kIdleNs) continue;
    low = std::min(low, stream->last_time_ns());
  }
  if (low == INT64_MAX) {
    // Every stream is quiet: let log time run on with the wall clock.
    low = latest_time_ns_ + (wall_ns != 0 ? wall_ns - last_activity_wall_ns_ : 0);
  }
  joiner_.AdvanceTo(low, wall_ns);
  if (hop_streams_ > 0) hop_joiner_.AdvanceTo(low);
  correlator_->AdvanceTo(low);
  if (metrics_ == nullptr) return;
  if (hop_streams_ > 0) PublishHopJoin();
  for (const auto& stream : streams_) {
    if (stream != nullptr) stream->Publish(metrics_);
  }
  metrics_->SetRepositoryGauges(repositories_.tracked(), repositories_.cap(),
                                repositories_.folded(), repositories_.invalid());
  // A one-shot analysis (no wall clock) says it once, at the end (Finish).
  if (wall_ns != 0) WarnAboutFolding(wall_ns);
}

// Rate-limited: at most one line a minute says how many events went to "__other__".
void Pipeline::WarnAboutFolding(int64_t wall_ns) {
  const uint64_t folded = repositories_.folded();
  if (folded == folded_logged_ ||
      (folded_logged_ != 0 && SaturatingSub(wall_ns, folded_logged_at_ns_) < 60'000'000'000)) {
    return;
  }
  spdlog::warn(
      "{} events counted as repository=\"__other__\": more than max_repositories={} "
      "repositories (raise it, or add repository_rewrites)",
      folded - folded_logged_, repositories_.cap());
  folded_logged_ = folded;
  folded_logged_at_ns_ = wall_ns;
}

void Pipeline::Finish() {
  // Everything was read: nothing can match what still waits.
  for (const auto& stream : streams_) {
    if (stream != nullptr) stream->Flush();
  }
  joiner_.FlushAll();
  hop_joiner_.FlushAll();  // after the registry's last responses reached it
  correlator_->FlushAll();
  Tick();
  WarnAboutFolding(0);
  // One-shot callers (analyze --format=metrics) serialize the prometheus-cpp registry alone.
  if (metrics_ != nullptr) metrics_->PublishToRegistry();
}

nlohmann::json Pipeline::SaveState() const { return WaitingJson(TakeWaiting()); }

nlohmann::json Pipeline::WaitingJson(const Waiting& waiting) {
  return {{"latest_time", waiting.latest_time_ns},
          {"joiner", RequestJoiner::WaitingJson(waiting.joiner)}};
}

Status Pipeline::RestoreState(const nlohmann::json& state) {
  if (!state.is_object() || !state.contains("joiner") || !state.contains("latest_time") ||
      !state["latest_time"].is_number_integer()) {
    return Status::Corruption("pipeline state: not an object with joiner and latest_time");
  }
  if (Status restored = joiner_.RestoreState(state["joiner"]); !restored.ok()) return restored;
  latest_time_ns_ = std::max(latest_time_ns_, state["latest_time"].get<int64_t>());
  return Status::Ok();
}

std::optional<tailers::RegistryReader::Held> Pipeline::HeldOf(StreamId stream) const {
  if (stream >= streams_.size() || streams_[stream] == nullptr) return std::nullopt;
  const tailers::RegistryReader* reader = streams_[stream]->registry.get();
  if (reader == nullptr || reader->held().empty()) return std::nullopt;
  return reader->held();
}

void Pipeline::RestoreHeld(StreamId stream, tailers::RegistryReader::Held held) {
  if (stream >= streams_.size() || streams_[stream] == nullptr) return;
  if (streams_[stream]->registry != nullptr)
    streams_[stream]->registry->RestoreHeld(std::move(held));
}

void Pipeline::SetRules(std::shared_ptr<const rules::RuleSet> rules) {
  rules_ = std::move(rules);
  if (metrics_ != nullptr) {
    metrics_->DeclareCauses(rules_->causes());
    metrics_->DeclareHopCauses(HopCauses(*rules_));
  }
}

void Pipeline::OnS3Event(const S3Event& event, std::string_view source) {
  // Still a request the store served (the store's request metrics count it), but a probe
  // upload's create, parts and abort are not a user's upload.
  if (upload_metrics_ != nullptr) {
    upload_metrics_->CountS3Request(event.bucket, event.op, event.status, event.duration_ns);
  }
  if (IsProbeUploadKey(event.key)) {
    if (upload_metrics_ != nullptr) {
      upload_metrics_->CountProbeUpload(metrics::UploadMetrics::ProbeUpload::kStoreEvent);
    }
    return;
  }
  correlator_->OnS3Event(event, source);
}

void Pipeline::SetProbeRepositories(const std::vector<std::string>& repositories) {
  probe_repositories_.clear();
  for (const std::string& repository : repositories) {
    if (probe_repositories_.size() >= kMaxProbeRepositories) break;
    probe_repositories_.insert(repository);
  }
}

void Pipeline::RememberProbeUpload(std::string_view uuid) {
  if (uuid.empty() || uuid.size() > 64 || probe_uploads_.contains(uuid)) return;
  if (probe_upload_order_.size() >= kMaxProbeUploads) {
    probe_uploads_.erase(probe_upload_order_.front());
    probe_upload_order_.pop_front();
    if (upload_metrics_ != nullptr) {
      upload_metrics_->CountProbeUpload(metrics::UploadMetrics::ProbeUpload::kForgotten);
    }
  }
  probe_upload_order_.emplace_back(uuid);
  probe_uploads_.emplace(uuid);
  if (upload_metrics_ != nullptr) {
    upload_metrics_->CountProbeUpload(metrics::UploadMetrics::ProbeUpload::kRemembered);
  }
}

// .../repositories/<repository>/_uploads/<uuid>/... (the s3 driver's upload keys) with a
// remembered probe upload's UUID or in a probe repository.
bool Pipeline::IsProbeUploadKey(std::string_view key) const {
  if (probe_uploads_.empty() && probe_repositories_.empty()) return false;
  static constexpr std::string_view kUploads = "/_uploads/";
  const size_t at = key.find(kUploads);
  if (at == std::string_view::npos) return false;
  std::string_view uuid = key.substr(at + kUploads.size());
  uuid = uuid.substr(0, uuid.find('/'));
  if (probe_uploads_.contains(uuid)) return true;
  static constexpr std::string_view kRepositories = "docker/registry/v2/repositories/";
  const size_t repositories = key.rfind(kRepositories, at);
  if (repositories == std::string_view::npos) return false;
  const size_t start = repositories + kRepositories.size();
  return start < at && probe_repositories_.contains(key.substr(start, at - start));
}

void Pipeline::OnRequest(const JoinedRequest& request) {
  // registry-rca's own probe (user agent registry-rca-probe/): its 500s while the store hides
  // the upload are the measurement, not users' errors. Counted apart; no cause, no alert, no
  // example, no upload timeline.
  if (request.probe) {
    if (metrics_ != nullptr) metrics_->CountProbeRequest(request.IsError());
    // Only the UUID of an upload the probe's POST started: the registry chose it, so a request
    // that merely claims the probe's user agent cannot name (and hide) another client's upload.
    if (request.operation == Operation::kBlobUploadStart && request.status == 202) {
      RememberProbeUpload(request.upload_uuid);
    }
    return;
  }
  const uint32_t repository_id = repositories_.Intern(request.repository);
  const std::string& repository = repositories_.Name(repository_id);
  rules::Verdict verdict;
  std::string_view cause;
  const bool is_error = request.IsError();
  if (is_error) {
    verdict = rules_->Classify(request);
    cause = rules_->CauseName(verdict.cause_id);
  }
  // With the logs of the hops in front, a registry error whose request a hop answered the
  // client otherwise (nginx's 504, then the registry's 499) is counted there, once; and the
  // response is counted with the status the client got.
  const HopJoiner::Answer answer =
      hop_streams_ > 0 ? hop_joiner_.OnRegistryResponse(request) : HopJoiner::Answer{};
  const bool superseded = answer.superseded;
  if (metrics_ != nullptr) {
    if (request.origin != JoinedRequest::Origin::kBackground) {
      metrics_->CountResponse(repository_id, repository, request.operation,
                              answer.client_status != 0 ? answer.client_status : request.status);
    }
    if (is_error && !superseded) {
      metrics_->CountError(repository_id, repository, request.operation, request.status, cause,
                           verdict.rule != nullptr ? std::string_view(verdict.rule->name) : "",
                           request.upload_age_seconds);
    }
  }
  const Classified classified{request, verdict, cause, repository, superseded};
  for (ClassifiedObserver* observer : observers_) observer->OnClassified(classified);
}

void Pipeline::OnHopRequest(const JoinedRequest& request) {
  const uint32_t repository_id = repositories_.Intern(request.repository);
  const std::string& repository = repositories_.Name(repository_id);
  const rules::Verdict verdict = rules_->Classify(request);
  const std::string_view cause = rules_->CauseName(verdict.cause_id);
  if (metrics_ != nullptr) {
    // A response the registry never logged (it was down, or killed mid-request) is one the
    // client got all the same: counted here, so registry_rca_responses_total holds every
    // response once at the status the client saw.
    if (request.registry_status == 0) {
      metrics_->CountResponse(repository_id, repository, request.operation, request.status);
    }
    metrics_->CountHopError(request.hop, repository_id, repository, request.operation,
                            request.status, cause,
                            verdict.rule != nullptr ? std::string_view(verdict.rule->name) : "");
  }
  const Classified classified{request, verdict, cause, repository};
  for (ClassifiedObserver* observer : observers_) observer->OnClassified(classified);
}

void Pipeline::PublishHopJoin() {
  const HopJoiner::Stats& stats = hop_joiner_.stats();
  metrics_->SetHopJoin("counted", stats.counted);
  metrics_->SetHopJoin("relayed", stats.relayed);
  metrics_->SetHopJoin("registry_first", stats.registry_first);
  metrics_->SetHopJoin("superseded", stats.superseded);
  metrics_->SetHopJoin("lines_merged", stats.lines_merged);
  metrics_->SetHopJoin("core_attached", stats.core_attached);
  metrics_->SetHopJoin("pending_forced", stats.pending_forced);
  metrics_->SetHopJoin("index_evicted", stats.index_evicted);
  metrics_->SetHopJoin("request_id_joins", stats.request_id_joins);
  metrics_->SetHopJoin("history_uploads_evicted", stats.history_uploads_evicted);
  metrics_->SetHopJoin("history_hops_dropped", stats.history_hops_dropped);
  metrics_->SetHopPending(hop_joiner_.pending());
}

}  // namespace rrca::pipeline
