#include "tailers/follow/positions_file.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <utility>

#include "common/clock.h"

namespace rrca::tailers {
namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// A missing file reads as empty: the first start, or a new directory.
Status ReadWholeFile(const std::string& path, std::string* out, bool* exists) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  *exists = fd >= 0;
  if (fd < 0) {
    return errno == ENOENT ? Status::Ok() : Status::IoError(Errno("positions file " + path));
  }
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status status = Status::IoError(Errno("positions file " + path + ": read"));
      ::close(fd);
      return status;
    }
    if (n == 0) break;
    out->append(buffer, static_cast<size_t>(n));
    if (out->size() > (64u << 20)) {
      ::close(fd);
      return Status::ResourceExhausted("positions file " + path + ": larger than 64 MiB");
    }
  }
  ::close(fd);
  return Status::Ok();
}

}  // namespace

PositionsFile::PositionsFile(std::string path, std::chrono::seconds keep_closed)
    : path_(std::move(path)), keep_closed_(keep_closed) {}

Status PositionsFile::Load() {
  std::map<FileKey, Position> loaded;
  int64_t saved_at = 0;
  std::string pipeline_state;
  Status status;
  if (!path_.empty()) {
    std::string text;
    bool exists = false;
    status = ReadWholeFile(path_, &text, &exists);
    if (status.ok() && exists) {
      auto parsed = PositionsFromJson(text, &saved_at, &pipeline_state);
      if (parsed.ok()) {
        loaded = std::move(parsed).value();
      } else {
        status = parsed.status().Prefixed("positions file " + path_ + ": ");
      }
    }
  }
  if (!status.ok()) {
    stats_.load_failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("{}; ignoring it: every file starts as if never seen", status.message());
  }
  std::lock_guard lock(mutex_);
  entries_ = std::move(loaded);
  loaded_saved_at_unix_ns_ = status.ok() ? saved_at : 0;
  loaded_pipeline_state_ = status.ok() ? std::move(pipeline_state) : std::string();
  ++sequence_;
  return status;
}

std::optional<Position> PositionsFile::Lookup(FileKey key) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

bool PositionsFile::HasPath(std::string_view path) const {
  std::lock_guard lock(mutex_);
  for (const auto& [key, position] : entries_) {
    if (position.path == path) return true;
  }
  return false;
}

std::vector<std::pair<FileKey, Position>> PositionsFile::EntriesOfSource(
    std::string_view source) const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<FileKey, Position>> result;
  for (const auto& [key, position] : entries_) {
    if (position.source == source) result.emplace_back(key, position);
  }
  return result;
}

void PositionsFile::Track(FileKey key, Position position) {
  std::lock_guard lock(mutex_);
  position.closed_at_unix_ns = 0;
  entries_[key] = std::move(position);
  ++sequence_;
}

void PositionsFile::Forget(FileKey key) {
  std::lock_guard lock(mutex_);
  entries_.erase(key);
  ++sequence_;
}

void PositionsFile::MarkProcessed(const Chunk& chunk) {
  if (chunk.from_pipe) return;
  std::lock_guard lock(mutex_);
  ++sequence_;
  Position& position = entries_[chunk.file];
  position.closed_at_unix_ns = chunk.end_of_file ? WallNowNs() : 0;
  if (position.source != chunk.source_name) position.source = chunk.source_name;
  if (position.path != chunk.path) position.path = chunk.path;
  position.offset = chunk.end_offset;
  position.fingerprint = chunk.fingerprint;
  position.fingerprint_len = chunk.fingerprint_len;
}

int64_t PositionsFile::saved_at_unix_ns() const {
  std::lock_guard lock(mutex_);
  return loaded_saved_at_unix_ns_;
}

std::string PositionsFile::loaded_pipeline_state() const {
  std::lock_guard lock(mutex_);
  return loaded_pipeline_state_;
}

PositionsFile::Snapshot PositionsFile::TakeSnapshot() {
  const int64_t now = WallNowNs();
  const int64_t keep = std::chrono::nanoseconds(keep_closed_).count();
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [&](const auto& entry) {
    return entry.second.closed_at_unix_ns != 0 && now - entry.second.closed_at_unix_ns >= keep;
  });
  return Snapshot{sequence_, ++snapshots_taken_, now, entries_, {}};
}

Status PositionsFile::Save(const Snapshot& snapshot) {
  if (path_.empty()) return Status::Ok();
  std::lock_guard lock(save_mutex_);
  // The previous write becomes durable here, first thing, also when nothing is written now: an
  // idle daemon's last positions are on disk by its next scrape. See WriteFile for why not
  // right after the rename.
  SyncDirectory();
  // An older snapshot must not overwrite a newer one; an unchanged table need not be rewritten.
  // The pipeline state changes without new lines (what waited is counted when its time is up),
  // and a stale one on disk would count it again after a crash.
  const size_t state_hash = std::hash<std::string>()(snapshot.pipeline_state);
  if (saved_once_ && (snapshot.order <= saved_order_ ||
                      (snapshot.sequence == saved_sequence_ && state_hash == saved_state_hash_))) {
    return Status::Ok();
  }
  Status status = WriteFile(
      PositionsToJson(snapshot.entries, snapshot.taken_at_unix_ns, snapshot.pipeline_state));
  if (!status.ok()) {
    stats_.write_failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("{}", status.message());
    return status;
  }
  stats_.writes.fetch_add(1, std::memory_order_relaxed);
  saved_sequence_ = snapshot.sequence;
  saved_order_ = snapshot.order;
  saved_state_hash_ = state_hash;
  saved_once_ = true;
  return status;
}

Status PositionsFile::WriteFile(const std::string& text) {
  const std::filesystem::path target(path_);
  const std::filesystem::path dir =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return Status::IoError("positions file " + path_ + ": create directory: " + error.message());
  }
  const std::string temp = path_ + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(Errno("positions file " + temp + ": open"));
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status status = Status::IoError(Errno("positions file " + temp + ": write"));
      ::close(fd);
      ::unlink(temp.c_str());
      return status;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status status = Status::IoError(Errno("positions file " + temp + ": fsync"));
    ::close(fd);
    ::unlink(temp.c_str());
    return status;
  }
  ::close(fd);
  if (::rename(temp.c_str(), path_.c_str()) != 0) {
    Status status = Status::IoError(Errno("positions file " + path_ + ": rename"));
    ::unlink(temp.c_str());
    return status;
  }
  // The durable point. The rename is what a restart after a crash of the process sees (the
  // page cache survives it); the rename survives a power loss only once the directory is
  // synced. That sync is done at the start of the next Save (and by the destructor), not here:
  // Save() runs while the scrape waits for its answer, and a crash after the rename but before
  // the answer reaches Prometheus loses the lines counted since the previous scrape (the
  // positions say they were exported, Prometheus never saw them). An fsync of the directory
  // takes milliseconds and would widen that window. A power loss before the next Save only
  // brings back the previous positions: lines read again, none lost.
  dir_sync_pending_ = true;
  return Status::Ok();
}

void PositionsFile::SyncDirectory() {
  if (!dir_sync_pending_) return;
  const std::filesystem::path target(path_);
  const std::filesystem::path dir =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  stats_.directory_syncs.fetch_add(1, std::memory_order_relaxed);
  dir_sync_pending_ = false;
}

PositionsFile::~PositionsFile() {
  std::lock_guard lock(save_mutex_);
  SyncDirectory();
}

}  // namespace rrca::tailers
