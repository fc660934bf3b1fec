#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "exporter/app/config.h"

namespace rrca::pipeline {
class Pipeline;
}  // namespace rrca::pipeline

namespace rrca::app {

struct AnalyzeOptions {
  std::vector<std::string> files;        // registry logs; "-" = stdin
  std::vector<std::string> s3_files;     // object-store logs (--s3-log)
  std::vector<std::string> proxy_files;  // Harbor's nginx / an ingress (--proxy-log)
  std::vector<std::string> core_files;   // Harbor core (--core-log)
  std::string format = "text";           // text | jsonl | metrics | html
  Config config;                         // rules, caps, windows (defaults when no --config.file)
};

struct LineAccount;

// The reading half of analyze (and of `rules suggest`): opens every file, feeds its lines to
// `pipeline` (several files lined up by time) and finishes the pipeline. With `account`, each
// file's lines also go through a reader of its own that tells which lines were not understood
// and why (the pipeline's readers only count; text and jsonl reports pay for this, metrics
// does not). Returns 0; 1 after a read error (printed on `err`; what was read is judged); -1
// when a file cannot be opened (printed; nothing was read).
int FeedFiles(const AnalyzeOptions& options, pipeline::Pipeline& pipeline, LineAccount* account,
              std::FILE* err);

// `registry-rca analyze`: reads every file from the start, lining several files up by time (as
// someone would by hand), judges every response and prints the report. Returns the exit code.
int RunAnalyze(const AnalyzeOptions& options, std::FILE* out, std::FILE* err);

}  // namespace rrca::app
