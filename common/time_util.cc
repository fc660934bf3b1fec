#include "common/time_util.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace rrca {
namespace {

bool Digits(std::string_view text, size_t pos, size_t count, int64_t* value) {
  if (pos + count > text.size()) return false;
  int64_t result = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    result = result * 10 + (c - '0');
  }
  *value = result;
  return true;
}

// Nanoseconds since 1970 in an int64 reach from 1677 to 2262.
bool InNanosRange(int64_t year) { return year >= 1678 && year <= 2261; }

bool ValidClock(int64_t hour, int64_t minute, int64_t second) {
  return hour < 24 && minute < 60 && second <= 60;
}

// Parses ".123456789" at pos (any number of digits, nanoseconds kept); advances pos.
int64_t Fraction(std::string_view text, size_t* pos) {
  if (*pos >= text.size() || text[*pos] != '.') return 0;
  ++*pos;
  int64_t nanos = 0;
  int digits = 0;
  while (*pos < text.size() && text[*pos] >= '0' && text[*pos] <= '9') {
    if (digits < 9) {
      nanos = nanos * 10 + (text[*pos] - '0');
      ++digits;
    }
    ++*pos;
  }
  for (; digits < 9; ++digits) nanos *= 10;
  return nanos;
}

// "Z", "+hh:mm", "+hhmm" or "-..." at pos; offset in seconds east of UTC.
bool ZoneOffset(std::string_view text, size_t pos, int64_t* offset_seconds) {
  if (pos >= text.size()) return false;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    *offset_seconds = 0;
    return true;
  }
  if (text[pos] != '+' && text[pos] != '-') return false;
  const int64_t sign = text[pos] == '-' ? -1 : 1;
  int64_t hours = 0;
  int64_t minutes = 0;
  if (!Digits(text, pos + 1, 2, &hours)) return false;
  size_t minute_pos = pos + 3;
  if (minute_pos < text.size() && text[minute_pos] == ':') ++minute_pos;
  if (!Digits(text, minute_pos, 2, &minutes)) return false;
  *offset_seconds = sign * (hours * 3600 + minutes * 60);
  return true;
}

}  // namespace

int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const unsigned year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<int64_t>(day_of_era) - 719468;
}

int MonthFromAbbrev(std::string_view abbrev) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (abbrev.size() != 3) return 0;
  for (int i = 0; i < 12; ++i) {
    if (abbrev == kMonths[i]) return i + 1;
  }
  return 0;
}

bool ParseRfc3339(std::string_view text, int64_t* unix_ns) {
  int64_t year, month, day, hour, minute, second;
  if (!Digits(text, 0, 4, &year) || text.size() < 19 || text[4] != '-' ||
      !Digits(text, 5, 2, &month) || text[7] != '-' || !Digits(text, 8, 2, &day) ||
      (text[10] != 'T' && text[10] != ' ' && text[10] != 't') || !Digits(text, 11, 2, &hour) ||
      text[13] != ':' || !Digits(text, 14, 2, &minute) || text[16] != ':' ||
      !Digits(text, 17, 2, &second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || !ValidClock(hour, minute, second) ||
      !InNanosRange(year)) {
    return false;
  }
  size_t pos = 19;
  const int64_t nanos = Fraction(text, &pos);
  int64_t offset = 0;
  if (!ZoneOffset(text, pos, &offset)) return false;
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset;
  *unix_ns = seconds * kNanosPerSecond + nanos;
  return true;
}

bool ParseClfTime(std::string_view text, int64_t* unix_ns) {
  int64_t day, year, hour, minute, second;
  if (text.size() < 20 || !Digits(text, 0, 2, &day) || text[2] != '/' || text[6] != '/' ||
      !Digits(text, 7, 4, &year) || text[11] != ':' || !Digits(text, 12, 2, &hour) ||
      text[14] != ':' || !Digits(text, 15, 2, &minute) || text[17] != ':' ||
      !Digits(text, 18, 2, &second)) {
    return false;
  }
  const int month = MonthFromAbbrev(text.substr(3, 3));
  if (month == 0 || day < 1 || day > 31 || !ValidClock(hour, minute, second) ||
      !InNanosRange(year)) {
    return false;
  }
  size_t pos = 20;
  const int64_t nanos = Fraction(text, &pos);
  int64_t offset = 0;
  if (pos >= text.size() || text[pos] != ' ' || !ZoneOffset(text, pos + 1, &offset)) return false;
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  *unix_ns = (days * 86400 + hour * 3600 + minute * 60 + second - offset) * kNanosPerSecond + nanos;
  return true;
}

bool ParseGoDuration(std::string_view text, int64_t* nanos) {
  if (text.empty()) return false;
  size_t pos = 0;
  bool negative = false;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    pos = 1;
  }
  if (text.substr(pos) == "0") {
    *nanos = 0;
    return true;
  }
  double total = 0;
  bool any = false;
  while (pos < text.size()) {
    // Number: integer part and optional fraction.
    double value = 0;
    size_t digits = 0;  // Go needs a digit before or after the dot: ".s" and "." are invalid
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      value = value * 10 + (text[pos] - '0');
      ++pos;
      ++digits;
    }
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      double scale = 0.1;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        value += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
        ++digits;
      }
    }
    if (digits == 0) return false;
    // Unit.
    const std::string_view rest = text.substr(pos);
    double unit = 0;
    if (rest.starts_with("ns")) {
      unit = 1, pos += 2;
    } else if (rest.starts_with("us")) {
      unit = 1e3, pos += 2;
    } else if (rest.starts_with("\xC2\xB5s") || rest.starts_with("\xCE\xBCs")) {  // µs, μs
      unit = 1e3, pos += 3;
    } else if (rest.starts_with("ms")) {
      unit = 1e6, pos += 2;
    } else if (rest.starts_with("s")) {
      unit = 1e9, pos += 1;
    } else if (rest.starts_with("m")) {
      unit = 60e9, pos += 1;
    } else if (rest.starts_with("h")) {
      unit = 3600e9, pos += 1;
    } else {
      return false;
    }
    total += value * unit;
    any = true;
  }
  if (!any || total > 9.0e18) return false;
  *nanos = std::llround(negative ? -total : total);
  return true;
}

std::string FormatRfc3339Nanos(int64_t unix_ns) {
  int64_t seconds = unix_ns / kNanosPerSecond;
  int64_t nanos = unix_ns % kNanosPerSecond;
  if (nanos < 0) {
    nanos += kNanosPerSecond;
    --seconds;
  }
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // civil_from_days (Howard Hinnant).
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2);
  // Room for the widest values the format could print (gcc's -Wformat-truncation cannot see
  // that the year stays within 4 digits; with 48 bytes the sanitizer build failed on -Werror).
  char buffer[128];
  std::snprintf(buffer, sizeof(buffer), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09lldZ",
                static_cast<long long>(year), month, day, static_cast<long long>(rem / 3600),
                static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60),
                static_cast<long long>(nanos));
  return buffer;
}

int CurrentUtcYear() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  return utc.tm_year + 1900;
}

}  // namespace rrca
