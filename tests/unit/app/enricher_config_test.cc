// The `enricher:` section of the config (exporter/enricher/enricher_config.h).
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

#include "exporter/app/config.h"

namespace rrca::app {

namespace {

using namespace std::chrono_literals;

TEST(EnricherConfigTest, SectionIsOptionalParsedAndStrict) {
  auto plain = ParseConfig("sources: [{name: r, paths: [/x]}]\n", "c.yaml");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->enricher.enabled);

  auto config = ParseConfig(R"(sources: [{name: r, paths: [/x]}]
enricher:
  downstream_urls: ["http://127.0.0.1:9095/alerts", "http://pager:80/hook"]
  timeout: 2s
  retries: 5
  dedupe_window: 10m
  min_window: 15m
  dashboard_base_url: https://grafana.example/
  runbook_base_url: https://wiki.example/runbook
  external_url: http://registry-rca:9479
  queue_size: 8
  queue_max_bytes: 16777216
)",
                            "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  const enricher::EnricherConfig& e = config->enricher;
  EXPECT_TRUE(e.enabled);
  EXPECT_EQ(e.downstream_urls.size(), 2u);
  EXPECT_EQ(e.timeout_seconds, 2);
  EXPECT_EQ(e.retries, 5);
  EXPECT_EQ(e.dedupe_window_seconds, 600);
  EXPECT_EQ(e.min_window_seconds, 900);
  EXPECT_EQ(e.dashboard_base_url, "https://grafana.example");
  EXPECT_EQ(e.external_url, "http://registry-rca:9479");
  EXPECT_EQ(e.queue_size, 8u);
  EXPECT_EQ(e.queue_max_bytes, 16u << 20);
  EXPECT_EQ(plain->enricher.queue_max_bytes, 32u << 20);

  auto bad = ParseConfig(R"(sources: [{name: r, paths: [/x]}]
enricher:
  downstream_urls:
    - https://ok/
    - ftp://files.example/hook
  timeout: never
  retries: 50
  colour: blue
  queue_max_bytes: 1000
)",
                         "c.yaml");
  ASSERT_FALSE(bad.ok());
  const std::string& m = bad.status().message();
  EXPECT_NE(m.find("c.yaml:5:7: enricher.downstream_urls[1]: must start with http:// or https://"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("enricher.timeout: must be a positive duration"), std::string::npos) << m;
  EXPECT_NE(m.find("enricher.retries: must be at most 10"), std::string::npos) << m;
  EXPECT_NE(m.find("c.yaml:8:3: enricher.colour: unknown key"), std::string::npos) << m;
  EXPECT_NE(m.find("enricher.queue_max_bytes: must be at least"), std::string::npos) << m;

  auto empty = ParseConfig("sources: [{name: r, paths: [/x]}]\nenricher: {}\n", "c.yaml");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("at least one downstream"), std::string::npos);
}

}  // namespace
}  // namespace rrca::app
