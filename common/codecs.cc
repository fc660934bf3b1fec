#include "common/codecs.h"

#include <cstdint>

namespace rrca {

bool DecodeBase64(std::string_view in, std::string* out) {
  out->clear();
  if (in.empty() || in.size() % 4 != 0) return false;
  size_t padding = 0;
  if (in.back() == '=') padding = in[in.size() - 2] == '=' ? 2 : 1;
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    uint32_t group = 0;
    for (size_t j = 0; j < 4; ++j) {
      const bool pad_allowed = last && j >= 4 - padding;
      const int value = pad_allowed ? 0 : Base64Value(in[i + j], Base64Alphabet::kStandard);
      if (value < 0) return false;
      group = group << 6 | static_cast<uint32_t>(value);
    }
    out->push_back(static_cast<char>(group >> 16));
    if (!last || padding < 2) out->push_back(static_cast<char>(group >> 8 & 0xff));
    if (!last || padding < 1) out->push_back(static_cast<char>(group & 0xff));
  }
  return true;
}

bool DecodeBase64Unpadded(std::string_view in, std::string* out) {
  uint32_t bits = 0;
  int bit_count = 0;
  for (const char c : in) {
    if (c == '=') break;
    const int value = Base64Value(c, Base64Alphabet::kEither);
    if (value < 0) return false;
    bits = (bits << 6) | static_cast<uint32_t>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out->push_back(static_cast<char>((bits >> bit_count) & 0xFF));
    }
  }
  return true;
}

std::string PercentEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

namespace {

// The byte of the escape "%XX" at in[i], or -1 when there is none.
int EscapedByte(std::string_view in, size_t i) {
  if (in[i] != '%' || i + 2 >= in.size()) return -1;
  const int high = HexValue(in[i + 1]);
  const int low = HexValue(in[i + 2]);
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

}  // namespace

bool PercentDecode(std::string_view in, std::string* out) {
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    const int byte = EscapedByte(in, i);
    if (byte < 0) return false;
    out->push_back(static_cast<char>(byte));
    i += 2;
  }
  return true;
}

std::string QueryValueDecode(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const int byte = EscapedByte(value, i);
    if (byte >= 0) {
      out.push_back(static_cast<char>(byte));
      i += 2;
    } else {
      out.push_back(value[i] == '+' ? ' ' : value[i]);
    }
  }
  return out;
}

}  // namespace rrca
