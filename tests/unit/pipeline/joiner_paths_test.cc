// RequestJoiner paths that mutation testing found unguarded: an access line meeting a request
// known only from its error lines, log time running ahead of the wall clock, and identical
// requests whose access lines are read before their summaries.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "exporter/pipeline/joiner.h"
#include "tests/unit/pipeline/joiner_events.h"

namespace rrca::pipeline {
namespace {

using namespace joiner_events;  // NOLINT: the shared test events

constexpr int64_t kWall = 1000 * kSecond;

// The bug the access-line wait fixed: the access line (its own file) found the request known
// from its error line and was merged at once; the summary, read later, counted it again.
TEST(JoinerPathsTest, ErrorLineThenAccessLineThenSummaryIsOneResponse) {
  for (const bool with_wall_clock : {false, true}) {
    SCOPED_TRACE(with_wall_clock ? "daemon (wall clock)" : "analyze (log time only)");
    Collector out;
    RequestJoiner joiner({}, &out);
    if (with_wall_clock) joiner.AdvanceTo(kT0, kWall);
    joiner.OnEvent(ErrorLine(kT0 + kSecond / 5, "r1", "unknown error completing upload: boom"),
                   "app", 0);
    joiner.OnEvent(Access(kT0, 500), "access", 1);
    if (with_wall_clock) joiner.AdvanceTo(kT0 + kSecond, kWall + kSecond);
    EXPECT_TRUE(out.seen.empty()) << "the summary may still come";
    joiner.OnEvent(Summary(kT0 + kSecond / 2, "r1", 500), "app", 0);
    joiner.AdvanceTo(kT0 + 120 * kSecond, with_wall_clock ? kWall + 10 * kSecond : 0);
    joiner.FlushAll();
    ASSERT_EQ(out.seen.size(), 1u);
    EXPECT_EQ(out.seen[0].origin, JoinedRequest::Origin::kSummary);
    EXPECT_EQ(out.seen[0].status, 500);
    EXPECT_EQ(out.seen[0].request_id, "r1");
    EXPECT_EQ(out.seen[0].messages, "error: unknown error completing upload: boom\n");
    EXPECT_EQ(joiner.access_lines_matched(), 1u);
  }
}

// Harbor's one file: the access line comes between the error line and the summary.
TEST(JoinerPathsTest, ErrorLineAccessLineAndSummaryInOneFileAreOneResponse) {
  Collector out;
  RequestJoiner joiner({}, &out);
  joiner.AdvanceTo(kT0, kWall);
  joiner.OnEvent(Summary(kT0, "r0", 200, "/v2/"), "registry", 0);  // the file holds summaries
  joiner.OnEvent(ErrorLine(kT0 + kSecond / 5, "r1", "unknown error completing upload: boom"),
                 "registry", 0);
  joiner.OnEvent(Access(kT0, 500), "registry", 0);
  joiner.OnEvent(Summary(kT0 + kSecond / 2, "r1", 500), "registry", 0);
  joiner.AdvanceTo(kT0 + 120 * kSecond, kWall + 10 * kSecond);
  joiner.FlushAll();
  ASSERT_EQ(out.seen.size(), 2u);
  EXPECT_EQ(out.seen[1].origin, JoinedRequest::Origin::kSummary);
  EXPECT_EQ(out.seen[1].request_id, "r1");
}

// Without a summary, the waiting access line gives the error lines their status when its window
// is over, and the response is counted once.
TEST(JoinerPathsTest, ErrorLinesWithoutSummaryTakeTheirAccessLinesStatusOnce) {
  Collector out;
  RequestJoiner joiner({}, &out);  // access_window 5 s, window 60 s
  joiner.OnEvent(ErrorLine(kT0 + kSecond / 5, "r1", "unknown error completing upload: boom"), "app",
                 0);
  joiner.OnEvent(Access(kT0, 500), "access", 1);
  joiner.AdvanceTo(kT0 + 4 * kSecond);
  EXPECT_TRUE(out.seen.empty());
  joiner.AdvanceTo(kT0 + 6 * kSecond);
  ASSERT_EQ(out.seen.size(), 1u);
  EXPECT_EQ(out.seen[0].origin, JoinedRequest::Origin::kErrorLines);
  EXPECT_EQ(out.seen[0].status, 500);
  EXPECT_EQ(out.seen[0].request_id, "r1");
  joiner.AdvanceTo(kT0 + 120 * kSecond);
  joiner.FlushAll();
  EXPECT_EQ(out.seen.size(), 1u);
}

// In the daemon, log time jumps when another file is read ahead (or caught up); the request's
// summary may be in the next chunk of its own file. The error line must wait for wall time too,
// or it is reported without its summary and the summary counts the response a second time.
TEST(JoinerPathsTest, LogTimeAheadOfWallTimeDoesNotReportErrorLinesTwice) {
  Collector out;
  RequestJoiner joiner({}, &out);  // window 60 s
  joiner.AdvanceTo(kT0, kWall);
  joiner.OnEvent(ErrorLine(kT0, "r1", "unknown error completing upload: boom"), "app", 0);
  joiner.AdvanceTo(kT0 + 100 * kSecond, kWall + kSecond);  // 100 s of log time in 1 s
  EXPECT_TRUE(out.seen.empty()) << "reported before its file's next chunk was read";
  joiner.OnEvent(Summary(kT0 + kSecond / 2, "r1", 500), "app", 0);
  joiner.AdvanceTo(kT0 + 200 * kSecond, kWall + 10 * kSecond);
  joiner.FlushAll();
  ASSERT_EQ(out.seen.size(), 1u);
  EXPECT_EQ(out.seen[0].origin, JoinedRequest::Origin::kSummary);
  EXPECT_EQ(out.seen[0].status, 500);
}

// ... and once the wall-clock wait is over too, the error lines are reported, once.
TEST(JoinerPathsTest, ErrorLinesAreReportedOnceBothWaitsAreOver) {
  Collector out;
  RequestJoiner joiner({}, &out);
  joiner.AdvanceTo(kT0, kWall);
  joiner.OnEvent(ErrorLine(kT0, "r1", "unknown error completing upload: boom"), "app", 0);
  joiner.AdvanceTo(kT0 + 30 * kSecond, kWall + 10 * kSecond);  // wall over, log time not
  EXPECT_TRUE(out.seen.empty());
  joiner.AdvanceTo(kT0 + 61 * kSecond, kWall + 11 * kSecond);
  ASSERT_EQ(out.seen.size(), 1u);
  EXPECT_EQ(out.seen[0].origin, JoinedRequest::Origin::kErrorLines);
  joiner.AdvanceTo(kT0 + 200 * kSecond, kWall + 20 * kSecond);
  joiner.FlushAll();
  EXPECT_EQ(out.seen.size(), 1u);
}

// Access lines in a file of their own, read before the application log: each summary must take
// the closest waiting line. Two mirrored layouts, so a first-fit match fails in whichever order
// it scans: the wrong pick leaves the other summary with no line within tolerance (3 s), and the
// stranded access line is counted as a response of its own.
TEST(JoinerPathsTest, AccessLinesReadFirstPairWithTheirClosestSummary) {
  Collector out;
  RequestJoiner joiner({}, &out);
  const auto summary = [&](int64_t arrival_ms, const char* id, std::string_view uri) {
    // Summary() is written 0.1 s after it arrived.
    joiner.OnEvent(Summary(kT0 + arrival_ms * 1'000'000 + kSecond / 10, id, 202, uri), "app", 0);
  };
  for (std::string_view uri : {"/v2/x/blobs/uploads/", "/v2/y/blobs/uploads/"}) {
    joiner.OnEvent(Access(kT0 + 10 * kSecond, 202, "PATCH", uri), "access", 1);
    joiner.OnEvent(Access(kT0 + 13 * kSecond, 202, "PATCH", uri), "access", 1);
  }
  // x: the first summary (11.0 s) is 0.5 s from the 10 s line and 2.5 s from the 13 s line;
  // the second (13.9 s) is within tolerance of the 13 s line only.
  summary(11'000, "x1", "/v2/x/blobs/uploads/");
  summary(13'900, "x2", "/v2/x/blobs/uploads/");
  // y, mirrored: 12.9 s is closest to the 13 s line; 10.2 s is within tolerance of 10 s only.
  summary(12'900, "y1", "/v2/y/blobs/uploads/");
  summary(10'200, "y2", "/v2/y/blobs/uploads/");
  joiner.AdvanceTo(kT0 + 120 * kSecond);
  joiner.FlushAll();
  EXPECT_EQ(out.seen.size(), 4u);
  for (const Seen& seen : out.seen) {
    EXPECT_EQ(seen.origin, JoinedRequest::Origin::kSummary) << seen.uri << " stranded";
  }
  EXPECT_EQ(joiner.access_lines_matched(), 4u);
}

}  // namespace
}  // namespace rrca::pipeline
