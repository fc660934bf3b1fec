#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tailers/follow/tail_types.h"

namespace rrca::tailers {

// Where reading of one file got to: the bytes before `offset` were processed.
struct Position {
  std::string source;  // name of the source that follows the file
  std::string path;    // where the file was last seen
  uint64_t offset = 0;
  uint64_t fingerprint = 0;  // Fingerprint() of the fingerprint_len bytes before offset
  uint32_t fingerprint_len = 0;
  // Wall clock when the file was read to its end and closed for good; 0 while it is followed.
  // Kept for keep_closed, so that after a restart it is known as done, not as a missed file.
  int64_t closed_at_unix_ns = 0;
};

// The positions file (config key `positions_file`, default kDefaultPositionsPath): for each
// file, keyed by (device, inode), the offset up to which its lines were processed, with a
// fingerprint so that a reused inode or a rewritten file is not resumed in the middle.
//
// Format, JSON, written by this class only (read back strictly; unknown keys are ignored):
//   {"version": 1, "saved_at_unix_ns": 1764421234000000000,
//    "files": [{"source": "registry", "path": "/var/log/registry.log",
//     "dev": 2049, "inode": 1234, "offset": 5678, "fingerprint": "0123456789abcdef",
//     "fingerprint_len": 1024, "closed_at_unix_ns": 0}],
//    "pipeline_state": {...}}
// `pipeline_state` is any JSON value the processing side hands over with the snapshot (what it
// read but has not counted yet, see exporter/pipeline/carry_over.h); this class keeps its text as
// it is.
//
// Consistency with what Prometheus saw: the processing thread calls MarkProcessed(chunk) after
// counting a chunk's lines; the scrape handler collects the metrics and takes Snapshot() with
// no chunk processed in between (hold the lock the processing thread holds per chunk), then
// Save(snapshot) outside that lock. Lines counted after the snapshot are read again after a
// crash, which is right: no scrape exported them.
//
// Bad input: a missing file is an empty table; an unreadable or corrupt file is logged,
// returned as an error from Load() and ignored (empty table) — never a crash. Save() creates
// missing directories and writes atomically (temp file, fsync, rename). The directory is fsynced
// (the rename made durable against power loss) at the start of the next Save and by the
// destructor, not before Save returns: the scrape waits for Save (see WriteFile).
// Thread-safe.
class PositionsFile {
 public:
  static constexpr std::string_view kDefaultPositionsPath = "/var/lib/registry-rca/positions.json";
  static constexpr std::chrono::seconds kKeepClosed{3600};

  struct Stats {
    std::atomic<uint64_t> writes{0};
    std::atomic<uint64_t> write_failures{0};
    std::atomic<uint64_t> load_failures{0};
    std::atomic<uint64_t> directory_syncs{0};  // renames made durable (see WriteFile)
  };

  // A copy of the table at one moment, to be written by Save().
  struct Snapshot {
    uint64_t sequence = 0;
    uint64_t order = 0;            // TakeSnapshot calls so far: a later snapshot has a larger order
    int64_t taken_at_unix_ns = 0;  // wall clock: files written later were not fully processed
    std::map<FileKey, Position> entries;
    // JSON text of one value (empty: none), written as the file's "pipeline_state".
    std::string pipeline_state;
  };

  // `path` empty: positions are kept in memory only (Save() is a no-op).
  // Entries of closed files are dropped `keep_closed` after they closed.
  explicit PositionsFile(std::string path, std::chrono::seconds keep_closed = kKeepClosed);
  ~PositionsFile();
  PositionsFile(const PositionsFile&) = delete;
  PositionsFile& operator=(const PositionsFile&) = delete;

  // Replaces the table with the file's content. See the class comment for errors.
  Status Load();

  std::optional<Position> Lookup(FileKey key) const;
  // True when some entry was last seen at `path` (the file there was followed before).
  bool HasPath(std::string_view path) const;
  // Entries of one source, for finding files that were rotated while we were down.
  std::vector<std::pair<FileKey, Position>> EntriesOfSource(std::string_view source) const;
  // When the loaded snapshot was taken (0: nothing loaded).
  int64_t saved_at_unix_ns() const;
  // The loaded file's "pipeline_state" text (empty: none).
  std::string loaded_pipeline_state() const;

  // Reader side: a file was opened at `position` (nothing of it is processed yet).
  void Track(FileKey key, Position position);
  // Reader side: the file will not be read again (it could not be found after a restart).
  void Forget(FileKey key);
  // Processing thread: the chunk's lines were counted. Chunks of pipes are ignored; an
  // end_of_file chunk marks the entry closed.
  void MarkProcessed(const Chunk& chunk);

  Snapshot TakeSnapshot();  // also drops closed entries older than keep_closed
  // Writes `snapshot` unless a later one was already written. Failures are logged and counted.
  Status Save(const Snapshot& snapshot);
  Status Save() { return Save(TakeSnapshot()); }

  const std::string& path() const { return path_; }
  const Stats& stats() const { return stats_; }

 private:
  Status WriteFile(const std::string& text);
  void SyncDirectory();

  const std::string path_;
  const std::chrono::seconds keep_closed_;
  Stats stats_;
  mutable std::mutex mutex_;  // guards entries_, sequence_, loaded_saved_at_unix_ns_
  std::map<FileKey, Position> entries_;
  uint64_t sequence_ = 0;  // bumped by every change
  uint64_t snapshots_taken_ = 0;
  int64_t loaded_saved_at_unix_ns_ = 0;
  std::string loaded_pipeline_state_;
  std::mutex save_mutex_;  // one Save at a time; guards the saved_* members
  uint64_t saved_sequence_ = 0;
  uint64_t saved_order_ = 0;
  size_t saved_state_hash_ = 0;
  bool dir_sync_pending_ = false;  // the last rename is not yet fsynced (see WriteFile)
  bool saved_once_ = false;
};

// The JSON text of a table, and its strict parser (exposed for tests). `pipeline_state` must be
// the text of one JSON value or empty; the parser returns that text as it stands in the file.
std::string PositionsToJson(const std::map<FileKey, Position>& entries,
                            int64_t saved_at_unix_ns = 0, std::string_view pipeline_state = {});
StatusOr<std::map<FileKey, Position>> PositionsFromJson(std::string_view text,
                                                        int64_t* saved_at_unix_ns = nullptr,
                                                        std::string* pipeline_state = nullptr);

}  // namespace rrca::tailers
