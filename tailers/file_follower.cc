#include "tailers/file_follower.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string_view>
#include <utility>

namespace rrca::tailers {

namespace {

// Bytes compared before the read offset on every poll to notice a truncate-and-refill.
constexpr size_t kRewriteCheckBytes = 128;

void Count(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

std::string RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  return ::realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : std::string();
}

uint32_t CountNewlines(const char* data, size_t length) {
  uint32_t lines = 0;
  const char* end = data + length;
  while (const void* nl = std::memchr(data, '\n', static_cast<size_t>(end - data))) {
    ++lines;
    data = static_cast<const char*>(nl) + 1;
  }
  return lines;
}

bool Newer(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}

// Regular, uncompressed files in the live file's directory whose name starts with its stem
// (registry.log -> registry.log.1, registry.log-2024..., registry-2024.log). Listed twice and
// merged: a rotation renaming files during one listing can hide a name from it.
std::vector<SiblingFile> ListSiblings(const std::string& real_path, FileKey live) {
  namespace fs = std::filesystem;
  const fs::path path(real_path);
  const std::string base = path.filename().string();
  const std::string stem = base.substr(0, base.find('.'));
  std::map<FileKey, SiblingFile> found;
  for (int pass = 0; pass < 2; ++pass) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(path.parent_path(), error)) {
      const std::string name = entry.path().filename().string();
      struct stat st {};
      if (name == base || name.rfind(stem, 0) != 0 || IsCompressedName(name) ||
          ::stat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        continue;
      }
      const FileKey key{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
      if (key != live) {
        found[key] =
            SiblingFile{entry.path().string(), key, static_cast<uint64_t>(st.st_size), st.st_mtim};
      }
    }
  }
  std::vector<SiblingFile> siblings;
  for (auto& [key, sibling] : found) siblings.push_back(std::move(sibling));
  return siblings;
}

// Opens `sibling` if it is still the same file.
int OpenSibling(const SiblingFile& sibling) {
  int fd = ::open(sibling.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  struct stat st {};
  if (fd >= 0 && (::fstat(fd, &st) != 0 || st.st_ino != sibling.key.inode)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Opens `sibling` even if a rotation renamed it since it was listed (.1 -> .2).
int OpenMoved(const std::string& real_path, FileKey live, SiblingFile* sibling) {
  int fd = OpenSibling(*sibling);
  if (fd >= 0) return fd;
  for (const SiblingFile& now : ListSiblings(real_path, live)) {
    if (now.key == sibling->key) {
      sibling->path = now.path;
      return OpenSibling(*sibling);
    }
  }
  return -1;
}

}  // namespace

std::string FileHead(int fd, size_t n) {
  std::string bytes(n, '\0');
  ssize_t got = ::pread(fd, bytes.data(), n, 0);
  bytes.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return bytes;
}

namespace {

// The copy of the generation we were reading: it holds exactly `before` just before `offset`.
// The newest such file wins.
// `same(bytes)` says whether the bytes before `offset` are ours.
template <typename Same>
std::optional<SiblingFile> FindCopyOf(const std::vector<SiblingFile>& siblings, uint64_t offset,
                                      size_t length, Same same) {
  std::optional<SiblingFile> best;
  for (const SiblingFile& sibling : siblings) {
    if (sibling.size < offset || (best && !Newer(sibling.mtime, best->mtime))) continue;
    int fd = OpenSibling(sibling);
    if (fd < 0) continue;
    std::optional<std::string> bytes = ReadBytesBefore(fd, offset, length);
    if (bytes && same(*bytes)) best = sibling;
    ::close(fd);
  }
  return best;
}

// Copies of later generations, oldest first: the file was copied and truncated again before we
// polled. Named "<live name><.-_>...", newer than `copy`, and not a copy of what the live file
// holds now (that one is still being made, or the live file was not truncated again yet): the
// newest of those goes to `of_live`.
std::vector<SiblingFile> LaterCopies(const std::vector<SiblingFile>& siblings,
                                     const SiblingFile& copy, const std::string& live_name,
                                     int live_fd, std::optional<SiblingFile>* of_live) {
  constexpr size_t kHeadBytes = 256;
  const std::string live_head = FileHead(live_fd, kHeadBytes);
  std::vector<SiblingFile> later;
  for (const SiblingFile& sibling : siblings) {
    const std::string name = std::filesystem::path(sibling.path).filename().string();
    if (sibling.key == copy.key || sibling.size == 0 || !Newer(sibling.mtime, copy.mtime) ||
        name.size() <= live_name.size() || name.rfind(live_name, 0) != 0 ||
        std::strchr(".-_", name[live_name.size()]) == nullptr) {
      continue;
    }
    int fd = OpenSibling(sibling);
    if (fd < 0) continue;
    const size_t n = std::min<uint64_t>({sibling.size, live_head.size(), kHeadBytes});
    const bool same_head = n > 0 && FileHead(fd, n) == std::string_view(live_head).substr(0, n);
    ::close(fd);
    if (!same_head) {
      later.push_back(sibling);
    } else if (!*of_live || Newer(sibling.mtime, (*of_live)->mtime)) {
      *of_live = sibling;
    }
  }
  std::sort(later.begin(), later.end(),
            [](const SiblingFile& a, const SiblingFile& b) { return Newer(b.mtime, a.mtime); });
  return later;
}

}  // namespace

std::optional<std::string> FindCopyBeside(const std::string& path, FileKey live,
                                          const FileMark& mark) {
  const std::string real_path = RealPath(path);
  if (real_path.empty()) return std::nullopt;
  std::optional<SiblingFile> copy =
      FindCopyOf(ListSiblings(real_path, live), mark.offset, mark.fingerprint_len,
                 [&](const std::string& bytes) { return Fingerprint(bytes) == mark.fingerprint; });
  if (!copy) return std::nullopt;
  return copy->path;
}

std::vector<SiblingFile> RotatedNamesOf(const std::string& path) {
  const std::string real_path = RealPath(path);
  if (real_path.empty()) return {};
  const std::string name = std::filesystem::path(real_path).filename().string();
  std::vector<SiblingFile> rotated;
  for (SiblingFile& sibling : ListSiblings(real_path, FileKey{})) {
    const std::string other = std::filesystem::path(sibling.path).filename().string();
    if (other.size() > name.size() && other.rfind(name, 0) == 0 &&
        std::strchr(".-_", other[name.size()]) != nullptr) {
      rotated.push_back(std::move(sibling));
    }
  }
  return rotated;
}

bool IsCompressedName(std::string_view path) {
  for (std::string_view suffix : {".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip", ".Z"}) {
    if (path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix) {
      return true;
    }
  }
  return false;
}

std::optional<std::string> ReadBytesBefore(int fd, uint64_t offset, size_t max_bytes) {
  const size_t length = static_cast<size_t>(std::min<uint64_t>(offset, max_bytes));
  std::string bytes(length, '\0');
  size_t done = 0;
  while (done < length) {
    ssize_t n =
        ::pread(fd, bytes.data() + done, length - done, static_cast<off_t>(offset - length + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    done += static_cast<size_t>(n);
  }
  return bytes;
}

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
  follower->key_ = FileKey{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
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
    Count(stats_->read_errors);
    Close(now);
    return false;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
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
      Count(stats_->read_errors);
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
    if (read_offset_ == 0 && unsure_copy_ && ReadMissedGeneration(static_cast<size_t>(n))) {
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
  Count(stats_->bytes_read, n);
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
  Count(stats_->lines_read, chunk.lines);
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
  Count(stats_->lines_skipped[static_cast<size_t>(SkipReason::kLineTooLong)]);
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
  if (buffered_ > 0) Count(stats_->partial_lines_flushed);
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

// The up to kFingerprintBytes bytes before read_offset_, from memory.
std::string FileFollower::BytesBeforeRead() const {
  std::string bytes;
  const size_t from_buffer = std::min(buffered_, kFingerprintBytes);
  const size_t from_tail = std::min(tail_.size(), kFingerprintBytes - from_buffer);
  bytes.append(tail_, tail_.size() - from_tail, from_tail);
  bytes.append(buffer_.data() + buffered_ - from_buffer, from_buffer);
  return bytes;
}

// Rule 1: the file is shorter than our offset, or the bytes just before it changed.
bool FileFollower::Truncated() {
  if (read_offset_ == 0) return false;
  struct stat st {};
  return (::fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) < read_offset_) ||
         RewrittenBeforeOffset();
}

bool FileFollower::RewrittenBeforeOffset() {
  const std::string expected = BytesBeforeRead();
  const size_t length = std::min(expected.size(), kRewriteCheckBytes);
  auto actual = ReadBytesBefore(fd_, read_offset_, length);
  return actual &&
         std::string_view(*actual) != std::string_view(expected).substr(expected.size() - length);
}

void FileFollower::HandleTruncation() {
  Count(stats_->truncations);
  spdlog::info("{}: truncated below offset {} (copytruncate?); reading it from the start",
               origin_.path, read_offset_);
  unsure_copy_.reset();
  if (state_ != State::kFollowing || !ReadCopies()) Flush(/*end_of_file=*/false);
  read_offset_ = consumed_offset_ = 0;
  buffered_ = 0;
  tail_.clear();
  skipping_ = false;
}

// copytruncate: reads the copy of the generation we were in from our read offset (up to there
// the two hold the same bytes), then any later generations copied before we polled, each to
// its end and under its own identity. Returns false when no copy was found.
bool FileFollower::ReadCopies() {
  const std::string before = BytesBeforeRead();
  std::optional<SiblingFile> copy =
      FindCopyOf(ListSiblings(real_path_, key_), read_offset_, before.size(),
                 [&](const std::string& bytes) { return bytes == before; });
  return copy && ReadCopyChain(*copy, /*continues=*/true);
}

// Reads `first` (from our offset when it continues what we read, else whole) and then every
// copy made after it, until none is left (reading may wait for room in the queue while more are
// made); then back to the live file. False when `first` could not be opened.
bool FileFollower::ReadCopyChain(SiblingFile first, bool continues) {
  const int live_fd = fd_;
  const FileKey live_key = key_;
  const std::string live_name = std::filesystem::path(real_path_).filename().string();
  const bool opened = ReadCopy(&first, continues);
  std::optional<SiblingFile> of_live;
  for (std::vector<SiblingFile> later; opened;) {
    of_live.reset();
    later = LaterCopies(ListSiblings(real_path_, live_key), first, live_name, live_fd, &of_live);
    if (later.empty()) break;
    for (SiblingFile& copy : later) ReadCopy(&copy, /*continues=*/false);
    first = later.back();  // the newest: only copies made after it are left
  }
  if (of_live) unsure_copy_ = std::make_unique<SiblingFile>(*of_live);
  fd_ = live_fd;
  key_ = live_key;
  chunk_path_ = origin_.path;
  return opened;
}

// At the first bytes of a generation: if a copy of the live file was being made when we last
// looked, and the live file no longer starts like it, it was truncated again before we read a
// byte of it: read that copy (and any later ones) whole. True when it did; the caller then
// reads the live file again from 0.
bool FileFollower::ReadMissedGeneration(size_t n) {
  std::unique_ptr<SiblingFile> copy = std::move(unsure_copy_);
  int fd = OpenMoved(real_path_, key_, copy.get());
  if (fd < 0) return false;
  const std::string head = FileHead(fd, std::min<size_t>(n, 256));
  ::close(fd);
  if (head == std::string_view(buffer_.data() + buffered_, head.size())) return false;
  Count(stats_->truncations);
  spdlog::info("{}: truncated again before we read it; reading its copy {} whole", origin_.path,
               copy->path);
  ReadCopyChain(*copy, /*continues=*/false);
  Flush(/*end_of_file=*/false);
  read_offset_ = consumed_offset_ = 0;
  tail_.clear();
  return true;
}

// Reads one copy to its end under its own identity: from our offset when it continues what we
// read, else (a whole later generation) from its start.
bool FileFollower::ReadCopy(SiblingFile* sibling, bool continues) {
  fd_ = OpenMoved(real_path_, key_, sibling);
  if (fd_ < 0) return false;
  if (!continues) {
    Flush(/*end_of_file=*/false);
    read_offset_ = consumed_offset_ = 0;
    tail_.clear();
  }
  key_ = sibling->key;
  chunk_path_ = sibling->path;
  const uint64_t from = read_offset_;
  for (bool more = true; more;) ReadFile(&more);
  Flush(/*end_of_file=*/true);
  finished_.push_back(mark());
  spdlog::info("{}: truncated; read bytes {}..{} from its copy {}", origin_.path, from,
               read_offset_, sibling->path);
  ::close(fd_);
  Count(stats_->copies_recovered);
  return true;
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
    Count(stats_->deletions);
    what = "deleted";
  } else if (unlinked || (path.exists && RealPath(origin_.path) != real_path_)) {
    Count(stats_->replacements);
    what = "replaced by another file";
  } else {
    Count(stats_->rotations);
  }
  spdlog::info("{}: {}; reading the old file (inode {}) to its end, the new one from its start",
               origin_.path, what, key_.inode);
}

}  // namespace rrca::tailers
