#include "exporter/pipeline/correlator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/codecs.h"
#include "common/format_number.h"
#include "common/json_escape.h"
#include "common/time_util.h"
#include "tailers/parse/s3/s3_parse.h"

namespace rrca::pipeline {
namespace {

constexpr size_t kSkewSamples = 64;
// Below this the clocks are taken as in sync: a POST's own store calls (startedat) sit between.
constexpr int64_t kSkewThresholdNs = 250'000'000;
constexpr size_t kMaxTimelineEvents = 32;
constexpr size_t kMaxExamples = 5;

bool IsUploadRequest(Operation operation) {
  return operation == Operation::kBlobUploadStart || operation == Operation::kBlobUploadChunk ||
         operation == Operation::kBlobUploadComplete || operation == Operation::kBlobUploadStatus;
}

}  // namespace

UploadCorrelator::UploadCorrelator(Options options, RepositoryTable* repositories,
                                   metrics::UploadMetrics* metrics)
    : options_(std::move(options)), repositories_(repositories), metrics_(metrics) {
  options_.max_buckets = std::clamp<size_t>(options_.max_buckets, 1, 65'535 - kFirstBucketName);
  buckets_ = {"", "__other__", "__invalid__"};
}

bool UploadCorrelator::ParseUuid(std::string_view text, Uuid* uuid) {
  if (text.size() != 36) return false;
  uint64_t parts[2] = {0, 0};
  int nibbles = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
      continue;
    }
    const int value = HexValue(text[i]);
    if (value < 0) return false;
    uint64_t& part = parts[nibbles / 16];
    part = (part << 4) | static_cast<uint64_t>(value);
    ++nibbles;
  }
  uuid->high = parts[0];
  uuid->low = parts[1];
  return true;
}

std::string UploadCorrelator::UuidText(const Uuid& uuid) {
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(uuid.high >> 32),
                static_cast<unsigned long long>((uuid.high >> 16) & 0xFFFF),
                static_cast<unsigned long long>(uuid.high & 0xFFFF),
                static_cast<unsigned long long>(uuid.low >> 48),
                static_cast<unsigned long long>(uuid.low & 0xFFFFFFFFFFFFULL));
  return buffer;
}

// Bucket names come from store log lines and the MinIO ingest endpoint, i.e. from anyone who can
// write either: validated like the metrics' bucket labels, capped, folded and counted (the
// metrics map "__other__" and "__invalid__" to their own reserved labels).
uint16_t UploadCorrelator::BucketId(std::string_view bucket) {
  if (bucket.empty()) return 0;
  const auto known = bucket_ids_.find(bucket);
  if (known != bucket_ids_.end()) return known->second;
  uint16_t id;
  const char* reason = nullptr;
  if (!metrics::UploadMetrics::IsValidBucketName(bucket)) {
    id = 2;  // not remembered: the raw text may be a megabyte
    reason = "invalid";
  } else if (buckets_.size() - kFirstBucketName >= options_.max_buckets) {
    id = 1;
    reason = "over_cap";
  } else {
    id = static_cast<uint16_t>(buckets_.size());
    buckets_.emplace_back(bucket);
    bucket_ids_.emplace(std::string(bucket), id);
  }
  if (reason != nullptr && metrics_ != nullptr) metrics_->CountCorrelatorBucketFolded(reason);
  return id;
}

UploadCorrelator::Upload* UploadCorrelator::Touch(const Uuid& uuid, std::string_view uuid_text,
                                                  int64_t time_ns) {
  auto [it, inserted] = uploads_.try_emplace(uuid);
  if (inserted) {
    if (uploads_.size() > options_.max_uploads) {
      // Full: the oldest upload goes, decided with what is known.
      while (!order_.empty()) {
        const Uuid oldest = order_.front().second;
        order_.pop_front();
        auto victim = uploads_.find(oldest);
        if (victim == uploads_.end() || victim == it) continue;
        if (!victim->second.resolved) TryResolve(victim->first, victim->second, true);
        if (metrics_ != nullptr) metrics_->CountEviction("capacity");
        uploads_.erase(victim);
        break;
      }
    }
    order_.emplace_back(time_ns, uuid);
  } else if (it->second.resolved) {
    if (metrics_ != nullptr) metrics_->CountLateEvent("after_decision");
  }
  (void)uuid_text;
  Upload& upload = it->second;
  if (time_ns > upload.last_event_ns) upload.last_event_ns = time_ns;
  return &upload;
}

UploadCorrelator::Timeline& UploadCorrelator::TimelineFor(std::string_view uuid_text) {
  auto [it, inserted] = timelines_.try_emplace(std::string(uuid_text));
  if (inserted) {
    timeline_order_.emplace_back(uuid_text);
    if (timeline_order_.size() > options_.max_timelines) {
      ForgetTimeline(timeline_order_.front());
      timeline_order_.pop_front();
    }
  }
  return it->second;
}

void UploadCorrelator::ForgetTimeline(const std::string& uuid_text) {
  auto it = timelines_.find(uuid_text);
  if (it == timelines_.end()) return;
  for (const TimelineEvent& event : it->second.events) raw_lines_.bytes -= event.line.size();
  timelines_.erase(it);
}

// Log lines are written by anyone who can push: each kept line is cut to kMaxRawLineBytes
// (at a UTF-8 character's start, so the cut adds no invalid sequence) and all of them together
// fit kMaxRawLineTotalBytes; both are counted.
bool UploadCorrelator::TakeCurrentLine(std::string_view source, std::string_view uuid_text,
                                       std::string_view request_id, TimelineEvent* event) {
  const auto names = [this](std::string_view id) {
    return !id.empty() && current_line_.find(id) != std::string_view::npos;
  };
  if (current_line_.empty() || source != current_source_ ||
      !(names(uuid_text) || names(request_id))) {
    return false;
  }
  std::string_view kept = current_line_;
  std::string marker;
  if (kept.size() > kMaxRawLineBytes) {
    size_t cut = kMaxRawLineBytes;
    while (cut > 0 && (static_cast<unsigned char>(kept[cut]) & 0xC0) == 0x80) --cut;
    kept = kept.substr(0, cut);
    marker = " …[truncated: " + std::to_string(current_line_.size()) + " bytes]";
  }
  const size_t bytes = kept.size() + marker.size();
  if (raw_lines_.bytes + bytes > kMaxRawLineTotalBytes) {
    ++raw_lines_.over_budget;
    if (metrics_ != nullptr) metrics_->CountTimelineLine("over_budget");
    return false;
  }
  if (!marker.empty()) ++raw_lines_.truncated;
  if (metrics_ != nullptr) metrics_->CountTimelineLine(marker.empty() ? "kept" : "truncated");
  event->line.reserve(bytes);
  event->line.assign(kept);
  event->line += marker;
  event->has_line = true;
  raw_lines_.bytes += bytes;
  ++raw_lines_.kept;
  return true;
}

std::vector<std::string> UploadCorrelator::TimelineUuids(const std::vector<std::string>& outcomes,
                                                         size_t max) const {
  std::vector<std::string> uuids;
  for (const std::string& uuid : timeline_order_) {
    if (uuids.size() >= max) break;
    auto it = timelines_.find(uuid);
    if (it == timelines_.end()) continue;
    if (std::find(outcomes.begin(), outcomes.end(), it->second.outcome) != outcomes.end()) {
      uuids.push_back(uuid);
    }
  }
  return uuids;
}

void UploadCorrelator::OnClassified(const Classified& classified) {
  const JoinedRequest& request = classified.request;
  // A hop's response (nginx's 504) says nothing of the upload's visibility in the store.
  if (request.hop != Hop::kRegistry) return;
  if (!IsUploadRequest(request.operation) || request.upload_uuid.empty()) return;
  Uuid uuid;
  if (!ParseUuid(request.upload_uuid, &uuid)) return;
  Upload& upload = *Touch(uuid, request.upload_uuid, request.time_ns);
  if (upload.repository_id == 0) {
    upload.repository_id = repositories_->Intern(request.repository);
  }
  const bool failed = request.status >= 400 || request.status == 0;
  if (request.operation == Operation::kBlobUploadStart) {
    if (!failed) {
      upload.post_arrival_ns = request.arrival_ns;
      upload.post_answered_ns = request.time_ns;
    }
  } else {
    NoteRegistryOutcome(upload, classified, failed);
  }
  Timeline& timeline = TimelineFor(request.upload_uuid);
  if (timeline.repository.empty()) timeline.repository = classified.repository_label;
  if (timeline.events.size() < kMaxTimelineEvents) {
    std::string what = std::string(request.method) + " " +
                       (request.status > 0 ? std::to_string(request.status) : "unknown");
    if (failed) what += " " + std::string(classified.cause);
    if (request.writer_duration_ns >= 0) {
      what += FormatNumber(request.operation == Operation::kBlobUploadStart
                               ? " (driver create took %.3f s)"
                               : " (driver listing took %.3f s)",
                           NanosToSeconds(request.writer_duration_ns));
    }
    TimelineEvent event{request.arrival_ns, request.duration_ns, false,
                        request.status,     std::move(what),     std::string(request.source)};
    TakeCurrentLine(request.source, request.upload_uuid, request.request_id, &event);
    timeline.events.push_back(std::move(event));
  }
  if (failed && !upload.waiting_retry) {
    upload.waiting_retry = true;
    retry_waits_.emplace_back(SaturatingAdd(request.time_ns, options_.retry_window_ns), uuid);
    if (retry_waits_.size() > options_.max_uploads) {
      // Bounded like the states: the oldest wait goes; its upload is decided by the reorder
      // window (or its completion) instead.
      auto oldest = uploads_.find(retry_waits_.front().second);
      if (oldest != uploads_.end()) oldest->second.waiting_retry = false;
      retry_waits_.pop_front();
    }
  }
  if (upload.completed) TryResolve(uuid, upload, false);
}

void UploadCorrelator::OnS3Event(const S3Event& event, std::string_view source) {
  const tailers::UploadKey key = tailers::ParseUploadKey(event.key, options_.root_directory);
  if (!key.ok) return;
  Uuid uuid;
  if (!ParseUuid(key.upload_uuid, &uuid)) return;
  if (now_ns_ != 0 && event.start_ns < now_ns_ - options_.reorder_window_ns &&
      uploads_.find(uuid) == uploads_.end()) {
    if (metrics_ != nullptr) metrics_->CountLateEvent("store");
    return;
  }
  Upload& upload = *Touch(uuid, key.upload_uuid, event.start_ns);
  if (upload.repository_id == 0) upload.repository_id = repositories_->Intern(key.repository);
  upload.bucket_id = BucketId(event.bucket);
  const bool is_create = event.op == S3Op::kCreateMultipart && key.file == "data" &&
                         event.status >= 200 && event.status < 300;
  if (is_create && event.duration_ns >= 0 && upload.create_duration_ns < 0) {
    upload.create_start_ns = event.start_ns;
    upload.create_duration_ns = event.duration_ns;
  }
  NoteStoreOutcome(upload, event, key.file);
  Timeline& timeline = TimelineFor(key.upload_uuid);
  if (timeline.repository.empty()) timeline.repository = repositories_->Name(upload.repository_id);
  if (timeline.events.size() < kMaxTimelineEvents) {
    std::string what = "store " + std::string(S3OpName(event.op)) + " " + std::string(key.file) +
                       " " + std::to_string(event.status);
    if (!event.error_code.empty()) what += " " + std::string(event.error_code);
    TimelineEvent item{event.start_ns, event.duration_ns, true,
                       event.status,   std::move(what),   std::string(source)};
    TakeCurrentLine(source, key.upload_uuid, event.request_id, &item);
    timeline.events.push_back(std::move(item));
  }
  if (is_create) TryResolve(uuid, upload, false);
}

void UploadCorrelator::TryResolve(const Uuid& uuid, Upload& upload, bool final) {
  if (upload.resolved) return;
  const bool failed = upload.failed_not_visible || upload.failed_other;
  // A failed upload may still be retried on: decided once the retry window passed quietly.
  const bool retry_over =
      failed && SaturatingAdd(upload.last_event_ns, options_.retry_window_ns) <= now_ns_;
  const bool registry_done = upload.completed || retry_over;
  const bool store_known = upload.create_duration_ns >= 0;
  if (!final && !(registry_done && store_known)) return;
  Resolve(uuid, upload);
}

void UploadCorrelator::Resolve(const Uuid& uuid, Upload& upload) {
  upload.resolved = true;
  const bool registry_seen = upload.post_answered_ns != 0 || upload.first_patch_arrival_ns != 0;
  if (!registry_seen) return;  // store-only traffic (e.g. an upload of another registry)
  const std::string uuid_text = UuidText(uuid);
  const bool store_known = upload.create_duration_ns >= 0;
  // Whole-second store times (AWS format) say nothing about sub-second clock offsets.
  if (store_known && upload.post_arrival_ns != 0 && IsPreciseTime(upload.create_start_ns)) {
    UpdateSkew(SaturatingSub(upload.create_start_ns, upload.post_arrival_ns));
  }
  const VisibilityBounds bounds = Bounds(upload);
  const std::string repository = repositories_->Name(upload.repository_id);
  double unsafe = -1, gap = -1;
  ObserveLatencies(upload, bounds, repository, &unsafe, &gap);
  const Before first_patch = FirstPatchBefore(upload, bounds);
  const bool raced = first_patch == Before::kYes;
  const std::string outcome = OutcomeOf(upload, raced);
  std::vector<std::string>* examples = outcome == "raced_failed" ? &summary_.raced_failed_examples
                                       : outcome == "raced_recovered"
                                           ? &summary_.raced_recovered_examples
                                           : nullptr;
  if (examples != nullptr && examples->size() < kMaxExamples) examples->push_back(uuid_text);
  if (upload.failed_not_visible && raced && metrics_ != nullptr) {
    metrics_->CountConfirmation("upload_not_yet_visible", "store_log");
  }
  ++summary_.outcomes[outcome];
  if (metrics_ != nullptr) metrics_->CountOutcome(repository, outcome);

  auto timeline = timelines_.find(uuid_text);
  if (timeline == timelines_.end()) return;
  Timeline& t = timeline->second;
  t.outcome = outcome;
  t.visibility = bounds;
  t.create_to_visible = bounds.known() ? bounds.reported_seconds() : -1;
  t.client_gap = gap;
  t.unsafe_window = unsafe;
  t.verdict = Verdict(upload, bounds, first_patch, gap);
}

// The outcome follows the evidence: a PATCH that failed while the upload was invisible, then a
// completion on the same upload after it, is a recovered race, not a failed one.
std::string UploadCorrelator::OutcomeOf(const Upload& upload, bool raced) {
  if (upload.failed_not_visible && upload.completed &&
      upload.completed_ns > upload.last_not_visible_ns) {
    return "raced_recovered";
  }
  if (upload.failed_not_visible) return "raced_failed";
  if (upload.failed_other) return "failed_other";
  if (upload.completed) return raced ? "raced_ok" : "completed";
  return "abandoned";
}

// Create-to-visible (both bounds), the unsafe window and the client gap of a decided upload,
// into the summary and the metrics. The unsafe window uses the same visibility time as the
// create-to-visible gauges: the upper bound, or the lower bound when never seen visible.
void UploadCorrelator::ObserveLatencies(const Upload& upload, const VisibilityBounds& bounds,
                                        const std::string& repository, double* unsafe,
                                        double* gap) {
  const std::string& bucket = buckets_[upload.bucket_id];
  if (bounds.known()) {
    const bool censored = !bounds.has_upper();
    if (censored) ++summary_.never_seen_visible;
    if (bounds.kind != VisibilityBounds::Kind::kAcknowledged) {
      summary_.create_to_visible_lower_bound.push_back(bounds.lower_seconds());
    }
    if (!censored) summary_.create_to_visible.push_back(bounds.upper_seconds());
    if (metrics_ != nullptr) {
      metrics_->ObserveVisibility(repository, bucket, upload.create_start_ns, bounds);
    }
  }
  if (upload.post_answered_ns != 0 && bounds.known()) {
    *unsafe =
        std::max(0.0, NanosToSeconds(SaturatingSub(bounds.reported_ns(), upload.post_answered_ns)));
    summary_.unsafe_window.push_back(*unsafe);
    if (metrics_ != nullptr) metrics_->ObserveUnsafeWindow(bucket, *unsafe);
  }
  if (upload.post_answered_ns != 0 && upload.first_patch_arrival_ns != 0) {
    *gap = NanosToSeconds(SaturatingSub(upload.first_patch_arrival_ns, upload.post_answered_ns));
    summary_.client_gap.push_back(*gap);
    if (metrics_ != nullptr) metrics_->ObserveClientGap(bucket, *gap);
  }
}

void UploadCorrelator::UpdateSkew(int64_t sample_ns) {
  skew_samples_.push_back(std::max(sample_ns, -INT64_MAX));  // llabs(INT64_MIN) is undefined
  if (skew_samples_.size() > kSkewSamples) skew_samples_.pop_front();
  std::vector<int64_t> sorted(skew_samples_.begin(), skew_samples_.end());
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  const int64_t median = sorted[sorted.size() / 2];
  skew_ns_ = std::llabs(median) > kSkewThresholdNs ? median : 0;
  if (metrics_ != nullptr) metrics_->SetClockSkew(NanosToSeconds(median));
}

void UploadCorrelator::AdvanceTo(int64_t now_ns) {
  if (now_ns > now_ns_) now_ns_ = now_ns;
  while (!retry_waits_.empty() && retry_waits_.front().first <= now_ns_) {
    auto it = uploads_.find(retry_waits_.front().second);
    retry_waits_.pop_front();
    if (it == uploads_.end() || it->second.resolved) continue;
    const int64_t again = SaturatingAdd(it->second.last_event_ns, options_.retry_window_ns);
    if (again > now_ns_) {
      retry_waits_.emplace_back(again, it->first);  // active since: look again later
      continue;
    }
    it->second.waiting_retry = false;
    TryResolve(it->first, it->second, false);  // still waits for the store's create, if unknown
  }
  const int64_t deadline = now_ns_ - options_.reorder_window_ns;
  while (!order_.empty() && order_.front().first < deadline) {
    auto it = uploads_.find(order_.front().second);
    order_.pop_front();
    if (it == uploads_.end()) continue;
    if (it->second.last_event_ns >= deadline) {
      order_.emplace_back(it->second.last_event_ns, it->first);  // still active: look again later
      continue;
    }
    TryResolve(it->first, it->second, true);
    uploads_.erase(it);
  }
  if (metrics_ != nullptr) {
    metrics_->SetOpenUploads(uploads_.size());
    metrics_->Expire(now_ns_);
  }
}

void UploadCorrelator::FlushAll() {
  for (auto& [uuid, upload] : uploads_) TryResolve(uuid, upload, true);
  uploads_.clear();
  order_.clear();
  retry_waits_.clear();
  if (metrics_ != nullptr) metrics_->SetOpenUploads(0);
}

}  // namespace rrca::pipeline
