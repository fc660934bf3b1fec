#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/pipeline.h"

namespace rrca::exporter {

// A ring of the most recent error responses (cause, repository label, ids), for
// GET /api/v1/causes?since=10m and the alert enricher. Memory is fixed by `capacity`; when more
// errors than that fell in the asked window, the answer says it is truncated. Owned by the
// processing thread; readers hold the daemon's processing lock.
class RecentErrors : public ClassifiedObserver {
 public:
  explicit RecentErrors(size_t capacity = 10'000) : capacity_(capacity) {}

  void OnClassified(const Classified& classified) override;

  // Counts by cause and repository over [latest - since, latest] (log time), with the latest
  // example request and upload ids per cause, as JSON.
  std::string CausesJson(int64_t since_ns) const;
  // Upload UUIDs of the newest errors of `cause` within [latest - since, latest], distinct,
  // newest first, at most `max` (the alert enricher's example timelines).
  std::vector<std::string> ExampleUploads(std::string_view cause, int64_t since_ns,
                                          size_t max) const;
  int64_t latest_time_ns() const { return latest_ns_; }

  // "10m", "90s", "1h" (Go durations) -> nanoseconds; false when malformed.
  static bool ParseSince(const std::string& text, int64_t* since_ns);

 private:
  struct Entry {
    int64_t time_ns;
    std::string cause;
    std::string severity;
    std::string repository;
    std::string request_id;
    std::string upload_uuid;
  };
  size_t capacity_;
  std::vector<Entry> ring_;
  size_t next_ = 0;
  int64_t latest_ns_ = 0;
};

}  // namespace rrca::exporter
