#include "tailers/follow/source_watcher.h"

#include <fcntl.h>
#include <glob.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

// SourceWatcher: its thread, the cycle, and opening files. Files rotated while the daemon was
// down are in restart_recovery.cc; the inotify hint and the path checks between cycles in
// source_watcher_paths.cc.
namespace rrca::tailers {
namespace {

bool HasGlobChars(const std::string& pattern) {
  return pattern.find_first_of("*?[{~") != std::string::npos;
}

// Just after the last newline, so a line being written when we start is read whole.
uint64_t EndOfLastLine(int fd, uint64_t size) {
  constexpr uint64_t kLookBack = 64 * 1024;
  auto bytes = ReadBytesBefore(fd, size, kLookBack);
  if (!bytes) return size;
  auto nl = bytes->rfind('\n');
  return nl == std::string::npos ? size : size - bytes->size() + nl + 1;
}

}  // namespace

SourceWatcher::SourceWatcher(size_t source_index, SourceConfig config, WatcherOptions options,
                             BoundedQueue<Chunk>* queue, PositionsFile* positions)
    : index_(source_index),
      config_(std::move(config)),
      options_(std::move(options)),
      queue_(queue),
      positions_(positions) {}

SourceWatcher::~SourceWatcher() {
  Stop();
  for (auto& [path, files] : pending_) {
    for (PendingFile& file : files) ::close(file.fd);
  }
}

void SourceWatcher::Start() {
  if (thread_.joinable()) return;
  RecordStart();
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void SourceWatcher::Stop() {
  stop_ = true;
  hint_.Wake();
  if (thread_.joinable()) thread_.join();
}

void SourceWatcher::Run() {
  while (!stop_ && !queue_closed_) {
    const uint64_t bytes = stats_.bytes_read.load(std::memory_order_relaxed);
    const bool more = PollOnce(TailClock::now());
    if (more) continue;
    // Files that were written lately are watched closely: they may be rotated again soon.
    const auto now = TailClock::now();
    if (stats_.bytes_read.load(std::memory_order_relaxed) != bytes) last_data_at_ = now;
    // Idle: a write ends the wait. Busy: poll at a steady pace, not at every write. Either
    // way a new name in a directory (a rotation) ends it.
    const bool idle = now - last_data_at_ >= options_.poll_interval;
    hint_.Wait(idle ? options_.poll_interval
                    : std::min(options_.active_poll_interval, options_.poll_interval),
               /*writes=*/idle);
  }
  // Shutdown: a writer may be in the middle of a line; give it the grace period to finish it.
  const auto deadline = TailClock::now() + options_.follower.grace;
  const auto step =
      std::min<TailClock::duration>(options_.poll_interval, std::chrono::milliseconds(20));
  while (HasPartial() && !queue_closed_ && TailClock::now() < deadline) {
    std::this_thread::sleep_for(step);
    PollOnce(TailClock::now());
  }
  FlushPartials();
}

bool SourceWatcher::PollOnce(TailClock::time_point now) {
  bool more = false;
  failed_this_cycle_.clear();
  PollStdin(now, &more);
  const std::map<std::string, PathState> found = Scan();
  for (auto it = active_.begin(); it != active_.end();) {
    auto path = found.find(it->first);
    const PathState state = path == found.end() ? PathState{} : path->second;
    more |= it->second->Poll(now, &state);
    if (it->second->state() == FileFollower::State::kFollowing) {
      ++it;
      continue;
    }
    // What ReadSkippedGenerations reads after, before the next file at the path is followed.
    retired_[it->first] = SiblingFile{it->first, it->second->key(), 0, it->second->mtime()};
    draining_.push_back(std::move(it->second));
    it = active_.erase(it);
  }
  for (auto& follower : draining_) more |= follower->Poll(now, nullptr);
  MoveOnFromRotated(now);
  // At start-up, what was rotated while we were down comes first: it is older than the files
  // now at the paths.
  if (!first_scan_done_) RecoverWhileDown(found, now);
  for (const auto& [path, state] : found) {
    if (!active_.contains(path) && !InUse(state.key)) OpenPath(path, now);
  }
  ForgetOldPaths(found, now);
  if (!first_scan_done_) {
    first_scan_done_ = true;
    for (const std::string& pattern : config_.paths) {  // where files of the source may appear
      std::string dir = pattern.substr(0, pattern.find_first_of("*?[{"));
      hint_.WatchDirectory(dir.substr(0, dir.rfind('/') + 1));
    }
  }
  KeepFinishedMarks(found);
  std::erase_if(open_errors_, [&](const auto& e) { return !failed_this_cycle_.contains(e.first); });
  UpdateGauges();
  return more;
}

// Remembers where finished files stopped, as long as a pattern still matches them.
void SourceWatcher::KeepFinishedMarks(const std::map<std::string, PathState>& found) {
  std::map<FileKey, FileMark> finished;
  auto keep = [&](const FileMark& mark) { finished[mark.key] = mark; };
  for (auto& [path, follower] : active_) {
    for (const FileMark& copy : follower->TakeFinished()) {
      keep(copy);
      followed_at_[path].insert(copy.key);  // a copytruncate copy is no skipped generation
    }
  }
  for (auto& follower : draining_) {
    std::ranges::for_each(follower->TakeFinished(), keep);
    if (follower->state() == FileFollower::State::kClosed) {
      keep(follower->mark());
      hint_.Unwatch(follower->key());
    }
  }
  std::erase_if(draining_,
                [](const auto& f) { return f->state() == FileFollower::State::kClosed; });
  for (auto& [key, mark] : finished_) finished.try_emplace(key, mark);
  std::erase_if(finished, [&](const auto& entry) {
    return std::ranges::none_of(found, [&](const auto& p) { return p.second.key == entry.first; });
  });
  finished_ = std::move(finished);
}

void SourceWatcher::PollStdin(TailClock::time_point now, bool* more) {
  if (stdin_done_ || std::ranges::find(config_.paths, "-") == config_.paths.end()) return;
  if (!stdin_) {
    int fd = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
      spdlog::error("source {}: cannot read stdin: {}", config_.name, std::strerror(errno));
      stdin_done_ = true;
      return;
    }
    stdin_ = FileFollower::ForStream(FileOrigin{index_, config_.name, "-"}, fd, options_.follower,
                                     &stats_, [this](Chunk&& chunk) { Push(std::move(chunk)); });
  }
  *more |= stdin_->Poll(now, nullptr);
  if (stdin_->state() == FileFollower::State::kClosed) {
    spdlog::info("source {}: stdin reached its end", config_.name);
    stdin_.reset();
    stdin_done_ = true;
  }
}

std::map<std::string, PathState> SourceWatcher::Scan() {
  std::map<std::string, PathState> found;
  for (const std::string& pattern : config_.paths) {
    if (pattern == "-") continue;
    if (!HasGlobChars(pattern)) {
      ScanPath(pattern, &found);
      continue;
    }
    glob_t matches{};
    if (::glob(pattern.c_str(), GLOB_BRACE | GLOB_TILDE, nullptr, &matches) == 0) {
      for (size_t i = 0; i < matches.gl_pathc; ++i) ScanPath(matches.gl_pathv[i], &found);
    }
    ::globfree(&matches);
  }
  return found;
}

void SourceWatcher::ScanPath(const std::string& path, std::map<std::string, PathState>* found) {
  if (IsCompressedName(path) || found->contains(path)) return;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) NoteOpenError(path, errno);
    return;
  }
  if (!S_ISREG(st.st_mode)) return;
  struct stat link {};
  if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode) &&
      IsCompressedName(RealPath(path))) {
    return;
  }
  (*found)[path] = PathState{true, KeyOf(st)};
}

void SourceWatcher::NoteOpenError(const std::string& path, int error) {
  failed_this_cycle_.insert(path);
  auto [it, inserted] = open_errors_.try_emplace(path, error);
  if (!inserted && it->second == error) return;  // same episode: already counted and logged
  it->second = error;
  if (error == EACCES || error == EPERM) {
    stats_.permission_denied.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn(
        "source {}: cannot read {}: permission denied (running as uid {}, gid {}); retrying "
        "every {} ms. Grant read access to the file and its directories (e.g. group adm).",
        config_.name, path, ::geteuid(), ::getegid(), options_.poll_interval.count());
  } else {
    stats_.read_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("source {}: cannot open {}: {}; retrying every {} ms", config_.name, path,
                 std::strerror(error), options_.poll_interval.count());
  }
}

// Opens `path`, or takes over `fd`, opened there a moment ago.
void SourceWatcher::OpenPath(const std::string& path, TailClock::time_point now, int fd) {
  if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (errno != ENOENT) NoteOpenError(path, errno);
    return;
  }
  struct stat st {};
  // Between the scan and the open the path may have changed: trust the descriptor only.
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || InUse(KeyOf(st))) {
    ::close(fd);
    return;
  }
  if (open_errors_.erase(path) > 0) {
    spdlog::info("source {}: {} is readable now", config_.name, path);
  }
  const uint64_t offset = StartOffset(path, KeyOf(st), fd, static_cast<uint64_t>(st.st_size));
  // Registered before its first read: CheckPaths watches its path while that read waits.
  followed_paths_[path] = now;
  followed_at_[path].insert(KeyOf(st));
  FileFollower& follower = *(active_[path] = Follow(path, fd, st, offset));
  hint_.WatchFile(path, KeyOf(st));
  hint_.WatchDirectory(std::filesystem::path(path).parent_path().string());
  hint_.WatchDirectory(std::filesystem::path(RealPath(path)).parent_path().string());
  const PathState state{true, KeyOf(st)};
  follower.Poll(now, &state);
}

std::unique_ptr<FileFollower> SourceWatcher::Follow(std::string path, int fd, const struct stat& st,
                                                    uint64_t offset) {
  auto follower = FileFollower::ForFile(FileOrigin{index_, config_.name, std::move(path)}, fd, st,
                                        offset, options_.follower, &stats_,
                                        [this](Chunk&& chunk) { Push(std::move(chunk)); });
  if (positions_ != nullptr) {
    const FileMark mark = follower->mark();
    positions_->Track(KeyOf(st), Position{config_.name, follower->path(), mark.offset,
                                          mark.fingerprint, mark.fingerprint_len});
  }
  return follower;
}

uint64_t SourceWatcher::StartOffset(const std::string& path, FileKey key, int fd, uint64_t size) {
  if (auto it = finished_.find(key); it != finished_.end()) {
    const FileMark& mark = it->second;
    if (FingerprintMatches(fd, size, mark.offset, mark.fingerprint, mark.fingerprint_len)) {
      return mark.offset;
    }
    return 0;
  }
  if (positions_ != nullptr) {
    if (auto saved = positions_->Lookup(key)) {
      if (FingerprintMatches(fd, size, saved->offset, saved->fingerprint, saved->fingerprint_len)) {
        spdlog::info("source {}: {}: resuming at saved offset {}", config_.name, path,
                     saved->offset);
        return saved->offset;
      }
      // (Truncated while we were down: RecoverWhileDown has read the rest from its copy.)
      spdlog::info(
          "source {}: {}: saved position does not match its content (new or rewritten "
          "file); reading it from the start",
          config_.name, path);
      return 0;
    }
  }
  if (first_scan_done_ || followed_before_.contains(path) ||
      (positions_ != nullptr && positions_->HasPath(path)) ||
      options_.start_at == StartAt::kBeginning) {
    return 0;
  }
  return EndOfLastLine(fd, size);
}

void SourceWatcher::Drain(const std::string& path, int fd, const struct stat& st, uint64_t offset,
                          TailClock::time_point now) {
  draining_.push_back(Follow(path, fd, st, offset));
  draining_.back()->Retire(now, nullptr);
  draining_.back()->Poll(now, nullptr);
}

bool SourceWatcher::InUse(FileKey key) const {
  for (const auto& [path, follower] : active_) {
    if (follower->key() == key) return true;
  }
  return std::ranges::any_of(draining_, [&](const auto& f) { return f->key() == key; });
}

void SourceWatcher::FlushPartials() {
  for (auto& [path, follower] : active_) follower->FlushPartial();
  for (auto& follower : draining_) follower->FlushPartial();
  if (stdin_) stdin_->FlushPartial();
}

bool SourceWatcher::HasPartial() const {
  auto partial = [](const auto& f) { return f->has_partial(); };
  return std::ranges::any_of(active_, [&](const auto& e) { return partial(e.second); }) ||
         std::ranges::any_of(draining_, partial) || (stdin_ && stdin_->has_partial());
}

void SourceWatcher::UpdateGauges() {
  int64_t lag = 0;
  for (const auto& [path, follower] : active_) lag += follower->lag_bytes();
  for (const auto& follower : draining_) lag += follower->lag_bytes();
  if (stdin_) lag += stdin_->lag_bytes();
  const int64_t open = static_cast<int64_t>(active_.size() + draining_.size()) + (stdin_ ? 1 : 0);
  stats_.lag_bytes.store(lag, std::memory_order_relaxed);
  stats_.files_open.store(open, std::memory_order_relaxed);
  stats_.up.store(!active_.empty() || stdin_ != nullptr, std::memory_order_relaxed);
}

}  // namespace rrca::tailers
