#include <malloc.h>

#include "exporter/app/cli.h"

int main(int argc, char** argv) {
  // glibc raises its mmap threshold to the size of each freed mmapped block (up to 32 MiB), so
  // after one large request body or scrape every later one came from the heaps of the threads
  // that touched them and was never returned: 40 bodies of 7 MB left 190 MB resident. A fixed
  // threshold keeps blocks above 1 MiB in mmap, returned to the system when freed.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  return rrca::app::RunCli(argc, argv);
}
