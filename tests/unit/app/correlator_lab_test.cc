// Upload visibility on the lab's own logs (tests/testdata/corpus/lab/s3-async-create: a proxy hid
// new uploads from listings for 2.2 s): what `analyze` prints and exports must bound
// create-to-visible from below by what the logs show, never report the store's 4-13 ms
// acknowledgement as the visible time. The expected figures are recomputed here from the raw log
// lines, independently of the product's parsers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "exporter/app/analyze.h"
#include "tests/unit/app/analyze_output.h"

namespace rrca::app {
namespace {

const std::string kLab = std::string(RRCA_TESTDATA_DIR) + "/corpus/lab/s3-async-create";

std::string Analyze(const std::string& format) {
  AnalyzeOptions options;
  options.files = {kLab + "/registry.log"};
  options.s3_files = {kLab + "/s3-access.log"};
  options.format = format;
  return AnalyzeOutput(options);
}

// Seconds since midnight of an RFC 3339 time's clock part ("...T12:50:41.278638826Z").
double ClockSeconds(const std::string& time) {
  const size_t t = time.find('T');
  return std::stod(time.substr(t + 1, 2)) * 3600 + std::stod(time.substr(t + 4, 2)) * 60 +
         std::stod(time.substr(t + 7));
}

// A Go duration as the registry logs it: "96.569308ms", "731.259µs", "1.2s".
double GoDuration(const std::string& text) {
  const double value = std::stod(text);
  if (text.ends_with("ms")) return value / 1e3;
  if (text.ends_with("µs")) return value / 1e6;
  if (text.ends_with("ns")) return value / 1e9;
  return value;
}

std::string Field(const std::string& line, const std::string& key) {
  const std::regex pattern(key + "=(\"([^\"]*)\"|([^ ]*))");
  std::smatch m;
  if (!std::regex_search(line, m, pattern)) return "";
  return m[2].matched ? m[2].str() : m[3].str();
}

struct Expected {
  double post_arrival = -1;    // the POST that created the upload (registry log)
  double create_logged = -1;   // the store's create start as logged (whole seconds)
  double failed_listing = -1;  // the failed PATCH's listing: arrival + logged driver time
};

// From the raw lines: per upload UUID, the POST's arrival, the failed PATCH's listing time and
// the store's logged create start.
std::map<std::string, Expected> FromLogs() {
  std::map<std::string, Expected> uploads;
  std::map<std::string, std::string> uuid_of_request;
  std::map<std::string, double> writer_of_request;
  std::ifstream registry(kLab + "/registry.log");
  std::string line;
  const std::regex upload_path("_uploads/([0-9a-f-]{36})/data");
  while (std::getline(registry, line)) {
    std::smatch m;
    const std::string id = Field(line, "http.request.id");
    if (line.find("s3aws.Writer(") != std::string::npos &&
        std::regex_search(line, m, upload_path)) {
      uuid_of_request[id] = m[1].str();
      writer_of_request[id] = GoDuration(Field(line, "trace.duration"));
    }
    if (Field(line, "msg").rfind("response completed", 0) != 0) continue;
    const double end = ClockSeconds(Field(line, "time"));
    const double arrival = end - GoDuration(Field(line, "http.response.duration"));
    const std::string method = Field(line, "http.request.method");
    if (method == "POST" && uuid_of_request.count(id) != 0) {
      uploads[uuid_of_request[id]].post_arrival = arrival;
    }
    if (method == "PATCH" &&
        Field(line, "err.detail").find("Path not found") != std::string::npos) {
      std::regex_search(line, m, upload_path);
      uploads[m[1].str()].failed_listing = arrival + writer_of_request.at(id);
    }
  }
  std::ifstream store(kLab + "/s3-access.log");
  const std::regex create(R"(\[\d+/\w+/\d+:(\d+):(\d+):(\d+) \+0000\].*REST\.POST\.UPLOADS )");
  while (std::getline(store, line)) {
    std::smatch m, key;
    if (!std::regex_search(line, m, create) || !std::regex_search(line, key, upload_path)) continue;
    uploads[key[1].str()].create_logged =
        std::stod(m[1].str()) * 3600 + std::stod(m[2].str()) * 60 + std::stod(m[3].str());
  }
  return uploads;
}

TEST(CorrelatorLabTest, LowerBoundsAreNoSmallerThanTheFailedListingAfterTheCreate) {
  const auto uploads = FromLogs();
  const std::string report = Analyze("text");
  int checked = 0;
  for (const auto& [uuid, e] : uploads) {
    if (e.failed_listing < 0) continue;
    ASSERT_GE(e.create_logged, 0) << uuid;
    ASSERT_GE(e.post_arrival, 0) << uuid;
    // The create's start: as the store logged it, a whole second, which cannot be before the
    // registry's POST that made it.
    const double create_start = std::max(e.create_logged, e.post_arrival);
    const double floor = e.failed_listing - create_start;
    ASSERT_GT(floor, 0.1) << uuid;
    const std::regex line(
        "upload " + uuid +
        R"( \(raced and failed\): not visible yet ([0-9.]+) s after create and )"
        R"(never seen visible \(a lower bound\); acknowledged after ([0-9.]+) s)");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(report, m, line)) << uuid << "\n" << report;
    EXPECT_GE(std::stod(m[1].str()), floor - 0.0005) << uuid;
    EXPECT_LE(std::stod(m[2].str()), 0.013) << uuid;  // the store's own ack, said as such
    ++checked;
  }
  EXPECT_EQ(checked, 5);  // every failed PATCH of the capture
  // The headline no longer says all is well: the five are counted as never seen visible.
  EXPECT_NE(report.find("5 never seen visible"), std::string::npos) << report;
  EXPECT_NE(report.find("lower bounds       n=5 "), std::string::npos) << report;
}

TEST(CorrelatorLabTest, JsonSummaryAndMetricsCarryTheBounds) {
  const auto uploads = FromLogs();
  const std::string jsonl = Analyze("jsonl");
  const std::string last = jsonl.substr(jsonl.rfind('\n', jsonl.size() - 2) + 1);
  const nlohmann::json summary = nlohmann::json::parse(last).at("summary").at("uploads");
  EXPECT_EQ(summary.at("never_seen_visible"), 5);
  EXPECT_EQ(summary.at("outcomes").at("raced_failed"), 5);
  ASSERT_EQ(summary.at("examples").size(), 5u);
  for (const auto& example : summary.at("examples")) {
    const auto& v = example.at("visibility");
    EXPECT_EQ(v.at("kind"), "lower_bound");
    EXPECT_TRUE(v.at("upper_seconds").is_null());
    const Expected& e = uploads.at(example.at("upload_uuid").get<std::string>());
    EXPECT_GE(v.at("lower_seconds").get<double>(),
              e.failed_listing - std::max(e.create_logged, e.post_arrival) - 1e-6);
  }

  const std::string metrics = Analyze("metrics");
  auto sample = [&metrics](const std::string& series) {
    const size_t at = metrics.find("\n" + series + " ");
    return at == std::string::npos ? -1.0 : std::stod(metrics.substr(at + series.size() + 2));
  };
  EXPECT_EQ(sample("registry_rca_upload_create_to_visible_lower_bound_seconds_count{bucket="
                   "\"lab-s3-async-create-text\"}"),
            5);
  EXPECT_GE(sample("registry_rca_upload_create_to_visible_lower_bound_seconds_sum{bucket="
                   "\"lab-s3-async-create-text\"}"),
            0.5);
  // The per-repository maximum: the largest lower bound, not the 4-13 ms acknowledgements.
  EXPECT_GE(sample("registry_rca_upload_create_to_visible_max_seconds{repository=\"lab/"
                   "s3-async-create\"}"),
            0.1);
  EXPECT_GE(sample("registry_rca_upload_create_to_visible_max_seconds{repository=\"lab/"
                   "s3-async-create-curl\"}"),
            0.2);
  EXPECT_EQ(sample("registry_rca_uploads_total{outcome=\"raced_failed\",repository=\"lab/"
                   "s3-async-create\"}"),
            4);
}

}  // namespace
}  // namespace rrca::app
