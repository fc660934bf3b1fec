#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rrca::metrics {

// The text exposition format exactly as prometheus-cpp 1.0.1's TextSerializer writes it, so that
// families rendered by ExpositionStore and families serialized by prometheus-cpp are
// byte-compatible in one body (tests/unit/metrics/exposition_test.cc compares them).

// Appends `value` with prometheus-cpp's escaping of label values: backslash, double quote and
// newline get a backslash; every other byte (invalid UTF-8 included) passes through unchanged.
void AppendEscapedLabelValue(std::string_view value, std::string* out);

// Returns `name1="value1",name2="value2"` sorted by label name (prometheus-cpp keeps labels in a
// std::map), values escaped. Empty when `labels` is empty.
std::string RenderLabelText(std::vector<std::pair<std::string_view, std::string_view>> labels);

// Appends a sample value as prometheus-cpp writes a double (the stream's default format with
// precision 16, i.e. printf's %.16g), with its "Nan", "+Inf" and "-Inf".
void AppendSampleValue(double value, std::string* out);

// Appends an unsigned count (histogram _count and _bucket lines are written as integers).
void AppendCount(uint64_t value, std::string* out);

// The inverse of RenderLabelText, for the rare callers that need prometheus-cpp's value types
// (the one-shot registry copy and the tests).
std::vector<prometheus::ClientMetric::Label> ParseLabelText(std::string_view text);

// The exposition store of the high-cardinality families (per repository, per cause): what
// prometheus-cpp's Registry::Collect + TextSerializer cost 2.6 us per series for, done
// as plain data. A series is created once with its label text rendered and escaped then; its
// values are plain doubles in one flat array per family. A scrape copies those arrays (a few
// memcpys, no allocation per series) and renders the text from the copy.
//
// Output is byte-compatible with prometheus-cpp 1.0.1's TextSerializer (the functions above):
// labels sorted by name, histograms as _count, _sum and cumulative _bucket lines with +Inf, a
// family with no series not written at all. Adding a series with the label values of an existing
// one returns the existing one, as prometheus-cpp's Family::Add does. Series are never removed.
//
// Thread-safety: every writing call and TakeSnapshot must be serialized by the caller (the
// daemon's processing lock). Render and Collect of a Snapshot may run on any thread without that
// lock while writes go on: a Snapshot points only at family descriptions, which never change, and
// at label text in an arena whose blocks are never moved or freed while the store lives.
class ExpositionStore {
 public:
  enum class Kind : uint8_t { kCounter, kGauge, kHistogram };
  using FamilyId = uint32_t;
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

  // Where a series' values live: its family and the index of its first value.
  struct Series {
    uint32_t family = UINT32_MAX;
    uint32_t slot = 0;
    bool valid() const { return family != UINT32_MAX; }
  };

  // What does not change once a family is declared.
  struct FamilyInfo {
    std::string name, help;
    Kind kind = Kind::kCounter;
    std::vector<double> bounds;        // histograms: finite upper bounds, increasing
    std::vector<std::string> le_text;  // the bounds as written in le="..."
    uint32_t stride = 1;               // values per series (histograms: buckets, +Inf, sum)
  };

  struct LabelView {
    const char* data;
    uint32_t size;
    std::string_view text() const { return {data, size}; }
  };

  // A scrape's copy of the values, taken under the processing lock.
  struct Snapshot {
    struct Family {
      const FamilyInfo* info;
      uint32_t series;
      size_t labels_at, values_at;
    };
    std::vector<Family> families;
    std::vector<LabelView> labels;
    std::vector<double> values;
  };

  ExpositionStore();
  ~ExpositionStore();
  ExpositionStore(const ExpositionStore&) = delete;
  ExpositionStore& operator=(const ExpositionStore&) = delete;

  FamilyId AddFamily(std::string name, std::string help, Kind kind,
                     std::vector<double> bounds = {});
  Series AddSeries(FamilyId family, Labels labels);

  // Counters never go down: a negative amount is ignored, as prometheus-cpp's Counter does.
  void Increment(Series series, double amount = 1) {
    if (amount >= 0) families_[series.family].values[series.slot] += amount;
  }
  void Set(Series series, double value) { families_[series.family].values[series.slot] = value; }
  void Observe(Series series, double value);
  // A counter's or gauge's value; a histogram's count.
  double Value(Series series) const;
  size_t series_count() const;

  void TakeSnapshot(Snapshot* snapshot) const;
  // Appends the families of `snapshot` in the text format.
  static void Render(const Snapshot& snapshot, std::string* out);
  // The same as prometheus-cpp's value types (for the enricher's kind of reader and the tests).
  static std::vector<prometheus::MetricFamily> Collect(const Snapshot& snapshot);
  // Adds the current values to `registry`'s families of the same names (created if missing), for
  // one-shot callers that serialize a registry alone. Not for the daemon: its scrape would then
  // write these families twice.
  void CopyInto(prometheus::Registry& registry) const;

 private:
  struct FamilyData {
    std::unique_ptr<const FamilyInfo> info;
    std::vector<LabelView> labels;
    std::vector<double> values;
    std::unordered_map<std::string_view, uint32_t> index;  // label text -> first value slot
  };

  LabelView Keep(std::string_view text);

  std::vector<FamilyData> families_;
  std::vector<std::unique_ptr<char[]>> blocks_;  // the label text arena; blocks never move
  size_t block_left_ = 0;
  char* block_next_ = nullptr;
};

}  // namespace rrca::metrics
