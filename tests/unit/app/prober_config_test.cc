// `probes:` in the configuration: defaults, files resolved against the config's folder, and
// every bad value reported at once with file:line:col and its key path.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "exporter/app/config.h"

namespace rrca::app {
namespace {

using prober::ProbeConfig;

class ProberConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("prober_config_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "creds")
        << "[default]\naws_access_key_id = a\naws_secret_access_key = b\n";
    std::ofstream(dir_ / "registry-creds") << "user:password\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  StatusOr<Config> Parse(const std::string& probes) {
    return ParseConfig("sources:\n  - name: r\n    paths: [/tmp/x.log]\n" + probes,
                       (dir_ / "c.yaml").string());
  }
  std::filesystem::path dir_;
};

TEST_F(ProberConfig, NoProbesByDefault) {
  auto config = Parse("");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_TRUE(config.value().probes.empty());
}

TEST_F(ProberConfig, DefaultsAndResolvedFiles) {
  auto config = Parse(R"(probes:
  - name: harbor
    type: registry
    url: https://harbor.example.com
    credentials_file: registry-creds
  - name: harbor
    type: store
    endpoint: http://rgw:7480
    bucket: registry
    credentials_file: creds
    addressing: virtual_host
    interval: 2m
    timeout: 10s
    poll_interval: 50ms
)");
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_EQ(config.value().probes.size(), 2u);
  const ProbeConfig& registry = config.value().probes[0];
  EXPECT_EQ(registry.kind, ProbeConfig::Kind::kRegistry);
  EXPECT_EQ(registry.interval, std::chrono::seconds(60));
  EXPECT_EQ(registry.timeout, std::chrono::seconds(30));
  EXPECT_EQ(registry.poll_interval, std::chrono::milliseconds(20));
  EXPECT_EQ(registry.registry.repository, "registry-rca-probe");
  EXPECT_EQ(registry.registry.credentials_file, (dir_ / "registry-creds").string());
  const ProbeConfig& store = config.value().probes[1];
  EXPECT_EQ(store.kind, ProbeConfig::Kind::kStore);
  EXPECT_EQ(store.interval, std::chrono::minutes(2));
  EXPECT_EQ(store.timeout, std::chrono::seconds(10));
  EXPECT_EQ(store.poll_interval, std::chrono::milliseconds(50));
  EXPECT_TRUE(store.store.virtual_host);
  EXPECT_EQ(store.store.region, "us-east-1");
  EXPECT_EQ(store.store.prefix, "registry-rca-probe/");
  EXPECT_EQ(store.store.credentials_file, (dir_ / "creds").string());
}

TEST_F(ProberConfig, EveryBadValueIsReportedWithItsPlace) {
  // Parse() puts three lines of `sources:` first: line numbers below count them.
  auto config = Parse(R"(probes:
  - name: "bad name"
    type: registry
    url: ftp://h
    colour: blue
    poll_interval: 0s
  - name: r
    type: registry
    url: http://h
    repository: Upper/Case
    username: u
    credentials_file: registry-creds
    password_file: missing-file
  - name: s
    type: store
    endpoint: https://rgw
    bucket: a.b.c
    addressing: virtual_host
    region: "US East"
    prefix: docker/registry/v2/
    timeout: 20ms
  - name: s
    type: store
    endpoint: http://rgw
    bucket: ok-bucket
    poll_interval: 30s
    interval: 25h
  - name: t
    type: nothing
  - just a string
)");
  ASSERT_FALSE(config.ok());
  const std::string& errors = config.status().message();
  for (const char* want : {
           "c.yaml:5:11: probes[0].name: required",
           "c.yaml:7:10: probes[0].url: must be http(s)://",
           "c.yaml:8:5: probes[0].colour: unknown key for a registry probe",
           "c.yaml:9:20: probes[0].poll_interval: must be a duration between 1ms and 10s",
           "c.yaml:13:17: probes[1].repository: not a valid repository name",
           "probes[1].credentials_file: either credentials_file or username",
           "probes[1].password_file: ",
           "c.yaml:20:13: probes[2].bucket: a name with dots cannot be addressed as a virtual host",
           "c.yaml:22:13: probes[2].region: must be a region name",
           "c.yaml:23:13: probes[2].prefix: must end with / and lie outside",
           "c.yaml:24:14: probes[2].timeout: must be a duration between 100ms and 600s",
           "c.yaml:29:20: probes[3].poll_interval: must be a duration between 1ms and 10s",
           "c.yaml:30:15: probes[3].interval: must be a duration between 1s and 86400s",
           "c.yaml:25:11: probes[3].name: duplicate name for a probe of this type",
           "c.yaml:32:11: probes[4].type: must be registry or store",
           "probes[5]: a probe is a mapping",
       }) {
    EXPECT_NE(errors.find(want), std::string::npos) << "missing: " << want << "\nin:\n" << errors;
  }
}

TEST_F(ProberConfig, PollMustBeShorterThanTheTimeout) {
  auto config = Parse(R"(probes:
  - name: r
    type: registry
    url: http://h
    timeout: 1s
    poll_interval: 2s
)");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(
      config.status().message().find("probes[0].poll_interval: must be shorter than the timeout"),
      std::string::npos)
      << config.status().message();
}

}  // namespace
}  // namespace rrca::app
