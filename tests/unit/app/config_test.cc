#include "exporter/app/config.h"

#include <gtest/gtest.h>

namespace rrca::app {
namespace {

TEST(ConfigTest, SmallestConfigIsTheContract) {
  auto config = ParseConfig(R"(sources:
  - name: registry          # free text, used as the `source` label
    type: registry          # registry | s3
    paths: ["/var/log/harbor/registry.log", "/var/log/containers/*registry*.log"]
start_at: end
)",
                            "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_EQ(config->sources.size(), 1u);
  EXPECT_EQ(config->sources[0].name, "registry");
  EXPECT_EQ(config->sources[0].paths.size(), 2u);
  EXPECT_TRUE(config->start_at_end);
  EXPECT_EQ(config->max_repositories, 1000u);
  EXPECT_EQ(config->listen_address, ":9479");
}

TEST(ConfigTest, EveryErrorAtOnceWithLineAndColumn) {
  auto config = ParseConfig(R"(sources:
  - name: registry
    type: nfs
    paths: []
start_at: middle
max_repositories: -3
poll_interval: soon
mystery: 1
repository_rewrites:
  - match: '(unclosed'
    replace: x
)",
                            "c.yaml");
  ASSERT_FALSE(config.ok());
  const std::string& m = config.status().message();
  EXPECT_NE(
      m.find("c.yaml:3:11: sources[0].type: must be registry, s3, harbor_proxy or harbor_core"),
      std::string::npos)
      << m;
  EXPECT_NE(m.find("sources[0].paths: at least one path"), std::string::npos) << m;
  EXPECT_NE(m.find("c.yaml:5:11: start_at: must be end or beginning"), std::string::npos) << m;
  EXPECT_NE(m.find("max_repositories: must be at least"), std::string::npos) << m;
  EXPECT_NE(m.find("poll_interval: must be a positive duration"), std::string::npos) << m;
  EXPECT_NE(m.find("c.yaml:8:1: mystery: unknown key"), std::string::npos) << m;
  EXPECT_NE(m.find("invalid RE2 pattern"), std::string::npos) << m;
}

TEST(ConfigTest, GrafanaUrlMustBeAWebUrl) {
  auto config = ParseConfig(
      "sources: [{name: r, paths: [x.log]}]\nweb: {grafana_url: 'https://g.example/'}\n", "c.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->grafana_url, "https://g.example/");
  for (const char* bad : {"javascript:alert(1)", "https://g.example/\"><x", "g.example"}) {
    config = ParseConfig(
        std::string("sources: [{name: r, paths: [x.log]}]\nweb: {grafana_url: '") + bad + "'}\n",
        "c.yaml");
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_NE(config.status().message().find("web.grafana_url: must be an http:// or https:// URL"),
              std::string::npos)
        << config.status().message();
  }
}

TEST(ConfigTest, BrokenYamlIsAnError) {
  auto config = ParseConfig("sources: [\n  - : :\n", "c.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message().rfind("c.yaml:", 0), 0u) << config.status().message();
}

TEST(ConfigTest, ExampleConfigIsValid) {
  auto config = LoadConfig(std::string(RRCA_SOURCE_DIR) + "/examples/registry-rca.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->repository_rewrites.size(), 1u);
}

}  // namespace
}  // namespace rrca::app
