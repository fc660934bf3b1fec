// Fuzzes the alert enricher's input (POST /api/v1/alerts): ParseJson with the enricher's limits
// on an arbitrary body, then, for a JSON value, what the enricher does with it before any
// lookup: CheckPayload, FingerprintOf and UpdateCommonAnnotations on an Alertmanager-shaped
// payload, and EnrichmentBuilder::Build on its alerts with no daemon behind (every callback
// empty). Checked: a parse error says where ("byte N: ..."); a parsed value serializes to JSON
// that parses back to the same value (so what the enricher forwards is what it read); Build
// never throws. Seeds: fuzz/corpus/alert_payload/. Dictionary: json.dict.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/json.h"
#include "exporter/app/config.h"
#include "exporter/enricher/enricher_content.h"
#include "exporter/enricher/enricher_history.h"
#include "exporter/enricher/enricher_payload.h"
#include "exporter/web/http_server.h"
#include "fuzz/fuzz_util.h"

namespace {

using rrca::Json;

rrca::JsonLimits EnricherLimits() {
  rrca::JsonLimits limits;  // as Enricher::Handle sets them
  limits.max_bytes = rrca::web::HttpServer::kMaxBodyBytes;
  limits.max_values = 250'000;
  return limits;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = rrca::ParseJson(body, EnricherLimits());
  if (!parsed.ok()) {
    RRCA_FUZZ_CHECK(parsed.status().message().starts_with("byte "));
    return 0;
  }
  Json payload = std::move(parsed.value());
  const std::string text = rrca::DumpJson(payload);
  auto again = rrca::ParseJson(text, EnricherLimits());
  RRCA_FUZZ_CHECK(again.ok());
  RRCA_FUZZ_CHECK(again.value() == payload);
  RRCA_FUZZ_CHECK(rrca::DumpJson(again.value()) == text);

  if (!rrca::enricher::CheckPayload(payload).empty()) return 0;
  const Json& alerts = rrca::JsonArray(rrca::JsonFind(payload, "alerts"));
  rrca::enricher::EnricherConfig config;
  rrca::enricher::EnricherSources sources;  // no daemon: every part that needs one is left out
  const int64_t now_ns = 1'800'000'000'000'000'000;
  rrca::enricher::MetricHistory history(now_ns - 3'600'000'000'000);
  rrca::enricher::EnrichmentBuilder builder(config, sources, history, now_ns);
  size_t built = 0;
  for (const Json& alert : alerts) {
    rrca::fuzz::Touch(rrca::enricher::FingerprintOf(alert));
    if (built++ < 4) {
      auto enrichment = builder.Build(alert);
      if (enrichment.ok()) rrca::fuzz::Touch(rrca::DumpJson(enrichment.value().detail));
    }
  }
  rrca::enricher::UpdateCommonAnnotations(&payload);
  RRCA_FUZZ_CHECK(rrca::enricher::CheckPayload(payload).empty());
  return 0;
}
