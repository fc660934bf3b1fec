#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "tailers/follow/positions_file.h"
#include "tailers/follow/tail_types.h"

namespace rrca::tailers {
namespace {

namespace fs = std::filesystem;

class PositionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rrca_positions_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void Write(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  static std::string Read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static Chunk ChunkOf(FileKey key, std::string path, uint64_t end) {
    Chunk chunk;
    chunk.source_name = "registry";
    chunk.path = std::move(path);
    chunk.file = key;
    chunk.end_offset = end;
    chunk.fingerprint = 0xfeedULL;
    chunk.fingerprint_len = 4;
    return chunk;
  }

  fs::path dir_;
};

TEST_F(PositionsTest, JsonRoundTripKeepsEveryFieldAndOddPaths) {
  std::map<FileKey, Position> entries;
  entries[{2049, 18446744073709551615ULL}] =
      Position{"registry", "/var/log/a \"quoted\"\\back\nline\x01.log", 123456789012ULL,
               0x0123456789abcdefULL, 1024};
  entries[{1, 2}] = Position{"s3", "/var/log/caf\xc3\xa9.log", 0, 0, 0, 1764421234000000001};
  int64_t saved_at = 0;
  auto parsed = PositionsFromJson(PositionsToJson(entries, 1764421234567890123), &saved_at);
  EXPECT_EQ(saved_at, 1764421234567890123);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->size(), 2u);
  for (const auto& [key, position] : entries) {
    const Position& got = parsed->at(key);
    EXPECT_EQ(got.source, position.source);
    EXPECT_EQ(got.path, position.path);
    EXPECT_EQ(got.offset, position.offset);
    EXPECT_EQ(got.fingerprint, position.fingerprint);
    EXPECT_EQ(got.fingerprint_len, position.fingerprint_len);
    EXPECT_EQ(got.closed_at_unix_ns, position.closed_at_unix_ns);
  }
}

TEST_F(PositionsTest, SaveThenLoadInAnotherInstance) {
  const fs::path path = dir_ / "positions.json";
  PositionsFile first(path.string());
  ASSERT_TRUE(first.Load().ok());
  first.Track({7, 8}, Position{"registry", "/x.log", 10, 0, 0});
  first.MarkProcessed(ChunkOf({7, 8}, "/x.log", 40));
  ASSERT_TRUE(first.Save().ok());
  EXPECT_EQ(first.stats().writes.load(), 1u);
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));

  PositionsFile second(path.string());
  EXPECT_EQ(second.saved_at_unix_ns(), 0);
  ASSERT_TRUE(second.Load().ok());
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_GT(second.saved_at_unix_ns(), now - 60 * 1'000'000'000LL);
  EXPECT_LE(second.saved_at_unix_ns(), now);
  auto position = second.Lookup({7, 8});
  ASSERT_TRUE(position.has_value());
  EXPECT_EQ(position->offset, 40u);
  EXPECT_EQ(position->fingerprint, 0xfeedULL);
  EXPECT_EQ(position->fingerprint_len, 4u);
  EXPECT_EQ(position->source, "registry");
  EXPECT_TRUE(second.HasPath("/x.log"));
  EXPECT_FALSE(second.HasPath("/y.log"));
  EXPECT_EQ(second.EntriesOfSource("registry").size(), 1u);
  EXPECT_TRUE(second.EntriesOfSource("s3").empty());
}

TEST_F(PositionsTest, EndOfFileClosesTheEntryUntilItExpiresAndPipesAreNotKept) {
  PositionsFile positions("");
  positions.MarkProcessed(ChunkOf({1, 1}, "/a", 5));
  EXPECT_EQ(positions.Lookup({1, 1})->closed_at_unix_ns, 0);
  Chunk end = ChunkOf({1, 1}, "/a", 7);
  end.end_of_file = true;
  positions.MarkProcessed(end);
  ASSERT_TRUE(positions.Lookup({1, 1}).has_value());  // known as done after a restart
  EXPECT_GT(positions.Lookup({1, 1})->closed_at_unix_ns, 0);
  EXPECT_EQ(positions.Lookup({1, 1})->offset, 7u);
  EXPECT_EQ(positions.TakeSnapshot().entries.size(), 1u);        // kept for an hour
  positions.Track({1, 1}, Position{"registry", "/a", 7, 0, 0});  // reopened: open again
  EXPECT_EQ(positions.Lookup({1, 1})->closed_at_unix_ns, 0);

  PositionsFile expiring("", std::chrono::seconds(0));
  expiring.MarkProcessed(end);
  EXPECT_TRUE(expiring.TakeSnapshot().entries.empty());
  EXPECT_FALSE(expiring.Lookup({1, 1}).has_value());

  Chunk pipe = ChunkOf({0, 9}, "-", 5);
  pipe.from_pipe = true;
  positions.MarkProcessed(pipe);
  EXPECT_FALSE(positions.Lookup({0, 9}).has_value());
  EXPECT_TRUE(positions.Save().ok());  // in memory only: nothing written, no error
}

TEST_F(PositionsTest, AnOlderSnapshotNeverOverwritesANewerOne) {
  const fs::path path = dir_ / "positions.json";
  PositionsFile positions(path.string());
  positions.MarkProcessed(ChunkOf({1, 1}, "/a", 5));
  auto older = positions.TakeSnapshot();
  positions.MarkProcessed(ChunkOf({1, 1}, "/a", 9));
  ASSERT_TRUE(positions.Save(positions.TakeSnapshot()).ok());
  ASSERT_TRUE(positions.Save(older).ok());  // e.g. a slower concurrent scrape
  PositionsFile reread(path.string());
  ASSERT_TRUE(reread.Load().ok());
  EXPECT_EQ(reread.Lookup({1, 1})->offset, 9u);
  EXPECT_EQ(positions.stats().writes.load(), 1u);
}

// The processing side's waiting state rides along with the offsets
// (exporter/pipeline/carry_over.h): it is written as it is, read back as it is, and rewritten when
// only it changed (what waited was counted since), but an older snapshot's state never replaces a
// newer one's.
TEST_F(PositionsTest, PipelineStateIsKeptRewrittenWhenItChangesAndNeverOlder) {
  const fs::path path = dir_ / "positions.json";
  PositionsFile positions(path.string());
  positions.MarkProcessed(ChunkOf({1, 1}, "/a", 5));
  auto waiting = positions.TakeSnapshot();
  waiting.pipeline_state = R"({"access": [{"uri": "/v2/\u00e9\n"}], "n": -1.5e3, "ok": null})";
  ASSERT_TRUE(positions.Save(waiting).ok());
  auto older = positions.TakeSnapshot();
  older.pipeline_state = R"({"stale": true})";
  auto counted = positions.TakeSnapshot();  // no new lines, but nothing waits any more
  counted.pipeline_state = R"({"access": []})";
  ASSERT_TRUE(positions.Save(counted).ok());
  ASSERT_TRUE(positions.Save(older).ok());
  EXPECT_EQ(positions.stats().writes.load(), 2u);
  PositionsFile reread(path.string());
  ASSERT_TRUE(reread.Load().ok());
  EXPECT_EQ(reread.loaded_pipeline_state(), R"({"access": []})");
  EXPECT_EQ(reread.Lookup({1, 1})->offset, 5u);

  auto unchanged = positions.TakeSnapshot();
  unchanged.pipeline_state = R"({"access": []})";
  ASSERT_TRUE(positions.Save(unchanged).ok());
  EXPECT_EQ(positions.stats().writes.load(), 2u);  // same offsets, same state: not rewritten
  Write(path, Read(path).replace(Read(path).find(R"({"access": []})"), 14, R"({"access": [})"));
  PositionsFile broken(path.string());
  EXPECT_FALSE(broken.Load().ok());
  EXPECT_EQ(broken.loaded_pipeline_state(), "");
}

// The scrape waits for Save(): the rename is its last step, and the directory fsync that makes
// the rename survive a power loss is left to the start of the next Save (even one with nothing
// new to write), so it never lengthens the time between the rename and the scrape's answer.
TEST_F(PositionsTest, DirectoryIsSyncedAtTheStartOfTheNextSaveNotAfterTheRename) {
  const fs::path path = dir_ / "positions.json";
  PositionsFile positions(path.string());
  positions.MarkProcessed(ChunkOf({1, 1}, "/a", 5));
  ASSERT_TRUE(positions.Save().ok());
  EXPECT_EQ(positions.stats().writes.load(), 1u);
  EXPECT_EQ(positions.stats().directory_syncs.load(), 0u);  // not waited for after the rename
  ASSERT_TRUE(positions.Save().ok());                       // nothing new: only the sync
  EXPECT_EQ(positions.stats().writes.load(), 1u);
  EXPECT_EQ(positions.stats().directory_syncs.load(), 1u);
  ASSERT_TRUE(positions.Save().ok());  // nothing pending: no sync
  EXPECT_EQ(positions.stats().directory_syncs.load(), 1u);
  positions.MarkProcessed(ChunkOf({1, 1}, "/a", 9));
  ASSERT_TRUE(positions.Save().ok());  // the earlier rename was durable already
  EXPECT_EQ(positions.stats().writes.load(), 2u);
  EXPECT_EQ(positions.stats().directory_syncs.load(), 1u);
  PositionsFile reread(path.string());
  ASSERT_TRUE(reread.Load().ok());
  EXPECT_EQ(reread.Lookup({1, 1})->offset, 9u);
}

TEST_F(PositionsTest, MissingDirectoryIsCreatedOnSave) {
  const fs::path path = dir_ / "not" / "yet" / "positions.json";
  PositionsFile positions(path.string());
  EXPECT_TRUE(positions.Load().ok());  // nothing saved yet: an empty table, no error
  positions.MarkProcessed(ChunkOf({1, 1}, "/a", 5));
  ASSERT_TRUE(positions.Save().ok());
  EXPECT_TRUE(fs::exists(path));
}

TEST_F(PositionsTest, UnwritableLocationIsReportedAndCounted) {
  Write(dir_ / "file", "x");
  PositionsFile positions((dir_ / "file" / "positions.json").string());
  positions.MarkProcessed(ChunkOf({1, 1}, "/a", 5));
  Status status = positions.Save();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("positions file"), std::string::npos) << status.message();
  EXPECT_EQ(positions.stats().write_failures.load(), 1u);
  EXPECT_EQ(positions.stats().writes.load(), 0u);
}

TEST_F(PositionsTest, CorruptFilesAreReportedAndIgnored) {
  const std::string valid =
      R"({"version": 1, "files": [{"source": "r", "path": "/a", "dev": 1, "inode": 2, )"
      R"("offset": 3, "fingerprint": "00000000000000ff", "fingerprint_len": 3}]})";
  const std::string bad[] = {
      "",
      "garbage",
      std::string("\0\1\2", 3),
      "{",
      R"({"version": 2, "files": []})",
      R"({"files": []})",
      R"({"version": 1, "files": [{"dev": 1, "inode": 2, "offset": 3}]})",
      R"({"version": 1, "files": [{"dev": 1, "inode": 2, "offset": 3, "fingerprint": "xyz"}]})",
      R"({"version": 1, "files": [{"dev": 99999999999999999999, "inode": 2}]})",
      R"({"version": 1, "files": [{"dev": -1, "inode": 2}]})",
      R"({"version": 1, "files": {}})",
      R"({"version": 1, "files": []} trailing)",
      R"({"version": 1, "x": )" + std::string(100000, '[') + "}",
      valid.substr(0, valid.size() - 3),
  };
  const fs::path path = dir_ / "positions.json";
  for (const std::string& text : bad) {
    Write(path, text);
    PositionsFile positions(path.string());
    Status status = positions.Load();
    EXPECT_EQ(status.code(), StatusCode::kCorruption) << text.substr(0, 80);
    EXPECT_EQ(status.message().rfind("positions file " + path.string() + ": byte ", 0), 0u)
        << status.message();
    EXPECT_EQ(positions.stats().load_failures.load(), 1u);
    EXPECT_TRUE(positions.TakeSnapshot().entries.empty());
    // Still usable: the next Save replaces the corrupt file.
    positions.MarkProcessed(ChunkOf({1, 1}, "/a", 5));
    EXPECT_TRUE(positions.Save().ok());
  }
  // A file that cannot be read is an I/O error, not corruption: here a directory in its place.
  const fs::path directory = dir_ / "positions-dir";
  fs::create_directory(directory);
  PositionsFile unreadable(directory.string());
  EXPECT_EQ(unreadable.Load().code(), StatusCode::kIoError);
  // Every prefix of a valid file is rejected without a crash; the whole file is accepted.
  for (size_t n = 0; n < valid.size(); ++n) {
    EXPECT_FALSE(PositionsFromJson(valid.substr(0, n)).ok()) << n;
  }
  auto parsed = PositionsFromJson(valid);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->at(FileKey{1, 2}).fingerprint, 0xffULL);
}

TEST_F(PositionsTest, UnknownKeysAreSkipped) {
  auto parsed = PositionsFromJson(
      R"({"version": 1, "writer": {"name": "x", "tags": [1, 2.5, true, null, "s"]},)"
      R"( "files": [{"dev": 1, "inode": 2, "offset": 0, "fingerprint": "0000000000000000",)"
      R"( "future": [{}]}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->size(), 1u);
}

TEST_F(PositionsTest, UnreadableFileIsReportedAndIgnored) {
  const fs::path path = dir_ / "positions.json";
  fs::create_directory(path);  // reading a directory fails: EISDIR
  PositionsFile positions(path.string());
  EXPECT_FALSE(positions.Load().ok());
  EXPECT_EQ(positions.stats().load_failures.load(), 1u);
}

}  // namespace
}  // namespace rrca::tailers
