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
#include "exporter/pipeline.h"
#include "exporter/repository_table.h"
#include "exporter/upload_metrics.h"

namespace rrca::exporter {

// Joins one blob upload across the registry's log and the object store's log, by upload UUID
// (vars.uuid / _state ⇄ the key .../_uploads/<uuid>/data), and measures the race behind the
// incident:
//   create-to-visible = when the store finished creating the multipart upload (its logged
//                       duration) minus when it received the create;
//   unsafe window     = visible minus when the registry answered the POST (>= 0);
//   client gap        = the first PATCH/PUT's arrival minus the POST's answer;
//   raced             = the first PATCH arrived before the upload was visible (within
//                       `clock_tolerance`, since two hosts' clocks are compared).
// Each upload is decided once: as soon as the registry's final request and the store's create
// are both known, or when the reorder window has passed (logs arrive late and out of order).
// Memory is bounded: at most max_uploads states (oldest evicted, counted by reason) and
// max_timelines detailed timelines for the explain API. Owned by the processing thread.
class UploadCorrelator : public ClassifiedObserver {
 public:
  struct Options {
    size_t max_uploads = 100'000;
    int64_t reorder_window_ns = 600'000'000'000;  // 10 m
    int64_t clock_tolerance_ns = 250'000'000;
    std::string root_directory;  // the driver's rootdirectory before docker/registry/v2
    size_t max_timelines = 10'000;
  };

  UploadCorrelator(Options options, RepositoryTable* repositories, UploadMetrics* metrics);

  void OnClassified(const Classified& classified) override;
  void OnS3Event(const S3Event& event, std::string_view source);
  void AdvanceTo(int64_t now_ns);
  void FlushAll();

  // The upload's timeline and verdict as JSON; nullopt when unknown.
  std::optional<std::string> ExplainJson(std::string_view uuid) const;

  // What analyze's report prints: the samples of each latency, in seconds, and outcomes.
  struct Summary {
    std::vector<double> create_to_visible;
    std::vector<double> client_gap;
    std::vector<double> unsafe_window;
    std::map<std::string, uint64_t> outcomes;
    std::vector<std::string> raced_failed_examples;  // upload UUIDs, first few
  };
  const Summary& summary() const { return summary_; }
  size_t open_uploads() const { return uploads_.size(); }
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
    int64_t started_at_ns = 0;  // the _state token's StartedAt, when a failure decoded it
    int64_t create_start_ns = 0;
    int64_t create_duration_ns = -1;
    int64_t last_event_ns = 0;
    uint32_t repository_id = 0;
    uint16_t bucket_id = 0;
    bool completed = false;
    bool failed_not_visible = false;
    bool failed_other = false;
    bool resolved = false;
  };
  struct TimelineEvent {
    int64_t time_ns;
    int64_t duration_ns;
    bool store;
    int status;
    std::string what;
    std::string source;
  };
  struct Timeline {
    std::string repository;
    std::vector<TimelineEvent> events;
    std::string outcome;
    std::string verdict;
    double create_to_visible = -1, client_gap = -1, unsafe_window = -1;
  };

  static bool ParseUuid(std::string_view text, Uuid* uuid);
  Upload* Touch(const Uuid& uuid, std::string_view uuid_text, int64_t time_ns);
  Timeline& TimelineFor(std::string_view uuid_text);
  uint16_t BucketId(std::string_view bucket);
  void TryResolve(const Uuid& uuid, Upload& upload, bool final);
  void Resolve(const Uuid& uuid, Upload& upload);
  void UpdateSkew(int64_t sample_ns);
  static std::string UuidText(const Uuid& uuid);

  Options options_;
  RepositoryTable* repositories_;
  UploadMetrics* metrics_;
  std::unordered_map<Uuid, Upload, UuidHash> uploads_;
  std::deque<std::pair<int64_t, Uuid>> order_;  // (first seen, uuid), FIFO for expiry
  std::unordered_map<std::string, Timeline> timelines_;
  std::deque<std::string> timeline_order_;
  std::vector<std::string> buckets_;
  std::deque<int64_t> skew_samples_;
  int64_t skew_ns_ = 0;
  int64_t now_ns_ = 0;
  Summary summary_;
};

}  // namespace rrca::exporter
