#include "exporter/pipeline/hop_joiner_explain.h"

#include <cstdio>

#include "common/json.h"
#include "common/json_escape.h"
#include "common/time_util.h"

namespace rrca::exporter {
namespace {

std::string Seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6f", seconds);
  return text;
}

// When the upload's POST reached the registry: the first registry event of the explain JSON
// whose "what" is a POST (0 when none).
int64_t PostTime(std::string_view explain) {
  StatusOr<Json> parsed = ParseJson(explain);
  if (!parsed.ok()) return 0;
  const Json* events = JsonFind(parsed.value(), "events");
  if (events == nullptr) return 0;
  for (const Json& event : JsonArray(*events)) {
    if (JsonString(event, "side") != "registry" ||
        !JsonString(event, "what").starts_with("POST ")) {
      continue;
    }
    int64_t time_ns = 0;
    if (ParseRfc3339(JsonString(event, "time"), &time_ns)) return time_ns;
  }
  return 0;
}

void AppendString(std::string_view key, std::string_view value, std::string* out) {
  *out += ",\"";
  *out += key;
  *out += "\":\"";
  AppendJsonEscaped(value, out);
  *out += "\"";
}

}  // namespace

std::string ExplainWithHops(std::string explain, std::string_view uuid, const HopJoiner& joiner,
                            const rules::RuleSet& rules) {
  while (!explain.empty() && (explain.back() == '\n' || explain.back() == ' ')) explain.pop_back();
  if (explain.empty() || explain.back() != '}') return explain;
  const std::deque<HopJoiner::HopRecord>* records = joiner.HistoryOf(uuid);
  std::string hops = ",\"hops\":[";
  if (records != nullptr) {
    const int64_t post_ns = PostTime(explain);
    bool first = true;
    for (const HopJoiner::HopRecord& record : *records) {
      if (!first) hops += ",";
      first = false;
      hops += "{\"hop\":\"";
      hops += HopName(record.hop);
      hops += "\"";
      AppendString("time", FormatRfc3339Nanos(record.time_ns), &hops);
      if (post_ns != 0 && record.time_ns != 0) {
        hops += ",\"offset_seconds\":" + Seconds(NanosToSeconds(record.time_ns - post_ns));
      }
      AppendString("method", record.method, &hops);
      AppendString("uri", record.uri, &hops);
      hops += ",\"status\":" + std::to_string(record.status);
      hops += ",\"duration_seconds\":";
      hops += record.duration_ns >= 0 ? Seconds(NanosToSeconds(record.duration_ns)) : "null";
      if (record.counted) {
        const JoinedRequest request = record.AsRequest();
        AppendString("cause", rules.CauseName(rules.Classify(request).cause_id), &hops);
      } else {
        hops += ",\"cause\":null";
      }
      AppendString("source", record.source, &hops);
      AppendString("line", record.line, &hops);
      hops += "}";
    }
  }
  hops += "]";
  size_t last = explain.size() - 1;
  while (last > 0 && (explain[last - 1] == ' ' || explain[last - 1] == '\n')) --last;
  if (last > 0 && explain[last - 1] == '{') hops.erase(0, 1);  // an empty object: no comma
  explain.insert(explain.size() - 1, hops);
  return explain;
}

}  // namespace rrca::exporter
