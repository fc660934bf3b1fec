#include "exporter/app/report.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/json_escape.h"
#include "common/time_util.h"
#include "common/upload_visibility.h"
#include "exporter/pipeline/correlator.h"

namespace rrca::app {
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

void AppendRequestJson(const pipeline::Classified& c, std::string* out) {
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
  if (r.hop != Hop::kRegistry) {
    // The hop that answered the client, its own error lines, and what the registry logged of
    // the same request (exporter/pipeline/hop_joiner.h).
    Field(out, "hop", HopName(r.hop));
    Field(out, "msg", r.msg);
    Field(out, "messages", r.messages);
    if (r.registry_status > 0) NumberField(out, "registry_status", r.registry_status);
    if (r.registry_duration_ns >= 0) {
      NumberField(out, "registry_duration_seconds",
                  static_cast<double>(r.registry_duration_ns) / 1e9);
    }
  }
  out->push_back('}');
}

void JsonlWriter::OnClassified(const pipeline::Classified& classified) {
  if (!classified.request.IsError() || classified.superseded) return;
  line_.clear();
  AppendRequestJson(classified, &line_);
  line_.push_back('\n');
  std::fwrite(line_.data(), 1, line_.size(), out_);
}

void LineAccount::Add(std::string_view reason, uint64_t count, std::string_view example) {
  if (count == 0) return;
  for (Reason& known : reasons) {
    if (known.name != reason) continue;
    known.count += count;
    if (known.example.empty()) known.example = std::string(example.substr(0, kExampleBytes));
    return;
  }
  reasons.push_back({std::string(reason), count, std::string(example.substr(0, kExampleBytes))});
}

uint64_t LineAccount::not_understood() const {
  uint64_t total = 0;
  for (const Reason& reason : reasons) total += reason.count;
  return total;
}

void TextReport::OnClassified(const pipeline::Classified& classified) {
  if (classified.request.origin != JoinedRequest::Origin::kBackground) ++responses_;
  if (!classified.request.IsError() || classified.superseded) return;
  ++errors_;
  // Only errors no rule named are mined for templates (the costly part stays off the hot path).
  if (classified.verdict.rule == nullptr) templates_.Add(classified.request);
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

namespace {

// Log text for a terminal: JSON-escaped (no control bytes, valid UTF-8) in quotes, cut to
// `max` bytes (and then said so).
std::string Quoted(std::string_view text, size_t max = 120) {
  std::string out = "\"";
  size_t cut = std::min(text.size(), max);
  while (cut > 0 && cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;  // not inside a UTF-8 sequence
  }
  AppendJsonEscaped(text.substr(0, cut), &out);
  out += "\"";
  if (cut < text.size()) out += "... (cut)";
  return out;
}

void PrintTemplates(const pipeline::TemplateTable& templates, std::FILE* out) {
  if (templates.total() == 0) return;
  const auto top = templates.Top(TextReport::kTopTemplates);
  std::fprintf(out, "\nUnclassified errors by message template (%zu templates, top %zu):\n",
               templates.size(), top.size());
  for (const pipeline::TemplateTable::Entry* entry : top) {
    std::fprintf(out, "  %8llu  %s: %s\n", static_cast<unsigned long long>(entry->count),
                 entry->tmpl.field.c_str(), Quoted(entry->tmpl.text, 200).c_str());
    std::fprintf(out, "            e.g. %s\n", Quoted(entry->example).c_str());
  }
  if (templates.not_kept() > 0) {
    std::fprintf(out, "  %8llu  errors of further templates (not kept: table full)\n",
                 static_cast<unsigned long long>(templates.not_kept()));
  }
  std::fprintf(out, "  Name one: registry-rca rules suggest FILE... prints a rule for each.\n");
}

void PrintLines(const LineAccount& lines, std::FILE* out) {
  if (lines.not_understood() == 0) return;
  std::fprintf(out, "\nLines not understood: %llu of %llu\n",
               static_cast<unsigned long long>(lines.not_understood()),
               static_cast<unsigned long long>(lines.lines));
  for (const LineAccount::Reason& reason : lines.reasons) {
    std::fprintf(out, "  %-20s %8llu  first: %s\n", reason.name.c_str(),
                 static_cast<unsigned long long>(reason.count),
                 reason.example.empty() ? "(not kept)" : Quoted(reason.example).c_str());
  }
}

}  // namespace

void TextReport::Print(const LineAccount& lines, std::FILE* out) const {
  std::fprintf(
      out,
      "registry-rca report: %llu responses, %llu errors; %llu of %llu lines not understood\n\n",
      static_cast<unsigned long long>(responses_), static_cast<unsigned long long>(errors_),
      static_cast<unsigned long long>(lines.not_understood()),
      static_cast<unsigned long long>(lines.lines));
  if (errors_ == 0) {
    if (lines.not_understood() == 0) {
      std::fprintf(out, "No error responses.\n");
    } else {
      std::fprintf(out,
                   "No error responses in the lines understood; %llu lines were not understood "
                   "(below) and may hold errors.\n",
                   static_cast<unsigned long long>(lines.not_understood()));
    }
    PrintLines(lines, out);
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
      std::string detail;  // escaped: log text must not drive the terminal
      AppendJsonEscaped(stats->example_detail, &detail);
      std::fprintf(out, "  example detail:  %s\n", detail.c_str());
    }
  }
  PrintTemplates(templates_, out);
  PrintLines(lines, out);
}

namespace {
void AppendUploadsJson(const pipeline::UploadCorrelator& correlator, std::string* json);
}  // namespace

void TextReport::PrintJsonSummary(const LineAccount& lines, std::FILE* out,
                                  const pipeline::UploadCorrelator* uploads) const {
  std::string json =
      "{\"summary\":{\"responses\":" + std::to_string(responses_) +
      ",\"errors\":" + std::to_string(errors_) + ",\"lines\":" + std::to_string(lines.lines) +
      ",\"lines_not_understood\":{\"total\":" + std::to_string(lines.not_understood()) +
      ",\"by_reason\":{";
  for (size_t i = 0; i < lines.reasons.size(); ++i) {
    const LineAccount::Reason& reason = lines.reasons[i];
    json += std::string(i > 0 ? "," : "") + "\"" + reason.name +
            "\":{\"count\":" + std::to_string(reason.count) + ",\"first\":\"";
    AppendJsonEscaped(reason.example, &json);
    json += "\"}";
  }
  json += "}},\"unclassified_templates\":[";
  const auto top = templates_.Top(kTopTemplates);
  for (size_t i = 0; i < top.size(); ++i) {
    json += i > 0 ? "," : "";
    json += "{\"field\":\"" + top[i]->tmpl.field + "\",\"template\":\"";
    AppendJsonEscaped(top[i]->tmpl.text, &json);
    json += "\",\"count\":" + std::to_string(top[i]->count) + ",\"example\":\"";
    AppendJsonEscaped(top[i]->example, &json);
    json += "\"}";
  }
  json += "],\"unclassified_templates_total\":" + std::to_string(templates_.size()) +
          ",\"unclassified_not_kept\":" + std::to_string(templates_.not_kept());
  if (uploads != nullptr) AppendUploadsJson(*uploads, &json);
  json += "}}\n";
  std::fwrite(json.data(), 1, json.size(), out);
}

}  // namespace rrca::app

namespace rrca::app {
namespace {

double Percentile(std::vector<double> values, double quantile) {
  std::sort(values.begin(), values.end());
  const size_t index = static_cast<size_t>(quantile * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

void PrintLatency(std::FILE* out, const char* name, const std::vector<double>& values,
                  const char* note = "") {
  if (values.empty()) {
    std::fprintf(out, "  %-20s no samples%s\n", name, note);
    return;
  }
  std::fprintf(out, "  %-20s n=%-6zu p50=%.3fs p90=%.3fs p99=%.3fs max=%.3fs%s\n", name,
               values.size(), Percentile(values, 0.5), Percentile(values, 0.9),
               Percentile(values, 0.99), *std::max_element(values.begin(), values.end()), note);
}

std::string Number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6f", value);
  return buffer;
}

void AppendLatencyJson(const char* name, const std::vector<double>& values, std::string* json) {
  *json += std::string(",\"") + name + "\":{\"n\":" + std::to_string(values.size());
  if (!values.empty()) {
    *json += ",\"p50\":" + Number(Percentile(values, 0.5)) +
             ",\"p90\":" + Number(Percentile(values, 0.9)) +
             ",\"p99\":" + Number(Percentile(values, 0.99)) +
             ",\"max\":" + Number(*std::max_element(values.begin(), values.end()));
  }
  *json += "}";
}

void AppendVisibilityJson(const VisibilityBounds& v, std::string* json) {
  *json += "{\"kind\":\"" + std::string(v.kind_name()) + "\"";
  if (v.known()) {
    *json += ",\"lower_seconds\":" + Number(v.lower_seconds());
    *json += ",\"upper_seconds\":" + (v.has_upper() ? Number(v.upper_seconds()) : "null");
    *json += ",\"acknowledged_seconds\":" + Number(v.ack_seconds());
  }
  *json += ",\"text\":\"";
  AppendJsonEscaped(v.Sentence(), json);
  *json += "\"}";
}

void AppendUploadsJson(const pipeline::UploadCorrelator& correlator, std::string* json) {
  const pipeline::UploadCorrelator::Summary& summary = correlator.summary();
  *json += ",\"uploads\":{\"never_seen_visible\":" + std::to_string(summary.never_seen_visible);
  AppendLatencyJson("create_to_visible_seconds", summary.create_to_visible, json);
  AppendLatencyJson("create_to_visible_lower_bound_seconds", summary.create_to_visible_lower_bound,
                    json);
  AppendLatencyJson("client_gap_seconds", summary.client_gap, json);
  AppendLatencyJson("unsafe_window_seconds", summary.unsafe_window, json);
  *json += ",\"outcomes\":{";
  bool first = true;
  for (const auto& [outcome, count] : summary.outcomes) {
    *json += std::string(first ? "" : ",") + "\"" + outcome + "\":" + std::to_string(count);
    first = false;
  }
  *json += "},\"examples\":[";
  first = true;
  for (const auto* examples : {&summary.raced_failed_examples, &summary.raced_recovered_examples}) {
    for (const std::string& uuid : *examples) {
      const auto visibility = correlator.VisibilityOf(uuid);
      if (!visibility.has_value()) continue;
      *json += std::string(first ? "" : ",") + "{\"upload_uuid\":\"" + uuid + "\",\"visibility\":";
      AppendVisibilityJson(*visibility, json);
      *json += "}";
      first = false;
    }
  }
  *json += "]}";
}

}  // namespace

void PrintUploadReport(const pipeline::UploadCorrelator& correlator,
                       const std::function<std::optional<Json>(const std::string& uuid)>& explain,
                       std::FILE* out) {
  const pipeline::UploadCorrelator::Summary& summary = correlator.summary();
  if (summary.outcomes.empty() && summary.create_to_visible.empty() &&
      summary.create_to_visible_lower_bound.empty()) {
    return;
  }
  std::fprintf(out, "\nUploads (registry and object store joined by upload UUID):\n");
  PrintLatency(out, "create-to-visible", summary.create_to_visible,
               "  (seen visible: the ack, or the first moment seen visible)");
  char note[160];
  std::snprintf(note, sizeof(note),
                "  (seen not visible after the store's ack: at least this long; %llu never "
                "seen visible)",
                static_cast<unsigned long long>(summary.never_seen_visible));
  PrintLatency(out, "  lower bounds", summary.create_to_visible_lower_bound, note);
  PrintLatency(out, "client gap", summary.client_gap);
  PrintLatency(out, "unsafe window", summary.unsafe_window);
  for (const auto& [outcome, count] : summary.outcomes) {
    std::fprintf(out, "  %-20s %llu\n", outcome.c_str(), static_cast<unsigned long long>(count));
  }
  const std::pair<const std::vector<std::string>*, const char*> groups[] = {
      {&summary.raced_failed_examples, "raced and failed"},
      {&summary.raced_recovered_examples, "raced, retried and recovered"}};
  for (const auto& [examples, what] : groups) {
    for (const std::string& uuid : *examples) {
      const std::optional<Json> json = explain(uuid);
      const auto visibility = correlator.VisibilityOf(uuid);
      if (!json.has_value() || !visibility.has_value()) continue;
      std::fprintf(out, "\n  upload %s (%s): %s\n    %s\n", uuid.c_str(), what,
                   visibility->Sentence().c_str(), DumpJson(*json).c_str());
    }
  }
}

}  // namespace rrca::app
