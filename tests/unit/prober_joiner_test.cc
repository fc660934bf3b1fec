// The probe flag of registry-rca's own requests (their user agent) survives the joiner: from an
// error line to its summary, on an access line counted alone, and across a restart (the waiting
// state in the positions file), so that a probe's 500 never becomes a user's error.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "exporter/joiner.h"
#include "tests/unit/exporter_joiner_events.h"

namespace rrca::exporter {
namespace {

using namespace joiner_events;  // NOLINT: the joiner tests' events

constexpr std::string_view kPathNotFound =
    "error resolving upload: s3aws: Path not found: /x/_uploads/u/data";

class ProbeCollector : public JoinedRequestSink {
 public:
  void OnRequest(const JoinedRequest& r) override {
    seen.push_back({std::string(r.request_id), std::string(r.uri), r.status, r.probe});
  }
  struct Request {
    std::string id, uri;
    int status;
    bool probe;
  };
  std::vector<Request> seen;
};

RegistryEvent Probe(RegistryEvent event) {
  event.probe = true;
  return event;
}

TEST(ProberJoiner, ErrorLineOfAProbeMarksItsSummary) {
  ProbeCollector sink;
  RequestJoiner joiner({}, &sink);
  joiner.OnEvent(Probe(ErrorLine(kT0, "p", kPathNotFound, "GET", "/v2/p/blobs/uploads/1")), "app");
  joiner.OnEvent(Summary(kT0 + kSecond / 10, "p", 500, "/v2/p/blobs/uploads/1"), "app");
  joiner.OnEvent(ErrorLine(kT0, "u", kPathNotFound, "PATCH", "/v2/u/blobs/uploads/2"), "app");
  joiner.OnEvent(Summary(kT0 + kSecond / 10, "u", 500, "/v2/u/blobs/uploads/2"), "app");
  joiner.FlushAll();
  ASSERT_EQ(sink.seen.size(), 2u);
  EXPECT_EQ(sink.seen[0].id, "p");
  EXPECT_TRUE(sink.seen[0].probe);
  EXPECT_EQ(sink.seen[1].id, "u");
  EXPECT_FALSE(sink.seen[1].probe);
}

TEST(ProberJoiner, AccessLineAloneKeepsTheFlag) {
  ProbeCollector sink;
  RequestJoiner joiner({}, &sink);
  joiner.OnEvent(Probe(Access(kT0, 500, "GET", "/v2/p/blobs/uploads/1")), "access", 1);
  joiner.OnEvent(Access(kT0, 500, "GET", "/v2/u/blobs/uploads/2"), "access", 1);
  joiner.AdvanceTo(kT0 + 60 * kSecond);
  joiner.FlushAll();
  ASSERT_EQ(sink.seen.size(), 2u);
  EXPECT_TRUE(sink.seen[0].probe);
  EXPECT_FALSE(sink.seen[1].probe);
}

TEST(ProberJoiner, WaitingProbeRequestsSurviveARestart) {
  ProbeCollector before;
  RequestJoiner first({}, &before);
  first.OnEvent(Probe(ErrorLine(kT0, "p", kPathNotFound, "GET", "/v2/p/blobs/uploads/1")), "app");
  first.OnEvent(Probe(Access(kT0, 500, "GET", "/v2/p/blobs/uploads/3")), "access", 1);
  first.OnEvent(Access(kT0, 500, "GET", "/v2/u/blobs/uploads/4"), "access", 1);
  ASSERT_TRUE(before.seen.empty());
  const nlohmann::json saved = nlohmann::json::parse(first.SaveState().dump());

  ProbeCollector after;
  RequestJoiner second({}, &after);
  ASSERT_TRUE(second.RestoreState(saved).ok());
  second.AdvanceTo(kT0 + 120 * kSecond);
  second.FlushAll();
  ASSERT_EQ(after.seen.size(), 3u);
  for (const auto& r : after.seen) {
    EXPECT_EQ(r.probe, r.uri.find("/v2/p/") == 0) << r.uri;
  }
}

}  // namespace
}  // namespace rrca::exporter
