#pragma once

#include <cstdint>
#include <string>
#include <string_view>

// Fast, allocation-free parsers for the time formats registries and object stores log.
// Each returns false on malformed input and leaves *out untouched; none throws.
namespace rrca {

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;

// a - b, clamped to int64's range. Times and durations come from log lines anyone can write
// (a record from 1678 with a duration of 2,499,999 h), so their differences must not overflow.
inline int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t out;
  if (!__builtin_sub_overflow(a, b, &out)) return out;
  return b < 0 ? INT64_MAX : INT64_MIN;
}

// a + b, clamped likewise.
inline int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t out;
  if (!__builtin_add_overflow(a, b, &out)) return out;
  return b > 0 ? INT64_MAX : INT64_MIN;
}

inline double NanosToSeconds(int64_t nanos) { return static_cast<double>(nanos) / 1e9; }

// False for a time on a whole second: a log with second resolution (the store's access log)
// says only which second, so such a time bounds an event less tightly than it seems.
inline bool IsPreciseTime(int64_t time_ns) { return time_ns % kNanosPerSecond != 0; }

// The current year in UTC: the year that syslog-style timestamps (no year) are read in.
int CurrentUtcYear();

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

// "Jan".."Dec" -> 1..12, 0 when not a month abbreviation.
int MonthFromAbbrev(std::string_view abbrev);

// RFC 3339 with any number of fraction digits and Z / +hh:mm / +hhmm; also "T" or " ".
bool ParseRfc3339(std::string_view text, int64_t* unix_ns);

// Common-log-format time: "29/Nov/2026:12:50:40 +0000", optionally "12:50:40.230".
bool ParseClfTime(std::string_view text, int64_t* unix_ns);

// Go time.Duration.String(): "2.255332326s", "161.626946ms", "1m2.5s", "12µs", "800ns".
bool ParseGoDuration(std::string_view text, int64_t* nanos);

// "2022-04-06T03:46:40.800755496Z" (UTC, nanoseconds).
std::string FormatRfc3339Nanos(int64_t unix_ns);

}  // namespace rrca
