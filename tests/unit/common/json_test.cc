// JSON escaping and UTF-8 sanitising (common/json_escape.h): hostile log bytes must always
// become valid JSON and valid UTF-8. Validity is checked structurally by a small validator
// written from RFC 8259 / RFC 3629 here, not by the code under test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <random>
#include <string>

#include "common/json_escape.h"

namespace rrca {
namespace {

// RFC 3629 well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char c = b(0);
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c <= 0x7F) {
      n = 0;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c == 0xE0) {
      n = 2, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      n = 2;
    } else if (c == 0xED) {
      n = 2, hi = 0x9F;
    } else if (c == 0xF0) {
      n = 3, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      n = 3;
    } else if (c == 0xF4) {
      n = 3, hi = 0x8F;
    } else {
      return false;
    }
    if (n > 0 && i + n >= s.size()) return false;  // cut short
    for (size_t k = 1; k <= n; ++k) {
      const unsigned char t = b(k);
      const unsigned char min = k == 1 ? lo : 0x80;
      const unsigned char max = k == 1 ? hi : 0xBF;
      if (t < min || t > max) return false;
    }
    i += n + 1;
  }
  return true;
}

// The body of a JSON string (between the quotes): RFC 8259 section 7.
bool ValidJsonStringBody(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '"') return false;
    if (c != '\\') continue;
    if (++i >= s.size()) return false;
    switch (s[i]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        break;
      case 'u':
        for (int k = 0; k < 4; ++k) {
          if (++i >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
        }
        break;
      default:
        return false;
    }
  }
  return ValidUtf8(s);
}

std::string Escaped(std::string_view text) {
  std::string out;
  AppendJsonEscaped(text, &out);
  return out;
}

constexpr std::string_view kFffd = "\xEF\xBF\xBD";

TEST(JsonEscapeTest, QuotesBackslashesAndControlBytes) {
  EXPECT_EQ(Escaped(R"(say "hi" \ bye)"), R"(say \"hi\" \\ bye)");
  EXPECT_EQ(Escaped("a\nb\tc\rd"), R"(a\nb\tc\rd)");
  EXPECT_EQ(Escaped(std::string("\0\x01\x08\x0c\x1b\x1f\x7f", 7)),
            R"(\u0000\u0001\u0008\u000c\u001b\u001f\u007f)");
  EXPECT_EQ(Escaped("/<>&'"), "/<>&'");  // legal as is
  EXPECT_EQ(Escaped(""), "");
  std::string appended = "prefix:";
  AppendJsonEscaped("x", &appended);
  EXPECT_EQ(appended, "prefix:x");  // appends, never clears
}

TEST(JsonEscapeTest, ValidUtf8IsKept) {
  const std::string text = "µs é € 😀 \xF4\x8F\xBF\xBF";  // up to U+10FFFF
  EXPECT_EQ(Escaped(text), text);
  EXPECT_EQ(SanitizeUtf8(text), text);
}

TEST(JsonEscapeTest, InvalidUtf8BecomesReplacementCharacters) {
  struct Case {
    std::string in;
    std::string out;
  };
  const std::string r(kFffd);
  const Case cases[] = {
      {"\x80", r},  // lone continuation byte
      {"a\xC0\xAF"
       "b",
       "a" + r + r + "b"},                          // overlong '/'
      {"\xE0\x80\xAF", r + r + r},                  // overlong 3-byte
      {"\xED\xA0\x80", r + r + r},                  // UTF-16 surrogate
      {"\xF4\x90\x80\x80", r + r + r + r},          // above U+10FFFF
      {"\xF8\x88\x80\x80\x80", r + r + r + r + r},  // 5-byte form
      {"\xFF\xFE", r + r},
      {"\xE2\x82", r + r},         // truncated at the end
      {"\xE2\x82x", r + r + "x"},  // truncated before ASCII
      {"\xC3", r},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(Escaped(c.in), c.out);
    EXPECT_EQ(SanitizeUtf8(c.in), c.out);
  }
}

TEST(JsonEscapeTest, SequenceLength) {
  EXPECT_EQ(Utf8SequenceLength("a", 0), 1u);
  EXPECT_EQ(Utf8SequenceLength("\xC2\xB5", 0), 2u);
  EXPECT_EQ(Utf8SequenceLength("\xE2\x82\xAC", 0), 3u);
  EXPECT_EQ(Utf8SequenceLength("\xF0\x9F\x98\x80", 0), 4u);
  EXPECT_EQ(Utf8SequenceLength("x\xF0\x9F\x98\x80", 1), 4u);
  EXPECT_EQ(Utf8SequenceLength("\xF0\x9F\x98", 0), 0u);  // cut
  EXPECT_EQ(Utf8SequenceLength("\xC0\x80", 0), 0u);      // overlong NUL
  EXPECT_EQ(Utf8SequenceLength("\xED\xBF\xBF", 0), 0u);  // surrogate
  EXPECT_EQ(Utf8SequenceLength("\x80", 0), 0u);
}

// IsValidUtf8's eight-bytes-at-a-time path agrees with the reference at every offset: one bad
// or multi-byte sequence placed anywhere in a run of ASCII.
TEST(JsonEscapeTest, IsValidUtf8AgreesWithTheReferenceAtEveryOffset) {
  const std::string pieces[] = {"\xC2\xB5",     "\xF0\x9F\x98\x80", "\x80", "\xC0\x80",
                                "\xED\xBF\xBF", "\xF0\x9F\x98",     "\xFF"};
  for (const std::string& piece : pieces) {
    for (size_t at = 0; at <= 20; ++at) {
      for (size_t length : {at, at + 1, at + 7, size_t{24}}) {
        std::string text(std::max(length, at), 'a');
        text.insert(at, piece);
        SCOPED_TRACE(testing::Message() << "piece of " << piece.size() << " at " << at);
        EXPECT_EQ(IsValidUtf8(text), ValidUtf8(text));
      }
    }
  }
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("0123456789abcdefXYZ"));
}

TEST(JsonEscapeTest, EverySingleByteGivesValidJson) {
  for (int c = 0; c < 256; ++c) {
    const std::string in(1, static_cast<char>(c));
    SCOPED_TRACE(c);
    EXPECT_TRUE(ValidJsonStringBody(Escaped(in)));
    EXPECT_TRUE(ValidUtf8(SanitizeUtf8(in)));
  }
}

TEST(JsonEscapeTest, RandomBytesAlwaysGiveValidJsonAndKeepValidText) {
  std::mt19937 rng(8259);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 64);
  for (int i = 0; i < 20000; ++i) {
    std::string in;
    const int n = length(rng);
    for (int k = 0; k < n; ++k) in.push_back(static_cast<char>(byte(rng)));
    const std::string escaped = Escaped(in);
    ASSERT_TRUE(ValidJsonStringBody(escaped)) << i;
    const std::string sanitized = SanitizeUtf8(in);
    ASSERT_TRUE(ValidUtf8(sanitized)) << i;
    // Valid input passes through unchanged, and sanitising is idempotent.
    if (ValidUtf8(in)) {
      ASSERT_EQ(sanitized, in) << i;
    }
    ASSERT_EQ(SanitizeUtf8(sanitized), sanitized) << i;
  }
}

// The validator itself must reject what it should, or the tests above prove nothing.
TEST(JsonEscapeTest, ValidatorRejectsInvalidJsonAndUtf8) {
  EXPECT_FALSE(ValidJsonStringBody("a\"b"));
  EXPECT_FALSE(ValidJsonStringBody("a\nb"));
  EXPECT_FALSE(ValidJsonStringBody("a\\"));
  EXPECT_FALSE(ValidJsonStringBody("\\x41"));
  EXPECT_FALSE(ValidJsonStringBody("\\u12g4"));
  EXPECT_FALSE(ValidJsonStringBody("\xC0\xAF"));
  EXPECT_FALSE(ValidUtf8("\xED\xA0\x80"));
  EXPECT_FALSE(ValidUtf8("\xE2\x82"));
  EXPECT_FALSE(ValidUtf8("\xF4\x90\x80\x80"));
  EXPECT_TRUE(ValidJsonStringBody("\\u00e9 \\\" \\\\ \\/ µ"));
}

}  // namespace
}  // namespace rrca
