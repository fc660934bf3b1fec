#include <fcntl.h>
#include <fnmatch.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <utility>

#include "common/time_util.h"
#include "tailers/follow/source_watcher.h"

// SourceWatcher at start-up: what happened to the saved files while the daemon was down (see
// "After a restart" in the class comment).
namespace rrca::tailers {
namespace {

int OpenReadOnly(const std::string& path) {
  return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
}

// Opens the file `key` in the directory of `path` or of its symlink's target, under any
// uncompressed name; -1 if there is none. A rotation renaming files while a directory is
// listed can hide a name from that listing, or move one after it was listed, so a miss is
// looked for again a few times.
int OpenBeside(const std::string& path, FileKey key, std::string* found_path) {
  namespace fs = std::filesystem;
  std::set<fs::path> dirs{fs::path(path).parent_path()};
  if (std::string target = RealPath(path); !target.empty()) {
    dirs.insert(fs::path(target).parent_path());
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    for (const fs::path& dir : dirs) {
      std::error_code error;
      for (const auto& entry : fs::directory_iterator(dir, error)) {
        struct stat st {};
        const std::string candidate = entry.path().string();
        if (IsCompressedName(candidate) || ::stat(candidate.c_str(), &st) != 0 ||
            !S_ISREG(st.st_mode) || KeyOf(st) != key) {
          continue;
        }
        int fd = OpenReadOnly(candidate);
        if (fd >= 0 && ::fstat(fd, &st) == 0 && KeyOf(st) == key) {
          *found_path = candidate;
          return fd;
        }
        if (fd >= 0) ::close(fd);
      }
    }
  }
  return -1;
}

// A rotated generation of a followed path to be read: from `offset`, or skipped when `closed`.
struct Generation {
  SiblingFile file;
  uint64_t offset = 0;
  bool known = false;  // a saved position matched it (by (dev, inode) and fingerprint)
  bool closed = false;
};

// The rotated files beside `path`, each either known (a saved position matches it) or not. A
// file with a saved position that cannot be checked (renamed away, unreadable) is left out
// rather than taken for a new one: RecoverMovedFiles looks for it again.
std::vector<Generation> ClassifyGenerations(const std::string& path, const PositionsFile& positions,
                                            const std::set<FileKey>& skip) {
  std::vector<Generation> generations;
  for (SiblingFile& file : RotatedNamesOf(path)) {
    if (skip.contains(file.key)) continue;
    Generation generation{std::move(file)};
    if (auto saved = positions.Lookup(generation.file.key)) {
      int fd = OpenMoved(ResolvedPath(path), FileKey{}, &generation.file);
      struct stat st {};
      if (fd < 0 || ::fstat(fd, &st) != 0) {
        if (fd >= 0) ::close(fd);
        continue;
      }
      generation.known = FingerprintMatches(fd, static_cast<uint64_t>(st.st_size), saved->offset,
                                            saved->fingerprint, saved->fingerprint_len);
      ::close(fd);
      generation.offset = generation.known ? saved->offset : 0;
      generation.closed = generation.known && saved->closed_at_unix_ns != 0;
    }
    generations.push_back(std::move(generation));
  }
  return generations;
}

// copytruncate while we were down: the live file no longer holds the saved bytes, its copy does.
// The copy is then the known generation, read from the saved offset (or from its own saved
// offset, if we were already reading the copy itself and got further).
void AddCopyOfTruncated(const std::string& path, FileKey live_key, const Position& saved,
                        std::vector<Generation>* generations) {
  std::optional<SiblingFile> copy = FindCopyBeside(
      path, live_key,
      FileMark{live_key, path, saved.offset, saved.fingerprint, saved.fingerprint_len});
  if (!copy) return;
  auto it = std::ranges::find_if(*generations,
                                 [&](const Generation& g) { return g.file.key == copy->key; });
  if (it == generations->end()) {
    generations->push_back(Generation{*copy, saved.offset, true, false});
  } else if (!it->known || it->offset < saved.offset) {
    *it = Generation{*copy, saved.offset, true, false};
  }
}

bool SameHead(const SiblingFile& file, const std::string& live_head) {
  const size_t n = std::min<uint64_t>(file.size, live_head.size());
  if (n == 0) return false;
  int fd = OpenSibling(file);
  const bool same = fd >= 0 && FileHead(fd, n) == std::string_view(live_head).substr(0, n);
  if (fd >= 0) ::close(fd);
  return same;
}

}  // namespace

void SourceWatcher::RecordStart() {
  if (positions_ == nullptr || first_scan_done_ || recorded_start_ ||
      positions_->saved_at_unix_ns() != 0) {
    return;
  }
  recorded_start_ = true;
  for (const auto& [path, state] : Scan()) {
    const int fd = OpenReadOnly(path);
    struct stat st {};
    if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      const uint64_t offset = StartOffset(path, KeyOf(st), fd, static_cast<uint64_t>(st.st_size));
      const std::string before = ReadBytesBefore(fd, offset).value_or(std::string());
      positions_->Track(KeyOf(st), Position{config_.name, path, offset, Fingerprint(before),
                                            static_cast<uint32_t>(before.size())});
    }
    if (fd >= 0) ::close(fd);
  }
  // Nothing is processed yet (see the class comment): the table holds loaded or start offsets.
  if (Status saved = positions_->Save(); !saved.ok()) {
    spdlog::warn("source {}: saving where reading begins: {}", config_.name, saved.message());
  }
}

void SourceWatcher::RecoverWhileDown(const std::map<std::string, PathState>& found,
                                     TailClock::time_point now) {
  if (positions_ == nullptr) return;
  // The files at the paths are opened first and followed afterwards through these descriptors:
  // if one is rotated away meanwhile, it is still followed (and drained), not skipped as live.
  std::map<std::string, PendingFile> live_files;
  std::set<FileKey> live;
  for (const auto& [path, state] : found) {
    if (positions_->HasPath(path)) followed_before_.insert(path);  // before Track renames them
    PendingFile file{OpenReadOnly(path)};
    if (file.fd >= 0 && ::fstat(file.fd, &file.st) == 0 && S_ISREG(file.st.st_mode)) {
      live.insert(KeyOf(file.st));
      live_files[path] = file;
      // Reading the older generations can wait long for room in the queue: meanwhile Push's
      // CheckPaths holds each new file that appears at the path, to be read after this one.
      followed_paths_[path] = now;
    } else if (file.fd >= 0) {
      ::close(file.fd);
    }
  }
  held_live_ = live;
  for (const auto& [path, state] : found) {
    auto it = live_files.find(path);
    RecoverGenerations(path, it == live_files.end() ? nullptr : &it->second, live, now);
  }
  for (const std::string& path : PathsOfSavedFiles(found)) {
    followed_before_.insert(path);
    RecoverGenerations(path, nullptr, live, now);
  }
  RecoverMovedFiles(live, now);
  held_live_.clear();
  for (auto& [path, file] : live_files) OpenPath(path, now, file.fd);
}

// Saved paths matched by a pattern but with nothing there now (between a rotation's rename and
// its create): their generations are looked for too.
std::set<std::string> SourceWatcher::PathsOfSavedFiles(
    const std::map<std::string, PathState>& found) const {
  std::set<std::string> paths;
  for (const auto& [key, saved] : positions_->EntriesOfSource(config_.name)) {
    if (found.contains(saved.path)) continue;
    for (const std::string& pattern : config_.paths) {
      if (::fnmatch(pattern.c_str(), saved.path.c_str(), FNM_PATHNAME) == 0) {
        paths.insert(saved.path);
      }
    }
  }
  return paths;
}

// The generations rotated away from `path` while we were down, read oldest first: the newest
// known one (the anchor) and older known ones from their saved offsets, then every unknown one
// newer than the anchor from 0 (born and rotated away while we were down). Unknown ones older
// than the anchor were there before, or were dropped from the table long ago: not read.
void SourceWatcher::RecoverGenerations(const std::string& path, const PendingFile* live_file,
                                       const std::set<FileKey>& live, TailClock::time_point now) {
  std::optional<Position> saved_live;
  std::string live_head;
  if (live_file != nullptr) {
    saved_live = positions_->Lookup(KeyOf(live_file->st));
    // The file at the path is the one we were reading: nothing was rotated away since.
    if (saved_live &&
        FingerprintMatches(live_file->fd, static_cast<uint64_t>(live_file->st.st_size),
                           saved_live->offset, saved_live->fingerprint,
                           saved_live->fingerprint_len)) {
      return;
    }
    live_head = FileHead(live_file->fd, kGenerationHeadBytes);
  }
  std::set<FileKey> skip = live;
  for (const auto& follower : draining_) skip.insert(follower->key());
  std::vector<Generation> generations = ClassifyGenerations(path, *positions_, skip);
  if (saved_live) AddCopyOfTruncated(path, KeyOf(live_file->st), *saved_live, &generations);
  const Generation* anchor = nullptr;
  for (const Generation& g : generations) {
    if (g.known && (anchor == nullptr || NewerGeneration(g.file, anchor->file))) anchor = &g;
  }
  // No saved file is left beside the path (deleted, compressed): newer means written after the
  // saved snapshot. Files closed before it went quiet `grace` before it.
  const int64_t saved_at = positions_->saved_at_unix_ns();
  if (anchor == nullptr && (saved_at == 0 || !followed_before_.contains(path))) return;
  followed_before_.insert(path);  // the file now there came after the anchor: read from 0
  const int64_t since = saved_at - std::chrono::nanoseconds(options_.follower.grace).count() / 2;
  std::vector<Generation> to_read;
  for (const Generation& g : generations) {
    const bool newer = anchor != nullptr
                           ? NewerGeneration(g.file, anchor->file)
                           : g.file.mtime.tv_sec * kNanosPerSecond + g.file.mtime.tv_nsec > since;
    // An unknown file as old as what the live file holds may be a copy of it being made.
    if (g.known ? !g.closed : newer && !SameHead(g.file, live_head)) to_read.push_back(g);
  }
  std::ranges::sort(to_read, [](const Generation& a, const Generation& b) {
    return NewerGeneration(b.file, a.file);
  });
  for (Generation& g : to_read) ReadGeneration(path, &g.file, g.offset, g.known, now);
}

void SourceWatcher::ReadGeneration(const std::string& path, SiblingFile* file, uint64_t offset,
                                   bool known, TailClock::time_point now) {
  int fd = OpenMoved(ResolvedPath(path), FileKey{}, file);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || InUse(KeyOf(st))) {
    if (fd >= 0) ::close(fd);
    return;
  }
  if (known) {
    spdlog::info("source {}: {} was rotated to {} while we were down; reading it from offset {}",
                 config_.name, path, file->path, offset);
  } else {
    spdlog::info("source {}: {} was written and rotated away while we were down; reading it whole",
                 config_.name, file->path);
  }
  Drain(file->path, fd, st, offset, now);
}

// Saved files of this source not read by now (their path is no longer matched, or not in this
// directory): found beside their path or its symlink's target, renamed by a rotation, they are
// read to their end; not found, they are forgotten.
void SourceWatcher::RecoverMovedFiles(const std::set<FileKey>& live, TailClock::time_point now) {
  for (const auto& [key, saved] : positions_->EntriesOfSource(config_.name)) {
    if (InUse(key) || live.contains(key) || saved.closed_at_unix_ns != 0) continue;
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

}  // namespace rrca::tailers
