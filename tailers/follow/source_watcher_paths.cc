#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "tailers/follow/source_watcher.h"

// Between cycles: the inotify wake-up hint, and the paths watched while chunks are handed over
// (CheckPaths), so that a file rotated away again before its turn is still read.
namespace rrca::tailers {

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
    if (InUse(key) || held_live_.contains(key) ||
        (known != pending_.end() &&
         std::ranges::any_of(known->second,
                             [&](const PendingFile& file) { return KeyOf(file.st) == key; }))) {
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
    if (!now_at_path.exists || now_at_path.key != key) {
      DrainRotated(path, file.fd, file.st, now_at_path, now);
      continue;
    }
    const uint64_t offset = StartOffset(path, key, file.fd, static_cast<uint64_t>(file.st.st_size));
    followed_at_[path].insert(key);
    FileFollower& active = *(active_[path] = Follow(path, file.fd, file.st, offset));
    hint_.WatchFile(path, key);
    active.Poll(now, &now_at_path);
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
    if (!old) {
      ++it;
      continue;
    }
    retired_.erase(it->first);
    followed_at_.erase(it->first);
    it = followed_paths_.erase(it);
  }
}

}  // namespace rrca::tailers
