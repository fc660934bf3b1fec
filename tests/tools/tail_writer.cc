// Appends N numbered lines to a file as fast as it can, one write(2) per line, the way a logger
// does; reopens the file on SIGHUP (logrotate's `create` + `postrotate kill -HUP`).
//
//   tail_writer --path FILE --lines N [--pid_file FILE]
//
// Line i (1-based) is "<i, 10 digits> <(7i mod 60) x's>#<i, 10 digits>\n", 23..82 bytes, so a
// line cut in two by a rotation can never pass for a whole one (see tail_count).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

volatile sig_atomic_t reopen_requested = 0;

void OnHangup(int) { reopen_requested = 1; }

int OpenLog(const char* path) {
  int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "tail_writer: open %s: %s\n", path, std::strerror(errno));
    std::exit(2);
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  const char* path = nullptr;
  const char* pid_file = nullptr;
  long lines = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--path") {
      path = argv[i + 1];
    } else if (flag == "--lines") {
      lines = std::strtol(argv[i + 1], nullptr, 10);
    } else if (flag == "--pid_file") {
      pid_file = argv[i + 1];
    }
  }
  if (path == nullptr || lines <= 0) {
    std::fprintf(stderr, "usage: tail_writer --path FILE --lines N [--pid_file FILE]\n");
    return 2;
  }
  struct sigaction action {};
  action.sa_handler = OnHangup;
  action.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &action, nullptr);
  if (pid_file != nullptr) {
    FILE* out = std::fopen(pid_file, "w");
    if (out == nullptr) return 2;
    std::fprintf(out, "%d\n", static_cast<int>(::getpid()));
    std::fclose(out);
  }
  int fd = OpenLog(path);
  long reopens = 0;
  char line[128];
  const std::string padding(64, 'x');
  for (long i = 1; i <= lines; ++i) {
    if (reopen_requested) {
      reopen_requested = 0;
      ::close(fd);
      fd = OpenLog(path);
      ++reopens;
    }
    const int pad = static_cast<int>((i * 7) % 60);
    const int length =
        std::snprintf(line, sizeof(line), "%010ld %.*s#%010ld\n", i, pad, padding.c_str(), i);
    if (::write(fd, line, static_cast<size_t>(length)) != length) {
      std::fprintf(stderr, "tail_writer: write: %s\n", std::strerror(errno));
      return 1;
    }
  }
  ::close(fd);
  std::printf("tail_writer: wrote %ld lines, reopened the file %ld times\n", lines, reopens);
  return 0;
}
