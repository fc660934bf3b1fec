#include "tailers/follow/rotated_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <utility>

namespace rrca::tailers {
namespace {

// A rotation number: the up to 5 digits after the last '.' of `name` (registry.log.3), and what
// comes before them. Longer digit runs are dates or times (.20240101), which sort up instead.
std::optional<std::pair<std::string_view, uint64_t>> NumberedSuffix(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == name.size() || name.size() - dot - 1 > 5) {
    return std::nullopt;
  }
  uint64_t number = 0;
  for (char c : name.substr(dot + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + static_cast<uint64_t>(c - '0');
  }
  return std::make_pair(name.substr(0, dot), number);
}

}  // namespace

std::string RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  return ::realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : std::string();
}

bool Newer(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}

bool IsCompressedName(std::string_view path) {
  for (std::string_view suffix : {".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip", ".Z"}) {
    if (path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix) {
      return true;
    }
  }
  return false;
}

// A rotation renaming files during a listing can hide a name from it: listed until a listing
// finds no file the earlier ones missed (at least twice, at most kMaxPasses), merged by identity.
std::vector<SiblingFile> ListSiblings(const std::string& real_path, FileKey live) {
  namespace fs = std::filesystem;
  // A rotation renames every numbered generation (.1 -> .2 -> ...) while we list: readdir may
  // miss an entry renamed under it, and a name may lead to another file by the time it is
  // stat'ed. So the directory is listed until two passes in a row agree (the same names leading
  // to the same files, no name vanishing between readdir and stat), at most kMaxPasses times,
  // and the union of all passes is returned: a file seen under any name in any pass is in it.
  constexpr int kMaxPasses = 8;
  const fs::path path(real_path);
  const std::string base = path.filename().string();
  const std::string stem = base.substr(0, base.find('.'));
  std::map<FileKey, SiblingFile> found;
  std::map<std::string, FileKey> previous;
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    std::map<std::string, FileKey> seen;
    bool vanished = false;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(path.parent_path(), error)) {
      const std::string name = entry.path().filename().string();
      if (name == base || name.rfind(stem, 0) != 0 || IsCompressedName(name)) continue;
      struct stat st {};
      if (::stat(entry.path().c_str(), &st) != 0) {
        vanished = true;  // renamed or deleted between readdir and stat
        continue;
      }
      if (!S_ISREG(st.st_mode)) continue;
      seen[name] = KeyOf(st);
      if (KeyOf(st) != live) {
        found[KeyOf(st)] = SiblingFile{entry.path().string(), KeyOf(st),
                                       static_cast<uint64_t>(st.st_size), st.st_mtim};
      }
    }
    if (pass > 0 && !vanished && seen == previous) break;
    previous = std::move(seen);
  }
  std::vector<SiblingFile> siblings;
  for (auto& [key, sibling] : found) siblings.push_back(std::move(sibling));
  return siblings;
}

int OpenSibling(const SiblingFile& sibling) {
  int fd = ::open(sibling.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  struct stat st {};
  if (fd >= 0 && (::fstat(fd, &st) != 0 || KeyOf(st) != sibling.key)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int OpenMoved(const std::string& real_path, FileKey live, SiblingFile* sibling) {
  int fd = OpenSibling(*sibling);
  if (fd >= 0) return fd;
  for (const SiblingFile& now : ListSiblings(real_path, live)) {
    if (now.key == sibling->key) {
      sibling->path = now.path;
      return OpenSibling(*sibling);
    }
  }
  return -1;
}

std::string ResolvedPath(const std::string& path) {
  if (std::string real = RealPath(path); !real.empty()) return real;
  const std::filesystem::path name(path);
  const std::string dir = RealPath(name.has_parent_path() ? name.parent_path().string() : ".");
  return dir.empty() ? std::string() : (std::filesystem::path(dir) / name.filename()).string();
}

std::vector<SiblingFile> RotatedNamesOf(const std::string& path) {
  const std::string real_path = ResolvedPath(path);
  if (real_path.empty()) return {};
  const std::string name = std::filesystem::path(real_path).filename().string();
  std::vector<SiblingFile> rotated;
  for (SiblingFile& sibling : ListSiblings(real_path, FileKey{})) {
    const std::string other = std::filesystem::path(sibling.path).filename().string();
    if (other.size() > name.size() && other.rfind(name, 0) == 0 &&
        std::strchr(".-_", other[name.size()]) != nullptr) {
      rotated.push_back(std::move(sibling));
    }
  }
  return rotated;
}

bool NewerGeneration(const SiblingFile& a, const SiblingFile& b) {
  if (Newer(a.mtime, b.mtime)) return true;
  if (Newer(b.mtime, a.mtime)) return false;
  const std::string name_a = std::filesystem::path(a.path).filename().string();
  const std::string name_b = std::filesystem::path(b.path).filename().string();
  if (name_a != name_b) {
    auto numbered_a = NumberedSuffix(name_a);
    auto numbered_b = NumberedSuffix(name_b);
    if (numbered_a && numbered_b && numbered_a->first == numbered_b->first) {
      return numbered_a->second < numbered_b->second;
    }
    return name_a > name_b;
  }
  return a.key.inode > b.key.inode;
}

std::string FileHead(int fd, size_t n) {
  std::string bytes(n, '\0');
  ssize_t got = ::pread(fd, bytes.data(), n, 0);
  bytes.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return bytes;
}

std::optional<std::string> ReadBytesBefore(int fd, uint64_t offset, size_t max_bytes) {
  const size_t length = static_cast<size_t>(std::min<uint64_t>(offset, max_bytes));
  std::string bytes(length, '\0');
  size_t done = 0;
  while (done < length) {
    ssize_t n =
        ::pread(fd, bytes.data() + done, length - done, static_cast<off_t>(offset - length + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    done += static_cast<size_t>(n);
  }
  return bytes;
}

bool FingerprintMatches(int fd, uint64_t size, uint64_t offset, uint64_t fingerprint,
                        uint32_t length) {
  if (offset > size) return false;
  if (length == 0) return true;
  auto bytes = ReadBytesBefore(fd, offset, length);
  return bytes && bytes->size() == length && Fingerprint(*bytes) == fingerprint;
}

}  // namespace rrca::tailers
