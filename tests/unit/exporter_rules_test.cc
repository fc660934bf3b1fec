// The catalogue proves itself: every example of every default rule runs through the real
// pipeline (envelope, parser, joiner, classifier) as its own test case.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "exporter/config.h"
#include "exporter/example_check.h"
#include "exporter/rules_loader.h"
#include "rules/rule_set.h"

namespace rrca::exporter {
namespace {

std::shared_ptr<const rules::RuleSet> DefaultRules() {
  static auto loaded = LoadRules(Config());
  EXPECT_TRUE(loaded.ok()) << loaded.status().message();
  return loaded.value();
}

struct ExampleCase {
  std::string rule;
  size_t index;
};

std::vector<ExampleCase> AllExamples() {
  std::vector<ExampleCase> cases;
  for (const rules::Rule& rule : DefaultRules()->rules()) {
    for (size_t i = 0; i < rule.examples.size(); ++i) cases.push_back({rule.name, i});
  }
  return cases;
}

class RuleExampleTest : public testing::TestWithParam<ExampleCase> {};

TEST_P(RuleExampleTest, ExampleGivesItsRule) {
  const auto rules = DefaultRules();
  const rules::Rule* rule = nullptr;
  for (const rules::Rule& r : rules->rules()) {
    if (r.name == GetParam().rule) rule = &r;
  }
  ASSERT_NE(rule, nullptr);
  const rules::RuleExample& example = rule->examples[GetParam().index];
  const std::vector<std::string> verdicts = ClassifyExample(example.lines, *rules, Config());
  const std::string expected = rule->name + ":" + rule->cause;
  if (example.should_match) {
    ASSERT_FALSE(verdicts.empty()) << example.location << ": no error request";
    for (const std::string& verdict : verdicts) EXPECT_EQ(verdict, expected) << example.location;
  } else {
    for (const std::string& verdict : verdicts) EXPECT_NE(verdict, expected) << example.location;
  }
}

INSTANTIATE_TEST_SUITE_P(DefaultCatalogue, RuleExampleTest, testing::ValuesIn(AllExamples()),
                         [](const testing::TestParamInfo<ExampleCase>& info) {
                           return info.param.rule + "_" + std::to_string(info.param.index);
                         });

TEST(RuleCatalogueTest, CoversEveryContractCause) {
  const std::vector<std::string> contract = {"upload_not_yet_visible",
                                             "upload_listing_missing",
                                             "upload_commit_not_visible",
                                             "hashstate_not_yet_visible",
                                             "multipart_upload_vanished",
                                             "storage_throttled",
                                             "storage_clock_skew",
                                             "storage_auth_failed",
                                             "storage_unreachable",
                                             "storage_request_canceled",
                                             "storage_misconfigured",
                                             "storage_internal_error",
                                             "storage_commit_copy_failed",
                                             "filesystem_full",
                                             "filesystem_permission_denied",
                                             "cache_unavailable",
                                             "client_disconnected",
                                             "upload_unknown",
                                             "upload_invalid",
                                             "upload_offset_mismatch",
                                             "blob_unknown",
                                             "manifest_unknown",
                                             "manifest_blob_unknown",
                                             "manifest_invalid",
                                             "digest_invalid",
                                             "name_unknown",
                                             "unauthorized",
                                             "denied",
                                             "too_many_requests",
                                             "unsupported",
                                             "unclassified"};
  const auto& causes = DefaultRules()->causes();
  for (const std::string& cause : contract) {
    EXPECT_NE(std::find(causes.begin(), causes.end(), cause), causes.end()) << cause;
  }
  EXPECT_EQ(causes.size(), contract.size()) << "a cause outside the contract list";
}

class UserRulesTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("rrca-rules-" + std::to_string(::getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  StatusOr<std::shared_ptr<const rules::RuleSet>> LoadWith(const std::string& rules_text) {
    std::ofstream(dir_ / "user.yaml") << rules_text;
    Config config;
    config.file = (dir_ / "config.yaml").string();
    config.rules_files = {"user.yaml"};
    return LoadRules(config);
  }

  std::filesystem::path dir_;
};

constexpr char kUnknownManifestLine[] =
    "time=\"2024-01-01T00:00:00Z\" level=error msg=\"response completed with error\" "
    "err.code=\"manifest unknown\" http.request.id=r1 http.request.method=GET "
    "http.request.uri=\"/v2/a/manifests/x\" http.response.status=404 vars.name=a";

TEST_F(UserRulesTest, NewRuleGoesFirstAndReplacementKeepsItsPlace) {
  auto loaded = LoadWith(std::string(R"(rules:
  - name: my_manifest_rule
    cause: my_cause
    severity: warning
    summary: mine
    runbook: https://example.invalid/runbook
    match: {err.code: '^manifest unknown$'}
    examples:
      match:
        - ')") + kUnknownManifestLine +
                         R"('
  - name: manifest_unknown
    disabled: true
)");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const auto& rules = *loaded.value();
  EXPECT_EQ(rules.rules().front().name, "my_manifest_rule");
  for (const rules::Rule& rule : rules.rules()) EXPECT_NE(rule.name, "manifest_unknown");
  EXPECT_EQ(ClassifyExample(kUnknownManifestLine, rules, Config()),
            std::vector<std::string>{"my_manifest_rule:my_cause"});
}

TEST_F(UserRulesTest, EveryErrorIsReportedWithFileLineAndRuleName) {
  auto loaded = LoadWith(R"(rules:
  - name: bad_pattern
    cause: some_cause
    severity: warning
    summary: s
    runbook: r
    match: {err.detail: '(unclosed'}
    examples: {match: ['x']}
  - name: BadName
    cause: some_cause
    severity: loud
    summary: s
    runbook: r
    match: {nonsense_field: 'x'}
    examples: {match: ['x']}
    surprise: 1
)");
  ASSERT_FALSE(loaded.ok());
  const std::string& message = loaded.status().message();
  EXPECT_NE(message.find("user.yaml:7:25: rules[0] (bad_pattern).match.err.detail"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("bad_pattern"), std::string::npos) << message;
  EXPECT_NE(message.find("invalid RE2 pattern"), std::string::npos) << message;
  EXPECT_NE(message.find("must be snake_case"), std::string::npos) << message;
  EXPECT_NE(message.find("severity: must be critical, warning or info"), std::string::npos)
      << message;
  EXPECT_NE(message.find("nonsense_field: unknown field"), std::string::npos) << message;
  EXPECT_NE(message.find("surprise: unknown key"), std::string::npos) << message;
}

TEST_F(UserRulesTest, BrokenYamlIsAnErrorNotACrash) {
  auto loaded = LoadWith("rules: [ {name: x, \n  - broken: : :");
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("user.yaml:"), std::string::npos);
}

TEST_F(UserRulesTest, UnknownParameterIsReported) {
  auto loaded = LoadWith(R"(rules:
  - name: age_rule
    cause: some_cause
    severity: info
    summary: s
    runbook: r
    numeric: {upload_age_seconds: {lt: $no_such_param}}
    examples: {match: ['x']}
)");
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("unknown parameter $no_such_param"), std::string::npos);
}

}  // namespace
}  // namespace rrca::exporter
