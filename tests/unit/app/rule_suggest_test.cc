// `registry-rca rules suggest`: the printed rules file, saved as the config's rules_files, passes
// `registry-rca check` and names the errors it was made from with the placeholder cause.
#include "exporter/app/rule_suggest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "exporter/app/analyze.h"
#include "exporter/app/cli.h"
#include "exporter/app/config.h"

namespace rrca::app {
namespace {

std::string ReadAll(std::FILE* file) {
  std::rewind(file);
  std::string text;
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, n);
  std::fclose(file);
  return text;
}

class RuleSuggestTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("rrca-suggest-" + std::to_string(::getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Suggests from `log_files`; returns the printed YAML and sets *status.
  std::string Suggest(const std::vector<std::string>& log_files, int* status) {
    SuggestOptions options;
    options.files = log_files;
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    *status = RunRulesSuggest(options, out, err);
    err_ = ReadAll(err);
    return ReadAll(out);
  }

  // Saves `rules` as the rules file of a config; returns the config's path.
  std::string ConfigWith(const std::string& rules) {
    std::ofstream(dir_ / "suggested.yaml") << rules;
    std::ofstream(dir_ / "config.yaml")
        << "sources:\n  - name: registry\n    type: registry\n    paths: [\""
        << (dir_ / "registry.log").string() << "\"]\nrules_files: [\"suggested.yaml\"]\n";
    return (dir_ / "config.yaml").string();
  }

  static int Check(const std::string& config) {
    std::string flag = "--config.file=" + config;
    char* argv[] = {const_cast<char*>("registry-rca"), const_cast<char*>("check"), flag.data()};
    return RunCli(3, argv);
  }

  // The causes analyze gives the errors of `log` under `config`.
  static std::vector<std::string> Causes(const std::string& config, const std::string& log) {
    AnalyzeOptions options;
    options.files = {log};
    options.format = "jsonl";
    auto loaded = LoadConfig(config);
    EXPECT_TRUE(loaded.ok()) << loaded.status().message();
    if (loaded.ok()) options.config = std::move(loaded.value());
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    EXPECT_EQ(RunAnalyze(options, out, err), 0);
    std::fclose(err);
    std::istringstream lines(ReadAll(out));
    std::vector<std::string> causes;
    std::string line;
    while (std::getline(lines, line)) {
      const auto record = nlohmann::json::parse(line);
      if (record.contains("cause")) causes.push_back(record["cause"]);
    }
    return causes;
  }

  std::filesystem::path dir_;
  std::string err_;
};

TEST_F(RuleSuggestTest, SkeletonPassesCheckAndNamesTheErrorsItCameFrom) {
  const std::string log = std::string(RRCA_TESTDATA_DIR) + "/analyze/honest_report.log";
  ASSERT_EQ(Causes(ConfigWith("rules: []\n"), log),
            (std::vector<std::string>{"unclassified", "unclassified"}));
  int status = -1;
  const std::string yaml = Suggest({log}, &status);
  EXPECT_EQ(status, 0) << yaml << err_;
  EXPECT_NE(yaml.find("cause: new_cause_1"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("err.detail: 'frobnicator: widget [0-9]+(?:\\.[0-9]+)? jammed at \\S+'"),
            std::string::npos)
      << yaml;
  // The example is the input's own line, verbatim.
  std::ifstream input(log);
  std::string line, error_line;
  while (std::getline(input, line)) {
    if (line.find("widget 7") != std::string::npos) error_line = line;
  }
  EXPECT_NE(yaml.find("\n          " + error_line + "\n"), std::string::npos) << yaml;
  size_t rules = 0;
  for (size_t at = yaml.find("  - name: "); at != std::string::npos;
       at = yaml.find("  - name: ", at + 1))
    ++rules;
  EXPECT_EQ(rules, 1u) << yaml;  // one template, one rule

  const std::string config = ConfigWith(yaml);
  EXPECT_EQ(Check(config), 0);
  EXPECT_EQ(Causes(config, log), (std::vector<std::string>{"new_cause_1", "new_cause_1"}));
}

TEST_F(RuleSuggestTest, ARecordSplitOverTwoLinesIsExampledWhole) {
  // A registry 2.7 record with a raw newline in err.detail: the request id is on the second
  // physical line only, so the example must take the line before it too.
  const std::string first =
      "time=\"2026-03-01T10:00:01.000000001Z\" level=error msg=\"response completed with error\" "
      "err.code=unknown err.detail=\"frobnicator: widget 7 jammed";
  const std::string second =
      "caused by: gremlins in /srv/x\" err.message=\"unknown error\" "
      "http.request.id=6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f http.request.method=GET "
      "http.request.uri=\"/v2/team/app/blobs/sha256:abcd\" http.response.status=500 "
      "vars.name=\"team/app\"";
  const std::string log = (dir_ / "registry.log").string();
  std::ofstream(log) << "unrelated line\n" << first << "\n" << second << "\n";
  int status = -1;
  const std::string yaml = Suggest({log}, &status);
  EXPECT_EQ(status, 0) << yaml << err_;
  EXPECT_NE(yaml.find("          " + first + "\n          " + second + "\n"), std::string::npos)
      << yaml;
  const std::string config = ConfigWith(yaml);
  EXPECT_EQ(Check(config), 0);
  EXPECT_EQ(Causes(config, log), (std::vector<std::string>{"new_cause_1"}));
}

// Every real case pasted into one file: whatever the catalogue leaves unclassified, the printed
// file passes `check` (a rule that would take requests another rule names, or that has no
// example of its own, is set aside as a comment).
TEST_F(RuleSuggestTest, OnAllRealCasesThePrintedFilePassesCheck) {
  std::ifstream cases(std::string(RRCA_TESTDATA_DIR) + "/realworld/cases.jsonl");
  const std::string log = (dir_ / "registry.log").string();
  std::ofstream all(log);
  std::string line;
  while (std::getline(cases, line)) {
    if (!line.empty()) all << nlohmann::json::parse(line)["text"].get<std::string>() << "\n";
  }
  all.close();
  int status = -1;
  const std::string yaml = Suggest({log}, &status);
  EXPECT_EQ(status, 0) << err_;
  EXPECT_NE(yaml.find("\nrules:\n"), std::string::npos) << yaml;
  EXPECT_EQ(Check(ConfigWith(yaml)), 0) << yaml << err_;
}

TEST_F(RuleSuggestTest, NothingUnclassifiedNothingSuggested) {
  const std::string log = std::string(RRCA_TESTDATA_DIR) + "/analyze/only_unknown.log";
  int status = -1;
  const std::string yaml = Suggest({log}, &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(yaml, "# registry-rca rules suggest: every error has a cause; nothing to add.\n");
}

TEST(YamlSingleQuotedTest, QuotesAreDoubledAndControlBytesBlanked) {
  EXPECT_EQ(YamlSingleQuoted("it's \\S+\n"), "'it''s \\S+ '");
}

}  // namespace
}  // namespace rrca::app
