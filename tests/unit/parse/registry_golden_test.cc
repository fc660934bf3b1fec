// Registry log parsing, end to end over real and constructed fixtures: every
// tests/testdata/registry/<case>/input.log is fed line by line through one RegistryReader
// (envelope auto-detected) and each emitted RegistryEvent is rendered as one stable text line,
// followed by the reader's stats; the result must equal <case>/expected.txt.
// RRCA_UPDATE_GOLDEN=1 rewrites the expected files (review the diff by eye before keeping it).
// Each case directory has a NOTES.md saying where its lines come from and what they prove.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/event.h"
#include "common/json_escape.h"
#include "common/time_util.h"
#include "tailers/parse/registry/registry_parse.h"
#include "tailers/parse/registry/registry_reader.h"

namespace rrca::tailers {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxUriChars = 120;

fs::path CasesDir() { return fs::path(RRCA_TESTDATA_DIR) / "registry"; }

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A quoted, single-line rendering: \ " and control bytes escaped, invalid UTF-8 as \xNN, so a
// golden line never breaks and never hides a byte.
std::string Quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  size_t pos = 0;
  while (pos < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[pos]);
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(text, pos);
      if (length > 0) {
        out.append(text.substr(pos, length));
        pos += length;
        continue;
      }
    }
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c >= 0x7F) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      out.push_back(static_cast<char>(c));
    }
    ++pos;
  }
  out += "\"";
  return out;
}

std::string TruncatedUri(std::string_view uri) {
  if (uri.size() <= kMaxUriChars) return Quote(uri);
  return Quote(uri.substr(0, kMaxUriChars)) + "...(" + std::to_string(uri.size()) + " bytes)";
}

std::string Render(const RegistryEvent& event) {
  std::string line = event.kind == RegistryEvent::Kind::kAccessLog ? "access" : "app";
  line += " time=" + (event.time_ns == 0 ? std::string("0") : FormatRfc3339Nanos(event.time_ns));
  line += " level=" + std::string(LevelName(event.level));
  line += " request_id=" + Quote(event.request_id);
  line += " method=" + Quote(event.method);
  line += " uri=" + TruncatedUri(event.uri);
  line += " repository=" + Quote(event.repository);
  line += " upload_uuid=" + Quote(event.upload_uuid);
  line += " status=" + std::to_string(event.status);
  line += " duration_ns=" + std::to_string(event.duration_ns);
  line += " err_code=" + Quote(event.err_code);
  line += " err_message=" + Quote(event.err_message);
  line += " err_detail=" + Quote(event.err_detail);
  line += " msg=" + Quote(event.msg);
  line += " trace_duration_ns=" + std::to_string(event.trace_duration_ns);
  line += " trace_func=" + Quote(event.trace_func);
  return line;
}

std::string RenderStats(const ReaderStats& stats) {
  std::string text = "stats lines=" + std::to_string(stats.lines) +
                     " empty=" + std::to_string(stats.empty_lines) +
                     " continuation=" + std::to_string(stats.continuation_lines) +
                     " unterminated=" + std::to_string(stats.unterminated_records) + "\n";
  text += "records";
  for (size_t i = 0; i < stats.records.size(); ++i) {
    text += " " + std::string(RecordFormatName(static_cast<RecordFormat>(i))) + "=" +
            std::to_string(stats.records[i]);
  }
  text += "\nskipped";
  for (size_t i = 0; i < stats.skipped.size(); ++i) {
    text += " " + std::string(RecordSkipName(static_cast<RecordSkip>(i))) + "=" +
            std::to_string(stats.skipped[i]);
  }
  return text + "\n";
}

class RenderingSink : public RegistryEventSink {
 public:
  void OnRegistryEvent(const RegistryEvent& event) override { text_ += Render(event) + "\n"; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// The whole input through one reader, the way the daemon reads one file: lines without their
// newline, a last line without newline still delivered, Flush() at the end.
std::string RunCase(const std::string& input) {
  RenderingSink sink;
  RegistryReader::Options options;
  options.syslog_year = 2022;  // syslog stamps have no year; fixed so goldens are stable
  RegistryReader reader(options, &sink);
  size_t pos = 0;
  while (pos < input.size()) {
    size_t end = input.find('\n', pos);
    if (end == std::string::npos) end = input.size();
    reader.OnLine(std::string_view(input).substr(pos, end - pos));
    pos = end + 1;
  }
  reader.Flush();
  const ReaderStats& stats = reader.stats();
  uint64_t accounted = stats.empty_lines + stats.continuation_lines;
  for (uint64_t n : stats.records) accounted += n;
  for (uint64_t n : stats.skipped) accounted += n;
  EXPECT_EQ(stats.lines, accounted) << "every physical line is accounted for exactly once";
  return sink.text() + RenderStats(stats);
}

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(CasesDir())) {
    if (fs::exists(entry.path() / "input.log")) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string EventsOnly(const std::string& rendered) {
  return rendered.substr(0, rendered.find("stats lines="));
}

// The first differing line, so a failure is readable without a diff tool.
std::string FirstDifference(const std::string& want, const std::string& got) {
  std::istringstream w(want);
  std::istringstream g(got);
  std::string wl;
  std::string gl;
  for (int line = 1;; ++line) {
    const bool has_w = static_cast<bool>(std::getline(w, wl));
    const bool has_g = static_cast<bool>(std::getline(g, gl));
    if (!has_w && !has_g) return "identical";
    if (!has_w || !has_g || wl != gl) {
      return "line " + std::to_string(line) + "\n  want: " + (has_w ? wl : "<end>") +
             "\n  got:  " + (has_g ? gl : "<end>");
    }
  }
}

// The cases this test is meant to cover; a deleted or renamed fixture must fail loudly.
TEST(RegistryGoldenTest, AllFixturesArePresent) {
  const std::vector<std::string> names = CaseNames();
  const std::set<std::string> required = {"compose",
                                          "cri",
                                          "docker-json",
                                          "gitlab",
                                          "harbor-raw-newline",
                                          "harbor-syslog",
                                          "lab-access",
                                          "lab-text-async-create",
                                          "lab-text-backend-down",
                                          "logrus-json",
                                          "mixed",
                                          "registry-v3-escaped",
                                          "rfc5424",
                                          "svlogd",
                                          "tty"};
  for (const std::string& name : required) {
    EXPECT_TRUE(std::find(names.begin(), names.end(), name) != names.end())
        << "missing fixture " << name;
  }
}

class RegistryGoldenCase : public testing::TestWithParam<std::string> {};

TEST_P(RegistryGoldenCase, MatchesExpectedEvents) {
  const std::string& name = GetParam();
  const char* update_env = std::getenv("RRCA_UPDATE_GOLDEN");
  const bool update = update_env != nullptr && std::string(update_env) == "1";
  const fs::path dir = CasesDir() / name;
  const std::string got = RunCase(ReadFile(dir / "input.log"));
  const fs::path golden = dir / "expected.txt";
  if (update) {
    std::ofstream(golden, std::ios::binary) << got;
  } else {
    ASSERT_TRUE(fs::exists(golden)) << golden << " missing; run with RRCA_UPDATE_GOLDEN=1";
    const std::string want = ReadFile(golden);
    EXPECT_EQ(want, got) << name << ": " << FirstDifference(want, got);
  }
  // A constructed case carries the same records without envelope (or as logrus text) in
  // twin.log: the events must be identical; only the stats may differ.
  if (fs::exists(dir / "twin.log")) {
    const std::string twin = EventsOnly(RunCase(ReadFile(dir / "twin.log")));
    const std::string events = EventsOnly(got);
    EXPECT_FALSE(events.empty());
    EXPECT_EQ(twin, events) << name << " vs twin.log: " << FirstDifference(twin, events);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RegistryGoldenCase, testing::ValuesIn(CaseNames()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string id = info.param;
                           std::replace(id.begin(), id.end(), '-', '_');
                           return id;
                         });

}  // namespace
}  // namespace rrca::tailers
