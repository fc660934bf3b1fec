// The probe flag of registry-rca's own requests (their user agent) survives the joiner: from an
// error line to its summary, on an access line counted alone, and across a restart (the waiting
// state in the positions file), so that a probe's 500 never becomes a user's error; and the
// pipeline keeps the probe's uploads (their store events too) out of the upload correlator.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "exporter/app/config.h"
#include "exporter/app/rules_loader.h"
#include "exporter/pipeline/correlator.h"
#include "exporter/pipeline/joiner.h"
#include "exporter/pipeline/pipeline.h"
#include "tests/unit/pipeline/joiner_events.h"

namespace rrca::app {
namespace {

using namespace pipeline::joiner_events;  // NOLINT: the joiner tests' events

constexpr std::string_view kPathNotFound =
    "error resolving upload: s3aws: Path not found: /x/_uploads/u/data";

class ProbeCollector : public pipeline::JoinedRequestSink {
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
  pipeline::RequestJoiner joiner({}, &sink);
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
  pipeline::RequestJoiner joiner({}, &sink);
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
  pipeline::RequestJoiner first({}, &before);
  first.OnEvent(Probe(ErrorLine(kT0, "p", kPathNotFound, "GET", "/v2/p/blobs/uploads/1")), "app");
  first.OnEvent(Probe(Access(kT0, 500, "GET", "/v2/p/blobs/uploads/3")), "access", 1);
  first.OnEvent(Access(kT0, 500, "GET", "/v2/u/blobs/uploads/4"), "access", 1);
  ASSERT_TRUE(before.seen.empty());
  const nlohmann::json saved = nlohmann::json::parse(first.SaveState().dump());

  ProbeCollector after;
  pipeline::RequestJoiner second({}, &after);
  ASSERT_TRUE(second.RestoreState(saved).ok());
  second.AdvanceTo(kT0 + 120 * kSecond);
  second.FlushAll();
  ASSERT_EQ(after.seen.size(), 3u);
  for (const auto& r : after.seen) {
    EXPECT_EQ(r.probe, r.uri.find("/v2/p/") == 0) << r.uri;
  }
}

// The lab capture where the store hid new uploads (the s3-async-create corpus), read through the
// pipeline as the daemon does: the registry's log, then the store's. kProbe: the registry's
// requests on the upload `uuid` (its POST too) carry the probe's user agent, as the registry
// probe's do; kSpoofed: only its later requests do (someone claiming the probe's user agent on
// another client's upload).
enum class Agent { kUser, kProbe, kSpoofed };
struct LabRun {
  size_t uploads = 0;  // decided uploads, every outcome
  bool explained = false;
  size_t probe_uploads = 0;
};
LabRun RunLab(const std::string& uuid, Agent agent) {
  const std::string dir = std::string(RRCA_TESTDATA_DIR) + "/corpus/lab/s3-async-create/";
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    EXPECT_FALSE(lines.empty()) << path;
    return lines;
  };
  std::vector<std::string> registry = read(dir + "registry.log");
  if (agent != Agent::kUser) {
    const std::regex id("http\\.request\\.id=([0-9a-f-]+)");
    std::set<std::string> ids;  // the requests that name the upload, its POST among them
    std::smatch m;
    for (const std::string& line : registry) {
      if (line.find(uuid) != std::string::npos && std::regex_search(line, m, id)) ids.insert(m[1]);
    }
    EXPECT_EQ(ids.size(), 2u);  // POST, PATCH
    for (std::string& line : registry) {
      if (!std::regex_search(line, m, id) || !ids.contains(m[1])) continue;
      if (agent == Agent::kSpoofed && line.find("http.request.method=POST") != std::string::npos) {
        continue;
      }
      const size_t at = line.find("http.request.useragent=skopeo/1.9.3");
      EXPECT_NE(at, std::string::npos) << line;
      if (at != std::string::npos) {
        line.replace(at, 35, "http.request.useragent=registry-rca-probe/test");
      }
    }
  }
  auto config = ParseConfig("sources: [{name: r, paths: [x.log]}]\n", "c.yaml");
  EXPECT_TRUE(config.ok());
  auto rules = LoadRules(config.value());
  EXPECT_TRUE(rules.ok());
  pipeline::Pipeline pipeline(PipelineOptionsFrom(config.value(), 2026), rules.value(), nullptr);
  const auto app = pipeline.OpenStream("registry", tailers::EnvelopeHint::kAuto);
  const auto store = pipeline.OpenStream("store", tailers::EnvelopeHint::kNone,
                                         pipeline::Pipeline::StreamKind::kS3);
  for (const std::string& line : registry) pipeline.OnLine(app, line);
  for (const std::string& line : read(dir + "s3-access.log")) pipeline.OnLine(store, line);
  pipeline.Finish();
  LabRun run;
  for (const auto& [outcome, count] : pipeline.correlator().summary().outcomes)
    run.uploads += count;
  run.explained = pipeline.correlator().Explain(uuid).has_value();
  run.probe_uploads = pipeline.probe_uploads();
  return run;
}

TEST(ProberPipeline, TheProbesUploadIsNoUploadOfTheCorrelator) {
  const std::string uuid = "dd76ec6c-8952-4e17-921b-3a7532f1889a";
  const LabRun users = RunLab(uuid, Agent::kUser);
  ASSERT_TRUE(users.explained);
  ASSERT_GE(users.uploads, 2u);
  EXPECT_EQ(users.probe_uploads, 0u);
  const LabRun probed = RunLab(uuid, Agent::kProbe);
  EXPECT_EQ(probed.uploads, users.uploads - 1);
  EXPECT_EQ(probed.probe_uploads, 1u);
  // Not even the store's side of it: no timeline for the explain API, no state held.
  EXPECT_FALSE(probed.explained);
  // A request that only claims the probe's user agent on another client's upload is not counted
  // as a user's, but it does not hide that upload's store side: only a probe's POST names one.
  const LabRun spoofed = RunLab(uuid, Agent::kSpoofed);
  EXPECT_TRUE(spoofed.explained);
  EXPECT_EQ(spoofed.probe_uploads, 0u);
}

// The store's log shows the probe POST's own store calls before the registry's log names the
// upload: the configured probe repository keeps them out all the same, in any order.
TEST(ProberPipeline, StoreEventsInTheProbeRepositoryNeverReachTheCorrelator) {
  const std::string dir = std::string(RRCA_TESTDATA_DIR) + "/corpus/lab/s3-async-create/";
  auto config = ParseConfig("sources: [{name: r, paths: [x.log]}]\n", "c.yaml");
  ASSERT_TRUE(config.ok());
  auto rules = LoadRules(config.value());
  ASSERT_TRUE(rules.ok());
  for (const bool probe_repository : {false, true}) {
    pipeline::Pipeline pipeline(PipelineOptionsFrom(config.value(), 2026), rules.value(), nullptr);
    if (probe_repository) pipeline.SetProbeRepositories({"other/repo", "lab/s3-async-create"});
    const auto store = pipeline.OpenStream("store", tailers::EnvelopeHint::kNone,
                                           pipeline::Pipeline::StreamKind::kS3);
    std::ifstream in(dir + "s3-access.log");
    size_t lines = 0;
    for (std::string line; std::getline(in, line); ++lines) pipeline.OnLine(store, line);
    ASSERT_GT(lines, 10u);
    pipeline.Tick();
    // Only the store's side so far: the correlator holds (and would explain) it unless excluded;
    // lab/s3-async-create-curl is another repository (an exact name, not a prefix).
    const auto& correlator = pipeline.correlator();
    EXPECT_EQ(correlator.Explain("dd76ec6c-8952-4e17-921b-3a7532f1889a").has_value(),
              !probe_repository);
    EXPECT_EQ(correlator.Explain("4bb8aead-d200-46c2-ba37-aeaeb501f577").has_value(),
              !probe_repository);
    EXPECT_TRUE(correlator.Explain("31d7096b-0e38-427b-9bd6-cf4a23af5f96").has_value());
  }
}

}  // namespace
}  // namespace rrca::app
