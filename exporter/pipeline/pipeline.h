#pragma once

#include <deque>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/request.h"
#include "common/string_hash.h"
#include "exporter/metrics/metrics.h"
#include "exporter/pipeline/hop_joiner.h"
#include "exporter/pipeline/joiner.h"
#include "exporter/pipeline/repository_table.h"
#include "rules/rule_set.h"
#include "tailers/parse/harbor/harbor_reader.h"
#include "tailers/parse/registry/registry_reader.h"
#include "tailers/parse/s3/s3_reader.h"

namespace rrca::metrics {
class UploadMetrics;
}  // namespace rrca::metrics

namespace rrca::pipeline {

// Everything the pipeline knows about one judged request, for reports and APIs.
struct Classified {
  const JoinedRequest& request;
  const rules::Verdict& verdict;
  std::string_view cause;
  std::string_view repository_label;  // after validation, rewrites and the cap
  // A registry error that a hop in front answered the client otherwise
  // (exporter/pipeline/hop_joiner.h): not counted as an error (the hop's response is); reports skip
  // it, the correlator uses it.
  bool superseded = false;
};

class UploadCorrelator;

class ClassifiedObserver {
 public:
  virtual ~ClassifiedObserver() = default;
  // Called for every response (errors and successes); `verdict.rule` is null for successes.
  virtual void OnClassified(const Classified& classified) = 0;
};

// The one path from log lines to counted causes: lines -> RegistryReader (per stream) ->
// RequestJoiner -> RuleSet -> Metrics and observers. Owned and driven by one thread (the
// processing thread of `serve`, or `analyze`'s main thread); not thread-safe.
class Pipeline : private JoinedRequestSink, private HopRequestSink {
 public:
  struct Options {
    RequestJoiner::Options join;
    size_t max_repositories = 1000;
    size_t max_buckets = 100;  // bucket label values before "__other__" (see UploadMetrics)
    std::vector<RepositoryRewrite> repository_rewrites;
    size_t max_record_bytes = 1 << 20;
    int syslog_year = 1970;
    // The upload correlator (object-store side).
    std::string storage_root_directory;
    size_t max_open_uploads = 100'000;
    int64_t reorder_window_ns = 600'000'000'000;
    int64_t clock_tolerance_ns = 250'000'000;
    HopJoiner::Options hop;  // the join across hops (harbor_proxy, harbor_core sources)
  };
  // kProxy, kCore: the logs of Harbor's nginx / an ingress and of Harbor core (source types
  // harbor_proxy, harbor_core), joined with the registry's by HopJoiner.
  enum class StreamKind : uint8_t { kRegistry, kS3, kProxy, kCore };
  using StreamId = size_t;
  // A source's `type:` (registry, s3, harbor_proxy, harbor_core) as a stream kind.
  static StreamKind StreamKindOf(std::string_view source_type);

  Pipeline(Options options, std::shared_ptr<const rules::RuleSet> rules, metrics::Metrics* metrics);
  ~Pipeline() override;

  // A stream is one file or pipe of one source; its lines must arrive in order.
  StreamId OpenStream(std::string source, tailers::EnvelopeHint envelope,
                      StreamKind kind = StreamKind::kRegistry);
  void OnLine(StreamId stream, std::string_view line);
  // The time of the line that OnLine(stream, line) gets next (0: none), for merging files by
  // time; an object-store line is parsed once for both calls.
  int64_t PeekTime(StreamId stream, std::string_view line);
  // Emits a record held for a continuation line (rotation, idle stream).
  void FlushStream(StreamId stream);
  // The stream's file is gone: flush it and free its reader (its final counts are published).
  void CloseStream(StreamId stream);

  // The daemon tells when a stream last had lines (wall clock), so a quiet stream stops
  // holding back the time of the others (see Tick).
  void NoteActivity(StreamId stream, int64_t wall_ns);

  // Publishes the readers' counters and flushes what waited past its window. Log time for that
  // is the low watermark: the oldest "latest time" of the streams still active, because a
  // summary and its access line may sit in different files read at different speeds. Streams
  // quiet for kIdleNs (wall) do not hold it back; when all are quiet, time runs on with the
  // wall clock. `wall_ns` = 0 (one-shot analysis): every open stream is active.
  void Tick(int64_t wall_ns = 0);
  // End of input: every held record and waiting request is reported.
  void Finish();

  // What waits to be counted, for the positions file (see RequestJoiner::SaveState); a stream's
  // held record likewise (nullopt: the stream holds nothing). Restoring changes nothing on error.
  struct Waiting {
    int64_t latest_time_ns = 0;
    RequestJoiner::Waiting joiner;
  };
  Waiting TakeWaiting() const { return {latest_time_ns_, joiner_.TakeWaiting()}; }
  static nlohmann::json WaitingJson(const Waiting& waiting);
  nlohmann::json SaveState() const;
  Status RestoreState(const nlohmann::json& state);
  std::optional<tailers::RegistryReader::Held> HeldOf(StreamId stream) const;
  void RestoreHeld(StreamId stream, tailers::RegistryReader::Held held);

  void AddObserver(ClassifiedObserver* observer) { observers_.push_back(observer); }
  void SetRules(std::shared_ptr<const rules::RuleSet> rules);
  const rules::RuleSet& rules() const { return *rules_; }
  const RepositoryTable& repositories() const { return repositories_; }
  int64_t latest_time_ns() const { return latest_time_ns_; }
  size_t pending_requests() const { return joiner_.pending_requests(); }
  size_t pending_access_lines() const { return joiner_.pending_access_lines(); }
  const HopJoiner& hop_joiner() const { return hop_joiner_; }
  static constexpr int64_t kIdleNs = 2'000'000'000;
  const UploadCorrelator& correlator() const { return *correlator_; }
  // registry-rca's own probe uploads remembered (see OnS3Event), at most kMaxProbeUploads.
  static constexpr size_t kMaxProbeUploads = 4096;
  size_t probe_uploads() const { return probe_uploads_.size(); }
  // The repositories the registry probes start their uploads in (the config's probes:, replaced
  // at each reload): every store event on an upload under them is a probe's, even one the store's
  // log shows before the registry's log names the upload (the POST's own store calls). Only the
  // configuration names them: a log line that claims the probe's user agent may hide its own
  // upload (by UUID), never another repository's. At most kMaxProbeRepositories (the config
  // allows fewer probes); the rest are ignored.
  void SetProbeRepositories(const std::vector<std::string>& repositories);
  static constexpr size_t kMaxProbeRepositories = 64;

 private:
  struct Stream;

  void OnRequest(const JoinedRequest& request) override;
  void OnHopRequest(const JoinedRequest& request) override;
  void PublishHopJoin();
  void OnS3Event(const S3Event& event, std::string_view source);
  void WarnAboutFolding(int64_t wall_ns);
  void RememberProbeUpload(std::string_view uuid);
  bool IsProbeUploadKey(std::string_view key) const;

  Options options_;
  std::string peek_scratch_;
  std::shared_ptr<const rules::RuleSet> rules_;
  metrics::Metrics* metrics_;
  RepositoryTable repositories_;
  RequestJoiner joiner_;
  HopJoiner hop_joiner_;
  size_t hop_streams_ = 0;  // streams of kind kProxy/kCore opened; 0: no cross-hop join
  std::unique_ptr<metrics::UploadMetrics> upload_metrics_;
  std::unique_ptr<UploadCorrelator> correlator_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<ClassifiedObserver*> observers_;
  // The UUIDs of the uploads registry-rca's registry probe started (its POST's 202 names them in
  // the registry's log): the store's events on them are kept from the correlator, so a probe
  // upload is never an upload in the user-facing metrics. FIFO, at most kMaxProbeUploads (one
  // per run: over an hour of runs at the shortest interval); a forgotten one's later store
  // events reach the correlator, which counts no upload without a registry side.
  std::unordered_set<std::string, StringViewHash, StringViewEqual> probe_uploads_;
  std::deque<std::string> probe_upload_order_;
  std::unordered_set<std::string, StringViewHash, StringViewEqual> probe_repositories_;
  int64_t latest_time_ns_ = 0;
  int64_t last_activity_wall_ns_ = 0;
  uint64_t folded_logged_ = 0;
  int64_t folded_logged_at_ns_ = 0;
};

}  // namespace rrca::pipeline
