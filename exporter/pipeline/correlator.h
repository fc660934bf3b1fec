#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/event.h"
#include "common/json.h"
#include "common/string_hash.h"
#include "common/upload_visibility.h"
#include "exporter/metrics/upload_metrics.h"
#include "exporter/pipeline/pipeline.h"
#include "exporter/pipeline/repository_table.h"

namespace rrca::pipeline {

// Joins one blob upload across the registry's log and the object store's log, by upload UUID
// (vars.uuid / _state ⇄ the key .../_uploads/<uuid>/data), and measures the race behind the
// incident. Visibility is evidence with bounds (common/upload_visibility.h):
//   acknowledged      = the store's create start + its logged duration;
//   seen invisible    = a registry PATCH/PUT/GET on the upload that failed with "Path not found
//                       .../_uploads/<uuid>/data" (its listing: arrival + the logged driver
//                       time when that call took no longer than `clock_tolerance`, else its
//                       arrival), a store ListMultipartUploads/ListParts on its key that failed;
//   seen visible      = a registry PATCH/PUT/GET on it that succeeded (at its answer), a store
//                       UploadPart/CompleteMultipartUpload on its key (at its end);
//   create-to-visible = the ack when nothing contradicts it, else the interval (last seen
//                       invisible, first seen visible], or only a lower bound when never seen
//                       visible (censored: never a made-up small number);
//   unsafe window     = the visibility time the metrics carry (upper bound, or the lower bound
//                       when censored) minus when the registry answered the POST (>= 0);
//   client gap        = the first PATCH/PUT's arrival minus the POST's answer;
//   raced             = the first PATCH arrived before the upload was visible, by the same
//                       bounds (undecided inside the interval or within `clock_tolerance` of an
//                       ack, since two hosts' clocks are compared).
// Each upload is decided once: when its completion and the store's create are both known; when
// it failed, after `retry_window` of log time with no further event on it (a client may retry
// on the same upload: a later completion makes it raced_recovered); else when the reorder
// window has passed (logs arrive late and out of order).
// Memory is bounded: at most max_uploads states (oldest evicted, counted by reason), at most
// kMaxObservations invisible moments each, max_timelines detailed timelines for the explain API,
// and at most max_buckets distinct bucket names (validated against S3's bucket-name grammar;
// others are kept as "__invalid__", names past the cap as "__other__", both counted).
// The evidence, the bounds and the explain JSON are in correlator_evidence.cc.
// Owned by the processing thread; not thread-safe (HTTP threads call Explain under the
// daemon's lock).
class UploadCorrelator : public ClassifiedObserver {
 public:
  struct Options {
    size_t max_uploads = 100'000;
    int64_t reorder_window_ns = 600'000'000'000;  // 10 m
    int64_t clock_tolerance_ns = 250'000'000;
    std::string root_directory;  // the driver's rootdirectory before docker/registry/v2
    size_t max_timelines = 10'000;
    // How long a failed upload waits for the client to retry on it (log time).
    int64_t retry_window_ns = 10'000'000'000;
    size_t max_buckets = 256;  // distinct bucket names kept; fits Upload::bucket_id
  };

  UploadCorrelator(Options options, RepositoryTable* repositories, metrics::UploadMetrics* metrics);

  void OnClassified(const Classified& classified) override;
  void OnS3Event(const S3Event& event, std::string_view source);
  void AdvanceTo(int64_t now_ns);
  void FlushAll();

  // The raw line being read now and its source (file name), so that the timeline events it
  // produces can show it. The caller sets it before handing the line to the pipeline and clears
  // it (empty views) after: the views are only read while set, never kept. An event takes the
  // line only when it came from the same source and the line names its upload UUID or its
  // request id (a request emitted later, by a flush or from a line of another request, gets
  // none).
  void SetCurrentLine(std::string_view source, std::string_view line) {
    current_source_ = source;
    current_line_ = line;
  }

  // The upload's timeline and verdict as a JSON value (GET /api/v1/uploads/<uuid> without its
  // "hops"), a copy the caller owns; nullopt when unknown. Seconds are rounded to microseconds.
  std::optional<Json> Explain(std::string_view uuid) const;
  // A decided upload's visibility bounds (while its timeline is kept); nullopt otherwise.
  std::optional<VisibilityBounds> VisibilityOf(std::string_view uuid) const;

  // What analyze's report prints: the samples of each latency, in seconds, and outcomes.
  struct Summary {
    // Per upload with a store create and a registry side: the upper bound (visible by) when it
    // was seen visible or acknowledged without contradiction ...
    std::vector<double> create_to_visible;
    // ... and the lower bound when the ack was contradicted (interval or censored).
    std::vector<double> create_to_visible_lower_bound;
    uint64_t never_seen_visible = 0;  // censored: only a lower bound
    std::vector<double> client_gap;
    std::vector<double> unsafe_window;
    std::map<std::string, uint64_t> outcomes;
    std::vector<std::string> raced_failed_examples;     // upload UUIDs, first few
    std::vector<std::string> raced_recovered_examples;  // likewise
  };
  const Summary& summary() const { return summary_; }
  size_t open_uploads() const { return uploads_.size(); }
  size_t buckets_tracked() const { return buckets_.size() - kFirstBucketName; }
  static constexpr size_t kMaxObservations = 3;
  // A kept raw line is cut at this many bytes (a marker says how long it was) ...
  static constexpr size_t kMaxRawLineBytes = 2048;
  // ... and all kept lines together stay under this many bytes (then an event keeps none).
  static constexpr size_t kMaxRawLineTotalBytes = 32u << 20;
  struct RawLineStats {
    uint64_t kept = 0;
    uint64_t truncated = 0;    // longer than kMaxRawLineBytes: cut, with the marker
    uint64_t over_budget = 0;  // not kept: kMaxRawLineTotalBytes reached
    size_t bytes = 0;          // what the kept timelines' lines hold now
  };
  const RawLineStats& raw_line_stats() const { return raw_lines_; }
  // UUIDs of kept timelines whose upload was decided with one of `outcomes`, oldest first, at
  // most `max` (analyze's HTML report draws them).
  std::vector<std::string> TimelineUuids(const std::vector<std::string>& outcomes,
                                         size_t max) const;
  double clock_skew_seconds() const { return static_cast<double>(skew_ns_) / 1e9; }

 private:
  struct Uuid {
    uint64_t high = 0, low = 0;
    bool operator==(const Uuid&) const = default;
  };
  struct UuidHash {
    size_t operator()(const Uuid& uuid) const {
      return uuid.high ^ (uuid.low * 0x9e3779b97f4a7c15ULL);
    }
  };
  // Kept small on purpose: a million of these must fit in 256 MiB with the map's overhead.
  struct Upload {
    int64_t post_arrival_ns = 0;
    int64_t post_answered_ns = 0;
    int64_t first_patch_arrival_ns = 0;
    int64_t started_at_ns = 0;    // the _state token's StartedAt, when a failure decoded it
    int64_t create_start_ns = 0;  // store clock, as logged
    int64_t create_duration_ns = -1;
    int64_t last_event_ns = 0;
    int64_t completed_ns = 0;               // the successful PUT's answer
    int64_t last_not_visible_ns = 0;        // the last "Path not found" failure's answer
    int64_t first_visible_registry_ns = 0;  // registry clock
    int64_t first_visible_store_ns = 0;     // store clock, start + duration + precision
    // Moments seen invisible: registry clock, or store clock where `invisible_store` has the
    // bit. A full array keeps the latest moments (any subset still bounds from below).
    std::array<int64_t, kMaxObservations> invisible_ns{};
    uint8_t invisible_count = 0;
    uint8_t invisible_store = 0;
    uint32_t repository_id = 0;
    uint16_t bucket_id = 0;
    bool completed = false;
    bool failed_not_visible = false;
    bool failed_other = false;
    bool waiting_retry = false;
    bool resolved = false;
  };
  struct TimelineEvent {
    int64_t time_ns;
    int64_t duration_ns;
    bool store;
    int status;
    std::string what;
    std::string source;
    std::string line{};  // the raw log line, at most kMaxRawLineBytes + the marker
    bool has_line = false;
  };
  struct Timeline {
    std::string repository;
    std::vector<TimelineEvent> events;
    std::string outcome;
    std::string verdict;
    double create_to_visible = -1, client_gap = -1, unsafe_window = -1;
    VisibilityBounds visibility;
  };

  static bool ParseUuid(std::string_view text, Uuid* uuid);
  Upload* Touch(const Uuid& uuid, std::string_view uuid_text, int64_t time_ns);
  Timeline& TimelineFor(std::string_view uuid_text);
  // The current line, bounded, when it came from `source` and names the upload or the request
  // (a POST's summary line names only its request id); else false.
  bool TakeCurrentLine(std::string_view source, std::string_view uuid_text,
                       std::string_view request_id, TimelineEvent* event);
  void ForgetTimeline(const std::string& uuid_text);
  uint16_t BucketId(std::string_view bucket);
  void NoteInvisible(Upload& upload, int64_t time_ns, bool store);
  void NoteRegistryOutcome(Upload& upload, const Classified& classified, bool failed);
  void NoteStoreOutcome(Upload& upload, const S3Event& event, std::string_view file);
  VisibilityBounds Bounds(const Upload& upload) const;
  void TryResolve(const Uuid& uuid, Upload& upload, bool final);
  void Resolve(const Uuid& uuid, Upload& upload);
  std::string Verdict(const Upload& upload, const VisibilityBounds& bounds, Before first_patch,
                      double gap) const;
  static Before FirstPatchBefore(const Upload& upload, const VisibilityBounds& bounds);
  static std::string OutcomeOf(const Upload& upload, bool raced);
  void ObserveLatencies(const Upload& upload, const VisibilityBounds& bounds,
                        const std::string& repository, double* unsafe, double* gap);
  void UpdateSkew(int64_t sample_ns);
  static std::string UuidText(const Uuid& uuid);

  Options options_;
  RepositoryTable* repositories_;
  metrics::UploadMetrics* metrics_;
  std::unordered_map<Uuid, Upload, UuidHash> uploads_;
  std::deque<std::pair<int64_t, Uuid>> order_;  // (first seen, uuid), FIFO for expiry
  std::unordered_map<std::string, Timeline> timelines_;
  std::deque<std::string> timeline_order_;
  // Bucket names by id: "", "__other__", "__invalid__", then valid names (at most max_buckets).
  static constexpr size_t kFirstBucketName = 3;
  std::vector<std::string> buckets_;
  std::unordered_map<std::string, uint16_t, StringViewHash, StringViewEqual> bucket_ids_;
  std::deque<std::pair<int64_t, Uuid>> retry_waits_;  // (deadline, uuid): failed uploads
  std::deque<int64_t> skew_samples_;
  int64_t skew_ns_ = 0;
  int64_t now_ns_ = 0;
  Summary summary_;
  std::string_view current_source_;  // see SetCurrentLine: valid only while set
  std::string_view current_line_;
  RawLineStats raw_lines_;
};

}  // namespace rrca::pipeline
