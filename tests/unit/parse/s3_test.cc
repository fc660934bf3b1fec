// S3 log parsers: golden files under tests/testdata/s3/<case>/ (input.log -> expected.txt; set
// RRCA_UPDATE_GOLDEN=1 to rewrite them), then the details and the hostile input the goldens do
// not pin down.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/event.h"
#include "common/time_util.h"
#include "tailers/parse/s3/s3_parse.h"

namespace rrca::tailers {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string OrDash(std::string_view text) { return text.empty() ? "-" : std::string(text); }

// Exact milliseconds without floating point: 1927999973 ns -> "1927.999973".
std::string Millis(int64_t nanos) {
  if (nanos < 0) return "-";
  std::string text = std::to_string(nanos / 1'000'000);
  if (const int64_t rest = nanos % 1'000'000; rest != 0) {
    std::string fraction = std::to_string(rest + 1'000'000).substr(1);
    fraction.erase(fraction.find_last_not_of('0') + 1);
    text += "." + fraction;
  }
  return text;
}

std::string Render(ParseResult result, const S3Event& event) {
  if (result == ParseResult::kNotThisFormat) return "skip reason=not_this_format";
  if (result == ParseResult::kMalformed) return "skip reason=malformed";
  return "start=" + FormatRfc3339Nanos(event.start_ns) + " dur_ms=" + Millis(event.duration_ns) +
         " op=" + std::string(S3OpName(event.op)) + " bucket=" + OrDash(event.bucket) +
         " key=" + OrDash(event.key) + " status=" + std::to_string(event.status) +
         " err=" + OrDash(event.error_code) + " raw_op=" + OrDash(event.raw_operation) +
         " req=" + OrDash(event.request_id);
}

// Every view of a kOk event lies inside the line or the scratch buffer.
bool ViewsInside(const S3Event& event, std::string_view line, const std::string& scratch) {
  const auto inside = [](std::string_view view, const char* begin, size_t size) {
    return view.data() >= begin && view.data() + view.size() <= begin + size;
  };
  for (const std::string_view view :
       {event.raw_operation, event.bucket, event.key, event.request_id, event.error_code}) {
    if (view.empty()) continue;
    if (!inside(view, line.data(), line.size()) && !inside(view, scratch.data(), scratch.size())) {
      return false;
    }
  }
  return true;
}

// The case directory's name says which parser reads it; "detect-*" detects per line.
S3Format FormatOfCase(const std::string& name) {
  if (name.starts_with("aws-")) return S3Format::kAwsAccess;
  if (name.starts_with("rgw-beast-")) return S3Format::kRgwBeast;
  if (name.starts_with("rgw-ops-")) return S3Format::kRgwOps;
  if (name.starts_with("minio-")) return S3Format::kMinioAudit;
  return S3Format::kUnknown;
}

// One output line per input line, numbered; "# " lines are fixture comments.
std::string RenderCase(const fs::path& dir) {
  const std::string name = dir.filename().string();
  const S3Format case_format = FormatOfCase(name);
  std::istringstream input(ReadFile(dir / "input.log"));
  std::string out, line, scratch;
  for (int number = 1; std::getline(input, line); ++number) {
    if (line.starts_with("# ")) continue;
    const S3Format format = case_format == S3Format::kUnknown ? DetectS3Format(line) : case_format;
    S3Event event;
    const ParseResult result = ParseS3Line(line, format, &scratch, &event);
    EXPECT_TRUE(result != ParseResult::kOk || ViewsInside(event, line, scratch))
        << name << ":" << number;
    out += std::to_string(number) + ": ";
    if (case_format == S3Format::kUnknown) out += std::string(S3FormatName(format)) + " ";
    out += Render(result, event) + "\n";
  }
  return out;
}

std::vector<std::string> GoldenCases() {
  std::vector<std::string> cases;
  for (const auto& entry : fs::directory_iterator(fs::path(RRCA_TESTDATA_DIR) / "s3")) {
    if (entry.is_directory()) cases.push_back(entry.path().filename().string());
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

class S3GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(S3GoldenTest, MatchesExpected) {
  const fs::path dir = fs::path(RRCA_TESTDATA_DIR) / "s3" / GetParam();
  const std::string actual = RenderCase(dir);
  const char* update = std::getenv("RRCA_UPDATE_GOLDEN");
  if (update != nullptr && std::string_view(update) == "1") {
    std::ofstream(dir / "expected.txt", std::ios::binary) << actual;
    return;
  }
  EXPECT_EQ(ReadFile(dir / "expected.txt"), actual) << "RRCA_UPDATE_GOLDEN=1 rewrites " << dir;
}

INSTANTIATE_TEST_SUITE_P(Cases, S3GoldenTest, ::testing::ValuesIn(GoldenCases()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(S3GoldenCasesTest, EveryFormatHasCases) {
  const std::vector<std::string> cases = GoldenCases();
  for (const std::string_view prefix : {"aws-", "rgw-beast-", "rgw-ops-", "minio-", "detect-"}) {
    EXPECT_TRUE(std::any_of(cases.begin(), cases.end(), [&](const std::string& name) {
      return name.starts_with(prefix);
    })) << prefix;
  }
}

// --- ParseUploadKey ---

constexpr std::string_view kUuid = "8dfd5907-ecbf-4040-8ec0-7a615726f8c4";

TEST(ParseUploadKeyTest, EmptyRoot) {
  const UploadKey key = ParseUploadKey(
      "docker/registry/v2/repositories/lab/s3-normal/_uploads/8dfd5907-ecbf-4040-8ec0-"
      "7a615726f8c4/data",
      "");
  ASSERT_TRUE(key.ok);
  EXPECT_EQ(key.repository, "lab/s3-normal");
  EXPECT_EQ(key.upload_uuid, kUuid);
  EXPECT_EQ(key.file, "data");
}

TEST(ParseUploadKeyTest, CustomRootWithOrWithoutSlashes) {
  const std::string key =
      "registry/v2root/docker/registry/v2/repositories/gitlab-ci/100017681/_uploads/" +
      std::string(kUuid) + "/hashstates/sha256/0";
  for (const std::string_view root : {"registry/v2root", "/registry/v2root/", "registry/v2root/"}) {
    const UploadKey parsed = ParseUploadKey(key, root);
    ASSERT_TRUE(parsed.ok) << root;
    EXPECT_EQ(parsed.repository, "gitlab-ci/100017681");
    EXPECT_EQ(parsed.upload_uuid, kUuid);
    EXPECT_EQ(parsed.file, "hashstates/sha256/0");
  }
  EXPECT_FALSE(ParseUploadKey(key, "").ok);             // the root is part of the key
  EXPECT_FALSE(ParseUploadKey(key, "registry").ok);     // a different root
  EXPECT_FALSE(ParseUploadKey(key, "registry/v2").ok);  // not a whole segment
}

TEST(ParseUploadKeyTest, LeadingSlashOnKey) {
  const UploadKey parsed =
      ParseUploadKey("/docker/registry/v2/repositories/lab/_uploads/u-1/startedat", "");
  ASSERT_TRUE(parsed.ok);
  EXPECT_EQ(parsed.repository, "lab");
  EXPECT_EQ(parsed.upload_uuid, "u-1");
  EXPECT_EQ(parsed.file, "startedat");
}

TEST(ParseUploadKeyTest, UploadDirectoryHasNoFile) {
  const UploadKey parsed = ParseUploadKey("docker/registry/v2/repositories/lab/_uploads/u-1", "");
  ASSERT_TRUE(parsed.ok);
  EXPECT_EQ(parsed.upload_uuid, "u-1");
  EXPECT_EQ(parsed.file, "");
}

TEST(ParseUploadKeyTest, OtherKeysAreNotUploads) {
  for (const std::string_view key : {
           "docker/registry/v2/blobs/sha256/16/1625680bd0414c56e56f8955d05a9c76/data",
           "docker/registry/v2/repositories/lab/_layers/sha256/1625680b/link",
           "docker/registry/v2/repositories/_uploads/u-1/data",   // no repository
           "docker/registry/v2/repositories/lab/_uploads//data",  // no uuid
           "docker/registry/v2/repositories/lab/_uploads/",
           "docker/registry/v2/repositorie",
           "",
       }) {
    EXPECT_FALSE(ParseUploadKey(key, "").ok) << key;
  }
}

// --- DetectS3Format and the request helpers ---

TEST(DetectS3FormatTest, EachFormat) {
  EXPECT_EQ(
      DetectS3Format("ownerid bucket [29/Nov/2026:12:50:30 +0000] 127.0.0.1 - ID "
                     "REST.GET.OBJECT k \"GET /bucket/k HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"-\""),
      S3Format::kAwsAccess);
  EXPECT_EQ(DetectS3Format("2026-11-29T12:50:30.402+0000 7f99e9f3b6c0  1 beast: 0x7f9aa450e6e0: "
                           "127.0.0.1 - registry [29/Nov/2026:12:50:28.474 +0000] \"GET / "
                           "HTTP/1.1\" 200 1 - - - latency=0.000000000s"),
            S3Format::kRgwBeast);
  EXPECT_EQ(DetectS3Format("debug 2019-01-08 09:54:45.123 7f1e 1 civetweb: 0x55f8: 10.0.0.1 - -"),
            S3Format::kRgwBeast);
  EXPECT_EQ(
      DetectS3Format(
          R"({"bucket":"b","object":"k","time":"2026-11-29T12:50:28Z","operation":"get_obj"})"),
      S3Format::kRgwOps);
  EXPECT_EQ(DetectS3Format(R"([{"bucket":"b","trans_id":"tx1"},)"), S3Format::kRgwOps);
  EXPECT_EQ(
      DetectS3Format(R"({"version":"1","time":"2026-11-29T12:50:28Z","api":{"name":"GetObject"}})"),
      S3Format::kMinioAudit);
}

TEST(DetectS3FormatTest, OtherLinesAreUnknown) {
  for (const std::string_view line : {
           "",
           "2026-11-29T12:50:30.402+0000 7f99e9f3b6c0  1 ====== req done req=0x7f9aa450e6e0 op "
           "status=0 http_status=200 latency=1.927999973s ======",
           "2026-11-29T12:50:28.394+0000 7f9a047706c0  1 req 16828090801637229707 1.116000056s "
           "op->ERRORHANDLER: err_no=-2 new_err_no=-2",
           R"(time="2026-11-29T12:50:30Z" level=info msg="response completed")",
           R"({"level":"info","msg":"registry json log","api":"v2"})",
           R"({"broken)",
           "127.0.0.1 - - [29/Nov/2026:12:50:30 +0000] \"GET /v2/ HTTP/1.1\" 200 2 \"\" \"ua\"",
       }) {
    EXPECT_EQ(DetectS3Format(line), S3Format::kUnknown) << line;
  }
}

TEST(S3OpFromRequestTest, MethodSubresourceAndKey) {
  const struct {
    std::string_view request;
    S3Op op;
  } kCases[] = {
      {"POST /b/k?uploads= HTTP/1.1", S3Op::kCreateMultipart},
      {"GET /b?prefix=k&uploads= HTTP/1.1", S3Op::kListMultipart},
      {"GET /b/?uploads HTTP/1.1", S3Op::kListMultipart},
      {"PUT /b/k?partNumber=1&uploadId=2~x HTTP/1.1", S3Op::kUploadPart},
      {"POST /b/k?uploadId=2~x HTTP/1.1", S3Op::kCompleteMultipart},
      {"DELETE /b/k?uploadId=2~x HTTP/1.1", S3Op::kAbortMultipart},
      {"GET /b/k?uploadId=2~x HTTP/1.1", S3Op::kListParts},
      {"PUT /b/k HTTP/1.1", S3Op::kPut},
      {"GET /b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab HTTP/1.1", S3Op::kGet},
      {"HEAD /b/k HTTP/1.1", S3Op::kHead},
      {"DELETE /b/k HTTP/1.1", S3Op::kDelete},
      {"POST /b?delete= HTTP/1.1", S3Op::kDelete},
      {"GET /b?list-type=2&prefix=p HTTP/1.1", S3Op::kList},
      {"GET /b HTTP/1.1", S3Op::kList},
      {"GET /b?location HTTP/1.1", S3Op::kOther},
      {"GET /b/k?acl HTTP/1.1", S3Op::kOther},
      {"PUT /b HTTP/1.1", S3Op::kOther},
      {"GET / HTTP/1.1", S3Op::kOther},
      {"GET http://127.0.0.1:7480/b/k HTTP/1.1", S3Op::kGet},
  };
  for (const auto& test : kCases) {
    S3Request request;
    ASSERT_TRUE(SplitS3Request(test.request, &request)) << test.request;
    EXPECT_EQ(S3OpName(S3OpFromRequest(request)), S3OpName(test.op)) << test.request;
  }
  S3Request request;
  ASSERT_TRUE(SplitS3Request("GET http://127.0.0.1:7480/b/k/x?uploadId=1 HTTP/1.1", &request));
  EXPECT_EQ(request.bucket, "b");
  EXPECT_EQ(request.key, "k/x");
  EXPECT_EQ(request.query, "uploadId=1");
  EXPECT_FALSE(SplitS3Request("get /b/k HTTP/1.1", &request));
  EXPECT_FALSE(SplitS3Request("GET b/k HTTP/1.1", &request));
}

TEST(ParseS3DurationTest, ExactAndBounded) {
  const struct {
    std::string_view text;
    int64_t nanos;
  } kGood[] = {
      {"1.927999973s", 1'927'999'973},
      {"0.000000000s", 0},
      {"3s", 3'000'000'000},
      {"2500000ns", 2'500'000},
      {"2.5ms", 2'500'000},
      {"12\xC2\xB5s", 12'000},
      {"7us", 7'000},
  };
  for (const auto& test : kGood) {
    int64_t nanos = -1;
    EXPECT_TRUE(ParseS3Duration(test.text, &nanos)) << test.text;
    EXPECT_EQ(nanos, test.nanos) << test.text;
  }
  for (const std::string_view text : {"", "s", "1.s", ".5s", "1.2.3s", "-1s", "1m", "1e3s",
                                      "1.0000000001s", "99999999999999999999ns", "8640001s"}) {
    int64_t nanos = 0;
    EXPECT_FALSE(ParseS3Duration(text, &nanos)) << text;
  }
  int64_t nanos = 0;
  EXPECT_TRUE(MillisToNanos(1935, &nanos));
  EXPECT_EQ(nanos, 1'935'000'000);
  EXPECT_FALSE(MillisToNanos(999'999'999'999'999'999, &nanos));
}

// --- Details of single formats ---

TEST(AwsAccessTest, EscapedQuotesDashesAndTrailingFields) {
  const std::string line =
      "owner bucket [06/Feb/2019:00:00:38 +0000] 192.0.2.3 arn:aws:iam::1:user/u 3E57427F3EXAMPLE "
      "REST.HEAD.OBJECT my/key \"HEAD /bucket/my/key HTTP/1.1\" - - - - - - "
      "\"https://x/\\\"quoted\\\" \" \"agent \\\"with\\\" quotes\" - "
      "s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuN "
      "SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader bucket.s3.us-west-1.amazonaws.com TLSv1.2 "
      "arn:aws:s3:us-west-1:1:accesspoint/ap - future-field";
  S3Event event;
  ASSERT_EQ(ParseAwsAccessLine(line, &event), ParseResult::kOk);
  EXPECT_EQ(event.op, S3Op::kHead);
  EXPECT_EQ(event.key, "my/key");
  EXPECT_EQ(event.status, 0);
  EXPECT_EQ(event.duration_ns, -1);
  EXPECT_EQ(event.error_code, "");
  EXPECT_EQ(event.request_id, "3E57427F3EXAMPLE");
}

TEST(MinioAuditTest, ScratchKeepsItsBufferBetweenEntries) {
  const std::string entry =
      R"({"time":"2026-11-29T12:50:34Z","requestID":"R1","api":{"name":"PutObject",)"
      R"("bucket":"b","object":"a\u0026b","statusCode":200,"timeToResponseInNS":"1000"}})";
  std::string scratch;
  S3Event event;
  ASSERT_EQ(ParseMinioAuditEntry(entry, &scratch, &event), ParseResult::kOk);
  EXPECT_EQ(event.key, "a&b");
  int64_t stamped_ns = 0;
  ASSERT_TRUE(ParseRfc3339("2026-11-29T12:50:34Z", &stamped_ns));
  EXPECT_EQ(event.start_ns, stamped_ns - 1000);  // stamped after the response
  EXPECT_EQ(event.duration_ns, 1000);
  const char* buffer = scratch.data();
  ASSERT_EQ(ParseMinioAuditEntry(entry, &scratch, &event), ParseResult::kOk);
  EXPECT_EQ(scratch.data(), buffer);  // no reallocation on the second entry
  EXPECT_EQ(event.key, "a&b");
}

// --- Hostile input: every parser on every prefix and on mutations of the fixture lines. ---

std::vector<std::string> FixtureLines() {
  std::vector<std::string> lines;
  for (const std::string& name : GoldenCases()) {
    std::istringstream input(ReadFile(fs::path(RRCA_TESTDATA_DIR) / "s3" / name / "input.log"));
    for (std::string line; std::getline(input, line);) {
      if (!line.starts_with("# ")) lines.push_back(line);
    }
  }
  return lines;
}

// Runs every parser on `bytes`, held in a buffer of exactly that size so that the sanitizer
// builds catch a read past the end, and checks what a kOk event promises.
void ParseEverywhere(std::string_view bytes) {
  const std::vector<char> exact(bytes.begin(), bytes.end());
  const std::string_view line(exact.data(), exact.size());
  (void)DetectS3Format(line);
  std::string scratch;
  for (const S3Format format :
       {S3Format::kAwsAccess, S3Format::kRgwBeast, S3Format::kRgwOps, S3Format::kMinioAudit}) {
    S3Event event;
    if (ParseS3Line(line, format, &scratch, &event) != ParseResult::kOk) continue;
    ASSERT_TRUE(ViewsInside(event, line, scratch)) << S3FormatName(format) << ": " << bytes;
    ASSERT_EQ(CheckS3EventText(event), ParseResult::kOk) << bytes;
    ASSERT_GE(event.duration_ns, -1) << bytes;
    ASSERT_TRUE(event.status >= 0 && event.status <= 999) << bytes;
  }
}

TEST(S3HostileInputTest, EveryPrefixOfEveryFixtureLine) {
  for (const std::string& line : FixtureLines()) {
    for (size_t size = 0; size <= line.size(); ++size) {
      ParseEverywhere(std::string_view(line).substr(0, size));
      if (HasFatalFailure()) return;
    }
  }
}

TEST(S3HostileInputTest, RandomByteMutations) {
  std::mt19937 random(20261129);
  constexpr char kNasty[] = {'"', '\\', '{', '}', '[', ']', ' ', ':', ',', '?', '&', '\0', '\xff'};
  for (const std::string& line : FixtureLines()) {
    if (line.empty()) continue;
    for (int round = 0; round < 40; ++round) {
      std::string mutated = line;
      for (int flips = 1 + static_cast<int>(random() % 4); flips > 0; --flips) {
        const size_t at = random() % mutated.size();
        mutated[at] =
            random() % 2 ? kNasty[random() % sizeof(kNasty)] : static_cast<char>(random() % 256);
      }
      ParseEverywhere(mutated);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(S3HostileInputTest, MegabyteLines) {
  constexpr size_t kMegabyte = 1 << 20;
  ParseEverywhere(std::string(kMegabyte, 'a'));
  ParseEverywhere(std::string(kMegabyte, '"'));
  ParseEverywhere("{\"a\":" + std::string(kMegabyte, '['));
  ParseEverywhere("{\"api\":{\"name\":\"" + std::string(kMegabyte, '\\'));
  const std::string aws_head =
      "owner bucket [29/Nov/2026:12:50:30 +0000] 127.0.0.1 - ID REST.GET.OBJECT k "
      "\"GET /bucket/k HTTP/1.1\" 200 - 1 1 5 4 \"-\" \"";
  const std::string aws = aws_head + std::string(kMegabyte, 'x') + "\" - host SigV4";
  S3Event event;
  EXPECT_EQ(ParseAwsAccessLine(aws, &event), ParseResult::kOk);
  EXPECT_EQ(event.duration_ns, 5'000'000);
  EXPECT_EQ(ParseAwsAccessLine(aws.substr(0, aws.size() - 15), &event), ParseResult::kMalformed);
  std::string scratch;
  const std::string minio =
      R"({"time":"2026-11-29T12:50:34Z","api":{"name":"PutObject","object":")" +
      std::string(kMegabyte, 'k') + R"(\n"},"x":")" + std::string(kMegabyte, 'y') + "\"}";
  ASSERT_EQ(ParseMinioAuditEntry(minio, &scratch, &event), ParseResult::kOk);
  EXPECT_EQ(event.key.size(), kMegabyte + 1);
}

TEST(S3HostileInputTest, InvalidUtf8OutsideKeptFieldsIsFine) {
  const std::string line =
      "owner bucket [29/Nov/2026:12:50:30 +0000] 127.0.0.1 - ID REST.GET.OBJECT k "
      "\"GET /bucket/k HTTP/1.1\" 200 - 1 1 5 4 \"-\" \"agent \xff\xfe\"";
  S3Event event;
  EXPECT_EQ(ParseAwsAccessLine(line, &event), ParseResult::kOk);
}

}  // namespace
}  // namespace rrca::tailers
