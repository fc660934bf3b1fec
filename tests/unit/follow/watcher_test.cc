#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/bounded_queue.h"
#include "tailers/follow/positions_file.h"
#include "tailers/follow/source_watcher.h"
#include "tailers/follow/tail_types.h"
#include "tests/unit/follow/test_files.h"

// SourceWatcher end to end on real files. Most tests drive PollOnce() with a stepped clock (no
// thread, no sleeps); the threaded ones wait on conditions with deadlines.
namespace rrca::tailers {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

using test_files::Append;
using test_files::ExpectEachOnce;
using test_files::Lines;
using test_files::WaitFor;

class WatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rrca_watcher_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    options_.poll_interval = milliseconds(10);
    options_.follower.grace = milliseconds(500);
    options_.start_at = StartAt::kBeginning;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<SourceWatcher> Make(std::vector<std::string> patterns,
                                      PositionsFile* positions = nullptr) {
    return std::make_unique<SourceWatcher>(1, SourceConfig{"registry", std::move(patterns)},
                                           options_, &queue_, positions);
  }
  void Poll(SourceWatcher& watcher) {
    while (watcher.PollOnce(now_)) {
    }
  }
  // Lets retired files go quiet for the grace period, so they are closed.
  void PollAfterGrace(SourceWatcher& watcher) {
    now_ += options_.follower.grace + milliseconds(1);
    Poll(watcher);
  }
  // Pops every queued chunk (marking it processed) and returns the text of all chunks so far.
  std::string Drain(PositionsFile* positions = nullptr) {
    while (auto chunk = queue_.Pop(milliseconds(0))) {
      if (positions != nullptr) positions->MarkProcessed(*chunk);
      text_ += chunk->bytes;
      chunks_.push_back(std::move(*chunk));
    }
    return text_;
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
  WatcherOptions options_;
  BoundedQueue<Chunk> queue_{100000};
  std::vector<Chunk> chunks_;
  std::string text_;
  TailClock::time_point now_ = TailClock::time_point() + std::chrono::hours(1);
};

TEST_F(WatcherTest, StartAtEndSkipsWhatWasThereButNotFilesThatAppearLater) {
  options_.start_at = StartAt::kEnd;
  Append(Path("a.log"), "old\nhalf");
  auto watcher = Make({Path("*.log")});
  Poll(*watcher);
  Append(Path("a.log"), " line\nnew\n");
  Append(Path("b.log"), "born later\n");
  Poll(*watcher);
  EXPECT_EQ(Drain(), "half line\nnew\nborn later\n");
  EXPECT_EQ(watcher->stats().files_open.load(), 2);
  EXPECT_TRUE(watcher->stats().up.load());
}

TEST_F(WatcherTest, GlobWithBracesPicksUpANewFile) {
  auto watcher = Make({Path("{app,db}.log")});
  Poll(*watcher);
  EXPECT_FALSE(watcher->stats().up.load());
  Append(Path("db.log"), "hello\n");
  Append(Path("other.log"), "not matched\n");
  Poll(*watcher);
  EXPECT_EQ(Drain(), "hello\n");
  EXPECT_EQ(chunks_[0].path, Path("db.log"));
  EXPECT_EQ(chunks_[0].source_index, 1u);
  EXPECT_TRUE(watcher->stats().up.load());
}

TEST_F(WatcherTest, RenameRotationLosesAndDuplicatesNothing) {
  Append(Path("app.log"), Lines(1, 3));
  auto watcher = Make({Path("app.log")});
  Poll(*watcher);
  fs::rename(Path("app.log"), Path("app.log.1"));
  Append(Path("app.log.1"), Lines(4, 5));  // the writer has not reopened yet
  Append(Path("app.log"), Lines(6, 7));
  Poll(*watcher);
  Append(Path("app.log.1"), "8\n");  // still not
  Poll(*watcher);
  PollAfterGrace(*watcher);
  Append(Path("app.log"), "9\n");
  Poll(*watcher);
  ExpectEachOnce(Drain(), 1, 9);
  EXPECT_EQ(watcher->stats().rotations.load(), 1u);
  EXPECT_EQ(watcher->stats().files_open.load(), 1);
  EXPECT_TRUE(std::any_of(chunks_.begin(), chunks_.end(), [](const Chunk& c) {
    return c.end_of_file;  // the rotated file was closed with an end marker
  }));
}

TEST_F(WatcherTest, RotatedNamesMatchedByTheGlobAreNotReadTwice) {
  Append(Path("app.log"), Lines(1, 3));
  auto watcher = Make({Path("app.log*")});
  Poll(*watcher);
  fs::rename(Path("app.log"), Path("app.log.1"));
  Append(Path("app.log"), Lines(4, 5));
  Poll(*watcher);
  PollAfterGrace(*watcher);  // the old inode is closed, then found again as app.log.1
  Poll(*watcher);
  Append(Path("app.log.1"), "6\n");
  Poll(*watcher);
  ExpectEachOnce(Drain(), 1, 6);
}

TEST_F(WatcherTest, CopytruncateLosesNothingWrittenBeforeTheCopy) {
  Append(Path("app.log"), Lines(1, 3));
  auto watcher = Make({Path("app.log")});
  Poll(*watcher);
  Append(Path("app.log"), Lines(4, 6));
  fs::copy_file(Path("app.log"), Path("app.log.1"));
  ASSERT_EQ(::truncate(Path("app.log").c_str(), 0), 0);
  Append(Path("app.log"), Lines(7, 8));
  Poll(*watcher);
  EXPECT_EQ(Drain(), Lines(1, 8));
  EXPECT_EQ(watcher->stats().truncations.load(), 1u);
  EXPECT_EQ(watcher->stats().copies_recovered.load(), 1u);
}

TEST_F(WatcherTest, TruncatedToZeroAndGrownAgain) {
  Append(Path("app.log"), Lines(1, 3));
  auto watcher = Make({Path("app.log")});
  Poll(*watcher);
  ASSERT_EQ(::truncate(Path("app.log").c_str(), 0), 0);
  Poll(*watcher);
  EXPECT_EQ(watcher->stats().truncations.load(), 1u);
  Append(Path("app.log"), Lines(10, 11));
  Poll(*watcher);
  EXPECT_EQ(Drain(), Lines(1, 3) + Lines(10, 11));
  EXPECT_EQ(watcher->stats().lag_bytes.load(), 0);
}

TEST_F(WatcherTest, DeletedThenRecreated) {
  Append(Path("app.log"), Lines(1, 2));
  auto watcher = Make({Path("app.log")});
  Poll(*watcher);
  fs::remove(Path("app.log"));
  Poll(*watcher);
  EXPECT_EQ(watcher->stats().deletions.load(), 1u);
  PollAfterGrace(*watcher);
  EXPECT_EQ(watcher->stats().files_open.load(), 0);
  EXPECT_FALSE(watcher->stats().up.load());
  Append(Path("app.log"), Lines(3, 4));
  Poll(*watcher);
  EXPECT_EQ(Drain(), Lines(1, 4));
  EXPECT_TRUE(watcher->stats().up.load());
}

// As root, permissions are not checked: become nobody while the watcher opens files.
class ScopedNobody {
 public:
  ScopedNobody() : switched_(::geteuid() == 0 && ::seteuid(65534) == 0) {}
  ~ScopedNobody() {
    if (switched_) {
      EXPECT_EQ(::seteuid(0), 0);
    }
  }

 private:
  bool switched_;
};

TEST_F(WatcherTest, PermissionDeniedIsCountedOnceAndRetriedUntilFixed) {
  Append(Path("app.log"), Lines(1, 2));
  fs::permissions(Path("app.log"), fs::perms::none);
  auto watcher = Make({Path("app.log")});
  {
    ScopedNobody nobody;
    Poll(*watcher);
    now_ += milliseconds(10);
    Poll(*watcher);
  }
  EXPECT_EQ(watcher->stats().permission_denied.load(), 1u);
  EXPECT_FALSE(watcher->stats().up.load());
  EXPECT_EQ(Drain(), "");
  fs::permissions(Path("app.log"), fs::perms::owner_read | fs::perms::owner_write |
                                       fs::perms::group_read | fs::perms::others_read);
  {
    ScopedNobody nobody;
    Poll(*watcher);
  }
  EXPECT_EQ(Drain(), Lines(1, 2));
  EXPECT_TRUE(watcher->stats().up.load());
  EXPECT_EQ(watcher->stats().permission_denied.load(), 1u);
}

// The Kubernetes layout: /var/log/containers/<pod>_<ns>_<c>-<id>.log -> /var/log/pods/.../0.log,
// rotated by the kubelet by renaming 0.log to 0.log.<timestamp> (later gzipped).
TEST_F(WatcherTest, KubernetesSymlinkRotatedByRename) {
  const fs::path pod = dir_ / "pods" / "ns_pod_uid" / "registry";
  fs::create_directories(pod);
  fs::create_directories(dir_ / "containers");
  Append(pod / "0.log", Lines(1, 2));
  const fs::path link = dir_ / "containers" / "pod_ns_registry-abc.log";
  fs::create_symlink("../pods/ns_pod_uid/registry/0.log", link);
  auto watcher = Make({(dir_ / "containers" / "*.log").string()});
  Poll(*watcher);
  fs::rename(pod / "0.log", pod / "0.log.20240101-000000");
  Append(pod / "0.log.20240101-000000", "3\n");
  Append(pod / "0.log", Lines(4, 5));
  Poll(*watcher);
  PollAfterGrace(*watcher);
  fs::copy_file(pod / "0.log.20240101-000000", pod / "0.log.20240101-000000.gz");
  fs::remove(pod / "0.log.20240101-000000");
  Append(pod / "0.log", "6\n");
  Poll(*watcher);
  EXPECT_EQ(Drain(), Lines(1, 6));
  EXPECT_EQ(watcher->stats().rotations.load(), 1u);
  EXPECT_EQ(chunks_.back().path, link.string());
}

TEST_F(WatcherTest, CompressedAndNonRegularFilesAreIgnored) {
  Append(Path("app.log"), "live\n");
  Append(Path("app.log.1.gz"), "compressed\n");
  fs::create_directory(Path("app.log.d"));
  fs::create_symlink(Path("app.log.1.gz"), Path("app.log.link"));
  auto watcher = Make({Path("app.log*")});
  Poll(*watcher);
  EXPECT_EQ(Drain(), "live\n");
  EXPECT_EQ(watcher->stats().files_open.load(), 1);
}

TEST_F(WatcherTest, StdinIsReadUntilItsEnd) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const int saved_stdin = ::dup(STDIN_FILENO);
  ASSERT_EQ(::dup2(pipe_fds[0], STDIN_FILENO), STDIN_FILENO);
  ::close(pipe_fds[0]);
  auto watcher = Make({"-"});
  Poll(*watcher);
  EXPECT_TRUE(watcher->stats().up.load());
  ASSERT_EQ(::write(pipe_fds[1], "a\nb", 3), 3);
  Poll(*watcher);
  ::close(pipe_fds[1]);
  Poll(*watcher);
  ASSERT_EQ(::dup2(saved_stdin, STDIN_FILENO), STDIN_FILENO);
  ::close(saved_stdin);
  EXPECT_EQ(Drain(), "a\nb\n");
  EXPECT_TRUE(chunks_.back().from_pipe);
  EXPECT_FALSE(watcher->stats().up.load());
}

TEST_F(WatcherTest, RestartResumesWhereProcessingStopped) {
  const std::string positions_path = Path("state/positions.json");
  options_.start_at = StartAt::kEnd;
  Append(Path("app.log"), "before start\n");
  {
    PositionsFile positions(positions_path);
    EXPECT_TRUE(positions.Load().ok());
    auto watcher = Make({Path("app.log")}, &positions);
    Poll(*watcher);
    EXPECT_TRUE(positions.Save().ok());  // start at end is saved even with nothing processed
    Append(Path("app.log"), Lines(1, 2));
    Poll(*watcher);
    Drain(&positions);
    ASSERT_TRUE(positions.Save().ok());
    Append(Path("app.log"), Lines(3, 4));
    Poll(*watcher);  // read, handed over, never processed: a crash now
  }
  EXPECT_EQ(Drain(), Lines(1, 4));
  text_.clear();
  PositionsFile positions(positions_path);
  ASSERT_TRUE(positions.Load().ok());
  auto watcher = Make({Path("app.log")}, &positions);
  Poll(*watcher);
  EXPECT_EQ(Drain(&positions), Lines(3, 4));
}

TEST_F(WatcherTest, RewrittenFileIsReadFromTheStartAfterRestart) {
  const std::string positions_path = Path("positions.json");
  Append(Path("app.log"), Lines(1, 3));
  {
    PositionsFile positions(positions_path);
    auto watcher = Make({Path("app.log")}, &positions);
    Poll(*watcher);
    Drain(&positions);
    ASSERT_TRUE(positions.Save().ok());
  }
  text_.clear();
  ASSERT_EQ(::truncate(Path("app.log").c_str(), 0), 0);  // same inode, other content
  Append(Path("app.log"), Lines(100, 110));
  PositionsFile positions(positions_path);
  ASSERT_TRUE(positions.Load().ok());
  auto watcher = Make({Path("app.log")}, &positions);
  Poll(*watcher);
  EXPECT_EQ(Drain(), Lines(100, 110));
}

TEST_F(WatcherTest, FileRenamedWhileDownIsReadToItsEnd) {
  const std::string positions_path = Path("positions.json");
  options_.start_at = StartAt::kEnd;  // the new file at a known path still starts at 0
  Append(Path("app.log"), "0\n");
  {
    PositionsFile positions(positions_path);
    auto watcher = Make({Path("app.log")}, &positions);
    Poll(*watcher);
    Append(Path("app.log"), Lines(1, 2));
    Poll(*watcher);
    Drain(&positions);
    ASSERT_TRUE(positions.Save().ok());
  }
  ASSERT_EQ(text_, Lines(1, 2));
  text_.clear();
  Append(Path("app.log"), Lines(3, 4));  // written while we were down, then rotated
  fs::rename(Path("app.log"), Path("app.log.1"));
  Append(Path("app.log"), Lines(5, 6));
  PositionsFile positions(positions_path);
  ASSERT_TRUE(positions.Load().ok());
  auto watcher = Make({Path("app.log")}, &positions);
  Poll(*watcher);
  PollAfterGrace(*watcher);
  ExpectEachOnce(Drain(&positions), 3, 6);
  // The drained file's entry is closed once its end was processed; the live one is open.
  const auto entries = positions.TakeSnapshot().entries;
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(std::count_if(entries.begin(), entries.end(),
                          [](const auto& e) { return e.second.closed_at_unix_ns != 0; }),
            1);
}

TEST_F(WatcherTest, FileCopytruncatedWhileDownIsReadFromItsCopy) {
  const std::string positions_path = Path("positions.json");
  Append(Path("app.log"), Lines(1, 2));
  {
    PositionsFile positions(positions_path);
    auto watcher = Make({Path("app.log")}, &positions);
    Poll(*watcher);
    Drain(&positions);
    ASSERT_TRUE(positions.Save().ok());
  }
  text_.clear();
  Append(Path("app.log"), Lines(3, 4));  // written while we were down, then copytruncated
  fs::copy_file(Path("app.log"), Path("app.log.1"));
  ASSERT_EQ(::truncate(Path("app.log").c_str(), 0), 0);
  Append(Path("app.log"), Lines(5, 6));
  PositionsFile positions(positions_path);
  ASSERT_TRUE(positions.Load().ok());
  auto watcher = Make({Path("app.log")}, &positions);
  Poll(*watcher);
  PollAfterGrace(*watcher);
  ExpectEachOnce(Drain(&positions), 3, 6);
}

// While we were down: the followed file was renamed, a new one was written and renamed too (it
// never had a position), then a third one appeared. All three are read, each line once.
TEST_F(WatcherTest, FileBornAndRotatedWhileDownIsRead) {
  const std::string positions_path = Path("positions.json");
  options_.start_at = StartAt::kEnd;
  Append(Path("app.log"), "0\n");
  {
    PositionsFile positions(positions_path);
    auto watcher = Make({Path("app.log")}, &positions);
    Poll(*watcher);
    Append(Path("app.log"), Lines(1, 2));
    Poll(*watcher);
    Drain(&positions);
    ASSERT_TRUE(positions.Save().ok());
  }
  text_.clear();
  Append(Path("app.log"), "3\n");
  fs::rename(Path("app.log"), Path("app.log.2"));
  Append(Path("app.log"), Lines(4, 5));
  fs::rename(Path("app.log"), Path("app.log.1"));
  Append(Path("app.log"), "6\n");
  PositionsFile positions(positions_path);
  ASSERT_TRUE(positions.Load().ok());
  auto watcher = Make({Path("app.log")}, &positions);
  Poll(*watcher);
  PollAfterGrace(*watcher);
  ExpectEachOnce(Drain(&positions), 3, 6);
}

// Sets a file's mtime `seconds` before now: the generation order of rotated files is by mtime.
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

// While we were down, logrotate-style: the followed file went to app.log.2, a newer one was born
// and went to app.log.1, a third is at app.log; app.log.3 is from before our time. We read
// the rest of the followed file, then the one born while down, then the live one, in that
// order; the older file not at all.
TEST_F(WatcherTest, GenerationsRotatedWhileDownAreReadOldestFirstAndOlderOnesNot) {
  const std::string positions_path = Path("positions.json");
  Append(Path("app.log.1"), "old\n");
  SetAge(Path("app.log.1"), 100);
  Append(Path("app.log"), Lines(1, 2));
  {
    PositionsFile positions(positions_path);
    auto watcher = Make({Path("app.log")}, &positions);
    Poll(*watcher);
    ExpectEachOnce(Drain(&positions), 1, 2);
    ASSERT_TRUE(positions.Save().ok());
  }
  text_.clear();
  Append(Path("app.log"), "3\n");
  RotateNumbered(Path("app.log"), 1);
  Append(Path("app.log"), Lines(4, 5));
  RotateNumbered(Path("app.log"), 2);
  Append(Path("app.log"), "6\n");
  SetAge(Path("app.log.2"), 30);
  SetAge(Path("app.log.1"), 20);
  PositionsFile positions(positions_path);
  ASSERT_TRUE(positions.Load().ok());
  auto watcher = Make({Path("app.log")}, &positions);
  Poll(*watcher);
  PollAfterGrace(*watcher);
  EXPECT_EQ(Drain(&positions), Lines(3, 6));
}

// A run that saved positions before its first cycle (a scrape right after start) and was
// killed: the saved snapshot is newer than the files born and rotated away while the daemon
// was down before it. They are still read, once: newer than the file we were reading is what
// counts, not newer than the snapshot.
TEST_F(WatcherTest, FilesBornWhileDownAreReadAfterARestartThatSavedBeforeReadingThem) {
  const std::string positions_path = Path("positions.json");
  Append(Path("app.log"), Lines(1, 2));
  {
    PositionsFile positions(positions_path);
    auto watcher = Make({Path("app.log")}, &positions);
    Poll(*watcher);
    ExpectEachOnce(Drain(&positions), 1, 2);
    ASSERT_TRUE(positions.Save().ok());
  }
  text_.clear();
  Append(Path("app.log"), "3\n");
  RotateNumbered(Path("app.log"), 0);
  Append(Path("app.log"), Lines(4, 5));
  RotateNumbered(Path("app.log"), 1);
  Append(Path("app.log"), "6\n");
  SetAge(Path("app.log.2"), 30);
  SetAge(Path("app.log.1"), 20);
  SetAge(Path("app.log"), 10);
  {
    PositionsFile positions(positions_path);  // the run killed after saving, before reading
    ASSERT_TRUE(positions.Load().ok());
    ASSERT_TRUE(positions.Save().ok());
  }
  PositionsFile positions(positions_path);
  ASSERT_TRUE(positions.Load().ok());
  auto watcher = Make({Path("app.log")}, &positions);
  Poll(*watcher);
  PollAfterGrace(*watcher);
  EXPECT_EQ(Drain(&positions), Lines(3, 6));
  // And a further restart reads nothing again: every file is known now.
  text_.clear();
  ASSERT_TRUE(positions.Save().ok());
  watcher.reset();
  PositionsFile again(positions_path);
  ASSERT_TRUE(again.Load().ok());
  auto second = Make({Path("app.log")}, &again);
  Poll(*second);
  PollAfterGrace(*second);
  EXPECT_EQ(Drain(&again), "");
}

// Restarted between a rotation's rename and its create: nothing is at the path, and the
// generations rotated while we were down are still found beside it and read, oldest first.
TEST_F(WatcherTest, GenerationsAreFoundWhenNothingIsAtThePathAtRestart) {
  const std::string positions_path = Path("positions.json");
  Append(Path("app.log"), Lines(1, 2));
  {
    PositionsFile positions(positions_path);
    auto watcher = Make({Path("app.log")}, &positions);
    Poll(*watcher);
    ExpectEachOnce(Drain(&positions), 1, 2);
    ASSERT_TRUE(positions.Save().ok());
  }
  text_.clear();
  Append(Path("app.log"), "3\n");
  RotateNumbered(Path("app.log"), 0);
  Append(Path("app.log"), Lines(4, 5));
  RotateNumbered(Path("app.log"), 1);
  SetAge(Path("app.log.2"), 30);
  SetAge(Path("app.log.1"), 20);
  PositionsFile positions(positions_path);
  ASSERT_TRUE(positions.Load().ok());
  auto watcher = Make({Path("app.log")}, &positions);
  Poll(*watcher);
  EXPECT_EQ(Drain(&positions), Lines(3, 5));
  Append(Path("app.log"), "6\n");  // created at last
  Poll(*watcher);
  PollAfterGrace(*watcher);
  EXPECT_EQ(Drain(&positions), Lines(3, 6));
}

// Files read to their end before the last save (a drained rotated file, copies read after a
// copytruncate) are recent but done: after a restart they are not read again.
TEST_F(WatcherTest, FilesFinishedBeforeTheLastSaveAreNotReadAgain) {
  const std::string positions_path = Path("positions.json");
  Append(Path("app.log"), Lines(1, 2));
  {
    PositionsFile positions(positions_path);
    auto watcher = Make({Path("app.log")}, &positions);
    Poll(*watcher);
    Append(Path("app.log"), "3\n");
    fs::copy_file(Path("app.log"), Path("app.log.2"));  // copytruncate
    ASSERT_EQ(::truncate(Path("app.log").c_str(), 0), 0);
    Append(Path("app.log"), "4\n");
    Poll(*watcher);
    fs::rename(Path("app.log"), Path("app.log.1"));  // then a rename rotation
    Append(Path("app.log"), "5\n");
    Poll(*watcher);
    PollAfterGrace(*watcher);
    ExpectEachOnce(Drain(&positions), 1, 5);
    ASSERT_TRUE(positions.Save().ok());
  }
  text_.clear();
  PositionsFile positions(positions_path);
  ASSERT_TRUE(positions.Load().ok());
  auto watcher = Make({Path("app.log")}, &positions);
  Poll(*watcher);
  PollAfterGrace(*watcher);
  EXPECT_EQ(Drain(&positions), "");
}

TEST_F(WatcherTest, ForgetsSavedFilesThatAreGone) {
  const std::string positions_path = Path("positions.json");
  Append(Path("app.log"), Lines(1, 2));
  {
    PositionsFile positions(positions_path);
    auto watcher = Make({Path("app.log")}, &positions);
    Poll(*watcher);
    Drain(&positions);
    ASSERT_TRUE(positions.Save().ok());
  }
  fs::remove(Path("app.log"));
  PositionsFile positions(positions_path);
  ASSERT_TRUE(positions.Load().ok());
  auto watcher = Make({Path("app.log")}, &positions);
  Poll(*watcher);
  EXPECT_TRUE(positions.TakeSnapshot().entries.empty());
}

TEST_F(WatcherTest, BackpressureSlowsTheReaderAndLosesNothing) {
  BoundedQueue<Chunk> small(2);
  options_.follower.read_bytes = 64;
  auto watcher = std::make_unique<SourceWatcher>(0, SourceConfig{"s", {Path("app.log")}}, options_,
                                                 &small, nullptr);
  const std::string text = Lines(1, 5000);
  Append(Path("app.log"), text);
  watcher->Start();
  std::string got;
  ASSERT_TRUE(WaitFor([&] {
    if (auto chunk = small.Pop(milliseconds(5))) got += chunk->bytes;
    return got.size() >= text.size();
  }));
  watcher->Stop();
  EXPECT_EQ(got, text);
  EXPECT_GT(watcher->stats().queue_full_waits.load(), 0u);
  EXPECT_EQ(watcher->stats().lines_read.load(), 5000u);
}

// True when this process holds a descriptor on the file with this inode.
bool HoldsOpen(ino_t inode) {
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) == 0 && st.st_ino == inode) return true;
  }
  return false;
}

ino_t InodeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// The reader waits for room in the queue while the file is rotated twice: the generation in the
// middle was at the path only while nobody read; it must still be read, whole and once.
TEST_F(WatcherTest, FilesRotatedAwayWhileTheQueueIsFullAreStillRead) {
  BoundedQueue<Chunk> small(1);
  options_.follower.read_bytes = 64;
  auto watcher = std::make_unique<SourceWatcher>(0, SourceConfig{"s", {Path("app.log")}}, options_,
                                                 &small, nullptr);
  Append(Path("app.log"), Lines(1, 50));
  watcher->Start();
  ASSERT_TRUE(WaitFor([&] { return small.size() == 1; }));  // full: the reader waits
  fs::rename(Path("app.log"), Path("app.log.1"));
  Append(Path("app.log"), Lines(51, 60));
  ASSERT_TRUE(WaitFor([&] { return HoldsOpen(InodeOf(Path("app.log"))); }));
  fs::rename(Path("app.log.1"), Path("app.log.2"));
  fs::rename(Path("app.log"), Path("app.log.1"));
  Append(Path("app.log"), Lines(61, 70));
  Append(Path("app.log.1"), "71\n");  // its writer had not reopened yet
  ASSERT_TRUE(WaitFor([&] { return HoldsOpen(InodeOf(Path("app.log"))); }));
  std::string got;
  ASSERT_TRUE(WaitFor([&] {
    if (auto chunk = small.Pop(milliseconds(5))) got += chunk->bytes;
    return got.size() >= Lines(1, 71).size();
  }));
  watcher->Stop();
  while (auto chunk = small.Pop(milliseconds(0))) got += chunk->bytes;
  ExpectEachOnce(got, 1, 71);
  EXPECT_EQ(watcher->stats().rotations.load(), 2u);
}

// At a restart the older generations are read before the file at the path; while that waits
// for room in the queue, the path is rotated twice. The file born and rotated away meanwhile is
// held open and read too.
TEST_F(WatcherTest, FilesRotatedAwayWhileARestartReadsOlderOnesAreStillRead) {
  const std::string positions_path = Path("positions.json");
  Append(Path("app.log"), Lines(1, 2));
  {
    PositionsFile positions(positions_path);
    auto watcher = Make({Path("app.log")}, &positions);
    Poll(*watcher);
    ExpectEachOnce(Drain(&positions), 1, 2);
    ASSERT_TRUE(positions.Save().ok());
  }
  Append(Path("app.log"), Lines(3, 50));  // written while we were down, then rotated
  RotateNumbered(Path("app.log"), 0);
  Append(Path("app.log"), Lines(51, 60));
  PositionsFile positions(positions_path);
  ASSERT_TRUE(positions.Load().ok());
  BoundedQueue<Chunk> small(1);
  options_.follower.read_bytes = 64;
  auto watcher = std::make_unique<SourceWatcher>(1, SourceConfig{"registry", {Path("app.log")}},
                                                 options_, &small, &positions);
  watcher->Start();
  ASSERT_TRUE(WaitFor([&] { return small.size() == 1; }));  // reading app.log.1, waiting
  RotateNumbered(Path("app.log"), 1);
  Append(Path("app.log"), Lines(61, 70));
  ASSERT_TRUE(WaitFor([&] { return HoldsOpen(InodeOf(Path("app.log"))); }));
  RotateNumbered(Path("app.log"), 2);
  Append(Path("app.log"), Lines(71, 80));
  std::string got;
  ASSERT_TRUE(WaitFor([&] {
    if (auto chunk = small.Pop(milliseconds(5))) got += chunk->bytes;
    return got.size() >= Lines(3, 80).size();
  }));
  watcher->Stop();
  while (auto chunk = small.Pop(milliseconds(0))) got += chunk->bytes;
  ExpectEachOnce(got, 3, 80);
}

TEST_F(WatcherTest, StopHandsOverThePartialLineAfterTheGracePeriod) {
  options_.follower.grace = milliseconds(50);
  Append(Path("app.log"), "complete\npartial");
  auto watcher = Make({Path("app.log")});
  watcher->Start();
  ASSERT_TRUE(WaitFor([&] { return watcher->stats().bytes_read.load() == 16; }));
  watcher->Stop();
  EXPECT_EQ(Drain(), "complete\npartial\n");
  EXPECT_TRUE(chunks_.back().flushed_partial);
  EXPECT_EQ(watcher->stats().partial_lines_flushed.load(), 1u);
}

TEST_F(WatcherTest, ThreadedWatcherFollowsAppendsAndRotation) {
  auto watcher = Make({Path("app.log")});
  Append(Path("app.log"), Lines(1, 100));
  watcher->Start();
  ASSERT_TRUE(WaitFor([&] { return Drain().size() == Lines(1, 100).size(); }));
  fs::rename(Path("app.log"), Path("app.log.1"));
  Append(Path("app.log"), Lines(101, 200));
  ASSERT_TRUE(WaitFor([&] { return Drain().size() == Lines(1, 200).size(); }));
  ASSERT_TRUE(WaitFor([&] { return watcher->stats().files_open.load() == 1; }));
  watcher->Stop();
  EXPECT_EQ(watcher->stats().rotations.load(), 1u);
}

}  // namespace
}  // namespace rrca::tailers
