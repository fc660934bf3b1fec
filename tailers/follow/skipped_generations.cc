#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tailers/follow/source_watcher.h"

// SourceWatcher while running, after a followed file was rotated away: the generations born at
// its path and rotated away again before any path check held them open (see the class
// comment). The same listing and order as after a restart (RotatedNamesOf, NewerGeneration).
namespace rrca::tailers {

// Paths whose file was rotated away move on: first to the generations rotated from them since
// (those no path check held), then to the held files, oldest first (AdoptPending).
void SourceWatcher::MoveOnFromRotated(TailClock::time_point now) {
  std::vector<std::string> paths;
  for (const auto& [path, file] : retired_) {
    if (!active_.contains(path)) paths.push_back(path);
  }
  // Holds what is at the paths now before their siblings are listed: whatever is rotated after
  // the listing is newer than that held file, and is looked for when it is rotated away.
  if (!paths.empty()) CheckPaths();
  for (const std::string& path : paths) ReadSkippedGenerations(path, now);
  std::vector<std::string> pending_paths;  // AdoptPending changes pending_
  for (const auto& [path, files] : pending_) pending_paths.push_back(path);
  for (const std::string& path : pending_paths) {
    if (!active_.contains(path)) AdoptPending(path, now);
  }
}

// Reads, oldest first, the siblings of `path` newer than the file retired from it and never
// followed in this run. Files held by CheckPaths are among them once rotated away: they are
// read through their descriptors, in their place in the order. Older siblings are not read:
// they were rotated away before the retired file was (read by then, or before our time).
void SourceWatcher::ReadSkippedGenerations(const std::string& path, TailClock::time_point now) {
  SiblingFile& retired = retired_.at(path);
  std::vector<SiblingFile> rotated = RotatedNamesOf(path);
  for (const SiblingFile& file : rotated) {
    if (file.key == retired.key) retired = file;  // its last mtime and its name now
  }
  std::set<FileKey>& followed = followed_at_[path];
  std::erase_if(followed, [&](FileKey key) {  // gone (deleted, compressed): cannot come back
    return !InUse(key) &&
           std::ranges::none_of(rotated, [&](const auto& f) { return f.key == key; });
  });
  std::vector<SiblingFile> skipped;
  for (const SiblingFile& file : rotated) {
    if (file.key != retired.key && NewerGeneration(file, retired) && !followed.contains(file.key) &&
        !InUse(file.key)) {
      skipped.push_back(file);
    }
  }
  if (skipped.empty()) return;
  std::ranges::sort(
      skipped, [](const SiblingFile& a, const SiblingFile& b) { return NewerGeneration(b, a); });
  struct stat at_path {};
  const PathState now_at_path =
      ::stat(path.c_str(), &at_path) == 0 ? PathState{true, KeyOf(at_path)} : PathState{};
  for (SiblingFile& file : skipped) {
    struct stat st {};
    int fd = TakePending(path, file.key, &st);
    if (fd < 0) {
      fd = OpenMoved(ResolvedPath(path), FileKey{}, &file);
      if (fd >= 0 && (::fstat(fd, &st) != 0 || KeyOf(st) != file.key)) {
        ::close(fd);
        continue;
      }
      if (fd < 0) continue;
      spdlog::info(
          "source {}: {} was written and rotated away to {} before we opened it; "
          "reading it whole",
          config_.name, path, file.path);
    }
    DrainRotated(path, fd, st, now_at_path, now);
    retired_.at(path) = file;  // read: later calls look only for newer ones
  }
}

// The descriptor CheckPaths holds on the file `key` found at `path` (taken out of pending_), or
// -1.
int SourceWatcher::TakePending(const std::string& path, FileKey key, struct stat* st) {
  auto files = pending_.find(path);
  if (files == pending_.end()) return -1;
  auto it = std::ranges::find_if(files->second,
                                 [&](const PendingFile& file) { return KeyOf(file.st) == key; });
  if (it == files->second.end()) return -1;
  const int fd = it->fd;
  *st = it->st;
  files->second.erase(it);
  if (files->second.empty()) pending_.erase(files);
  return fd;
}

// Follows a file rotated away from `path` (taking over `fd`) to its end, counting the rotation.
void SourceWatcher::DrainRotated(const std::string& path, int fd, const struct stat& st,
                                 const PathState& now_at_path, TailClock::time_point now) {
  const FileKey key = KeyOf(st);
  if (InUse(key)) {
    ::close(fd);
    return;
  }
  followed_at_[path].insert(key);
  const uint64_t offset = StartOffset(path, key, fd, static_cast<uint64_t>(st.st_size));
  auto follower = Follow(path, fd, st, offset);
  follower->Retire(now, &now_at_path);
  draining_.push_back(std::move(follower));
  draining_.back()->Poll(now, nullptr);
}

}  // namespace rrca::tailers
