#pragma once

#include <cstdint>
#include <string>
#include <string_view>

// Reads one file (or stdin) from the start as lines, for one-shot analysis. Large reads into a
// reused buffer; lines are views valid until the next call. A line longer than max_line_bytes
// is skipped up to its newline and counted; a last line without newline is still returned.
namespace rrca::tailers {

class LineReader {
 public:
  // `fd` is owned (closed by the destructor) unless it is 0 (stdin).
  LineReader(int fd, size_t max_line_bytes);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Opens `path` ("-" = stdin); returns nullptr and sets *error on failure.
  static LineReader* Open(const std::string& path, size_t max_line_bytes, std::string* error);

  // The next line without its newline; false at the end of the input (or on a read error,
  // see error()).
  bool Next(std::string_view* line);

  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t lines_too_long() const { return lines_too_long_; }
  const std::string& error() const { return error_; }

 private:
  bool Fill();

  int fd_;
  size_t max_line_bytes_;
  std::string buffer_;
  size_t begin_ = 0;  // first unread byte
  size_t end_ = 0;    // one past the last valid byte
  bool eof_ = false;
  bool skipping_ = false;  // inside an over-long line, dropping bytes up to its newline
  uint64_t bytes_read_ = 0;
  uint64_t lines_too_long_ = 0;
  std::string error_;
};

}  // namespace rrca::tailers
