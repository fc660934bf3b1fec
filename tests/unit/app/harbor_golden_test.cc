// Golden test on real lines of the hops in front of the registry: every line of
// tests/testdata/harbor/real_lines.jsonl (each with the public thread it was copied from) read
// by `registry-rca analyze --proxy-log / --core-log` must give exactly the causes the case
// expects, one per client-visible response: a case whose nginx error line and access line
// describe one 502 expects one error, not two.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "exporter/app/analyze.h"
#include "tests/unit/app/analyze_output.h"

namespace rrca::app {
namespace {

struct Case {
  std::string id, hop, source;
  std::vector<std::string> lines, expected, expected_rules;
};

std::vector<Case> LoadCases() {
  std::vector<Case> cases;
  std::ifstream in(std::string(RRCA_TESTDATA_DIR) + "/harbor/real_lines.jsonl");
  std::string text;
  while (std::getline(in, text)) {
    if (text.empty()) continue;
    const nlohmann::json json = nlohmann::json::parse(text);
    Case c;
    c.id = json.at("id").get<std::string>();
    c.hop = json.at("hop").get<std::string>();
    c.source = json.at("source").get<std::string>();
    c.lines = json.at("lines").get<std::vector<std::string>>();
    c.expected = json.at("expected").get<std::vector<std::string>>();
    c.expected_rules = json.at("expected_rules").get<std::vector<std::string>>();
    cases.push_back(std::move(c));
  }
  return cases;
}

std::string WriteTemp(const std::vector<std::string>& lines) {
  char path[] = "/tmp/rrca-harbor-golden-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  return path;
}

TEST(HarborGoldenTest, EveryRealLineGetsItsCauseOncePerResponse) {
  const std::vector<Case> cases = LoadCases();
  ASSERT_GE(cases.size(), 13u);  // a missing or truncated file is a failure
  size_t lines = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.id + " (" + c.source + ")");
    const std::string file = WriteTemp(c.lines);
    AnalyzeOptions options;
    (c.hop == "core" ? options.core_files : options.proxy_files).push_back(file);
    options.format = "jsonl";
    const std::string output = AnalyzeOutput(options);
    std::remove(file.c_str());
    std::vector<std::string> causes;
    std::vector<std::string> rules;  // which rule: the line's own words, not a status fallback
    bool summary = false;
    size_t start = 0;
    while (start < output.size()) {
      size_t end = output.find('\n', start);
      if (end == std::string::npos) end = output.size();
      const nlohmann::json json = nlohmann::json::parse(output.substr(start, end - start));
      start = end + 1;
      if (json.contains("summary")) {
        summary = true;
        // Every line was understood.
        EXPECT_EQ(json["summary"]["lines_not_understood"]["total"].get<int>(), 0)
            << json["summary"]["lines_not_understood"].dump();
        continue;
      }
      causes.push_back(json.at("cause").get<std::string>());
      rules.push_back(json.at("rule").get<std::string>());
      EXPECT_EQ(json.at("hop").get<std::string>(), c.hop);
    }
    EXPECT_TRUE(summary);
    EXPECT_EQ(causes, c.expected);
    EXPECT_EQ(rules, c.expected_rules);
    lines += c.lines.size();
  }
  EXPECT_GE(lines, 16u);
}

// The lab's capture (tests/testdata/harbor/lab/README.md): a real nginx in front of the real
// registry. nginx's own access log is the referee: its 4 errors, each once, with its cause.
TEST(HarborGoldenTest, LabCaptureOfARealNginxInFrontOfTheRegistry) {
  const std::string dir = std::string(RRCA_TESTDATA_DIR) + "/harbor/lab";
  AnalyzeOptions options;
  options.files = {dir + "/registry.log"};
  options.proxy_files = {dir + "/proxy.log"};
  options.format = "jsonl";
  const std::string output = AnalyzeOutput(options);
  std::multiset<std::string> causes;
  std::string evidence;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    const nlohmann::json json = nlohmann::json::parse(output.substr(start, end - start));
    start = end + 1;
    if (json.contains("summary")) {
      EXPECT_EQ(json["summary"]["lines_not_understood"]["total"].get<int>(), 0);
      EXPECT_EQ(json["summary"]["lines"].get<int>(), 12 + 61);
      continue;
    }
    causes.insert(json.at("cause").get<std::string>() + " " +
                  std::to_string(json.at("status").get<int>()));
    if (json.at("cause") == "proxy_upstream_timeout") {
      evidence = std::to_string(json.at("registry_status").get<int>()) + " " +
                 std::to_string(json.at("registry_duration_seconds").get<double>()).substr(0, 5);
    }
  }
  // The referee: nginx's access lines of status 499 and 5xx.
  std::ifstream in(dir + "/proxy.log");
  std::string line;
  std::multiset<std::string> referee;
  const std::regex status("\" (499|5[0-9][0-9]) [0-9]+ \"");
  while (std::getline(in, line)) {
    std::smatch match;
    if (std::regex_search(line, match, status)) referee.insert(match[1].str());
  }
  EXPECT_EQ(referee, (std::multiset<std::string>{"499", "502", "502", "504"}));
  EXPECT_EQ(causes,
            (std::multiset<std::string>{"client_gave_up 499", "proxy_upstream_reset 502",
                                        "registry_unavailable 502", "proxy_upstream_timeout 504"}));
  EXPECT_EQ(evidence, "202 10.15");  // the registry finished the 504's PATCH itself, 202
}

// GitLab (tests/testdata/gitlab/NOTES.md, every line real): the registry's LabKit JSON lines as a
// registry source and Omnibus NGINX's gitlab_access.log as a proxy source, read as
// examples/gitlab.yaml configures them. Every line understood, each error once with its cause,
// the 502 of NGINX counted at the proxy hop, and $gzip_ratio not taken for a $request_time.
TEST(HarborGoldenTest, GitLabRegistryJsonAndNginxAccessLogAreRead) {
  const std::string dir = std::string(RRCA_TESTDATA_DIR) + "/gitlab";
  AnalyzeOptions options;
  options.files = {dir + "/registry.log"};
  options.proxy_files = {dir + "/gitlab_access.log"};
  options.format = "jsonl";
  const std::string output = AnalyzeOutput(options);
  std::multiset<std::string> causes;
  bool summary = false;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    const nlohmann::json json = nlohmann::json::parse(output.substr(start, end - start));
    start = end + 1;
    if (json.contains("summary")) {
      summary = true;
      EXPECT_EQ(json["summary"]["lines"].get<int>(), 3 + 5);
      EXPECT_EQ(json["summary"]["lines_not_understood"]["total"].get<int>(), 0)
          << json["summary"]["lines_not_understood"].dump();
      continue;
    }
    std::string what = json.at("cause").get<std::string>() + " " + json.at("status").dump();
    if (json.contains("hop")) what += " " + json.at("hop").get<std::string>();
    causes.insert(what);
    if (json.at("cause") == "storage_misconfigured") {
      // LabKit's correlation_id is the request id (here a 32-hex X-Request-Id).
      EXPECT_EQ(json.at("request_id"), "66e3e0a8eaf11777e73a1bbb98774070");
    }
  }
  EXPECT_TRUE(summary);
  EXPECT_EQ(causes, (std::multiset<std::string>{
                        "storage_misconfigured \"unknown\"", "storage_auth_failed \"unknown\"",
                        "unauthorized 401", "proxy_upstream_reset 502 proxy"}));
}

}  // namespace
}  // namespace rrca::app
