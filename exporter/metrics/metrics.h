#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/request.h"
#include "exporter/metrics/exposition.h"
#include "exporter/metrics/exposition_interner.h"
#include "tailers/parse/registry/registry_reader.h"
#include "tailers/parse/s3/s3_reader.h"

namespace rrca::metrics {

// The log pipeline's Prometheus families (responses, errors, rule hits, hops, readers, the
// joiner), declared once at start-up. The uploads' and the store's families are UploadMetrics
// (upload_metrics.h), the prober's ProbeMetrics (probe_metrics.h); the daemon's source and HTTP
// families and the enricher's are still declared where they are written (app/daemon.cc,
// enricher/). The high-cardinality ones (per
// repository and cause: responses, errors, rule hits, upload age) live in an ExpositionStore,
// because prometheus-cpp's Collect + TextSerializer cost 2.6 us per series per scrape; the small
// self-metrics stay in the prometheus-cpp Registry. Every series is cached per label set under an
// integer key: prometheus-cpp's Family::Add takes a lock and hashes labels, far too slow per line.
// Written only by the processing thread. A scrape takes a Snapshot under the processing lock and
// renders it outside (thread-safety: see ExpositionStore). Series are never removed.
class Metrics {
 public:
  explicit Metrics(std::shared_ptr<prometheus::Registry> registry);

  prometheus::Registry& registry() { return *registry_; }
  ExpositionStore& exposition() { return store_; }

  // Every cause exists at 0 from start-up (empty repository/operation/code), so the first real
  // increment is visible to increase(). Called again on each reload: existing series are kept.
  void DeclareCauses(const std::vector<std::string>& causes);

  void CountResponse(uint32_t repository_id, std::string_view repository, Operation operation,
                     int status);
  void CountError(uint32_t repository_id, std::string_view repository, Operation operation,
                  int status, std::string_view cause, std::string_view rule,
                  double upload_age_seconds);

  // A client-visible error that a hop in front of the registry answered
  // (exporter/pipeline/hop_joiner.h), in its own family
  // registry_rca_hop_errors_total{hop,repository,operation,code,cause}: registry_rca_errors_total
  // keeps counting what the registry itself answered, so its queries mean what they meant. The
  // rule's hit is counted in registry_rca_rule_hits_total.
  void CountHopError(Hop hop, uint32_t repository_id, std::string_view repository,
                     Operation operation, int status, std::string_view cause,
                     std::string_view rule);
  // The causes of the rules that judge a hop's responses, at 0 from start-up (per hop).
  void DeclareHopCauses(const std::vector<std::pair<Hop, std::string>>& causes);
  // The hop joiner's totals by outcome (monotonic) and the responses it holds.
  void SetHopJoin(std::string_view outcome, uint64_t total);
  void SetHopPending(size_t pending);

  // Adds what one stream's reader counted since it was last published (`delta`); the reader's
  // stats are plain integers of the processing thread, the exported counters are atomic.
  void AddReaderStats(std::string_view source, const tailers::ReaderStats& delta);
  void AddS3ReaderStats(std::string_view source, const tailers::S3ReaderStats& delta);
  // The tailer's own skips (lines longer than max_line_bytes), which no reader sees: the
  // daemon mirrors its per-source total here (`total` is monotonic).
  void SetLinesTooLong(std::string_view source, uint64_t total);

  // The repository table's totals (monotonic): folded into "__other__", and "__invalid__".
  void SetRepositoryGauges(size_t tracked, size_t limit, uint64_t folded_total,
                           uint64_t invalid_total);
  void SetConfigReload(bool successful, double timestamp_seconds);
  // The server certificate's notAfter, Unix seconds; 0 (no TLS) leaves the series absent.
  void SetTlsCertificateExpiry(int64_t unix_seconds);
  // A registry response to registry-rca's own probe (registry_rca_probe_requests_total{result}).
  void CountProbeRequest(bool error) { (error ? probe_errors_ : probe_successes_)->Increment(); }
  // A POST /api/v1/ingest/minio-audit refused for carrying more than the cap of entries.
  void CountIngestRejected() { ingest_rejected_->Increment(); }

  // The HTTP server's monotonic totals, mirrored at each scrape (see docs/http.md).
  struct HttpTotals {
    uint64_t accepted = 0, refused = 0, evicted = 0, handshake_failed = 0;  // connections
    uint64_t bad_request = 0, head_timeout = 0, body_timeout = 0, over_budget = 0, busy = 0,
             auth_busy = 0;  // requests refused
  };
  void SetHttpTotals(const HttpTotals& totals);

  // A scrape: both parts are copied under the processing lock, rendered outside it.
  struct Snapshot {
    std::vector<prometheus::MetricFamily> registry;
    ExpositionStore::Snapshot store;
  };
  void TakeSnapshot(Snapshot* snapshot) const;
  // The registry's families (prometheus-cpp's TextSerializer), then the store's.
  static std::string Render(const Snapshot& snapshot);
  // One-shot (analyze): copies the store's families into the registry, so that serializing the
  // registry alone gives the whole exposition. Called at end of input; never by the daemon.
  void PublishToRegistry() { store_.CopyInto(*registry_); }

 private:
  // registry_rca_rule_hits_total{rule,cause} += 1, for the registry's responses and the hops'
  // alike.
  void CountRuleHit(std::string_view rule, uint32_t cause_id, std::string_view cause);

  struct SourceCounters {
    prometheus::Counter* lines = nullptr;
    std::array<prometheus::Counter*, tailers::kRecordFormats> records{};
    std::array<prometheus::Counter*, static_cast<size_t>(tailers::RecordSkip::kCount)> skipped{};
    std::array<prometheus::Counter*, 5> s3_records{};
    prometheus::Counter* not_access_line = nullptr;
    prometheus::Counter* s3_malformed = nullptr;
  };
  struct ErrorKey {
    uint64_t response;  // as the response key: repository, operation, status
    uint32_t cause;
    bool operator==(const ErrorKey&) const = default;
  };
  struct ErrorKeyHash {
    size_t operator()(const ErrorKey& key) const {
      return std::hash<uint64_t>()(key.response * 0x9E3779B97F4A7C15ULL ^ key.cause);
    }
  };

  static std::string CodeLabel(int status);
  static uint64_t ResponseKey(uint32_t repository_id, Operation operation, int status);
  SourceCounters& CountersFor(std::string_view source);

  std::shared_ptr<prometheus::Registry> registry_;
  ExpositionStore store_;
  ExpositionStore::FamilyId responses_;
  ExpositionStore::FamilyId errors_;
  ExpositionStore::FamilyId upload_age_;
  ExpositionStore::FamilyId rule_hits_;
  ExpositionStore::FamilyId hop_errors_;
  prometheus::Family<prometheus::Counter>& lines_read_;
  prometheus::Family<prometheus::Counter>& lines_skipped_;
  prometheus::Family<prometheus::Counter>& records_;
  prometheus::Family<prometheus::Counter>& folded_;
  prometheus::Family<prometheus::Gauge>& repositories_tracked_;
  prometheus::Family<prometheus::Gauge>& repositories_limit_;
  prometheus::Family<prometheus::Gauge>& reload_successful_;
  prometheus::Family<prometheus::Gauge>& reload_timestamp_;

  LabelInterner causes_;
  LabelInterner rules_;
  std::unordered_map<uint64_t, ExpositionStore::Series> response_cache_;
  std::unordered_map<ErrorKey, ExpositionStore::Series, ErrorKeyHash> error_cache_;
  std::vector<ExpositionStore::Series> age_by_cause_;
  std::unordered_map<uint64_t, ExpositionStore::Series> rule_cache_;  // (rule, cause)
  std::array<std::unordered_map<ErrorKey, ExpositionStore::Series, ErrorKeyHash>, 3>
      hop_error_cache_;  // by Hop
  prometheus::Family<prometheus::Counter>* hop_joins_ = nullptr;
  std::unordered_map<std::string, std::pair<prometheus::Counter*, uint64_t>> hop_joins_published_;
  prometheus::Gauge* hop_pending_ = nullptr;
  std::unordered_map<std::string, SourceCounters> sources_;
  prometheus::Counter* folded_total_ = nullptr;
  prometheus::Family<prometheus::Gauge>* tls_expiry_ = nullptr;
  prometheus::Counter* ingest_rejected_ = nullptr;
  prometheus::Counter* probe_successes_ = nullptr;
  prometheus::Counter* probe_errors_ = nullptr;
  prometheus::Family<prometheus::Counter>* http_connections_ = nullptr;
  prometheus::Family<prometheus::Counter>* http_refused_ = nullptr;
  HttpTotals http_published_;
  uint64_t folded_published_ = 0;
  prometheus::Counter* invalid_total_ = nullptr;
  uint64_t invalid_published_ = 0;
};

}  // namespace rrca::metrics
