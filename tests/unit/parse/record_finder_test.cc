// Records behind prefixes, Harbor's Go log and pasted fragments: each form from a real line that
// an operator posted (tests/testdata/realworld/cases.jsonl names the thread of each id).
#include "tailers/parse/record_finder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tailers/parse/fragment_parse.h"
#include "tailers/parse/registry/registry_reader.h"

namespace rrca::tailers {
namespace {

struct Seen {
  Level level;
  std::string request_id, method, msg, err_code, err_detail;
  int status;
};

class Collect : public RegistryEventSink {
 public:
  void OnRegistryEvent(const RegistryEvent& e) override {
    seen.push_back({e.level, std::string(e.request_id), std::string(e.method), std::string(e.msg),
                    std::string(e.err_code), std::string(e.err_detail), e.status});
  }
  std::vector<Seen> seen;
};

std::vector<Seen> Read(std::string_view text) {
  Collect sink;
  RegistryReader reader({}, &sink);
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    reader.OnLine(text.substr(0, newline));
    if (newline == std::string_view::npos) break;
    text.remove_prefix(newline + 1);
  }
  reader.Flush();
  return sink.seen;
}

constexpr std::string_view kSummary =
    R"(time="2024-07-31T11:28:18.334962549Z" level=error msg="response completed with error" )"
    R"(err.code="blob unknown" err.detail=sha256:f99c http.request.id=r1 )"
    R"(http.request.method=HEAD http.response.status=404)";

// Each prefix from a real case, in front of the same summary: one record, fields intact.
TEST(RecordFinder, FindsTheRecordBehindEveryPrefixUsersPaste) {
  for (std::string_view prefix : {
           "2019-04-05T07:40:32.353662000Z ",                  // docker logs -t (distribution-001)
           "harbor-test-registry-796c7c5df9-2kjtm registry ",  // stern (harbor-046)
           "146102 ",                                          // cat -n (protocol-034)
           "1.5.2019 00:39:58",                                // a viewer's copy (drivers-001)
           "registry-1  | [ 8389.624252] registry[1156]: ",    // compose + tag (protocol-036)
           "registry_registry.1.ty5vu0u6ibnt@ip-172-31-17-47    | ",  // service logs (protocol-041)
           "registry.log:Aug 24 15:12:43 172.21.0.1 registry[2022]: ",  // grep (harbor-001)
           "[pod/registry-0/registry] ",                                // kubectl --prefix
           "registry.log:123:",                                         // grep -n
       }) {
    const std::string line = std::string(prefix) + std::string(kSummary);
    const auto seen = Read(line);
    ASSERT_EQ(seen.size(), 1u) << line;
    EXPECT_EQ(seen[0].status, 404) << line;
    EXPECT_EQ(seen[0].err_code, "blob unknown") << line;
    EXPECT_EQ(seen[0].request_id, "r1") << line;
  }
}

TEST(RecordFinder, NoRecordNoOffset) {
  EXPECT_EQ(FindEmbeddedRecord("runtime=\"5s\" loglevel=debug"), std::string_view::npos);
  EXPECT_EQ(FindEmbeddedRecord(std::string(kSummary)), std::string_view::npos);  // at 0: not ours
  EXPECT_EQ(FindEmbeddedRecord("plain words and a {brace"), std::string_view::npos);
}

// docker logs -t puts its stamp on the continuation line of a 2.7/2.8 raw-newline record too.
TEST(RecordFinder, TimestampedContinuationStaysInTheRecord) {
  const auto seen = Read(
      "2019-04-05T07:40:32.353662000Z time=\"2019-04-05T07:40:32.350330434Z\" level=error "
      "msg=\"response completed with error\" err.code=unknown err.detail=\"s3aws: RequestError: "
      "send request failed\n2019-04-05T07:40:32.354030000Z caused by: Put "
      "https://sos-ch-dk-2.exo.io/"
      "x: dial tcp: i/o timeout\" http.request.id=r2 http.response.status=500");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].status, 500);
  EXPECT_NE(seen[0].err_detail.find("dial tcp: i/o timeout"), std::string::npos);
}

TEST(RecordFinder, AccessLineBehindATimestamp) {
  const auto seen = Read(
      "2015-07-16T12:24:29.911922605Z 192.168.254.129 - - [16/Jul/2015:12:24:29 +0000] "
      "\"GET /v2/ HTTP/1.0\" 401 114 \"\" \"\"");  // protocol-013
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].status, 401);
}

// A log viewer's row around containerd's JSON (protocol-002), and a JSON array element
// (protocol-022): the record inside is read.
TEST(RecordFinder, ShipperJsonAndPastedArrayElements) {
  auto seen = Read(
      R"(2024-06-05 13:13:52.891 | {"stream":"stderr","logtag":"F","message":"time=\"2024-06-05T11:13:52.890874824Z\" level=error msg=\"client disconnected during blob PATCH\" http.request.id=r3 http.request.method=PATCH"} |)");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].msg, "client disconnected during blob PATCH");
  EXPECT_EQ(seen[0].request_id, "r3");
  seen = Read(
      R"(  {"err.code":"blob unknown","err.detail":"sha256:52f3","level":"error","msg":"response completed with error","http.request.id":"r4","http.response.status":404},)");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].status, 404);
}

TEST(HarborGoLog, ParsesLevelMessageAndRelayedErrorCode) {
  RegistryEvent event;
  ASSERT_EQ(
      ParseHarborGoLog(
          R"(2024-10-05T18:12:42Z [ERROR] [/controller/replication/transfer/image/transfer.go:194]: http status code: 400, body: {"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]})",
          &event),
      ParseStatus::kOk);  // harbor-019
  EXPECT_EQ(event.level, Level::kError);
  EXPECT_EQ(event.err_code, "MANIFEST_BLOB_UNKNOWN");
  EXPECT_TRUE(std::string_view(event.msg).starts_with("http status code: 400"));
  // The newer form with a request id block, and an INFO line carrying a storage error.
  const auto seen = Read(
      "/var/log/harbor/registryctl.log:Mar 15 20:19:24 172.22.0.1 registryctl[2643539]: "
      "2022-03-15T19:19:24Z [INFO] [/registryctl/api/registry/blob/blob.go:44][requestID=\"a\"]: "
      "failed to remove blob: sha256:6da6, with error:filesystem: Path not found: /x");  // harbor-037
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].level, Level::kError);
  EXPECT_EQ(seen[0].msg,
            "failed to remove blob: sha256:6da6, with error:filesystem: Path not found: /x");
}

// Fragments: exactly one error each, with the detail the evidence starts at.
TEST(Fragments, EachFormIsOneErrorWithItsDetail) {
  struct Case {
    std::string_view text, detail_start;
    Level level;
  };
  for (const Case& c : std::vector<Case>{
           {"flush: upload part: NoSuchUpload: The specified multipart upload does not exist",
            "NoSuchUpload", Level::kError},  // catalogue-007 (v3 chain)
           {"err.code=unknown err.detail=s3aws: NotImplemented: A header you provided implies "
            "functionality that is not implemented",
            "s3aws: NotImplemented", Level::kError},  // distribution-030 (retyped, unquoted)
           {"registry panic: storage: service returned error: StatusCode=403, "
            "ErrorCode=AccountSizeOverQuota",
            "panic: storage: service returned error", Level::kPanic},  // drivers-004
           {"error resolving upload: s3aws: SerializationError: failed to decode REST XML "
            "response\ncaused by: parsing time \"2023-05-08T09:55:40.981+00:00\"",
            "s3aws: SerializationError", Level::kError},  // harbor-044, two lines: one error
           {"        status code: 500, request id: 1658477831540841, host id: 12624152\" "
            "err.message=\"unknown error\"",
            "status code: 500", Level::kError},  // distribution-026 (second half only)
       }) {
    const auto seen = Read(c.text);
    ASSERT_EQ(seen.size(), 1u) << c.text;
    EXPECT_TRUE(seen[0].err_detail.starts_with(c.detail_start)) << seen[0].err_detail;
    EXPECT_EQ(seen[0].level, c.level) << c.text;
    EXPECT_EQ(seen[0].request_id, "");
  }
}

TEST(Fragments, NoEvidenceIsNoError) {
  EXPECT_TRUE(Read("Feb 23 14:11:00 172.18.0.1 registry[20352]: main.main()").empty());
  EXPECT_TRUE(Read("just some words about a registry").empty());
  RegistryEvent event;
  std::string scratch;
  EXPECT_FALSE(ParseFragment("listening on [::]:5000", &scratch, &event));
}

// A blog's typographic quotes (harbor-035) are read as ASCII quotes.
TEST(Fragments, TypographicQuotesAreRead) {
  const auto seen = Read(
      "Apr 6 11:46:40 172.25.0.1 registry[3915]: time=\xe2\x80\x9d"
      "2022-04-06T03:46:40.800755496Z\xe2\x80\x9d level=error msg=\xe2\x80\x9dresponse completed "
      "with error\xe2\x80\x9d err.code=unknown http.response.status=500");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].status, 500);
}

// A record copied out of a JSON string keeps its escaping (catalogue-017); a Go-log record goes
// on over the reporter's next lines (harbor-015); a fragment cut after a colon (distribution-012).
TEST(Fragments, EscapedPastesWrappedGoLogAndCutFragments) {
  auto seen =
      Read(R"(time=\"2025-06-10T09:58:24Z\" level=error msg=\"response completed with error\" )"
           R"(err.detail=\"upload part: RequestCanceled: request context canceled\\ncaused by: )"
           R"(context canceled\" http.request.id=r5 http.response.status=500)");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].err_detail,
            "upload part: RequestCanceled: request context canceled\ncaused by: context canceled");
  seen = Read(
      "[ERROR] [/server/middleware/repoproxy/proxy.go:162]: failed to proxy manifest, fallback "
      "to local,\nrequest uri: /v2/cache/library/node/manifests/sha256:d32c,\nerror: login to "
      "dockerhub error: {\"detail\": \"Rate limit exceeded\", \"error\": false}\n"
      "time=\"2024-07-31T11:28:18Z\" level=error msg=\"response completed with error\" "
      "http.response.status=500");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0].err_detail.find("Rate limit exceeded"), std::string::npos);
  EXPECT_EQ(seen[1].status, 500);
  seen = Read("s3aws: Path not found:\n/docker/registry/v2/repositories/r/_uploads/u/data");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].err_detail,
            "s3aws: Path not found:\n/docker/registry/v2/repositories/r/_uploads/u/data");
}

}  // namespace
}  // namespace rrca::tailers
