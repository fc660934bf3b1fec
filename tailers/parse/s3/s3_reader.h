#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/event.h"
#include "tailers/parse/s3/s3_parse.h"

namespace rrca::tailers {

struct S3ReaderStats {
  uint64_t lines = 0;
  std::array<uint64_t, 5> records{};  // by S3Format
  uint64_t not_access_lines = 0;      // other lines of a mixed log (radosgw's own messages)
  uint64_t malformed = 0;             // looked like an access line but did not parse
};

class S3EventSink {
 public:
  virtual ~S3EventSink() = default;
  virtual void OnS3Event(const S3Event& event) = 0;
};

// Turns the lines of one object-store log (RGW beast lines inside radosgw's log, AWS server
// access log, RGW ops log JSON, MinIO audit JSON) into S3Events, detecting the format per line.
// Other lines are counted, never fatal. One per stream, one thread.
class S3Reader {
 public:
  explicit S3Reader(S3EventSink* sink) : sink_(sink) {}

  void OnLine(std::string_view line);
  // The start time of `line` (0: not an access line), for merging logs by time. The line is
  // parsed once: when OnLine gets the same bytes (same address and size) next, it reuses the
  // result, so `line` must stay unchanged in between.
  int64_t PeekTime(std::string_view line);
  const S3ReaderStats& stats() const { return stats_; }
  int64_t last_time_ns() const { return last_time_ns_; }

 private:
  struct Parsed {
    const char* data = nullptr;  // the line parsed, nullptr when none is held
    size_t size = 0;
    S3Format format{};
    ParseResult result{};
    S3Event event;
  };
  void Parse(std::string_view line);

  S3EventSink* sink_;
  S3ReaderStats stats_;
  std::string scratch_;
  Parsed parsed_;
  int64_t last_time_ns_ = 0;
};

// The start time of an object-store log line (0 when it is not an access line), without a
// reader (S3Reader::PeekTime avoids parsing the line twice).
int64_t PeekS3LineTime(std::string_view line, std::string* scratch);

}  // namespace rrca::tailers
