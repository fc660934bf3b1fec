#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <utility>

#include "tailers/follow/file_follower.h"

// FileFollower, rule 1 of the class comment: noticing a truncation and reading what the
// truncated file held from logrotate's copytruncate copies beside it.
namespace rrca::tailers {

namespace {

// Bytes compared before the read offset on every poll to notice a truncate-and-refill.
constexpr size_t kRewriteCheckBytes = 128;

// The copy of the generation we were reading: it holds exactly `before` just before `offset`.
// The newest such file (NewerGeneration) wins.
// `same(bytes)` says whether the bytes before `offset` are ours.
template <typename Same>
std::optional<SiblingFile> FindCopyOf(const std::vector<SiblingFile>& siblings, uint64_t offset,
                                      size_t length, Same same) {
  std::optional<SiblingFile> best;
  for (const SiblingFile& sibling : siblings) {
    if (sibling.size < offset || (best && !NewerGeneration(sibling, *best))) continue;
    int fd = OpenSibling(sibling);
    if (fd < 0) continue;
    std::optional<std::string> bytes = ReadBytesBefore(fd, offset, length);
    if (bytes && same(*bytes)) best = sibling;
    ::close(fd);
  }
  return best;
}

// Copies of later generations, oldest first: named "<live name><.-_>...", newer than `after`
// in the generation order (NewerGeneration: copies made within one clock tick share an mtime,
// and then their rotation suffixes order them), and not a copy of what the live file holds now
// (starting with `live_head`: that copy is still being made, or the live file was not truncated
// yet, and its bytes are read from the live file).
std::vector<SiblingFile> LaterCopies(const std::vector<SiblingFile>& siblings, SiblingFile after,
                                     const std::string& live_name, std::string_view live_head) {
  // `after` under the name it has now: a rotation since it was read may have renamed it.
  for (const SiblingFile& sibling : siblings) {
    if (sibling.key == after.key) after = sibling;
  }
  std::vector<SiblingFile> later;
  for (const SiblingFile& sibling : siblings) {
    const std::string name = std::filesystem::path(sibling.path).filename().string();
    if (sibling.key == after.key || sibling.size == 0 || !NewerGeneration(sibling, after) ||
        name.size() <= live_name.size() || name.rfind(live_name, 0) != 0 ||
        std::strchr(".-_", name[live_name.size()]) == nullptr) {
      continue;
    }
    int fd = OpenSibling(sibling);
    if (fd < 0) continue;
    const size_t n = std::min<uint64_t>({sibling.size, live_head.size(), kGenerationHeadBytes});
    const bool same_head = n > 0 && FileHead(fd, n) == live_head.substr(0, n);
    ::close(fd);
    if (!same_head) later.push_back(sibling);
  }
  std::sort(later.begin(), later.end(),
            [](const SiblingFile& a, const SiblingFile& b) { return NewerGeneration(b, a); });
  return later;
}

}  // namespace

std::optional<SiblingFile> FindCopyBeside(const std::string& path, FileKey live,
                                          const FileMark& mark) {
  const std::string real_path = RealPath(path);
  if (real_path.empty()) return std::nullopt;
  return FindCopyOf(
      ListSiblings(real_path, live), mark.offset, mark.fingerprint_len,
      [&](const std::string& bytes) { return Fingerprint(bytes) == mark.fingerprint; });
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
  CountUp(stats_->truncations);
  spdlog::info("{}: truncated below offset {} (copytruncate?); reading it from the start",
               origin_.path, read_offset_);
  if (state_ != State::kFollowing || !ReadCopies()) {
    newest_copy_.reset();  // no copy continues what we read: later ones are no longer ours
    Flush(/*end_of_file=*/false);
  }
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
// made); then back to the live file. It remembers the newest copy read, so that copies made
// before we read the live file again are found (ReadMissedGenerations). False when `first`
// could not be opened.
bool FileFollower::ReadCopyChain(SiblingFile first, bool continues) {
  const int live_fd = fd_;
  const FileKey live_key = key_;
  const bool opened = ReadCopy(&first, continues);
  for (std::vector<SiblingFile> later; opened;) {
    later = LaterCopies(ListSiblings(real_path_, live_key), first, LiveName(),
                        FileHead(live_fd, kGenerationHeadBytes));
    if (later.empty()) break;
    for (SiblingFile& copy : later) ReadCopy(&copy, /*continues=*/false);
    first = later.back();  // the newest: only copies made after it are left
  }
  if (opened) newest_copy_ = first;
  fd_ = live_fd;
  key_ = live_key;
  chunk_path_ = origin_.path;
  return opened;
}

// At the first `n` bytes of a generation (read_offset_ == 0, the bytes are in the buffer, not
// absorbed): copies made after the newest copy we read that do not start like these bytes hold
// generations copied and truncated before we read a byte of them (between our last look at the
// copies and this read, or between two polls). Reads them whole, oldest first. True when it
// did; the caller then reads the live file again from 0.
bool FileFollower::ReadMissedGenerations(size_t n) {
  if (!newest_copy_) return false;
  const std::string_view live_head(buffer_.data() + buffered_, std::min(n, kGenerationHeadBytes));
  std::vector<SiblingFile> missed =
      LaterCopies(ListSiblings(real_path_, key_), *newest_copy_, LiveName(), live_head);
  if (missed.empty()) return false;
  CountUp(stats_->truncations);
  spdlog::info("{}: truncated again before we read it; reading its copy {} whole", origin_.path,
               missed.front().path);
  ReadCopyChain(missed.front(), /*continues=*/false);
  Flush(/*end_of_file=*/false);
  read_offset_ = consumed_offset_ = 0;
  tail_.clear();
  return true;
}

std::string FileFollower::LiveName() const {
  return std::filesystem::path(real_path_).filename().string();
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
  reading_copy_ = true;
  for (bool more = true; more;) ReadFile(&more);
  reading_copy_ = false;
  Flush(/*end_of_file=*/true);
  finished_.push_back(mark());
  spdlog::info("{}: truncated; read bytes {}..{} from its copy {}", origin_.path, from,
               read_offset_, sibling->path);
  ::close(fd_);
  CountUp(stats_->copies_recovered);
  return true;
}

}  // namespace rrca::tailers
