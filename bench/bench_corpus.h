#pragma once

// The generated corpus the micro-benchmarks read: bench/gen_logs.py writes each file once into
// $RRCA_BENCH_CORPUS (default /tmp/rrca-microbench); same arguments, same bytes.
#include <string>
#include <string_view>
#include <vector>

namespace rrca::bench {

struct Lines {
  std::string text;
  std::vector<std::string_view> lines;  // without their newlines
  size_t bytes = 0;                     // including newlines
};

std::string CorpusDir();
// Generates `name` with gen_logs.py `args` unless it exists; returns its path.
std::string Corpus(const std::string& name, const std::string& args);
// The 20 MB registry log (seed 1) with its AWS and RGW store logs.
std::string MainCorpus();
// A file's lines, read once and kept for the process's life.
const Lines& LoadLines(const std::string& path);

const Lines& RegistryText();
const Lines& StoreAws();
const Lines& StoreRgw();

}  // namespace rrca::bench
