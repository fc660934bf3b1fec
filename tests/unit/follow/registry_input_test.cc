// Hostile and broken input for the registry log path: LineReader, RegistryReader and the record
// parsers. Every case feeds good lines around the bad one and asserts exact counts: the bad line
// is skipped with the right reason (or emitted as far as it goes), nothing crashes or hangs, and
// the good lines still give their events. A seeded mutation test runs real lines through the
// whole reader and checks the stats invariant lines == empty + continuation + records + skipped.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/event.h"
#include "common/json_escape.h"
#include "common/time_util.h"
#include "tailers/follow/line_reader.h"
#include "tailers/parse/registry/registry_parse.h"
#include "tailers/parse/registry/registry_reader.h"

namespace rrca::tailers {
namespace {

namespace fs = std::filesystem;

// Real lines (lab registry 2.8.2 and the seed), shortened where noted only by cutting fields.
constexpr std::string_view kSummary =
    R"(time="2026-11-29T12:50:41.279006344Z" level=error msg="response completed with error" )"
    R"(err.code=unknown err.detail="s3aws: Path not found: /docker/registry/v2/repositories/lab/)"
    R"(s3-async-create/_uploads/dd76ec6c-8952-4e17-921b-3a7532f1889a/data" err.message="unknown )"
    R"(error" go.version=go1.19.8 http.request.id=b3907f41-35bb-43ac-80ee-7b234e5e66ee )"
    R"(http.request.method=PATCH http.request.uri="/v2/lab/s3-async-create/blobs/uploads/)"
    R"(dd76ec6c-8952-4e17-921b-3a7532f1889a" http.response.duration=96.569308ms )"
    R"(http.response.status=500 vars.name="lab/s3-async-create" )"
    R"(vars.uuid=dd76ec6c-8952-4e17-921b-3a7532f1889a)";
constexpr std::string_view kCompleted =
    R"(time="2026-11-29T12:50:40.154065609Z" level=info msg="response completed" )"
    R"(go.version=go1.19.8 http.request.host="127.0.0.1:5000" )"
    R"(http.request.id=83e302c5-77d3-4828-bcd1-683f7d9c299c http.request.method=GET )"
    R"(http.request.uri=/v2/ http.response.duration=7.279346ms http.response.status=200)";
constexpr std::string_view kDebug =
    R"(time="2026-11-29T12:50:40.1539238Z" level=debug msg="authorizing request" )"
    R"(go.version=go1.19.8 http.request.id=83e302c5-77d3-4828-bcd1-683f7d9c299c)";
constexpr std::string_view kAccess =
    R"(127.0.0.1 - - [29/Nov/2026:12:50:41 +0000] "PATCH /v2/lab/s3-async-create/blobs/uploads/)"
    R"(dd76ec6c-8952-4e17-921b-3a7532f1889a HTTP/1.1" 500 245 "" "skopeo/1.9.3")";
constexpr std::string_view kJson =
    R"({"err.code":"unknown","http.request.id":"4220c7a0-4178-4bac-8ab4-3193d5f04818",)"
    R"("http.request.method":"HEAD","http.response.status":500,"level":"error",)"
    R"("msg":"response completed with error","time":"2026-11-29T12:42:45.126371255Z"})";

// Copies what it is handed (views die after the call) and checks every field renders as valid
// JSON, which is what the analyze output and the HTTP API do with them.
class CollectingSink : public RegistryEventSink {
 public:
  struct Copy {
    RegistryEvent::Kind kind;
    int64_t time_ns;
    Level level;
    std::string msg, request_id, method, uri, repository, err_code, err_message, err_detail;
    int status;
    int64_t duration_ns;
  };
  void OnRegistryEvent(const RegistryEvent& e) override {
    events.push_back({e.kind, e.time_ns, e.level, std::string(e.msg), std::string(e.request_id),
                      std::string(e.method), std::string(e.uri), std::string(e.repository),
                      std::string(e.err_code), std::string(e.err_message),
                      std::string(e.err_detail), e.status, e.duration_ns});
    for (std::string_view field : {e.msg, e.request_id, e.method, e.uri, e.repository,
                                   e.upload_uuid, e.err_code, e.err_message, e.err_detail}) {
      std::string json = "\"";
      AppendJsonEscaped(field, &json);
      json += "\"";
      if (!ValidJsonString(json)) ++invalid_json;
    }
  }

  // A JSON string literal: quotes, escapes, no raw control bytes, valid UTF-8.
  static bool ValidJsonString(std::string_view s) {
    if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
    for (size_t i = 1; i + 1 < s.size();) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '"' || c < 0x20) return false;
      if (c == '\\') {
        if (i + 2 >= s.size()) return false;
        const char e = s[i + 1];
        if (e == 'u') {
          for (size_t k = 2; k < 6; ++k) {
            if (i + k + 1 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + k]))) {
              return false;
            }
          }
          i += 6;
        } else if (std::string_view("\"\\/bfnrt").find(e) != std::string_view::npos) {
          i += 2;
        } else {
          return false;
        }
        continue;
      }
      const size_t length = Utf8SequenceLength(s.substr(0, s.size() - 1), i);
      if (length == 0) return false;
      i += length;
    }
    return true;
  }

  std::vector<Copy> events;
  int invalid_json = 0;
};

uint64_t Accounted(const ReaderStats& s) {
  return s.empty_lines + s.continuation_lines +
         std::accumulate(s.records.begin(), s.records.end(), uint64_t{0}) +
         std::accumulate(s.skipped.begin(), s.skipped.end(), uint64_t{0});
}

uint64_t Skipped(const ReaderStats& s, RecordSkip reason) {
  return s.skipped[static_cast<size_t>(reason)];
}

uint64_t Records(const ReaderStats& s, RecordFormat format) {
  return s.records[static_cast<size_t>(format)];
}

struct Harness {
  CollectingSink sink;
  std::unique_ptr<RegistryReader> reader;
  explicit Harness(size_t max_record_bytes = 1 << 20) {
    RegistryReader::Options options;
    options.max_record_bytes = max_record_bytes;
    reader = std::make_unique<RegistryReader>(options, &sink);
  }
  void Feed(std::initializer_list<std::string_view> lines) {
    for (std::string_view line : lines) reader->OnLine(line);
  }
  const ReaderStats& stats() const { return reader->stats(); }
};

// ---------------------------------------------------------------------------------------------
// Garbage, NUL bytes, invalid UTF-8, quotes.

TEST(RegistryInputTest, GarbageBytesAreSkippedAndTheGoodLinesAroundThemCount) {
  Harness run;
  const std::string png("\x89PNG\r\x1a\n\x00\x00\x00\rIHDR", 16);
  const std::string gzip("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xed\xbd", 12);
  const std::string high("\xff\xfe\xfd\xfc\x80\x81 \x90", 8);
  run.Feed({gzip, high, kSummary, png, gzip, kCompleted, high});
  const ReaderStats& s = run.stats();
  ASSERT_EQ(run.sink.events.size(), 2u);
  EXPECT_EQ(run.sink.events[0].status, 500);
  EXPECT_EQ(run.sink.events[1].status, 200);
  EXPECT_EQ(s.lines, 7u);
  // Before any record there is nothing to continue; after a complete record a stray line is
  // an orphan continuation (the reader cannot tell garbage from a lost record's tail).
  EXPECT_EQ(Skipped(s, RecordSkip::kUnknownFormat), 2u);
  EXPECT_EQ(Skipped(s, RecordSkip::kOrphanContinuation), 3u);
  EXPECT_EQ(Records(s, RecordFormat::kLogrusText), 2u);
  EXPECT_EQ(Accounted(s), s.lines);
  EXPECT_EQ(run.sink.invalid_json, 0);
}

TEST(RegistryInputTest, NulBytesInsideAndAroundRecords) {
  Harness run;
  std::string with_nul(kSummary);
  with_nul.replace(with_nul.find("Path not found"), 4, std::string("Pa\0h", 4));
  const std::string only_nul(64, '\0');
  std::string cri_nul = "2024-06-05T10:00:00.123456789Z stderr F ";
  cri_nul += std::string("\0\0\0", 3);
  run.Feed({only_nul, with_nul, only_nul, cri_nul, kCompleted});
  const ReaderStats& s = run.stats();
  ASSERT_EQ(run.sink.events.size(), 2u);
  EXPECT_EQ(run.sink.events[0].err_detail.find(std::string("Pa\0h not found", 14)), 7u);
  EXPECT_EQ(run.sink.events[0].repository, "lab/s3-async-create");
  EXPECT_EQ(Skipped(s, RecordSkip::kUnknownFormat), 1u);
  EXPECT_EQ(Skipped(s, RecordSkip::kOrphanContinuation), 2u);
  EXPECT_EQ(Accounted(s), s.lines);
  EXPECT_EQ(run.sink.invalid_json, 0);
}

TEST(RegistryInputTest, InvalidUtf8IsKeptAndStillRendersAsValidJson) {
  Harness run;
  std::string bad(kSummary);
  // Lone continuation byte, overlong '/', a UTF-16 surrogate and a truncated sequence.
  bad.replace(bad.find("Path"), 4, "\x80\xc0\xaf\xed\xa0\x80\xe2\x82");
  std::string bad_repo(kSummary);
  bad_repo.replace(bad_repo.find("lab/s3-async-create\""), 3, "\xff\xfe\xfd");
  run.Feed({bad, bad_repo, kCompleted});
  ASSERT_EQ(run.sink.events.size(), 3u);
  EXPECT_EQ(run.sink.events[0].err_detail.substr(7, 8), "\x80\xc0\xaf\xed\xa0\x80\xe2\x82");
  EXPECT_EQ(run.sink.events[1].repository, "\xff\xfe\xfd/s3-async-create");
  EXPECT_EQ(run.stats().lines, 3u);
  EXPECT_EQ(Records(run.stats(), RecordFormat::kLogrusText), 3u);
  EXPECT_EQ(run.sink.invalid_json, 0);
}

TEST(RegistryInputTest, LinesOfOnlyQuotes) {
  Harness run;
  const std::string quotes(500, '"');
  const std::string time_quotes = "time=" + std::string(40, '"');
  run.Feed({quotes, kSummary, quotes, time_quotes, quotes, kCompleted});
  const ReaderStats& s = run.stats();
  ASSERT_EQ(run.sink.events.size(), 2u);
  EXPECT_EQ(run.sink.events[1].msg, "response completed");
  EXPECT_EQ(Skipped(s, RecordSkip::kUnknownFormat), 1u);       // before any record
  EXPECT_EQ(Skipped(s, RecordSkip::kOrphanContinuation), 1u);  // after the complete summary
  // time="""... closes on its last quote: a record start without level or msg is malformed;
  // the quotes after it are counted as its (uninteresting) continuation.
  EXPECT_EQ(Skipped(s, RecordSkip::kMalformed), 1u);
  EXPECT_EQ(s.continuation_lines, 1u);
  EXPECT_EQ(Accounted(s), s.lines);
}

// ---------------------------------------------------------------------------------------------
// Unterminated quotes and truncated records.

TEST(RegistryInputTest, UnterminatedQuoteIsEmittedAndTheNextRecordToo) {
  Harness run;
  const std::string cut =
      R"(time="2021-10-25T08:37:17.250894053Z" level=error msg="response completed with error" )"
      R"(auth.user.name="harbor_registry_user" err.code=unknown err.detail="s3aws: )"
      R"(SerializationError: failed to decode REST XML)";
  run.Feed({cut, kSummary});
  run.reader->Flush();
  const ReaderStats& s = run.stats();
  ASSERT_EQ(run.sink.events.size(), 2u);
  EXPECT_EQ(run.sink.events[0].msg, "response completed with error");
  EXPECT_EQ(run.sink.events[0].err_code, "unknown");
  EXPECT_EQ(run.sink.events[0].err_detail, "s3aws: SerializationError: failed to decode REST XML");
  EXPECT_EQ(run.sink.events[0].time_ns, 1635151037250894053);
  EXPECT_EQ(run.sink.events[1].status, 500);
  EXPECT_EQ(run.sink.events[1].request_id, "b3907f41-35bb-43ac-80ee-7b234e5e66ee");
  EXPECT_EQ(s.unterminated_records, 1u);
  EXPECT_EQ(Records(s, RecordFormat::kLogrusText), 2u);
  EXPECT_EQ(Accounted(s), s.lines);
}

TEST(RegistryInputTest, UnterminatedQuoteAtEndOfInputIsEmittedByFlush) {
  Harness run;
  run.Feed({kCompleted,
            R"(time="2022-04-06T03:46:40Z" level=error msg="error resolving upload: s3)",
            "\tstatus code: 503"});
  EXPECT_EQ(run.sink.events.size(), 1u);
  run.reader->Flush();
  ASSERT_EQ(run.sink.events.size(), 2u);
  EXPECT_EQ(run.sink.events[1].msg, "error resolving upload: s3\n\tstatus code: 503");
  EXPECT_EQ(run.stats().continuation_lines, 1u);
  EXPECT_EQ(run.stats().unterminated_records, 1u);
  run.reader->Flush();  // nothing held any more
  EXPECT_EQ(run.sink.events.size(), 2u);
}

TEST(RegistryInputTest, TruncatedJsonLineIsMalformed) {
  Harness run;
  const std::string_view truncated = kJson.substr(0, kJson.size() / 2);
  run.Feed({kJson, truncated, "{", "{\"level\":", "{}", kJson});
  const ReaderStats& s = run.stats();
  ASSERT_EQ(run.sink.events.size(), 2u);
  EXPECT_EQ(run.sink.events[0].status, 500);
  EXPECT_EQ(run.sink.events[0].method, "HEAD");
  EXPECT_EQ(Skipped(s, RecordSkip::kMalformed), 4u);  // truncated, "{", "{"level":", "{}"
  EXPECT_EQ(Records(s, RecordFormat::kLogrusJson), 2u);
  EXPECT_EQ(Accounted(s), s.lines);
}

TEST(RegistryInputTest, TruncatedDockerJsonEnvelopeIsEnvelopeMalformed) {
  Harness run;
  const std::string good = std::string(R"({"log":"time=\"2026-11-29T12:50:40.154065609Z\" )") +
                           R"(level=error msg=\"response completed with error\" )" +
                           R"(http.response.status=503\n","stream":"stderr",)" +
                           R"("time":"2026-11-29T12:50:40.2Z"})";
  const std::string truncated = good.substr(0, 60);
  const std::string bad_escape =
      R"({"log":"x\q\n","stream":"stderr","time":"2026-11-29T12:50:40Z"})";
  const std::string no_log = R"({"log":1,"stream":"stderr"})";
  run.Feed({good, truncated, bad_escape, no_log, good});
  const ReaderStats& s = run.stats();
  ASSERT_EQ(run.sink.events.size(), 2u);
  EXPECT_EQ(run.sink.events[1].status, 503);
  EXPECT_EQ(Skipped(s, RecordSkip::kEnvelopeMalformed), 3u);
  EXPECT_EQ(Accounted(s), s.lines);
}

TEST(RegistryInputTest, BrokenAccessLinesAreMalformed) {
  Harness run;
  run.Feed({kAccess,
            R"(127.0.0.1 - - [29/Nov/2026:12:50:41 +0000] "PATCH /v2/ HTTP/1.1)",  // no end
            R"(127.0.0.1 - - [29/Nov/2026:12:50:41 +0000] "GET" 200 2 "" "x")",    // no URI
            R"(127.0.0.1 - - [39/Nov/2026:12:50:41 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "x")",
            R"(127.0.0.1 - - [29/Nov/2026:12:50:41 +0000] "GET /v2/ HTTP/1.1" 2x0 2 "" "x")",
            kAccess});
  const ReaderStats& s = run.stats();
  ASSERT_EQ(run.sink.events.size(), 2u);
  EXPECT_EQ(run.sink.events[0].kind, RegistryEvent::Kind::kAccessLog);
  EXPECT_EQ(run.sink.events[0].time_ns, 1795956641000000000);
  EXPECT_EQ(Skipped(s, RecordSkip::kMalformed), 4u);
  EXPECT_EQ(Accounted(s), s.lines);
}

TEST(RegistryInputTest, HugeRepositoryNameIsEmittedIntact) {
  Harness run;
  const std::string name = "ns/" + std::string(10000, 'r');
  std::string line(kSummary);
  line.replace(line.find("lab/s3-async-create\""), 19, name);
  line.replace(line.find("/v2/lab/s3-async-create/"), 23, "/v2/" + name);
  run.Feed({line, kCompleted});
  ASSERT_EQ(run.sink.events.size(), 2u);
  EXPECT_EQ(run.sink.events[0].repository, name);
  EXPECT_EQ(run.sink.events[0].uri,
            "/v2/" + name + "/blobs/uploads/dd76ec6c-8952-4e17-921b-3a7532f1889a");
  EXPECT_EQ(run.sink.events[0].status, 500);
  EXPECT_EQ(Accounted(run.stats()), 2u);
}

// ---------------------------------------------------------------------------------------------
// Very long lines: LineReader's limit, RegistryReader's record and fragment limits.

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    path_ = fs::temp_directory_path() /
            ("rrca_input_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { fs::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

TEST(RegistryInputTest, TenMegabyteLineIsSkippedByLineReader) {
  const std::string huge(10 << 20, 'x');
  const std::string content = std::string(kSummary) + "\n" + huge + "\n" + std::string(kCompleted) +
                              "\n" + huge + "\n" + std::string(kDebug);  // last line: no newline
  TempFile file(content);
  std::string error;
  std::unique_ptr<LineReader> lines(LineReader::Open(file.path(), 1 << 20, &error));
  ASSERT_TRUE(lines) << error;
  Harness run;
  std::string_view line;
  std::vector<size_t> sizes;
  while (lines->Next(&line)) {
    sizes.push_back(line.size());
    run.reader->OnLine(line);
  }
  run.reader->Flush();
  EXPECT_EQ(sizes, (std::vector<size_t>{kSummary.size(), kCompleted.size(), kDebug.size()}));
  EXPECT_EQ(lines->lines_too_long(), 2u);
  EXPECT_EQ(lines->bytes_read(), content.size());
  EXPECT_TRUE(lines->error().empty());
  ASSERT_EQ(run.sink.events.size(), 2u);
  EXPECT_EQ(run.stats().lines, 3u);
}

TEST(RegistryInputTest, LineReaderLimitIsInclusive) {
  const size_t max = 1000;
  const std::string at(max, 'a');
  const std::string over(max + 1, 'b');
  TempFile file(at + "\n" + over + "\n\n" + at);
  std::string error;
  std::unique_ptr<LineReader> lines(LineReader::Open(file.path(), max, &error));
  ASSERT_TRUE(lines) << error;
  std::string_view line;
  std::vector<std::string> got;
  while (lines->Next(&line)) got.emplace_back(line);
  EXPECT_EQ(got, (std::vector<std::string>{at, "", at}));
  EXPECT_EQ(lines->lines_too_long(), 1u);
}

TEST(RegistryInputTest, LineReaderOpenFailsCleanly) {
  std::string error;
  EXPECT_EQ(LineReader::Open("/nonexistent/rrca/registry.log", 1024, &error), nullptr);
  EXPECT_NE(error.find("/nonexistent/rrca/registry.log"), std::string::npos);
}

TEST(RegistryInputTest, TenMegabyteLinesThroughRegistryReader) {
  Harness run;  // max_record_bytes = 1 MiB
  const std::string tail(10 << 20, 'a');
  const std::string open_quote =
      R"(time="2026-11-29T12:50:41Z" level=error msg="response completed with error" err.detail=")" +
      tail;
  const std::string complete = std::string(kSummary) + " filler=" + tail;
  run.Feed({open_quote, kCompleted, complete, tail, kCompleted});
  const ReaderStats& s = run.stats();
  // An open quote that could never fit is dropped at once; a complete 10 MB record is parsed
  // in place (nothing is stored) and emitted; a 10 MB line of junk is a stray line.
  EXPECT_EQ(Skipped(s, RecordSkip::kTooLong), 1u);
  EXPECT_EQ(Skipped(s, RecordSkip::kOrphanContinuation), 1u);
  ASSERT_EQ(run.sink.events.size(), 3u);
  EXPECT_EQ(run.sink.events[1].status, 500);
  EXPECT_EQ(run.sink.events[1].repository, "lab/s3-async-create");
  EXPECT_EQ(s.lines, 5u);
  EXPECT_EQ(Accounted(s), s.lines);
}

TEST(RegistryInputTest, OverLongCriFragmentsAreDroppedAsOneLine) {
  Harness run(1 << 20);
  const std::string piece(1 << 20, 'p');  // 10 pieces of 1 MiB: 10 MiB in one logical line
  std::vector<std::string> lines;
  lines.push_back("2024-06-05T10:00:00.1Z stderr F " + std::string(kSummary));
  for (int i = 0; i < 10; ++i) lines.push_back("2024-06-05T10:00:00.2Z stderr P " + piece);
  lines.push_back("2024-06-05T10:00:00.2Z stderr F end-of-the-long-line");
  // A normal joined line right after: its first piece must not be swallowed.
  lines.push_back("2024-06-05T10:00:00.3Z stderr P " + std::string(kSummary.substr(0, 100)));
  lines.push_back("2024-06-05T10:00:00.3Z stderr F " + std::string(kSummary.substr(100)));
  lines.push_back("2024-06-05T10:00:00.4Z stdout F " + std::string(kAccess));
  for (const std::string& line : lines) run.reader->OnLine(line);
  const ReaderStats& s = run.stats();
  EXPECT_EQ(Skipped(s, RecordSkip::kTooLong), 1u);
  EXPECT_EQ(Skipped(s, RecordSkip::kUnknownFormat) + Skipped(s, RecordSkip::kOrphanContinuation),
            0u);
  ASSERT_EQ(run.sink.events.size(), 3u);
  EXPECT_EQ(run.sink.events[1].request_id, "b3907f41-35bb-43ac-80ee-7b234e5e66ee");
  EXPECT_EQ(run.sink.events[1].status, 500);
  EXPECT_EQ(run.sink.events[2].kind, RegistryEvent::Kind::kAccessLog);
  EXPECT_EQ(s.continuation_lines, 11u);  // 10 + 1 P pieces
  EXPECT_EQ(Accounted(s), s.lines);
}

TEST(RegistryInputTest, OverLongDockerJsonFragmentsAreDroppedAsOneLine) {
  Harness run(64 * 1024);
  const std::string piece = R"({"log":")" + std::string(16 * 1024, 'j') +
                            R"(","stream":"stderr","time":"2026-11-29T12:50:40Z"})";
  const std::string last = R"({"log":"end\n","stream":"stderr","time":"2026-11-29T12:50:40Z"})";
  const std::string good = R"({"log":"127.0.0.1 - - [29/Nov/2026:12:50:41 +0000] \"GET /v2/ )"
                           R"(HTTP/1.1\" 200 2 \"\" \"curl\"\n","stream":"stdout",)"
                           R"("time":"2026-11-29T12:50:41Z"})";
  for (int i = 0; i < 8; ++i) run.reader->OnLine(piece);
  run.Feed({last, good});
  const ReaderStats& s = run.stats();
  EXPECT_EQ(Skipped(s, RecordSkip::kTooLong), 1u);
  ASSERT_EQ(run.sink.events.size(), 1u);
  EXPECT_EQ(run.sink.events[0].status, 200);
  EXPECT_EQ(Accounted(s), s.lines);
}

TEST(RegistryInputTest, HeldRecordStopsGrowingAtTheLimit) {
  Harness run(4096);
  run.Feed({R"(time="2026-11-29T12:50:41Z" level=error msg="error resolving upload: a)"});
  const std::string continuation(1000, 'c');
  for (int i = 0; i < 10; ++i) run.reader->OnLine(continuation);
  run.Feed({kCompleted});
  const ReaderStats& s = run.stats();
  // The first line is 70 bytes; 4 continuations fit (70 + 4*1001 = 4074 <= 4096), the 5th
  // does not: the record is emitted with what it has, the 5th line is dropped as too_long and
  // the rest, with no record open any more, are orphans.
  ASSERT_EQ(run.sink.events.size(), 2u);
  EXPECT_EQ(run.sink.events[0].msg, "error resolving upload: a" + ("\n" + continuation) +
                                        ("\n" + continuation) + ("\n" + continuation) +
                                        ("\n" + continuation));
  EXPECT_EQ(s.unterminated_records, 1u);
  EXPECT_EQ(s.continuation_lines, 4u);
  EXPECT_EQ(Skipped(s, RecordSkip::kTooLong), 1u);
  EXPECT_EQ(Skipped(s, RecordSkip::kOrphanContinuation), 5u);
  EXPECT_EQ(Accounted(s), s.lines);
}

// An open quote followed by very many short lines that carry quotes used to re-parse the whole
// held record for every line (O(n^2): minutes for 1 MiB). Now each line costs its own length.
TEST(RegistryInputTest, ManyQuotedContinuationLinesStayLinear) {
  Harness run;
  const auto start = std::chrono::steady_clock::now();
  run.Feed({R"(time="2026-11-29T12:50:41Z" level=error msg="response completed with error" x=")"});
  for (int i = 0; i < 100000; ++i) run.reader->OnLine(R"(" k=")");  // 700 KB < 1 MiB
  run.Feed({kCompleted});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 20.0);
  const ReaderStats& s = run.stats();
  ASSERT_EQ(run.sink.events.size(), 2u);
  EXPECT_EQ(run.sink.events[0].msg, "response completed with error");
  EXPECT_EQ(s.unterminated_records, 1u);
  EXPECT_EQ(s.continuation_lines, 100000u);
  EXPECT_EQ(Accounted(s), s.lines);
}

// A quote-free continuation line cannot close the value; a closing quote followed by
// " key=" or the end does, and what follows is parsed as fields.
TEST(RegistryInputTest, ContinuationDecidesByItsOwnQuotes) {
  Harness run;
  run.Feed(
      {R"(time="2021-01-27T15:03:13Z" level=error msg="response completed with error" )"
       R"(err.detail="s3aws: RequestError: send request failed)",
       R"(caused by: Put "https://s3/x/startedat": dial tcp: i/o timeout" err.message="unknown )"
       R"(error" http.response.status=500 vars.name="library/app")",
       kCompleted});
  ASSERT_EQ(run.sink.events.size(), 2u);
  EXPECT_EQ(run.sink.events[0].err_detail,
            "s3aws: RequestError: send request failed\ncaused by: Put \"https://s3/x/startedat\": "
            "dial tcp: i/o timeout");
  EXPECT_EQ(run.sink.events[0].status, 500);
  EXPECT_EQ(run.sink.events[0].repository, "library/app");
  EXPECT_EQ(run.stats().unterminated_records, 0u);
}

TEST(RegistryInputTest, ColouredTtyRecordIsRecognised) {
  Harness run;
  run.Feed(
      {"\x1b[31mERRO\x1b[0m[0001] response completed with error                 "
       "\x1b[31merr.code\x1b[0m=unknown \x1b[31mhttp.response.status\x1b[0m=500 "
       "\x1b[31mvars.name\x1b[0m=\"a/b\"",
       "\x1b[33mWARN\x1b[0m[0002] \x1b[1mno colour end"});
  ASSERT_EQ(run.sink.events.size(), 2u);
  EXPECT_EQ(run.sink.events[0].level, Level::kError);
  EXPECT_EQ(run.sink.events[0].err_code, "unknown");
  EXPECT_EQ(run.sink.events[0].status, 500);
  EXPECT_EQ(run.sink.events[0].repository, "a/b");
  EXPECT_EQ(run.sink.events[1].msg, "no colour end");
  EXPECT_EQ(Records(run.stats(), RecordFormat::kLogrusTty), 2u);
}

TEST(RegistryInputTest, HeldTtyRecordKeepsLevelAndMessage) {
  Harness run;
  run.Feed(
      {"ERRO[0005] response completed with error                 err.code=unknown "
       "err.detail=\"s3aws: AccessDenied: Access Denied",
       "\tstatus code: 403, request id: 57B2\" http.response.status=500"});
  run.reader->Flush();
  ASSERT_EQ(run.sink.events.size(), 1u);
  EXPECT_EQ(run.sink.events[0].level, Level::kError);
  EXPECT_EQ(run.sink.events[0].msg, "response completed with error");
  EXPECT_EQ(run.sink.events[0].err_detail,
            "s3aws: AccessDenied: Access Denied\n\tstatus code: 403, request id: 57B2");
  EXPECT_EQ(run.sink.events[0].status, 500);
  // Cut before the quote closes: emitted by Flush with level and message.
  Harness cut;
  cut.Feed({"TRAC[0005] error resolving upload  err.detail=\"never closed"});
  cut.reader->Flush();
  ASSERT_EQ(cut.sink.events.size(), 1u);
  EXPECT_EQ(cut.sink.events[0].level, Level::kTrace);
  EXPECT_EQ(cut.sink.events[0].msg, "error resolving upload");
  EXPECT_EQ(cut.sink.events[0].err_detail, "never closed");
  EXPECT_EQ(cut.stats().unterminated_records, 1u);
}

TEST(RegistryInputTest, EmptyAndCarriageReturnLines) {
  Harness run;
  run.Feed({"", "\r", std::string(kCompleted) + "\r", ""});
  EXPECT_EQ(run.stats().empty_lines, 3u);
  ASSERT_EQ(run.sink.events.size(), 1u);
  EXPECT_EQ(run.sink.events[0].duration_ns, 7279346);
  EXPECT_EQ(Accounted(run.stats()), 4u);
}

// ---------------------------------------------------------------------------------------------
// Record start detection and the parsers on the edge of their formats.

TEST(RegistryInputTest, DetectRecordStart) {
  EXPECT_EQ(DetectRecordStart(kSummary), RecordFormat::kLogrusText);
  EXPECT_EQ(DetectRecordStart("level=error msg=x"), RecordFormat::kLogrusText);
  EXPECT_EQ(DetectRecordStart(kJson), RecordFormat::kLogrusJson);
  EXPECT_EQ(DetectRecordStart("INFO[0000] Starting upload purge"), RecordFormat::kLogrusTty);
  EXPECT_EQ(DetectRecordStart("TRAC[0000] trace"), RecordFormat::kLogrusTty);
  EXPECT_EQ(DetectRecordStart("INFO[0"), RecordFormat::kUnknown);  // too short
  EXPECT_EQ(DetectRecordStart(kAccess), RecordFormat::kAccessLog);
  EXPECT_EQ(DetectRecordStart("10.0.0.1 - alice [02/Jan/2006:15:04:05 -0700] \"GET / HTTP/1.1\""),
            RecordFormat::kAccessLog);
  // Host elided (real-error-lines #31) or a different tool's prefix: not gorilla's shape.
  EXPECT_EQ(DetectRecordStart("[03/Jan/2017:07:44:38 +0000] \"GET /v2/_catalog HTTP/2.0\" 500"),
            RecordFormat::kUnknown);
  EXPECT_EQ(DetectRecordStart("2021-07-06 10:11:30.903021 7ff4ddc6f700  1 civetweb: 0x55f7: "
                              "127.0.0.1 - - [06/Jul/2021:10:11:27 +0800] \"PUT /x HTTP/1.1\""),
            RecordFormat::kUnknown);
  EXPECT_EQ(DetectRecordStart("\tstatus code: 503, request id: X"), RecordFormat::kUnknown);
  EXPECT_EQ(DetectRecordStart(""), RecordFormat::kUnknown);
  EXPECT_EQ(RecordFormatName(RecordFormat::kAccessLog), "access_log");
  EXPECT_EQ(RecordSkipName(RecordSkip::kOrphanContinuation), "orphan_continuation");
}

TEST(RegistryInputTest, HeaderOnlyStopsAtUninterestingRecords) {
  std::string scratch;
  RegistryEvent event;
  bool interesting = true;
  EXPECT_EQ(ParseLogrusText(kDebug, true, &scratch, &event, &interesting), ParseStatus::kOk);
  EXPECT_FALSE(interesting);
  EXPECT_EQ(event.level, Level::kDebug);
  EXPECT_EQ(event.request_id, "");  // not read: the scan stopped after msg
  RegistryEvent full;
  EXPECT_EQ(ParseLogrusText(kDebug, false, &scratch, &full, &interesting), ParseStatus::kOk);
  EXPECT_EQ(full.request_id, "83e302c5-77d3-4828-bcd1-683f7d9c299c");
  RegistryEvent none;
  EXPECT_EQ(ParseLogrusText("a b c", false, &scratch, &none, &interesting),
            ParseStatus::kMalformed);
}

TEST(RegistryInputTest, RawInnerQuotesCloseOnlyBeforeAKey) {
  std::string scratch;
  RegistryEvent e;
  bool interesting = false;
  const std::string_view line =
      R"x(time="2022-04-06T03:46:40Z" level=debug msg="s3aws.Writer("/docker/x/data", true)" )x"
      R"(trace.duration=2.248339896s trace.func="base.(*Base).Writer" vars.name="a/b")";
  ASSERT_EQ(ParseLogrusText(line, false, &scratch, &e, &interesting), ParseStatus::kOk);
  EXPECT_EQ(e.msg, R"x(s3aws.Writer("/docker/x/data", true))x");
  EXPECT_EQ(e.trace_duration_ns, 2248339896);
  EXPECT_EQ(e.trace_func, "base.(*Base).Writer");
  EXPECT_EQ(e.repository, "a/b");
}

TEST(RegistryInputTest, JsonFieldsWithUnicodeEscapes) {
  std::string scratch;
  RegistryEvent e;
  const std::string_view line =
      R"({"err.detail":"caf\u00e9 \ud83d\ude00 \ud800 \"q\"","http.request.uri":"/v2/a/blobs/)"
      R"(uploads/u?_state=x\u0026digest=sha256%3Aab","http.response.duration":"1.5ms",)"
      R"("http.response.status":"404","level":"warning","msg":"m","time":"2026-11-29T12:50:40Z"})";
  ASSERT_EQ(ParseLogrusJson(line, &scratch, &e), ParseStatus::kOk);
  EXPECT_EQ(e.err_detail, "caf\xc3\xa9 \xf0\x9f\x98\x80 \xef\xbf\xbd \"q\"");
  EXPECT_EQ(e.uri, "/v2/a/blobs/uploads/u?_state=x&digest=sha256%3Aab");
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.duration_ns, 1500000);
  EXPECT_EQ(e.level, Level::kWarning);
}

// GitLab's duration_ms is read with strtod, which also takes inf, nan and 1e300: those must
// leave the duration unknown rather than overflow the conversion (fuzz/regressions).
TEST(RegistryInputTest, DurationMsOutOfRangeStaysUnknown) {
  for (const char* value : {"inf", "-inf", "nan", "1e300", "-5", "9e12"}) {
    SCOPED_TRACE(value);
    std::string scratch;
    RegistryEvent e;
    bool interesting = false;
    const std::string line =
        std::string(R"(time="2022-09-28T09:40:30.056Z" level=info msg=access )") +
        "duration_ms=" + value + " status=500";
    ASSERT_EQ(ParseLogrusText(line, false, &scratch, &e, &interesting), ParseStatus::kOk);
    EXPECT_TRUE(interesting);
    EXPECT_EQ(e.status, 500);
    EXPECT_EQ(e.duration_ns, -1);
  }
  std::string scratch;
  RegistryEvent e;
  ASSERT_EQ(ParseLogrusJson(R"({"duration_ms":71.5,"msg":"access","status":500})", &scratch, &e),
            ParseStatus::kOk);
  EXPECT_EQ(e.duration_ns, 71500000);
}

// ---------------------------------------------------------------------------------------------
// Seeded mutations of real lines through the whole reader.

std::vector<std::string> CorpusLines() {
  std::vector<std::string> lines;
  const fs::path root = fs::path(RRCA_TESTDATA_DIR) / "registry";
  for (const char* name : {"harbor-syslog", "harbor-raw-newline", "cri", "docker-json", "mixed",
                           "tty", "gitlab", "registry-v3-escaped", "lab-access", "rfc5424"}) {
    std::ifstream in(root / name / "input.log", std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      if (line.size() < 20000) lines.push_back(line);
    }
  }
  return lines;
}

std::string Mutate(std::string line, std::mt19937& rng, const std::vector<std::string>& corpus) {
  static constexpr char kSpecial[] = {'"', '\\', '=', ' ', '\n', '\t',   '\0',   '\x1b', '{',
                                      '}', '[',  ']', '<', '%',  '\xff', '\xc3', ':',    '|'};
  auto pick = [&](size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  const int rounds = 1 + static_cast<int>(pick(4));
  for (int r = 0; r < rounds; ++r) {
    const size_t at = pick(line.size() + 1);
    switch (pick(9)) {
      case 0:  // flip a byte
        if (!line.empty()) line[pick(line.size())] = static_cast<char>(pick(256));
        break;
      case 1:  // insert a byte that matters to some parser
        line.insert(line.begin() + static_cast<std::ptrdiff_t>(at),
                    kSpecial[pick(sizeof kSpecial)]);
        break;
      case 2:  // delete a range
        line.erase(at, pick(64));
        break;
      case 3:  // truncate
        line.resize(at);
        break;
      case 4:  // splice another real line
      {
        const std::string& other = corpus[pick(corpus.size())];
        line = line.substr(0, at) + other.substr(pick(other.size() + 1));
      } break;
      case 5:  // duplicate a range
        line.insert(at, line.substr(pick(line.size() + 1), pick(80)));
        break;
      case 6: {  // wrap in an envelope, possibly partial
        const int kind = static_cast<int>(pick(4));
        if (kind == 0)
          line = "2024-06-05T10:00:00.5Z stderr " + std::string(pick(2) ? "P " : "F ") + line;
        if (kind == 1)
          line = "{\"log\":\"" + line + (pick(2) ? "\\n" : "") + "\",\"stream\":\"stderr\"}";
        if (kind == 2) line = "Apr  6 11:46:40 172.25.0.1 registry[3915]: " + line;
        if (kind == 3) line = "<14>1 2022-04-06T03:46:40Z h registry 1 - - " + line;
        break;
      }
      case 7:  // replace with quotes or colour codes
        line.replace(at, pick(8), pick(2) ? std::string(pick(6), '"') : "\x1b[31m");
        break;
      default:  // keep as is
        break;
    }
  }
  // A physical line never contains '\n': split at it like a file would.
  return line;
}

TEST(RegistryInputTest, RandomMutationsOfRealLinesKeepStatsConsistent) {
  const std::vector<std::string> corpus = CorpusLines();
  ASSERT_GT(corpus.size(), 200u);
  std::mt19937 rng(20261129);
  Harness run(64 * 1024);
  uint64_t fed = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string& base =
        corpus[std::uniform_int_distribution<size_t>(0, corpus.size() - 1)(rng)];
    const std::string mutated = Mutate(base, rng, corpus);
    size_t pos = 0;
    while (true) {  // as a file would deliver it: split at newlines
      const size_t end = mutated.find('\n', pos);
      run.reader->OnLine(std::string_view(mutated).substr(pos, end - pos));
      ++fed;
      if (end == std::string::npos) break;
      pos = end + 1;
    }
    const ReaderStats& s = run.stats();
    ASSERT_EQ(s.lines, fed);
    ASSERT_EQ(Accounted(s), s.lines) << "after mutation " << i;
  }
  run.reader->Flush();
  const ReaderStats& s = run.stats();
  const uint64_t records = std::accumulate(s.records.begin(), s.records.end(), uint64_t{0});
  // Every event comes from exactly one counted record; held records are text or TTY records.
  EXPECT_LE(run.sink.events.size(), records);
  EXPECT_GT(run.sink.events.size(), 1000u);  // the mutations leave most records recognisable
  EXPECT_LE(s.unterminated_records,
            Records(s, RecordFormat::kLogrusText) + Records(s, RecordFormat::kLogrusTty));
  EXPECT_EQ(run.sink.invalid_json, 0);
  for (const auto& e : run.sink.events) {
    EXPECT_TRUE(e.status == 0 || (e.status >= 100 && e.status <= 999));
    EXPECT_GE(e.duration_ns, -1);
  }
}

}  // namespace
}  // namespace rrca::tailers
