// What was read but not counted survives a restart: the joiner's waiting state and a file's held
// record go into the positions file and come back, so every response is counted exactly once.
#include "exporter/pipeline/carry_over.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "exporter/app/config.h"
#include "exporter/app/rules_loader.h"
#include "exporter/pipeline/joiner.h"
#include "exporter/pipeline/pipeline.h"
#include "tests/unit/pipeline/joiner_events.h"

namespace rrca::app {
namespace {

using namespace pipeline::joiner_events;  // NOLINT: the joiner tests' events and sink

constexpr std::string_view kPathNotFound =
    "error resolving upload: s3aws: Path not found: /x/_uploads/u/data";

// The three kinds of waiting state, each resolved after the restart the way it would have been
// without one: a pending error request gets its summary, a waiting access line is counted when
// its window is over, and a summary already counted swallows its late access line.
TEST(JoinerCarryOver, RestartResolvesEveryWaitingResponseOnce) {
  Collector before;
  pipeline::RequestJoiner first({}, &before);
  first.OnEvent(ErrorLine(kT0, "pending", kPathNotFound, "PATCH", "/v2/a/blobs/uploads/1"), "app");
  first.OnEvent(Access(kT0, 202, "PATCH", "/v2/a/blobs/uploads/2"), "access", 1);
  first.OnEvent(Summary(kT0 + kSecond / 10, "counted", 202, "/v2/a/blobs/uploads/3"), "app");
  ASSERT_EQ(before.seen.size(), 1u);  // only the summary is counted before the restart
  // Through the text the positions file stores: the state must survive serialization.
  const nlohmann::json saved = nlohmann::json::parse(first.SaveState().dump());

  Collector after;
  pipeline::RequestJoiner second({}, &after);
  ASSERT_TRUE(second.RestoreState(saved).ok());
  EXPECT_EQ(second.pending_requests(), 1u);
  EXPECT_EQ(second.pending_access_lines(), 1u);
  second.OnEvent(Summary(kT0 + kSecond, "pending", 500, "/v2/a/blobs/uploads/1"), "app");
  second.OnEvent(Access(kT0, 202, "PATCH", "/v2/a/blobs/uploads/3"), "access",
                 0);  // counted before
  second.AdvanceTo(kT0 + 60 * kSecond);
  second.FlushAll();
  ASSERT_EQ(after.seen.size(), 2u);
  EXPECT_EQ(after.seen[0].request_id, "pending");
  EXPECT_EQ(after.seen[0].status, 500);
  EXPECT_EQ(after.seen[0].err_detail, "s3aws: Path not found: /x/_uploads/u/data");
  EXPECT_EQ(after.seen[1].origin, JoinedRequest::Origin::kAccessLog);
  EXPECT_EQ(after.seen[1].uri, "/v2/a/blobs/uploads/2");
}

TEST(JoinerCarryOver, ReportedErrorsAreNotReportedAgain) {
  Collector before;
  pipeline::RequestJoiner first({}, &before);
  first.OnEvent(Summary(kT0, "twice", 500, "/v2/a/blobs/uploads/1"), "app");
  Collector after;
  pipeline::RequestJoiner second({}, &after);
  ASSERT_TRUE(second.RestoreState(first.SaveState()).ok());
  // The registry writes one summary per error code: the second one, read after the restart.
  second.OnEvent(Summary(kT0, "twice", 500, "/v2/a/blobs/uploads/1"), "app");
  second.FlushAll();
  EXPECT_TRUE(after.seen.empty());
}

TEST(JoinerCarryOver, BrokenStateChangesNothing) {
  Collector sink;
  pipeline::RequestJoiner joiner({}, &sink);
  joiner.OnEvent(ErrorLine(kT0, "kept", kPathNotFound, "PATCH", "/v2/a/blobs/uploads/1"), "app");
  for (const char* text :
       {R"({})", R"({"now": "x", "pending": [], "access": [], "recent_summaries": [],
           "reported_errors": []})",
        R"({"now": 1, "pending": [{"id": "a"}], "access": [], "recent_summaries": [],
           "reported_errors": []})",
        R"({"now": 1, "pending": [], "access": [], "recent_summaries": [[1]],
           "reported_errors": []})"}) {
    EXPECT_FALSE(joiner.RestoreState(nlohmann::json::parse(text)).ok()) << text;
  }
  EXPECT_EQ(joiner.pending_requests(), 1u);
  joiner.FlushAll();
  ASSERT_EQ(sink.seen.size(), 1u);
  EXPECT_EQ(sink.seen[0].request_id, "kept");
}

// The carried state respects the joiner's bound: a state file cannot make it hold more.
TEST(JoinerCarryOver, RestoreKeepsTheBound) {
  Collector sink;
  pipeline::RequestJoiner::Options big;
  pipeline::RequestJoiner first(big, &sink);
  for (int i = 0; i < 50; ++i) {
    first.OnEvent(Access(kT0, 202, "PATCH", "/v2/a/blobs/uploads/" + std::to_string(i)), "access",
                  1);
  }
  pipeline::RequestJoiner::Options small;
  small.max_pending = 10;
  pipeline::RequestJoiner second(small, &sink);
  ASSERT_TRUE(second.RestoreState(first.SaveState()).ok());
  EXPECT_EQ(second.pending_access_lines(), 10u);
}

class Responses : public pipeline::ClassifiedObserver {
 public:
  void OnClassified(const pipeline::Classified& c) override {
    seen.push_back(std::string(c.request.err_detail) + "|" + std::to_string(c.request.status));
  }
  std::vector<std::string> seen;
};

// A registry 2.7/2.8 record continues on the next physical line (raw newline inside a quoted
// AWS error). The positions of a scrape can fall between the two lines: the held first half
// comes back with the file's stream and joins the second half read after the restart.
TEST(PipelineCarryOver, HeldRecordJoinsItsContinuationAfterRestart) {
  auto rules = LoadRules(Config());
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  const std::vector<std::string> sources = {"registry"};
  const tailers::FileKey file{1, 42};
  std::string carried;
  {
    pipeline::Pipeline pipeline({}, rules.value(), nullptr);
    const auto stream = pipeline.OpenStream("registry", tailers::EnvelopeHint::kAuto);
    pipeline.OnLine(stream,
                    R"(time="2023-11-14T22:13:20Z" level=error msg="response completed with )"
                    R"(error" err.code=unknown err.detail="s3aws: AccessDenied: Access Denied)");
    carried = pipeline::SaveCarryOver(pipeline, {{0, file, stream}}, sources);
  }
  ASSERT_NE(carried.find("AccessDenied"), std::string::npos) << carried;

  pipeline::Pipeline pipeline({}, rules.value(), nullptr);
  Responses responses;
  pipeline.AddObserver(&responses);
  auto held = pipeline::RestoreCarryOver(carried, &pipeline, sources);
  ASSERT_TRUE(held.ok()) << held.status().message();
  ASSERT_EQ(held.value().size(), 1u);
  EXPECT_EQ(held.value()[0].file, file);
  const auto stream = pipeline.OpenStream("registry", tailers::EnvelopeHint::kAuto);
  pipeline.RestoreHeld(stream, held.value()[0].held);
  pipeline.OnLine(stream,
                  "\tstatus code: 403, request id: R1, host id: H1\" err.message=\"unknown "
                  "error\" http.request.id=r1 http.request.method=PUT "
                  "http.request.uri=\"/v2/a/manifests/t\" http.response.status=500");
  pipeline.Finish();
  ASSERT_EQ(responses.seen.size(), 1u);
  EXPECT_EQ(responses.seen[0],
            "s3aws: AccessDenied: Access Denied\n\tstatus code: 403, request id: R1, host id: "
            "H1|500");
}

TEST(PipelineCarryOver, RejectsWhatItDidNotWrite) {
  auto rules = LoadRules(Config());
  ASSERT_TRUE(rules.ok());
  pipeline::Pipeline pipeline({}, rules.value(), nullptr);
  for (const char* text : {"", "[]", "{\"version\": 2}", "{\"version\": 1, \"held\": []}",
                           "{\"version\": 1, \"pipeline\": {}, \"held\": [{}]}", "not json"}) {
    EXPECT_FALSE(pipeline::RestoreCarryOver(text, &pipeline, {"registry"}).ok()) << text;
  }
}

}  // namespace
}  // namespace rrca::app
