#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/bounded_queue.h"
#include "tailers/follow/source_watcher.h"
#include "tailers/follow/tail_types.h"
#include "tests/unit/follow/test_files.h"

// SourceWatcher while running: generations born and rotated away while the reader waited for
// room in the queue, too fast for the path checks between chunks to hold them open.
namespace rrca::tailers {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

using test_files::Append;
using test_files::ExpectEachOnce;
using test_files::Lines;
using test_files::WaitFor;

// Sets the mtime `seconds_ago` in the past: generations get distinct, ordered mtimes even when
// written within one clock tick.
void SetAge(const std::string& path, int seconds_ago) {
  struct timespec times[2];
  ASSERT_EQ(::clock_gettime(CLOCK_REALTIME, &times[0]), 0);
  times[0].tv_sec -= seconds_ago;
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

class WatcherRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rrca_rotation_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    // Path checks (CheckPaths) and cycles far apart: a generation that lives a few ms is at the
    // path only while nobody looks, as when the reader's thread is not scheduled for a while.
    options_.poll_interval = milliseconds(3000);
    options_.active_poll_interval = milliseconds(3000);
    options_.follower.grace = milliseconds(200);
    options_.follower.read_bytes = 64;
    options_.start_at = StartAt::kBeginning;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  // Pops chunks until `text_size` bytes arrived; then stops the watcher and runs three more of
  // its cycles by hand, each a poll interval later, as its thread would have: anything read
  // twice comes then. (Waiting 300 ms for a 3 s poll saw nothing.)
  std::string Collect(SourceWatcher& watcher, size_t text_size) {
    std::string got;
    EXPECT_TRUE(WaitFor([&] {
      if (auto chunk = queue_.Pop(milliseconds(5))) got += chunk->bytes;
      return got.size() >= text_size;
    }));
    watcher.Stop();
    while (auto chunk = queue_.Pop(milliseconds(0))) got += chunk->bytes;
    std::atomic<bool> polled{false};
    std::string late;
    std::thread reader([&] {  // the queue holds one chunk: PollOnce needs a reader
      while (!polled) {
        if (auto chunk = queue_.Pop(milliseconds(5))) late += chunk->bytes;
      }
    });
    auto now = TailClock::now();
    for (int cycle = 0; cycle < 3; ++cycle) {
      now += options_.poll_interval;
      while (watcher.PollOnce(now)) {
      }
    }
    watcher.FlushPartials();
    polled = true;
    reader.join();
    while (auto chunk = queue_.Pop(milliseconds(0))) late += chunk->bytes;
    return got + late;
  }
  // Setup: the file's whole text was read and the reader waits for room in the full queue.
  void WaitUntilTheReaderWaits(const SourceWatcher& watcher, const std::string& log) {
    const uint64_t size = fs::file_size(log);
    ASSERT_TRUE(
        WaitFor([&] { return queue_.size() == 1 && watcher.stats().bytes_read.load() == size; }));
  }

  fs::path dir_;
  WatcherOptions options_;
  BoundedQueue<Chunk> queue_{1};
};

// The reader waits for room in the queue while app.log is rotated three times (rename + new
// file) without it looking: app.log.3 is the file it was reading, app.log.2 and app.log.1 were
// born and rotated away unseen. When it moves on to app.log it reads those two first, whole,
// oldest first, and nothing twice.
TEST_F(WatcherRotationTest, GenerationsBornAndRotatedWhileTheQueueIsFullAreRead) {
  const std::string log = Path("app.log");
  Append(log, Lines(1, 40));
  SetAge(log, 40);
  SourceWatcher watcher(0, SourceConfig{"s", {log}}, options_, &queue_, nullptr);
  watcher.Start();
  WaitUntilTheReaderWaits(watcher, log);
  ASSERT_FALSE(HasFatalFailure());
  RotateNumbered(log, 0);
  Append(log, Lines(41, 50));
  SetAge(log, 30);
  RotateNumbered(log, 1);
  Append(log, Lines(51, 60));
  SetAge(log, 20);
  RotateNumbered(log, 2);
  Append(log, Lines(61, 70));
  std::string got = Collect(watcher, Lines(1, 70).size());
  ExpectEachOnce(got, 1, 70);
  // Oldest first: each generation's lines come before the next one's.
  EXPECT_LT(got.find("\n40\n"), got.find("\n41\n"));
  EXPECT_LT(got.find("\n50\n"), got.find("\n51\n"));
  EXPECT_LT(got.find("\n60\n"), got.find("\n61\n"));
  EXPECT_EQ(watcher.stats().rotations.load(), 3u);
  EXPECT_GE(watcher.stats().queue_full_waits.load(), 1u) << "the rotations came while it waited";
}

// A generation older than the one being read (rotated before our time) is not read.
TEST_F(WatcherRotationTest, OlderGenerationsThanTheOneBeingReadAreNotRead) {
  const std::string log = Path("app.log");
  Append(log + ".1", "old\n");  // before our time
  SetAge(log + ".1", 100);
  Append(log, Lines(1, 40));
  SetAge(log, 40);
  SourceWatcher watcher(0, SourceConfig{"s", {log}}, options_, &queue_, nullptr);
  watcher.Start();
  WaitUntilTheReaderWaits(watcher, log);
  ASSERT_FALSE(HasFatalFailure());
  RotateNumbered(log, 1);
  Append(log, Lines(41, 50));
  SetAge(log, 30);
  RotateNumbered(log, 2);
  Append(log, Lines(51, 60));
  std::string got = Collect(watcher, Lines(1, 60).size());
  ExpectEachOnce(got, 1, 60);
}

}  // namespace
}  // namespace rrca::tailers
