// The catalogue proves itself: every example of every default rule runs through the real
// pipeline (envelope, parser, joiner, classifier) as its own test case.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "exporter/app/config.h"
#include "exporter/app/example_check.h"
#include "exporter/app/rules_loader.h"
#include "rules/rule_set.h"

namespace rrca::app {
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
  const std::vector<std::string> verdicts = ClassifyExample(example.lines, *rules, Config(), rule);
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
                                             "storage_quota_exceeded",
                                             "filesystem_full",
                                             "filesystem_permission_denied",
                                             "network_filesystem_inconsistency",
                                             "cache_unavailable",
                                             "client_disconnected",
                                             "proxy_upstream_timeout",
                                             "proxy_upstream_reset",
                                             "client_gave_up",
                                             "core_proxy_canceled",
                                             "registry_unavailable",
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

// The lines of a default rule's first positive example.
std::string DefaultExample(const std::string& rule_name) {
  for (const rules::Rule& rule : DefaultRules()->rules()) {
    if (rule.name == rule_name && !rule.examples.empty() && rule.examples[0].should_match) {
      return rule.examples[0].lines;
    }
  }
  ADD_FAILURE() << "no positive example of " << rule_name;
  return "";
}

size_t IndexOf(const rules::RuleSet& rules, const std::string& name) {
  for (size_t i = 0; i < rules.rules().size(); ++i) {
    if (rules.rules()[i].name == name) return i;
  }
  return SIZE_MAX;
}

// rules/README.md: "A user rule with the name of a default rule replaces it in place". A broad
// replacement (every 404) for manifest_unknown must stay behind the default rules before it and
// ahead of those after it: first (like a new rule) it would take blob_unknown_read's 404, last it
// would lose manifest_unknown_access's.
TEST_F(UserRulesTest, ReplacementOfADefaultRuleKeepsItsPlace) {
  auto loaded = LoadWith(R"(rules:
  - name: manifest_unknown
    cause: any_not_found
    severity: info
    summary: every 404
    runbook: https://example.invalid/runbook
    match: {status: '^404$'}
    examples: {match: ['x']}
)");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const rules::RuleSet& rules = *loaded.value();
  ASSERT_NE(IndexOf(*DefaultRules(), "manifest_unknown"), SIZE_MAX);
  EXPECT_EQ(IndexOf(rules, "manifest_unknown"), IndexOf(*DefaultRules(), "manifest_unknown"));
  EXPECT_EQ(rules.rules().size(), DefaultRules()->rules().size());
  EXPECT_EQ(rules.rules()[IndexOf(rules, "manifest_unknown")].cause, "any_not_found");
  EXPECT_LT(IndexOf(rules, "blob_unknown_read"), IndexOf(rules, "manifest_unknown"));
  EXPECT_GT(IndexOf(rules, "manifest_unknown_access"), IndexOf(rules, "manifest_unknown"));
  EXPECT_EQ(ClassifyExample(DefaultExample("blob_unknown_read"), rules, Config()),
            std::vector<std::string>{"blob_unknown_read:blob_unknown"});
  EXPECT_EQ(ClassifyExample(DefaultExample("manifest_unknown"), rules, Config()),
            std::vector<std::string>{"manifest_unknown:any_not_found"});
  EXPECT_EQ(ClassifyExample(DefaultExample("manifest_unknown_access"), rules, Config()),
            std::vector<std::string>{"manifest_unknown:any_not_found"});
}

// Numeric bounds at their boundary: lt and gt exclude it, le and ge include it.
TEST_F(UserRulesTest, NumericBoundsAtTheBoundary) {
  std::string text = "params: {limit_seconds: 2}\nrules:\n";
  for (const char* op : {"lt", "le", "gt", "ge"}) {
    text += std::string("  - name: bound_") + op + R"(
    cause: bound_hit
    severity: info
    summary: s
    runbook: r
    match: {uri: '^/)" +
            op + R"($'}
    numeric: {duration_seconds: {)" +
            op + R"(: $limit_seconds}}
    examples: {match: ['x']}
)";
  }
  auto loaded = LoadWith(text);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const auto matched = [&](const std::string& op, int64_t duration_ns) {
    const std::string uri = "/" + op;
    JoinedRequest request;
    request.uri = uri;
    request.status = 500;
    request.duration_ns = duration_ns;
    const rules::Verdict verdict = loaded.value()->Classify(request);
    return verdict.rule != nullptr && verdict.rule->name == "bound_" + op;
  };
  constexpr int64_t kAt = 2'000'000'000;  // exactly 2.0 s
  EXPECT_FALSE(matched("lt", kAt));
  EXPECT_TRUE(matched("lt", kAt - 1));
  EXPECT_TRUE(matched("le", kAt));
  EXPECT_FALSE(matched("le", kAt + 1));
  EXPECT_FALSE(matched("gt", kAt));
  EXPECT_TRUE(matched("gt", kAt + 1));
  EXPECT_TRUE(matched("ge", kAt));
  EXPECT_FALSE(matched("ge", kAt - 1));
  EXPECT_FALSE(matched("ge", -1)) << "an unknown duration satisfies no bound";
  // rule_params override the file's params, and the bound follows.
  Config config;
  config.file = (dir_ / "config.yaml").string();
  config.rules_files = {"user.yaml"};
  config.rule_params["limit_seconds"] = 3;
  auto overridden = LoadRules(config);
  ASSERT_TRUE(overridden.ok()) << overridden.status().message();
  JoinedRequest request;
  request.uri = "/lt";
  request.status = 500;
  request.duration_ns = 2'500'000'000;
  const rules::Verdict verdict = overridden.value()->Classify(request);
  ASSERT_NE(verdict.rule, nullptr);
  EXPECT_EQ(verdict.rule->name, "bound_lt");
  EXPECT_FALSE(matched("lt", 2'500'000'000));
}

// A registry that dies logs at fatal (logrus Fatal*) or panic (logrus Panic*): such a record is
// outside any request, counted at once as an error of its own, and rules see its level.
// Real: distribution#2400 (registry v2.5.0 on a TTY), registry.go's debug listener failing.
constexpr char kFatalTtyLine[] =
    "FATA[0000] error listening on debug interface: listen tcp :5001: bind: address already in use";
// Constructed: the Go panic of goharbor/harbor#9702 (Aliyun OSS refusing the signature), as a
// logrus record at panic level in text and in JSON.
constexpr char kPanicMessage[] =
    "Aliyun API Error: RequestId: 5DBBB2AA43AE613331823835 Status Code: 403 Code: "
    "SignatureDoesNotMatch Message: The request signature we calculated does not match the "
    "signature you provided. Check your key and signing method.";

TEST_F(UserRulesTest, FatalAndPanicRecordsAreCountedAndClassifiedByLevel) {
  // The default catalogue has no rule for a port in use, but the record is never dropped.
  EXPECT_EQ(ClassifyExample(kFatalTtyLine, *DefaultRules(), Config()),
            std::vector<std::string>{"-:unclassified"});
  auto loaded = LoadWith(R"(rules:
  - name: registry_crashed
    cause: registry_crashed
    severity: critical
    summary: the registry process logged a fatal error or a panic
    runbook: https://example.invalid/runbook
    match: {level: '^(?:fatal|panic)$', messages: '^(?:fatal|panic): '}
    examples: {match: ['x']}
)");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const std::vector<std::string> crashed{"registry_crashed:registry_crashed"};
  EXPECT_EQ(ClassifyExample(kFatalTtyLine, *loaded.value(), Config()), crashed);
  const std::string text =
      std::string("time=\"2019-11-01T04:20:58.123456789Z\" level=panic msg=\"") + kPanicMessage +
      "\" go.version=go1.11.2 service=registry";
  EXPECT_EQ(ClassifyExample(text, *loaded.value(), Config()), crashed);
  const std::string json = std::string(R"({"go.version":"go1.11.2","level":"panic","msg":")") +
                           kPanicMessage + R"(","time":"2019-11-01T04:20:58.123456789Z"})";
  EXPECT_EQ(ClassifyExample(json, *loaded.value(), Config()), crashed);
  // An error-level record outside a request is counted too, but it is not a crash.
  const std::string error = "time=\"2019-11-01T04:20:58Z\" level=error msg=\"redis: boom\"";
  const auto verdicts = ClassifyExample(error, *loaded.value(), Config());
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_NE(verdicts[0], crashed[0]);
}

}  // namespace
}  // namespace rrca::app
