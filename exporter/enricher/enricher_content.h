#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "exporter/enricher/enricher_config.h"
#include "exporter/enricher/enricher_history.h"

// What the alert enricher attaches to one alert: counts by cause, top repositories, the store's
// error codes, latency quantiles, example upload timelines and links, all over the alert's time
// range. Built from callbacks into the daemon, so this file knows nothing of its locks.
namespace rrca::enricher {

// What the daemon lends the enricher. Each callback takes the daemon's processing lock itself and
// returns a copy; any may be empty, and that part of the enrichment is then left out.
struct EnricherSources {
  // GET /api/v1/causes' answer over the last `since_ns` of log time (RecentErrors::Causes), as
  // the value: the enricher reads it in place, nothing is serialised and parsed again.
  std::function<Json(int64_t since_ns)> causes_json;
  // GET /api/v1/uploads/<uuid>'s answer (UploadCorrelator::Explain with the hops); nullopt when
  // unknown.
  std::function<std::optional<Json>(std::string_view upload_uuid)> explain_json;
  // Upload UUIDs of the most recent errors of `cause` in the window, newest first, distinct,
  // at most `max` (RecentErrors::ExampleUploads). Empty function: the causes JSON's one example
  // per cause is used instead.
  std::function<std::vector<std::string>(std::string_view cause, int64_t since_ns, size_t max)>
      example_uploads;
  // The daemon's metric families (prometheus::Registry::Collect), for windowed store error
  // codes and latency quantiles.
  std::function<std::vector<prometheus::MetricFamily>()> collect;
};

// One alert's enrichment: short annotations (rca_*) and the detailed object.
struct AlertEnrichment {
  std::vector<std::pair<std::string, std::string>> annotations;
  Json detail;
};

// Builds enrichments for the alerts of one notification. Caches what the daemon said per window
// length, so a group of alerts with the same range costs one look-up. A causes answer without
// its `causes` list is an error: the caller then forwards the original.
class EnrichmentBuilder {
 public:
  EnrichmentBuilder(const EnricherConfig& config, const EnricherSources& sources,
                    const MetricHistory& history, int64_t now_ns);

  StatusOr<AlertEnrichment> Build(const Json& alert);

  // "1.5s", "230ms", "12m" (for annotations).
  static std::string FormatSeconds(double seconds);

 private:
  struct Window {
    int64_t from_ns = 0;
    int64_t since_ns = 0;
    StatusOr<Json> causes = Json();
    WindowNumbers numbers;
  };
  // Counts by cause and the top repositories of the alert's cause (or of all: "any", none).
  struct Tally {
    double total = 0, focused = 0;
    Json causes;                                               // [{cause, count, severity}]
    std::vector<std::pair<std::string, double>> repositories;  // most first
    std::vector<std::string> focus;                            // causes to take examples of
  };
  StatusOr<const Window*> WindowFor(int64_t from_ns);
  Tally Count(const Window& window, const std::string& cause) const;
  static std::pair<std::string, std::string> StoreAndLatency(const WindowNumbers& numbers,
                                                             Json* detail);
  static void AnnotateExamples(const Json& examples, AlertEnrichment* out);
  void AnnotateTemplates(const Window& window, AlertEnrichment* out) const;
  Json Examples(const std::vector<std::string>& focus, const Window& window,
                std::vector<std::string>* uuids);
  Json Links(const Json& labels, const std::string& cause, const Window& window,
             const std::string& top_repository, const std::vector<std::string>& uuids) const;

  const EnricherConfig& config_;
  const EnricherSources& sources_;
  const MetricHistory& history_;
  int64_t now_ns_;
  std::optional<MetricSample> current_;
  std::map<int64_t, Window> windows_;  // by since_ns
};

}  // namespace rrca::enricher
