// Windowed numbers from cumulative metrics (exporter/enricher/enricher_history.h).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

#include "common/json.h"
#include "exporter/enricher/enricher_history.h"

namespace rrca::enricher {

namespace {

using namespace std::chrono_literals;

MetricSample Sample(int64_t t, double c2v_under_1s, double c2v_under_4s, double store_503) {
  MetricSample s;
  s.time_ns = t;
  s.histograms[kCreateToVisibleFamily] = {{1.0, c2v_under_1s},
                                          {4.0, c2v_under_4s},
                                          {std::numeric_limits<double>::infinity(), c2v_under_4s}};
  s.store_errors[{"create_multipart", "503"}] = store_503;
  s.store_errors[{"put_part", "500"}] = 1;
  return s;
}

TEST(MetricHistoryTest, WindowIsCurrentMinusTheSnapshotBeforeIt) {
  MetricHistory history(100);
  history.Add(Sample(1000, 10, 10, 5));  // before the window: 10 fast creates
  history.Add(Sample(2000, 10, 14, 9));
  const WindowNumbers w = history.Window(1500, Sample(3000, 10, 20, 12));
  EXPECT_EQ(w.from_ns, 1000);
  // 10 creates in the window, all between 1 s and 4 s: p50 interpolates to 2.5 s.
  EXPECT_DOUBLE_EQ(w.Count(kCreateToVisibleFamily), 10);
  EXPECT_DOUBLE_EQ(w.Quantile(kCreateToVisibleFamily, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(w.Quantile(kCreateToVisibleFamily, 1.0), 4.0);
  ASSERT_EQ(w.store_errors.size(), 1u);  // put_part 500 did not move
  EXPECT_EQ(w.store_errors[0].first, "create_multipart 503");
  EXPECT_EQ(w.store_errors[0].second, 7);
  EXPECT_EQ(w.Quantile(kClientGapFamily, 0.5), -1);  // no such histogram

  // Older than every snapshot: counters were 0 at the start.
  const WindowNumbers all = history.Window(50, Sample(3000, 10, 20, 12));
  EXPECT_EQ(all.from_ns, 100);
  EXPECT_DOUBLE_EQ(all.Count(kCreateToVisibleFamily), 20);
}

TEST(MetricHistoryTest, QuantileInTheInfBucketIsTheHighestFiniteBound) {
  WindowNumbers w;
  w.histograms[kClientGapFamily] = {
      {0.5, 0}, {2, 1}, {std::numeric_limits<double>::infinity(), 10}};
  EXPECT_DOUBLE_EQ(w.Quantile(kClientGapFamily, 0.99), 2);
  EXPECT_DOUBLE_EQ(w.Quantile(kClientGapFamily, 0.05), 1.25);  // rank 0.5 of 1 in (0.5, 2]
}

// GET /api/v1/latency's answer: members in the API's order, quantiles rounded to microseconds
// (the text API printed six decimals), null without observations.
TEST(MetricHistoryTest, LatencySummaryRoundsToMicrosecondsAndKeepsTheApiOrder) {
  prometheus::MetricFamily c2v;
  c2v.name = kCreateToVisibleFamily;
  c2v.type = prometheus::MetricType::Histogram;
  prometheus::ClientMetric metric;
  metric.histogram.sample_count = 3;
  metric.histogram.bucket = {{3, 2.0 / 3}, {3, std::numeric_limits<double>::infinity()}};
  c2v.metric.push_back(metric);
  const std::string text = DumpJson(LatencySummary(0, {c2v}));
  const size_t after_since = text.find("\",\"create_to_visible_seconds\"");
  ASSERT_TRUE(text.starts_with("{\"since\":\"") && after_since != std::string::npos) << text;
  EXPECT_EQ(text.substr(after_since),
            R"(","create_to_visible_seconds":{"count":3,"p50":0.333333,"p90":0.6,"p99":0.66},)"
            R"("client_gap_seconds":{"count":0,"p50":null,"p90":null,"p99":null},)"
            R"("unsafe_window_seconds":{"count":0,"p50":null,"p90":null,"p99":null}})");
}

TEST(MetricHistoryTest, ThinningKeepsItBoundedAndOrdered) {
  MetricHistory history(0, 16);
  for (int i = 1; i <= 1000; ++i) history.Add(Sample(i, 0, 0, i));
  EXPECT_LE(history.size(), 16u);
  EXPECT_EQ(history.latest_ns(), 1000);
  const WindowNumbers w = history.Window(990, Sample(1001, 0, 0, 1001));
  EXPECT_GE(w.from_ns, 900);  // recent history stays fine-grained
  EXPECT_LE(w.from_ns, 990);
}

}  // namespace
}  // namespace rrca::enricher
