#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tailers/follow/tail_types.h"

// The other generations of a log file, found beside it: names a rotation gave it
// (registry.log.1, registry.log-20240101, 0.log.20240101-120000) and logrotate's copytruncate
// copies. Used by FileFollower (copies on truncation) and SourceWatcher (files rotated while
// the daemon was down).
namespace rrca::tailers {

// A file beside a followed one that may be a rotated or copied generation of it.
struct SiblingFile {
  std::string path;
  FileKey key;
  uint64_t size = 0;
  struct timespec mtime {};
};

inline FileKey KeyOf(const struct stat& st) {
  return FileKey{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

// realpath(3), or "" when the path leads nowhere.
std::string RealPath(const std::string& path);

// True when `a` is later than `b`.
bool Newer(const struct timespec& a, const struct timespec& b);

// True for names of compressed files (.gz, .bz2, .xz, .zst, .lz4, .zip, .Z): never followed.
bool IsCompressedName(std::string_view path);

// Regular, uncompressed files in the directory of `real_path` whose name starts with its stem
// (registry.log -> registry.log.1, registry.log-2024..., registry-2024.log), except `live`.
std::vector<SiblingFile> ListSiblings(const std::string& real_path, FileKey live);

// Opens `sibling` if its path still leads to the same file; -1 otherwise.
int OpenSibling(const SiblingFile& sibling);

// Opens `sibling` even if a rotation renamed it since it was listed (.1 -> .2); updates its
// path.
int OpenMoved(const std::string& real_path, FileKey live, SiblingFile* sibling);

// realpath(3) of `path`, or, when nothing is there (between a rotation's rename and create),
// of its directory followed by its name; "" when neither resolves.
std::string ResolvedPath(const std::string& path);

// Older generations of the file at `path` (symlinks followed) beside it: uncompressed regular
// files named "<its name>" + one of ".-_" + anything (registry.log.1, 0.log.20240101-120000).
// `path` itself need not exist.
std::vector<SiblingFile> RotatedNamesOf(const std::string& path);

// THE GENERATION ORDER of files rotated from one path: true when `a` was rotated away after
// `b` (is the newer generation).
//  1. The later mtime is newer. A logger writes to one generation at a time and, once it has
//     reopened the path after a rotation, never writes to an older one again, so every
//     generation was last written after every older one. (ctime is useless: a rename sets
//     it; st_size says nothing.)
//  2. Same mtime (timestamps are kernel clock ticks, a few ms: only files written within one
//     tick, usually empty ones): by rotation suffix, as the usual tools name generations:
//     a number of up to 5 digits after the last '.' (logrotate, Docker json-file) counts up
//     with age, so ".1" is newer than ".2" and ".10"; other names (dateext's -20240101,
//     kubelet's 0.log.20240101-120000) sort up with time.
//  3. Still equal: the larger inode number is newer (filesystems number new files upwards
//     unless they reuse a deleted file's number).
bool NewerGeneration(const SiblingFile& a, const SiblingFile& b);

// Up to `n` bytes from the start of `fd`.
std::string FileHead(int fd, size_t n);

// The up to `max_bytes` bytes before `offset` in `fd`; nullopt when they cannot be read.
std::optional<std::string> ReadBytesBefore(int fd, uint64_t offset,
                                           size_t max_bytes = kFingerprintBytes);

// True when the `length` bytes before `offset` in `fd` (a file of `size` bytes) hash to
// `fingerprint`: the same content as when the position was taken, not a reused inode.
bool FingerprintMatches(int fd, uint64_t size, uint64_t offset, uint64_t fingerprint,
                        uint32_t length);

}  // namespace rrca::tailers
