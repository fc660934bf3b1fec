#include "tailers/follow/file_follower.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

// FileFollower: reading, handing over lines, and retiring (rules 2 to 4 of the class comment).
// Rule 1, truncation and the copytruncate copies, is in follower_copytruncate.cc.
namespace rrca::tailers {

namespace {

uint32_t CountNewlines(const char* data, size_t length) {
  uint32_t lines = 0;
  const char* end = data + length;
  while (const void* nl = std::memchr(data, '\n', static_cast<size_t>(end - data))) {
    ++lines;
    data = static_cast<const char*>(nl) + 1;
  }
  return lines;
}

}  // namespace

FileFollower::FileFollower(FileOrigin origin, int fd, bool stream, const FollowerOptions& options,
                           SourceStats* stats, ChunkSink sink)
    : origin_(std::move(origin)),
      chunk_path_(origin_.path),
      fd_(fd),
      stream_(stream),
      options_(options),
      stats_(stats),
      sink_(std::move(sink)) {
  options_.max_line_bytes = std::max<size_t>(options_.max_line_bytes, 1);
  // No line inside one read can then be over-long: only the one continuing a held partial.
  options_.read_bytes = std::clamp<size_t>(options_.read_bytes, 1, options_.max_line_bytes);
  options_.max_bytes_per_poll = std::max(options_.max_bytes_per_poll, options_.read_bytes);
}

FileFollower::~FileFollower() {
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<FileFollower> FileFollower::ForFile(FileOrigin origin, int fd,
                                                    const struct stat& st, uint64_t offset,
                                                    const FollowerOptions& options,
                                                    SourceStats* stats, ChunkSink sink) {
  std::unique_ptr<FileFollower> follower(
      new FileFollower(std::move(origin), fd, /*stream=*/false, options, stats, std::move(sink)));
  follower->key_ = KeyOf(st);
  follower->mtime_ = st.st_mtim;
  follower->real_path_ = RealPath(follower->origin_.path);
  follower->read_offset_ = follower->consumed_offset_ = offset;
  follower->tail_ = ReadBytesBefore(fd, offset).value_or(std::string());
  return follower;
}

std::unique_ptr<FileFollower> FileFollower::ForStream(FileOrigin origin, int fd,
                                                      const FollowerOptions& options,
                                                      SourceStats* stats, ChunkSink sink) {
  std::unique_ptr<FileFollower> follower(
      new FileFollower(std::move(origin), fd, /*stream=*/true, options, stats, std::move(sink)));
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    follower->key_ = FileKey{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  }
  return follower;
}

FileMark FileFollower::mark() const {
  return FileMark{key_, chunk_path_, consumed_offset_, Fingerprint(tail_),
                  static_cast<uint32_t>(tail_.size())};
}

std::vector<FileMark> FileFollower::TakeFinished() { return std::exchange(finished_, {}); }

bool FileFollower::Poll(TailClock::time_point now, const PathState* path) {
  if (state_ == State::kClosed) return false;
  if (stream_) return PollStream(now);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    spdlog::warn("{}: fstat: {}; closing it", origin_.path, std::strerror(errno));
    CountUp(stats_->read_errors);
    Close(now);
    return false;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  mtime_ = st.st_mtim;
  bool more = false;
  const size_t got = ReadFile(&more);
  if (got > 0) last_data_ = now;
  if (state_ == State::kFollowing && path != nullptr && (!path->exists || path->key != key_)) {
    Retire(now, path);
  }
  if (state_ == State::kDraining && got == 0 && now - last_data_ >= options_.grace) Close(now);
  lag_bytes_ = state_ == State::kClosed || size <= read_offset_
                   ? 0
                   : static_cast<int64_t>(size - read_offset_);
  return more;
}

bool FileFollower::PollStream(TailClock::time_point now) {
  size_t total = 0;
  while (total < options_.max_bytes_per_poll) {
    struct pollfd ready {
      fd_, POLLIN, 0
    };
    int r = ::poll(&ready, 1, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (buffer_.size() < buffered_ + options_.read_bytes) {
      buffer_.resize(buffered_ + options_.read_bytes);
    }
    ssize_t n = ::read(fd_, buffer_.data() + buffered_, options_.read_bytes);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      if (n < 0) spdlog::warn("{}: read: {}; closing it", origin_.path, std::strerror(errno));
      Close(now);  // the writer closed its end
      return false;
    }
    Absorb(static_cast<size_t>(n));
    total += static_cast<size_t>(n);
    last_data_ = now;
  }
  int pending = 0;
  lag_bytes_ = ::ioctl(fd_, FIONREAD, &pending) == 0 ? pending : 0;
  return total >= options_.max_bytes_per_poll;
}

size_t FileFollower::ReadFile(bool* more) {
  size_t total = 0;
  *more = false;
  while (fd_ >= 0) {
    if (total >= options_.max_bytes_per_poll) {
      *more = true;
      break;
    }
    // Before every read: handing over the last one may have waited long for room in the queue.
    // After a truncation the poll ends (the live file is read from 0 by the next one).
    if (Truncated()) {
      HandleTruncation();
      *more = true;
      break;
    }
    if (buffer_.size() < buffered_ + options_.read_bytes) {
      buffer_.resize(buffered_ + options_.read_bytes);
    }
    ssize_t n = ::pread(fd_, buffer_.data() + buffered_, options_.read_bytes,
                        static_cast<off_t>(read_offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (!std::exchange(warned_read_error_, true)) {
        spdlog::warn("{}: read at offset {}: {}; retrying", origin_.path, read_offset_,
                     std::strerror(errno));
      }
      CountUp(stats_->read_errors);
      break;
    }
    if (n == 0) break;
    // Truncated and refilled just before this read: the bytes may be the new content. (Just
    // after it, they were ours, but then the copy holds them and HandleTruncation reads it.)
    if (Truncated()) {
      HandleTruncation();
      *more = true;
      break;
    }
    if (read_offset_ == 0 && !reading_copy_ && ReadMissedGenerations(static_cast<size_t>(n))) {
      *more = true;
      break;
    }
    Absorb(static_cast<size_t>(n));
    total += static_cast<size_t>(n);
    if (static_cast<size_t>(n) < options_.read_bytes) break;  // at the end for now
  }
  // A big line grew the buffer; do not keep megabytes per idle file.
  if (buffered_ == 0 && buffer_.size() > 2 * options_.read_bytes) std::vector<char>().swap(buffer_);
  return total;
}

// The n bytes just read sit at buffer_[buffered_, buffered_ + n).
void FileFollower::Absorb(size_t n) {
  read_offset_ += n;
  CountUp(stats_->bytes_read, n);
  size_t scan_from = buffered_;
  buffered_ += n;
  if (skipping_) {  // buffered_ was 0: drop up to and including the newline
    const void* nl = std::memchr(buffer_.data(), '\n', buffered_);
    if (nl == nullptr) {
      Drop(buffered_);
      return;
    }
    Drop(static_cast<size_t>(static_cast<const char*>(nl) - buffer_.data()) + 1);
    skipping_ = false;
    scan_from = 0;
  }
  EmitLines(scan_from);
}

// buffer_[0, scan_from) holds no newline. Hands over every complete line in the buffer.
void FileFollower::EmitLines(size_t scan_from) {
  const char* data = buffer_.data();
  const void* first = std::memchr(data + scan_from, '\n', buffered_ - scan_from);
  if (first == nullptr) {
    if (buffered_ > options_.max_line_bytes) StartSkipping();
    return;
  }
  const size_t first_end = static_cast<size_t>(static_cast<const char*>(first) - data) + 1;
  if (first_end - 1 > options_.max_line_bytes) SkipLongLine(first_end);
  if (buffered_ == 0) return;
  const void* last = ::memrchr(buffer_.data(), '\n', buffered_);
  if (last != nullptr) {
    EmitChunk(static_cast<size_t>(static_cast<const char*>(last) - buffer_.data()) + 1,
              /*flushed=*/false, /*end_of_file=*/false);
  }
}

// Hands over buffer_[0, length) and removes it from the buffer.
void FileFollower::EmitChunk(size_t length, bool flushed, bool end_of_file) {
  Chunk chunk;
  chunk.source_index = origin_.source_index;
  chunk.source_name = origin_.source_name;
  chunk.path = chunk_path_;
  chunk.file = key_;
  chunk.from_pipe = stream_;
  chunk.flushed_partial = flushed;
  chunk.end_of_file = end_of_file;
  chunk.start_offset = consumed_offset_;
  chunk.bytes.reserve(length + (flushed ? 1 : 0));
  chunk.bytes.assign(buffer_.data(), length);
  if (flushed) chunk.bytes.push_back('\n');
  Drop(length);
  chunk.end_offset = consumed_offset_;
  if (!stream_) {
    chunk.fingerprint = Fingerprint(tail_);
    chunk.fingerprint_len = static_cast<uint32_t>(tail_.size());
  }
  chunk.lines = CountNewlines(chunk.bytes.data(), chunk.bytes.size());
  CountUp(stats_->lines_read, chunk.lines);
  sink_(std::move(chunk));
}

// Marks buffer_[0, length) consumed and shifts the rest to the front.
void FileFollower::Drop(size_t length) {
  Advance(buffer_.data(), length);
  std::memmove(buffer_.data(), buffer_.data() + length, buffered_ - length);
  buffered_ -= length;
}

void FileFollower::Advance(const char* data, size_t length) {
  consumed_offset_ += length;
  if (stream_) return;
  if (length >= kFingerprintBytes) {
    tail_.assign(data + length - kFingerprintBytes, kFingerprintBytes);
    return;
  }
  tail_.append(data, length);
  if (tail_.size() > kFingerprintBytes) tail_.erase(0, tail_.size() - kFingerprintBytes);
}

void FileFollower::StartSkipping() {
  SkipLongLine(buffered_);
  skipping_ = true;
}

void FileFollower::SkipLongLine(size_t length) {
  CountUp(stats_->lines_skipped[static_cast<size_t>(SkipReason::kLineTooLong)]);
  if (!std::exchange(warned_long_line_, true)) {
    spdlog::warn(
        "{}: line at offset {} is longer than max_line_bytes ({}); skipped up to its newline "
        "(further ones in this file are only counted, reason line_too_long)",
        origin_.path, consumed_offset_, options_.max_line_bytes);
  }
  Drop(length);
}

void FileFollower::FlushPartial() { Flush(/*end_of_file=*/false); }

void FileFollower::Flush(bool end_of_file) {
  skipping_ = false;  // the rest of an over-long line is as good as skipped
  if (buffered_ > 0) CountUp(stats_->partial_lines_flushed);
  if (buffered_ > 0 || end_of_file) EmitChunk(buffered_, buffered_ > 0, end_of_file);
}

void FileFollower::Close(TailClock::time_point now) {
  if (state_ == State::kClosed) return;
  Flush(/*end_of_file=*/true);
  ::close(fd_);
  fd_ = -1;
  state_ = State::kClosed;
  last_data_ = now;
  lag_bytes_ = 0;
}

void FileFollower::Retire(TailClock::time_point now, const PathState* path) {
  if (state_ != State::kFollowing) return;
  if (path != nullptr) CountTransition(*path);
  state_ = State::kDraining;
  last_data_ = now;
}

void FileFollower::CountTransition(const PathState& path) {
  struct stat st {};
  const bool unlinked = ::fstat(fd_, &st) == 0 && st.st_nlink == 0;
  const char* what = "rotated (renamed away)";
  if (unlinked && !path.exists) {
    CountUp(stats_->deletions);
    what = "deleted";
  } else if (unlinked || (path.exists && RealPath(origin_.path) != real_path_)) {
    CountUp(stats_->replacements);
    what = "replaced by another file";
  } else {
    CountUp(stats_->rotations);
  }
  spdlog::info("{}: {}; reading the old file (inode {}) to its end, the new one from its start",
               origin_.path, what, key_.inode);
}

}  // namespace rrca::tailers
