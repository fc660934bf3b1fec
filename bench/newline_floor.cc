// newline_floor.cc - the floor of bench/run.sh: read the files in 1 MiB blocks and count
// '\n' with memchr.  Nothing that parses the log can be faster than this.
// Built on the fly by run.sh: g++ -O2 -o newline_floor newline_floor.cc
// Prints "<lines> <bytes>".
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  std::vector<char> buf(1 << 20);
  unsigned long long lines = 0, bytes = 0;
  for (int i = 1; i < argc; ++i) {
    int fd = open(argv[i], O_RDONLY);
    if (fd < 0) {
      std::perror(argv[i]);
      return 1;
    }
    ssize_t n;
    while ((n = read(fd, buf.data(), buf.size())) > 0) {
      bytes += static_cast<unsigned long long>(n);
      const char* p = buf.data();
      const char* end = p + n;
      while ((p = static_cast<const char*>(std::memchr(p, '\n', end - p))) != nullptr) {
        ++lines;
        ++p;
      }
    }
    close(fd);
  }
  std::printf("%llu %llu\n", lines, bytes);
  return 0;
}
