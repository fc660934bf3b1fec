#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "exporter/pipeline/pipeline.h"

namespace rrca::pipeline {

// A ring of the most recent error responses (cause, repository label, ids), for
// GET /api/v1/causes?since=10m and the alert enricher. Memory is fixed by `capacity`; when more
// errors than that fell in the asked window, the answer says it is truncated. Owned by the
// processing thread; readers hold the daemon's processing lock.
//
// The answers are JSON values, not text: the daemon's UI pages and the alert enricher read them
// in place, and only the HTTP API serialises them. Each returned value is a copy the caller
// owns, safe to use after the lock is released. Member order is the API's.
class RecentErrors : public ClassifiedObserver {
 public:
  explicit RecentErrors(size_t capacity = 10'000) : capacity_(capacity) {}

  void OnClassified(const Classified& classified) override;

  // Counts by cause and repository over [latest - since, latest] (log time), with the latest
  // example request and upload ids per cause, as JSON. The `unclassified` cause also lists its
  // errors by message template ("templates": the top kTopTemplates, each with a count and the
  // latest message) and how many distinct templates there were ("templates_total"). Each cause's
  // "series" counts its errors in kSeriesBuckets equal slices of the window, oldest first.
  Json Causes(int64_t since_ns) const;
  // One cause over [latest - since, latest]: its count, series, repositories and operations
  // (top 10 each), the newest kCauseExamples errors (time, status, operation, repository, ids,
  // error detail) and the distinct uploads among them, with the catalogue's summary and
  // runbook for it (from the first rule of `catalogue` that gives it), as JSON.
  Json Cause(std::string_view cause, int64_t since_ns, const rules::RuleSet& catalogue) const;
  static constexpr size_t kCauseExamples = 20;
  // The recent errors whose request id, upload UUID or repository is `query` (exactly), newest
  // first, at most kSearchMatches, as JSON: {"query", "truncated", "matches": [{time, cause,
  // status, operation, repository, request_id, upload_uuid, detail}]}.
  Json Search(std::string_view query) const;
  static constexpr size_t kSearchMatches = 50;
  // Upload UUIDs of the newest errors of `cause` within [latest - since, latest], distinct,
  // newest first, at most `max` (the alert enricher's example timelines).
  std::vector<std::string> ExampleUploads(std::string_view cause, int64_t since_ns,
                                          size_t max) const;
  int64_t latest_time_ns() const { return latest_ns_; }
  static constexpr size_t kTopTemplates = 10;
  static constexpr size_t kSeriesBuckets = 24;
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
    std::string operation;
    int status = 0;
    // Unclassified errors only: the message template (MaskMessage) and its field.
    std::string template_field;
    std::string template_text;
    std::string message;  // the error detail (every error), at most kMaxExampleBytes
  };
  // The slice of a window [from, from + since) that `time_ns` falls in.
  static size_t SliceOf(int64_t time_ns, int64_t from, int64_t since_ns);
  static Json EntryJson(const Entry& entry, bool with_cause);
  // Adds "templates_total" and "templates" (the unclassified errors since `from`) to `cause`.
  void AddTemplates(int64_t from, Json* cause) const;

  size_t capacity_;
  std::vector<Entry> ring_;
  size_t next_ = 0;
  int64_t latest_ns_ = 0;
};

}  // namespace rrca::pipeline
