#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/event.h"
#include "tailers/s3_parse.h"

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
  const S3ReaderStats& stats() const { return stats_; }
  int64_t last_time_ns() const { return last_time_ns_; }

 private:
  S3EventSink* sink_;
  S3ReaderStats stats_;
  std::string scratch_;
  int64_t last_time_ns_ = 0;
};

// The start time of an object-store log line (0 when it is not an access line): for lining up
// the store's log with the registry's.
int64_t PeekS3LineTime(std::string_view line, std::string* scratch);

}  // namespace rrca::tailers
