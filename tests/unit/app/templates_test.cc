// Message templates of unclassified errors: masking on real err.detail values (the public
// threads of tests/testdata/realworld/cases.jsonl), the pattern always matching the message it
// came from, the bounded table, and the templates of GET /api/v1/causes.
#include "exporter/pipeline/templates.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/json.h"
#include "common/time_util.h"
#include "exporter/app/config.h"
#include "exporter/app/rules_loader.h"
#include "exporter/pipeline/pipeline.h"
#include "exporter/pipeline/recent_errors.h"

namespace rrca::app {
namespace {

std::string TextOf(std::string_view message) {
  return pipeline::MaskMessage("err.detail", message).text;
}

bool PatternMatches(const pipeline::MessageTemplate& tmpl, std::string_view value) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_encoding(RE2::Options::EncodingLatin1);  // as the rules compile
  const RE2 re(tmpl.pattern, options);
  EXPECT_TRUE(re.ok()) << tmpl.pattern << ": " << re.error();
  return re.ok() && RE2::PartialMatch(value, re);
}

TEST(MaskMessageTest, RealDetailsOfOneFailureShareATemplate) {
  // distribution-007 and catalogue-002: two uploads, one failure.
  const std::string a =
      "s3aws: Path not found: "
      "/docker/registry/v2/repositories/pcf-tools/_uploads/96f47611-03ea-4b20-b125-5abed1a9b408/"
      "data";
  const std::string b =
      "s3aws: Path not found: /docker/registry/v2/repositories/gitlab-ci/100017681/_uploads/"
      "9ac3ea44-cbb6-4a1b-8048-6e59767c7370/data";
  EXPECT_EQ(TextOf(a), "s3aws: Path not found: <path>");
  EXPECT_EQ(TextOf(a), TextOf(b));
  // harbor-006 and distribution-019.
  EXPECT_EQ(TextOf("filesystem: mkdir /data: permission denied"),
            "filesystem: mkdir <path>: permission denied");
  EXPECT_EQ(TextOf("filesystem: mkdir /registry/docker: permission denied"),
            "filesystem: mkdir <path>: permission denied");
}

TEST(MaskMessageTest, IdsDigestsNumbersHostsAndQuotedValuesAreMasked) {
  // distribution-021 (the log's \n\t unescaped, as the parser hands it over).
  EXPECT_EQ(TextOf("s3aws: AccessDenied: Access Denied\n\tstatus code: 403, request id: "
                   "57B20843DA37674C"),
            "s3aws: AccessDenied: Access Denied\n\tstatus code: <num>, request id: <hex>");
  // protocol-021.
  EXPECT_EQ(TextOf("invalid digest for referenced layer: "
                   "sha256:a379494c9531a2c06951f0a2767c794c0aede86a39616d2ad580734270815874, "
                   "content does not match digest"),
            "invalid digest for referenced layer: <digest>, content does not match digest");
  // distribution-009.
  EXPECT_EQ(TextOf("Put https://s3-external-1.amazonaws.com/registry/docker/registry/v2/"
                   "repositories/weaveworks/weave-npc/_uploads/"
                   "fa7a4f5b-f309-42a9-8edf-62d0905e0ffe/startedat: dial tcp: lookup "
                   "s3-external-1.amazonaws.com: no such host"),
            "Put <url>: dial tcp: lookup <host>: no such host");
  // drivers-017.
  EXPECT_EQ(TextOf("parsing time \"Tue, 09 Aug 2016 05:40:10 UTC\" as \"Mon, 02 Jan 2006 "
                   "15:04:05 GMT\": cannot parse \"UTC\" as \" GMT\""),
            "parsing time <quoted> as <quoted>: cannot parse <quoted> as <quoted>");
  EXPECT_EQ(TextOf("dial tcp 10.0.0.12:9000: connect: connection refused"),
            "dial tcp <ip>: connect: connection refused");
  EXPECT_EQ(TextOf("upload 0b5f2c1e-8d6a-4a8e-9e51-3b1f0c9d2a77 took 1m2.305912448s"),
            "upload <uuid> took <duration>");
  // Names with short numbers keep them: s3aws, gcs, go1, v2.
  EXPECT_EQ(TextOf("s3aws: v2 api on go1 failed after 12 retries"),
            "s3aws: v2 api on go1 failed after <num> retries");
}

TEST(MaskMessageTest, PatternEscapesAndMatchesHostileText) {
  const std::string hostile =
      "weird (a|b)* [x] $^ \\ 'q' {1,2} +? \x01\x7f caf\xc3\xa9 \xff\xfe end";
  const pipeline::MessageTemplate tmpl = pipeline::MaskMessage("err.detail", hostile);
  EXPECT_TRUE(PatternMatches(tmpl, hostile));
  EXPECT_FALSE(PatternMatches(tmpl, "weird ab [x] $^"));
  // Longer than kMaxMessageBytes: the template covers the start and still matches.
  const std::string long_message = "s3aws: SlowDown " + std::string(5000, 'x') + " tail";
  const pipeline::MessageTemplate cut = pipeline::MaskMessage("err.detail", long_message);
  EXPECT_LE(cut.text.size(), pipeline::kMaxMessageBytes);
  EXPECT_TRUE(PatternMatches(cut, long_message));
}

// Every error of every real case: its template's pattern matches the field it was mined from,
// and no UUID or digest survives masking.
class ErrorCollector : public pipeline::ClassifiedObserver {
 public:
  void OnClassified(const pipeline::Classified& classified) override {
    if (!classified.request.IsError()) return;
    const auto [field, value] = pipeline::TemplateSource(classified.request);
    const pipeline::MessageTemplate tmpl = pipeline::TemplateOf(classified.request);
    EXPECT_EQ(tmpl.field, field);
    if (field != "status") {
      EXPECT_TRUE(PatternMatches(tmpl, value)) << case_id << ": " << tmpl.pattern;
    }
    static const RE2 kLeftover("[0-9a-f]{8}-[0-9a-f]{4}-|[0-9a-f]{32}");
    EXPECT_FALSE(RE2::PartialMatch(tmpl.text, kLeftover)) << case_id << ": " << tmpl.text;
    ++errors;
  }
  std::string case_id;
  size_t errors = 0;
};

TEST(MaskMessageTest, EveryRealCasesTemplateMatchesItsMessage) {
  std::ifstream cases(std::string(RRCA_TESTDATA_DIR) + "/realworld/cases.jsonl");
  ASSERT_TRUE(cases.is_open());
  const Config config;
  auto rules = LoadRules(config);
  ASSERT_TRUE(rules.ok());
  ErrorCollector collector;
  std::string line;
  size_t count = 0;
  while (std::getline(cases, line)) {
    if (line.empty()) continue;
    const auto record = nlohmann::json::parse(line);
    collector.case_id = record["id"];
    pipeline::Pipeline pipeline(PipelineOptionsFrom(config, 2026), rules.value(), nullptr);
    pipeline.AddObserver(&collector);
    const auto stream = pipeline.OpenStream("case", tailers::EnvelopeHint::kAuto);
    const std::string text = record["text"];
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      pipeline.OnLine(stream, std::string_view(text).substr(start, end - start));
      start = end + 1;
    }
    pipeline.Finish();
    ++count;
  }
  EXPECT_GE(count, 150u);
  EXPECT_GE(collector.errors, count / 2);  // most cases yield an error to mine
}

JoinedRequest Unclassified(std::string_view detail, int64_t time_ns) {
  JoinedRequest request;
  request.status = 500;
  request.err_code = "unknown";
  request.err_detail = detail;
  request.time_ns = time_ns;
  return request;
}

TEST(TemplateTableTest, CountsByTemplateAndBoundsTheTable) {
  pipeline::TemplateTable table(2);
  const std::string a1 = "filesystem: mkdir /data: permission denied";
  const std::string a2 = "filesystem: mkdir /storage/docker: permission denied";
  const std::string b = "swift: Object Corrupted";
  for (const std::string* detail : {&a1, &a2, &b, &a1}) table.Add(Unclassified(*detail, 1));
  table.Add(Unclassified("gcs: quota exceeded for bucket 42", 1));  // a third template: not kept
  ASSERT_EQ(table.size(), 2u);
  EXPECT_EQ(table.total(), 5u);
  EXPECT_EQ(table.not_kept(), 1u);
  const auto top = table.Top(10);
  EXPECT_EQ(top[0]->tmpl.text, "filesystem: mkdir <path>: permission denied");
  EXPECT_EQ(top[0]->count, 3u);
  EXPECT_EQ(top[0]->example, a1);  // the first one seen
  EXPECT_EQ(top[1]->count, 1u);
}

TEST(RecentErrorsTest, CausesListsUnclassifiedTemplatesOnly) {
  pipeline::RecentErrors recent(100);
  const rules::Verdict none;
  const std::string details[] = {"filesystem: mkdir /data: permission denied",
                                 "filesystem: mkdir /srv/registry: permission denied",
                                 "swift: Object Corrupted"};
  int64_t time = 1'000'000'000'000;
  for (const std::string& detail : details) {
    const JoinedRequest request = Unclassified(detail, time += 1'000'000'000);
    recent.OnClassified(pipeline::Classified{request, none, "unclassified", "repo"});
  }
  const auto json = recent.Causes(600'000'000'000);
  ASSERT_EQ(json["causes"].size(), 1u);
  const auto& cause = json["causes"][0];
  EXPECT_EQ(cause["cause"], "unclassified");
  EXPECT_EQ(cause["templates_total"], 2);
  ASSERT_EQ(cause["templates"].size(), 2u);
  EXPECT_EQ(cause["templates"][0]["template"], "filesystem: mkdir <path>: permission denied");
  EXPECT_EQ(cause["templates"][0]["field"], "err.detail");
  EXPECT_EQ(cause["templates"][0]["count"], 2);
  EXPECT_EQ(cause["templates"][0]["example"], details[1]);  // the latest
  EXPECT_EQ(cause["templates"][1]["template"], "swift: Object Corrupted");
  // The window: only the last error is within 0.5 s of the latest.
  const auto recent_only = recent.Causes(500'000'000);
  EXPECT_EQ(recent_only["causes"][0]["templates_total"], 1);
}

// The overview's sparkline: each error counted once, in its slice of the window.
TEST(RecentErrorsTest, SeriesCountsEachErrorInItsSliceOfTheWindow) {
  pipeline::RecentErrors recent(100);
  const rules::Verdict none;
  const int64_t latest = 2'000'000'000'000;
  const int64_t window = 24'000'000'000;  // 24 s: one slice per second
  for (const int64_t ago :
       {0LL, 500'000'000LL, 1'500'000'000LL, 23'900'000'000LL, 30'000'000'000LL /* outside */}) {
    recent.OnClassified(
        pipeline::Classified{Unclassified("boom", latest - ago), none, "x", "repo"});
  }
  const auto json = recent.Causes(window);
  EXPECT_EQ(json["series_buckets"], 24);
  const auto& series = json["causes"][0]["series"];
  ASSERT_EQ(series.size(), 24u);
  std::vector<int> expected(24, 0);
  expected[0] = 1;   // 23.9 s ago
  expected[22] = 1;  // 1.5 s ago
  expected[23] = 2;  // 0.5 s ago and the latest (the end of the window is in the last slice)
  EXPECT_EQ(series.get<std::vector<int>>(), expected);
  EXPECT_EQ(json["causes"][0]["count"], 4);
}

// The cause page's data: the catalogue's words, every error of the cause once, the newest first.
TEST(RecentErrorsTest, CauseHasTheCatalogueExamplesAndUploads) {
  auto rules = LoadRules(Config());
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  pipeline::RecentErrors recent(100);
  const rules::Verdict none;
  const int64_t latest = 2'000'000'000'000;
  for (int i = 0; i < 25; ++i) {
    JoinedRequest request = Unclassified("s3aws: Path not found: <b>x</b>", latest - i);
    request.operation = Operation::kBlobUploadChunk;
    request.upload_uuid = i % 2 == 0 ? "u-even" : "u-odd";
    recent.OnClassified(pipeline::Classified{request, none, "upload_not_yet_visible", "lab/app"});
  }
  recent.OnClassified(
      pipeline::Classified{Unclassified("other", latest), none, "blob_unknown", "r"});
  const auto json = recent.Cause("upload_not_yet_visible", 600'000'000'000, *rules.value());
  EXPECT_EQ(json["known"], true);
  EXPECT_EQ(json["count"], 25);
  EXPECT_FALSE(json["summary"].get<std::string>().empty());
  EXPECT_EQ(json["runbook"], "docs/runbook.md#upload_not_yet_visible");
  ASSERT_EQ(json["examples"].size(), pipeline::RecentErrors::kCauseExamples);
  EXPECT_EQ(json["examples"][0]["time"], FormatRfc3339Nanos(latest));
  EXPECT_EQ(json["examples"][0]["operation"], "blob_upload_chunk");
  EXPECT_EQ(json["examples"][0]["status"], 500);
  EXPECT_EQ(json["examples"][0]["detail"], "s3aws: Path not found: <b>x</b>");
  EXPECT_EQ(json["uploads"], Json::array({"u-even", "u-odd"}));
  EXPECT_EQ(json["operations"][0]["count"], 25);
  EXPECT_EQ(json["series"][23], 25);
  // Search: by request id (one), by upload (its errors), by repository (all), never by prefix.
  const auto by_request = recent.Search("req");
  EXPECT_EQ(by_request["matches"].size(), 0u);
  const auto by_upload = recent.Search("u-odd");
  EXPECT_EQ(by_upload["matches"].size(), 12u);
  EXPECT_EQ(by_upload["matches"][0]["cause"], "upload_not_yet_visible");
  const auto by_repository = recent.Search("lab/app");
  EXPECT_EQ(by_repository["matches"].size(), 25u);
  EXPECT_EQ(by_repository["truncated"], false);
  EXPECT_EQ(recent.Search("")["matches"].size(), 0u);
  // The API serialises these values as they are: members in the order the API always had.
  const std::string search_text = DumpJson(recent.Search("u-odd"));
  EXPECT_TRUE(search_text.starts_with(
      R"({"query":"u-odd","truncated":false,"matches":[{"time":")" +
      FormatRfc3339Nanos(latest - 1) +
      R"(","cause":"upload_not_yet_visible","status":500,"operation":"blob_upload_chunk",)"
      R"("repository":"lab/app","request_id":")"))
      << search_text;
  const std::string cause_text =
      DumpJson(recent.Cause("upload_not_yet_visible", 600'000'000'000, *rules.value()));
  EXPECT_TRUE(cause_text.starts_with(R"({"cause":"upload_not_yet_visible","known":true,)"
                                     R"("severity":")"))
      << cause_text;
  for (const char* key : {R"(","runbook":")", R"(","since_seconds":600,"until":")",
                          R"(","count":25,"series_buckets":24,"series":[)",
                          R"(],"repositories":[{"repository":"lab/app","count":25}],)"
                          R"("operations":[{"operation":"blob_upload_chunk","count":25}],)"
                          R"("examples":[{"time":")",
                          R"(],"uploads":["u-even","u-odd"]})"}) {
    EXPECT_NE(cause_text.find(key), std::string::npos) << key << " in " << cause_text;
  }
  const auto unknown = recent.Cause("no_such_cause", 600'000'000'000, *rules.value());
  EXPECT_EQ(unknown["known"], false);
  EXPECT_EQ(unknown["count"], 0);
}

}  // namespace
}  // namespace rrca::app
