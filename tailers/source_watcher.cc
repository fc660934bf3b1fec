#include "tailers/source_watcher.h"

#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include "common/time_util.h"

namespace rrca::tailers {
namespace {

FileKey KeyOf(const struct stat& st) {
  return FileKey{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

bool HasGlobChars(const std::string& pattern) {
  return pattern.find_first_of("*?[{~") != std::string::npos;
}

// True when the saved bytes before `offset` are still there: same content, not a reused inode.
bool FingerprintMatches(int fd, uint64_t size, uint64_t offset, uint64_t fingerprint,
                        uint32_t length) {
  if (offset > size) return false;
  if (length == 0) return true;
  auto bytes = ReadBytesBefore(fd, offset, length);
  return bytes && bytes->size() == length && Fingerprint(*bytes) == fingerprint;
}

// Just after the last newline, so a line being written when we start is read whole.
uint64_t EndOfLastLine(int fd, uint64_t size) {
  constexpr uint64_t kLookBack = 64 * 1024;
  auto bytes = ReadBytesBefore(fd, size, kLookBack);
  if (!bytes) return size;
  auto nl = bytes->rfind('\n');
  return nl == std::string::npos ? size : size - bytes->size() + nl + 1;
}

std::string RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  return ::realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : std::string();
}

// Opens the file `key` in the directory of `path` or of its symlink's target, under any
// uncompressed name; -1 if there is none.
int OpenBeside(const std::string& path, FileKey key, std::string* found_path) {
  namespace fs = std::filesystem;
  std::set<fs::path> dirs{fs::path(path).parent_path()};
  if (std::string target = RealPath(path); !target.empty()) {
    dirs.insert(fs::path(target).parent_path());
  }
  for (const fs::path& dir : dirs) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(dir, error)) {
      struct stat st {};
      const std::string candidate = entry.path().string();
      if (!IsCompressedName(candidate) && ::stat(candidate.c_str(), &st) == 0 &&
          S_ISREG(st.st_mode) && KeyOf(st) == key) {
        *found_path = candidate;
        return ::open(candidate.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
      }
    }
  }
  return -1;
}

}  // namespace

ChangeHint::ChangeHint()
    : writes_fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)),
      names_fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

ChangeHint::~ChangeHint() {
  for (int fd : {writes_fd_, names_fd_, wake_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

void ChangeHint::WatchFile(const std::string& path, FileKey key) {
  if (writes_fd_ < 0 || file_watches_.contains(key)) return;
  int wd = ::inotify_add_watch(writes_fd_, path.c_str(), IN_MODIFY);
  if (wd >= 0) file_watches_[key] = wd;
}

void ChangeHint::Unwatch(FileKey key) {
  auto it = file_watches_.find(key);
  if (it == file_watches_.end()) return;
  ::inotify_rm_watch(writes_fd_, it->second);  // fails harmlessly if the file is gone
  file_watches_.erase(it);
}

void ChangeHint::WatchDirectory(const std::string& dir) {
  if (names_fd_ < 0 || dir.empty() || !dirs_.insert(dir).second) return;
  ::inotify_add_watch(names_fd_, dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
}

void ChangeHint::Wait(std::chrono::milliseconds timeout, bool writes) {
  struct pollfd fds[3] = {
      {wake_fd_, POLLIN, 0}, {names_fd_, POLLIN, 0}, {writes ? writes_fd_ : -1, POLLIN, 0}};
  if (::poll(fds, 3, static_cast<int>(timeout.count())) <= 0) return;
  char buffer[4096];  // the events themselves do not matter: the next cycle looks at everything
  for (const struct pollfd& ready : fds) {
    if (ready.fd < 0 || (ready.revents & POLLIN) == 0) continue;
    while (::read(ready.fd, buffer, sizeof(buffer)) > 0) {
    }
  }
}

void ChangeHint::Wake() {
  const uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof(one));
}

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
    draining_.push_back(std::move(it->second));
    it = active_.erase(it);
  }
  for (auto& follower : draining_) more |= follower->Poll(now, nullptr);
  std::vector<std::string> pending_paths;  // AdoptPending changes pending_
  for (const auto& [path, files] : pending_) pending_paths.push_back(path);
  for (const std::string& path : pending_paths) {
    if (active_.contains(path)) continue;
    AdoptPending(path, now);
  }
  for (const auto& [path, state] : found) {
    if (!active_.contains(path) && !InUse(state.key)) OpenPath(path, now);
  }
  ForgetOldPaths(found, now);
  if (!first_scan_done_) {
    first_scan_done_ = true;
    RecoverMovedFiles(now);
    ReadGenerationsMissedWhileDown(found, now);
    for (const std::string& pattern : config_.paths) {  // where files of the source may appear
      std::string dir = pattern.substr(0, pattern.find_first_of("*?[{"));
      hint_.WatchDirectory(dir.substr(0, dir.rfind('/') + 1));
    }
  }
  // Remember where finished files stopped, as long as a pattern still matches them.
  std::map<FileKey, FileMark> finished;
  auto keep = [&](const FileMark& mark) { finished[mark.key] = mark; };
  for (auto& [path, follower] : active_) std::ranges::for_each(follower->TakeFinished(), keep);
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
  std::erase_if(open_errors_, [&](const auto& e) { return !failed_this_cycle_.contains(e.first); });
  UpdateGauges();
  return more;
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

void SourceWatcher::OpenPath(const std::string& path, TailClock::time_point now) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
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
      spdlog::info(
          "source {}: {}: saved position does not match its content (new or rewritten "
          "file); reading it from the start",
          config_.name, path);
      if (!first_scan_done_) {  // truncated while we were down? its copy may hold the rest
        truncated_while_down_.push_back(
            FileMark{key, path, saved->offset, saved->fingerprint, saved->fingerprint_len});
      }
      return 0;
    }
  }
  if (first_scan_done_ || (positions_ != nullptr && positions_->HasPath(path)) ||
      options_.start_at == StartAt::kBeginning) {
    return 0;
  }
  return EndOfLastLine(fd, size);
}

// What happened to the saved files while we were down. Truncated (copytruncate): the rest
// after the saved offset is in logrotate's copy, if one is found. Nobody follows them now:
// renamed by a rotation (found beside their path or the symlink's target: read to their end),
// or gone (forget them).
void SourceWatcher::RecoverMovedFiles(TailClock::time_point now) {
  if (positions_ == nullptr) return;
  for (const FileMark& mark : std::exchange(truncated_while_down_, {})) {
    std::optional<std::string> copy = FindCopyBeside(mark.path, mark.key, mark);
    int fd = copy ? ::open(copy->c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) : -1;
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0 || InUse(KeyOf(st)) ||
        !FingerprintMatches(fd, static_cast<uint64_t>(st.st_size), mark.offset, mark.fingerprint,
                            mark.fingerprint_len)) {
      if (fd >= 0) ::close(fd);
      continue;
    }
    uint64_t offset = mark.offset;  // or further, if we were reading the copy itself
    if (auto saved = positions_->Lookup(KeyOf(st));
        saved && saved->offset > offset &&
        FingerprintMatches(fd, static_cast<uint64_t>(st.st_size), saved->offset, saved->fingerprint,
                           saved->fingerprint_len)) {
      offset = saved->offset;
    }
    spdlog::info("source {}: {} was truncated while we were down; reading its copy {} from {}",
                 config_.name, mark.path, *copy, offset);
    Drain(*copy, fd, st, offset, now);
  }
  for (const auto& [key, saved] : positions_->EntriesOfSource(config_.name)) {
    if (InUse(key) || saved.closed_at_unix_ns != 0) continue;  // followed, or done
    struct stat st {};
    std::string found_path;
    int fd = OpenBeside(saved.path, key, &found_path);
    if (fd >= 0 && ::fstat(fd, &st) == 0 && KeyOf(st) == key &&
        FingerprintMatches(fd, static_cast<uint64_t>(st.st_size), saved.offset, saved.fingerprint,
                           saved.fingerprint_len)) {
      spdlog::info("source {}: {} was renamed to {} while we were down; reading it from offset {}",
                   config_.name, saved.path, found_path, saved.offset);
      Drain(found_path, fd, st, saved.offset, now);
      continue;
    }
    if (fd >= 0) ::close(fd);
    spdlog::info("source {}: saved file {} (inode {}) is gone; forgetting its position",
                 config_.name, saved.path, key.inode);
    positions_->Forget(key);
  }
}

// Older generations of our paths with no saved position but written after the saved snapshot:
// created and rotated away while we were down (or after the last save). Read whole, except a
// copy of what the live file holds (copytruncate not finished). Files closed before the
// snapshot went quiet `grace` before it, so they are older than `since`.
void SourceWatcher::ReadGenerationsMissedWhileDown(const std::map<std::string, PathState>& found,
                                                   TailClock::time_point now) {
  const int64_t saved_at = positions_ == nullptr ? 0 : positions_->saved_at_unix_ns();
  if (saved_at == 0) return;
  const int64_t since = saved_at - std::chrono::nanoseconds(options_.follower.grace).count() / 2;
  for (const auto& [path, state] : found) {
    if (!positions_->HasPath(path)) continue;  // not followed before: nothing was missed
    int live_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    const std::string live_head = live_fd >= 0 ? FileHead(live_fd, 256) : std::string();
    if (live_fd >= 0) ::close(live_fd);
    for (const SiblingFile& file : RotatedNamesOf(path)) {
      const int64_t mtime = file.mtime.tv_sec * kNanosPerSecond + file.mtime.tv_nsec;
      if (mtime <= since || InUse(file.key) || positions_->Lookup(file.key)) continue;
      int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
      struct stat st {};
      const size_t n = std::min<size_t>(file.size, live_head.size());
      if (fd < 0 || ::fstat(fd, &st) != 0 || KeyOf(st) != file.key ||
          (n > 0 && FileHead(fd, n) == std::string_view(live_head).substr(0, n))) {
        if (fd >= 0) ::close(fd);
        continue;
      }
      spdlog::info(
          "source {}: {} was written after the last saved positions and rotated away "
          "while we were down; reading it whole",
          config_.name, file.path);
      Drain(file.path, fd, st, 0, now);
    }
  }
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

// Hands a chunk to the queue. Also the heartbeat of CheckPaths while reading or waiting.
void SourceWatcher::Push(Chunk&& chunk) {
  const auto interval = std::min(options_.active_poll_interval, options_.poll_interval);
  const auto start = TailClock::now();
  bool waited = false;
  for (auto timeout = TailClock::duration::zero();; timeout = interval) {
    if (TailClock::now() - last_path_check_ >= interval) CheckPaths();
    switch (queue_->PushFor(chunk, timeout)) {
      case BoundedQueue<Chunk>::PushResult::kPushed:
        if (waited) {
          stats_.queue_full_waits.fetch_add(1, std::memory_order_relaxed);
          stats_.queue_full_wait_ns.fetch_add(
              static_cast<uint64_t>((TailClock::now() - start).count()), std::memory_order_relaxed);
        }
        return;
      case BoundedQueue<Chunk>::PushResult::kClosed:
        queue_closed_ = true;  // shutting down: nobody will process it
        return;
      case BoundedQueue<Chunk>::PushResult::kTimedOut:
        waited = true;
        // Stopping and nobody consumes: give up rather than hang. Nothing is lost for good:
        // positions only move when a chunk is processed, so a restart reads it again.
        if (stop_ && TailClock::now() - start >= options_.follower.grace) {
          queue_closed_ = true;
          return;
        }
        break;
    }
  }
}

// Opens, without reading, a new file found at the path of a followed one: a writer may fill it
// and a rotation move it away again before the next cycle; holding it open keeps it readable.
void SourceWatcher::CheckPaths() {
  last_path_check_ = TailClock::now();
  for (const auto& [path, last_seen] : followed_paths_) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const FileKey key = KeyOf(st);
    auto known = pending_.find(path);
    if (InUse(key) || (known != pending_.end() &&
                       std::ranges::any_of(known->second, [&](const PendingFile& file) {
                         return KeyOf(file.st) == key;
                       }))) {
      continue;
    }
    PendingFile file;
    file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (file.fd >= 0 && ::fstat(file.fd, &file.st) == 0 && KeyOf(file.st) == key) {
      pending_[path].push_back(file);
    } else if (file.fd >= 0) {
      ::close(file.fd);
    }
  }
}

// Follows the files CheckPaths found at `path`, oldest first; all but the one still there were
// rotated away and are read to their end.
void SourceWatcher::AdoptPending(const std::string& path, TailClock::time_point now) {
  struct stat st {};
  const PathState now_at_path =  // not the cycle's scan: CheckPaths may have found newer files
      ::stat(path.c_str(), &st) == 0 ? PathState{true, KeyOf(st)} : PathState{};
  auto node = pending_.extract(path);
  for (PendingFile& file : node.mapped()) {
    const FileKey key = KeyOf(file.st);
    if (InUse(key)) {
      ::close(file.fd);
      continue;
    }
    const uint64_t offset = StartOffset(path, key, file.fd, static_cast<uint64_t>(file.st.st_size));
    auto follower = Follow(path, file.fd, file.st, offset);
    if (now_at_path.exists && now_at_path.key == key) {
      FileFollower& active = *(active_[path] = std::move(follower));
      hint_.WatchFile(path, key);
      active.Poll(now, &now_at_path);
      continue;
    }
    follower->Retire(now, &now_at_path);
    draining_.push_back(std::move(follower));
    draining_.back()->Poll(now, nullptr);
  }
}

// Paths stay watched by CheckPaths while their files drain and a while after they vanished
// (between logrotate's rename and create, or while nothing matched for a moment).
void SourceWatcher::ForgetOldPaths(const std::map<std::string, PathState>& found,
                                   TailClock::time_point now) {
  constexpr auto kKeepVanishedPaths = std::chrono::seconds(10);
  for (auto it = followed_paths_.begin(); it != followed_paths_.end();) {
    if (found.contains(it->first) || active_.contains(it->first)) it->second = now;
    const bool old = now - it->second > kKeepVanishedPaths && !pending_.contains(it->first);
    it = old ? followed_paths_.erase(it) : std::next(it);
  }
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
