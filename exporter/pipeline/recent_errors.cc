#include "exporter/pipeline/recent_errors.h"

#include <algorithm>
#include <array>
#include <map>
#include <string_view>
#include <unordered_map>

#include "common/time_util.h"
#include "exporter/pipeline/templates.h"

namespace rrca::pipeline {

void RecentErrors::OnClassified(const Classified& classified) {
  const JoinedRequest& request = classified.request;
  if (!request.IsError() || classified.superseded) return;
  if (request.time_ns > latest_ns_) latest_ns_ = request.time_ns;
  Entry entry{request.time_ns,
              std::string(classified.cause),
              classified.verdict.rule != nullptr ? classified.verdict.rule->severity : "critical",
              std::string(classified.repository_label),
              std::string(request.request_id),
              std::string(request.upload_uuid),
              std::string(OperationName(request.operation)),
              request.status,
              {},
              {},
              std::string(TemplateSource(request).second.substr(0, kMaxExampleBytes))};
  if (classified.verdict.rule == nullptr) {
    // Templates are only mined for errors no rule named: they are few, and never labels.
    MessageTemplate tmpl = TemplateOf(request);
    entry.template_field = std::move(tmpl.field);
    entry.template_text = tmpl.text.substr(0, kMaxTemplateBytes);
  }
  if (ring_.size() < capacity_) {
    ring_.push_back(std::move(entry));
  } else {
    ring_[next_] = std::move(entry);
  }
  next_ = (next_ + 1) % capacity_;
}

bool RecentErrors::ParseSince(const std::string& text, int64_t* since_ns) {
  return ParseGoDuration(text, since_ns) && *since_ns > 0;
}

std::vector<std::string> RecentErrors::ExampleUploads(std::string_view cause, int64_t since_ns,
                                                      size_t max) const {
  const int64_t from = latest_ns_ - since_ns;
  std::vector<const Entry*> matching;
  for (const Entry& entry : ring_) {
    if (entry.time_ns >= from && entry.cause == cause && !entry.upload_uuid.empty()) {
      matching.push_back(&entry);
    }
  }
  std::sort(matching.begin(), matching.end(),
            [](const Entry* a, const Entry* b) { return a->time_ns > b->time_ns; });
  std::vector<std::string> out;
  for (const Entry* entry : matching) {
    if (out.size() >= max) break;
    if (std::find(out.begin(), out.end(), entry->upload_uuid) == out.end()) {
      out.push_back(entry->upload_uuid);
    }
  }
  return out;
}

Json RecentErrors::Causes(int64_t since_ns) const {
  // Keyed by views into ring_, which the caller's lock keeps unchanged during the call: a
  // string-keyed std::map here took 72 % of the overview's time (bench/ui_bench, perf).
  struct CauseSummary {
    uint64_t count = 0;
    const std::string* severity = nullptr;  // the latest entry's
    std::unordered_map<std::string_view, uint64_t> repositories;
    const Entry* latest = nullptr;
    std::array<uint64_t, kSeriesBuckets> series{};  // counts over the window, oldest first
  };
  const int64_t from = latest_ns_ - since_ns;
  std::unordered_map<std::string_view, CauseSummary> causes;
  int64_t oldest = INT64_MAX;
  for (const Entry& entry : ring_) {
    oldest = std::min(oldest, entry.time_ns);
    if (entry.time_ns < from) continue;
    CauseSummary& summary = causes[entry.cause];
    ++summary.count;
    summary.severity = &entry.severity;
    ++summary.repositories[entry.repository];
    ++summary.series[SliceOf(entry.time_ns, from, since_ns)];
    if (summary.latest == nullptr || entry.time_ns >= summary.latest->time_ns) {
      summary.latest = &entry;
    }
  }
  const bool truncated = ring_.size() == capacity_ && oldest > from;
  std::vector<std::pair<std::string_view, const CauseSummary*>> ranked;
  for (const auto& [cause, summary] : causes) ranked.emplace_back(cause, &summary);
  // The most frequent first; equal counts by name, so the page does not reorder between scrapes.
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second->count != b.second->count ? a.second->count > b.second->count
                                              : a.first < b.first;
  });
  Json out = Json::object();
  out["since_seconds"] = since_ns / kNanosPerSecond;
  out["until"] = latest_ns_ != 0 ? FormatRfc3339Nanos(latest_ns_) : "";
  out["truncated"] = truncated;
  out["series_buckets"] = kSeriesBuckets;
  Json& list = out["causes"] = Json::array();
  for (const auto& [cause, summary] : ranked) {
    Json item = Json::object();
    item["cause"] = cause;
    item["severity"] = *summary->severity;
    item["count"] = summary->count;
    item["series"] = summary->series;
    std::vector<std::pair<std::string_view, uint64_t>> repositories(summary->repositories.begin(),
                                                                    summary->repositories.end());
    // The ten largest; equal counts by name, as the string-keyed map used to give them.
    const size_t shown = std::min<size_t>(repositories.size(), 10);
    std::partial_sort(repositories.begin(), repositories.begin() + shown, repositories.end(),
                      [](const auto& a, const auto& b) {
                        return a.second != b.second ? a.second > b.second : a.first < b.first;
                      });
    Json& top = item["repositories"] = Json::array();
    for (size_t r = 0; r < shown; ++r) {
      top.push_back({{"repository", repositories[r].first}, {"count", repositories[r].second}});
    }
    item["example"] = {{"time", FormatRfc3339Nanos(summary->latest->time_ns)},
                       {"request_id", summary->latest->request_id},
                       {"upload_uuid", summary->latest->upload_uuid}};
    if (cause == rules::RuleSet::kUnclassified) AddTemplates(from, &item);
    list.push_back(std::move(item));
  }
  return out;
}

size_t RecentErrors::SliceOf(int64_t time_ns, int64_t from, int64_t since_ns) {
  if (since_ns <= 0 || time_ns <= from) return 0;
  const auto slice =
      static_cast<size_t>(static_cast<__int128>(time_ns - from) * kSeriesBuckets / since_ns);
  return std::min(slice, kSeriesBuckets - 1);
}

namespace {

// Names with their counts, the largest first, at most `max`, as a JSON array of objects.
Json Ranked(const std::map<std::string, uint64_t>& counts, const char* key, size_t max) {
  std::vector<std::pair<std::string, uint64_t>> ranked(counts.begin(), counts.end());
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  Json out = Json::array();
  for (size_t i = 0; i < ranked.size() && i < max; ++i) {
    out.push_back({{key, ranked[i].first}, {"count", ranked[i].second}});
  }
  return out;
}

}  // namespace

// One error as the cause and search APIs list it.
Json RecentErrors::EntryJson(const Entry& entry, bool with_cause) {
  Json out = Json::object();
  out["time"] = FormatRfc3339Nanos(entry.time_ns);
  if (with_cause) out["cause"] = entry.cause;
  out["status"] = entry.status;
  out["operation"] = entry.operation;
  out["repository"] = entry.repository;
  out["request_id"] = entry.request_id;
  out["upload_uuid"] = entry.upload_uuid;
  out["detail"] = entry.message;
  return out;
}

Json RecentErrors::Cause(std::string_view cause, int64_t since_ns,
                         const rules::RuleSet& catalogue) const {
  const int64_t from = latest_ns_ - since_ns;
  uint64_t count = 0;
  std::array<uint64_t, kSeriesBuckets> series{};
  std::map<std::string, uint64_t> repositories, operations;
  std::vector<const Entry*> newest;
  std::string severity;
  for (const Entry& entry : ring_) {
    if (entry.time_ns < from || entry.cause != cause) continue;
    ++count;
    ++series[SliceOf(entry.time_ns, from, since_ns)];
    ++repositories[entry.repository];
    ++operations[entry.operation];
    severity = entry.severity;
    newest.push_back(&entry);
  }
  std::stable_sort(newest.begin(), newest.end(),
                   [](const Entry* a, const Entry* b) { return a->time_ns > b->time_ns; });
  const rules::Rule* rule = nullptr;
  for (const rules::Rule& candidate : catalogue.rules()) {
    if (candidate.cause == cause) {
      rule = &candidate;
      break;
    }
  }
  if (severity.empty() && rule != nullptr) severity = rule->severity;
  Json out = Json::object();
  out["cause"] = cause;
  out["known"] = rule != nullptr || cause == rules::RuleSet::kUnclassified;
  out["severity"] = severity;
  out["summary"] = rule != nullptr ? rule->summary : "";
  out["runbook"] = rule != nullptr ? rule->runbook : "";
  out["since_seconds"] = since_ns / kNanosPerSecond;
  out["until"] = latest_ns_ != 0 ? FormatRfc3339Nanos(latest_ns_) : "";
  out["count"] = count;
  out["series_buckets"] = kSeriesBuckets;
  out["series"] = series;
  out["repositories"] = Ranked(repositories, "repository", 10);
  out["operations"] = Ranked(operations, "operation", 10);
  Json& examples = out["examples"] = Json::array();
  std::vector<std::string_view> uploads;
  for (size_t i = 0; i < newest.size() && i < kCauseExamples; ++i) {
    const Entry& entry = *newest[i];
    examples.push_back(EntryJson(entry, /*with_cause=*/false));
    if (!entry.upload_uuid.empty() &&
        std::find(uploads.begin(), uploads.end(), entry.upload_uuid) == uploads.end()) {
      uploads.push_back(entry.upload_uuid);
    }
  }
  out["uploads"] = uploads;
  return out;
}

Json RecentErrors::Search(std::string_view query) const {
  std::vector<const Entry*> matches;
  if (!query.empty()) {
    for (const Entry& entry : ring_) {
      if (entry.request_id == query || entry.upload_uuid == query || entry.repository == query) {
        matches.push_back(&entry);
      }
    }
  }
  std::stable_sort(matches.begin(), matches.end(),
                   [](const Entry* a, const Entry* b) { return a->time_ns > b->time_ns; });
  Json out = Json::object();
  out["query"] = query;
  out["truncated"] = matches.size() > kSearchMatches;
  Json& list = out["matches"] = Json::array();
  for (size_t i = 0; i < matches.size() && i < kSearchMatches; ++i) {
    list.push_back(EntryJson(*matches[i], /*with_cause=*/true));
  }
  return out;
}

void RecentErrors::AddTemplates(int64_t from, Json* cause) const {
  struct Group {
    uint64_t count = 0;
    const Entry* latest = nullptr;
  };
  std::map<std::pair<std::string_view, std::string_view>, Group> groups;
  for (const Entry& entry : ring_) {
    if (entry.time_ns < from || entry.template_field.empty()) continue;
    Group& group = groups[{entry.template_field, entry.template_text}];
    ++group.count;
    if (group.latest == nullptr || entry.time_ns >= group.latest->time_ns) group.latest = &entry;
  }
  std::vector<const Group*> ranked;
  for (const auto& [key, group] : groups) ranked.push_back(&group);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const Group* a, const Group* b) { return a->count > b->count; });
  (*cause)["templates_total"] = groups.size();
  Json& list = (*cause)["templates"] = Json::array();
  for (size_t i = 0; i < ranked.size() && i < kTopTemplates; ++i) {
    const Entry& latest = *ranked[i]->latest;
    list.push_back({{"field", latest.template_field},
                    {"template", latest.template_text},
                    {"count", ranked[i]->count},
                    {"example", latest.message}});
  }
}

}  // namespace rrca::pipeline
