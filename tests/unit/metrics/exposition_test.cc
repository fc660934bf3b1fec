// The ExpositionStore (exporter/metrics/exposition.h): its text must be what prometheus-cpp's
// TextSerializer writes for the same series and values, byte for byte, hostile label values
// included, because both end up in one /metrics body that promtool and Prometheus parse.
#include "exporter/metrics/exposition.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "exporter/metrics/metrics.h"

namespace rrca::metrics {
namespace {

using Kind = ExpositionStore::Kind;

std::string Render(const ExpositionStore& store) {
  ExpositionStore::Snapshot snapshot;
  store.TakeSnapshot(&snapshot);
  std::string text;
  ExpositionStore::Render(snapshot, &text);
  return text;
}

std::string Serialize(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

// prometheus-cpp writes a family's series in hash order: compare the lines as sorted sets, each
// line byte for byte (the HELP and TYPE lines included).
std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> HostileValues() {
  return {"plain/repo",
          "quote\"inside",
          "back\\slash\\",
          "new\nline\n",
          "\"\\\n\"",
          std::string("invalid\xff\xfe utf8 \xc3(", 18),
          std::string(10'000, 'x') + "\"end",
          "",
          "comma,equals=brace}{"};
}

TEST(ExpositionStore, HostileLabelValuesAreEscapedExactlyAsPrometheusCpp) {
  prometheus::Registry registry;
  auto& family = prometheus::BuildCounter().Name("t_total").Help("Help text.").Register(registry);
  ExpositionStore store;
  const auto id = store.AddFamily("t_total", "Help text.", Kind::kCounter);
  double value = 1;
  for (const std::string& repository : HostileValues()) {
    family.Add({{"repository", repository}, {"cause", "c"}, {"code", "500"}}).Increment(value);
    // Labels given in another order than the sorted one prometheus-cpp writes.
    const auto series =
        store.AddSeries(id, {{"repository", repository}, {"code", "500"}, {"cause", "c"}});
    store.Increment(series, value);
    value *= 3;
  }
  const std::string ours = Render(store);
  EXPECT_EQ(SortedLines(ours), SortedLines(Serialize(registry)));
  EXPECT_EQ(ours.rfind("# HELP t_total Help text.\n# TYPE t_total counter\n", 0), 0u) << ours;
}

TEST(ExpositionStore, ValuesAreFormattedAsPrometheusCpp) {
  const double values[] = {0,
                           1,
                           0.5,
                           0.1,
                           1.0 / 3,
                           2.219,
                           1e-7,
                           123456789012.0,
                           1e15,
                           1e16,
                           1e20,
                           1e21,
                           -0.0,
                           -2.5,
                           1776000000.123,
                           std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           9007199254740993.0};
  prometheus::Registry registry;
  auto& family = prometheus::BuildGauge().Name("g").Help("G.").Register(registry);
  ExpositionStore store;
  const auto id = store.AddFamily("g", "G.", Kind::kGauge);
  int i = 0;
  for (double value : values) {
    const std::string index = std::to_string(i++);
    family.Add({{"i", index}}).Set(value);
    store.Set(store.AddSeries(id, {{"i", index}}), value);
  }
  EXPECT_EQ(SortedLines(Render(store)), SortedLines(Serialize(registry)));
}

TEST(ExpositionStore, HistogramsAsPrometheusCpp) {
  const std::vector<double> bounds = {0.05, 0.1, 0.25, 1, 2, 60, 300};
  const double observations[] = {0.01, 0.05, 0.07, 0.1, 3, 60, 1000, 0, 2.5};
  for (const bool labelled : {true, false}) {
    prometheus::Registry registry;
    auto& family = prometheus::BuildHistogram().Name("h_seconds").Help("H.").Register(registry);
    ExpositionStore store;
    const auto id = store.AddFamily("h_seconds", "H.", Kind::kHistogram, bounds);
    prometheus::Labels labels;
    ExpositionStore::Labels our_labels;
    if (labelled) {
      labels = {{"cause", "upload_\"x\""}};
      our_labels = {{"cause", "upload_\"x\""}};
    }
    auto& theirs = family.Add(labels, bounds);
    const auto ours = store.AddSeries(id, our_labels);
    for (double observation : observations) {
      theirs.Observe(observation);
      store.Observe(ours, observation);
    }
    // One series: the text must be identical, line order included.
    EXPECT_EQ(Render(store), Serialize(registry)) << "labelled=" << labelled;
    EXPECT_EQ(store.Value(ours), 9);
  }
}

TEST(ExpositionStore, CountersNeverGoDown) {
  ExpositionStore store;
  const auto id = store.AddFamily("c_total", "C.", Kind::kCounter);
  const auto series = store.AddSeries(id, {{"a", "b"}});
  store.Increment(series, 5);
  store.Increment(series, -3);
  store.Increment(series);
  EXPECT_EQ(store.Value(series), 6);
  EXPECT_EQ(Render(store), "# HELP c_total C.\n# TYPE c_total counter\nc_total{a=\"b\"} 6\n");
}

TEST(ExpositionStore, SameLabelsSameSeriesAndEmptyFamiliesAreNotWritten) {
  ExpositionStore store;
  store.AddFamily("empty_total", "E.", Kind::kCounter);
  const auto id = store.AddFamily("c_total", "C.", Kind::kCounter);
  const auto a = store.AddSeries(id, {{"x", "1"}, {"y", "2"}});
  const auto b = store.AddSeries(id, {{"y", "2"}, {"x", "1"}});
  EXPECT_EQ(a.slot, b.slot);
  store.Increment(a);
  store.Increment(b);
  EXPECT_EQ(store.series_count(), 1u);
  EXPECT_EQ(Render(store),
            "# HELP c_total C.\n# TYPE c_total counter\nc_total{x=\"1\",y=\"2\"} 2\n");
}

// The rendered text read back: every sample line is `name{labels} value`, and the labels give
// back the raw values, hostile ones included.
TEST(ExpositionStore, OutputParsesBack) {
  ExpositionStore store;
  const auto id = store.AddFamily("r_total", "R.", Kind::kCounter);
  const std::vector<std::string> values = HostileValues();
  for (size_t i = 0; i < values.size(); ++i) {
    store.Increment(store.AddSeries(id, {{"repository", values[i]}}), static_cast<double>(i));
  }
  ExpositionStore::Snapshot snapshot;
  store.TakeSnapshot(&snapshot);
  std::string text;
  ExpositionStore::Render(snapshot, &text);
  // The same families through prometheus-cpp's serializer: identical, order included.
  EXPECT_EQ(text, prometheus::TextSerializer().Serialize(ExpositionStore::Collect(snapshot)));
  std::istringstream in(text);
  size_t samples = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# ", 0) == 0) continue;
    ASSERT_EQ(line.rfind("r_total{", 0), 0u) << line;
    const size_t close = line.rfind("} ");
    ASSERT_NE(close, std::string::npos) << line;
    const auto labels = ParseLabelText(std::string_view(line).substr(8, close - 8));
    ASSERT_EQ(labels.size(), 1u);
    const size_t index = std::stoul(line.substr(close + 2));
    ASSERT_LT(index, values.size());
    EXPECT_EQ(labels[0].value, values[index]);
    ++samples;
  }
  EXPECT_EQ(samples, values.size());
}

TEST(ExpositionStore, SnapshotIsACopy) {
  ExpositionStore store;
  const auto id = store.AddFamily("c_total", "C.", Kind::kCounter);
  store.Increment(store.AddSeries(id, {{"a", "1"}}));
  ExpositionStore::Snapshot snapshot;
  store.TakeSnapshot(&snapshot);
  store.Increment(store.AddSeries(id, {{"a", "1"}}), 10);
  store.Increment(store.AddSeries(id, {{"a", "2"}}));
  std::string text;
  ExpositionStore::Render(snapshot, &text);
  EXPECT_EQ(text, "# HELP c_total C.\n# TYPE c_total counter\nc_total{a=\"1\"} 1\n");
}

// The daemon's pattern: one thread writes under a lock, another snapshots under it and renders
// outside it. Meant for the TSan build (scripts/sanitizers.sh tsan).
TEST(ExpositionStore, RenderOutsideTheLockWhileWritesGoOn) {
  ExpositionStore store;
  const auto id = store.AddFamily("c_total", "C.", Kind::kCounter);
  const auto histogram = store.AddFamily("h", "H.", Kind::kHistogram, {1, 2});
  std::mutex mutex;
  std::thread writer([&] {
    for (int i = 0; i < 20'000; ++i) {
      std::lock_guard lock(mutex);
      store.Increment(store.AddSeries(id, {{"repository", "r" + std::to_string(i % 5000)}}));
      store.Observe(store.AddSeries(histogram, {}), i % 3);
    }
  });
  double last_total = 0;
  for (int scrape = 0; scrape < 50; ++scrape) {
    ExpositionStore::Snapshot snapshot;
    {
      std::lock_guard lock(mutex);
      store.TakeSnapshot(&snapshot);
    }
    std::string text;
    ExpositionStore::Render(snapshot, &text);
    double total = 0;
    for (const auto& family : ExpositionStore::Collect(snapshot)) {
      for (const auto& metric : family.metric) total += metric.counter.value;
    }
    EXPECT_GE(total, last_total);  // counters never go down between scrapes
    last_total = total;
  }
  writer.join();
  EXPECT_EQ(store.series_count(), 5001u);
}

// Metrics end to end: every cause at 0 from start-up, a reload declares them again without
// duplicates, and the one-shot registry copy holds the same series as the rendered store.
TEST(Metrics, CausesDeclaredOnceAndTheRegistryCopyMatches) {
  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(registry);
  metrics.DeclareCauses({"a_cause", "b_cause"});
  metrics.DeclareCauses({"a_cause", "b_cause"});
  metrics.CountResponse(7, "team/app", Operation::kBlobUploadChunk, 500);
  metrics.CountError(7, "team/app", Operation::kBlobUploadChunk, 500, "a_cause", "rule_1", 2.5);
  metrics.CountError(7, "team/app", Operation::kBlobUploadChunk, 500, "a_cause", "rule_1",
                     std::nan(""));
  Metrics::Snapshot snapshot;
  metrics.TakeSnapshot(&snapshot);
  const std::string body = Metrics::Render(snapshot);
  const std::string declared =
      "registry_rca_errors_total{cause=\"b_cause\",code=\"\",operation=\"\",repository=\"\"} 0\n";
  EXPECT_EQ(body.find(declared), body.rfind(declared));
  EXPECT_NE(body.find(declared), std::string::npos) << body;
  EXPECT_NE(body.find("registry_rca_errors_total{cause=\"a_cause\",code=\"500\","
                      "operation=\"blob_upload_chunk\",repository=\"team/app\"} 2\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("registry_rca_upload_age_at_failure_seconds_count{cause=\"a_cause\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(body.find("# TYPE registry_rca_responses_total"),
            body.rfind("# TYPE registry_rca_responses_total"));

  std::string store_text;
  ExpositionStore::Render(snapshot.store, &store_text);
  prometheus::Registry copy;
  metrics.exposition().CopyInto(copy);
  EXPECT_EQ(SortedLines(Serialize(copy)), SortedLines(store_text));
}

}  // namespace
}  // namespace rrca::metrics
