// The JSON adapter (common/json.h): parsing hostile documents within bounds, typed reads,
// round trips.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

#include "common/json.h"

namespace rrca {

void PrintTo(const Json& value, std::ostream* out) { *out << value.dump(); }

namespace {

using namespace std::chrono_literals;

// Members keep document order; integers stay exact; other numbers are doubles written in their
// shortest form, so 0.10 is forwarded as 0.1 (Alertmanager's payload has no such number).
TEST(JsonTest, RoundTripsKeepingOrderAndIntegers) {
  const std::string text =
      R"({"b":1,"a":[true,false,null,0.10,-2e+300,"x\"y\\z\n\u00e9\ud83d\ude00",)"
      R"(-9223372036854775808,18446744073709551615],"c":{}})";
  auto value = ParseJson(text);
  ASSERT_TRUE(value.ok()) << value.status().message();
  EXPECT_EQ(
      DumpJson(value.value()),
      "{\"b\":1,\"a\":[true,false,null,0.1,-2e+300,\"x\\\"y\\\\z\\n\xC3\xA9\xF0\x9F\x98\x80\","
      "-9223372036854775808,18446744073709551615],\"c\":{}}");
  EXPECT_EQ(JsonAsNumber(value.value().at("a")[3]), 0.1);
  EXPECT_EQ(JsonAsString(value.value().at("a")[5]), "x\"y\\z\n\xC3\xA9\xF0\x9F\x98\x80");
  auto again = ParseJson(DumpJson(value.value()));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), value.value());
}

// A number outside double's range cannot be held: refused, with where, instead of becoming inf.
TEST(JsonTest, RefusesNumbersOutsideDoubleRange) {
  auto value = ParseJson("[1,-2e+400]");
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().message(), "byte 9: number overflow parsing '-2e+400'");
}

// Invalid UTF-8 becomes U+FFFD, as Go's encoding/json writes it; a lone surrogate escape, which
// no encoder of ours or Alertmanager's writes, is refused.
TEST(JsonTest, HostileStringsBecomeReplacementCharactersOrAreRefused) {
  auto value = ParseJson(
      "[\"a\xff\xfe"
      "b\", \"\xc3\x28\"]");
  ASSERT_TRUE(value.ok()) << value.status().message();
  const Json& a = value.value();
  EXPECT_EQ(JsonAsString(a[0]),
            "a\xEF\xBF\xBD\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(JsonAsString(a[1]), "\xEF\xBF\xBD(");
  for (const char* lone : {"[\"\\ud800x\"]", "[\"\\udc00\"]"}) {
    auto refused = ParseJson(lone);
    ASSERT_FALSE(refused.ok()) << lone;
    EXPECT_EQ(refused.status().message().rfind("byte ", 0), 0u) << refused.status().message();
  }
}

TEST(JsonTest, RejectsWhatRfc8259Rejects) {
  const std::vector<std::string> bad = {
      "",
      " ",
      "{",
      "}",
      "[1,]",
      "{\"a\":1,}",
      "{a:1}",
      "{'a':1}",
      "[01]",
      "[1.]",
      "[.5]",
      "[1e]",
      "[-]",
      "[+1]",
      "\"unterminated",
      "\"tab\there\"",
      "[\"\\x\"]",
      "[\"\\u12\"]",
      "tru",
      "nul",
      "[1] [2]",
      "[1]x",
      "/* c */ 1",
      "{\"a\" 1}",
      "[1 2]",
      "NaN",
      "Infinity",
      std::string("[\"a\0b\"]", 7),
      "\xEF\xBB\xBF[]",
  };
  for (const std::string& text : bad) {
    auto value = ParseJson(text);
    EXPECT_FALSE(value.ok()) << "accepted: " << text;
    if (!value.ok()) {
      EXPECT_EQ(value.status().message().rfind("byte ", 0), 0u) << text;
      EXPECT_EQ(value.status().code(), StatusCode::kInvalidArgument) << text;
    }
  }
}

TEST(JsonTest, LimitsBoundHostileDocuments) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto value = ParseJson(deep);
  ASSERT_FALSE(value.ok());
  EXPECT_NE(value.status().message().find("nested deeper than 64"), std::string::npos);
  EXPECT_EQ(value.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(ParseJson(std::string(64, '[') + std::string(64, ']')).ok());

  JsonLimits small;
  small.max_bytes = 10;
  EXPECT_EQ(ParseJson("[1,2,3,4,5,6]", small).status().code(), StatusCode::kResourceExhausted);
  small.max_bytes = 1 << 20;
  small.max_values = 5;
  EXPECT_TRUE(ParseJson("[1,2,3,4]", small).ok());
  EXPECT_EQ(ParseJson("[1,2,3,4,5]", small).status().code(), StatusCode::kResourceExhausted);
  // A syntax error after the limit was hit stays a limit; one before it stays a syntax error.
  EXPECT_EQ(ParseJson("[1,2,", small).status().code(), StatusCode::kInvalidArgument);
  // The error quotes the token it stopped in, but not a megabyte of it.
  auto unterminated = ParseJson("[\"" + std::string(1 << 20, 'a'));
  ASSERT_FALSE(unterminated.ok());
  EXPECT_EQ(unterminated.status().message().rfind("byte 1048578: ", 0), 0u);
  EXPECT_EQ(unterminated.status().code(), StatusCode::kInvalidArgument);
  EXPECT_LE(unterminated.status().message().size(), 230u);
}

// A repeated key keeps its first place and its last value; dumping never throws on invalid
// UTF-8 from log content or on non-finite numbers.
TEST(JsonTest, RepeatedKeysAndDumpingHostileValues) {
  auto value = ParseJson(R"({"k":1,"x":2,"k":3})");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(DumpJson(value.value()), R"({"k":3,"x":2})");
  value.value()["k"] = "v";
  EXPECT_EQ(DumpJson(value.value()), R"({"k":"v","x":2})");
  Json built;
  built["n"] = JsonNumber(std::numeric_limits<double>::infinity());
  built["s"] = "bad \xff utf8";
  built["i"] = JsonNumber(42.0);
  built["f"] = JsonNumber(0.25);
  EXPECT_EQ(DumpJson(built), "{\"n\":null,\"s\":\"bad \xEF\xBF\xBD utf8\",\"i\":42,\"f\":0.25}");
}

// An object with many members (a hostile payload's annotations) is built in linear time, not
// by a scan per member: 200,000 members, a quarter of them repeated.
TEST(JsonTest, LargeObjectsParseInLinearTime) {
  std::string text = "{";
  for (int i = 0; i < 200'000; ++i) {
    text += (i == 0 ? "\"k" : ",\"k") + std::to_string(i % 150'000) + "\":" + std::to_string(i);
  }
  text += "}";
  const auto start = std::chrono::steady_clock::now();
  auto value = ParseJson(text);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(value.ok()) << value.status().message();
  EXPECT_EQ(value.value().size(), 150'000u);
  EXPECT_EQ(value.value().at("k7").get<int>(), 150'007);
  EXPECT_EQ(value.value().begin().key(), "k0");
  EXPECT_LT(seconds, 2.0);
}

// The typed reads never throw on a value of another type, as nlohmann's get<> would.
TEST(JsonTest, TypedReadsOfTheWrongTypeAreEmpty) {
  auto value = ParseJson(R"({"s":1,"a":"x","o":[1],"b":"true"})");
  ASSERT_TRUE(value.ok());
  const Json& v = value.value();
  EXPECT_EQ(JsonString(v, "s", "fallback"), "fallback");
  EXPECT_EQ(JsonString(v, "missing"), "");
  EXPECT_TRUE(JsonArray(JsonFind(v, "a")).empty());
  EXPECT_TRUE(JsonObject(JsonFind(v, "o")).empty());
  EXPECT_FALSE(JsonAsBool(v.at("b")));
  EXPECT_EQ(JsonAsNumber(v.at("a")), 0);
  EXPECT_EQ(JsonFind(v.at("o"), "x"), nullptr);
  EXPECT_EQ(JsonString(v.at("o"), "x"), "");
}

// Random garbage and random mutations of a real payload: never a crash; whatever is accepted
// serializes to JSON that parses back to the same value.
TEST(JsonTest, FuzzNeverCrashesAndAcceptedInputRoundTrips) {
  const std::string seed =
      R"({"receiver":"r","status":"firing","alerts":[{"labels":{"a":"b"},"annotations":{},)"
      R"("startsAt":"2026-11-29T12:00:00.5Z","fingerprint":"f","x":[1,-0.5e3,true,null]}],"v":"4"})";
  std::mt19937 random(42);
  const std::string alphabet = "{}[]\",:\\ u0123456789abcdefntrl-+.eE\x01\x7f\xc3\xff";
  for (int i = 0; i < 20000; ++i) {
    std::string text = seed;
    if (i % 2 == 0) {
      text.resize(random() % 64);
      for (char& c : text) c = alphabet[random() % alphabet.size()];
    } else {
      for (int m = 0; m < 1 + static_cast<int>(random() % 4); ++m) {
        const size_t at = random() % text.size();
        switch (random() % 3) {
          case 0:
            text[at] = alphabet[random() % alphabet.size()];
            break;
          case 1:
            text.erase(at, 1 + random() % 3);
            break;
          default:
            text.insert(at, 1, alphabet[random() % alphabet.size()]);
        }
        if (text.empty()) text = "x";
      }
    }
    auto value = ParseJson(text);
    if (!value.ok()) continue;
    auto again = ParseJson(value.value().dump());
    ASSERT_TRUE(again.ok()) << text;
    EXPECT_EQ(again.value(), value.value()) << text;
  }
}

}  // namespace
}  // namespace rrca
