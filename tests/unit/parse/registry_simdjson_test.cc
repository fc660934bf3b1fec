// ParseLogrusJson reads logrus JSON records with simdjson On-Demand and falls back to json_scan
// (ParseLogrusJsonScan) for what simdjson refuses. These tests hold it to json_scan's results on
// hand-made edge cases and on every JSON line of the test fixtures, check which reader ran, and
// check that the event's views outlive the next parse as json_scan's did.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/event.h"
#include "tailers/parse/registry/registry_parse.h"

namespace rrca::tailers {
namespace {

namespace fs = std::filesystem;

// Everything a RegistryEvent carries, as text, so two events compare with one EXPECT_EQ.
std::string Describe(ParseStatus status, const RegistryEvent& e) {
  std::string out = "status=" + std::to_string(static_cast<int>(status));
  out += " kind=" + std::to_string(static_cast<int>(e.kind));
  out += " time=" + std::to_string(e.time_ns);
  out += " level=" + std::to_string(static_cast<int>(e.level));
  for (const auto& [name, value] : {std::pair<const char*, std::string_view>{"msg", e.msg},
                                    {"request_id", e.request_id},
                                    {"method", e.method},
                                    {"uri", e.uri},
                                    {"repository", e.repository},
                                    {"upload_uuid", e.upload_uuid},
                                    {"err_code", e.err_code},
                                    {"err_message", e.err_message},
                                    {"err_detail", e.err_detail},
                                    {"trace_func", e.trace_func}}) {
    out += std::string(" ") + name + "=[" + std::string(value) + "]";
  }
  out += " http_status=" + std::to_string(e.status);
  out += " duration=" + std::to_string(e.duration_ns);
  out += " trace_duration=" + std::to_string(e.trace_duration_ns);
  out += " probe=" + std::to_string(e.probe);
  return out;
}

enum class Reader { kSimdjson, kJsonScan, kEither };

struct Parsed {
  std::string text;                   // Describe() of ParseLogrusJson's result
  std::string reference;              // Describe() of ParseLogrusJsonScan's result
  Reader reader = Reader::kSimdjson;  // which one ran
};

Parsed Parse(std::string_view record) {
  Parsed out;
  std::string scratch;
  RegistryEvent event;
  const LogrusJsonStats before = LogrusJsonStatsOfThisThread();
  const ParseStatus status = ParseLogrusJson(record, &scratch, &event);
  const LogrusJsonStats after = LogrusJsonStatsOfThisThread();
  EXPECT_EQ(after.simdjson + after.json_scan, before.simdjson + before.json_scan + 1);
  out.reader = after.simdjson > before.simdjson ? Reader::kSimdjson : Reader::kJsonScan;
  out.text = Describe(status, event);
  std::string reference_scratch;
  RegistryEvent reference;
  out.reference = Describe(ParseLogrusJsonScan(record, &reference_scratch, &reference), reference);
  return out;
}

struct Case {
  const char* name;
  std::string record;
  Reader reader;         // which reader must have read it
  const char* contains;  // a part of Describe() the result must hold
};

std::string Nested(int depth) {
  return std::string(static_cast<size_t>(depth), '[') +
         std::string(static_cast<size_t>(depth), ']');
}

std::vector<Case> Cases() {
  const std::string summary =
      R"({"http.request.id":"r1","http.request.method":"PUT","http.request.uri":"/v2/a/b/blobs/)"
      R"(uploads/u1?digest=sha256%3Aab","http.response.duration":"1.5s","http.response.status":201,)"
      R"("level":"info","msg":"response completed","time":"2026-11-29T12:50:40Z",)"
      R"("vars.name":"a/b","vars.uuid":"u1"})";
  return {
      {"summary", summary, Reader::kSimdjson,
       "msg=[response completed] request_id=[r1] method=[PUT]"},
      {"status as a number", R"({"msg":"m","http.response.status":503})", Reader::kSimdjson,
       "http_status=503"},
      {"status as a string", R"({"msg":"m","http.response.status":"404"})", Reader::kSimdjson,
       "http_status=404"},
      {"status with an exponent", R"({"msg":"m","status":2e2})", Reader::kSimdjson,
       "http_status=0"},
      {"status as a huge number", R"({"msg":"m","status":123456789012345678901234567890})",
       Reader::kSimdjson, "http_status=0"},
      {"status escaped in a string", R"({"msg":"m","status":"5\u00300"})", Reader::kSimdjson,
       "http_status=500"},
      {"huge duration_ms", R"({"msg":"access","duration_ms":1e400,"status":500})",
       Reader::kSimdjson, "duration=-1"},
      {"duration_ms", R"({"msg":"access","duration_ms":71.5 ,"status":500})", Reader::kSimdjson,
       "duration=71500000"},
      {"duplicate keys: the last wins", R"({"msg":"first","level":"info","msg":"second"})",
       Reader::kSimdjson, "msg=[second]"},
      {"error only when there is no detail",
       R"({"msg":"m","err.detail":"d","error":"e","err.detail":"d2"})", Reader::kSimdjson,
       "err_detail=[d2]"},
      {"escapes decoded",
       R"({"msg":"a\"b\\c\n\/","err.detail":"caf\u00e9 \ud83d\ude00 \ud800","level":"error"})",
       Reader::kSimdjson,
       "msg=[a\"b\\c\n/] request_id=[] method=[] uri=[] repository=[] upload_uuid=[] "
       "err_code=[] err_message=[] err_detail=[caf\xc3\xa9 \xf0\x9f\x98\x80 \xef\xbf\xbd]"},
      {"a bad escape keeps what was decoded", R"({"msg":"ab\x","level":"error"})",
       Reader::kSimdjson, "msg=[ab]"},
      {"an escaped key matches nothing", R"({"ms\u0067":"hidden","level":"info","msg":"m"})",
       Reader::kSimdjson, "msg=[m]"},
      {"a key with an escaped quote", R"({"msg\"":"hidden","level":"info"})", Reader::kSimdjson,
       "msg=[]"},
      {"numbers, booleans and null in string fields",
       R"({"msg":123,"err.code":true,"err.message":null,"level":"error"})", Reader::kSimdjson,
       "msg=[123] request_id=[] method=[] uri=[] repository=[] upload_uuid=[] err_code=[true] "
       "err_message=[null]"},
      {"an object in a field we read", R"({"msg":"m","err.detail":{"a":[1,"}"]},"level":"error"})",
       Reader::kJsonScan, R"(err_detail=[{"a":[1,"}"]}])"},
      // Registry records are flat: any object or array sends the line to json_scan.
      {"an object in a field we ignore", R"({"msg":"m","extra":{"a":[1,2]},"level":"error"})",
       Reader::kJsonScan, "msg=[m]"},
      // On-Demand takes a string followed by ':' for a key when it skips it; json_scan stops.
      {"a colon after a value", R"({"level":"info":"x","msg":"m"})", Reader::kJsonScan,
       "status=2 kind=0 time=0 level=3 msg=[]"},
      {"a missing value", R"({"http.response.status":500,"x":}},"msg":"m"})", Reader::kJsonScan,
       "status=2 kind=0 time=0 level=0 msg=[]"},
      {"a colon after an ignored value", R"({"x":"info":"y","msg":"m"})", Reader::kJsonScan,
       "status=2 kind=0 time=0 level=0 msg=[]"},
      {"invalid UTF-8", "{\"msg\":\"caf\xc3\x28\",\"level\":\"error\"}", Reader::kJsonScan,
       "msg=[caf\xc3(]"},
      // Text after the object: simdjson 3.0.1 refuses some (unbalanced brackets) and stops after
      // the object on others, as json_scan always does; either way the same event.
      {"text after the object", R"({"msg":"m","level":"info"}] ,)", Reader::kEither,
       "status=0 kind=0 time=0 level=3 msg=[m]"},
      {"an RGW ops entry before the array's end",
       R"({"msg":"m","level":"info","x":[{"k":"a}","e":"\"]"}]}])", Reader::kEither,
       "status=0 kind=0 time=0 level=3 msg=[m]"},
      {"deep nesting in an ignored field", R"({"msg":"m","x":)" + Nested(2000) + "}",
       Reader::kJsonScan, "msg=[m]"},
      {"deep nesting in a field we read", R"({"msg":"m","err.detail":)" + Nested(2000) + "}",
       Reader::kJsonScan, "err_detail=[[[["},
      {"unterminated object", R"({"msg":"m","level":"info")", Reader::kJsonScan,
       "status=2 kind=0 time=0 level=3 msg=[m]"},
      // simdjson lets a bare value run on into a quoted part; json_scan ends it at the space.
      {"a number running into a quoted part", R"({"msg":4"u v","level":"info"})", Reader::kJsonScan,
       "status=2 kind=0 time=0 level=0 msg=[4\"u]"},
      {"the same in an ignored field", R"({"x":4"u v","msg":"m"})", Reader::kJsonScan,
       "status=2 kind=0 time=0 level=0 msg=[]"},
      {"a byte order mark", "\xEF\xBB\xBF{\"msg\":\"m\"}", Reader::kJsonScan, "status=2"},
      {"missing comma", R"({"msg":"m" "level":"info"})", Reader::kJsonScan, "level=3 msg=[m]"},
      {"empty object", "{}", Reader::kSimdjson, "status=2"},
      {"not an object", R"(["msg","m"])", Reader::kJsonScan, "status=2"},
      {"empty record", "", Reader::kJsonScan, "status=2"},
      {"over 64 KiB", R"({"msg":"m","pad":")" + std::string(70000, 'x') + R"(","level":"info"})",
       Reader::kJsonScan, "level=3 msg=[m]"},
      {"just under 64 KiB",
       R"({"msg":"m","pad":")" + std::string(65000, 'x') + R"(","level":"info"})",
       Reader::kSimdjson, "level=3 msg=[m]"},
  };
}

TEST(RegistrySimdjsonTest, SameResultAsJsonScanOnEdgeCases) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    const Parsed parsed = Parse(c.record);
    EXPECT_EQ(parsed.text, parsed.reference);
    EXPECT_NE(parsed.text.find(c.contains), std::string::npos) << parsed.text;
    if (c.reader != Reader::kEither) {
      EXPECT_EQ(parsed.reader, c.reader);
    }
  }
}

// Unescaped values live in the caller's scratch and the others in the record, as json_scan's
// did: the next record parsed on the same thread (simdjson's buffers reused) leaves them intact.
TEST(RegistrySimdjsonTest, ViewsOutliveTheNextRecord) {
  const std::string first =
      R"({"msg":"caf\u00e9","err.detail":"plain detail","http.request.uri":"/v2/a\u0026b/",)"
      R"("level":"error"})";
  const std::string second =
      R"({"msg":"zzzzzzzzzzz","err.detail":"yyyyyyyyyyyyyyy","http.request.uri":"/v2/\u0078\u0078/",)"
      R"("level":"info"})";
  std::string scratch_first;
  std::string scratch_second;
  RegistryEvent a;
  RegistryEvent b;
  const uint64_t simdjson_before = LogrusJsonStatsOfThisThread().simdjson;
  ASSERT_EQ(ParseLogrusJson(first, &scratch_first, &a), ParseStatus::kOk);
  ASSERT_EQ(ParseLogrusJson(second, &scratch_second, &b), ParseStatus::kOk);
  EXPECT_EQ(LogrusJsonStatsOfThisThread().simdjson, simdjson_before + 2);
  EXPECT_EQ(a.msg, "caf\xc3\xa9");
  EXPECT_EQ(a.err_detail, "plain detail");
  EXPECT_EQ(a.uri, "/v2/a&b/");
  EXPECT_EQ(b.uri, "/v2/xx/");
  // Unescaped values in the scratch, the rest in the record itself.
  EXPECT_GE(a.msg.data(), scratch_first.data());
  EXPECT_LT(a.msg.data(), scratch_first.data() + scratch_first.size());
  EXPECT_GE(a.err_detail.data(), first.data());
  EXPECT_LT(a.err_detail.data(), first.data() + first.size());
}

// Each thread has its own parser: records parsed at once on two threads come out right.
TEST(RegistrySimdjsonTest, ThreadsParseAtOnce) {
  auto work = [](std::string msg, int* failures) {
    const std::string record = R"({"level":"error","msg":")" + msg + R"(","status":502})";
    for (int i = 0; i < 20000; ++i) {
      std::string scratch;
      RegistryEvent e;
      if (ParseLogrusJson(record, &scratch, &e) != ParseStatus::kOk || e.msg != msg ||
          e.status != 502) {
        ++*failures;
      }
    }
    if (LogrusJsonStatsOfThisThread().simdjson != 20000) ++*failures;
  };
  int failures_a = 0;
  int failures_b = 0;
  std::thread a(work, std::string(300, 'a'), &failures_a);
  std::thread b(work, std::string(40, 'b'), &failures_b);
  a.join();
  b.join();
  EXPECT_EQ(failures_a, 0);
  EXPECT_EQ(failures_b, 0);
}

// Every line starting with '{' in the fixtures (logrus JSON, GitLab, Docker json-file envelopes,
// MinIO audit, RGW ops, garbled lines, the real-world cases' records), and each cut short: the
// same event and status as json_scan. simdjson reads nearly all lines of the registry's logs
// (the nested store logs and case records go to json_scan).
TEST(RegistrySimdjsonTest, SameResultAsJsonScanOnEveryFixtureLine) {
  size_t lines = 0;
  size_t registry_lines = 0;  // logrus JSON, GitLab and json-file lines of the registry's logs
  size_t registry_by_simdjson = 0;
  size_t truncated = 0;
  for (const auto& entry : fs::recursive_directory_iterator(RRCA_TESTDATA_DIR)) {
    if (!entry.is_regular_file()) continue;
    const std::string ext = entry.path().extension().string();
    if (ext != ".log" && ext != ".jsonl") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.starts_with("{")) continue;
      SCOPED_TRACE(entry.path().string() + ": " + line.substr(0, 200));
      const Parsed parsed = Parse(line);
      ASSERT_EQ(parsed.text, parsed.reference);
      ++lines;
      const std::string path = entry.path().string();
      if (ext == ".log" && (path.find("/registry/") != std::string::npos ||
                            path.find("/gitlab/") != std::string::npos)) {
        ++registry_lines;
        registry_by_simdjson += parsed.reader == Reader::kSimdjson ? 1 : 0;
      }
      // A line cut short (a partial write, a truncated paste): every 7th length.
      for (size_t length = 1; length < line.size() && length < 2000; length += 7) {
        const Parsed cut = Parse(std::string_view(line).substr(0, length));
        ASSERT_EQ(cut.text, cut.reference) << "cut at " << length;
        ++truncated;
      }
    }
  }
  std::printf(
      "fixture JSON lines: %zu; of the registry's logs: %zu, read by simdjson: %zu; truncated "
      "variants: %zu\n",
      lines, registry_lines, registry_by_simdjson, truncated);
  EXPECT_GT(lines, 300u);
  EXPECT_GT(registry_lines, 100u);
  EXPECT_GE(registry_by_simdjson, registry_lines * 95 / 100);
}

}  // namespace
}  // namespace rrca::tailers
