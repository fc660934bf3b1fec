#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/bounded_queue.h"
#include "common/clock.h"
#include "common/json.h"
#include "exporter/enricher/enricher_cache.h"
#include "exporter/enricher/enricher_config.h"
#include "exporter/enricher/enricher_content.h"
#include "exporter/enricher/enricher_history.h"
#include "exporter/enricher/enricher_http.h"
#include "exporter/metrics/enricher_metrics.h"
#include "exporter/web/http_server.h"

namespace rrca::enricher {

// Internals the tests change; the defaults are what the daemon uses.
struct EnricherOptions {
  WallClock now_ns;  // empty: WallNowNs
  std::chrono::milliseconds snapshot_interval{15'000};
  std::chrono::milliseconds max_backoff{30'000};
  std::chrono::milliseconds first_backoff{1'000};
  size_t max_alerts_enriched = 32;  // per notification; the rest are forwarded as they came
  // Alerts with more annotations are forwarded as they came (bounds the work per alert).
  size_t max_annotations_per_alert = 256;
  DedupeCacheLimits dedupe;  // the burst-dedupe cache's bounds (see DedupeCache)
};

// The alert enricher: an Alertmanager webhook receiver (POST /api/v1/alerts, payload version 4)
// that attaches what registry-rca knows over each alert's range (see enricher_content.h) and
// forwards the notification to the configured downstream webhooks, same schema, with `rca_*`
// annotations on each alert and a top-level `enrichment` object.
//
// Threads: Handle() runs on HTTP threads; it validates the payload and queues its body (not the
// parsed tree: the worker parses again), answering 202 at once (Alertmanager 0.25 has no
// per-webhook timeout, so a slow receiver would stall its notification pipeline). The queue is
// bounded in bytes (`queue_max_bytes`) and in notifications (`queue_size`); a full queue answers
// 503 and counts a drop (Alertmanager retries).
// One worker thread owns everything else: it enriches, forwards (per attempt `timeout`, up to
// `retries` more attempts with backoff 1 s, 2 s, 4 s... capped at 30 s, only for no answer, 5xx
// or 429) and, every snapshot interval, snapshots the metrics for windowed numbers.
// Failures: when enrichment fails for any alert (a callback's output unusable, an exception), the
// original body is forwarded byte for byte. Burst dedupe: within `dedupe_window` of a group key's
// first enrichment, an alert (by fingerprint) already enriched gets the cached enrichment again
// (marked "cached": true), and only alerts new to the group are looked up. The cache is bounded
// (EnricherOptions), as is the work per alert (annotations; common annotations in linear time).
// Bad input: bodies that are not an Alertmanager payload get 400 and are counted, never queued.
// Lifetime: Start() after construction, Stop() (or the destructor) before the sources'
// owner goes away; Stop waits for the notification in progress (at most one delivery attempt).
class Enricher {
 public:
  using Options = EnricherOptions;

  Enricher(EnricherConfig config, EnricherSources sources, prometheus::Registry& registry,
           Options options = {});
  ~Enricher();
  Enricher(const Enricher&) = delete;
  Enricher& operator=(const Enricher&) = delete;

  void Start();
  void Stop();

  // POST /api/v1/alerts.
  web::HttpResponse Handle(const web::HttpRequest& request);

  // What the worker does with one payload, without forwarding: the enriched body, or the
  // original (`enriched` false) when enrichment failed. For tests and the worker.
  struct Outcome {
    std::string body;
    bool enriched = false;
    bool deduplicated = false;
    std::string error;
  };
  Outcome Process(const Json& payload, const std::string& original_body);
  // Takes a metrics snapshot now (the worker does it every snapshot_interval).
  void Snapshot();
  // Blocks until the queue is empty and the worker idle, or the timeout passes (tests).
  bool WaitIdle(std::chrono::milliseconds timeout);

 private:
  struct Notification {
    std::string body;
    std::chrono::steady_clock::time_point received;
  };
  struct Downstream {
    HttpUrl url;
    metrics::EnricherMetrics::Downstream counters;
  };

  void Run();
  void Deliver(const Notification& notification);
  bool Stopping() const;
  void PublishQueueGauges();
  void Finished(size_t notifications);  // that many accepted ones are delivered or dropped
  bool Forward(Downstream& downstream, const std::string& body);
  bool SleepUnlessStopped(std::chrono::milliseconds duration);

  EnricherConfig config_;
  EnricherSources sources_;
  Options options_;
  std::vector<Downstream> downstreams_;

  std::atomic<int64_t> last_reject_log_ns_{0};
  // The handlers push, the worker pops; bounded in notifications and in bytes.
  BoundedQueue<Notification> queue_;
  std::mutex gauge_mutex_;        // the queue gauges are read and set under it, so never stale
  mutable std::mutex mutex_;      // guards stopping_, pending_
  std::condition_variable wake_;  // stopping_ was set
  std::condition_variable idle_;  // pending_ went down
  bool stopping_ = false;
  size_t pending_ = 0;  // accepted (or being pushed) and not yet delivered or dropped
  std::thread worker_;

  metrics::EnricherMetrics metrics_;  // before cache_, which counts into metrics_.cache
  // Owned by the worker (and by Process/Snapshot callers in tests, never concurrently).
  MetricHistory history_;
  DedupeCache cache_;
};

}  // namespace rrca::enricher
