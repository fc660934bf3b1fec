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

#include "tailers/follow/file_follower.h"
#include "tailers/follow/tail_types.h"

// FileFollower on its own: one inode, driven by explicit Poll() calls and a stepped clock, so
// every test is deterministic and needs no sleeps.
namespace rrca::tailers {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

class FollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rrca_follower_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "app.log").string();
    options_.grace = milliseconds(500);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void Append(const std::string& path, const std::string& text) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
  }
  // logrotate's copytruncate: the numbered copies move up (.1 -> .2 ...), the live file is
  // copied to .1 (stamped a second after the previous copy: timestamps are kernel clock ticks,
  // too coarse to order copies made within a test; or, with one_tick_, stamped the same as the
  // previous copy, the worst case on a fast machine) and truncated; then `next` is written.
  void CopyTruncate(const std::string& next) {
    int highest = 0;
    while (fs::exists(path_ + "." + std::to_string(highest + 1))) ++highest;
    for (int n = highest; n >= 1; --n) {
      fs::rename(path_ + "." + std::to_string(n), path_ + "." + std::to_string(n + 1));
    }
    fs::copy_file(path_, path_ + ".1");
    if (highest > 0) {
      fs::last_write_time(path_ + ".1", fs::last_write_time(path_ + ".2") +
                                            std::chrono::seconds(one_tick_ ? 0 : 1));
    }
    ASSERT_EQ(::truncate(path_.c_str(), 0), 0);
    Append(path_, next);
  }
  static std::string Content(const std::string& path) {
    std::string text;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    char buffer[65536];
    for (ssize_t n; fd >= 0 && (n = ::read(fd, buffer, sizeof(buffer))) > 0;)
      text.append(buffer, n);
    if (fd >= 0) ::close(fd);
    return text;
  }
  static PathState StateOf(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return PathState{};
    return PathState{true, FileKey{st.st_dev, st.st_ino}};
  }

  // Opens path_ at `offset` with chunks collected in chunks_.
  std::unique_ptr<FileFollower> Open(uint64_t offset = 0) {
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    struct stat st {};
    EXPECT_EQ(::fstat(fd, &st), 0);
    return FileFollower::ForFile(FileOrigin{3, "registry", path_}, fd, st, offset, options_,
                                 &stats_, [this](Chunk&& chunk) { chunks_.push_back(chunk); });
  }
  bool Poll(FileFollower& follower) {
    const PathState state = StateOf(path_);
    return follower.Poll(now_, &state);
  }
  // Polls until nothing more is to be read now (a truncation ends a poll early).
  void PollAll(FileFollower& follower) {
    while (Poll(follower)) {
    }
  }
  std::string Text() const {
    std::string text;
    for (const Chunk& chunk : chunks_) text += chunk.bytes;
    return text;
  }

  // Gives every file in dir_ but the live one the same mtime: copies made within one kernel
  // clock tick, ordered only by their rotation suffixes.
  void StampCopiesWithinOneTick() {
    const fs::file_time_type tick = fs::last_write_time(path_);
    for (const fs::directory_entry& entry : fs::directory_iterator(dir_)) {
      if (entry.path() != path_) fs::last_write_time(entry.path(), tick);
    }
  }

  void CopytruncateTwiceBeforeAPollReadsEveryGeneration(bool one_tick) {
    Append(path_, "1\n2\n");
    auto follower = Open();
    Poll(*follower);
    Append(path_, "3\n");
    fs::copy_file(path_, path_ + ".1");
    ASSERT_EQ(::truncate(path_.c_str(), 0), 0);
    Append(path_, "4\n5\n");
    fs::rename(path_ + ".1", path_ + ".2");
    fs::copy_file(path_, path_ + ".1");
    ASSERT_EQ(::truncate(path_.c_str(), 0), 0);
    Append(path_, "6\n7\n");
    fs::copy_file(path_, path_ + ".0");  // a copy of the live generation being made right now
    if (one_tick) StampCopiesWithinOneTick();
    PollAll(*follower);
    EXPECT_EQ(Text(), "1\n2\n3\n4\n5\n6\n7\n");
    EXPECT_EQ(stats_.copies_recovered.load(), 2u);
    EXPECT_EQ(follower->TakeFinished().size(), 2u);
  }

  fs::path dir_;
  bool one_tick_ = false;
  std::string path_;
  FollowerOptions options_;
  SourceStats stats_;
  std::vector<Chunk> chunks_;
  TailClock::time_point now_ = TailClock::time_point() + std::chrono::hours(1);
};

TEST_F(FollowerTest, HandsOverCompleteLinesAndHoldsThePartialOne) {
  Append(path_, "one\ntwo\nthr");
  auto follower = Open();
  EXPECT_FALSE(Poll(*follower));
  ASSERT_EQ(chunks_.size(), 1u);
  EXPECT_EQ(chunks_[0].bytes, "one\ntwo\n");
  EXPECT_EQ(chunks_[0].start_offset, 0u);
  EXPECT_EQ(chunks_[0].end_offset, 8u);
  EXPECT_EQ(chunks_[0].lines, 2u);
  EXPECT_EQ(chunks_[0].source_index, 3u);
  EXPECT_EQ(chunks_[0].source_name, "registry");
  EXPECT_EQ(chunks_[0].path, path_);
  EXPECT_EQ(chunks_[0].file, StateOf(path_).key);
  EXPECT_EQ(chunks_[0].fingerprint, Fingerprint("one\ntwo\n"));
  EXPECT_EQ(chunks_[0].fingerprint_len, 8u);
  EXPECT_TRUE(follower->has_partial());

  Poll(*follower);  // nothing new: the partial line stays held
  EXPECT_EQ(chunks_.size(), 1u);
  Append(path_, "ee\nfour\n");
  Poll(*follower);
  ASSERT_EQ(chunks_.size(), 2u);
  EXPECT_EQ(chunks_[1].bytes, "three\nfour\n");
  EXPECT_EQ(chunks_[1].start_offset, 8u);
  EXPECT_EQ(chunks_[1].end_offset, 19u);
  EXPECT_FALSE(follower->has_partial());
  EXPECT_EQ(stats_.lines_read.load(), 4u);
  EXPECT_EQ(stats_.bytes_read.load(), 19u);
  EXPECT_EQ(follower->lag_bytes(), 0);
}

TEST_F(FollowerTest, FingerprintCoversTheLastKibibyteBeforeTheOffset) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "line " + std::to_string(i) + "\n";
  Append(path_, text);
  auto follower = Open(/*offset=*/100);  // resuming in the middle of the file
  Poll(*follower);
  ASSERT_FALSE(chunks_.empty());
  const Chunk& last = chunks_.back();
  EXPECT_EQ(last.end_offset, text.size());
  EXPECT_EQ(last.fingerprint_len, kFingerprintBytes);
  EXPECT_EQ(last.fingerprint, Fingerprint(text.substr(text.size() - kFingerprintBytes)));
  EXPECT_EQ(Text(), text.substr(100));
}

TEST_F(FollowerTest, ReadsInPiecesOfReadBytes) {
  options_.read_bytes = 16;
  options_.max_bytes_per_poll = 32;
  std::string text;
  for (int i = 0; i < 20; ++i) text += "line-" + std::to_string(i) + "\n";
  Append(path_, text);
  auto follower = Open();
  int polls = 1;
  while (Poll(*follower)) ++polls;  // true: stopped at the per-poll budget
  EXPECT_GE(polls, static_cast<int>(text.size() / 32));
  EXPECT_EQ(Text(), text);
}

TEST_F(FollowerTest, SkipsA10MegabyteLineAndKeepsTheLinesAroundIt) {
  Append(path_, "before\n");
  auto follower = Open();
  const std::string megabyte(1 << 20, 'x');
  for (int i = 0; i < 10; ++i) {
    Append(path_, megabyte);  // written in pieces: the line spans many reads and polls
    Poll(*follower);
  }
  Append(path_, "\nafter\n");
  Poll(*follower);
  EXPECT_EQ(Text(), "before\nafter\n");
  EXPECT_EQ(stats_.lines_skipped[static_cast<size_t>(SkipReason::kLineTooLong)].load(), 1u);
  EXPECT_EQ(stats_.lines_read.load(), 2u);
  EXPECT_EQ(stats_.bytes_read.load(), 7u + 10u * (1 << 20) + 7u);
  EXPECT_EQ(chunks_.back().start_offset, 7u + 10u * (1 << 20) + 1u);
  EXPECT_EQ(chunks_.back().end_offset, 7u + 10u * (1 << 20) + 7u);
}

TEST_F(FollowerTest, LineLimitIsInclusive) {
  options_.max_line_bytes = 8;
  Append(path_, "12345678\n123456789\nok\n1234567890123456789012345\nend\n");
  auto follower = Open();
  Poll(*follower);
  EXPECT_EQ(Text(), "12345678\nok\nend\n");
  EXPECT_EQ(stats_.lines_skipped[static_cast<size_t>(SkipReason::kLineTooLong)].load(), 2u);
}

TEST_F(FollowerTest, TruncationFlushesThePartialLineAndReadsFromTheStart) {
  Append(path_, "old 1\nold 2\nhalf");
  auto follower = Open();
  Poll(*follower);
  ASSERT_EQ(::truncate(path_.c_str(), 0), 0);
  Poll(*follower);
  EXPECT_EQ(stats_.truncations.load(), 1u);
  ASSERT_EQ(chunks_.size(), 2u);
  EXPECT_TRUE(chunks_[1].flushed_partial);
  EXPECT_EQ(chunks_[1].bytes, "half\n");
  EXPECT_EQ(chunks_[1].end_offset, 16u);
  Append(path_, "new 1\n");
  Poll(*follower);
  EXPECT_EQ(Text(), "old 1\nold 2\nhalf\nnew 1\n");
  EXPECT_EQ(chunks_.back().start_offset, 0u);
  EXPECT_EQ(stats_.partial_lines_flushed.load(), 1u);
}

TEST_F(FollowerTest, TruncatedToZeroAndGrownPastTheOffsetIsNoticed) {
  Append(path_, "aaaa\nbbbb\n");
  auto follower = Open();
  Poll(*follower);
  ASSERT_EQ(::truncate(path_.c_str(), 0), 0);
  Append(path_, "cccc\ndddd\neeee\nffff\n");  // longer than our offset before we poll
  EXPECT_TRUE(Poll(*follower));               // the truncation ends the poll: more to read at once
  PollAll(*follower);
  EXPECT_EQ(stats_.truncations.load(), 1u);
  EXPECT_EQ(Text(), "aaaa\nbbbb\ncccc\ndddd\neeee\nffff\n");
}

TEST_F(FollowerTest, CopytruncateReadsWhatItHadNotReadFromTheCopy) {
  Append(path_, "1\n2\n3\n");
  auto follower = Open();
  Poll(*follower);
  Append(path_, "4\n5\n6");  // written, not yet read, when logrotate copies and truncates
  const std::string copy = path_ + ".1";
  fs::copy_file(path_, copy);
  ASSERT_EQ(::truncate(path_.c_str(), 0), 0);
  Append(path_, "7\n8\n");
  PollAll(*follower);
  EXPECT_EQ(Text(), "1\n2\n3\n4\n5\n6\n7\n8\n");
  EXPECT_EQ(stats_.copies_recovered.load(), 1u);
  EXPECT_EQ(stats_.truncations.load(), 1u);
  // The recovered lines carry the copy's identity; its last chunk ends it.
  ASSERT_EQ(chunks_.size(), 4u);
  EXPECT_EQ(chunks_[1].path, copy);
  EXPECT_EQ(chunks_[1].file, StateOf(copy).key);
  EXPECT_EQ(chunks_[1].start_offset, 6u);
  EXPECT_EQ(chunks_[1].bytes, "4\n5\n");
  EXPECT_EQ(chunks_[2].file, StateOf(copy).key);
  EXPECT_EQ(chunks_[2].bytes, "6\n");
  EXPECT_TRUE(chunks_[2].flushed_partial);  // the rest of "6" fell into the window
  EXPECT_TRUE(chunks_[2].end_of_file);
  auto finished = follower->TakeFinished();
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].key, StateOf(copy).key);
  EXPECT_EQ(finished[0].offset, 11u);
  EXPECT_EQ(chunks_.back().file, StateOf(path_).key);
}

// Rotated twice between two polls: the middle generation exists only in its copy.
TEST_F(FollowerTest, CopytruncateTwiceBeforeAPollReadsEveryGeneration) {
  CopytruncateTwiceBeforeAPollReadsEveryGeneration(/*one_tick=*/false);
}

// The same within one clock tick (CI's fresh machine did that by itself and the follower missed
// "4" and "5"): the copies share an mtime and only their suffixes say that .1 came after .2.
TEST_F(FollowerTest, CopytruncateTwiceWithinOneClockTickReadsEveryGeneration) {
  CopytruncateTwiceBeforeAPollReadsEveryGeneration(/*one_tick=*/true);
}

// A copy of the live file was being made when the copies were listed after a truncation; the
// live file was truncated again before its first byte was read: that generation is only in
// the copy, which must be read whole (and not be mistaken for the live file's content).
TEST_F(FollowerTest, GenerationTruncatedBeforeItsFirstReadIsReadFromItsCopy) {
  Append(path_, "1\n");
  auto follower = Open();
  Poll(*follower);
  Append(path_, "2\n");
  fs::copy_file(path_, path_ + ".2");
  ASSERT_EQ(::truncate(path_.c_str(), 0), 0);
  Append(path_, "3\n");
  fs::copy_file(path_, path_ + ".1");  // being copied when the truncation above is handled
  EXPECT_TRUE(Poll(*follower));        // reads the rest of .2, sees .1 being made, stops
  EXPECT_EQ(Text(), "1\n2\n");
  ASSERT_EQ(::truncate(path_.c_str(), 0), 0);  // .1 is done: "3" now only lives there
  Append(path_, "4\n");
  PollAll(*follower);
  EXPECT_EQ(Text(), "1\n2\n3\n4\n");
  EXPECT_EQ(stats_.truncations.load(), 2u);
  EXPECT_EQ(stats_.copies_recovered.load(), 2u);
}

// After a truncation was handled no copy of the live generation existed yet; then, before the
// follower read a byte of it, that whole generation was copied and truncated (a slow consumer
// held the follower, or it came and went between two polls): it is read from its copy.
TEST_F(FollowerTest, GenerationCopiedAndTruncatedBeforeItsFirstReadIsReadFromItsCopy) {
  Append(path_, "1\n");
  auto follower = Open();
  Poll(*follower);
  Append(path_, "2\n");
  CopyTruncate("3\n");
  EXPECT_TRUE(Poll(*follower));  // reads the rest of .1 (no copy of "3" yet), then stops
  EXPECT_EQ(Text(), "1\n2\n");
  CopyTruncate("4\n");  // the whole generation "3" copied and truncated before it was read
  PollAll(*follower);
  EXPECT_EQ(Text(), "1\n2\n3\n4\n");
  EXPECT_EQ(stats_.truncations.load(), 2u);
  EXPECT_EQ(stats_.copies_recovered.load(), 2u);
  // Read from 0 again afterwards: nothing is read twice.
  Append(path_, "5\n");
  PollAll(*follower);
  EXPECT_EQ(Text(), "1\n2\n3\n4\n5\n");
}

// Two whole generations were copied and truncated before the follower read on: both are read
// from their copies, oldest first, each once (reading one copy must not look for missed
// generations again: that recursed until the stack overflowed).
TEST_F(FollowerTest, TwoGenerationsCopiedBeforeTheFirstReadAreEachReadOnce) {
  Append(path_, "1\n");
  auto follower = Open();
  Poll(*follower);
  Append(path_, "2\n");
  CopyTruncate("3\n");
  EXPECT_TRUE(Poll(*follower));  // reads the rest of .1 (no copy of "3" yet), then stops
  CopyTruncate("4\n");           // "3" copied and truncated
  CopyTruncate("5\n");           // and then "4"
  PollAll(*follower);
  EXPECT_EQ(Text(), "1\n2\n3\n4\n5\n");
  EXPECT_EQ(stats_.copies_recovered.load(), 3u);
}

// The same with every copy made within one clock tick: .2 was read, and the rotation since
// renamed it .3; .2 and .1 are newer only by their suffixes.
TEST_F(FollowerTest, TwoGenerationsCopiedWithinOneClockTickAreEachReadOnce) {
  one_tick_ = true;
  Append(path_, "1\n");
  auto follower = Open();
  Poll(*follower);
  Append(path_, "2\n");
  CopyTruncate("3\n");
  EXPECT_TRUE(Poll(*follower));
  CopyTruncate("4\n");
  CopyTruncate("5\n");
  StampCopiesWithinOneTick();
  PollAll(*follower);
  EXPECT_EQ(Text(), "1\n2\n3\n4\n5\n");
  EXPECT_EQ(stats_.copies_recovered.load(), 3u);
  Append(path_, "6\n");
  PollAll(*follower);
  EXPECT_EQ(Text(), "1\n2\n3\n4\n5\n6\n");
}

// Same start, but the live file was not truncated again: .1 is a copy of what it holds, and is
// not read (that would count "3" twice).
TEST_F(FollowerTest, CopyOfTheLiveGenerationIsNotReadTwice) {
  Append(path_, "1\n");
  auto follower = Open();
  Poll(*follower);
  Append(path_, "2\n");
  fs::copy_file(path_, path_ + ".2");
  ASSERT_EQ(::truncate(path_.c_str(), 0), 0);
  Append(path_, "3\n");
  fs::copy_file(path_, path_ + ".1");
  PollAll(*follower);
  Append(path_, "4\n");
  PollAll(*follower);
  EXPECT_EQ(Text(), "1\n2\n3\n4\n");
  EXPECT_EQ(stats_.copies_recovered.load(), 1u);
}

TEST_F(FollowerTest, CompressedCopiesAreNotReadBack) {
  Append(path_, "1\n");
  auto follower = Open();
  Poll(*follower);
  Append(path_, "2\n");
  fs::copy_file(path_, path_ + ".1.gz");
  ASSERT_EQ(::truncate(path_.c_str(), 0), 0);
  Poll(*follower);
  EXPECT_EQ(stats_.copies_recovered.load(), 0u);
  EXPECT_EQ(Text(), "1\n");
}

TEST_F(FollowerTest, RenamedFileIsReadToItsEndUntilQuietForTheGracePeriod) {
  Append(path_, "a\n");
  auto follower = Open();
  Poll(*follower);
  const std::string rotated = path_ + ".1";
  ASSERT_EQ(::rename(path_.c_str(), rotated.c_str()), 0);
  Append(path_, "new file\n");
  Append(rotated, "b\n");  // the writer has not reopened yet
  Poll(*follower);
  EXPECT_EQ(follower->state(), FileFollower::State::kDraining);
  EXPECT_EQ(stats_.rotations.load(), 1u);
  now_ += milliseconds(400);
  Append(rotated, "c\npart");
  Poll(*follower);
  now_ += milliseconds(400);  // quiet for less than the grace period since "c"
  Poll(*follower);
  EXPECT_EQ(follower->state(), FileFollower::State::kDraining);
  now_ += milliseconds(200);
  Poll(*follower);
  EXPECT_EQ(follower->state(), FileFollower::State::kClosed);
  EXPECT_EQ(Text(), "a\nb\nc\npart\n");
  EXPECT_TRUE(chunks_.back().end_of_file);
  EXPECT_TRUE(chunks_.back().flushed_partial);
  EXPECT_EQ(stats_.deletions.load() + stats_.replacements.load(), 0u);
}

TEST_F(FollowerTest, DeletionAndReplacementAreToldApart) {
  Append(path_, "a\n");
  auto deleted = Open();
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  Poll(*deleted);
  EXPECT_EQ(stats_.deletions.load(), 1u);
  EXPECT_EQ(deleted->state(), FileFollower::State::kDraining);

  Append(path_, "b\n");
  auto replaced = Open();
  const std::string other = (dir_ / "other").string();
  Append(other, "c\n");
  ASSERT_EQ(::rename(other.c_str(), path_.c_str()), 0);  // mv over it: old inode unlinked
  Poll(*replaced);
  EXPECT_EQ(stats_.replacements.load(), 1u);
  EXPECT_EQ(stats_.rotations.load(), 0u);
  EXPECT_EQ(Text(), "a\nb\n");
}

TEST_F(FollowerTest, RetargetedSymlinkIsAReplacement) {
  const std::string target_a = (dir_ / "a.log").string();
  const std::string target_b = (dir_ / "b.log").string();
  Append(target_a, "from a\n");
  Append(target_b, "from b\n");
  path_ = (dir_ / "link.log").string();
  fs::create_symlink(target_a, path_);
  auto follower = Open();
  Poll(*follower);
  fs::remove(path_);
  fs::create_symlink(target_b, path_);
  Poll(*follower);
  EXPECT_EQ(stats_.replacements.load(), 1u);
  EXPECT_EQ(stats_.rotations.load(), 0u);
}

TEST_F(FollowerTest, PipeIsReadUntilItsWriterCloses) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto follower = FileFollower::ForStream(FileOrigin{0, "stdin", "-"}, fds[0], options_, &stats_,
                                          [this](Chunk&& chunk) { chunks_.push_back(chunk); });
  EXPECT_FALSE(follower->Poll(now_, nullptr));  // nothing yet: must not block
  ASSERT_EQ(::write(fds[1], "x\ny", 3), 3);
  follower->Poll(now_, nullptr);
  EXPECT_EQ(Text(), "x\n");
  EXPECT_TRUE(chunks_[0].from_pipe);
  ::close(fds[1]);
  follower->Poll(now_, nullptr);
  EXPECT_EQ(follower->state(), FileFollower::State::kClosed);
  EXPECT_EQ(Text(), "x\ny\n");
  EXPECT_TRUE(chunks_.back().end_of_file);
  EXPECT_EQ(chunks_.back().end_offset, 3u);
}

TEST(CompressedNameTest, KnowsTheUsualSuffixes) {
  EXPECT_TRUE(IsCompressedName("/var/log/registry.log.1.gz"));
  EXPECT_TRUE(IsCompressedName("0.log.20240101-000000.gz"));
  EXPECT_TRUE(IsCompressedName("a.log.xz"));
  EXPECT_TRUE(IsCompressedName("a.log.zst"));
  EXPECT_FALSE(IsCompressedName("/var/log/registry.log"));
  EXPECT_FALSE(IsCompressedName("registry.log.1"));
  EXPECT_FALSE(IsCompressedName("gz"));
}

// The generation order (rotated_files.h): mtime first; on the same mtime logrotate's numbers
// (.1 newest) or names that sort up with time; then the inode number.
TEST(GenerationOrderTest, MtimeThenRotationSuffixThenInode) {
  auto file = [](std::string path, time_t sec, long nsec, uint64_t inode) {
    return SiblingFile{std::move(path), FileKey{1, inode}, 10, timespec{sec, nsec}};
  };
  // mtime wins over names and inodes.
  EXPECT_TRUE(NewerGeneration(file("/l/a.log.5", 100, 2, 1), file("/l/a.log.1", 100, 1, 9)));
  EXPECT_FALSE(NewerGeneration(file("/l/a.log.1", 100, 1, 9), file("/l/a.log.5", 100, 2, 1)));
  EXPECT_TRUE(NewerGeneration(file("/l/a.log.5", 101, 0, 1), file("/l/a.log.1", 100, 9, 9)));
  // Same mtime: .1 is newer than .2 and than .10 (numbers, not text).
  EXPECT_TRUE(NewerGeneration(file("/l/a.log.1", 100, 0, 1), file("/l/a.log.2", 100, 0, 9)));
  EXPECT_TRUE(NewerGeneration(file("/l/a.log.2", 100, 0, 1), file("/l/a.log.10", 100, 0, 9)));
  EXPECT_FALSE(NewerGeneration(file("/l/a.log.10", 100, 0, 9), file("/l/a.log.2", 100, 0, 1)));
  // Same mtime, dated names: the later date is newer.
  EXPECT_TRUE(NewerGeneration(file("/l/0.log.20240102-000000", 100, 0, 1),
                              file("/l/0.log.20240101-120000", 100, 0, 9)));
  EXPECT_TRUE(NewerGeneration(file("/l/0.log.20240101-130000", 100, 0, 1),
                              file("/l/0.log.20240101-120000", 100, 0, 9)));
  EXPECT_TRUE(
      NewerGeneration(file("/l/a.log.20240102", 100, 0, 1), file("/l/a.log.20240101", 100, 0, 9)));
  EXPECT_TRUE(
      NewerGeneration(file("/l/a.log-20240102", 100, 0, 1), file("/l/a.log-20240101", 100, 0, 9)));
  // Same mtime and name (listed twice across a rename): the larger inode.
  EXPECT_TRUE(NewerGeneration(file("/l/a.log.1", 100, 0, 9), file("/l/a.log.1", 100, 0, 1)));
  EXPECT_FALSE(NewerGeneration(file("/l/a.log.1", 100, 0, 1), file("/l/a.log.1", 100, 0, 1)));
}

}  // namespace
}  // namespace rrca::tailers
