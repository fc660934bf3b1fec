#include "exporter/metrics/metrics.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>

#include "common/clock.h"

#ifndef RRCA_VERSION
#define RRCA_VERSION "dev"
#endif
#ifndef RRCA_REVISION
#define RRCA_REVISION "unknown"
#endif

namespace rrca::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

// Upload ages at failure: the race lives between tens of milliseconds and a minute.
const std::vector<double> kAgeBuckets = {0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300};

}  // namespace

Metrics::Metrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      responses_(
          store_.AddFamily("registry_rca_responses_total",
                           "Registry responses seen, by repository, API operation and HTTP status.",
                           ExpositionStore::Kind::kCounter)),
      errors_(store_.AddFamily(
          "registry_rca_errors_total",
          "Registry error responses (status >= 400, or an error code) by root cause.",
          ExpositionStore::Kind::kCounter)),
      upload_age_(store_.AddFamily("registry_rca_upload_age_at_failure_seconds",
                                   "Age of the upload (_state StartedAt to request arrival) when "
                                   "an upload request failed, by cause.",
                                   ExpositionStore::Kind::kHistogram, kAgeBuckets)),
      rule_hits_(store_.AddFamily("registry_rca_rule_hits_total",
                                  "Error responses classified by each rule.",
                                  ExpositionStore::Kind::kCounter)),
      hop_errors_(store_.AddFamily(
          "registry_rca_hop_errors_total",
          "Error responses the client got from a hop in front of the registry (hop: proxy = "
          "Harbor's nginx or an ingress, core = Harbor core) that the registry did not answer "
          "itself with the same status, by root cause; counted once, at the outermost hop.",
          ExpositionStore::Kind::kCounter)),
      lines_read_(BuildCounter()
                      .Name("registry_rca_lines_read_total")
                      .Help("Physical log lines read, by source.")
                      .Register(*registry_)),
      lines_skipped_(BuildCounter()
                         .Name("registry_rca_lines_skipped_total")
                         .Help("Log lines not turned into records, by source and reason.")
                         .Register(*registry_)),
      records_(BuildCounter()
                   .Name("registry_rca_records_total")
                   .Help("Log records parsed, by source and format.")
                   .Register(*registry_)),
      folded_(BuildCounter()
                  .Name("registry_rca_repositories_folded_total")
                  .Help("Events counted under repository=\"__other__\" because the repository "
                        "cap was reached.")
                  .Register(*registry_)),
      repositories_tracked_(BuildGauge()
                                .Name("registry_rca_repositories_tracked")
                                .Help("Distinct repository label values in use.")
                                .Register(*registry_)),
      repositories_limit_(BuildGauge()
                              .Name("registry_rca_repositories_limit")
                              .Help("The configured cap on repository label values "
                                    "(max_repositories).")
                              .Register(*registry_)),
      reload_successful_(BuildGauge()
                             .Name("registry_rca_config_last_reload_successful")
                             .Help("Whether the last configuration load succeeded (1) or not (0).")
                             .Register(*registry_)),
      reload_timestamp_(BuildGauge()
                            .Name("registry_rca_config_last_reload_success_timestamp_seconds")
                            .Help("When the configuration was last loaded successfully.")
                            .Register(*registry_)) {
  BuildGauge()
      .Name("registry_rca_build_info")
      .Help("A constant 1 labelled with the version and revision registry-rca was built from.")
      .Register(*registry_)
      .Add({{"version", RRCA_VERSION}, {"revision", RRCA_REVISION}})
      .Set(1);
  folded_total_ = &folded_.Add({});
  invalid_total_ = &BuildCounter()
                        .Name("registry_rca_repositories_invalid_total")
                        .Help(
                            "Events counted under repository=\"__invalid__\": the name is "
                            "not a repository name (Docker Distribution's grammar, at most "
                            "255 bytes).")
                        .Register(*registry_)
                        .Add({});
  tls_expiry_ = &BuildGauge()
                     .Name("registry_rca_tls_certificate_expiry_timestamp_seconds")
                     .Help(
                         "When the server certificate (web config cert_file) expires, Unix "
                         "seconds; absent without TLS.")
                     .Register(*registry_);
  ingest_rejected_ = &BuildCounter()
                          .Name("registry_rca_ingest_requests_rejected_total")
                          .Help(
                              "POST /api/v1/ingest/minio-audit requests refused (413) for "
                              "carrying more entries than the per-request cap.")
                          .Register(*registry_)
                          .Add({{"reason", "too_many_entries"}});
  auto& probe_requests = BuildCounter()
                             .Name("registry_rca_probe_requests_total")
                             .Help(
                                 "Registry responses to registry-rca's own probe (user agent "
                                 "registry-rca-probe/), by result (success, error); never in "
                                 "registry_rca_responses_total or registry_rca_errors_total.")
                             .Register(*registry_);
  probe_successes_ = &probe_requests.Add({{"result", "success"}});
  probe_errors_ = &probe_requests.Add({{"result", "error"}});
  http_connections_ = &BuildCounter()
                           .Name("registry_rca_http_connections_total")
                           .Help(
                               "Client connections to the HTTP server by outcome: accepted, "
                               "refused (limits reached, nothing evictable), evicted (an idle or "
                               "slow connection closed for a new one), handshake_failed.")
                           .Register(*registry_);
  http_refused_ = &BuildCounter()
                       .Name("registry_rca_http_requests_refused_total")
                       .Help(
                           "HTTP requests refused before their handler, by reason: bad_request "
                           "(400/411/431), head_timeout, body_timeout (408), over_budget, busy "
                           "(503), auth_busy (no bcrypt slot in time: 401).")
                       .Register(*registry_);
  SetHttpTotals({});  // every series from the start, at 0
  // The standard process metric: a restart resets every counter, and a restarted daemon that
  // catches up on a backlog may pass its old value before the first scrape, which increase()
  // cannot see as a reset. The start time makes every reset visible.
  BuildGauge()
      .Name("process_start_time_seconds")
      .Help("Start time of the process since the Unix epoch, in seconds.")
      .Register(*registry_)
      .Add({})
      .Set(static_cast<double>(WallNowNs() / 1'000'000) / 1000.0);
}

void Metrics::SetHttpTotals(const HttpTotals& totals) {
  auto mirror = [](prometheus::Family<prometheus::Counter>* family, const char* label,
                   const char* value, uint64_t total, uint64_t* published) {
    prometheus::Counter& counter = family->Add({{label, value}});
    if (total > *published) counter.Increment(static_cast<double>(total - *published));
    *published = std::max(*published, total);
  };
  HttpTotals& p = http_published_;
  mirror(http_connections_, "outcome", "accepted", totals.accepted, &p.accepted);
  mirror(http_connections_, "outcome", "refused", totals.refused, &p.refused);
  mirror(http_connections_, "outcome", "evicted", totals.evicted, &p.evicted);
  mirror(http_connections_, "outcome", "handshake_failed", totals.handshake_failed,
         &p.handshake_failed);
  mirror(http_refused_, "reason", "bad_request", totals.bad_request, &p.bad_request);
  mirror(http_refused_, "reason", "head_timeout", totals.head_timeout, &p.head_timeout);
  mirror(http_refused_, "reason", "body_timeout", totals.body_timeout, &p.body_timeout);
  mirror(http_refused_, "reason", "over_budget", totals.over_budget, &p.over_budget);
  mirror(http_refused_, "reason", "busy", totals.busy, &p.busy);
  mirror(http_refused_, "reason", "auth_busy", totals.auth_busy, &p.auth_busy);
}

void Metrics::SetTlsCertificateExpiry(int64_t unix_seconds) {
  if (unix_seconds != 0) tls_expiry_->Add({}).Set(static_cast<double>(unix_seconds));
}

std::string Metrics::CodeLabel(int status) {
  return status > 0 ? std::to_string(status) : "unknown";
}

uint64_t Metrics::ResponseKey(uint32_t repository_id, Operation operation, int status) {
  return (static_cast<uint64_t>(repository_id) << 24) | (static_cast<uint64_t>(operation) << 16) |
         static_cast<uint64_t>(status & 0xFFFF);
}

void Metrics::DeclareCauses(const std::vector<std::string>& causes) {
  for (const std::string& cause : causes) {
    store_.AddSeries(errors_,
                     {{"repository", ""}, {"operation", ""}, {"code", ""}, {"cause", cause}});
  }
}

void Metrics::CountResponse(uint32_t repository_id, std::string_view repository,
                            Operation operation, int status) {
  ExpositionStore::Series& series = response_cache_[ResponseKey(repository_id, operation, status)];
  if (!series.valid()) {
    series = store_.AddSeries(responses_, {{"repository", repository},
                                           {"operation", OperationName(operation)},
                                           {"code", CodeLabel(status)}});
  }
  store_.Increment(series);
}

void Metrics::CountRuleHit(std::string_view rule, uint32_t cause_id, std::string_view cause) {
  if (rule.empty()) return;
  ExpositionStore::Series& hits = rule_cache_[PairKey(rules_.Intern(rule), cause_id)];
  if (!hits.valid()) hits = store_.AddSeries(rule_hits_, {{"rule", rule}, {"cause", cause}});
  store_.Increment(hits);
}

void Metrics::CountError(uint32_t repository_id, std::string_view repository, Operation operation,
                         int status, std::string_view cause, std::string_view rule,
                         double upload_age_seconds) {
  const uint32_t cause_id = causes_.Intern(cause);
  ExpositionStore::Series& series =
      error_cache_[ErrorKey{ResponseKey(repository_id, operation, status), cause_id}];
  if (!series.valid()) {
    series = store_.AddSeries(errors_, {{"repository", repository},
                                        {"operation", OperationName(operation)},
                                        {"code", CodeLabel(status)},
                                        {"cause", cause}});
  }
  store_.Increment(series);
  CountRuleHit(rule, cause_id, cause);
  if (!std::isnan(upload_age_seconds)) {
    if (age_by_cause_.size() <= cause_id) age_by_cause_.resize(cause_id + 1);
    ExpositionStore::Series& histogram = age_by_cause_[cause_id];
    if (!histogram.valid()) histogram = store_.AddSeries(upload_age_, {{"cause", cause}});
    store_.Observe(histogram, upload_age_seconds);
  }
}

Metrics::SourceCounters& Metrics::CountersFor(std::string_view source) {
  auto found = sources_.find(std::string(source));
  if (found != sources_.end()) return found->second;
  SourceCounters& counters = sources_[std::string(source)];
  const std::string name(source);
  counters.lines = &lines_read_.Add({{"source", name}});
  for (size_t i = 1; i < counters.records.size(); ++i) {
    counters.records[i] = &records_.Add({{"source", name},
                                         {"format", std::string(tailers::RecordFormatName(
                                                        static_cast<tailers::RecordFormat>(i)))}});
  }
  for (size_t i = 0; i < counters.skipped.size(); ++i) {
    counters.skipped[i] = &lines_skipped_.Add(
        {{"source", name},
         {"reason", std::string(tailers::RecordSkipName(static_cast<tailers::RecordSkip>(i)))}});
  }
  return counters;
}

void Metrics::AddReaderStats(std::string_view source, const tailers::ReaderStats& delta) {
  SourceCounters& counters = CountersFor(source);
  if (delta.lines != 0) counters.lines->Increment(static_cast<double>(delta.lines));
  for (size_t i = 1; i < counters.records.size(); ++i) {
    if (delta.records[i] != 0)
      counters.records[i]->Increment(static_cast<double>(delta.records[i]));
  }
  for (size_t i = 0; i < counters.skipped.size(); ++i) {
    if (delta.skipped[i] != 0)
      counters.skipped[i]->Increment(static_cast<double>(delta.skipped[i]));
  }
}

void Metrics::SetLinesTooLong(std::string_view source, uint64_t total) {
  prometheus::Counter& counter =
      lines_skipped_.Add({{"source", std::string(source)}, {"reason", "line_too_long"}});
  const double delta = static_cast<double>(total) - counter.Value();
  if (delta > 0) counter.Increment(delta);
}

void Metrics::AddS3ReaderStats(std::string_view source, const tailers::S3ReaderStats& delta) {
  SourceCounters& counters = CountersFor(source);
  const std::string name(source);
  if (counters.not_access_line == nullptr) {
    counters.not_access_line =
        &lines_skipped_.Add({{"source", name}, {"reason", "not_access_line"}});
    counters.s3_malformed = &lines_skipped_.Add({{"source", name}, {"reason", "s3_malformed"}});
    for (size_t i = 1; i < counters.s3_records.size(); ++i) {
      counters.s3_records[i] = &records_.Add(
          {{"source", name},
           {"format", std::string(tailers::S3FormatName(static_cast<tailers::S3Format>(i)))}});
    }
  }
  if (delta.lines != 0) counters.lines->Increment(static_cast<double>(delta.lines));
  if (delta.not_access_lines != 0) {
    counters.not_access_line->Increment(static_cast<double>(delta.not_access_lines));
  }
  if (delta.malformed != 0) counters.s3_malformed->Increment(static_cast<double>(delta.malformed));
  for (size_t i = 1; i < counters.s3_records.size(); ++i) {
    if (delta.records[i] != 0) {
      counters.s3_records[i]->Increment(static_cast<double>(delta.records[i]));
    }
  }
}

void Metrics::SetRepositoryGauges(size_t tracked, size_t limit, uint64_t folded_total,
                                  uint64_t invalid_total) {
  repositories_tracked_.Add({}).Set(static_cast<double>(tracked));
  repositories_limit_.Add({}).Set(static_cast<double>(limit));
  folded_total_->Increment(static_cast<double>(folded_total - folded_published_));
  folded_published_ = folded_total;
  invalid_total_->Increment(static_cast<double>(invalid_total - invalid_published_));
  invalid_published_ = invalid_total;
}

void Metrics::SetConfigReload(bool successful, double timestamp_seconds) {
  reload_successful_.Add({}).Set(successful ? 1 : 0);
  if (successful) reload_timestamp_.Add({}).Set(timestamp_seconds);
}

void Metrics::TakeSnapshot(Snapshot* snapshot) const {
  snapshot->registry = registry_->Collect();
  store_.TakeSnapshot(&snapshot->store);
}

std::string Metrics::Render(const Snapshot& snapshot) {
  std::string body = prometheus::TextSerializer().Serialize(snapshot.registry);
  ExpositionStore::Render(snapshot.store, &body);
  return body;
}

}  // namespace rrca::metrics
