#pragma once

#include <string>
#include <string_view>

namespace rrca {

// Appends `text` to `out` as the inside of a JSON string: quotes, backslashes and control bytes
// escaped, invalid UTF-8 replaced by U+FFFD, so hostile log content always yields valid JSON.
void AppendJsonEscaped(std::string_view text, std::string* out);

// Returns `text` with invalid UTF-8 sequences replaced by U+FFFD (label values, log output).
std::string SanitizeUtf8(std::string_view text);

// Whether all of `text` is valid UTF-8. Log fields are nearly always ASCII: eight bytes are
// checked at a time until a byte with the high bit set shows up.
bool IsValidUtf8(std::string_view text);

// Length of the valid UTF-8 sequence starting at text[pos], or 0 when it is invalid.
size_t Utf8SequenceLength(std::string_view text, size_t pos);

}  // namespace rrca
