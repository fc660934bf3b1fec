#pragma once

// Helpers of the tailer tests that write real files and read what the watcher queued.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

namespace rrca::tailers::test_files {

// Appends with one write(2), as a logger does.
inline void Append(const std::filesystem::path& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
}

inline std::string Lines(int from, int to) {  // "from\n...to\n"
  std::string text;
  for (int i = from; i <= to; ++i) text += std::to_string(i) + "\n";
  return text;
}

// Every numbered line from..to exactly once, in any order between files, nothing else.
inline void ExpectEachOnce(const std::string& text, int from, int to) {
  std::map<std::string, int> seen;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    ++seen[text.substr(start, nl - start)];
  }
  EXPECT_EQ(start, text.size()) << "text does not end with a newline";
  std::map<std::string, int> expected;
  for (int i = from; i <= to; ++i) expected[std::to_string(i)] = 1;
  EXPECT_EQ(seen, expected) << text;
}

template <typename Predicate>
bool WaitFor(Predicate predicate, std::chrono::seconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace rrca::tailers::test_files
