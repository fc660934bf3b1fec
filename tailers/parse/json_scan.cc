#include "tailers/parse/json_scan.h"

#include <cstring>

#include "common/codecs.h"

namespace rrca::tailers {
namespace {

bool ReadHex4(std::string_view raw, size_t pos, unsigned* value) {
  if (pos + 4 > raw.size()) return false;
  unsigned result = 0;
  for (size_t i = 0; i < 4; ++i) {
    const int digit = HexValue(raw[pos + i]);
    if (digit < 0) return false;
    result = result * 16 + static_cast<unsigned>(digit);
  }
  *value = result;
  return true;
}

void AppendUtf8(unsigned code, std::string* out) {
  if (code < 0x80) {
    out->push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code >> 6)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

}  // namespace

JsonObjectScanner::JsonObjectScanner(std::string_view text) : text_(text) {
  SkipSpace();
  if (pos_ >= text_.size() || text_[pos_] != '{') {
    malformed_ = true;
    done_ = true;
    return;
  }
  ++pos_;
}

void JsonObjectScanner::SkipSpace() {
  while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r' ||
                                 text_[pos_] == '\n')) {
    ++pos_;
  }
}

bool JsonObjectScanner::ScanString(std::string_view* raw, bool* has_escapes) {
  // pos_ is on the opening quote.
  const size_t start = ++pos_;
  *has_escapes = false;
  while (true) {
    const void* found = std::memchr(text_.data() + pos_, '"', text_.size() - pos_);
    if (found == nullptr) return false;
    const size_t quote = static_cast<const char*>(found) - text_.data();
    // Count the backslashes right before the quote: an odd number escapes it.
    size_t backslashes = 0;
    while (quote - backslashes > start && text_[quote - backslashes - 1] == '\\') ++backslashes;
    if (!*has_escapes && std::memchr(text_.data() + start, '\\', quote - start) != nullptr) {
      *has_escapes = true;
    }
    pos_ = quote + 1;
    if (backslashes % 2 == 0) {
      *raw = text_.substr(start, quote - start);
      return true;
    }
  }
}

bool JsonObjectScanner::SkipValue() {
  if (pos_ >= text_.size()) return false;
  const char c = text_[pos_];
  if (c == '"') {
    std::string_view ignored;
    bool escapes = false;
    return ScanString(&ignored, &escapes);
  }
  if (c == '{' || c == '[') {
    // Skip a nested container by depth, honouring strings.
    int depth = 0;
    while (pos_ < text_.size()) {
      const char d = text_[pos_];
      if (d == '"') {
        std::string_view ignored;
        bool escapes = false;
        if (!ScanString(&ignored, &escapes)) return false;
        continue;
      }
      if (d == '{' || d == '[') ++depth;
      if (d == '}' || d == ']') {
        if (--depth == 0) {
          ++pos_;
          return true;
        }
      }
      ++pos_;
    }
    return false;
  }
  // Number, true, false, null: up to the next delimiter.
  const size_t start = pos_;
  while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '}' && text_[pos_] != ' ' &&
         text_[pos_] != '\n' && text_[pos_] != '\t' && text_[pos_] != '\r') {
    ++pos_;
  }
  return pos_ > start;
}

bool JsonObjectScanner::Next(JsonMember* member) {
  if (done_) return false;
  SkipSpace();
  if (pos_ < text_.size() && text_[pos_] == ',') {
    ++pos_;
    SkipSpace();
  }
  if (pos_ < text_.size() && text_[pos_] == '}') {
    done_ = true;
    return false;
  }
  bool key_escapes = false;
  if (pos_ >= text_.size() || text_[pos_] != '"' || !ScanString(&member->key, &key_escapes)) {
    malformed_ = done_ = true;
    return false;
  }
  SkipSpace();
  if (pos_ >= text_.size() || text_[pos_] != ':') {
    malformed_ = done_ = true;
    return false;
  }
  ++pos_;
  SkipSpace();
  if (pos_ < text_.size() && text_[pos_] == '"') {
    member->is_string = true;
    if (!ScanString(&member->value, &member->has_escapes)) {
      malformed_ = done_ = true;
      return false;
    }
    return true;
  }
  member->is_string = false;
  member->has_escapes = false;
  const size_t start = pos_;
  if (!SkipValue()) {
    malformed_ = done_ = true;
    return false;
  }
  member->value = text_.substr(start, pos_ - start);
  return true;
}

bool AppendJsonUnescaped(std::string_view raw, std::string* out) {
  size_t pos = 0;
  while (pos < raw.size()) {
    const void* found = std::memchr(raw.data() + pos, '\\', raw.size() - pos);
    const size_t slash = found ? static_cast<const char*>(found) - raw.data() : raw.size();
    out->append(raw.substr(pos, slash - pos));
    if (slash + 1 >= raw.size()) return slash == raw.size();
    const char c = raw[slash + 1];
    pos = slash + 2;
    switch (c) {
      case 'n':
        out->push_back('\n');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case '/':
        out->push_back('/');
        break;
      case '\\':
        out->push_back('\\');
        break;
      case '"':
        out->push_back('"');
        break;
      case 'u': {
        unsigned code = 0;
        if (!ReadHex4(raw, pos, &code)) return false;
        pos += 4;
        unsigned low = 0;
        if (code >= 0xD800 && code <= 0xDBFF && pos + 6 <= raw.size() && raw[pos] == '\\' &&
            raw[pos + 1] == 'u' && ReadHex4(raw, pos + 2, &low) && low >= 0xDC00 && low <= 0xDFFF) {
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          pos += 6;
        } else if (code >= 0xD800 && code <= 0xDFFF) {
          code = 0xFFFD;  // a lone surrogate cannot be encoded
        }
        AppendUtf8(code, out);
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

}  // namespace rrca::tailers
