#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/event.h"

// The fields of a registry record (registry_fields.cc): private to the registry parsers of
// tailers/parse/, which share the key table and how each value lands in a RegistryEvent.
namespace rrca::tailers::registry_fields {

enum class Field : uint8_t {
  kIgnored,
  kTime,
  kLevel,
  kMsg,
  kRequestId,
  kMethod,
  kUri,
  kStatus,
  kDuration,
  kDurationMs,
  kRepository,
  kUploadUuid,
  kErrCode,
  kErrMessage,
  kErrDetail,
  kError,
  kTraceDuration,
  kTraceFunc,
  kUserAgent,
};

// The field a key names; Docker Distribution's dotted keys and GitLab's snake_case keys map
// onto the same fields. kIgnored for every other key.
Field FieldOf(std::string_view key);
Level LevelOf(std::string_view text);
// An HTTP status of 3 digits in 100-599; 0 otherwise.
int ParseStatusCode(std::string_view text);
// The closing quote of a Go-quoted value starting at pos (after the opening quote), npos when
// the value runs to the end of the record.
size_t FindClosingQuote(std::string_view text, size_t pos);
// Stores one field's value. Views into *scratch stay valid because the caller reserved room
// for the whole record before parsing (unescaping only shrinks).
void Assign(Field field, std::string_view value, bool quoted, std::string* scratch,
            RegistryEvent* event);

}  // namespace rrca::tailers::registry_fields
