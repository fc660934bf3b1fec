#include "exporter/enricher/enricher_content.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "common/codecs.h"
#include "common/json_escape.h"
#include "common/time_util.h"
#include "rules/rule_set.h"

namespace rrca::enricher {
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
void DropRawLines(Json* explain) {
  for (const char* list : {"events", "hops"}) {
    Json* items = JsonFind(*explain, list);
    if (items == nullptr || !items->is_array()) continue;
    for (Json& item : *items) {
      if (item.is_object()) item.erase("line");
    }
  }
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

Json Seconds(double value) { return value < 0 ? Json() : JsonNumber(value); }

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
      window.causes = sources_.causes_json(since_ns);
      if (!JsonFind(window.causes.value(), "causes")) {
        window.causes = Status::Corruption("the causes JSON has no `causes`");
      }
    } else {
      window.causes = Json::object();
      window.causes.value()["causes"] = Json::array();
    }
    if (sources_.collect) {
      if (!current_.has_value()) current_ = SampleOf(now_ns_, sources_.collect());
      window.numbers = history_.Window(window.from_ns, *current_);
    }
  }
  if (!window.causes.ok()) return window.causes.status().Prefixed("causes: ");
  return &window;
}

Json EnrichmentBuilder::Examples(const std::vector<std::string>& focus, const Window& window,
                                 std::vector<std::string>* uuids) {
  std::vector<std::string> candidates;
  for (const std::string& cause : focus) {
    if (sources_.example_uploads) {
      for (std::string& uuid : sources_.example_uploads(cause, window.since_ns, kExplainAttempts)) {
        candidates.push_back(std::move(uuid));
      }
    }
    for (const Json& entry : JsonArray(window.causes->at("causes"))) {
      if (JsonString(entry, "cause") != cause) continue;
      const Json* example = JsonFind(entry, "example");
      if (example != nullptr) candidates.push_back(JsonString(*example, "upload_uuid"));
    }
  }
  // The newest uploads first, but an upload the correlator has decided, with the store's side of
  // it, explains more than one whose store lines have not arrived yet.
  std::vector<std::pair<int, Json>> explained;  // (score, explain JSON)
  std::set<std::string> tried;
  for (const std::string& uuid : candidates) {
    if (!sources_.explain_json || tried.size() >= kExplainAttempts) break;
    if (uuid.empty() || !tried.insert(uuid).second) continue;
    std::optional<Json> explain = sources_.explain_json(uuid);
    if (!explain.has_value() || !explain->is_object()) continue;
    const std::string outcome = JsonString(*explain, "outcome");
    std::set<std::string> sides;
    for (const Json& event : JsonArray(JsonFind(*explain, "events"))) {
      sides.insert(JsonString(event, "side"));
    }
    const int score = (outcome.empty() || outcome == "open" ? 0 : 2) + (sides.size() > 1 ? 1 : 0);
    explained.emplace_back(score, std::move(*explain));
  }
  std::stable_sort(explained.begin(), explained.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  Json examples = Json::array();
  for (auto& [score, example] : explained) {
    if (JsonArray(examples).size() >= kExamples) break;
    uuids->push_back(JsonString(example, "upload_uuid"));
    DropRawLines(&example);
    examples.push_back(std::move(example));
  }
  return examples;
}

Json EnrichmentBuilder::Links(const Json& labels, const std::string& cause, const Window& window,
                              const std::string& top_repository,
                              const std::vector<std::string>& uuids) const {
  Json links = Json::object();
  const std::string range = "&from=" + std::to_string(window.from_ns / 1'000'000) +
                            "&to=" + std::to_string(now_ns_ / 1'000'000);
  std::string variables;
  if (const std::string cluster = JsonString(labels, "cluster"); !cluster.empty()) {
    variables += "&var-cluster=" + PercentEncode(cluster, /*keep_slash=*/false);
  }
  if (IsCauseId(cause) && cause != "any")
    variables += "&var-cause=" + PercentEncode(cause, /*keep_slash=*/false);
  if (!config_.dashboard_base_url.empty()) {
    std::string overview = config_.dashboard_base_url +
                           "/d/registry-rca-overview/registry-rca-overview?orgId=1" + variables +
                           range;
    links["dashboard"] = Json(std::move(overview));
    if (!top_repository.empty()) {
      links["repository_dashboard"] =
          config_.dashboard_base_url +
          "/d/registry-rca-repository/registry-rca-repository?orgId=1" + variables +
          "&var-repository=" + PercentEncode(top_repository, /*keep_slash=*/false) + range;
    }
  }
  if (!config_.runbook_base_url.empty() && IsCauseId(cause)) {
    const std::string anchor = cause == "any" ? "registry_5xx_ratio" : cause;
    links["runbook"] = Json(config_.runbook_base_url + "#" + anchor);
  }
  if (!config_.external_url.empty()) {
    links["causes"] = Json(config_.external_url + "/api/v1/causes?since=" +
                           std::to_string(window.since_ns / kNanosPerSecond) + "s");
    Json explain = Json::array();
    for (const std::string& uuid : uuids) {
      explain.push_back(Json(config_.external_url + "/api/v1/uploads/" +
                             PercentEncode(uuid, /*keep_slash=*/false)));
    }
    links["explain"] = std::move(explain);
  }
  return links;
}

EnrichmentBuilder::Tally EnrichmentBuilder::Count(const Window& window,
                                                  const std::string& cause) const {
  Tally tally;
  tally.causes = Json::array();
  if (IsCauseId(cause) && cause != "any") tally.focus.push_back(cause);
  std::map<std::string, double> repositories;
  for (const Json& entry : JsonArray(window.causes->at("causes"))) {
    const std::string name = JsonString(entry, "cause");
    const Json* count_value = JsonFind(entry, "count");
    const double count = count_value != nullptr ? JsonAsNumber(*count_value) : 0;
    tally.total += count;
    if (tally.focus.empty() || name == cause) {
      tally.focused += count;
      const Json* repos = JsonFind(entry, "repositories");
      for (const Json& r : JsonArray(repos)) {
        const Json* n = JsonFind(r, "count");
        repositories[JsonString(r, "repository")] += n != nullptr ? JsonAsNumber(*n) : 0;
      }
    }
    if (JsonArray(tally.causes).size() < kTopCauses) {
      Json item = Json::object();
      item["cause"] = Json(name);
      item["count"] = JsonNumber(count);
      item["severity"] = Json(JsonString(entry, "severity"));
      tally.causes.push_back(std::move(item));
    }
  }
  if (tally.focus.empty()) {  // "any" or no cause: examples of the most frequent causes
    for (const Json& entry : JsonArray(tally.causes)) {
      if (tally.focus.size() < 3) tally.focus.push_back(JsonString(entry, "cause"));
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
                                                                       Json* detail) {
  Json store = Json::array();
  std::string store_text;
  for (size_t i = 0; i < numbers.store_errors.size() && i < kTopStoreErrors; ++i) {
    const auto& [what, count] = numbers.store_errors[i];
    Json item = Json::object();
    item["operation_code"] = Json(what);
    item["count"] = JsonNumber(count);
    store.push_back(std::move(item));
    store_text += (store_text.empty() ? "" : ", ") + what + " (" + CountText(count) + ")";
  }
  (*detail)["store_errors"] = std::move(store);
  const double c2v50 = numbers.Quantile(kCreateToVisibleFamily, 0.5);
  const double c2v99 = numbers.Quantile(kCreateToVisibleFamily, 0.99);
  const double unsafe99 = numbers.Quantile(kUnsafeWindowFamily, 0.99);
  const double gap05 = numbers.Quantile(kClientGapFamily, 0.05);
  const double gap50 = numbers.Quantile(kClientGapFamily, 0.5);
  const double measured = numbers.Count(kClientGapFamily);
  Json latency = Json::object();
  latency["since"] = Json(FormatRfc3339Nanos(numbers.from_ns));
  latency["create_to_visible_p50_seconds"] = Seconds(c2v50);
  latency["create_to_visible_p99_seconds"] = Seconds(c2v99);
  latency["unsafe_window_p99_seconds"] = Seconds(unsafe99);
  latency["client_gap_p5_seconds"] = Seconds(gap05);
  latency["client_gap_p50_seconds"] = Seconds(gap50);
  latency["uploads_measured"] = JsonNumber(measured);
  (*detail)["latency"] = std::move(latency);
  return {store_text.empty() ? "none" : store_text,
          "create-to-visible p50 " + FormatSeconds(c2v50) + " p99 " + FormatSeconds(c2v99) +
              "; unsafe window p99 " + FormatSeconds(unsafe99) + "; client gap p5 " +
              FormatSeconds(gap05) + " p50 " + FormatSeconds(gap50) + " (" + CountText(measured) +
              " uploads since " + ClockOf(FormatRfc3339Nanos(numbers.from_ns)) + ")"};
}

// rca_example_upload[_2] and rca_example_timeline (the first example's events, compact).
void EnrichmentBuilder::AnnotateExamples(const Json& examples, AlertEnrichment* out) {
  for (size_t i = 0; i < JsonArray(examples).size(); ++i) {
    const Json& example = JsonArray(examples)[i];
    const std::string key =
        i == 0 ? "rca_example_upload" : "rca_example_upload_" + std::to_string(i + 1);
    out->annotations.emplace_back(
        key,
        Truncate(JsonString(example, "upload_uuid") + " (" + JsonString(example, "repository") +
                 ", " + JsonString(example, "outcome") + "): " + JsonString(example, "verdict")));
    if (i > 0) continue;
    std::string timeline;
    const Json* events = JsonFind(example, "events");
    for (const Json& event : JsonArray(events)) {
      // "store create_multipart data 200" already names its side; "POST 202" does not.
      const std::string side = JsonString(event, "side");
      std::string what = JsonString(event, "what");
      if (what.rfind(side + " ", 0) != 0) what = side + " " + what;
      timeline += (timeline.empty() ? "" : "; ") + ClockOf(JsonString(event, "time")) + " " + what;
    }
    out->annotations.emplace_back("rca_example_timeline", Truncate(timeline));
  }
}

// Errors no rule names, grouped by their masked message (RecentErrors' templates): what a new
// failure mode looks like, and `registry-rca rules suggest` turns one into a rule.
void EnrichmentBuilder::AnnotateTemplates(const Window& window, AlertEnrichment* out) const {
  Json templates = Json::array();
  std::string text;
  for (const Json& entry : JsonArray(window.causes->at("causes"))) {
    if (JsonString(entry, "cause") != rules::RuleSet::kUnclassified) continue;
    const Json* found = JsonFind(entry, "templates");
    if (found == nullptr || !found->is_array()) break;
    for (const Json& item : JsonArray(*found)) {
      templates.push_back(item);
      const Json* count = JsonFind(item, "count");
      text += (text.empty() ? "" : "; ") +
              CountText(count != nullptr && count->is_number() ? JsonAsNumber(*count) : 0) + "x " +
              JsonString(item, "template");
    }
    break;
  }
  out->annotations.emplace_back("rca_unclassified_templates",
                                Truncate(text.empty() ? "none" : text));
  out->detail["unclassified_templates"] = std::move(templates);
}

StatusOr<AlertEnrichment> EnrichmentBuilder::Build(const Json& alert) {
  const Json* labels_value = JsonFind(alert, "labels");
  const Json labels = labels_value != nullptr ? *labels_value : Json::object();
  const std::string cause = JsonString(labels, "cause");
  int64_t from_ns = now_ns_ - static_cast<int64_t>(config_.min_window_seconds * 1e9);
  const int64_t starts_ns = ParseTime(JsonString(alert, "startsAt"));
  if (starts_ns > 0 && starts_ns < from_ns) from_ns = starts_ns;
  StatusOr<const Window*> found = WindowFor(from_ns);
  if (!found.ok()) return found.status();
  const Window& window = *found.value();
  const Tally tally = Count(window, cause);

  AlertEnrichment out;
  Json& detail = out.detail;
  detail["fingerprint"] = Json(JsonString(alert, "fingerprint"));
  detail["alertname"] = Json(JsonString(labels, "alertname"));
  detail["cause"] = Json(cause);
  Json range = Json::object();
  range["from"] = Json(FormatRfc3339Nanos(window.from_ns));
  range["to"] = Json(FormatRfc3339Nanos(now_ns_));
  range["seconds"] = Json(window.since_ns / kNanosPerSecond);
  range["log_time_until"] = Json(JsonString(window.causes.value(), "until"));
  const Json* truncated = JsonFind(window.causes.value(), "truncated");
  range["truncated"] = Json(truncated != nullptr && JsonAsBool(*truncated));
  detail["window"] = std::move(range);
  detail["errors_total"] = JsonNumber(tally.total);
  detail["errors_of_cause"] = JsonNumber(tally.focused);
  detail["causes"] = tally.causes;
  Json repos = Json::array();
  std::string repos_text;
  for (const auto& [name, count] : tally.repositories) {
    Json item = Json::object();
    item["repository"] = Json(name);
    item["count"] = JsonNumber(count);
    repos.push_back(std::move(item));
    repos_text += (repos_text.empty() ? "" : ", ") + name + " (" + CountText(count) + ")";
  }
  detail["top_repositories"] = std::move(repos);
  const auto [store_text, latency_text] = StoreAndLatency(window.numbers, &detail);
  std::vector<std::string> uuids;
  Json examples = Examples(tally.focus, window, &uuids);
  const std::string top = tally.repositories.empty() ? "" : tally.repositories.front().first;
  detail["links"] = Links(labels, cause, window, top, uuids);

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
  const Json& latency = *JsonFind(detail, "latency");
  const double c2v99 = JsonFind(latency, "create_to_visible_p99_seconds")->is_number()
                           ? JsonAsNumber(*JsonFind(latency, "create_to_visible_p99_seconds"))
                           : -1;
  const double gap05 = JsonFind(latency, "client_gap_p5_seconds")->is_number()
                           ? JsonAsNumber(*JsonFind(latency, "client_gap_p5_seconds"))
                           : -1;
  if (c2v99 >= 0 || gap05 >= 0) {
    summary += "; create-to-visible p99 " + FormatSeconds(c2v99) + " vs client gap p5 " +
               FormatSeconds(gap05);
  }
  auto& a = out.annotations;
  a.emplace_back("rca_summary", Truncate(summary + "."));
  std::string causes_text;
  for (const Json& entry : JsonArray(tally.causes)) {
    causes_text += (causes_text.empty() ? "" : ", ") + JsonString(entry, "cause") + " " +
                   CountText(JsonAsNumber(*JsonFind(entry, "count")));
  }
  a.emplace_back("rca_causes", Truncate(causes_text.empty() ? "none" : causes_text));
  a.emplace_back("rca_top_repositories", Truncate(repos_text.empty() ? "none" : repos_text));
  a.emplace_back("rca_store_errors", Truncate(store_text));
  a.emplace_back("rca_latency", Truncate(latency_text));
  AnnotateExamples(examples, &out);
  if (cause == rules::RuleSet::kUnclassified) AnnotateTemplates(window, &out);
  const Json& links = *JsonFind(detail, "links");
  if (const Json* url = JsonFind(links, "dashboard"))
    a.emplace_back("rca_dashboard_url", JsonAsString(*url));
  if (const Json* url = JsonFind(links, "runbook"))
    a.emplace_back("rca_runbook_url", JsonAsString(*url));
  if (const Json* urls = JsonFind(links, "explain"); urls && !JsonArray(*urls).empty()) {
    a.emplace_back("rca_explain_url", JsonAsString(JsonArray(*urls).front()));
  }
  detail["examples"] = std::move(examples);
  return out;
}

}  // namespace rrca::enricher
