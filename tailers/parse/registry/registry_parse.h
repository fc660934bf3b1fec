#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/event.h"

// Pure parsers for one registry record (envelope already removed). Field values are views into
// the record, or into *scratch when a value had escapes to decode. None allocates on the common
// path and none throws; malformed input gives a result code.
namespace rrca::tailers {

enum class RecordFormat : uint8_t {
  kUnknown,
  kLogrusText,   // time="..." level=... msg="..." k=v ... (also GitLab's snake_case keys)
  kLogrusJson,   // {"level":"...","msg":"...","time":"...",...}
  kLogrusTty,    // INFO[0000] message   k=v  (logrus on a terminal)
  kAccessLog,    // 10.0.0.1 - - [02/Jan/2006:15:04:05 -0700] "GET /v2/ HTTP/1.1" 200 2 "" "ua"
  kHarborGoLog,  // 2023-05-01T10:00:00Z [ERROR] [/pkg/file.go:123]: message (core, jobservice)
  kFragment,     // no record, but error evidence: "s3aws: ...", "caused by: ...", err.detail=...
};
inline constexpr size_t kRecordFormats = 7;

std::string_view RecordFormatName(RecordFormat format);

// Which record format a payload starts; kUnknown means it continues the previous record or is
// not a registry record at all. Looks at a few bytes only.
RecordFormat DetectRecordStart(std::string_view payload);

enum class ParseStatus : uint8_t {
  kOk,
  kUnterminated,  // a quoted value ran to the end: the record continues on the next line
  kMalformed,
};

// Whether a record deserves the full field scan: responses, warnings and errors. Debug traces
// and "authorizing request" lines are only counted, which keeps the per-line cost low.
bool IsInteresting(Level level, std::string_view msg);

// logrus text. With `header_only`, stops after time, level and msg when the record is not
// interesting; *interesting says which happened.
ParseStatus ParseLogrusText(std::string_view record, bool header_only, std::string* scratch,
                            RegistryEvent* event, bool* interesting);

// logrus JSON: the record's top-level members, read with simdjson On-Demand. A record simdjson
// refuses (invalid UTF-8, a malformed object, some text after it) or one that is not flat (a
// member whose value is an object, an array, missing, or a bare value running into a quote) is
// read by ParseLogrusJsonScan instead, so both give the same event and status on every input.
// Keys are compared as written (an escaped key matches nothing); for duplicate keys the last one
// wins. Views point into `record` or *scratch, never into simdjson's buffers. Uses one simdjson
// parser and one padded copy of the record per thread (at most 64 KiB; a longer record is read
// by json_scan).
ParseStatus ParseLogrusJson(std::string_view record, std::string* scratch, RegistryEvent* event);

// The same parse with tailers/parse/json_scan alone: the fallback, and the reference the tests
// and the fuzzer compare ParseLogrusJson with. Members up to a malformation are kept.
ParseStatus ParseLogrusJsonScan(std::string_view record, std::string* scratch,
                                RegistryEvent* event);

// How the calling thread's ParseLogrusJson calls were read. For tests and benchmarks only: it is
// not a metric, because every record is read either way.
struct LogrusJsonStats {
  uint64_t simdjson = 0;   // read by simdjson
  uint64_t json_scan = 0;  // read by ParseLogrusJsonScan (refused by simdjson, or too long)
};
LogrusJsonStats LogrusJsonStatsOfThisThread();

ParseStatus ParseLogrusTty(std::string_view record, std::string* scratch, RegistryEvent* event);

ParseStatus ParseAccessLog(std::string_view record, RegistryEvent* event);

}  // namespace rrca::tailers

namespace rrca::tailers {

// The time a raw physical line carries (after any envelope), for lining up several files by
// time; 0 when the line has none (a continuation line). Cheap: parses only the timestamp.
int64_t PeekLineTime(std::string_view line, int syslog_year, std::string* scratch);

}  // namespace rrca::tailers
