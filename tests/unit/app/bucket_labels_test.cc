// Bucket label values under attack: one POST of 20,000 distinct bucket
// names took /metrics from 14 KB to 31.7 MB for the life of the process, and a 1 MB name added
// 17 MB to every scrape. Names are validated against S3's grammar and capped like repositories.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <set>
#include <string>

#include "exporter/app/config.h"
#include "exporter/app/rules_loader.h"
#include "exporter/metrics/upload_metrics.h"

namespace rrca::app {
namespace {

struct Exposition {
  std::set<std::string> buckets;  // distinct bucket label values of every family
  size_t bytes = 0;
  double folded = 0, invalid = 0, tracked = 0, limit = 0;
};

Exposition Read(prometheus::Registry& registry) {
  Exposition out;
  const auto families = registry.Collect();
  out.bytes = prometheus::TextSerializer().Serialize(families).size();
  for (const auto& family : families) {
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "bucket") out.buckets.insert(label.value);
      }
      if (family.name == "registry_rca_buckets_folded_total") out.folded = metric.counter.value;
      if (family.name == "registry_rca_buckets_invalid_total") out.invalid = metric.counter.value;
      if (family.name == "registry_rca_buckets_tracked") out.tracked = metric.gauge.value;
      if (family.name == "registry_rca_buckets_limit") out.limit = metric.gauge.value;
    }
  }
  return out;
}

TEST(BucketLabels, S3Grammar) {
  for (const std::string& good : {std::string("abc"), std::string("registry-data"),
                                  std::string("a.b-c.9"), std::string(63, 'b')}) {
    EXPECT_TRUE(metrics::UploadMetrics::IsValidBucketName(good)) << good;
  }
  for (const std::string& bad :
       {std::string("ab"), std::string(64, 'b'), std::string("Upper"), std::string("under_score"),
        std::string("-start"), std::string("end-"), std::string(".dot"), std::string("a..b"),
        std::string("192.168.5.4"), std::string("sp ace"), std::string("new\nline"),
        std::string("bucket{x=\"y\"}"), std::string(1 << 20, 'a')}) {
    EXPECT_FALSE(metrics::UploadMetrics::IsValidBucketName(bad)) << bad.substr(0, 80);
  }
  EXPECT_TRUE(metrics::UploadMetrics::IsValidBucketName("192.168.5.4x"));
}

TEST(BucketLabels, TwentyThousandNamesFoldIntoOtherAndAreCounted) {
  // Control: a few real buckets, each its own label value.
  prometheus::Registry control_registry;
  metrics::UploadMetrics control(control_registry);
  for (const char* bucket : {"registry", "registry-eu", "backups"}) {
    control.CountS3Request(bucket, S3Op::kCreateMultipart, 200, 5'000'000);
    control.ObserveUnsafeWindow(bucket, 0.5);
  }
  const Exposition few = Read(control_registry);
  EXPECT_EQ(few.buckets, (std::set<std::string>{"registry", "registry-eu", "backups"}));
  EXPECT_EQ(few.folded, 0);
  EXPECT_EQ(few.limit, metrics::UploadMetrics::kDefaultMaxBuckets);

  // The attack: 20,000 distinct names, a megabyte-long one, and names with quotes and newlines.
  prometheus::Registry registry;
  metrics::UploadMetrics metrics(registry);
  for (int i = 0; i < 20'000; ++i) {
    const std::string bucket = "bucket-" + std::to_string(i);
    metrics.CountS3Request(bucket, S3Op::kUploadPart, 200, 1'000'000);
    if (i % 10 == 0) metrics.ObserveClientGap(bucket, 0.1);
  }
  metrics.CountS3Request(std::string(1 << 20, 'x'), S3Op::kPut, 200, 1'000'000);
  metrics.CountS3Request("a\"b\nc", S3Op::kPut, 200, 1'000'000);
  const Exposition attacked = Read(registry);
  EXPECT_EQ(attacked.buckets.size(),
            metrics::UploadMetrics::kDefaultMaxBuckets + 2);  // + other, invalid
  EXPECT_TRUE(attacked.buckets.contains("__other__"));
  EXPECT_TRUE(attacked.buckets.contains("__invalid__"));
  EXPECT_EQ(attacked.folded, 20'000 - metrics::UploadMetrics::kDefaultMaxBuckets);
  EXPECT_EQ(attacked.invalid, 2);
  EXPECT_EQ(attacked.tracked, metrics::UploadMetrics::kDefaultMaxBuckets);
  // The exposition grows with the cap, never with the attack: 31.7 MB before.
  EXPECT_LT(attacked.bytes, 40 * few.bytes) << few.bytes << " bytes for 3 buckets";
  EXPECT_LT(attacked.bytes, 1u << 20);
}

TEST(BucketLabels, CapIsConfigurable) {
  auto config = ParseConfig("sources: [{name: r, paths: [/x]}]\nmax_buckets: 2\n", "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->max_buckets, 2u);
  EXPECT_EQ(ParseConfig("sources: [{name: r, paths: [/x]}]\n", "c.yaml")->max_buckets, 100u);
  EXPECT_FALSE(ParseConfig("sources: [{name: r, paths: [/x]}]\nmax_buckets: 0\n", "c.yaml").ok());

  // The way the daemon and analyze build it: the config through the pipeline's options.
  const pipeline::Pipeline::Options options = PipelineOptionsFrom(config.value(), 2026);
  EXPECT_EQ(options.max_buckets, 2u);
  prometheus::Registry registry;
  metrics::UploadMetrics metrics(registry, options.max_buckets);
  for (const char* bucket : {"one", "two", "three", "one"}) {
    metrics.CountS3Request(bucket, S3Op::kGet, 200, 1);
  }
  const Exposition out = Read(registry);
  EXPECT_EQ(out.buckets, (std::set<std::string>{"one", "two", "__other__"}));
  EXPECT_EQ(out.folded, 1);
  EXPECT_EQ(out.limit, 2);
}

}  // namespace
}  // namespace rrca::app
