#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/bounded_queue.h"
#include "tailers/follow/source_watcher.h"
#include "tailers/follow/tail_types.h"

// SourceStats::lag_bytes (registry_rca_source_lag_bytes) by value: with a read budget of 4096
// bytes per cycle, a 10,000-byte file is 5,904 then 1,808 bytes behind, then caught up. The
// daemon only mirrors this gauge; an e2e test cannot hold the tailer back to see it above 0.
namespace rrca::tailers {
namespace {

namespace fs = std::filesystem;

class SourceLagTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rrca_lag_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    options_.start_at = StartAt::kBeginning;
    options_.follower.read_bytes = 4096;
    options_.follower.max_bytes_per_poll = 4096;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Append(const std::string& path, size_t lines) {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    for (size_t i = 0; i < lines; ++i) out << std::string(99, 'x') << '\n';  // 100 bytes
  }

  fs::path dir_;
  WatcherOptions options_;
  BoundedQueue<Chunk> queue_{100000};
  TailClock::time_point now_ = TailClock::now();
};

TEST_F(SourceLagTest, LagIsTheUnreadBytesAfterEachCycle) {
  const std::string path = (dir_ / "registry.log").string();
  Append(path, 100);
  SourceWatcher watcher(0, SourceConfig{"registry", {path}}, options_, &queue_, nullptr);
  const SourceStats& stats = watcher.stats();
  EXPECT_EQ(stats.lag_bytes.load(), 0);

  watcher.PollOnce(now_);  // opens the file and reads it up to the budget
  EXPECT_EQ(stats.bytes_read.load(), 4096u);
  EXPECT_EQ(stats.lag_bytes.load(), 10000 - 4096);
  EXPECT_TRUE(watcher.PollOnce(now_));
  EXPECT_EQ(stats.lag_bytes.load(), 10000 - 8192);
  EXPECT_FALSE(watcher.PollOnce(now_));
  EXPECT_EQ(stats.bytes_read.load(), 10000u);
  EXPECT_EQ(stats.lag_bytes.load(), 0);

  Append(path, 50);  // written since the last cycle: behind until the next one reads it
  EXPECT_EQ(stats.lag_bytes.load(), 0);
  EXPECT_TRUE(watcher.PollOnce(now_));
  EXPECT_EQ(stats.lag_bytes.load(), 15000 - 14096);
  EXPECT_FALSE(watcher.PollOnce(now_));
  EXPECT_EQ(stats.lag_bytes.load(), 0);
}

TEST_F(SourceLagTest, LagSumsTheFilesOfTheSource) {
  const std::string a = (dir_ / "a.log").string();
  const std::string b = (dir_ / "b.log").string();
  Append(a, 50);  // 5,000 bytes each: 904 left of each after one cycle
  Append(b, 50);
  SourceWatcher watcher(0, SourceConfig{"registry", {(dir_ / "*.log").string()}}, options_, &queue_,
                        nullptr);
  watcher.PollOnce(now_);
  EXPECT_EQ(watcher.stats().lag_bytes.load(), 2 * (5000 - 4096));
  while (watcher.PollOnce(now_)) {
  }
  EXPECT_EQ(watcher.stats().lag_bytes.load(), 0);
  EXPECT_EQ(watcher.stats().bytes_read.load(), 10000u);
}

}  // namespace
}  // namespace rrca::tailers
