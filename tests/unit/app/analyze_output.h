#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "exporter/app/analyze.h"

// What `registry-rca analyze` prints to stdout for `options`, for tests that assert on the
// report a user reads. A non-zero exit is a test failure.
namespace rrca::app {

inline std::string AnalyzeOutput(const AnalyzeOptions& options) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  EXPECT_EQ(RunAnalyze(options, out, err), 0);
  std::rewind(out);
  std::string text;
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), out)) > 0) text.append(buffer, n);
  std::fclose(out);
  std::fclose(err);
  return text;
}

}  // namespace rrca::app
