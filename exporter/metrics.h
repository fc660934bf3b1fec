#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/request.h"
#include "tailers/registry_reader.h"
#include "tailers/s3_reader.h"

namespace rrca::exporter {

// The Prometheus families registry-rca exports, declared once, with every hot counter reference
// cached per label set: prometheus-cpp's Family::Add takes a lock and hashes labels, far too slow
// per line. Written only by the processing thread; scrapes read through the prometheus Registry
// (counters are atomic). Series are never removed.
class Metrics {
 public:
  explicit Metrics(std::shared_ptr<prometheus::Registry> registry);

  prometheus::Registry& registry() { return *registry_; }

  // Every cause exists at 0 from start-up (empty repository/operation/code), so the first real
  // increment is visible to increase().
  void DeclareCauses(const std::vector<std::string>& causes);

  void CountResponse(uint32_t repository_id, std::string_view repository, Operation operation,
                     int status);
  void CountError(uint32_t repository_id, std::string_view repository, Operation operation,
                  int status, std::string_view cause, std::string_view rule,
                  double upload_age_seconds);

  // Adds what one stream's reader counted since it was last published (`delta`); the reader's
  // stats are plain integers of the processing thread, the exported counters are atomic.
  void AddReaderStats(std::string_view source, const tailers::ReaderStats& delta);
  void AddS3ReaderStats(std::string_view source, const tailers::S3ReaderStats& delta);

  void SetRepositoryGauges(size_t tracked, size_t limit, uint64_t folded_total);
  void SetConfigReload(bool successful, double timestamp_seconds);

 private:
  struct SourceCounters {
    prometheus::Counter* lines = nullptr;
    std::array<prometheus::Counter*, 5> records{};
    std::array<prometheus::Counter*, static_cast<size_t>(tailers::RecordSkip::kCount)> skipped{};
    std::array<prometheus::Counter*, 5> s3_records{};
    prometheus::Counter* not_access_line = nullptr;
    prometheus::Counter* s3_malformed = nullptr;
  };

  static std::string CodeLabel(int status);
  SourceCounters& CountersFor(std::string_view source);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& responses_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Family<prometheus::Histogram>& upload_age_;
  prometheus::Family<prometheus::Counter>& rule_hits_;
  prometheus::Family<prometheus::Counter>& lines_read_;
  prometheus::Family<prometheus::Counter>& lines_skipped_;
  prometheus::Family<prometheus::Counter>& records_;
  prometheus::Family<prometheus::Counter>& folded_;
  prometheus::Family<prometheus::Gauge>& repositories_tracked_;
  prometheus::Family<prometheus::Gauge>& repositories_limit_;
  prometheus::Family<prometheus::Gauge>& reload_successful_;
  prometheus::Family<prometheus::Gauge>& reload_timestamp_;

  std::unordered_map<uint64_t, prometheus::Counter*> response_cache_;
  std::unordered_map<std::string, prometheus::Counter*> error_cache_;
  std::unordered_map<std::string, prometheus::Histogram*> age_cache_;
  std::unordered_map<std::string, prometheus::Counter*> rule_cache_;
  std::unordered_map<std::string, SourceCounters> sources_;
  prometheus::Counter* folded_total_ = nullptr;
  uint64_t folded_published_ = 0;
};

}  // namespace rrca::exporter
