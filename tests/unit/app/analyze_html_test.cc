// `registry-rca analyze --format=html`: on the seed incident, one self-contained file with the
// overview, the cause and the upload's timeline with the raw line of each event; and its bound.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "exporter/app/analyze.h"
#include "tests/unit/app/analyze_output.h"

namespace rrca::app {
namespace {

const std::string kData = RRCA_TESTDATA_DIR;

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(AnalyzeHtmlTest, TheSeedIncidentAsOneFileWithItsRawLines) {
  AnalyzeOptions options;
  options.files = {kData + "/correlation/seed/registry.log"};
  options.s3_files = {kData + "/correlation/seed/radosgw.log"};
  options.format = "html";
  const std::string html = AnalyzeOutput(options);
  ASSERT_TRUE(html.starts_with("<!doctype html>")) << html.substr(0, 200);
  EXPECT_NE(html.find("<tr class=\"cause\" data-cause=\"upload_not_yet_visible\">"),
            std::string::npos);
  EXPECT_NE(html.find("<section class=\"part cause\" id=\"cause-upload_not_yet_visible\">"),
            std::string::npos);
  const std::string upload = "upload-9ac3ea44-cbb6-4a1b-8048-6e59767c7370";
  const size_t at = html.find("<section class=\"part upload\" id=\"" + upload + "\">");
  ASSERT_NE(at, std::string::npos);
  const std::string section = html.substr(at, html.find("</section>", at) - at);
  EXPECT_NE(section.find("raced_failed"), std::string::npos);
  EXPECT_NE(section.find("id=\"" + upload + "-race\""), std::string::npos);
  // Two store requests and the failed PATCH, each with the line it came from.
  EXPECT_EQ(Count(section, "<g class=\"event "), 3u);
  EXPECT_EQ(Count(section, "<details class=\"raw\">"), 3u);
  EXPECT_NE(section.find("msg=&quot;response completed with error&quot;"), std::string::npos);
  EXPECT_NE(section.find("&quot;POST /harbor/docker/registry/v2/repositories/gitlab-ci/100017681/"
                         "_uploads/9ac3ea44-cbb6-4a1b-8048-6e59767c7370/data?uploads HTTP/1.1"),
            std::string::npos);
  // The overview's example links to the timeline inside the file; nothing leaves it.
  EXPECT_NE(html.find("href=\"#" + upload + "\""), std::string::npos);
  for (const char* absent : {"<script", "<link", "src=", "href=\"/", "<form"}) {
    EXPECT_EQ(html.find(absent), std::string::npos) << absent;
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// 230 uploads raced like the seed's (its lines again, each with its own upload UUID and request
// id): the report draws 200 timelines and says how many more there were.
TEST(AnalyzeHtmlTest, TheTimelinesAreBounded) {
  const std::string registry = ReadFile(kData + "/correlation/seed/registry.log");
  const std::string store = ReadFile(kData + "/correlation/seed/radosgw.log");
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("rrca-analyze-html-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream registry_out(dir / "registry.log"), store_out(dir / "radosgw.log");
  for (int i = 0; i < 230; ++i) {
    char suffix[16];
    std::snprintf(suffix, sizeof(suffix), "%012x", i);
    auto copy = [&](const std::string& text) {
      return ReplaceAll(ReplaceAll(text, "8048-6e59767c7370", std::string("8048-") + suffix),
                        "ae52-b3fbb3714de2", std::string("ae52-") + suffix);
    };
    registry_out << copy(registry);
    store_out << copy(store);
  }
  registry_out.close();
  store_out.close();
  AnalyzeOptions options;
  options.files = {(dir / "registry.log").string()};
  options.s3_files = {(dir / "radosgw.log").string()};
  options.format = "html";
  const std::string html = AnalyzeOutput(options);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(Count(html, "<section class=\"part upload\""), 200u);
  EXPECT_NE(html.find("id=\"uploads-left-out\">30 more upload timelines"), std::string::npos);
}

}  // namespace
}  // namespace rrca::app
