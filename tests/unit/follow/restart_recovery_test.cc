#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/bounded_queue.h"
#include "tailers/follow/positions_file.h"
#include "tailers/follow/source_watcher.h"
#include "tailers/follow/tail_types.h"
#include "tests/unit/follow/test_files.h"

// Restarts after a run that was killed before its first scrape, i.e. before any positions file
// was saved for it : the first run read files and counted lines that no scrape
// exported, and the files were rotated before the next run. Each test lays the files out
// explicitly; the second run must read every line once, oldest generation first. Without
// RecordStart the second run found no positions file, took itself for the first run and read
// only the file now at the path.
namespace rrca::tailers {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

using test_files::Append;
using test_files::ExpectEachOnce;
using test_files::Lines;
using test_files::WaitFor;

// Sets a file's mtime `seconds` before now: rotated generations are ordered by mtime.
void SetAge(const std::string& path, int seconds) {
  struct timespec times[2];
  ASSERT_EQ(::clock_gettime(CLOCK_REALTIME, &times[0]), 0);
  times[0].tv_sec -= seconds;
  times[1] = times[0];
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

// logrotate's rotation: app.log.k -> app.log.k+1 (k = `rotated` .. 1), app.log -> app.log.1.
void RotateNumbered(const std::string& log, int rotated) {
  for (int k = rotated; k >= 1; --k) {
    fs::rename(log + "." + std::to_string(k), log + "." + std::to_string(k + 1));
  }
  fs::rename(log, log + ".1");
}

class RestartRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rrca_recovery_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    options_.poll_interval = milliseconds(10);
    options_.follower.grace = milliseconds(200);
    options_.start_at = StartAt::kBeginning;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::unique_ptr<SourceWatcher> Make(PositionsFile* positions, BoundedQueue<Chunk>* queue) {
    return std::make_unique<SourceWatcher>(1, SourceConfig{"registry", {Path("app.log")}}, options_,
                                           queue, positions);
  }
  // The first run: starts as the daemon does (RecordStart, then cycles), reads what is there,
  // and is killed before any scrape: nothing it read is processed, no positions are saved.
  void RunKilledBeforeItsFirstScrape() {
    PositionsFile positions(Path("positions.json"));
    ASSERT_TRUE(positions.Load().ok());
    BoundedQueue<Chunk> lost(100000);
    auto watcher = Make(&positions, &lost);
    watcher->RecordStart();
    while (watcher->PollOnce(now_)) {
    }
  }
  // The next run, from the positions file as the first run left it: everything it queues.
  std::string RunAgain() {
    PositionsFile positions(Path("positions.json"));
    EXPECT_TRUE(positions.Load().ok());
    BoundedQueue<Chunk> queue(100000);
    auto watcher = Make(&positions, &queue);
    watcher->RecordStart();
    for (auto at : {now_, now_ + options_.follower.grace + milliseconds(1)}) {
      while (watcher->PollOnce(at)) {
      }
    }
    std::string text;
    while (auto chunk = queue.Pop(milliseconds(0))) text += chunk->bytes;
    return text;
  }

  fs::path dir_;
  WatcherOptions options_;
  TailClock::time_point now_ = TailClock::time_point() + std::chrono::hours(1);
};

// Rotation while down: the file the first run read went to app.log.1 with more lines in it; a
// new app.log was written. Both are read: app.log.1 whole (nothing of it was exported), first.
TEST_F(RestartRecoveryTest, RotationWhileDown) {
  Append(Path("app.log"), Lines(1, 2));
  RunKilledBeforeItsFirstScrape();
  ASSERT_TRUE(fs::exists(Path("positions.json"))) << "the first run left no trace";
  Append(Path("app.log"), Lines(3, 4));
  RotateNumbered(Path("app.log"), 0);
  SetAge(Path("app.log.1"), 10);
  Append(Path("app.log"), Lines(5, 6));
  EXPECT_EQ(RunAgain(), Lines(1, 6));
}

// Rotation while slow: the first run's reader waits for room in a full queue (a slow or
// descheduled daemon) while the file is rotated twice, then it is killed. The generation born
// and rotated away meanwhile, the first one and the live one are all read by the next run.
TEST_F(RestartRecoveryTest, RotationWhileSlow) {
  options_.follower.read_bytes = 64;
  Append(Path("app.log"), Lines(1, 50));
  {
    PositionsFile positions(Path("positions.json"));
    ASSERT_TRUE(positions.Load().ok());
    BoundedQueue<Chunk> full(1);
    auto watcher = Make(&positions, &full);
    watcher->Start();
    ASSERT_TRUE(WaitFor([&] { return full.size() == 1; }));  // full: the reader waits
    RotateNumbered(Path("app.log"), 0);
    Append(Path("app.log"), Lines(51, 60));
    RotateNumbered(Path("app.log"), 1);
    Append(Path("app.log"), Lines(61, 70));
    watcher->Stop();  // killed: the queued chunks are never processed, nothing is saved
  }
  SetAge(Path("app.log.2"), 20);
  SetAge(Path("app.log.1"), 10);
  EXPECT_EQ(RunAgain(), Lines(1, 70));
}

// Several generations shift names between the first run's scan and the next one's: the file it
// read is app.log.3 by then, two generations born after it are app.log.2 and app.log.1. Read
// oldest first, each once; app.log.4, rotated before the first run, not at all.
TEST_F(RestartRecoveryTest, GenerationsShiftNamesBetweenTwoScans) {
  Append(Path("app.log.1"), "before our time\n");
  SetAge(Path("app.log.1"), 100);
  Append(Path("app.log"), Lines(1, 2));
  RunKilledBeforeItsFirstScrape();
  Append(Path("app.log"), "3\n");
  RotateNumbered(Path("app.log"), 1);
  Append(Path("app.log"), Lines(4, 5));
  RotateNumbered(Path("app.log"), 2);
  Append(Path("app.log"), "6\n");
  RotateNumbered(Path("app.log"), 3);
  Append(Path("app.log"), "7\n");
  SetAge(Path("app.log.4"), 100);
  SetAge(Path("app.log.3"), 30);
  SetAge(Path("app.log.2"), 20);
  SetAge(Path("app.log.1"), 10);
  EXPECT_EQ(RunAgain(), Lines(1, 7));
}

// Files born and rotated away unseen, with start_at: end: the first run started at the end of
// app.log and read nothing more. While down, app.log got lines and was rotated, a newer file
// was born, written and rotated too. The next run reads from where the first one started: the
// lines before it never, everything after it once.
TEST_F(RestartRecoveryTest, FilesBornAndRotatedAwayUnseen) {
  options_.start_at = StartAt::kEnd;
  Append(Path("app.log"), "before our time\n");
  RunKilledBeforeItsFirstScrape();
  Append(Path("app.log"), Lines(1, 2));
  RotateNumbered(Path("app.log"), 0);
  Append(Path("app.log"), Lines(3, 4));
  RotateNumbered(Path("app.log"), 1);
  Append(Path("app.log"), "5\n");
  SetAge(Path("app.log.2"), 20);
  SetAge(Path("app.log.1"), 10);
  EXPECT_EQ(RunAgain(), Lines(1, 5));
}

// A positions file that was loaded is left alone (a scrape saves it with what it describes); the
// first run's trace is needed only when there is none.
TEST_F(RestartRecoveryTest, RecordStartLeavesALoadedPositionsFileAlone) {
  Append(Path("app.log"), Lines(1, 2));
  RunKilledBeforeItsFirstScrape();
  const auto written = fs::last_write_time(Path("positions.json"));
  const std::string before = RunAgain();
  EXPECT_EQ(before, Lines(1, 2));
  EXPECT_EQ(fs::last_write_time(Path("positions.json")), written);
}

}  // namespace
}  // namespace rrca::tailers
