#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

// JSON for payloads that registry-rca receives from other programs (Alertmanager's webhook) and
// forwards with additions, and for the APIs' JSON that the web UI renders. The DOM is
// nlohmann::ordered_json: objects keep their members in document order, so a payload forwarded
// unchanged except for additions reads the same. This file is the one adapter around it:
// ParseJson never throws and is bounded for hostile input, DumpJson never throws, and the typed
// reads below never throw on a value of an unexpected type (nlohmann's get<>/value() do).
namespace rrca {

using Json = nlohmann::ordered_json;

// Bounds that make parsing safe on hostile input. The HTTP layer caps bodies at 8 MiB; these cap
// what a body can make us allocate, and the depth, because dump(), operator== and our own
// recursive readers recurse once per level.
struct JsonLimits {
  size_t max_bytes = 8 << 20;
  size_t max_depth = 64;
  size_t max_values = 1'000'000;  // every value counts, members and elements included
};

// Strict RFC 8259: one value, optional surrounding whitespace, no comments, no trailing commas,
// no leading zeros, no raw control characters in strings, no byte order mark. Invalid UTF-8 is
// replaced by U+FFFD (as Go's encoding/json does) before parsing; a lone surrogate escape
// ("\ud800") is an error. A repeated key keeps its first position and its last value.
//
// Numbers: nlohmann keeps integers (int64/uint64) exactly and every other number as a double, so
// a forwarded payload writes 0.10 as 0.1, an integer above 2^64 as a double, and a number outside
// double's range (1e400) is a parse error. Alertmanager's webhook payload has one number
// (truncatedAlerts, an integer) and strings everywhere else, so nothing it sends changes.
//
// Errors say where: "byte 17: syntax error while parsing object separator - ...", at most 200
// bytes whatever the input. The code is kResourceExhausted when a limit stopped the parse
// (bytes, values, depth), kInvalidArgument when the text is not JSON.
StatusOr<Json> ParseJson(std::string_view text, const JsonLimits& limits = {});

// Compact JSON (no spaces), as the APIs serve it. Invalid UTF-8 in strings (only possible in
// values built from untrusted bytes, never in parsed ones) becomes U+FFFD instead of throwing;
// non-finite numbers become null. Escapes are nlohmann's: \b and \f short, DEL as is, where
// common/json_escape.h writes \u0008, \u000c and \u007f (the same JSON string).
std::string DumpJson(const Json& value);

// A number for a JSON document: integral values are stored as integers, so that 3.0 is written
// "3" as the APIs always wrote it; non-finite values become null (JSON has none).
Json JsonNumber(double value);

// Typed reads that never throw. A missing member or a value of another type reads as
// nullptr / false / 0 / "" / empty, as hostile or older documents need.
const Json* JsonFind(const Json& object, std::string_view key);
Json* JsonFind(Json& object, std::string_view key);
const std::string& JsonAsString(const Json& value);
double JsonAsNumber(const Json& value);
bool JsonAsBool(const Json& value);
// The string member `key`, or `fallback` when absent or not a string.
std::string JsonString(const Json& object, std::string_view key, std::string_view fallback = "");
// `value` when it is an array (object), else an empty one: `for (const Json& x : JsonArray(v))`
// never iterates a scalar as nlohmann's range-for would.
const Json& JsonArray(const Json& value);
const Json& JsonArray(const Json* value);  // nullptr: empty
const Json& JsonObject(const Json& value);
const Json& JsonObject(const Json* value);  // nullptr: empty

}  // namespace rrca
