// RequestJoiner: one response counted exactly once, whichever lines the logs hold.
#include "exporter/pipeline/joiner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/pipeline/joiner_events.h"

namespace rrca::pipeline {
namespace {

using namespace joiner_events;  // NOLINT: the shared test events

TEST(JoinerTest, SummaryCarriesTheEarlierErrorLinesDetail) {
  Collector out;
  RequestJoiner joiner({}, &out);
  joiner.OnEvent(ErrorLine(kT0, "r1", "error resolving upload: s3aws: Path not found: /x/data"),
                 "s");
  RegistryEvent summary = Summary(kT0 + kSecond / 100, "r1", 500);
  joiner.OnEvent(summary, "s");
  ASSERT_EQ(out.seen.size(), 1u);
  EXPECT_EQ(out.seen[0].origin, JoinedRequest::Origin::kSummary);
  EXPECT_EQ(out.seen[0].status, 500);
  EXPECT_EQ(out.seen[0].err_detail, "s3aws: Path not found: /x/data");
  EXPECT_EQ(out.seen[0].messages,
            "error: error resolving upload: s3aws: Path not found: /x/data\n");
  EXPECT_EQ(joiner.pending_requests(), 0u);
}

TEST(JoinerTest, OneLinePerErrorCodeCountsOnce) {
  Collector out;
  RequestJoiner joiner({}, &out);
  joiner.OnEvent(Summary(kT0, "r1", 400), "s");
  joiner.OnEvent(Summary(kT0, "r1", 400), "s");
  EXPECT_EQ(out.seen.size(), 1u);
}

TEST(JoinerTest, ErrorLinesWithoutSummaryAreReportedAfterTheWindow) {
  Collector out;
  RequestJoiner::Options options;
  options.window_ns = 60 * kSecond;
  RequestJoiner joiner(options, &out);
  joiner.OnEvent(ErrorLine(kT0, "r1", "unknown error completing upload: boom"), "s");
  joiner.AdvanceTo(kT0 + 59 * kSecond);
  EXPECT_TRUE(out.seen.empty());
  joiner.AdvanceTo(kT0 + 61 * kSecond);
  ASSERT_EQ(out.seen.size(), 1u);
  EXPECT_EQ(out.seen[0].origin, JoinedRequest::Origin::kErrorLines);
  EXPECT_EQ(out.seen[0].status, 0);
  EXPECT_EQ(out.seen[0].err_detail, "boom");
}

TEST(JoinerTest, AccessLineAfterItsSummaryIsNotCountedAgain) {
  Collector out;
  RequestJoiner joiner({}, &out);
  joiner.OnEvent(Summary(kT0 + kSecond / 2, "r1", 202), "app");
  joiner.OnEvent(Access(kT0 + kSecond / 2 - kSecond / 10, 202), "access");
  joiner.FlushAll();
  ASSERT_EQ(out.seen.size(), 1u);
  EXPECT_EQ(out.seen[0].origin, JoinedRequest::Origin::kSummary);
  EXPECT_EQ(joiner.access_lines_matched(), 1u);
}

TEST(JoinerTest, AccessLineBeforeItsSummaryIsNotCountedAgain) {
  Collector out;
  RequestJoiner joiner({}, &out);
  joiner.OnEvent(Access(kT0, 202), "access");
  joiner.OnEvent(Summary(kT0 + kSecond / 2, "r1", 202), "app");
  joiner.AdvanceTo(kT0 + 60 * kSecond);
  ASSERT_EQ(out.seen.size(), 1u);
  EXPECT_EQ(out.seen[0].origin, JoinedRequest::Origin::kSummary);
}

TEST(JoinerTest, AccessOnlyResponseIsCountedAfterItsWindow) {
  Collector out;
  RequestJoiner::Options options;
  options.access_window_ns = 5 * kSecond;
  RequestJoiner joiner(options, &out);
  joiner.OnEvent(Access(kT0, 503, "GET", "/v2/"), "access");
  joiner.AdvanceTo(kT0 + 4 * kSecond);
  EXPECT_TRUE(out.seen.empty());
  joiner.AdvanceTo(kT0 + 6 * kSecond);
  ASSERT_EQ(out.seen.size(), 1u);
  EXPECT_EQ(out.seen[0].origin, JoinedRequest::Origin::kAccessLog);
  EXPECT_EQ(out.seen[0].status, 503);
}

TEST(JoinerTest, IdenticalRequestsPairWithTheirClosestPartner) {
  // Ten POSTs to one repository, 0.8 s apart: same key, each must find its own partner.
  Collector out;
  RequestJoiner joiner({}, &out);
  for (int i = 0; i < 10; ++i) {
    joiner.OnEvent(Summary(kT0 + i * 8 * kSecond / 10 + kSecond / 5, "r" + std::to_string(i), 202,
                           "/v2/a/blobs/uploads/"),
                   "app");
  }
  for (int i = 0; i < 10; ++i) {
    joiner.OnEvent(
        Access(kT0 + i * 8 * kSecond / 10 + kSecond / 10, 202, "PATCH", "/v2/a/blobs/uploads/"),
        "access");
  }
  joiner.FlushAll();
  EXPECT_EQ(out.seen.size(), 10u);
  EXPECT_EQ(joiner.access_lines_matched(), 10u);
}

TEST(JoinerTest, AuthorizationWarningAndAccess401AreOneResponse) {
  Collector out;
  RequestJoiner joiner({}, &out);
  RegistryEvent warning =
      ErrorLine(kT0 + kSecond / 10, "r1", "error authorizing context: authorization token required",
                "GET", "/v2/");
  warning.level = Level::kWarning;
  joiner.OnEvent(warning, "app");
  joiner.OnEvent(Access(kT0, 401, "GET", "/v2/"), "access");
  joiner.FlushAll();
  ASSERT_EQ(out.seen.size(), 1u);
  EXPECT_EQ(out.seen[0].status, 401);
  EXPECT_EQ(out.seen[0].request_id, "r1");
}

TEST(JoinerTest, WallClockHoldsBackFlushingInTheDaemon) {
  Collector out;
  RequestJoiner::Options options;
  options.access_window_ns = 5 * kSecond;
  RequestJoiner joiner(options, &out);
  joiner.AdvanceTo(kT0, 1000 * kSecond);
  joiner.OnEvent(Access(kT0, 200, "GET", "/v2/"), "access");
  // Log time jumps (another file read first), but the line was queued only now.
  joiner.AdvanceTo(kT0 + 100 * kSecond, 1000 * kSecond + kSecond);
  EXPECT_TRUE(out.seen.empty());
  joiner.AdvanceTo(kT0 + 100 * kSecond, 1000 * kSecond + 3 * kSecond);
  EXPECT_EQ(out.seen.size(), 1u);
}

// Harbor writes the application log and the access log into one file: there the summary is
// written before its access line, so an unmatched access line is counted within a fraction of
// a second instead of the access window.
TEST(JoinerTest, AccessOnlyLineInAFileWithSummariesIsCountedWithinAFractionOfASecond) {
  Collector out;
  RequestJoiner::Options options;
  options.access_window_ns = 5 * kSecond;
  RequestJoiner joiner(options, &out);
  const int64_t wall = 1000 * kSecond;
  joiner.AdvanceTo(kT0, wall);
  joiner.OnEvent(Summary(kT0, "r1", 202), "registry", 3);
  joiner.OnEvent(Access(kT0, 202), "registry", 3);  // the summary's own line: matched
  joiner.OnEvent(Access(kT0 + kSecond, 401, "GET", "/v2/"), "registry", 3);
  joiner.AdvanceTo(kT0 + kSecond, wall + JoinerWallStep(100));
  EXPECT_EQ(out.seen.size(), 1u);  // the summary only
  joiner.AdvanceTo(kT0 + kSecond, wall + JoinerWallStep(400));
  ASSERT_EQ(out.seen.size(), 2u);
  EXPECT_EQ(out.seen[1].status, 401);
  EXPECT_EQ(out.seen[1].origin, JoinedRequest::Origin::kAccessLog);
  joiner.FlushAll();
  EXPECT_EQ(out.seen.size(), 2u);  // counted once
}

// Without a wall clock (analyze), a few more lines of the same file are enough.
TEST(JoinerTest, AccessOnlyLineIsCountedOnceItsFileHasMovedOn) {
  Collector out;
  RequestJoiner joiner({}, &out);
  joiner.OnEvent(Summary(kT0, "r0", 200, "/v2/"), "registry", 0);
  joiner.OnEvent(Access(kT0, 503, "GET", "/v2/x"), "registry", 0);
  const auto other_request = [&](uint64_t i) {
    joiner.OnEvent(Summary(kT0, "n" + std::to_string(i), 200, "/v2/n"), "registry", 0);
  };
  for (uint64_t i = 0; i + 1 < RequestJoiner::kSameStreamLookahead; ++i) other_request(i);
  joiner.AdvanceTo(kT0);
  EXPECT_EQ(out.seen.size(), RequestJoiner::kSameStreamLookahead);  // summaries only
  other_request(RequestJoiner::kSameStreamLookahead);
  joiner.AdvanceTo(kT0);
  ASSERT_EQ(out.seen.size(), RequestJoiner::kSameStreamLookahead + 2);
  EXPECT_EQ(out.seen.back().status, 503);
  EXPECT_EQ(out.seen.back().origin, JoinedRequest::Origin::kAccessLog);
}

// A summary that comes just after its access line through the other pipe still pairs.
TEST(JoinerTest, SummaryJustAfterItsAccessLineInTheSameFileIsNotCountedTwice) {
  Collector out;
  RequestJoiner joiner({}, &out);
  const int64_t wall = 1000 * kSecond;
  joiner.AdvanceTo(kT0, wall);
  joiner.OnEvent(Summary(kT0, "r0", 200, "/v2/"), "registry", 1);
  joiner.OnEvent(Access(kT0 + kSecond, 202), "registry", 1);
  joiner.OnEvent(Summary(kT0 + kSecond + kSecond / 2, "r1", 202), "registry", 1);
  joiner.AdvanceTo(kT0 + 2 * kSecond, wall + JoinerWallStep(500));
  joiner.FlushAll();
  ASSERT_EQ(out.seen.size(), 2u);
  EXPECT_EQ(out.seen[1].origin, JoinedRequest::Origin::kSummary);
}

// An access log in a file of its own still waits for summaries from the other file.
TEST(JoinerTest, AccessLineInAFileWithoutSummariesWaitsItsWindow) {
  Collector out;
  RequestJoiner::Options options;
  options.access_window_ns = 5 * kSecond;
  RequestJoiner joiner(options, &out);
  const int64_t wall = 1000 * kSecond;
  joiner.AdvanceTo(kT0, wall);
  joiner.OnEvent(Summary(kT0, "r0", 200, "/v2/"), "registry", 0);
  joiner.OnEvent(Access(kT0, 401, "GET", "/v2/x"), "registry", 1);
  joiner.AdvanceTo(kT0 + kSecond, wall + kSecond);
  EXPECT_EQ(out.seen.size(), 1u);
  joiner.AdvanceTo(kT0 + 6 * kSecond, wall + 3 * kSecond);
  EXPECT_EQ(out.seen.size(), 2u);
}

TEST(JoinerTest, PendingRequestsAreBounded) {
  Collector out;
  RequestJoiner::Options options;
  options.max_pending = 100;
  RequestJoiner joiner(options, &out);
  for (int i = 0; i < 1000; ++i) {
    joiner.OnEvent(ErrorLine(kT0, "r" + std::to_string(i), "error: x"), "s");
  }
  EXPECT_LE(joiner.pending_requests(), 101u);
  EXPECT_GE(out.seen.size(), 899u);
}

}  // namespace
}  // namespace rrca::pipeline
