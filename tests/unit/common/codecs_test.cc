// The shared codecs (common/codecs.h): hex digits, both base64 decoders, percent encoding and
// both percent decoders. Expected values come from independent references written here (an
// encoder, a table built from the alphabets) and from RFC 4648's test vectors.
#include "common/codecs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>

namespace rrca {
namespace {

constexpr std::string_view kStandard =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlSafe =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// A reference encoder: RFC 4648 with padding, or unpadded in the URL-safe alphabet.
std::string Encode(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (const char c : bytes) {
    bits = (bits << 8) | static_cast<unsigned char>(c);
    count += 8;
    while (count >= 6) {
      count -= 6;
      out.push_back(alphabet[(bits >> count) & 63]);
    }
  }
  if (count > 0) out.push_back(alphabet[(bits << (6 - count)) & 63]);
  while (pad && out.size() % 4 != 0) out.push_back('=');
  return out;
}

std::string AllBytes() {
  std::string bytes;
  for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  return bytes;
}

std::string RandomBytes(std::mt19937& rng, size_t size) {
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
  return bytes;
}

TEST(CodecsTest, HexValueOfEveryByte) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    int expected = -1;
    if (std::isxdigit(b)) expected = std::stoi(std::string(1, c), nullptr, 16);
    EXPECT_EQ(HexValue(c), expected) << b;
  }
  static_assert(HexValue('f') == 15 && HexValue('G') == -1, "usable in constant expressions");
}

TEST(CodecsTest, Base64ValueOfEveryByte) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const size_t standard = kStandard.find(c);
    const size_t url_safe = kUrlSafe.find(c);
    const int in_standard = standard == std::string_view::npos ? -1 : static_cast<int>(standard);
    const int in_url_safe = url_safe == std::string_view::npos ? -1 : static_cast<int>(url_safe);
    EXPECT_EQ(Base64Value(c, Base64Alphabet::kStandard), in_standard) << b;
    EXPECT_EQ(Base64Value(c, Base64Alphabet::kUrlSafe), in_url_safe) << b;
    EXPECT_EQ(Base64Value(c, Base64Alphabet::kEither), std::max(in_standard, in_url_safe)) << b;
  }
}

TEST(CodecsTest, DecodeBase64Rfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> kVectors[] = {
      {"Zg==", "f"},        {"Zm8=", "fo"},        {"Zm9v", "foo"},
      {"Zm9vYg==", "foob"}, {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"},
  };
  for (const auto& [encoded, decoded] : kVectors) {
    std::string out = "stale";
    EXPECT_TRUE(DecodeBase64(encoded, &out)) << encoded;
    EXPECT_EQ(out, decoded) << encoded;  // replaced, not appended to
  }
}

TEST(CodecsTest, DecodeBase64RoundTripsEveryByteAndRandomText) {
  std::string out;
  ASSERT_TRUE(DecodeBase64(Encode(AllBytes(), kStandard, true), &out));
  EXPECT_EQ(out, AllBytes());
  std::mt19937 rng(7);
  for (size_t size = 1; size < 200; ++size) {
    const std::string bytes = RandomBytes(rng, size);
    ASSERT_TRUE(DecodeBase64(Encode(bytes, kStandard, true), &out)) << size;
    EXPECT_EQ(out, bytes) << size;
  }
}

TEST(CodecsTest, DecodeBase64RefusesWhatBasicAuthMustNotAccept) {
  const std::string_view kInvalid[] = {
      "",          // nothing to decode
      "Zg",        // unpadded
      "Zg=",       // length not a multiple of 4
      "Zm9vY",     //
      "Z===",      // three padding characters
      "=Zg=",      // padding first
      "Zg=g",      // padding inside the last group
      "Zg==Zm9v",  // padding before the end
      "Zm9-",      // the URL-safe alphabet
      "Zm9_",      //
      "Zm9 ",      // white space
      "Zm9\n",     //
      "Zm9\xc3",   // a byte above 0x7F
  };
  for (const std::string_view text : kInvalid) {
    std::string out;
    EXPECT_FALSE(DecodeBase64(text, &out)) << text;
  }
  // As web_auth always did: bits below the last byte are not required to be zero.
  std::string out;
  EXPECT_TRUE(DecodeBase64("Zh==", &out));
  EXPECT_EQ(out, "f");
}

TEST(CodecsTest, DecodeBase64UnpaddedReadsBothAlphabetsUpToPadding) {
  std::mt19937 rng(11);
  for (size_t size = 0; size < 200; ++size) {
    const std::string bytes = RandomBytes(rng, size);
    for (const std::string_view alphabet : {kStandard, kUrlSafe}) {
      for (const bool pad : {false, true}) {
        std::string out;
        ASSERT_TRUE(DecodeBase64Unpadded(Encode(bytes, alphabet, pad), &out)) << size;
        EXPECT_EQ(out, bytes) << size;
      }
    }
  }
  std::string out = "kept:";
  EXPECT_TRUE(DecodeBase64Unpadded("-_+/", &out));  // mixed alphabets: 62 63 62 63
  EXPECT_EQ(out, "kept:\xfb\xff\xbf");              // appended to
  out.clear();
  EXPECT_TRUE(DecodeBase64Unpadded("Zg==!!not read", &out));
  EXPECT_EQ(out, "f");
  out.clear();
  EXPECT_TRUE(DecodeBase64Unpadded("Z", &out));  // 6 bits: no whole byte
  EXPECT_EQ(out, "");
  for (const std::string_view text : {"Zm9v!", "Zm 9v", "Zm9v%3D", "Zm9v\xff"}) {
    EXPECT_FALSE(DecodeBase64Unpadded(text, &out)) << text;
  }
}

TEST(CodecsTest, PercentEncodeEveryByte) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool unreserved = std::isalnum(b) || c == '-' || c == '_' || c == '.' || c == '~';
    char escaped[4];
    std::snprintf(escaped, sizeof(escaped), "%%%02X", b);
    const std::string expected = unreserved ? std::string(1, c) : std::string(escaped);
    EXPECT_EQ(PercentEncode(std::string(1, c), false), expected) << b;
    EXPECT_EQ(PercentEncode(std::string(1, c), true), c == '/' ? "/" : expected) << b;
  }
  EXPECT_EQ(PercentEncode("a b/c~d", false), "a%20b%2Fc~d");
  EXPECT_EQ(PercentEncode("a b/c~d", true), "a%20b/c~d");
  EXPECT_EQ(PercentEncode("", false), "");
}

TEST(CodecsTest, PercentDecodeRoundTripsEveryByte) {
  for (const bool keep_slash : {false, true}) {
    std::string out;
    ASSERT_TRUE(PercentDecode(PercentEncode(AllBytes(), keep_slash), &out));
    EXPECT_EQ(out, AllBytes());
  }
  std::string lower;  // lower-case escapes too
  for (int b = 0; b < 256; ++b) {
    char escaped[4];
    std::snprintf(escaped, sizeof(escaped), "%%%02x", b);
    lower += escaped;
  }
  std::string out;
  ASSERT_TRUE(PercentDecode(lower, &out));
  EXPECT_EQ(out, AllBytes());
}

TEST(CodecsTest, PercentDecodeRefusesBrokenEscapes) {
  std::string out;
  EXPECT_TRUE(PercentDecode("a+b%2fc", &out));
  EXPECT_EQ(out, "a+b/c");  // '+' is no space outside a query
  for (const std::string_view text : {"%", "a%", "%4", "a%4", "%4g", "%g4", "%%41", "%\xff\xff"}) {
    out = "before:";
    EXPECT_FALSE(PercentDecode(text, &out)) << text;
    EXPECT_TRUE(out.starts_with("before:")) << text;  // appended to, never cleared
  }
}

TEST(CodecsTest, QueryValueDecodeKeepsBrokenEscapes) {
  EXPECT_EQ(QueryValueDecode("a+b%20c%2Fd%2f"), "a b c/d/");
  EXPECT_EQ(QueryValueDecode("100%"), "100%");
  EXPECT_EQ(QueryValueDecode("%4"), "%4");
  EXPECT_EQ(QueryValueDecode("%zz%41"), "%zzA");
  EXPECT_EQ(QueryValueDecode("%2B+"), "+ ");  // an escaped '+' stays a '+'
  EXPECT_EQ(QueryValueDecode(""), "");
  std::string every_byte = AllBytes();
  EXPECT_EQ(QueryValueDecode(PercentEncode(every_byte, false)), every_byte);
}

}  // namespace
}  // namespace rrca
