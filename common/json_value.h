#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/status.h"

namespace rrca {

// A JSON document (RFC 8259) as a tree of values, for payloads that registry-rca receives from
// other programs (Alertmanager's webhook) and forwards with additions. Objects keep their members
// in document order, so a payload forwarded unchanged except for additions reads the same;
// numbers keep their text, so 0.10 or 1e400 round-trip exactly. A plain value type: copyable,
// not thread-safe. Parsing never throws and is bounded for hostile input (see JsonLimits).
class JsonValue {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Array = std::vector<JsonValue>;
  using Member = std::pair<std::string, JsonValue>;
  using Object = std::vector<Member>;

  JsonValue() = default;  // null
  static JsonValue Bool(bool value);
  static JsonValue Number(double value);  // non-finite numbers become null (JSON has none)
  static JsonValue Integer(long long value);
  static JsonValue String(std::string value);
  static JsonValue EmptyArray();
  static JsonValue EmptyObject();

  Type type() const { return static_cast<Type>(value_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_number() const { return type() == Type::kNumber; }
  bool is_string() const { return type() == Type::kString; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_object() const { return type() == Type::kObject; }

  // Typed reads; a value of another type reads as false / 0 / "" / empty.
  bool AsBool() const;
  double AsNumber() const;
  const std::string& AsString() const;
  const Array& AsArray() const;
  const Object& AsObject() const;
  // Mutable access; a value of another type is first replaced by an empty one.
  Array& MutableArray();
  Object& MutableObject();

  // The member `key` of an object (the last one when a hostile document repeats it), or null.
  const JsonValue* Find(std::string_view key) const;
  JsonValue* Find(std::string_view key);
  // The string member `key`, or `fallback` when absent or not a string.
  std::string GetString(std::string_view key, std::string_view fallback = "") const;
  // Replaces the member `key` (every copy of it) or appends it; makes this an object first.
  JsonValue& Set(std::string_view key, JsonValue value);
  // Appends to an array; makes this an array first.
  JsonValue& Append(JsonValue value);

  // Compact JSON. Strings are escaped; invalid UTF-8 (only possible in values built from
  // untrusted bytes, never in parsed ones) becomes U+FFFD.
  std::string Serialize() const;
  void SerializeTo(std::string* out) const;

  bool operator==(const JsonValue& other) const = default;

 private:
  struct NumberText {
    std::string text;  // a valid JSON number, as written
    bool operator==(const NumberText&) const = default;
  };
  friend class JsonParser;

  std::variant<std::monostate, bool, NumberText, std::string, Array, Object> value_;
};

// Bounds that make parsing safe on hostile input. The HTTP layer caps bodies at 8 MiB; these cap
// what a body can make us allocate and how deep the (recursive) parser goes.
struct JsonLimits {
  size_t max_bytes = 8 << 20;
  size_t max_depth = 64;
  size_t max_values = 1'000'000;  // every value counts, members and elements included
};

// Strict RFC 8259: one value, optional surrounding whitespace, no comments, no trailing commas,
// no leading zeros, no raw control characters in strings. Invalid UTF-8 and lone surrogate
// escapes are replaced by U+FFFD (as Go's encoding/json does, so Alertmanager's own output always
// parses). Errors say where: "byte 17: expected ':' after an object key".
StatusOr<JsonValue> ParseJson(std::string_view text, const JsonLimits& limits = {});

}  // namespace rrca
