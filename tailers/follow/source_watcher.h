#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/bounded_queue.h"
#include "tailers/follow/file_follower.h"
#include "tailers/follow/positions_file.h"
#include "tailers/follow/tail_types.h"

namespace rrca::tailers {

// One configured log source: a name (metric label) and its paths.
struct SourceConfig {
  std::string name;
  // Plain paths, or glob(3) patterns with {a,b} braces. "-" reads stdin (a pipe) until EOF.
  // Symlinks are followed; compressed names (.gz, ...) and non-regular files are ignored.
  // Name the live files (`*.log`), not their rotated copies (`*.log*`): a rename-rotated file is
  // recognised by its inode and never read twice, but a copytruncate copy is a new file.
  std::vector<std::string> paths;
};

struct WatcherOptions {
  std::chrono::milliseconds poll_interval{250};  // re-scan and read every file this often
  // After a cycle that read something, the next comes this soon: a busy file is followed
  // closely, so that each copytruncate is seen before the next one.
  std::chrono::milliseconds active_poll_interval{10};
  StartAt start_at = StartAt::kEnd;  // see StartAt
  FollowerOptions follower;
};

// Ends a watcher's wait early when a followed file is written, or a file is created or moved
// into a followed directory (inotify), or when Stop() is called. A hint only: polling finds
// every change anyway; if inotify is unavailable (limits, filesystems) waits run to their end.
class ChangeHint {
 public:
  ChangeHint();
  ~ChangeHint();
  ChangeHint(const ChangeHint&) = delete;
  ChangeHint& operator=(const ChangeHint&) = delete;

  void WatchFile(const std::string& path, FileKey key);  // writes to the file at `path`
  void Unwatch(FileKey key);
  void WatchDirectory(const std::string& dir);  // files created or moved into it
  // Waits up to `timeout` for Wake(), a new name in a watched directory, or, when `writes`, a
  // write to a watched file.
  void Wait(std::chrono::milliseconds timeout, bool writes);
  void Wake();  // thread-safe

 private:
  int writes_fd_ = -1;  // inotify: IN_MODIFY of followed files
  int names_fd_ = -1;   // inotify: IN_CREATE | IN_MOVED_TO in their directories
  int wake_fd_ = -1;    // eventfd
  std::map<FileKey, int> file_watches_;
  std::set<std::string> dirs_;
};

// Follows every file of one source on its own thread and pushes their lines, as Chunks, into
// the shared queue (waiting while it is full: backpressure, never a drop).
//
// Cycles run every poll_interval while idle (inotify ends the wait at a write or a new file
// name: ChangeHint) and every active_poll_interval while files are being written.
// Each cycle (PollOnce): expand the patterns; poll every open file (FileFollower applies the
// rotation rule and reads); open files that appeared, unless their (dev, inode) is already
// being read under another name. While reading or waiting for room in the queue, the paths
// followed lately (also while their old file drains) are checked every active_poll_interval
// and a new file found there is opened at once (read later): a file rotated away again before
// its turn is still read whole.
// Those checks can still miss a generation: one born and rotated away between two of them (a
// thread not scheduled for a while, logrotate running back to back). So when a followed file
// was rotated away, before the next file at its path is followed (held or opened now), its
// rotated siblings (RotatedNamesOf) newer than it in THE GENERATION ORDER that were never
// opened in this run (by (dev, inode)) are read whole, oldest first (held ones through their
// descriptors); never one older than the retired file (ReadSkippedGenerations).
// Where a file starts:
//   1. read earlier in this run (a rotated file reappearing under a matched name): where we
//      stopped;
//   2. a saved position with the same (dev, inode) whose fingerprint matches: there; a
//      mismatch (reused inode, rewritten file): 0;
//   3. any file appearing after the first scan (a new pod, the new file after a rotation), or
//      at a path a saved position names or whose rotated files one matches (rotated while we
//      were down): 0;
//   4. otherwise (present at start, never seen): `start_at` (end: after its last newline).
// After a restart, the files now at the paths are opened (and followed through those
// descriptors even if rotated away before their turn), then, before they are read (they are the
// newest, so they are read last), each path's rotated siblings (same directory, "<name>" + one of
// ".-_" + anything, not compressed: RotatedNamesOf) are put in THE GENERATION ORDER
// (NewerGeneration: mtime, then rotation suffix, then inode number) and read oldest first:
//   - a sibling whose saved position matches it ((dev, inode) and fingerprint) is known; the
//     newest known one is the anchor: the file we were reading when we went down. Known files
//     are read from their saved offset to their end (nothing if they were closed), never from
//     0 again;
//   - the file at the path no longer matching its saved position (copytruncate while we were
//     down): its copy is found by the fingerprint and is a known file, read from that offset;
//   - a sibling with no matching saved position and newer than the anchor was born and rotated
//     away while we were down: read whole, from 0, unless it starts like the file now at the
//     path (a copy of it that copytruncate is still making: those bytes are read there);
//   - older ones were rotated before we read the anchor (read by then, or before our time).
//   With no known sibling (all deleted or compressed) and a path we followed, a sibling counts
//   as newer when it was written after the saved snapshot (the files closed before it went
//   quiet `grace` before it). The file at the path matching its saved position: nothing was
//   rotated, nothing is looked for. A saved path with nothing there now (restarted between a
//   rotation's rename and create) is looked at the same way.
// Saved positions of this source still not read then (their path is matched no more) are
// looked for by (dev, inode) beside their path and read to their end; those not found are
// forgotten.
// A run leaves its trace before it reads: positions are saved only with a scrape, so a run
// killed before its first scrape (a slow start, a crash loop, a restart within the first scrape
// interval) would leave no positions file, and the next run, taking itself for the first, would
// skip every generation rotated away meanwhile. So when no positions were loaded, Start() first
// tracks the files now at the paths where reading them will begin and saves the positions file
// (RecordStart); the first cycle then resumes there, and a later run finds them as above.
// Opening failures are retried every cycle; permission denied is counted once per episode and
// logged with a hint.
//
// Ownership: borrows `queue` and `positions` (nullable), which must outlive it. Thread-safety:
// Start/Stop from one controlling thread, Start before any chunk is processed (RecordStart's
// save must hold no processed offset that no scrape exported); stats() from any thread;
// PollOnce/FlushPartials/RecordStart only when not started (tests, one-shot runs). Stop() waits up
// to options.follower.grace for partial lines to be completed, hands them over and returns; if the
// queue stays full that long it gives up handing over (those lines are read again after a restart:
// their positions were never marked processed).
class SourceWatcher {
 public:
  SourceWatcher(size_t source_index, SourceConfig config, WatcherOptions options,
                BoundedQueue<Chunk>* queue, PositionsFile* positions);
  ~SourceWatcher();
  SourceWatcher(const SourceWatcher&) = delete;
  SourceWatcher& operator=(const SourceWatcher&) = delete;

  void Start();  // RecordStart(), then the thread
  void Stop();

  // When no positions were loaded (none saved yet, or the file was ignored): tracks the files at
  // the paths at the offsets their reading will begin at, and saves the positions file. Reads
  // nothing. Does nothing after the first cycle or without a positions file.
  void RecordStart();

  // One cycle; returns true when a file stopped at its per-cycle budget (more to read now).
  // One-shot reading: `while (PollOnce(now)) {}` then FlushPartials().
  bool PollOnce(TailClock::time_point now);
  // Hands over every held partial line as a line.
  void FlushPartials();
  bool HasPartial() const;

  const SourceStats& stats() const { return stats_; }
  const std::string& name() const { return config_.name; }

 private:
  struct PendingFile {  // opened, not followed yet
    int fd = -1;
    struct stat st {};
  };

  std::map<std::string, PathState> Scan();
  void ScanPath(const std::string& path, std::map<std::string, PathState>* found);
  void OpenPath(const std::string& path, TailClock::time_point now, int fd = -1);
  uint64_t StartOffset(const std::string& path, FileKey key, int fd, uint64_t size);
  void RecoverWhileDown(const std::map<std::string, PathState>& found, TailClock::time_point now);
  std::set<std::string> PathsOfSavedFiles(const std::map<std::string, PathState>& found) const;
  void RecoverGenerations(const std::string& path, const PendingFile* live_file,
                          const std::set<FileKey>& live, TailClock::time_point now);
  void ReadGeneration(const std::string& path, SiblingFile* file, uint64_t offset, bool known,
                      TailClock::time_point now);
  void RecoverMovedFiles(const std::set<FileKey>& live, TailClock::time_point now);
  void Drain(const std::string& path, int fd, const struct stat& st, uint64_t offset,
             TailClock::time_point now);
  void PollStdin(TailClock::time_point now, bool* more);
  void KeepFinishedMarks(const std::map<std::string, PathState>& found);
  void NoteOpenError(const std::string& path, int error);
  void CheckPaths();
  void ForgetOldPaths(const std::map<std::string, PathState>& found, TailClock::time_point now);
  void AdoptPending(const std::string& path, TailClock::time_point now);
  void MoveOnFromRotated(TailClock::time_point now);
  void ReadSkippedGenerations(const std::string& path, TailClock::time_point now);
  int TakePending(const std::string& path, FileKey key, struct stat* st);
  void DrainRotated(const std::string& path, int fd, const struct stat& st,
                    const PathState& now_at_path, TailClock::time_point now);
  bool InUse(FileKey key) const;
  void Push(Chunk&& chunk);
  void UpdateGauges();
  std::unique_ptr<FileFollower> Follow(std::string path, int fd, const struct stat& st,
                                       uint64_t offset);
  void Run();

  const size_t index_;
  const SourceConfig config_;
  const WatcherOptions options_;
  BoundedQueue<Chunk>* const queue_;
  PositionsFile* const positions_;
  SourceStats stats_;

  std::map<std::string, std::unique_ptr<FileFollower>> active_;  // by path
  std::vector<std::unique_ptr<FileFollower>> draining_;          // retired, read to their end
  std::unique_ptr<FileFollower> stdin_;
  bool stdin_done_ = false;
  std::map<FileKey, FileMark> finished_;    // read to their end in this run, still matched
  std::map<std::string, int> open_errors_;  // path -> errno of its failing open
  // At start-up: paths whose files (now there or rotated away) have saved positions.
  std::set<std::string> followed_before_;
  // At start-up, while older generations are read: the files opened at the paths (see CheckPaths).
  std::set<FileKey> held_live_;
  // Files found at a followed path by CheckPaths, oldest first: opened, not yet followed.
  std::map<std::string, std::deque<PendingFile>> pending_;
  // Paths followed in this run, with when they were last seen: what CheckPaths looks at.
  std::map<std::string, TailClock::time_point> followed_paths_;
  // Paths whose followed file was rotated away, with that file (name and mtime as last seen),
  // until a file at the path is followed again: what ReadSkippedGenerations reads after.
  std::map<std::string, SiblingFile> retired_;
  // Files followed from each path in this run (pruned to those still beside it or open): never
  // read again as a skipped generation.
  std::map<std::string, std::set<FileKey>> followed_at_;
  TailClock::time_point last_path_check_{};
  TailClock::time_point last_data_at_{};
  std::set<std::string> failed_this_cycle_;
  bool first_scan_done_ = false;
  bool recorded_start_ = false;
  bool queue_closed_ = false;

  std::thread thread_;
  ChangeHint hint_;
  std::atomic<bool> stop_{false};
};

}  // namespace rrca::tailers
