#include "common/json_value.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "common/json_escape.h"

namespace rrca {

JsonValue JsonValue::Bool(bool value) {
  JsonValue out;
  out.value_ = value;
  return out;
}

JsonValue JsonValue::Number(double value) {
  JsonValue out;
  if (!std::isfinite(value)) return out;
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.value_ = NumberText{std::string(buffer, result.ptr)};
  return out;
}

JsonValue JsonValue::Integer(long long value) {
  JsonValue out;
  out.value_ = NumberText{std::to_string(value)};
  return out;
}

JsonValue JsonValue::String(std::string value) {
  JsonValue out;
  out.value_ = std::move(value);
  return out;
}

JsonValue JsonValue::EmptyArray() {
  JsonValue out;
  out.value_ = Array{};
  return out;
}

JsonValue JsonValue::EmptyObject() {
  JsonValue out;
  out.value_ = Object{};
  return out;
}

bool JsonValue::AsBool() const {
  const bool* value = std::get_if<bool>(&value_);
  return value != nullptr && *value;
}

double JsonValue::AsNumber() const {
  const NumberText* number = std::get_if<NumberText>(&value_);
  return number != nullptr ? std::strtod(number->text.c_str(), nullptr) : 0;
}

const std::string& JsonValue::AsString() const {
  static const std::string kEmpty;
  const std::string* value = std::get_if<std::string>(&value_);
  return value != nullptr ? *value : kEmpty;
}

const JsonValue::Array& JsonValue::AsArray() const {
  static const Array kEmpty;
  const Array* value = std::get_if<Array>(&value_);
  return value != nullptr ? *value : kEmpty;
}

const JsonValue::Object& JsonValue::AsObject() const {
  static const Object kEmpty;
  const Object* value = std::get_if<Object>(&value_);
  return value != nullptr ? *value : kEmpty;
}

JsonValue::Array& JsonValue::MutableArray() {
  if (!is_array()) value_ = Array{};
  return std::get<Array>(value_);
}

JsonValue::Object& JsonValue::MutableObject() {
  if (!is_object()) value_ = Object{};
  return std::get<Object>(value_);
}

const JsonValue* JsonValue::Find(std::string_view key) const {
  const Object* object = std::get_if<Object>(&value_);
  if (object == nullptr) return nullptr;
  for (auto it = object->rbegin(); it != object->rend(); ++it) {
    if (it->first == key) return &it->second;
  }
  return nullptr;
}

JsonValue* JsonValue::Find(std::string_view key) {
  return const_cast<JsonValue*>(std::as_const(*this).Find(key));
}

std::string JsonValue::GetString(std::string_view key, std::string_view fallback) const {
  const JsonValue* member = Find(key);
  return member != nullptr && member->is_string() ? member->AsString() : std::string(fallback);
}

JsonValue& JsonValue::Set(std::string_view key, JsonValue value) {
  Object& object = MutableObject();
  JsonValue* kept = nullptr;
  for (auto it = object.begin(); it != object.end();) {
    if (it->first != key) {
      ++it;
    } else if (kept == nullptr) {
      it->second = std::move(value);
      kept = &it->second;
      ++it;
    } else {
      it = object.erase(it);  // a repeated key: one copy stays, in the first one's place
    }
  }
  if (kept != nullptr) return *kept;
  object.emplace_back(std::string(key), std::move(value));
  return object.back().second;
}

JsonValue& JsonValue::Append(JsonValue value) {
  Array& array = MutableArray();
  array.push_back(std::move(value));
  return array.back();
}

std::string JsonValue::Serialize() const {
  std::string out;
  SerializeTo(&out);
  return out;
}

void JsonValue::SerializeTo(std::string* out) const {
  switch (type()) {
    case Type::kNull:
      *out += "null";
      break;
    case Type::kBool:
      *out += AsBool() ? "true" : "false";
      break;
    case Type::kNumber:
      *out += std::get<NumberText>(value_).text;
      break;
    case Type::kString:
      *out += '"';
      AppendJsonEscaped(AsString(), out);
      *out += '"';
      break;
    case Type::kArray: {
      *out += '[';
      bool first = true;
      for (const JsonValue& element : AsArray()) {
        if (!first) *out += ',';
        first = false;
        element.SerializeTo(out);
      }
      *out += ']';
      break;
    }
    case Type::kObject: {
      *out += '{';
      bool first = true;
      for (const auto& [key, member] : AsObject()) {
        if (!first) *out += ',';
        first = false;
        *out += '"';
        AppendJsonEscaped(key, out);
        *out += "\":";
        member.SerializeTo(out);
      }
      *out += '}';
      break;
    }
  }
}

// A recursive-descent parser over the whole text. Recursion is bounded by max_depth, allocation
// by max_values (and the text's size), so no input can exhaust the stack or memory.
class JsonParser {
 public:
  JsonParser(std::string_view text, const JsonLimits& limits) : text_(text), limits_(limits) {}

  StatusOr<JsonValue> Parse() {
    if (text_.size() > limits_.max_bytes) {
      return Status::Error("the document is larger than " + std::to_string(limits_.max_bytes) +
                           " bytes");
    }
    JsonValue value;
    SkipSpace();
    if (!ParseValue(&value, 0)) return Status::Error(error_);
    SkipSpace();
    if (pos_ != text_.size() && error_.empty()) Fail("unexpected data after the JSON value");
    if (!error_.empty()) return Status::Error(error_);
    return value;
  }

 private:
  bool Fail(const std::string& message) {
    if (error_.empty()) error_ = "byte " + std::to_string(pos_) + ": " + message;
    return false;
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool ParseValue(JsonValue* out, size_t depth) {
    if (++values_ > limits_.max_values) {
      return Fail("more than " + std::to_string(limits_.max_values) + " values");
    }
    if (pos_ >= text_.size()) return Fail("unexpected end of input, expected a value");
    const char c = text_[pos_];
    if (c == '{' || c == '[') {
      if (depth >= limits_.max_depth) {
        return Fail("nested deeper than " + std::to_string(limits_.max_depth) + " levels");
      }
      return c == '{' ? ParseObject(out, depth + 1) : ParseArray(out, depth + 1);
    }
    if (c == '"') {
      std::string text;
      if (!ParseString(&text)) return false;
      out->value_ = std::move(text);
      return true;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
    if (Consume("true")) {
      out->value_ = true;
    } else if (Consume("false")) {
      out->value_ = false;
    } else if (Consume("null")) {
      out->value_ = std::monostate{};
    } else {
      return Fail("unexpected character, expected a value");
    }
    return true;
  }

  bool ParseObject(JsonValue* out, size_t depth) {
    JsonValue::Object& object = out->MutableObject();
    ++pos_;  // '{'
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Fail("expected a string key");
      std::string key;
      if (!ParseString(&key)) return false;
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':') {
        return Fail("expected ':' after an object key");
      }
      ++pos_;
      SkipSpace();
      object.emplace_back();
      object.back().first = std::move(key);
      if (!ParseValue(&object.back().second, depth)) return false;
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or '}' in an object");
    }
  }

  bool ParseArray(JsonValue* out, size_t depth) {
    JsonValue::Array& array = out->MutableArray();
    ++pos_;  // '['
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      array.emplace_back();
      if (!ParseValue(&array.back(), depth)) return false;
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or ']' in an array");
    }
  }

  bool ParseNumber(JsonValue* out) {
    const size_t start = pos_;
    auto digits = [this] {
      const size_t from = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    if (text_[pos_] == '-') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '0') {
      ++pos_;
      if (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        return Fail("a number has a leading zero");
      }
    } else if (digits() == 0) {
      return Fail("a number needs digits");
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return Fail("a number needs digits after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (digits() == 0) return Fail("a number needs digits in its exponent");
    }
    out->value_ = JsonValue::NumberText{std::string(text_.substr(start, pos_ - start))};
    return true;
  }

  static void AppendUtf8(uint32_t code, std::string* out) {
    if (code < 0x80) {
      *out += static_cast<char>(code);
    } else if (code < 0x800) {
      *out += static_cast<char>(0xC0 | (code >> 6));
      *out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      *out += static_cast<char>(0xE0 | (code >> 12));
      *out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (code >> 18));
      *out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  // Four hex digits after "\u" at pos_; false when malformed.
  bool Hex4(uint32_t* code) {
    if (pos_ + 4 > text_.size()) return false;
    uint32_t value = 0;
    for (size_t i = 0; i < 4; ++i) {
      const char c = text_[pos_ + i];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    pos_ += 4;
    *code = value;
    return true;
  }

  bool ParseEscape(std::string* out) {
    if (pos_ >= text_.size()) return Fail("unterminated escape");
    const char c = text_[pos_++];
    switch (c) {
      case '"':
        *out += '"';
        return true;
      case '\\':
        *out += '\\';
        return true;
      case '/':
        *out += '/';
        return true;
      case 'b':
        *out += '\b';
        return true;
      case 'f':
        *out += '\f';
        return true;
      case 'n':
        *out += '\n';
        return true;
      case 'r':
        *out += '\r';
        return true;
      case 't':
        *out += '\t';
        return true;
      case 'u':
        break;
      default:
        return Fail("invalid escape in a string");
    }
    uint32_t code = 0;
    if (!Hex4(&code)) return Fail("\\u needs four hex digits");
    if (code >= 0xD800 && code <= 0xDBFF) {
      // A high surrogate: only a following low surrogate makes a character.
      uint32_t low = 0;
      const size_t saved = pos_;
      if (Consume("\\u") && Hex4(&low) && low >= 0xDC00 && low <= 0xDFFF) {
        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
      } else {
        pos_ = saved;
        code = 0xFFFD;
      }
    } else if (code >= 0xDC00 && code <= 0xDFFF) {
      code = 0xFFFD;
    }
    AppendUtf8(code, out);
    return true;
  }

  bool ParseString(std::string* out) {
    ++pos_;  // '"'
    while (true) {
      const size_t run = pos_;
      while (pos_ < text_.size()) {
        const unsigned char c = static_cast<unsigned char>(text_[pos_]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++pos_;
      }
      out->append(text_.data() + run, pos_ - run);
      if (pos_ >= text_.size()) return Fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '\\') {
        ++pos_;
        if (!ParseEscape(out)) return false;
      } else if (c < 0x20) {
        return Fail("a raw control character in a string");
      } else {
        const size_t length = Utf8SequenceLength(text_, pos_);
        if (length == 0) {
          *out += "\xEF\xBF\xBD";
          ++pos_;
        } else {
          out->append(text_.data() + pos_, length);
          pos_ += length;
        }
      }
    }
  }

  std::string_view text_;
  const JsonLimits& limits_;
  size_t pos_ = 0;
  size_t values_ = 0;
  std::string error_;
};

StatusOr<JsonValue> ParseJson(std::string_view text, const JsonLimits& limits) {
  return JsonParser(text, limits).Parse();
}

}  // namespace rrca
