#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tailers/follow/rotated_files.h"
#include "tailers/follow/tail_types.h"

namespace rrca::tailers {

using TailClock = std::chrono::steady_clock;

struct FollowerOptions {
  size_t read_bytes = 256 * 1024;       // one read(2); capped at max_line_bytes
  size_t max_line_bytes = 1 << 20;      // a longer line is skipped up to its newline
  size_t max_bytes_per_poll = 8 << 20;  // then the next file of the source gets its turn
  // A file rotated away or deleted is still read until it was quiet this long (writers finish
  // with the old descriptor); at shutdown a partial last line waits this long for its newline.
  std::chrono::milliseconds grace{1000};
};

// What a source's path leads to now (symlinks followed); exists == false: nothing there.
struct PathState {
  bool exists = false;
  FileKey key;
};

// How far one file was read: every byte before `offset` was handed over (or skipped).
struct FileMark {
  FileKey key;
  std::string path;
  uint64_t offset = 0;
  uint64_t fingerprint = 0;
  uint32_t fingerprint_len = 0;
};

// Who a follower reads for; copied into every chunk.
struct FileOrigin {
  size_t source_index = 0;
  std::string source_name;
  std::string path;  // as the source's pattern matched it; "-" for stdin
};

using ChunkSink = std::function<void(Chunk&&)>;

// Reads one open file (one inode) or one pipe by polling, and hands its complete lines to a
// sink, one chunk per read (at most read_bytes + max_line_bytes: a held partial line plus one
// read). Memory per file: that buffer, freed again after an over-long line. Owns the descriptor.
// Not thread-safe: one watcher thread calls it. Bad input never stops it: a line longer than
// max_line_bytes is skipped up to its newline, counted (line_too_long) and logged once per file.
//
// THE ROTATION RULE. Every Poll():
//  1. Truncation, checked before and after every read: size below our read offset, or the
//     bytes just before it changed (truncated and written again). Count `truncations`. If the
//     file is still the live one, look beside it for a copy (same directory, same name stem,
//     not compressed) that holds our bytes before the offset (logrotate's copytruncate) and
//     read the rest of that copy first: every line written before the copy is recovered; only
//     lines written between copy and truncate are lost, as for any tailer. Copies made later
//     (rotated again before we read on) are read whole, oldest first; a copy of what the live
//     file holds is not. Then flush the partial line, end this poll, and read from 0 in the
//     next one. Whenever the first bytes of a generation are read (offset 0), copies made
//     after the newest copy read that do not start like those bytes are read whole first:
//     generations copied and truncated before we read a byte of them.
//  2. Read to EOF (at most max_bytes_per_poll).
//  3. While following, compare the path with our (dev, inode). If the path leads elsewhere or
//     nowhere, the file is retired and counted once:
//       - still linked under another name             -> `rotations` (rename/recreate);
//       - unlinked and nothing at the path            -> `deletions`;
//       - unlinked and another file at the path, or the path is a symlink that now points at
//         another name                                -> `replacements`.
//     The watcher then opens whatever is at the path from offset 0 (and first, oldest first,
//     any file it saw at the path in between: see SourceWatcher).
//  4. A retired file is still read to its end, until it had no new bytes for `grace`; then
//     its partial line is flushed, an end_of_file chunk is sent, and it is closed.
// Permission denied can only happen when opening, so the watcher counts it.
// A pipe has no rotation: it is read until EOF, then flushed and closed.
class FileFollower {
 public:
  enum class State { kFollowing, kDraining, kClosed };

  // Follows the regular file open at `fd` (taken over) from `offset`.
  static std::unique_ptr<FileFollower> ForFile(FileOrigin origin, int fd, const struct stat& st,
                                               uint64_t offset, const FollowerOptions& options,
                                               SourceStats* stats, ChunkSink sink);
  // Follows a pipe or stdin open at `fd` (taken over); read only when poll(2) says so.
  static std::unique_ptr<FileFollower> ForStream(FileOrigin origin, int fd,
                                                 const FollowerOptions& options, SourceStats* stats,
                                                 ChunkSink sink);
  ~FileFollower();
  FileFollower(const FileFollower&) = delete;
  FileFollower& operator=(const FileFollower&) = delete;

  // Reads what is new and applies the rotation rule; `path` is what the path leads to now
  // (nullptr: do not check). Returns true when there is more to read at once (it stopped at
  // max_bytes_per_poll, or after handling a truncation).
  bool Poll(TailClock::time_point now, const PathState* path);
  // Hands over a held partial line as a line (shutdown). Reading may go on afterwards.
  void FlushPartial();
  // Stops following the path: from now on rule 4. With `path` (what the path leads to now) the
  // transition is counted as in rule 3; without, it is not (a file found renamed at start-up).
  void Retire(TailClock::time_point now, const PathState* path);

  State state() const { return state_; }
  bool is_stream() const { return stream_; }
  const FileKey& key() const { return key_; }
  const std::string& path() const { return origin_.path; }
  bool has_partial() const { return buffered_ > 0; }
  int64_t lag_bytes() const { return lag_bytes_; }
  // The file's mtime when it was last polled: where it stands in THE GENERATION ORDER.
  const struct timespec& mtime() const { return mtime_; }
  // Where reading stopped (for resuming the same inode later in this process).
  FileMark mark() const;
  // Other files this follower read to their end (copies found on truncation).
  std::vector<FileMark> TakeFinished();

 private:
  FileFollower(FileOrigin origin, int fd, bool stream, const FollowerOptions& options,
               SourceStats* stats, ChunkSink sink);

  bool PollStream(TailClock::time_point now);
  size_t ReadFile(bool* more);
  void Absorb(size_t n);
  void EmitLines(size_t scan_from);
  void EmitChunk(size_t length, bool flushed, bool end_of_file);
  void Advance(const char* data, size_t length);
  void Drop(size_t length);
  void StartSkipping();
  void SkipLongLine(size_t length);
  void Flush(bool end_of_file);
  void Close(TailClock::time_point now);
  bool Truncated();
  bool RewrittenBeforeOffset();
  void HandleTruncation();
  bool ReadCopies();
  bool ReadCopyChain(SiblingFile first, bool continues);
  bool ReadMissedGenerations(size_t n);
  std::string LiveName() const;
  bool ReadCopy(SiblingFile* copy, bool continues);
  void CountTransition(const PathState& path);
  std::string BytesBeforeRead() const;

  FileOrigin origin_;
  std::string chunk_path_;  // origin_.path, or the copy's path while reading a copy
  int fd_ = -1;
  const bool stream_;
  FileKey key_;
  std::string real_path_;  // what the path resolved to when opened
  FollowerOptions options_;
  SourceStats* stats_;
  ChunkSink sink_;
  State state_ = State::kFollowing;

  uint64_t read_offset_ = 0;      // next byte to read
  uint64_t consumed_offset_ = 0;  // bytes before it were handed over or skipped
  std::vector<char> buffer_;      // [0, buffered_) is [consumed_offset_, read_offset_)
  size_t buffered_ = 0;
  std::string tail_;       // up to kFingerprintBytes bytes before consumed_offset_
  bool skipping_ = false;  // inside an over-long line, dropping up to its newline
  bool warned_long_line_ = false;
  bool warned_read_error_ = false;
  TailClock::time_point last_data_{};
  int64_t lag_bytes_ = 0;
  struct timespec mtime_ {};
  std::vector<FileMark> finished_;
  // The newest copytruncate copy read: copies newer than it are generations not read yet.
  std::optional<SiblingFile> newest_copy_;
  // While a copy is read (ReadCopy): its first bytes are no generation of the live file to check
  // for missed copies (that would read the copies again, recursively).
  bool reading_copy_ = false;
};

// Logrotate's copytruncate copy of the file at `path` (other than `live`) that holds the bytes
// `mark` describes before its offset: beside it (same directory, same name stem, not
// compressed); the newest if several.
std::optional<SiblingFile> FindCopyBeside(const std::string& path, FileKey live,
                                          const FileMark& mark);

}  // namespace rrca::tailers
