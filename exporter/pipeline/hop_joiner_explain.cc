#include "exporter/pipeline/hop_joiner_explain.h"

#include <cmath>

#include "common/time_util.h"

namespace rrca::pipeline {
namespace {

// Seconds rounded to microseconds: the text API always printed six decimals.
Json HopSeconds(double seconds) { return JsonNumber(std::round(seconds * 1e6) / 1e6); }

// When the upload's POST reached the registry: the first registry event of the explain JSON
// whose "what" is a POST (0 when none).
int64_t PostTime(const Json& explain) {
  for (const Json& event : JsonArray(JsonFind(explain, "events"))) {
    if (JsonString(event, "side") != "registry" ||
        !JsonString(event, "what").starts_with("POST ")) {
      continue;
    }
    int64_t time_ns = 0;
    if (ParseRfc3339(JsonString(event, "time"), &time_ns)) return time_ns;
  }
  return 0;
}

}  // namespace

void AddHops(std::string_view uuid, const HopJoiner& joiner, const rules::RuleSet& rules,
             Json* explain) {
  if (!explain->is_object()) return;
  Json hops = Json::array();
  if (const std::deque<HopJoiner::HopRecord>* records = joiner.HistoryOf(uuid)) {
    const int64_t post_ns = PostTime(*explain);
    for (const HopJoiner::HopRecord& record : *records) {
      Json hop = Json::object();
      hop["hop"] = HopName(record.hop);
      hop["time"] = FormatRfc3339Nanos(record.time_ns);
      if (post_ns != 0 && record.time_ns != 0) {
        hop["offset_seconds"] = HopSeconds(NanosToSeconds(record.time_ns - post_ns));
      }
      hop["method"] = record.method;
      hop["uri"] = record.uri;
      hop["status"] = record.status;
      hop["duration_seconds"] =
          record.duration_ns >= 0 ? HopSeconds(NanosToSeconds(record.duration_ns)) : Json(nullptr);
      if (record.counted) {
        const JoinedRequest request = record.AsRequest();
        hop["cause"] = rules.CauseName(rules.Classify(request).cause_id);
      } else {
        hop["cause"] = nullptr;
      }
      hop["source"] = record.source;
      hop["line"] = record.line;
      hops.push_back(std::move(hop));
    }
  }
  (*explain)["hops"] = std::move(hops);
}

}  // namespace rrca::pipeline
