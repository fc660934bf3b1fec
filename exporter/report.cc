#include "exporter/report.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/json_escape.h"
#include "common/time_util.h"
#include "exporter/correlator.h"

namespace rrca::exporter {
namespace {

void Field(std::string* out, std::string_view key, std::string_view value, bool first = false) {
  if (!first) out->push_back(',');
  out->push_back('"');
  out->append(key);
  out->append("\":\"");
  AppendJsonEscaped(value, out);
  out->push_back('"');
}

void NumberField(std::string* out, std::string_view key, double value) {
  out->append(",\"");
  out->append(key);
  out->append("\":");
  if (std::isnan(value)) {
    out->append("null");
    return;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6g", value);
  out->append(buffer);
}

std::string_view OriginName(JoinedRequest::Origin origin) {
  switch (origin) {
    case JoinedRequest::Origin::kSummary:
      return "summary";
    case JoinedRequest::Origin::kAccessLog:
      return "access_log";
    case JoinedRequest::Origin::kErrorLines:
      return "error_lines";
    case JoinedRequest::Origin::kBackground:
      return "background";
  }
  return "summary";
}

}  // namespace

void AppendRequestJson(const Classified& c, std::string* out) {
  const JoinedRequest& r = c.request;
  out->push_back('{');
  Field(out, "time", r.time_ns != 0 ? FormatRfc3339Nanos(r.time_ns) : "", true);
  Field(out, "request_id", r.request_id);
  Field(out, "repository", r.repository);
  Field(out, "method", r.method);
  Field(out, "operation", OperationName(r.operation));
  if (r.status > 0) {
    NumberField(out, "status", r.status);
  } else {
    Field(out, "status", "unknown");
  }
  Field(out, "cause", c.cause);
  Field(out, "rule", c.verdict.rule != nullptr ? std::string_view(c.verdict.rule->name) : "");
  Field(out, "severity",
        c.verdict.rule != nullptr ? std::string_view(c.verdict.rule->severity)
                                  : std::string_view("critical"));
  Field(out, "upload_uuid", r.upload_uuid);
  NumberField(out, "upload_age_seconds", r.upload_age_seconds);
  if (r.upload_state.valid)
    NumberField(out, "upload_offset", static_cast<double>(r.upload_state.offset));
  NumberField(out, "duration_seconds",
              r.duration_ns >= 0 ? static_cast<double>(r.duration_ns) / 1e9 : NAN);
  Field(out, "err_code", r.err_code);
  Field(out, "err_message", r.err_message);
  Field(out, "err_detail", r.err_detail);
  Field(out, "origin", OriginName(r.origin));
  Field(out, "source", r.source);
  out->push_back('}');
}

void JsonlWriter::OnClassified(const Classified& classified) {
  if (!classified.request.IsError()) return;
  line_.clear();
  AppendRequestJson(classified, &line_);
  line_.push_back('\n');
  std::fwrite(line_.data(), 1, line_.size(), out_);
}

void TextReport::OnClassified(const Classified& classified) {
  if (classified.request.origin != JoinedRequest::Origin::kBackground) ++responses_;
  if (!classified.request.IsError()) return;
  ++errors_;
  CauseStats& stats = causes_[std::string(classified.cause)];
  ++stats.count;
  ++stats.repositories[std::string(classified.repository_label)];
  if (stats.example_request_id.empty() && !classified.request.request_id.empty()) {
    stats.example_request_id = classified.request.request_id;
    stats.example_detail = SanitizeUtf8(classified.request.err_detail.substr(0, 160));
  }
  if (stats.severity.empty()) {
    const rules::Rule* rule = classified.verdict.rule;
    stats.severity = rule != nullptr ? rule->severity : "critical";
    stats.summary = rule != nullptr ? rule->summary : "No rule matched: a new kind of failure.";
  }
}

void TextReport::Print(std::FILE* out) const {
  std::fprintf(out, "registry-rca report: %llu responses, %llu errors\n\n",
               static_cast<unsigned long long>(responses_),
               static_cast<unsigned long long>(errors_));
  if (errors_ == 0) {
    std::fprintf(out, "No error responses.\n");
    return;
  }
  std::vector<std::pair<std::string, const CauseStats*>> ranked;
  for (const auto& [cause, stats] : causes_) ranked.emplace_back(cause, &stats);
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second->count != b.second->count ? a.second->count > b.second->count
                                              : a.first < b.first;
  });
  std::fprintf(out, "%-32s %8s %7s  %s\n", "CAUSE", "COUNT", "SHARE", "SEVERITY");
  for (const auto& [cause, stats] : ranked) {
    std::fprintf(out, "%-32s %8llu %6.1f%%  %s\n", cause.c_str(),
                 static_cast<unsigned long long>(stats->count),
                 100.0 * static_cast<double>(stats->count) / static_cast<double>(errors_),
                 stats->severity.c_str());
  }
  for (const auto& [cause, stats] : ranked) {
    std::fprintf(out, "\n%s (%llu): %s\n", cause.c_str(),
                 static_cast<unsigned long long>(stats->count), stats->summary.c_str());
    std::vector<std::pair<std::string, uint64_t>> repositories(stats->repositories.begin(),
                                                               stats->repositories.end());
    std::sort(repositories.begin(), repositories.end(),
              [](const auto& a, const auto& b) { return a.second > b.second; });
    const size_t shown = std::min<size_t>(repositories.size(), 5);
    for (size_t i = 0; i < shown; ++i) {
      std::fprintf(out, "  %8llu  %s\n", static_cast<unsigned long long>(repositories[i].second),
                   repositories[i].first.empty() ? "(no repository)"
                                                 : SanitizeUtf8(repositories[i].first).c_str());
    }
    if (!stats->example_request_id.empty()) {
      std::fprintf(out, "  example request: %s\n", stats->example_request_id.c_str());
    }
    if (!stats->example_detail.empty()) {
      std::fprintf(out, "  example detail:  %s\n", stats->example_detail.c_str());
    }
  }
}

}  // namespace rrca::exporter

namespace rrca::exporter {
namespace {

double Percentile(std::vector<double> values, double quantile) {
  std::sort(values.begin(), values.end());
  const size_t index = static_cast<size_t>(quantile * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

void PrintLatency(std::FILE* out, const char* name, const std::vector<double>& values) {
  if (values.empty()) {
    std::fprintf(out, "  %-20s no samples\n", name);
    return;
  }
  std::fprintf(out, "  %-20s n=%-6zu p50=%.3fs p90=%.3fs p99=%.3fs max=%.3fs\n", name,
               values.size(), Percentile(values, 0.5), Percentile(values, 0.9),
               Percentile(values, 0.99), *std::max_element(values.begin(), values.end()));
}

}  // namespace

void PrintUploadReport(const UploadCorrelator& correlator, std::FILE* out) {
  const UploadCorrelator::Summary& summary = correlator.summary();
  if (summary.outcomes.empty() && summary.create_to_visible.empty()) return;
  std::fprintf(out, "\nUploads (registry and object store joined by upload UUID):\n");
  PrintLatency(out, "create-to-visible", summary.create_to_visible);
  PrintLatency(out, "client gap", summary.client_gap);
  PrintLatency(out, "unsafe window", summary.unsafe_window);
  for (const auto& [outcome, count] : summary.outcomes) {
    std::fprintf(out, "  %-20s %llu\n", outcome.c_str(), static_cast<unsigned long long>(count));
  }
  for (const std::string& uuid : summary.raced_failed_examples) {
    const auto json = correlator.ExplainJson(uuid);
    if (!json.has_value()) continue;
    std::fprintf(out, "\n  upload %s (raced and failed): %s\n", uuid.c_str(), json->c_str());
  }
}

}  // namespace rrca::exporter
