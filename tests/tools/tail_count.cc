// Counts the numbered lines of tail_writer, either as the tailer sees them or as they are on disk.
//
//   tail_count --follow FILE --expect N --done_file F [--missing_out F] [--positions F]
//              [--ready_file F] [--timeout_s S] [--consumer_delay_us U]
//     Follows FILE with tailers::SourceWatcher (start at the beginning, default intervals) and
//     one processing loop like the daemon's (pop, count, MarkProcessed, Save every 200 ms).
//     Once --done_file exists and everything is read (nothing new for 2 s, no rotated file
//     still open, no lag), prints what it saw and writes the numbers it never saw to
//     --missing_out. Exit 0: finished (the test script judges the figures); 1: timeout.
//     --consumer_delay_us makes the processing loop slow, so the queue fills (backpressure).
//   tail_count --scan --expect N --missing_out F FILE...
//     Which numbers are on disk in FILE... (the live file and every rotated copy).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/bounded_queue.h"
#include "tailers/follow/positions_file.h"
#include "tailers/follow/source_watcher.h"

namespace {

using rrca::tailers::Chunk;
using Steady = std::chrono::steady_clock;

struct Flags {
  std::string follow, done_file, missing_out, positions, ready_file;
  long expect = 0;
  int timeout_s = 110;
  int consumer_delay_us = 0;
  bool scan = false;
  std::vector<std::string> files;
};

// The number of a whole tail_writer line, or 0 for a fragment / anything else.
long LineNumber(std::string_view line) {
  if (line.size() < 22 || line[10] != ' ' || line[line.size() - 11] != '#') return 0;
  long number = 0;
  for (size_t i = 0; i < 10; ++i) {
    if (line[i] < '0' || line[i] > '9' || line[i] != line[line.size() - 10 + i]) return 0;
    number = number * 10 + (line[i] - '0');
  }
  const size_t pad = line.size() - 22;
  if (static_cast<long>(pad) != (number * 7) % 60) return 0;
  return number;
}

struct Tally {
  std::vector<uint32_t> seen;
  uint64_t fragments = 0, out_of_range = 0;

  explicit Tally(long expect) : seen(static_cast<size_t>(expect) + 1, 0) {}
  void Line(std::string_view line) {
    const long number = LineNumber(line);
    if (number == 0) {
      ++fragments;
    } else if (number >= static_cast<long>(seen.size())) {
      ++out_of_range;
    } else {
      ++seen[static_cast<size_t>(number)];
    }
  }
  void Text(std::string_view text) {
    for (size_t start = 0, nl; (nl = text.find('\n', start)) != std::string_view::npos;
         start = nl + 1) {
      Line(text.substr(start, nl - start));
    }
  }
  // Writes the missing numbers; returns {distinct seen, duplicates}.
  std::pair<uint64_t, uint64_t> Report(const std::string& missing_out) const {
    uint64_t distinct = 0, duplicates = 0;
    std::ofstream out(missing_out);
    for (size_t i = 1; i < seen.size(); ++i) {
      if (seen[i] == 0 && !missing_out.empty()) out << i << '\n';
      distinct += seen[i] > 0;
      duplicates += seen[i] > 1 ? seen[i] - 1 : 0;
    }
    return {distinct, duplicates};
  }
};

bool Exists(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0;
}

int Scan(const Flags& flags) {
  Tally tally(flags.expect);
  for (const std::string& file : flags.files) {
    std::ifstream in(file, std::ios::binary);
    for (std::string line; std::getline(in, line);) tally.Line(line);
  }
  auto [distinct, duplicates] = tally.Report(flags.missing_out);
  std::printf("on_disk_distinct=%llu on_disk_duplicates=%llu on_disk_fragments=%llu\n",
              static_cast<unsigned long long>(distinct),
              static_cast<unsigned long long>(duplicates),
              static_cast<unsigned long long>(tally.fragments));
  return 0;
}

int Follow(const Flags& flags) {
  rrca::BoundedQueue<Chunk> queue(64);
  rrca::tailers::PositionsFile positions(flags.positions);
  (void)positions.Load();  // logged inside; a bad file is ignored
  rrca::tailers::WatcherOptions options;
  options.start_at = rrca::tailers::StartAt::kBeginning;
  rrca::tailers::SourceWatcher watcher(0, {"torture", {flags.follow}}, options, &queue,
                                       flags.positions.empty() ? nullptr : &positions);
  const auto& stats = watcher.stats();
  watcher.Start();
  Tally tally(flags.expect);
  const auto deadline = Steady::now() + std::chrono::seconds(flags.timeout_s);
  auto last_line = Steady::now(), last_save = Steady::now();
  bool ready = false, finished = false;
  while (Steady::now() < deadline) {
    if (auto chunk = queue.Pop(std::chrono::milliseconds(50))) {
      if (flags.consumer_delay_us > 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(flags.consumer_delay_us));
      }
      tally.Text(chunk->bytes);
      positions.MarkProcessed(*chunk);
      last_line = Steady::now();
    }
    if (!ready && stats.files_open.load() > 0 && !flags.ready_file.empty()) {
      std::ofstream(flags.ready_file) << "ready\n";
      ready = true;
    }
    if (Steady::now() - last_save > std::chrono::milliseconds(200)) {
      (void)positions.Save();
      last_save = Steady::now();
    }
    if (Exists(flags.done_file) && Steady::now() - last_line > std::chrono::seconds(2) &&
        stats.files_open.load() == 1 && stats.lag_bytes.load() == 0 && queue.size() == 0) {
      finished = true;
      break;
    }
  }
  // Stop() may still hand over a partial line: keep consuming while it runs.
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    watcher.Stop();
    stopped = true;
  });
  while (!stopped) {
    if (auto chunk = queue.Pop(std::chrono::milliseconds(10))) tally.Text(chunk->bytes);
  }
  stopper.join();
  while (auto chunk = queue.Pop(std::chrono::milliseconds(0))) tally.Text(chunk->bytes);
  auto [distinct, duplicates] = tally.Report(flags.missing_out);
  std::printf(
      "tailer_distinct=%llu tailer_duplicates=%llu tailer_fragments=%llu out_of_range=%llu "
      "bytes_read=%llu rotations=%llu truncations=%llu copies_recovered=%llu "
      "partial_lines_flushed=%llu queue_full_waits=%llu\n",
      static_cast<unsigned long long>(distinct), static_cast<unsigned long long>(duplicates),
      static_cast<unsigned long long>(tally.fragments),
      static_cast<unsigned long long>(tally.out_of_range),
      static_cast<unsigned long long>(stats.bytes_read.load()),
      static_cast<unsigned long long>(stats.rotations.load()),
      static_cast<unsigned long long>(stats.truncations.load()),
      static_cast<unsigned long long>(stats.copies_recovered.load()),
      static_cast<unsigned long long>(stats.partial_lines_flushed.load()),
      static_cast<unsigned long long>(stats.queue_full_waits.load()));
  if (!finished) std::fprintf(stderr, "tail_count: timed out before everything was read\n");
  return finished ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("tail_count"));  // stdout holds the figures
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : "";
    if (flag == "--scan") {
      flags.scan = true;
    } else if (flag.rfind("--", 0) == 0) {
      if (flag == "--follow") flags.follow = value;
      if (flag == "--done_file") flags.done_file = value;
      if (flag == "--missing_out") flags.missing_out = value;
      if (flag == "--positions") flags.positions = value;
      if (flag == "--ready_file") flags.ready_file = value;
      if (flag == "--expect") flags.expect = std::atol(value);
      if (flag == "--timeout_s") flags.timeout_s = std::atoi(value);
      if (flag == "--consumer_delay_us") flags.consumer_delay_us = std::atoi(value);
      ++i;
    } else {
      flags.files.push_back(flag);
    }
  }
  if (flags.expect <= 0 || (!flags.scan && flags.follow.empty())) {
    std::fprintf(stderr, "usage: see the comment at the top of tail_count.cc\n");
    return 2;
  }
  return flags.scan ? Scan(flags) : Follow(flags);
}
