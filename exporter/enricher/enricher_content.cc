#include "exporter/enricher/enricher_content.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "common/json_escape.h"
#include "common/time_util.h"
#include "rules/rule_set.h"

namespace rrca::exporter {
namespace {

constexpr size_t kMaxAnnotationBytes = 600;
constexpr size_t kTopRepositories = 5;
constexpr size_t kTopStoreErrors = 5;
constexpr size_t kTopCauses = 10;
constexpr size_t kExamples = 2;
constexpr size_t kExplainAttempts = 8;

// At most `max` bytes, cut on a UTF-8 boundary, with "…" when cut.
std::string Truncate(std::string text, size_t max = kMaxAnnotationBytes) {
  text = SanitizeUtf8(text);
  if (text.size() <= max) return text;
  size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "\xE2\x80\xA6";
}

// The explain JSON carries the raw log line of each event and hop (up to 2 KiB each): evidence
// for a person at the explain URL, which the notification links, but too heavy to repeat in
// every notification of every group.
void DropRawLines(JsonValue* explain) {
  for (const char* list : {"events", "hops"}) {
    JsonValue* items = explain->Find(list);
    if (items == nullptr || !items->is_array()) continue;
    for (JsonValue& item : items->MutableArray()) {
      if (!item.is_object()) continue;
      std::erase_if(item.MutableObject(),
                    [](const JsonValue::Member& member) { return member.first == "line"; });
    }
  }
}

std::string UrlEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

bool IsCauseId(std::string_view text) {
  return !text.empty() && text.size() <= 64 && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

int64_t ParseTime(const std::string& text) {
  int64_t ns = 0;
  return ParseRfc3339(text, &ns) && ns > 0 ? ns : 0;
}

std::string CountText(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.0f", value);
  return buffer;
}

JsonValue Seconds(double value) { return value < 0 ? JsonValue() : JsonValue::Number(value); }

// "HH:MM:SS.mmm" of an RFC 3339 time, for compact timelines.
std::string ClockOf(const std::string& time) {
  return time.size() >= 23 && time[10] == 'T' ? time.substr(11, 12) : time;
}

}  // namespace

std::string EnrichmentBuilder::FormatSeconds(double seconds) {
  char buffer[32];
  if (seconds < 0) return "unknown";
  if (seconds < 1) {
    std::snprintf(buffer, sizeof(buffer), "%.0fms", seconds * 1000);
  } else if (seconds < 120) {
    std::snprintf(buffer, sizeof(buffer), "%.3gs", seconds);
  } else if (seconds < 7200) {
    std::snprintf(buffer, sizeof(buffer), "%.0fm", seconds / 60);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.1fh", seconds / 3600);
  }
  return buffer;
}

EnrichmentBuilder::EnrichmentBuilder(const EnricherConfig& config, const EnricherSources& sources,
                                     const MetricHistory& history, int64_t now_ns)
    : config_(config), sources_(sources), history_(history), now_ns_(now_ns) {}

StatusOr<const EnrichmentBuilder::Window*> EnrichmentBuilder::WindowFor(int64_t from_ns) {
  const int64_t since_ns = (now_ns_ - from_ns) / kNanosPerSecond * kNanosPerSecond;
  auto [it, inserted] = windows_.try_emplace(since_ns);
  Window& window = it->second;
  if (inserted) {
    window.since_ns = since_ns;
    window.from_ns = now_ns_ - since_ns;
    if (sources_.causes_json) {
      window.causes = ParseJson(sources_.causes_json(since_ns));
      if (window.causes.ok() && !window.causes->Find("causes")) {
        window.causes = Status::Error("the causes JSON has no `causes`");
      }
    } else {
      window.causes = JsonValue::EmptyObject();
      window.causes->Set("causes", JsonValue::EmptyArray());
    }
    if (sources_.collect) {
      if (!current_.has_value()) current_ = SampleOf(now_ns_, sources_.collect());
      window.numbers = history_.Window(window.from_ns, *current_);
    }
  }
  if (!window.causes.ok()) return Status::Error("causes: " + window.causes.status().message());
  return &window;
}

JsonValue EnrichmentBuilder::Examples(const std::vector<std::string>& focus, const Window& window,
                                      std::vector<std::string>* uuids) {
  std::vector<std::string> candidates;
  for (const std::string& cause : focus) {
    if (sources_.example_uploads) {
      for (std::string& uuid : sources_.example_uploads(cause, window.since_ns, kExplainAttempts)) {
        candidates.push_back(std::move(uuid));
      }
    }
    for (const JsonValue& entry : window.causes->Find("causes")->AsArray()) {
      if (entry.GetString("cause") != cause) continue;
      const JsonValue* example = entry.Find("example");
      if (example != nullptr) candidates.push_back(example->GetString("upload_uuid"));
    }
  }
  // The newest uploads first, but an upload the correlator has decided, with the store's side of
  // it, explains more than one whose store lines have not arrived yet.
  std::vector<std::pair<int, JsonValue>> explained;  // (score, explain JSON)
  std::set<std::string> tried;
  for (const std::string& uuid : candidates) {
    if (!sources_.explain_json || tried.size() >= kExplainAttempts) break;
    if (uuid.empty() || !tried.insert(uuid).second) continue;
    const std::optional<std::string> text = sources_.explain_json(uuid);
    if (!text.has_value()) continue;
    StatusOr<JsonValue> parsed = ParseJson(*text);
    if (!parsed.ok() || !parsed->is_object()) continue;
    const std::string outcome = parsed->GetString("outcome");
    std::set<std::string> sides;
    const JsonValue* events = parsed->Find("events");
    for (const JsonValue& event : events != nullptr ? events->AsArray() : JsonValue::Array{}) {
      sides.insert(event.GetString("side"));
    }
    const int score = (outcome.empty() || outcome == "open" ? 0 : 2) + (sides.size() > 1 ? 1 : 0);
    explained.emplace_back(score, std::move(parsed.value()));
  }
  std::stable_sort(explained.begin(), explained.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  JsonValue examples = JsonValue::EmptyArray();
  for (auto& [score, example] : explained) {
    if (examples.AsArray().size() >= kExamples) break;
    uuids->push_back(example.GetString("upload_uuid"));
    DropRawLines(&example);
    examples.Append(std::move(example));
  }
  return examples;
}

JsonValue EnrichmentBuilder::Links(const JsonValue& labels, const std::string& cause,
                                   const Window& window, const std::string& top_repository,
                                   const std::vector<std::string>& uuids) const {
  JsonValue links = JsonValue::EmptyObject();
  const std::string range = "&from=" + std::to_string(window.from_ns / 1'000'000) +
                            "&to=" + std::to_string(now_ns_ / 1'000'000);
  std::string variables;
  if (const std::string cluster = labels.GetString("cluster"); !cluster.empty()) {
    variables += "&var-cluster=" + UrlEncode(cluster);
  }
  if (IsCauseId(cause) && cause != "any") variables += "&var-cause=" + UrlEncode(cause);
  if (!config_.dashboard_base_url.empty()) {
    std::string overview = config_.dashboard_base_url +
                           "/d/registry-rca-overview/registry-rca-overview?orgId=1" + variables +
                           range;
    links.Set("dashboard", JsonValue::String(std::move(overview)));
    if (!top_repository.empty()) {
      links.Set(
          "repository_dashboard",
          JsonValue::String(config_.dashboard_base_url +
                            "/d/registry-rca-repository/registry-rca-repository?orgId=1" +
                            variables + "&var-repository=" + UrlEncode(top_repository) + range));
    }
  }
  if (!config_.runbook_base_url.empty() && IsCauseId(cause)) {
    const std::string anchor = cause == "any" ? "registry_5xx_ratio" : cause;
    links.Set("runbook", JsonValue::String(config_.runbook_base_url + "#" + anchor));
  }
  if (!config_.external_url.empty()) {
    links.Set("causes", JsonValue::String(config_.external_url + "/api/v1/causes?since=" +
                                          std::to_string(window.since_ns / kNanosPerSecond) + "s"));
    JsonValue explain = JsonValue::EmptyArray();
    for (const std::string& uuid : uuids) {
      explain.Append(
          JsonValue::String(config_.external_url + "/api/v1/uploads/" + UrlEncode(uuid)));
    }
    links.Set("explain", std::move(explain));
  }
  return links;
}

EnrichmentBuilder::Tally EnrichmentBuilder::Count(const Window& window,
                                                  const std::string& cause) const {
  Tally tally;
  tally.causes = JsonValue::EmptyArray();
  if (IsCauseId(cause) && cause != "any") tally.focus.push_back(cause);
  std::map<std::string, double> repositories;
  for (const JsonValue& entry : window.causes->Find("causes")->AsArray()) {
    const std::string name = entry.GetString("cause");
    const JsonValue* count_value = entry.Find("count");
    const double count = count_value != nullptr ? count_value->AsNumber() : 0;
    tally.total += count;
    if (tally.focus.empty() || name == cause) {
      tally.focused += count;
      const JsonValue* repos = entry.Find("repositories");
      for (const JsonValue& r : repos != nullptr ? repos->AsArray() : JsonValue::Array{}) {
        const JsonValue* n = r.Find("count");
        repositories[r.GetString("repository")] += n != nullptr ? n->AsNumber() : 0;
      }
    }
    if (tally.causes.AsArray().size() < kTopCauses) {
      JsonValue item = JsonValue::EmptyObject();
      item.Set("cause", JsonValue::String(name));
      item.Set("count", JsonValue::Number(count));
      item.Set("severity", JsonValue::String(entry.GetString("severity")));
      tally.causes.Append(std::move(item));
    }
  }
  if (tally.focus.empty()) {  // "any" or no cause: examples of the most frequent causes
    for (const JsonValue& entry : tally.causes.AsArray()) {
      if (tally.focus.size() < 3) tally.focus.push_back(entry.GetString("cause"));
    }
  }
  tally.repositories.assign(repositories.begin(), repositories.end());
  std::stable_sort(tally.repositories.begin(), tally.repositories.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (tally.repositories.size() > kTopRepositories) tally.repositories.resize(kTopRepositories);
  return tally;
}

// The store's own view and the upload latencies, over the same range, into `detail`; returns
// the annotations' texts (store errors, latency).
std::pair<std::string, std::string> EnrichmentBuilder::StoreAndLatency(const WindowNumbers& numbers,
                                                                       JsonValue* detail) {
  JsonValue store = JsonValue::EmptyArray();
  std::string store_text;
  for (size_t i = 0; i < numbers.store_errors.size() && i < kTopStoreErrors; ++i) {
    const auto& [what, count] = numbers.store_errors[i];
    JsonValue item = JsonValue::EmptyObject();
    item.Set("operation_code", JsonValue::String(what));
    item.Set("count", JsonValue::Number(count));
    store.Append(std::move(item));
    store_text += (store_text.empty() ? "" : ", ") + what + " (" + CountText(count) + ")";
  }
  detail->Set("store_errors", std::move(store));
  const double c2v50 = numbers.Quantile(kCreateToVisibleFamily, 0.5);
  const double c2v99 = numbers.Quantile(kCreateToVisibleFamily, 0.99);
  const double unsafe99 = numbers.Quantile(kUnsafeWindowFamily, 0.99);
  const double gap05 = numbers.Quantile(kClientGapFamily, 0.05);
  const double gap50 = numbers.Quantile(kClientGapFamily, 0.5);
  const double measured = numbers.Count(kClientGapFamily);
  JsonValue latency = JsonValue::EmptyObject();
  latency.Set("since", JsonValue::String(FormatRfc3339Nanos(numbers.from_ns)));
  latency.Set("create_to_visible_p50_seconds", Seconds(c2v50));
  latency.Set("create_to_visible_p99_seconds", Seconds(c2v99));
  latency.Set("unsafe_window_p99_seconds", Seconds(unsafe99));
  latency.Set("client_gap_p5_seconds", Seconds(gap05));
  latency.Set("client_gap_p50_seconds", Seconds(gap50));
  latency.Set("uploads_measured", JsonValue::Number(measured));
  detail->Set("latency", std::move(latency));
  return {store_text.empty() ? "none" : store_text,
          "create-to-visible p50 " + FormatSeconds(c2v50) + " p99 " + FormatSeconds(c2v99) +
              "; unsafe window p99 " + FormatSeconds(unsafe99) + "; client gap p5 " +
              FormatSeconds(gap05) + " p50 " + FormatSeconds(gap50) + " (" + CountText(measured) +
              " uploads since " + ClockOf(FormatRfc3339Nanos(numbers.from_ns)) + ")"};
}

// rca_example_upload[_2] and rca_example_timeline (the first example's events, compact).
void EnrichmentBuilder::AnnotateExamples(const JsonValue& examples, AlertEnrichment* out) {
  for (size_t i = 0; i < examples.AsArray().size(); ++i) {
    const JsonValue& example = examples.AsArray()[i];
    const std::string key =
        i == 0 ? "rca_example_upload" : "rca_example_upload_" + std::to_string(i + 1);
    out->annotations.emplace_back(
        key, Truncate(example.GetString("upload_uuid") + " (" + example.GetString("repository") +
                      ", " + example.GetString("outcome") + "): " + example.GetString("verdict")));
    if (i > 0) continue;
    std::string timeline;
    const JsonValue* events = example.Find("events");
    for (const JsonValue& event : events != nullptr ? events->AsArray() : JsonValue::Array{}) {
      // "store create_multipart data 200" already names its side; "POST 202" does not.
      const std::string side = event.GetString("side");
      std::string what = event.GetString("what");
      if (what.rfind(side + " ", 0) != 0) what = side + " " + what;
      timeline += (timeline.empty() ? "" : "; ") + ClockOf(event.GetString("time")) + " " + what;
    }
    out->annotations.emplace_back("rca_example_timeline", Truncate(timeline));
  }
}

// Errors no rule names, grouped by their masked message (RecentErrors' templates): what a new
// failure mode looks like, and `registry-rca rules suggest` turns one into a rule.
void EnrichmentBuilder::AnnotateTemplates(const Window& window, AlertEnrichment* out) const {
  JsonValue templates = JsonValue::EmptyArray();
  std::string text;
  for (const JsonValue& entry : window.causes->Find("causes")->AsArray()) {
    if (entry.GetString("cause") != rules::RuleSet::kUnclassified) continue;
    const JsonValue* found = entry.Find("templates");
    if (found == nullptr || !found->is_array()) break;
    for (const JsonValue& item : found->AsArray()) {
      templates.Append(item);
      const JsonValue* count = item.Find("count");
      text += (text.empty() ? "" : "; ") +
              CountText(count != nullptr && count->is_number() ? count->AsNumber() : 0) + "x " +
              item.GetString("template");
    }
    break;
  }
  out->annotations.emplace_back("rca_unclassified_templates",
                                Truncate(text.empty() ? "none" : text));
  out->detail.Set("unclassified_templates", std::move(templates));
}

StatusOr<AlertEnrichment> EnrichmentBuilder::Build(const JsonValue& alert) {
  const JsonValue* labels_value = alert.Find("labels");
  const JsonValue labels = labels_value != nullptr ? *labels_value : JsonValue::EmptyObject();
  const std::string cause = labels.GetString("cause");
  int64_t from_ns = now_ns_ - static_cast<int64_t>(config_.min_window_seconds * 1e9);
  const int64_t starts_ns = ParseTime(alert.GetString("startsAt"));
  if (starts_ns > 0 && starts_ns < from_ns) from_ns = starts_ns;
  StatusOr<const Window*> found = WindowFor(from_ns);
  if (!found.ok()) return found.status();
  const Window& window = *found.value();
  const Tally tally = Count(window, cause);

  AlertEnrichment out;
  JsonValue& detail = out.detail;
  detail.Set("fingerprint", JsonValue::String(alert.GetString("fingerprint")));
  detail.Set("alertname", JsonValue::String(labels.GetString("alertname")));
  detail.Set("cause", JsonValue::String(cause));
  JsonValue range = JsonValue::EmptyObject();
  range.Set("from", JsonValue::String(FormatRfc3339Nanos(window.from_ns)));
  range.Set("to", JsonValue::String(FormatRfc3339Nanos(now_ns_)));
  range.Set("seconds", JsonValue::Integer(window.since_ns / kNanosPerSecond));
  range.Set("log_time_until", JsonValue::String(window.causes->GetString("until")));
  const JsonValue* truncated = window.causes->Find("truncated");
  range.Set("truncated", JsonValue::Bool(truncated != nullptr && truncated->AsBool()));
  detail.Set("window", std::move(range));
  detail.Set("errors_total", JsonValue::Number(tally.total));
  detail.Set("errors_of_cause", JsonValue::Number(tally.focused));
  detail.Set("causes", tally.causes);
  JsonValue repos = JsonValue::EmptyArray();
  std::string repos_text;
  for (const auto& [name, count] : tally.repositories) {
    JsonValue item = JsonValue::EmptyObject();
    item.Set("repository", JsonValue::String(name));
    item.Set("count", JsonValue::Number(count));
    repos.Append(std::move(item));
    repos_text += (repos_text.empty() ? "" : ", ") + name + " (" + CountText(count) + ")";
  }
  detail.Set("top_repositories", std::move(repos));
  const auto [store_text, latency_text] = StoreAndLatency(window.numbers, &detail);
  std::vector<std::string> uuids;
  JsonValue examples = Examples(tally.focus, window, &uuids);
  const std::string top = tally.repositories.empty() ? "" : tally.repositories.front().first;
  detail.Set("links", Links(labels, cause, window, top, uuids));

  // The short strings, for receivers that only show annotations.
  const bool one_cause = IsCauseId(cause) && cause != "any";
  std::string summary = (one_cause ? cause : "all causes") + ": " + CountText(tally.focused) +
                        " error responses in the last " +
                        FormatSeconds(static_cast<double>(window.since_ns) / 1e9);
  if (tally.total > 0) {
    summary += " (" + CountText(100 * tally.focused / tally.total) + "% of " +
               CountText(tally.total) + ")";
  }
  if (!top.empty())
    summary += "; top " + top + " (" + CountText(tally.repositories[0].second) + ")";
  const JsonValue& latency = *detail.Find("latency");
  const double c2v99 = latency.Find("create_to_visible_p99_seconds")->is_number()
                           ? latency.Find("create_to_visible_p99_seconds")->AsNumber()
                           : -1;
  const double gap05 = latency.Find("client_gap_p5_seconds")->is_number()
                           ? latency.Find("client_gap_p5_seconds")->AsNumber()
                           : -1;
  if (c2v99 >= 0 || gap05 >= 0) {
    summary += "; create-to-visible p99 " + FormatSeconds(c2v99) + " vs client gap p5 " +
               FormatSeconds(gap05);
  }
  auto& a = out.annotations;
  a.emplace_back("rca_summary", Truncate(summary + "."));
  std::string causes_text;
  for (const JsonValue& entry : tally.causes.AsArray()) {
    causes_text += (causes_text.empty() ? "" : ", ") + entry.GetString("cause") + " " +
                   CountText(entry.Find("count")->AsNumber());
  }
  a.emplace_back("rca_causes", Truncate(causes_text.empty() ? "none" : causes_text));
  a.emplace_back("rca_top_repositories", Truncate(repos_text.empty() ? "none" : repos_text));
  a.emplace_back("rca_store_errors", Truncate(store_text));
  a.emplace_back("rca_latency", Truncate(latency_text));
  AnnotateExamples(examples, &out);
  if (cause == rules::RuleSet::kUnclassified) AnnotateTemplates(window, &out);
  const JsonValue& links = *detail.Find("links");
  if (const JsonValue* url = links.Find("dashboard"))
    a.emplace_back("rca_dashboard_url", url->AsString());
  if (const JsonValue* url = links.Find("runbook"))
    a.emplace_back("rca_runbook_url", url->AsString());
  if (const JsonValue* urls = links.Find("explain"); urls && !urls->AsArray().empty()) {
    a.emplace_back("rca_explain_url", urls->AsArray().front().AsString());
  }
  detail.Set("examples", std::move(examples));
  return out;
}

}  // namespace rrca::exporter
