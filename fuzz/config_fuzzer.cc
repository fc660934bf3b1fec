// Fuzzes exporter/app/config.h: ParseConfig on arbitrary YAML, then (when valid) turns it into
// pipeline options and builds the repository table from it, as the daemon does at start-up and
// on reload. A bad file must give "file:line:col: path: message" errors, never a crash, an
// escaped exception or undefined behaviour (e.g. a float-to-integer cast out of range).
// Seeds: fuzz/corpus/config/. Dictionary: yaml.dict.
#include <cstddef>
#include <cstdint>
#include <string>

#include "exporter/app/config.h"
#include "exporter/app/rules_loader.h"
#include "exporter/pipeline/repository_table.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = rrca::app::ParseConfig(text, "fuzz.yaml");
  if (!parsed.ok()) {
    const std::string& message = parsed.status().message();
    RRCA_FUZZ_CHECK(message.starts_with("fuzz.yaml"));
    return 0;
  }
  const rrca::app::Config& config = parsed.value();
  RRCA_FUZZ_CHECK(!config.sources.empty());
  RRCA_FUZZ_CHECK(config.poll_interval_seconds > 0);
  RRCA_FUZZ_CHECK(config.join_window_seconds > 0 && config.access_window_seconds > 0);
  RRCA_FUZZ_CHECK(config.max_repositories >= 1 && config.max_line_bytes >= 1024);
  const auto options = rrca::app::PipelineOptionsFrom(config, 2026);
  RRCA_FUZZ_CHECK(options.join.window_ns > 0 && options.join.access_window_ns > 0);
  // The cap only bounds growth; building the table compiles the rewrites.
  rrca::pipeline::RepositoryTable table(config.max_repositories, config.repository_rewrites);
  rrca::fuzz::Touch(table.Name(table.Intern("library/alpine")));
  rrca::fuzz::Touch(table.Name(table.Intern("gitlab-ci/12345")));
  return 0;
}
