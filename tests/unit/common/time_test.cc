// Time parsers and formatter (common/time_util.h): RFC 3339 as registries and envelopes write
// it, common-log-format times, Go durations, and their bounds. Expected values are computed
// independently (epoch seconds from `date -u -d ... +%s`).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "common/time_util.h"

namespace rrca {
namespace {

constexpr int64_t kUntouched = -42;

int64_t Rfc(std::string_view text) {
  int64_t ns = kUntouched;
  EXPECT_TRUE(ParseRfc3339(text, &ns)) << text;
  return ns;
}

void ExpectRfcInvalid(std::string_view text) {
  int64_t ns = kUntouched;
  EXPECT_FALSE(ParseRfc3339(text, &ns)) << text;
  EXPECT_EQ(ns, kUntouched) << text;  // left untouched on failure
}

TEST(TimeTest, Rfc3339Variants) {
  const int64_t base = 1649216800'000000000;  // 2022-04-06T03:46:40Z
  EXPECT_EQ(Rfc("2022-04-06T03:46:40.800755496Z"), base + 800755496);
  EXPECT_EQ(Rfc("2022-04-06T03:46:40Z"), base);
  EXPECT_EQ(Rfc("2022-04-06T03:46:40.8Z"), base + 800000000);
  EXPECT_EQ(Rfc("2022-04-06T03:46:40.1539238Z"), base + 153923800);     // Go trims zeros
  EXPECT_EQ(Rfc("2022-04-06T03:46:40.1234567891Z"), base + 123456789);  // beyond ns: cut
  EXPECT_EQ(Rfc("2022-04-06t03:46:40z"), base);
  EXPECT_EQ(Rfc("2022-04-06 03:46:40Z"), base);
  EXPECT_EQ(Rfc("2022-04-06T05:46:40+02:00"), base);
  EXPECT_EQ(Rfc("2022-04-06T05:46:40+0200"), base);
  EXPECT_EQ(Rfc("2022-04-05T23:46:40.000-04:00"), base);
  EXPECT_EQ(Rfc("2022-04-06T09:16:40+05:30"), base);
  EXPECT_EQ(Rfc("2024-05-22T10:42:25.915208296+10:00"), 1716338545'915208296);
  EXPECT_EQ(Rfc("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Rfc("1969-12-31T23:59:59.5Z"), -500000000);
  EXPECT_EQ(Rfc("2024-02-29T00:00:00Z"), 1709164800'000000000);
  EXPECT_EQ(Rfc("2016-12-31T23:59:60Z"), 1483228800'000000000);  // leap second: next second
  // Trailing bytes after the zone are ignored: PeekLineTime hands over the rest of the line.
  EXPECT_EQ(Rfc("2022-04-06T03:46:40Z\" level=error"), base);
}

TEST(TimeTest, Rfc3339Invalid) {
  for (std::string_view text : {"",
                                "2022",
                                "2022-04-06",
                                "2022-04-06T03:46:40",
                                "2022-04-06T03:46:40.5",
                                "2022-04-06X03:46:40Z",
                                "2022/04/06T03:46:40Z",
                                "2022-13-06T03:46:40Z",
                                "2022-00-06T03:46:40Z",
                                "2022-04-32T03:46:40Z",
                                "2022-04-00T03:46:40Z",
                                "2022-04-06T24:00:00Z",
                                "2022-04-06T03:60:40Z",
                                "2022-04-06T03:46:61Z",
                                "2022-04-06T03:46:40+2",
                                "2022-04-06T03:46:40+02:",
                                "2022-04-06T03:46:40 Z",
                                "20x2-04-06T03:46:40Z",
                                "-022-04-06T03:46:40Z",
                                "garbage"}) {
    ExpectRfcInvalid(text);
  }
}

TEST(TimeTest, Rfc3339YearBounds) {
  // int64 nanoseconds reach 1677-09-21 .. 2262-04-11; whole years inside are accepted.
  EXPECT_EQ(Rfc("1678-01-01T00:00:00Z"), -9214560000'000000000);
  EXPECT_EQ(Rfc("2261-12-31T23:59:59.999999999Z"), 9214646399'999999999);
  ExpectRfcInvalid("1677-12-31T23:59:59Z");
  ExpectRfcInvalid("2262-01-01T00:00:00Z");
  ExpectRfcInvalid("0000-01-01T00:00:00Z");
  ExpectRfcInvalid("9999-12-31T23:59:59Z");
}

TEST(TimeTest, ClfTime) {
  int64_t ns = kUntouched;
  ASSERT_TRUE(ParseClfTime("29/Nov/2026:12:50:40 +0000", &ns));
  EXPECT_EQ(ns, 1795956640'000000000);
  ASSERT_TRUE(ParseClfTime("29/Nov/2026:12:50:40.230 +0000", &ns));
  EXPECT_EQ(ns, 1795956640'230000000);
  ASSERT_TRUE(ParseClfTime("02/Jan/2006:15:04:05 -0700", &ns));
  EXPECT_EQ(ns, 1136239445'000000000);
  ASSERT_TRUE(ParseClfTime("06/Jul/2021:10:11:27 +0800] \"PUT", &ns));  // rest ignored
  EXPECT_EQ(ns, 1625537487'000000000);
  for (std::string_view text :
       {"", "29/Nov/2026:12:50:40", "29/Nov/2026:12:50:40+0000", "29/Foo/2026:12:50:40 +0000",
        "29/nov/2026:12:50:40 +0000", "32/Nov/2026:12:50:40 +0000", "29/Nov/2026 12:50:40 +0000",
        "29/Nov/2026:25:50:40 +0000", "29/Nov/1000:12:50:40 +0000", "9/Nov/2026:12:50:40 +0000"}) {
    int64_t untouched = kUntouched;
    EXPECT_FALSE(ParseClfTime(text, &untouched)) << text;
    EXPECT_EQ(untouched, kUntouched) << text;
  }
}

int64_t Duration(std::string_view text) {
  int64_t ns = kUntouched;
  EXPECT_TRUE(ParseGoDuration(text, &ns)) << text;
  return ns;
}

TEST(TimeTest, GoDurations) {
  EXPECT_EQ(Duration("2.255332326s"), 2255332326);  // the seed's PATCH
  EXPECT_EQ(Duration("161.626946ms"), 161626946);
  EXPECT_EQ(Duration("1m2.5s"), 62500000000);
  EXPECT_EQ(Duration("2m43.236559758s"), 163236559758);
  EXPECT_EQ(Duration("39.983749547s"), 39983749547);
  EXPECT_EQ(Duration("12µs"), 12000);
  EXPECT_EQ(Duration("891.682µs"), 891682);
  EXPECT_EQ(Duration("12μs"), 12000);  // Greek mu, also accepted by Go
  EXPECT_EQ(Duration("12us"), 12000);
  EXPECT_EQ(Duration("800ns"), 800);
  EXPECT_EQ(Duration("1h2m3.5s"), 3723500000000);
  EXPECT_EQ(Duration("1.5h"), 5400000000000);
  EXPECT_EQ(Duration("-1.5s"), -1500000000);
  EXPECT_EQ(Duration("+3ms"), 3000000);
  EXPECT_EQ(Duration("0"), 0);
  EXPECT_EQ(Duration("-0"), 0);
  EXPECT_EQ(Duration("0s"), 0);
  EXPECT_EQ(Duration("1.s"), 1000000000);                // Go accepts a dot without decimals
  EXPECT_EQ(Duration(".5s"), 500000000);                 // and decimals without an integer part
  EXPECT_EQ(Duration("2499999h"), 8999996400000000000);  // the parser's cap is 9e18 ns
}

TEST(TimeTest, GoDurationsInvalid) {
  for (std::string_view text : {"", "s", "1", "1x", "1 s", "-", "+", ".s", ".", "1..2s", "--1s",
                                "1e3s", "s1", "1s2", "3000000h", "1h 2m", "NaNs", "∞s"}) {
    int64_t ns = kUntouched;
    EXPECT_FALSE(ParseGoDuration(text, &ns)) << text;
    EXPECT_EQ(ns, kUntouched) << text;
  }
}

TEST(TimeTest, FormatRfc3339Nanos) {
  EXPECT_EQ(FormatRfc3339Nanos(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(FormatRfc3339Nanos(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatRfc3339Nanos(1649216800'800755496), "2022-04-06T03:46:40.800755496Z");
  EXPECT_EQ(FormatRfc3339Nanos(1709164800'000000001), "2024-02-29T00:00:00.000000001Z");
  EXPECT_EQ(FormatRfc3339Nanos(INT64_MAX), "2262-04-11T23:47:16.854775807Z");
  EXPECT_EQ(FormatRfc3339Nanos(INT64_MIN), "1677-09-21T00:12:43.145224192Z");
}

TEST(TimeTest, FormatAndParseRoundTrip) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> any(-9214560000'000000000, 9214646399'999999999);
  for (int i = 0; i < 100000; ++i) {
    const int64_t ns = any(rng);
    int64_t back = 0;
    const std::string text = FormatRfc3339Nanos(ns);
    ASSERT_TRUE(ParseRfc3339(text, &back)) << text;
    ASSERT_EQ(back, ns) << text;
  }
}

TEST(TimeTest, CivilHelpers) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2024, 3, 1) - DaysFromCivil(2024, 2, 28), 2);  // leap year
  EXPECT_EQ(DaysFromCivil(2100, 3, 1) - DaysFromCivil(2100, 2, 28), 1);  // not a leap year
  EXPECT_EQ(MonthFromAbbrev("Jan"), 1);
  EXPECT_EQ(MonthFromAbbrev("Apr"), 4);
  EXPECT_EQ(MonthFromAbbrev("Dec"), 12);
  EXPECT_EQ(MonthFromAbbrev("jan"), 0);
  EXPECT_EQ(MonthFromAbbrev("Janu"), 0);
  EXPECT_EQ(MonthFromAbbrev(""), 0);
}

}  // namespace
}  // namespace rrca
