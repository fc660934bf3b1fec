// The parsers and the reader of the hops in front of the registry
// (tailers/parse/harbor/harbor_parse.h, tailers/parse/harbor/harbor_reader.h): nginx access (Harbor
// timed_combined, combined, ingress-nginx) and error lines, Harbor core's Go log and stdlib log,
// plain and in Harbor's syslog form.
#include "tailers/parse/harbor/harbor_parse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/time_util.h"
#include "tailers/parse/harbor/harbor_reader.h"

namespace rrca::tailers {
namespace {

struct Seen {
  HopEvent::Kind kind;
  int64_t time_ns;
  int status;
  int64_t request_time_ns;
  int64_t upstream_time_ns;
  std::string method, uri, message, upstream, request_id;
};

class Collector : public HopEventSink {
 public:
  void OnHopEvent(const HopEvent& e) override {
    seen.push_back({e.kind, e.time_ns, e.status, e.request_time_ns, e.upstream_time_ns,
                    std::string(e.method), std::string(e.uri), std::string(e.message),
                    std::string(e.upstream), std::string(e.request_id)});
  }
  std::vector<Seen> seen;
};

int64_t Utc(const char* text) {
  int64_t ns = 0;
  EXPECT_TRUE(ParseRfc3339(text, &ns)) << text;
  return ns;
}

TEST(HarborParseTest, TimedCombinedWithoutTimeTakesTheSyslogEnvelopesTime) {
  // constructed in Harbor 2.x's timed_combined (make/photon/prepare/templates/nginx/
  // nginx.http.conf.jinja), behind Harbor's log container's syslog envelope
  Collector sink;
  HopReader reader({Hop::kProxy, EnvelopeHint::kAuto, 1 << 20, 2023}, &sink);
  reader.OnLine(
      "Apr 24 01:49:30 172.21.0.1 proxy[3915]: 172.20.1.9 - \"PATCH "
      "/v2/project_name/nginx/blobs/uploads/2c16bfda-12c9-4292-ba85-398b10544a8d?_state=abc "
      "HTTP/1.1\" 504 167 \"-\" \"docker/20.10.17 go/go1.17.11\" 900.004 900.004 .");
  ASSERT_EQ(sink.seen.size(), 1u);
  const Seen& e = sink.seen[0];
  EXPECT_EQ(e.kind, HopEvent::Kind::kAccess);
  EXPECT_EQ(e.status, 504);
  EXPECT_EQ(e.method, "PATCH");
  EXPECT_EQ(e.uri,
            "/v2/project_name/nginx/blobs/uploads/2c16bfda-12c9-4292-ba85-398b10544a8d?_state=abc");
  EXPECT_EQ(e.request_time_ns, 900'004'000'000);
  EXPECT_EQ(e.upstream_time_ns, 900'004'000'000);
  EXPECT_EQ(e.time_ns, Utc("2023-04-24T01:49:30Z"));
  EXPECT_EQ(reader.stats().access_records, 1u);
}

TEST(HarborParseTest, CombinedWithTimeAndRetriedUpstreams) {
  HopEvent event;
  ASSERT_EQ(ParseHopPayload(Hop::kProxy,
                            "10.0.0.1 - - [18/Apr/2019:10:33:44 +0000] \"PUT /v2/a/b/manifests/v1 "
                            "HTTP/1.1\" 502 157 \"-\" \"containerd/1.6\" 0.012 0.004, 0.008 .",
                            &event),
            HopParse::kOk);
  EXPECT_EQ(event.time_ns, Utc("2019-04-18T10:33:44Z"));
  EXPECT_EQ(event.status, 502);
  EXPECT_EQ(event.request_time_ns, 12'000'000);
  EXPECT_EQ(event.upstream_time_ns, 8'000'000);  // the last upstream tried
}

TEST(HarborParseTest, IngressNginxDefaultFormat) {
  // constructed in ingress-nginx's default log-format-upstream
  HopEvent event;
  ASSERT_EQ(ParseHopPayload(
                Hop::kProxy,
                "10.244.0.1 - - [07/Dec/2026:10:00:05 +0000] \"PATCH /v2/lib/app/blobs/uploads/"
                "0b7a1c1e-1111-4c4c-9a9a-123456789abc?_state=x HTTP/1.1\" 504 160 \"-\" "
                "\"docker/24.0.7\" 52428950 60.001 [harbor-harbor-core-80] [] 10.244.1.7:8080 0 "
                "60.000 504 6f1c0e3f2b5d4a8e9c7b1a2d3e4f5a6b",
                &event),
            HopParse::kOk);
  EXPECT_EQ(event.status, 504);
  EXPECT_EQ(event.request_time_ns, 60'001'000'000);
  EXPECT_EQ(event.upstream_time_ns, 60'000'000'000);
  EXPECT_EQ(event.upstream, "10.244.1.7:8080");
  EXPECT_EQ(event.request_id, "6f1c0e3f2b5d4a8e9c7b1a2d3e4f5a6b");
}

// Older ingress-nginx (no [$proxy_alternative_upstream_name]): real line of
// goharbor/harbor-helm#167 (a push through the controller); its $req_id is the X-Request-ID the
// controller forwards.
TEST(HarborParseTest, IngressNginxFormatWithoutAlternativeUpstream) {
  HopEvent event;
  ASSERT_EQ(
      ParseHopPayload(
          Hop::kProxy,
          "192.168.1.1 - [192.168.1.1] - - [05/Mar/2019:08:43:02 +0000] \"HEAD "
          "/v2/pod-info/blobs/"
          "sha256:3ece6832845ac52fd44fb7e7278c105a79b9da053045670ee3f90ddaba6b0615 HTTP/1.1\" "
          "200 0 \"-\" \"docker/18.06.1-ce go/go1.10.4 git-commit/e68fc7a "
          "kernel/4.15.0-43-generic os/linux arch/amd64 "
          "UpstreamClient(Docker-Client/18.06.1-ce \\x5C(linux\\x5C))\" 320 0.002 "
          "[default-docker-registry-5000] 192.168.3.143:5000 0 0.004 200 "
          "902c7f341aa6c4b0922ecb709c73250c",
          &event),
      HopParse::kOk);
  EXPECT_EQ(event.status, 200);
  EXPECT_EQ(event.time_ns, Utc("2019-03-05T08:43:02Z"));
  EXPECT_EQ(event.request_time_ns, 2'000'000);
  EXPECT_EQ(event.upstream_time_ns, 4'000'000);
  EXPECT_EQ(event.upstream, "192.168.3.143:5000");
  EXPECT_EQ(event.request_id, "902c7f341aa6c4b0922ecb709c73250c");
}

TEST(HarborParseTest, ViewerRowWithoutClientIsStillOneResponse) {
  // real: goharbor/harbor#17432 (cut by the source)
  HopEvent event;
  ASSERT_EQ(ParseHopPayload(Hop::kProxy,
                            "2022-08-19 17:04:16 [nginx]    \"GET /v2/ HTTP/1.1\" 499 0 \"-\" "
                            "\"docker/20.10.17+azure-1 go/go1.17.11 git-commit/"
                            "a89b84221c8560e7a3dee2a653353429e7628424 kernel/5.15.0-1017-azure "
                            "os/linux arch/amd64 Upstr",
                            &event),
            HopParse::kOk);
  EXPECT_EQ(event.status, 499);
  EXPECT_EQ(event.uri, "/v2/");
  EXPECT_EQ(event.time_ns, Utc("2022-08-19T17:04:16Z"));
}

TEST(HarborParseTest, NginxErrorLineInSyslogForm) {
  // real: goharbor/harbor#7440 (URIs shortened here; the full line is in tests/testdata/harbor)
  Collector sink;
  HopReader reader({Hop::kProxy, EnvelopeHint::kAuto, 1 << 20, 2019}, &sink);
  reader.OnLine(
      "Apr 18 18:33:44 172.18.0.1 proxy[28102]: 2019/04/18 10:33:44 [error] 9#0: *971 upstream "
      "timed out (110: Connection timed out) while sending request to upstream, client: "
      "192.168.23.9, server: , request: \"PATCH /v2/library/vmware/registry-photon/blobs/uploads/"
      "feb2aac1-8d18-4cda-b58c-ce113cc2f03c?_state=0E HTTP/1.1\", upstream: "
      "\"http://172.18.0.5:8080/registryproxy/v2/library/x\", host: \"192.168.83.124:81\"");
  ASSERT_EQ(sink.seen.size(), 1u);
  const Seen& e = sink.seen[0];
  EXPECT_EQ(e.kind, HopEvent::Kind::kError);
  EXPECT_EQ(e.message,
            "upstream timed out (110: Connection timed out) while sending request to upstream");
  EXPECT_EQ(e.method, "PATCH");
  EXPECT_EQ(e.uri,
            "/v2/library/vmware/registry-photon/blobs/uploads/"
            "feb2aac1-8d18-4cda-b58c-ce113cc2f03c?_state=0E");
  EXPECT_EQ(e.upstream, "http://172.18.0.5:8080/registryproxy/v2/library/x");
  EXPECT_EQ(e.time_ns, Utc("2019-04-18T10:33:44Z"));  // nginx's own time wins
}

TEST(HarborParseTest, NginxErrorLineCutInsideTheUriKeepsWhatArrived) {
  HopEvent event;
  ASSERT_EQ(ParseHopPayload(Hop::kProxy,
                            "2023/04/24 01:49:30 [error] 7#0: *4111 writev() failed (104: "
                            "Connection reset by peer) while sending request to upstream, client: "
                            "172.20.*.*, server: , request: \"PATCH /v2/p/n/blobs/uploads/"
                            "2c16bfda-12c9-4292-ba85-398b10544a8d?_state=B4vQ",
                            &event),
            HopParse::kOk);
  EXPECT_EQ(event.method, "PATCH");
  EXPECT_EQ(event.uri, "/v2/p/n/blobs/uploads/2c16bfda-12c9-4292-ba85-398b10544a8d?_state=B4vQ");
}

TEST(HarborParseTest, CoreStdlibAndGoLogLines) {
  Collector sink;
  HopReader reader({Hop::kCore, EnvelopeHint::kAuto, 1 << 20, 2026}, &sink);
  // real: goharbor/harbor#23005
  reader.OnLine("2026/03/17 14:12:33 http: proxy error: context canceled");
  // constructed: the same behind Harbor's syslog envelope
  reader.OnLine(
      "Mar 17 14:12:34 172.18.0.1 core[1234]: 2026/03/17 14:12:34 http: proxy error: dial tcp "
      "172.18.0.4:5000: connect: connection refused");
  // constructed in Harbor's Go-log format
  reader.OnLine(
      "2026-03-17T14:12:35Z [ERROR] [/server/middleware/util/util.go:40]: failed to proxy");
  reader.OnLine("2026-03-17T14:12:36Z [INFO] [/core/main.go:10]: started");  // counted, not sent
  ASSERT_EQ(sink.seen.size(), 3u);
  EXPECT_EQ(sink.seen[0].message, "http: proxy error: context canceled");
  EXPECT_EQ(sink.seen[0].time_ns, Utc("2026-03-17T14:12:33Z"));
  EXPECT_EQ(sink.seen[1].message,
            "http: proxy error: dial tcp 172.18.0.4:5000: connect: connection refused");
  EXPECT_EQ(sink.seen[2].message, "failed to proxy");
  EXPECT_EQ(reader.stats().error_records, 4u);
}

// Harbor's Go log with the request's id (src/lib/log: "[file:line][requestID=\"...\"]: msg"; the
// requestid middleware keeps an incoming X-Request-ID): the id is the hop event's request_id.
// Constructed in that format.
TEST(HarborParseTest, CoreGoLogLineCarriesItsRequestId) {
  Collector sink;
  HopReader reader({Hop::kCore, EnvelopeHint::kAuto, 1 << 20, 2026}, &sink);
  const std::string line =
      "Mar 17 14:12:35 172.18.0.1 core[1234]: 2026-03-17T14:12:35Z [ERROR] "
      "[/server/middleware/util/util.go:40][requestID=\"6f1f2b6e-3c1d-4c58-9d7e-0a9c2d1e4b55\"]: "
      "failed to proxy";
  reader.OnLine(line);
  // Without the field, or with a value too long to be an id: no id.
  reader.OnLine("2026-03-17T14:12:36Z [ERROR] [/server/x.go:1]: no id [requestID=\"x\"]");
  reader.OnLine("2026-03-17T14:12:37Z [ERROR] [/server/x.go:1][requestID=\"" +
                std::string(65, 'a') + "\"]: long");
  ASSERT_EQ(sink.seen.size(), 3u);
  EXPECT_EQ(sink.seen[0].request_id, "6f1f2b6e-3c1d-4c58-9d7e-0a9c2d1e4b55");
  EXPECT_EQ(sink.seen[0].message, "failed to proxy");
  EXPECT_EQ(sink.seen[1].request_id, "");
  EXPECT_EQ(sink.seen[2].request_id, "");
}

// GitLab's gitlab_access format ends with $gzip_ratio (two decimals, or "-"), not a time: nginx
// writes $request_time with exactly three decimals. Real lines (tests/testdata/gitlab/NOTES.md).
TEST(HarborParseTest, GitLabGzipRatioIsNoRequestTime) {
  HopEvent event;
  ASSERT_EQ(ParseNginxAccess(
                "172.22.0.1 - - [11/Dec/2021:17:48:09 +0000] \"POST /-/profile/password HTTP/1.1\" "
                "200 20255 \"http://localhost/-/profile/password/edit\" \"Mozilla/5.0 (X11; Linux "
                "x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.45 "
                "Safari/537.36\" 4.33",
                &event),
            HopParse::kOk);
  EXPECT_EQ(event.status, 200);
  EXPECT_EQ(event.time_ns, Utc("2021-12-11T17:48:09Z"));
  EXPECT_EQ(event.request_time_ns, -1);
  EXPECT_EQ(event.upstream_time_ns, -1);
  event = HopEvent{};
  ASSERT_EQ(
      ParseNginxAccess("127.0.0.1 - - [11/Dec/2021:17:47:58 +0000] \"GET /help HTTP/1.1\" 200 "
                       "75380 \"\" \"curl/7.79.1-DEV\" -",
                       &event),
      HopParse::kOk);
  EXPECT_EQ(event.request_time_ns, -1);
  // Harbor's timed_combined keeps its times (three decimals).
  event = HopEvent{};
  ASSERT_EQ(ParseNginxAccess("127.0.0.1 - \"PATCH /v2/a/b/blobs/uploads/x HTTP/1.1\" 504 167 \"-\" "
                             "\"curl/7.88.1\" 6.005 6.006 .",
                             &event),
            HopParse::kOk);
  EXPECT_EQ(event.request_time_ns, 6'005'000'000);
  EXPECT_EQ(event.upstream_time_ns, 6'006'000'000);
}

TEST(HarborParseTest, BadLinesAreCountedSkipsNotEvents) {
  Collector sink;
  HopReader reader({Hop::kProxy, EnvelopeHint::kAuto, 64, 2026}, &sink);
  reader.OnLine("not a log line at all");
  reader.OnLine("10.0.0.1 - \"GET /v2/ HTTP/1.1\" 9x9 0");  // no status
  reader.OnLine("2026/03/17 14:12:33 [error 7#0");          // broken level
  reader.OnLine("");
  reader.OnLine("{\"log\":\"truncated");  // broken json-file
  reader.OnLine("10.0.0.1 - \"GET /v2/ HTTP/1.1\" 200 2 \"-\" \"ua\" 0.001 0.001 .");  // success
  EXPECT_TRUE(sink.seen.empty());
  const HopReaderStats& stats = reader.stats();
  EXPECT_EQ(stats.lines, 6u);
  EXPECT_EQ(stats.empty_lines, 1u);
  EXPECT_EQ(stats.skipped[static_cast<size_t>(RecordSkip::kUnknownFormat)], 1u);
  EXPECT_EQ(stats.skipped[static_cast<size_t>(RecordSkip::kMalformed)], 2u);
  EXPECT_EQ(stats.skipped[static_cast<size_t>(RecordSkip::kEnvelopeMalformed)], 1u);
  EXPECT_EQ(stats.access_records, 1u);
}

}  // namespace
}  // namespace rrca::tailers
