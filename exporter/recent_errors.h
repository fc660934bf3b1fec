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
  // example request and upload ids per cause, as JSON. The `unclassified` cause also lists its
  // errors by message template ("templates": the top kTopTemplates, each with a count and the
  // latest message) and how many distinct templates there were ("templates_total").
  std::string CausesJson(int64_t since_ns) const;
  // Upload UUIDs of the newest errors of `cause` within [latest - since, latest], distinct,
  // newest first, at most `max` (the alert enricher's example timelines).
  std::vector<std::string> ExampleUploads(std::string_view cause, int64_t since_ns,
                                          size_t max) const;
  int64_t latest_time_ns() const { return latest_ns_; }
  static constexpr size_t kTopTemplates = 10;
  // What an unclassified entry keeps of its message: the ring's size bounds the memory.
  static constexpr size_t kMaxTemplateBytes = 300;
  static constexpr size_t kMaxExampleBytes = 200;

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
    // Unclassified errors only: the message template (MaskMessage), its field and the message.
    std::string template_field;
    std::string template_text;
    std::string message;
  };
  void AppendTemplates(int64_t from, std::string* out) const;

  size_t capacity_;
  std::vector<Entry> ring_;
  size_t next_ = 0;
  int64_t latest_ns_ = 0;
};

}  // namespace rrca::exporter
