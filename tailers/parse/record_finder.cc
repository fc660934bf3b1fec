#include "tailers/parse/record_finder.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "common/ascii.h"
#include "tailers/parse/registry/registry_parse.h"

namespace rrca::tailers {
namespace {

// A key such as time= or level= starts a record only where no longer key ends in it
// ("runtime=", "log.level="): a letter, '_' or '.' before it means another key.
bool KeyBoundary(std::string_view payload, size_t at) {
  if (at == 0) return true;
  const char before = payload[at - 1];
  return !(std::isalpha(static_cast<unsigned char>(before)) || before == '_' || before == '.');
}

bool SpaceOrStart(std::string_view payload, size_t at) {
  return at == 0 || payload[at - 1] == ' ' || payload[at - 1] == '\t' || payload[at - 1] == '|' ||
         payload[at - 1] == ':' || payload[at - 1] == ']';
}

constexpr std::array<std::string_view, 5> kGoLogLevels = {"[ERROR] [", "[WARNING] [", "[INFO] [",
                                                          "[DEBUG] [", "[FATAL] ["};

// "2023-05-01T10:00:00Z" (or with fraction/offset) ending right before `end`.
size_t Rfc3339Before(std::string_view payload, size_t end) {
  size_t start = end;
  while (start > 0 && payload[start - 1] != ' ' && payload[start - 1] != '\t') --start;
  const std::string_view token = payload.substr(start, end - start);
  if (token.size() >= 19 && IsAsciiDigit(token[0]) && token[4] == '-' && token[10] == 'T')
    return start;
  return std::string_view::npos;
}

size_t FindGoLog(std::string_view window) {
  size_t best = std::string_view::npos;
  for (std::string_view level : kGoLogLevels) {
    const size_t at = window.find(level);
    if (at == std::string_view::npos || at >= best) continue;
    if (at == 0) {
      best = 0;
      continue;
    }
    if (window[at - 1] != ' ') continue;
    const size_t stamp = Rfc3339Before(window, at - 1);
    best = std::min(best, stamp != std::string_view::npos ? stamp : at);
  }
  return best;
}

size_t FindKey(std::string_view window, std::string_view key) {
  for (size_t at = window.find(key); at != std::string_view::npos; at = window.find(key, at + 1)) {
    if (KeyBoundary(window, at)) return at;
  }
  return std::string_view::npos;
}

// A JSON object that is the whole rest of the line (but for a trailing " |", "," and spaces).
size_t FindJson(std::string_view window) {
  for (size_t at = window.find("{\""); at != std::string_view::npos;
       at = window.find("{\"", at + 1)) {
    if (SpaceOrStart(window, at)) return at;
  }
  return std::string_view::npos;
}

size_t FindTty(std::string_view window) {
  static constexpr std::array<std::string_view, 7> kTty = {"ERRO[", "WARN[", "INFO[", "FATA[",
                                                           "PANI[", "DEBU[", "TRAC["};
  size_t best = std::string_view::npos;
  for (std::string_view level : kTty) {
    const size_t at = window.find(level);
    if (at != std::string_view::npos && at < best && SpaceOrStart(window, at) &&
        at + 5 < window.size() && IsAsciiDigit(window[at + 5])) {
      best = at;
    }
  }
  return best;
}

// An access line starts at a token (after a space) from which DetectRecordStart sees one.
size_t FindAccessLine(std::string_view payload, size_t limit) {
  if (payload.find("] \"", 0) == std::string_view::npos) return std::string_view::npos;
  for (size_t at = payload.find(' '); at != std::string_view::npos && at < limit;
       at = payload.find(' ', at + 1)) {
    if (at + 1 < payload.size() && payload[at + 1] != ' ' &&
        DetectRecordStart(payload.substr(at + 1)) == RecordFormat::kAccessLog) {
      return at + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

bool IsHarborGoLogStart(std::string_view payload) {
  if (payload.empty()) return false;
  if (payload[0] == '[') {
    for (std::string_view level : kGoLogLevels) {
      if (payload.starts_with(level)) return true;
    }
    return false;
  }
  if (payload.size() < 24 || !IsAsciiDigit(payload[0]) || payload[4] != '-' || payload[10] != 'T') {
    return false;
  }
  const size_t space = payload.find(' ');
  if (space == std::string_view::npos || space > 40) return false;
  const std::string_view rest = payload.substr(space + 1);
  for (std::string_view level : kGoLogLevels) {
    if (rest.starts_with(level)) return true;
  }
  return false;
}

size_t FindEmbeddedRecord(std::string_view payload) {
  const std::string_view window = payload.substr(0, kSearchBytes);
  // The earliest candidate wins: a JSON shipper's object holds an escaped time=\" later on, and
  // a Go-log line's message may quote a logrus record.
  size_t best = std::string_view::npos;
  for (size_t at :
       {FindKey(window, "time=\""), FindJson(window), FindGoLog(window), FindTty(window)}) {
    best = std::min(best, at);
  }
  if (best == std::string_view::npos) {
    // "level=" only where no time= came first (custom field orders, a pasted cut record).
    const size_t level = FindKey(window, "level=");
    if (level != std::string_view::npos && level + 6 < window.size() &&
        std::isalpha(static_cast<unsigned char>(window[level + 6]))) {
      best = level;
    }
  }
  best = std::min(best, FindAccessLine(payload, std::min(best, window.size())));
  return best == 0 ? std::string_view::npos : best;
}

}  // namespace rrca::tailers
