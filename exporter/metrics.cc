#include "exporter/metrics.h"

#include <chrono>
#include <cmath>

#ifndef RRCA_VERSION
#define RRCA_VERSION "dev"
#endif
#ifndef RRCA_REVISION
#define RRCA_REVISION "unknown"
#endif

namespace rrca::exporter {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

// Upload ages at failure: the race lives between tens of milliseconds and a minute.
const prometheus::Histogram::BucketBoundaries kAgeBuckets = {0.05, 0.1, 0.25, 0.5, 1,  2,
                                                             3,    5,   10,   30,  60, 300};

}  // namespace

Metrics::Metrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      responses_(BuildCounter()
                     .Name("registry_rca_responses_total")
                     .Help("Registry responses seen, by repository, API operation and HTTP status.")
                     .Register(*registry_)),
      errors_(BuildCounter()
                  .Name("registry_rca_errors_total")
                  .Help("Registry error responses (status >= 400, or an error code) by root cause.")
                  .Register(*registry_)),
      upload_age_(BuildHistogram()
                      .Name("registry_rca_upload_age_at_failure_seconds")
                      .Help("Age of the upload (_state StartedAt to request arrival) when an "
                            "upload request failed, by cause.")
                      .Register(*registry_)),
      rule_hits_(BuildCounter()
                     .Name("registry_rca_rule_hits_total")
                     .Help("Error responses classified by each rule.")
                     .Register(*registry_)),
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
  // The standard process metric: a restart resets every counter, and a restarted daemon that
  // catches up on a backlog may pass its old value before the first scrape, which increase()
  // cannot see as a reset. The start time makes every reset visible.
  BuildGauge()
      .Name("process_start_time_seconds")
      .Help("Start time of the process since the Unix epoch, in seconds.")
      .Register(*registry_)
      .Add({})
      .Set(static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count()) /
           1000.0);
}

std::string Metrics::CodeLabel(int status) {
  return status > 0 ? std::to_string(status) : "unknown";
}

void Metrics::DeclareCauses(const std::vector<std::string>& causes) {
  for (const std::string& cause : causes) {
    errors_.Add({{"repository", ""}, {"operation", ""}, {"code", ""}, {"cause", cause}});
  }
}

void Metrics::CountResponse(uint32_t repository_id, std::string_view repository,
                            Operation operation, int status) {
  const uint64_t key = (static_cast<uint64_t>(repository_id) << 24) |
                       (static_cast<uint64_t>(operation) << 16) |
                       static_cast<uint64_t>(status & 0xFFFF);
  prometheus::Counter*& counter = response_cache_[key];
  if (counter == nullptr) {
    counter = &responses_.Add({{"repository", std::string(repository)},
                               {"operation", std::string(OperationName(operation))},
                               {"code", CodeLabel(status)}});
  }
  counter->Increment();
}

void Metrics::CountError(uint32_t repository_id, std::string_view repository, Operation operation,
                         int status, std::string_view cause, std::string_view rule,
                         double upload_age_seconds) {
  // Errors are rare (about 1 % of lines), so a string key is cheap enough here.
  std::string key = std::to_string(repository_id);
  key.push_back('\x1f');
  key.append(OperationName(operation));
  key.push_back('\x1f');
  key.append(std::to_string(status));
  key.push_back('\x1f');
  key.append(cause);
  prometheus::Counter*& counter = error_cache_[key];
  if (counter == nullptr) {
    counter = &errors_.Add({{"repository", std::string(repository)},
                            {"operation", std::string(OperationName(operation))},
                            {"code", CodeLabel(status)},
                            {"cause", std::string(cause)}});
  }
  counter->Increment();
  if (!rule.empty()) {
    const std::string rule_key = std::string(rule) + '\x1f' + std::string(cause);
    prometheus::Counter*& hits = rule_cache_[rule_key];
    if (hits == nullptr) {
      hits = &rule_hits_.Add({{"rule", std::string(rule)}, {"cause", std::string(cause)}});
    }
    hits->Increment();
  }
  if (!std::isnan(upload_age_seconds)) {
    prometheus::Histogram*& histogram = age_cache_[std::string(cause)];
    if (histogram == nullptr) {
      histogram = &upload_age_.Add({{"cause", std::string(cause)}}, kAgeBuckets);
    }
    histogram->Observe(upload_age_seconds);
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

void Metrics::SetRepositoryGauges(size_t tracked, size_t limit, uint64_t folded_total) {
  repositories_tracked_.Add({}).Set(static_cast<double>(tracked));
  repositories_limit_.Add({}).Set(static_cast<double>(limit));
  folded_total_->Increment(static_cast<double>(folded_total - folded_published_));
  folded_published_ = folded_total;
}

void Metrics::SetConfigReload(bool successful, double timestamp_seconds) {
  reload_successful_.Add({}).Set(successful ? 1 : 0);
  if (successful) reload_timestamp_.Add({}).Set(timestamp_seconds);
}

}  // namespace rrca::exporter
