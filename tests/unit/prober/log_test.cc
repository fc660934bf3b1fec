// registry-rca recognises its own probe requests in the registry's log by their user agent
// (registry-rca-probe/<version>), in every form the registry writes it, and only those.
#include <gtest/gtest.h>

#include <string>

#include "common/event.h"
#include "prober/probe.h"
#include "tailers/parse/registry/registry_parse.h"

namespace rrca::tailers {
namespace {

// Real lines of docker-registry 2.8 answering the probe (tests/e2e/prober_lab_test.sh's lab).
const char kText[] =
    R"(time="2026-12-07T10:20:01.535684101Z" level=error msg="response completed with error" )"
    R"(err.code=unknown err.detail="s3aws: Path not found: /docker/registry/v2/repositories/)"
    R"(registry-rca-probe/_uploads/4555bb90-5ec8-432a-a9a0-8fa96d62afd6/data" go.version=go1.19.8 )"
    R"(http.request.host="127.0.0.1:59235" http.request.id=04c89cd8-7e88-4489-8941-34ff9d96bbb1 )"
    R"(http.request.method=GET http.request.remoteaddr="127.0.0.1:39292" )"
    R"(http.request.uri=/v2/registry-rca-probe/blobs/uploads/4555bb90-5ec8-432a-a9a0-8fa96d62afd6 )"
    R"(http.request.useragent=registry-rca-probe/0.1.0 http.response.status=500)";
const char kAccess[] =
    R"(127.0.0.1 - - [07/Dec/2026:10:19:58 +0000] "POST /v2/registry-rca-probe/blobs/uploads/ )"
    R"(HTTP/1.1" 202 0 "" "registry-rca-probe/0.1.0")";

TEST(ProberLog, TheProberSendsTheAgentTheParserKnows) {
  EXPECT_TRUE(prober::ProbeUserAgent().starts_with(kProbeUserAgentPrefix));
  EXPECT_EQ(prober::kProbeUserAgentPrefix, kProbeUserAgentPrefix);
}

TEST(ProberLog, LogrusText) {
  std::string scratch;
  RegistryEvent event;
  bool interesting = false;
  ASSERT_EQ(ParseLogrusText(kText, false, &scratch, &event, &interesting), ParseStatus::kOk);
  EXPECT_TRUE(event.probe);
  EXPECT_EQ(event.status, 500);

  std::string quoted = kText;
  quoted.replace(quoted.find("useragent=registry-rca-probe/0.1.0"), 34,
                 "useragent=\"registry-rca-probe/0.1.0 (x)\"");
  RegistryEvent again;
  ASSERT_EQ(ParseLogrusText(quoted, false, &scratch, &again, &interesting), ParseStatus::kOk);
  EXPECT_TRUE(again.probe);
}

TEST(ProberLog, OtherAgentsAreUsers) {
  std::string scratch;
  bool interesting = false;
  for (const char* agent :
       {"skopeo/1.9.3", "\"docker/25.0.4 registry-rca-probe/1\"", "registry-rca/0.1.0", "\"\""}) {
    std::string line = kText;
    line.replace(line.find("registry-rca-probe/0.1.0"), 24, agent);
    RegistryEvent event;
    ASSERT_EQ(ParseLogrusText(line, false, &scratch, &event, &interesting), ParseStatus::kOk);
    EXPECT_FALSE(event.probe) << agent;
  }
}

TEST(ProberLog, LogrusJsonAndGitLab) {
  std::string scratch;
  RegistryEvent json;
  ASSERT_EQ(ParseLogrusJson(R"({"http.request.method":"GET","http.request.useragent":)"
                            R"("registry-rca-probe/0.1.0","http.response.status":500,)"
                            R"("level":"error","msg":"response completed with error"})",
                            &scratch, &json),
            ParseStatus::kOk);
  EXPECT_TRUE(json.probe);
  RegistryEvent gitlab;
  ASSERT_EQ(ParseLogrusJson(R"({"method":"GET","user_agent":"registry-rca-probe/2","status":500,)"
                            R"("msg":"access"})",
                            &scratch, &gitlab),
            ParseStatus::kOk);
  EXPECT_TRUE(gitlab.probe);
}

TEST(ProberLog, AccessLogLastField) {
  RegistryEvent event;
  ASSERT_EQ(ParseAccessLog(kAccess, &event), ParseStatus::kOk);
  EXPECT_TRUE(event.probe);
  EXPECT_EQ(event.status, 202);

  std::string user = kAccess;
  user.replace(user.rfind("\"registry-rca-probe/0.1.0\""), 26, "\"curl/7.88.1\"");
  RegistryEvent other;
  ASSERT_EQ(ParseAccessLog(user, &other), ParseStatus::kOk);
  EXPECT_FALSE(other.probe);

  // The probe's path in the request line or the referer is not its agent.
  RegistryEvent referer;
  ASSERT_EQ(ParseAccessLog(R"(1.2.3.4 - - [07/Dec/2026:10:19:58 +0000] "GET /registry-rca-probe/ )"
                           R"(HTTP/1.1" 404 0 "registry-rca-probe/1" "Go-http-client/1.1")",
                           &referer),
            ParseStatus::kOk);
  EXPECT_FALSE(referer.probe);
  // An escaped quote inside the agent does not end it.
  RegistryEvent escaped;
  ASSERT_EQ(ParseAccessLog(R"(1.2.3.4 - - [07/Dec/2026:10:19:58 +0000] "GET /v2/ HTTP/1.1" 200 )"
                           R"(0 "" "registry-rca-probe/1 \"x\"")",
                           &escaped),
            ParseStatus::kOk);
  EXPECT_TRUE(escaped.probe);
  // No agent field at all (common log format).
  RegistryEvent common;
  ASSERT_EQ(ParseAccessLog(R"(1.2.3.4 - - [07/Dec/2026:10:19:58 +0000] "GET /v2/ HTTP/1.1" 200 0)",
                           &common),
            ParseStatus::kOk);
  EXPECT_FALSE(common.probe);
}

}  // namespace
}  // namespace rrca::tailers
