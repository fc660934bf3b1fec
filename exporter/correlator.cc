#include "exporter/correlator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/json_escape.h"
#include "common/time_util.h"
#include "tailers/s3_parse.h"

namespace rrca::exporter {
namespace {

constexpr size_t kSkewSamples = 64;
// Below this the clocks are taken as in sync: a POST's own store calls (startedat) sit between.
constexpr int64_t kSkewThresholdNs = 250'000'000;
constexpr size_t kMaxTimelineEvents = 32;
constexpr size_t kMaxExamples = 5;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

double Seconds(int64_t nanos) { return static_cast<double>(nanos) / 1e9; }

std::string Format(const char* format, double value) {
  char buffer[256];
  std::snprintf(buffer, sizeof(buffer), format, value);
  return buffer;
}

bool IsUploadRequest(Operation operation) {
  return operation == Operation::kBlobUploadStart || operation == Operation::kBlobUploadChunk ||
         operation == Operation::kBlobUploadComplete;
}

bool IsNotVisibleCause(std::string_view cause) {
  return cause == "upload_not_yet_visible" || cause == "upload_listing_missing";
}

}  // namespace

UploadCorrelator::UploadCorrelator(Options options, RepositoryTable* repositories,
                                   UploadMetrics* metrics)
    : options_(std::move(options)), repositories_(repositories), metrics_(metrics) {
  buckets_.push_back("");
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

uint16_t UploadCorrelator::BucketId(std::string_view bucket) {
  for (size_t i = 0; i < buckets_.size(); ++i) {
    if (buckets_[i] == bucket) return static_cast<uint16_t>(i);
  }
  if (buckets_.size() >= 256) return 0;  // buckets come from config, not from clients
  buckets_.emplace_back(bucket);
  return static_cast<uint16_t>(buckets_.size() - 1);
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
      timelines_.erase(timeline_order_.front());
      timeline_order_.pop_front();
    }
  }
  return it->second;
}

void UploadCorrelator::OnClassified(const Classified& classified) {
  const JoinedRequest& request = classified.request;
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
    if (upload.first_patch_arrival_ns == 0 || request.arrival_ns < upload.first_patch_arrival_ns) {
      upload.first_patch_arrival_ns = request.arrival_ns;
    }
    if (request.upload_state.valid && upload.started_at_ns == 0) {
      upload.started_at_ns = request.upload_state.started_at_ns;
    }
    if (failed) {
      (IsNotVisibleCause(classified.cause) ? upload.failed_not_visible : upload.failed_other) =
          true;
      if (IsNotVisibleCause(classified.cause) && !std::isnan(request.upload_age_seconds) &&
          metrics_ != nullptr) {
        metrics_->CountConfirmation(classified.cause, "state_age");
      }
    } else if (request.operation == Operation::kBlobUploadComplete) {
      upload.completed = true;
    }
  }
  Timeline& timeline = TimelineFor(request.upload_uuid);
  if (timeline.repository.empty()) timeline.repository = classified.repository_label;
  if (timeline.events.size() < kMaxTimelineEvents) {
    std::string what = std::string(request.method) + " " +
                       (request.status > 0 ? std::to_string(request.status) : "unknown");
    if (failed) what += " " + std::string(classified.cause);
    if (request.writer_duration_ns >= 0) {
      what +=
          Format(request.operation == Operation::kBlobUploadStart ? " (driver create took %.3f s)"
                                                                  : " (driver listing took %.3f s)",
                 Seconds(request.writer_duration_ns));
    }
    timeline.events.push_back({request.arrival_ns, request.duration_ns, false, request.status,
                               std::move(what), std::string(request.source)});
  }
  if (failed || upload.completed) TryResolve(uuid, upload, false);
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
    const double seconds = Seconds(event.duration_ns);
    summary_.create_to_visible.push_back(seconds);
    if (metrics_ != nullptr) {
      metrics_->ObserveCreateToVisible(repositories_->Name(upload.repository_id), event.bucket,
                                       event.start_ns, seconds);
    }
  }
  Timeline& timeline = TimelineFor(key.upload_uuid);
  if (timeline.repository.empty()) timeline.repository = repositories_->Name(upload.repository_id);
  if (timeline.events.size() < kMaxTimelineEvents) {
    std::string what = "store " + std::string(S3OpName(event.op)) + " " + std::string(key.file) +
                       " " + std::to_string(event.status);
    if (!event.error_code.empty()) what += " " + std::string(event.error_code);
    timeline.events.push_back({event.start_ns, event.duration_ns, true, event.status,
                               std::move(what), std::string(source)});
  }
  if (is_create) TryResolve(uuid, upload, false);
}

void UploadCorrelator::TryResolve(const Uuid& uuid, Upload& upload, bool final) {
  if (upload.resolved) return;
  const bool registry_done = upload.completed || upload.failed_not_visible || upload.failed_other;
  const bool store_known = upload.create_duration_ns >= 0;
  if (!final && !(registry_done && store_known)) return;
  Resolve(uuid, upload);
}

void UploadCorrelator::Resolve(const Uuid& uuid, Upload& upload) {
  upload.resolved = true;
  const bool registry_seen = upload.post_answered_ns != 0 || upload.first_patch_arrival_ns != 0;
  if (!registry_seen) return;  // store-only traffic (e.g. an upload of another registry)
  const std::string uuid_text = UuidText(uuid);
  const std::string& bucket = buckets_[upload.bucket_id];
  const bool store_known = upload.create_duration_ns >= 0;
  // Whole-second store times (AWS format) say nothing about sub-second clock offsets.
  if (store_known && upload.post_arrival_ns != 0 && upload.create_start_ns % kNanosPerSecond != 0) {
    UpdateSkew(upload.create_start_ns - upload.post_arrival_ns);
  }
  const int64_t visible = upload.create_start_ns + upload.create_duration_ns - skew_ns_;
  double unsafe = -1, gap = -1;
  if (upload.post_answered_ns != 0 && store_known) {
    unsafe = std::max(0.0, Seconds(visible - upload.post_answered_ns));
    summary_.unsafe_window.push_back(unsafe);
    if (metrics_ != nullptr) metrics_->ObserveUnsafeWindow(bucket, unsafe);
  }
  if (upload.post_answered_ns != 0 && upload.first_patch_arrival_ns != 0) {
    gap = Seconds(upload.first_patch_arrival_ns - upload.post_answered_ns);
    summary_.client_gap.push_back(gap);
    if (metrics_ != nullptr) metrics_->ObserveClientGap(bucket, gap);
  }
  // Raced: the first PATCH came while the upload was invisible, and the registry had already
  // answered the POST (a store that creates synchronously holds the POST until it is visible).
  // Without the POST's lines, allow clock_tolerance between the two hosts' clocks. An access log
  // with whole-second times (AWS format) only says whether a failure is consistent with a race.
  const bool precise = upload.create_start_ns % kNanosPerSecond != 0;
  const bool post_known = upload.post_answered_ns != 0;
  const int64_t slack = post_known ? 0 : options_.clock_tolerance_ns;
  const int64_t latest_visible = visible + (precise ? slack : kNanosPerSecond + slack);
  const bool consistent = store_known && upload.first_patch_arrival_ns != 0 &&
                          upload.first_patch_arrival_ns < latest_visible &&
                          (!post_known || upload.post_answered_ns < latest_visible);
  const bool raced = consistent && (precise || upload.failed_not_visible);
  std::string outcome;
  if (upload.failed_not_visible) {
    outcome = "raced_failed";
    if (raced && metrics_ != nullptr) {
      metrics_->CountConfirmation("upload_not_yet_visible", "store_log");
    }
    if (summary_.raced_failed_examples.size() < kMaxExamples) {
      summary_.raced_failed_examples.push_back(uuid_text);
    }
  } else if (upload.failed_other) {
    outcome = "failed_other";
  } else if (upload.completed) {
    outcome = raced ? "raced_ok" : "completed";
  } else {
    outcome = "abandoned";
  }
  ++summary_.outcomes[outcome];
  if (metrics_ != nullptr)
    metrics_->CountOutcome(repositories_->Name(upload.repository_id), outcome);

  auto timeline = timelines_.find(uuid_text);
  if (timeline == timelines_.end()) return;
  Timeline& t = timeline->second;
  t.outcome = outcome;
  t.create_to_visible = store_known ? Seconds(upload.create_duration_ns) : -1;
  t.client_gap = gap;
  t.unsafe_window = unsafe;
  std::string verdict;
  if (gap >= 0) {
    verdict += Format("the first PATCH arrived %.2f s after the POST was answered; ", gap);
  } else if (upload.started_at_ns != 0 && upload.first_patch_arrival_ns != 0) {
    verdict += Format("the first PATCH arrived %.2f s after the upload started (_state); ",
                      Seconds(upload.first_patch_arrival_ns - upload.started_at_ns));
  }
  if (store_known) {
    verdict += Format("the store finished creating the upload %.2f s after it was requested",
                      Seconds(upload.create_duration_ns));
    if (upload.first_patch_arrival_ns != 0) {
      verdict += raced ? "; the first PATCH came before the upload was visible"
                       : "; the first PATCH came after the upload was visible";
    }
  } else {
    verdict += "the store's log has no create for this upload";
  }
  if (upload.failed_not_visible)
    verdict += ", and the listing during it did not contain the upload";
  t.verdict = verdict + ".";
}

void UploadCorrelator::UpdateSkew(int64_t sample_ns) {
  skew_samples_.push_back(sample_ns);
  if (skew_samples_.size() > kSkewSamples) skew_samples_.pop_front();
  std::vector<int64_t> sorted(skew_samples_.begin(), skew_samples_.end());
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  const int64_t median = sorted[sorted.size() / 2];
  skew_ns_ = std::llabs(median) > kSkewThresholdNs ? median : 0;
  if (metrics_ != nullptr) metrics_->SetClockSkew(Seconds(median));
}

void UploadCorrelator::AdvanceTo(int64_t now_ns) {
  if (now_ns > now_ns_) now_ns_ = now_ns;
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
  if (metrics_ != nullptr) metrics_->SetOpenUploads(0);
}

std::optional<std::string> UploadCorrelator::ExplainJson(std::string_view uuid) const {
  auto it = timelines_.find(std::string(uuid));
  if (it == timelines_.end()) return std::nullopt;
  const Timeline& t = it->second;
  std::vector<const TimelineEvent*> events;
  for (const TimelineEvent& event : t.events) events.push_back(&event);
  std::stable_sort(
      events.begin(), events.end(),
      [](const TimelineEvent* a, const TimelineEvent* b) { return a->time_ns < b->time_ns; });
  std::string out = "{\"upload_uuid\":\"";
  AppendJsonEscaped(uuid, &out);
  out += "\",\"repository\":\"";
  AppendJsonEscaped(t.repository, &out);
  out += "\",\"outcome\":\"";
  AppendJsonEscaped(t.outcome.empty() ? "open" : t.outcome, &out);
  out += "\",\"verdict\":\"";
  AppendJsonEscaped(t.verdict, &out);
  out += "\"";
  auto number = [&out](const char* key, double value) {
    out += ",\"";
    out += key;
    out += "\":";
    out += value < 0 ? "null" : Format("%.6f", value);
  };
  number("create_to_visible_seconds", t.create_to_visible);
  number("client_gap_seconds", t.client_gap);
  number("unsafe_window_seconds", t.unsafe_window);
  out += ",\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) {
    const TimelineEvent& event = *events[i];
    if (i > 0) out += ",";
    out += "{\"time\":\"" + FormatRfc3339Nanos(event.time_ns) + "\",\"side\":\"";
    out += event.store ? "store" : "registry";
    out += "\",\"what\":\"";
    AppendJsonEscaped(event.what, &out);
    out += "\",\"status\":" + std::to_string(event.status);
    number("duration_seconds", event.duration_ns >= 0 ? Seconds(event.duration_ns) : -1);
    out += ",\"source\":\"";
    AppendJsonEscaped(event.source, &out);
    out += "\"}";
  }
  out += "]}";
  return out;
}

}  // namespace rrca::exporter
