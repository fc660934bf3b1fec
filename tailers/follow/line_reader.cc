#include "tailers/follow/line_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rrca::tailers {
namespace {
constexpr size_t kReadSize = 1 << 20;
}

LineReader::LineReader(int fd, size_t max_line_bytes)
    : fd_(fd), max_line_bytes_(max_line_bytes), buffer_(kReadSize * 2, '\0') {}

LineReader::~LineReader() {
  if (fd_ > 0) ::close(fd_);
}

LineReader* LineReader::Open(const std::string& path, size_t max_line_bytes, std::string* error) {
  if (path == "-") return new LineReader(0, max_line_bytes);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = path + ": " + std::strerror(errno);
    return nullptr;
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return new LineReader(fd, max_line_bytes);
}

bool LineReader::Fill() {
  if (eof_) return false;
  // Keep the unfinished line, move it to the front, and make room for one more large read.
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() - end_ < kReadSize) buffer_.resize(end_ + kReadSize);
  ssize_t n;
  do {
    n = ::read(fd_, buffer_.data() + end_, kReadSize);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    error_ = std::strerror(errno);
    eof_ = true;
    return false;
  }
  if (n == 0) {
    eof_ = true;
    return false;
  }
  end_ += static_cast<size_t>(n);
  bytes_read_ += static_cast<uint64_t>(n);
  return true;
}

bool LineReader::Next(std::string_view* line) {
  while (true) {
    const char* start = buffer_.data() + begin_;
    const void* newline = std::memchr(start, '\n', end_ - begin_);
    if (newline != nullptr) {
      const size_t length = static_cast<const char*>(newline) - start;
      const size_t line_begin = begin_;
      begin_ += length + 1;
      if (skipping_) {
        skipping_ = false;  // the tail of an over-long line: dropped
        continue;
      }
      if (length > max_line_bytes_) {
        ++lines_too_long_;
        continue;
      }
      *line = std::string_view(buffer_.data() + line_begin, length);
      return true;
    }
    // No newline in what we have. Over the limit: drop it and remember to skip the rest.
    if (end_ - begin_ > max_line_bytes_) {
      if (!skipping_) ++lines_too_long_;
      skipping_ = true;
      begin_ = end_ = 0;
    }
    if (!Fill()) {
      if (end_ > begin_ && !skipping_) {
        *line = std::string_view(buffer_.data() + begin_, end_ - begin_);
        begin_ = end_;
        return true;
      }
      return false;
    }
  }
}

}  // namespace rrca::tailers
