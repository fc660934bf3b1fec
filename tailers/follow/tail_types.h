#pragma once

#include <array>
#include <atomic>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// The value types the file-following part of tailers/ hands out: the identity of a file, the
// batch of complete lines read from it, and the per-source self-metrics.
namespace rrca::tailers {

// Identity of an open file. It survives renames and is lost when the path points at another
// file. An inode number can be reused after a delete, so a saved position also carries a
// fingerprint of the bytes before its offset (see PositionsFile).
struct FileKey {
  uint64_t dev = 0;
  uint64_t inode = 0;
  auto operator<=>(const FileKey&) const = default;
};

// Bytes hashed before an offset to recognise the same content again.
inline constexpr size_t kFingerprintBytes = 1024;

// Bytes of a file's start compared to tell a copy of the live file from a copy of another
// generation (every generation starts with other lines).
inline constexpr size_t kGenerationHeadBytes = 256;

// Adds to a self-metric counter: relaxed, since readers only scrape it.
inline void CountUp(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

// FNV-1a, 64 bit: stable across builds and machines, so saved fingerprints stay valid.
inline uint64_t Fingerprint(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// Where a file seen for the first time at start-up begins (files with a saved position resume
// there; files that appear later, or replace a file we followed, are read from the beginning).
enum class StartAt : uint8_t { kEnd, kBeginning };

// Why bytes were read but not handed on as lines. Values are metric label values.
enum class SkipReason : uint8_t { kLineTooLong, kCount };
inline constexpr std::string_view SkipReasonName(SkipReason reason) {
  switch (reason) {
    case SkipReason::kLineTooLong:
      return "line_too_long";
    case SkipReason::kCount:
      break;
  }
  return "unknown";
}

// A batch of complete lines from one file, in file order, handed from a SourceWatcher to the
// processing thread. `bytes` are the file's bytes [start_offset, end_offset): complete lines,
// each ending in '\n'. Exception: when `flushed_partial` is set, the last line had no newline
// in the file (writer stopped mid-line, file rotated/truncated/closed) and one '\n' was
// appended, so bytes.size() == end_offset - start_offset + 1.
struct Chunk {
  size_t source_index = 0;
  std::string source_name;
  std::string path;  // as matched by the source's pattern (a symlink stays a symlink)
  FileKey file;
  uint64_t start_offset = 0;
  uint64_t end_offset = 0;
  // Fingerprint() of the min(end_offset, kFingerprintBytes) bytes before end_offset.
  uint64_t fingerprint = 0;
  uint32_t fingerprint_len = 0;
  uint32_t lines = 0;            // number of '\n' in bytes
  bool from_pipe = false;        // stdin or a pipe: offsets count bytes, no position is kept
  bool flushed_partial = false;  // see above
  // Last chunk of this file: it was closed for good (rotated away, deleted, pipe ended) and
  // every byte of it was handed over. `bytes` may be empty. Once processed, its position is
  // marked closed (PositionsFile::MarkProcessed).
  bool end_of_file = false;
  std::string bytes;
};

// Self-metrics of one source, updated by its watcher thread, read by anyone (relaxed atomics;
// each value is exact, values are not a consistent snapshot of each other).
struct SourceStats {
  std::atomic<uint64_t> bytes_read{0};    // every byte read, including skipped ones
  std::atomic<uint64_t> lines_read{0};    // lines handed over
  std::atomic<int64_t> files_open{0};     // gauge: open files, including rotated ones still drained
  std::atomic<uint64_t> rotations{0};     // renamed away (still linked elsewhere)
  std::atomic<uint64_t> truncations{0};   // size fell below our offset, or rewritten in place
  std::atomic<uint64_t> deletions{0};     // unlinked, nothing at the path
  std::atomic<uint64_t> replacements{0};  // unlinked and another file at the path, or symlink
                                          // retargeted
  std::atomic<uint64_t> permission_denied{0};  // episodes: a path became unreadable
  std::atomic<uint64_t> read_errors{0};        // other open/read errors (EIO, ...)
  std::atomic<uint64_t> copies_recovered{0};   // copytruncate: missed tail read from the copy
  std::atomic<uint64_t> partial_lines_flushed{0};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(SkipReason::kCount)> lines_skipped{};
  std::atomic<int64_t> lag_bytes{0};  // gauge: file sizes minus read offsets, summed over files
  std::atomic<bool> up{false};        // gauge: at least one path (or stdin) is open and readable
  std::atomic<uint64_t> queue_full_waits{0};    // pushes that found the queue full
  std::atomic<uint64_t> queue_full_wait_ns{0};  // time spent waiting for room (backpressure)
};

}  // namespace rrca::tailers
