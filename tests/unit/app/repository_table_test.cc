// Repository label values under attack (every map that outside input fills has a bound,
// a counter and a test that attacks it). Repository names come from log lines, which anyone who
// can push writes: the number of distinct names is capped (`max_repositories`, then "__other__"),
// and a name that is not a repository name -- Docker Distribution's grammar, at most 255 bytes --
// counts as "__invalid__". Asserted on what a scrape exposes and on the memory the table holds.
#include "exporter/pipeline/repository_table.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "exporter/app/config.h"
#include "exporter/app/rules_loader.h"
#include "exporter/metrics/metrics.h"
#include "exporter/pipeline/pipeline.h"

namespace rrca::app {
namespace {

TEST(RepositoryTable, DistributionGrammar) {
  for (const std::string& good :
       {std::string("a"), std::string("library/nginx"), std::string("gitlab-ci/100017681"),
        std::string("lab/s3-backend-down"), std::string("a.b/c_d/e__f/g--h/i---j"),
        std::string("0/1/2"), std::string(255, 'a'),
        std::string(127, 'a') + "/" + std::string(127, 'b')}) {
    EXPECT_TRUE(pipeline::RepositoryTable::IsValidName(good)) << good;
  }
  for (const std::string& bad :
       {std::string(""),         std::string("A"),         std::string("Library/nginx"),
        std::string("/a"),       std::string("a/"),        std::string("a//b"),
        std::string("."),        std::string("a..b"),      std::string("a___b"),
        std::string("a._b"),     std::string("a-.b"),      std::string("-a"),
        std::string("a-"),       std::string("_a"),        std::string("a_"),
        std::string("a:5000/b"), std::string("a b"),       std::string("a\nb"),
        std::string("a\"b"),     std::string("a\0b", 3),   std::string("a/b{x=\"y\"}"),
        std::string(256, 'a'),   std::string(1 << 20, 'a')}) {
    EXPECT_FALSE(pipeline::RepositoryTable::IsValidName(bad)) << bad.substr(0, 80);
  }
}

// A megabyte-long name is "__invalid__", counted, and not kept: the raw-name cache used to keep
// every distinct one (up to cap * 4 + 1024 of them, a gigabyte at the default cap).
TEST(RepositoryTable, MegabyteNamesAreCountedAndNotKept) {
  pipeline::RepositoryTable table(1000, {});
  EXPECT_EQ(table.Name(table.Intern("library/nginx")), "library/nginx");
  const size_t before = table.bytes_held();
  std::string name(1 << 20, 'a');
  for (int i = 0; i < 64; ++i) {
    name[i] = 'b';  // 64 distinct names of 1 MiB
    EXPECT_EQ(table.Name(table.Intern(name)), pipeline::RepositoryTable::kInvalid);
  }
  EXPECT_EQ(table.invalid(), 64u);
  EXPECT_EQ(table.folded(), 0u);
  EXPECT_EQ(table.tracked(), 1u);
  EXPECT_LT(table.bytes_held(), before + 4096) << "64 MiB of names were fed";
  // Invalid names of at most 255 bytes may be cached; they still count every time.
  EXPECT_EQ(table.Intern("Upper/Case"), table.Intern("Upper/Case"));
  EXPECT_EQ(table.invalid(), 66u);
}

TEST(RepositoryTable, DistinctNamesFoldIntoOtherAndAreCounted) {
  pipeline::RepositoryTable table(10, {{"ci/[0-9]+", "ci/*"}});
  for (int i = 0; i < 100; ++i) table.Intern("ci/" + std::to_string(i));  // one name, rewritten
  EXPECT_EQ(table.tracked(), 1u);
  for (int i = 0; i < 100'000; ++i) table.Intern("team/app-" + std::to_string(i));
  EXPECT_EQ(table.tracked(), 10u);
  EXPECT_EQ(table.folded(), 100'000u - 9);
  EXPECT_EQ(table.Name(table.Intern("team/app-0")), "team/app-0");  // ids are never expired
  EXPECT_EQ(table.Name(table.Intern("team/app-99999")), pipeline::RepositoryTable::kOther);
  // The cap bounds the memory: ten names and the bounded raw-name cache (cap * 4 + 1024).
  EXPECT_LT(table.bytes_held(), 256u << 10);
}

// What a scrape shows after the attack, through the pipeline the daemon runs.
struct Scrape {
  std::set<std::string> repositories;    // label values of registry_rca_responses_total
  std::map<std::string, double> values;  // unlabelled samples by name
  size_t bytes = 0;
};

Scrape ScrapeOf(const metrics::Metrics& metrics) {
  metrics::Metrics::Snapshot snapshot;
  metrics.TakeSnapshot(&snapshot);
  const std::string text = metrics::Metrics::Render(snapshot);
  Scrape scrape;
  scrape.bytes = text.size();
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (line.starts_with("registry_rca_responses_total{")) {
      const size_t at = line.find("repository=\"");
      EXPECT_NE(at, std::string::npos) << line.substr(0, 200);
      if (at == std::string::npos) continue;
      const size_t end = line.find('"', at + 12);
      scrape.repositories.insert(line.substr(at + 12, end - at - 12));
    } else if (line.find('{') == std::string::npos && space != std::string::npos) {
      scrape.values[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
  }
  return scrape;
}

std::string SummaryLine(int i, std::string_view repository) {
  return "time=\"2026-11-29T12:42:25.489559988Z\" level=info msg=\"response completed\" "
         "http.request.id=r" +
         std::to_string(i) + " http.request.method=GET http.request.uri=\"/v2/" +
         std::string(repository) +
         "/manifests/latest\" http.response.duration=4.029739ms http.response.status=200";
}

class RepositoryAttack : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rules = LoadRules(Config());
    ASSERT_TRUE(rules.ok()) << rules.status().message();
    pipeline::Pipeline::Options options;
    options.max_repositories = 100;
    options.max_record_bytes = 4 << 20;  // so the megabyte name reaches the table
    pipeline_ = std::make_unique<pipeline::Pipeline>(options, rules.value(), &metrics_);
    stream_ = pipeline_->OpenStream("registry", tailers::EnvelopeHint::kAuto);
  }
  void Feed(int i, std::string_view repository) {
    pipeline_->OnLine(stream_, SummaryLine(i, repository));
  }
  Scrape Publish() {
    pipeline_->Tick();
    return ScrapeOf(metrics_);
  }

  metrics::Metrics metrics_{std::make_shared<prometheus::Registry>()};
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  pipeline::Pipeline::StreamId stream_ = 0;
};

TEST_F(RepositoryAttack, HundredThousandNamesAndMegabyteNamesStayBounded) {
  // Control: three real repositories, each its own label value.
  Feed(0, "library/nginx");
  Feed(1, "gitlab-ci/100017681");
  Feed(2, "lab/app");
  const Scrape few = Publish();
  EXPECT_EQ(few.repositories,
            (std::set<std::string>{"library/nginx", "gitlab-ci/100017681", "lab/app"}));
  EXPECT_EQ(few.values.at("registry_rca_repositories_tracked"), 3);
  EXPECT_EQ(few.values.at("registry_rca_repositories_folded_total"), 0);
  EXPECT_EQ(few.values.at("registry_rca_repositories_invalid_total"), 0);
  const size_t few_table = pipeline_->repositories().bytes_held();

  // The attack: megabyte-long names (first, while the table's caches have room), names outside
  // the grammar, then 100,000 distinct names.
  std::string megabyte(1 << 20, 'a');
  for (int i = 0; i < 16; ++i) {
    megabyte[i] = 'b';
    Feed(1'000'000 + i, megabyte);
  }
  Feed(1'000'100, "Upper/Case");
  Feed(1'000'101, "a//b");
  for (int i = 0; i < 100'000; ++i) Feed(10 + i, "flood/x" + std::to_string(i));
  const Scrape attacked = Publish();
  EXPECT_EQ(attacked.repositories.size(), 100u + 2);  // the cap, __other__, __invalid__
  EXPECT_TRUE(attacked.repositories.contains("__other__"));
  EXPECT_TRUE(attacked.repositories.contains("__invalid__"));
  EXPECT_EQ(attacked.values.at("registry_rca_repositories_tracked"), 100);
  EXPECT_EQ(attacked.values.at("registry_rca_repositories_limit"), 100);
  EXPECT_EQ(attacked.values.at("registry_rca_repositories_folded_total"), 100'000 - 97);
  EXPECT_EQ(attacked.values.at("registry_rca_repositories_invalid_total"), 18);
  // The scrape grows with the cap, never with the attack (a 1 MiB label value would add a
  // megabyte to every scrape), and so does the table.
  EXPECT_LT(attacked.bytes, 256u << 10) << few.bytes << " bytes for 3 repositories";
  EXPECT_LT(pipeline_->repositories().bytes_held(), few_table + (256u << 10));
}

}  // namespace
}  // namespace rrca::app
