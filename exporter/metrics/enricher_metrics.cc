#include "exporter/metrics/enricher_metrics.h"

namespace rrca::metrics {
namespace {

prometheus::Counter& Counter(prometheus::Registry& registry, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Gauge& Gauge(prometheus::Registry& registry, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Family<prometheus::Counter>& CounterFamily(prometheus::Registry& registry,
                                                       const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

}  // namespace

DedupeCacheMetrics::DedupeCacheMetrics(prometheus::Registry& registry)
    : groups(Gauge(registry, "registry_rca_enricher_dedupe_cache_groups",
                   "Group keys in the enricher's burst-dedupe cache.")),
      alerts(Gauge(registry, "registry_rca_enricher_dedupe_cache_alerts",
                   "Alert enrichments in the enricher's burst-dedupe cache.")),
      bytes(Gauge(registry, "registry_rca_enricher_dedupe_cache_bytes",
                  "Estimated bytes held by the enricher's burst-dedupe cache.")) {
  auto& family = CounterFamily(registry, "registry_rca_enricher_dedupe_cache_evictions_total",
                               "Alert enrichments dropped from the burst-dedupe cache before their "
                               "window ended, by the bound reached: groups, per_group, bytes.");
  evictions[kGroups] = &family.Add({{"reason", "groups"}});
  evictions[kPerGroup] = &family.Add({{"reason", "per_group"}});
  evictions[kBytes] = &family.Add({{"reason", "bytes"}});
}

EnricherMetrics::EnricherMetrics(prometheus::Registry& registry)
    : cache(registry),
      received(Counter(registry, "registry_rca_enricher_notifications_received_total",
                       "Alertmanager notifications accepted on POST /api/v1/alerts.")),
      rejected(Counter(registry, "registry_rca_enricher_notifications_rejected_total",
                       "Requests to /api/v1/alerts refused as not an Alertmanager payload (400).")),
      dropped(Counter(registry, "registry_rca_enricher_notifications_dropped_total",
                      "Notifications refused with 503 because the enricher's queue was full.")),
      enriched(Counter(registry, "registry_rca_enricher_notifications_enriched_total",
                       "Notifications forwarded with enrichment.")),
      deduplicated(Counter(registry, "registry_rca_enricher_notifications_deduplicated_total",
                           "Notifications whose alerts' enrichment was reused from the same "
                           "group key's earlier notification (burst dedupe).")),
      failures(Counter(registry, "registry_rca_enricher_enrichment_failures_total",
                       "Notifications forwarded unchanged because enrichment failed.")),
      queue_length(Gauge(registry, "registry_rca_enricher_queue_length",
                         "Notifications waiting for the enricher's worker.")),
      queue_bytes(Gauge(registry, "registry_rca_enricher_queue_bytes",
                        "Bytes of the notifications waiting for the enricher's worker "
                        "(at most enricher.queue_max_bytes).")),
      delivery_seconds(
          prometheus::BuildHistogram()
              .Name("registry_rca_enricher_delivery_duration_seconds")
              .Help("From a notification's arrival to its delivery to every "
                    "downstream (or giving up), retries included.")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                                               5, 10, 30, 60, 120})),
      not_enriched_(CounterFamily(registry, "registry_rca_enricher_alerts_not_enriched_total",
                                  "Alerts forwarded without enrichment because a bound was reached "
                                  "(alerts_per_notification, annotations_per_alert).")),
      forwarded_(CounterFamily(registry, "registry_rca_enricher_forwarded_total",
                               "Notifications delivered to a downstream webhook (2xx answer).")),
      forward_failures_(
          CounterFamily(registry, "registry_rca_enricher_forward_failures_total",
                        "Notifications a downstream webhook did not take after every retry.")),
      forward_retries_(CounterFamily(registry, "registry_rca_enricher_forward_retries_total",
                                     "Delivery attempts repeated after no answer, 5xx or 429.")) {
  not_enriched[kAlertsPerNotification] =
      &not_enriched_.Add({{"reason", "alerts_per_notification"}});
  not_enriched[kAnnotationsPerAlert] = &not_enriched_.Add({{"reason", "annotations_per_alert"}});
}

EnricherMetrics::Downstream EnricherMetrics::AddDownstream(const std::string& redacted_url) {
  const prometheus::Labels labels{{"downstream", redacted_url}};
  return {&forwarded_.Add(labels), &forward_failures_.Add(labels), &forward_retries_.Add(labels)};
}

}  // namespace rrca::metrics
