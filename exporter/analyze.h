#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "exporter/config.h"

namespace rrca::exporter {

struct AnalyzeOptions {
  std::vector<std::string> files;     // registry logs; "-" = stdin
  std::vector<std::string> s3_files;  // object-store logs (--s3-log)
  std::string format = "text";        // text | jsonl | metrics
  Config config;                      // rules, caps, windows (defaults when no --config.file)
};

// `registry-rca analyze`: reads every file from the start, lining several files up by time (as
// someone would by hand), judges every response and prints the report. Returns the exit code.
int RunAnalyze(const AnalyzeOptions& options, std::FILE* out, std::FILE* err);

}  // namespace rrca::exporter
