#include "bench/bench_corpus.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace rrca::bench {
namespace {

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && st.st_size > 0;
}

}  // namespace

std::string CorpusDir() {
  const char* dir = std::getenv("RRCA_BENCH_CORPUS");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp/rrca-microbench";
}

std::string Corpus(const std::string& name, const std::string& args) {
  const std::string dir = CorpusDir();
  const std::string path = dir + "/" + name;
  if (Exists(path)) return path;
  const std::string command = "mkdir -p '" + dir +
                              "' && python3 '" RRCA_SOURCE_DIR
                              "/bench/gen_logs.py' --quiet --seed 1 " +
                              args + " --out '" + path + "'";
  std::fprintf(stderr, "generating %s\n", path.c_str());
  if (std::system(command.c_str()) != 0 || !Exists(path)) {
    throw std::runtime_error("cannot generate corpus: " + command);
  }
  return path;
}

std::string MainCorpus() {
  const std::string dir = CorpusDir();
  return Corpus("registry-20M.log",
                "--size 20M --s3-log '" + dir + "/s3-20M.log' --rgw-log '" + dir + "/rgw-20M.log'");
}

const Lines& LoadLines(const std::string& path) {
  static std::map<std::string, Lines> cache;
  auto found = cache.find(path);
  if (found != cache.end()) return found->second;
  Lines& out = cache[path];
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out.text = buffer.str();
  out.bytes = out.text.size();
  std::string_view rest = out.text;
  while (!rest.empty()) {
    const size_t newline = rest.find('\n');
    const size_t length = newline == std::string_view::npos ? rest.size() : newline;
    out.lines.push_back(rest.substr(0, length));
    rest.remove_prefix(std::min(rest.size(), length + 1));
  }
  return out;
}

const Lines& RegistryText() { return LoadLines(MainCorpus()); }

const Lines& StoreAws() {
  MainCorpus();
  return LoadLines(CorpusDir() + "/s3-20M.log");
}

const Lines& StoreRgw() {
  MainCorpus();
  return LoadLines(CorpusDir() + "/rgw-20M.log");
}

}  // namespace rrca::bench
