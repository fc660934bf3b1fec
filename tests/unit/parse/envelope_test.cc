// Envelope detection and removal per format (tailers/parse/envelope.h), PeekLineTime, and the JSON
// object scanner the Docker json-file and logrus JSON paths share (tailers/parse/json_scan.h).
#include "tailers/parse/envelope.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/time_util.h"
#include "tailers/parse/json_scan.h"
#include "tailers/parse/registry/registry_parse.h"

namespace rrca::tailers {
namespace {

constexpr std::string_view kRecord =
    R"(time="2022-04-06T03:46:40.800755496Z" level=error msg="response completed with error")";

int64_t Utc(std::string_view rfc3339) {
  int64_t ns = 0;
  EXPECT_TRUE(ParseRfc3339(rfc3339, &ns)) << rfc3339;
  return ns;
}

struct Case {
  std::string line;
  Envelope envelope;
  std::string payload;
  int64_t time_ns;
  bool partial = false;
  bool malformed = false;
};

void ExpectUnwrap(const Case& c, EnvelopeHint hint = EnvelopeHint::kAuto, int year = 2022) {
  SCOPED_TRACE(c.line);
  std::string scratch;
  const Unwrapped u = Unwrap(c.line, hint, year, &scratch);
  EXPECT_EQ(EnvelopeName(u.envelope), EnvelopeName(c.envelope));
  EXPECT_EQ(u.payload, c.payload);
  EXPECT_EQ(u.time_ns, c.time_ns);
  EXPECT_EQ(u.partial, c.partial);
  EXPECT_EQ(u.malformed, c.malformed);
}

const std::string kR(kRecord);

TEST(EnvelopeTest, NoEnvelope) {
  ExpectUnwrap({kR, Envelope::kNone, kR, 0});
  ExpectUnwrap({"level=info msg=x", Envelope::kNone, "level=info msg=x", 0});
  ExpectUnwrap({"", Envelope::kNone, "", 0});
  ExpectUnwrap({"\tstatus code: 503", Envelope::kNone, "\tstatus code: 503", 0});
  ExpectUnwrap({"127.0.0.1 - - [29/Nov/2026:12:50:41 +0000] \"GET /v2/ HTTP/1.1\" 200 2",
                Envelope::kNone,
                "127.0.0.1 - - [29/Nov/2026:12:50:41 +0000] \"GET /v2/ HTTP/1.1\" 200 2", 0});
}

TEST(EnvelopeTest, HarborSyslog) {
  const int64_t t = Utc("2022-04-06T11:46:40Z");  // local time of the log host, taken as UTC
  ExpectUnwrap({"Apr  6 11:46:40 172.25.0.1 registry[3915]: " + kR, Envelope::kSyslog, kR, t});
  ExpectUnwrap({"Apr 6 11:46:40 172.25.0.1 registry[3915]: " + kR, Envelope::kSyslog, kR, t});
  ExpectUnwrap({"<30>Apr  6 11:46:40 172.25.0.1 registry[3915]: " + kR, Envelope::kSyslog, kR, t});
  ExpectUnwrap({"Apr  6 11:46:40 registry[3915]: " + kR, Envelope::kSyslog, kR, t});  // no host
  ExpectUnwrap({"Apr  6 11:46:40 host registry: " + kR, Envelope::kSyslog, kR, t});   // no pid
  ExpectUnwrap(
      {"Dec 31 23:59:59 h registry[1]: x", Envelope::kSyslog, "x", Utc("2022-12-31T23:59:59Z")});
  ExpectUnwrap({"Apr  6 11:46:40 172.25.0.1 registry[3915]:", Envelope::kSyslog, "", t});
  // The stack trace lines of harbor#16404: rsyslog's #011 for a tab stays in the payload.
  ExpectUnwrap({"Feb 23 14:11:00 172.18.0.1 registry[20352]: #011/go/src/x.go:86 +0x213",
                Envelope::kSyslog, "#011/go/src/x.go:86 +0x213", Utc("2022-02-23T14:11:00Z")});
}

TEST(EnvelopeTest, SyslogLookalikesAreNotSyslog) {
  for (const std::string line : {"Apr 32 11:46:40 h registry[1]: x", "Apr  0 11:46:40 h r: x",
                                 "Apx  6 11:46:40 h registry[1]: x", "Apr  6 11-46-40 h r: x",
                                 "Apr  6 11:46:40 host tag-without-colon payload"}) {
    SCOPED_TRACE(line);
    std::string scratch;
    const Unwrapped u = Unwrap(line, EnvelopeHint::kAuto, 2022, &scratch);
    EXPECT_NE(u.envelope, Envelope::kSyslog);
    EXPECT_EQ(u.payload, line);
    EXPECT_EQ(u.time_ns, 0);
  }
}

TEST(EnvelopeTest, Rfc5424) {
  const int64_t t = Utc("2022-04-06T03:46:40.800Z");
  ExpectUnwrap(
      {"<165>1 2022-04-06T03:46:40.800Z host registry 3915 - - " + kR, Envelope::kRfc5424, kR, t});
  ExpectUnwrap(
      {"<14>1 2022-04-06T05:46:40.800+02:00 host registry 3915 ID47 "
       "[meta sequenceId=\"1\" note=\"a \\] b\"][x@1 y=\"z\"] " +
           kR,
       Envelope::kRfc5424, kR, t});
  ExpectUnwrap({"<14>1 2022-04-06T03:46:40.800Z host registry 3915 - - \xEF\xBB\xBF" + kR,
                Envelope::kRfc5424, kR, t});
  ExpectUnwrap({"<14>1 - host registry - - - " + kR, Envelope::kRfc5424, kR, 0});  // NILVALUE
  ExpectUnwrap(
      {"<14>1 2022-04-06T03:46:40.800Z host registry 3915 - -", Envelope::kRfc5424, "", t});
}

TEST(EnvelopeTest, Cri) {
  const int64_t t = Utc("2024-06-05T10:00:00.123456789Z");
  ExpectUnwrap({"2024-06-05T10:00:00.123456789Z stderr F " + kR, Envelope::kCri, kR, t});
  ExpectUnwrap({"2024-06-05T10:00:00.123456789Z stdout P " + kR, Envelope::kCri, kR, t, true});
  ExpectUnwrap({"2024-06-05T12:00:00.123456789+02:00 stderr F x", Envelope::kCri, "x", t});
  ExpectUnwrap({"2024-06-05T10:00:00.123456789Z stderr F", Envelope::kCri, "", t});
  ExpectUnwrap({"2024-06-05T10:00:00.123456789Z stderr F ", Envelope::kCri, "", t});
  // Not CRI: unknown stream, unknown tag, a tag glued to the payload.
  for (const std::string line :
       {"2024-06-05T10:00:00.123456789Z stdin F x", "2024-06-05T10:00:00.123456789Z stderr X x",
        "2024-06-05T10:00:00.123456789Z stderr Fx"}) {
    ExpectUnwrap({line, Envelope::kNone, line, 0});
  }
}

TEST(EnvelopeTest, DockerJsonFile) {
  const int64_t t = Utc("2026-11-29T12:50:40.120469061Z");
  const std::string time = R"(,"stream":"stderr","time":"2026-11-29T12:50:40.120469061Z"})";
  ExpectUnwrap({R"({"log":"time=\"x\" msg=\"a \u003c\u0026\u003e b\"\n")" + time,
                Envelope::kDockerJson, R"(time="x" msg="a <&> b")", t});
  ExpectUnwrap({R"({"log":"first piece")" + time, Envelope::kDockerJson, "first piece", t, true});
  ExpectUnwrap({R"({"log":"crlf\r\n")" + time, Envelope::kDockerJson, "crlf", t});
  ExpectUnwrap({R"({"log":"\n")" + time, Envelope::kDockerJson, "", t});
  ExpectUnwrap({R"({"log":"no time\n"})", Envelope::kDockerJson, "no time", 0});
  // Broken wrappers are reported, never guessed at.
  ExpectUnwrap({R"({"log":"truncated)", Envelope::kDockerJson, "", 0, false, true});
  ExpectUnwrap({R"({"log":"x\n","stream":"std)", Envelope::kDockerJson, "", 0, false, true});
  ExpectUnwrap({R"({"log":"bad \x escape\n"})", Envelope::kDockerJson, "", 0, false, true});
  ExpectUnwrap({R"({"log":42})", Envelope::kDockerJson, "", 0, false, true});
  // A logrus JSON record is not a json-file wrapper.
  const std::string json = R"({"level":"error","msg":"x","time":"2026-11-29T12:50:40Z"})";
  ExpectUnwrap({json, Envelope::kNone, json, 0});
}

TEST(EnvelopeTest, SvlogdAndCompose) {
  ExpectUnwrap({"2017-05-09_08:04:17.13891 " + kR, Envelope::kSvlogd, kR,
                Utc("2017-05-09T08:04:17.13891Z")});
  ExpectUnwrap({"2017-05-09_08:04:17 x", Envelope::kSvlogd, "x", Utc("2017-05-09T08:04:17Z")});
  ExpectUnwrap(
      {"2017-05-09_08:04:17.13891", Envelope::kSvlogd, "", Utc("2017-05-09T08:04:17.13891Z")});
  ExpectUnwrap({"2017-05-09_25:04:17.13891 x", Envelope::kNone, "2017-05-09_25:04:17.13891 x", 0});
  ExpectUnwrap({"registry_1  | " + kR, Envelope::kCompose, kR, 0});
  ExpectUnwrap({"registry-1  | " + kR, Envelope::kCompose, kR, 0});
  ExpectUnwrap({"harbor.registry | x", Envelope::kCompose, "x", 0});
  // A value containing " | " later on, or a name with characters compose never prints.
  const std::string pipe = "caused by: a | b";
  ExpectUnwrap({pipe, Envelope::kNone, pipe, 0});
  const std::string slash = "registry/1 | x";
  ExpectUnwrap({slash, Envelope::kNone, slash, 0});
}

TEST(EnvelopeTest, HintsRestrictDetection) {
  const std::string syslog = "Apr  6 11:46:40 172.25.0.1 registry[3915]: " + kR;
  const std::string cri = "2024-06-05T10:00:00.123456789Z stderr F " + kR;
  const std::string svlogd = "2017-05-09_08:04:17.13891 " + kR;
  const std::string docker = R"({"log":"x\n"})";
  ExpectUnwrap({syslog, Envelope::kNone, syslog, 0}, EnvelopeHint::kNone);
  ExpectUnwrap({cri, Envelope::kNone, cri, 0}, EnvelopeHint::kSyslog);
  ExpectUnwrap({syslog, Envelope::kSyslog, kR, Utc("2022-04-06T11:46:40Z")}, EnvelopeHint::kSyslog);
  ExpectUnwrap({cri, Envelope::kCri, kR, Utc("2024-06-05T10:00:00.123456789Z")},
               EnvelopeHint::kCri);
  ExpectUnwrap({svlogd, Envelope::kNone, svlogd, 0}, EnvelopeHint::kCri);  // only CRI
  ExpectUnwrap({docker, Envelope::kDockerJson, "x", 0}, EnvelopeHint::kDockerJson);
  ExpectUnwrap({docker, Envelope::kNone, docker, 0}, EnvelopeHint::kCri);
  // The record's own time= never needs an envelope, whatever the hint.
  ExpectUnwrap({kR, Envelope::kNone, kR, 0}, EnvelopeHint::kDockerJson);
}

TEST(EnvelopeTest, SyslogYearComesFromTheCaller) {
  std::string scratch;
  const Unwrapped u =
      Unwrap("Feb 29 00:00:00 h registry[1]: x", EnvelopeHint::kAuto, 2024, &scratch);
  EXPECT_EQ(u.time_ns, Utc("2024-02-29T00:00:00Z"));
}

TEST(EnvelopeTest, Names) {
  EXPECT_EQ(EnvelopeName(Envelope::kNone), "none");
  EXPECT_EQ(EnvelopeName(Envelope::kSyslog), "syslog");
  EXPECT_EQ(EnvelopeName(Envelope::kRfc5424), "rfc5424");
  EXPECT_EQ(EnvelopeName(Envelope::kCri), "cri");
  EXPECT_EQ(EnvelopeName(Envelope::kDockerJson), "docker_json");
  EXPECT_EQ(EnvelopeName(Envelope::kSvlogd), "svlogd");
  EXPECT_EQ(EnvelopeName(Envelope::kCompose), "compose");
}

TEST(PeekLineTimeTest, RecordTimeWinsOverTheEnvelope) {
  std::string scratch;
  const int64_t record = Utc("2022-04-06T03:46:40.800755496Z");
  EXPECT_EQ(PeekLineTime(kR, 2022, &scratch), record);
  EXPECT_EQ(PeekLineTime("Apr 6 11:46:40 172.25.0.1 registry[3915]: " + kR, 2022, &scratch),
            record);
  EXPECT_EQ(PeekLineTime("2024-06-05T10:00:00Z stderr F " + kR, 2022, &scratch), record);
  EXPECT_EQ(PeekLineTime(R"({"level":"info","msg":"x","time":"2015-08-26T21:18:09.827214429Z"})",
                         2022, &scratch),
            Utc("2015-08-26T21:18:09.827214429Z"));
  EXPECT_EQ(PeekLineTime("127.0.0.1 - - [29/Nov/2026:12:50:41 +0000] \"GET /v2/ HTTP/1.1\" 200",
                         2022, &scratch),
            Utc("2026-11-29T12:50:41Z"));
  // No time of its own: the envelope's; none at all: 0 (a continuation line).
  EXPECT_EQ(PeekLineTime("2024-06-05T10:00:00Z stderr F INFO[0000] purge", 2022, &scratch),
            Utc("2024-06-05T10:00:00Z"));
  EXPECT_EQ(PeekLineTime("Apr  6 11:46:40 h registry[1]: \tstatus code: 503", 2022, &scratch),
            Utc("2022-04-06T11:46:40Z"));
  EXPECT_EQ(PeekLineTime("\tstatus code: 503", 2022, &scratch), 0);
  EXPECT_EQ(PeekLineTime("", 2022, &scratch), 0);
  EXPECT_EQ(PeekLineTime(R"(time="garbage" level=info)", 2022, &scratch), 0);
}

// ---------------------------------------------------------------------------------------------
// json_scan

TEST(JsonScanTest, WalksTopLevelMembersAndSkipsNestedValues) {
  JsonObjectScanner scanner(
      R"( { "a" : "x\"y" , "n":-1.5e3,"o":{"k":["]","}",{"z":1}]},"t":true,"nul":null,)"
      R"("arr":[1,[2,[3]]],"s":"\u00e9"} trailing)");
  JsonMember m;
  std::vector<std::string> seen;
  while (scanner.Next(&m)) {
    seen.push_back(std::string(m.key) + "=" + std::string(m.value) + (m.is_string ? "/s" : "") +
                   (m.has_escapes ? "/e" : ""));
  }
  EXPECT_FALSE(scanner.malformed());
  EXPECT_EQ(seen,
            (std::vector<std::string>{"a=x\\\"y/s/e", "n=-1.5e3", R"(o={"k":["]","}",{"z":1}]})",
                                      "t=true", "nul=null", "arr=[1,[2,[3]]]", "s=\\u00e9/s/e"}));
}

TEST(JsonScanTest, MalformedInputStopsCleanly) {
  for (const std::string& text : std::vector<std::string>{
           "", "x", "[1]", "{", "{\"a\"", "{\"a\":", "{\"a\":\"x", "{\"a\" 1}", "{a:1}",
           "{\"a\":{\"b\":1}", "{\"a\":[1,2}", "{\"a\":1,", std::string(100000, '[')}) {
    SCOPED_TRACE(text.substr(0, 20));
    JsonObjectScanner scanner(text);
    JsonMember m;
    int members = 0;
    while (scanner.Next(&m) && members < 10) ++members;
    EXPECT_TRUE(scanner.malformed());
  }
  JsonObjectScanner empty("{}");
  JsonMember m;
  EXPECT_FALSE(empty.Next(&m));
  EXPECT_FALSE(empty.malformed());
}

TEST(JsonScanTest, DeepNestingIsIterativeNotRecursive) {
  const std::string deep =
      "{\"a\":" + std::string(200000, '[') + std::string(200000, ']') + ",\"b\":\"ok\"}";
  JsonObjectScanner scanner(deep);
  JsonMember m;
  ASSERT_TRUE(scanner.Next(&m));
  EXPECT_EQ(m.key, "a");
  ASSERT_TRUE(scanner.Next(&m));
  EXPECT_EQ(m.value, "ok");
  EXPECT_FALSE(scanner.Next(&m));
  EXPECT_FALSE(scanner.malformed());
}

TEST(JsonScanTest, Unescape) {
  std::string out;
  EXPECT_TRUE(AppendJsonUnescaped(R"(a\"b\\c\/d\n\t\r\b\f)", &out));
  EXPECT_EQ(out, "a\"b\\c/d\n\t\r\b\f");
  out.clear();
  EXPECT_TRUE(AppendJsonUnescaped(R"(\u0041\u00e9\u20ac\ud83d\ude00\u0000)", &out));
  EXPECT_EQ(out, std::string("A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0", 11));
  out.clear();
  // Lone surrogates become U+FFFD; a high surrogate before a non-low escape too.
  EXPECT_TRUE(AppendJsonUnescaped(R"(\udc00|\ud800\u0041)", &out));
  EXPECT_EQ(out,
            "\xef\xbf\xbd|\xef\xbf\xbd"
            "A");
  for (const char* bad : {R"(\x41)", R"(\u12)", R"(\u12G4)", "trailing\\"}) {
    std::string partial;
    EXPECT_FALSE(AppendJsonUnescaped(bad, &partial)) << bad;
  }
  out.clear();
  EXPECT_FALSE(AppendJsonUnescaped(R"(ok\q)", &out));
  EXPECT_EQ(out, "ok");  // what was decoded before the bad escape stays
}

}  // namespace
}  // namespace rrca::tailers
