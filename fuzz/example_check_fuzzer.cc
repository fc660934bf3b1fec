// Fuzzes the whole pipeline (exporter/app/example_check.h ClassifyExample): the input's lines go
// through envelope removal, record parsing, request joining, `_state` decoding, the repository
// table and the default rule catalogue, as `registry-rca analyze` would run them on one file.
// Seeds: fuzz/corpus/example_check/ (runs of real lines from tests/testdata).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "exporter/app/config.h"
#include "exporter/app/example_check.h"
#include "exporter/app/rules_loader.h"
#include "fuzz/fuzz_util.h"

namespace {

const rrca::rules::RuleSet& DefaultRules() {
  static const std::shared_ptr<const rrca::rules::RuleSet> rules = [] {
    auto loaded = rrca::app::LoadRules(rrca::app::Config());
    RRCA_FUZZ_CHECK(loaded.ok());
    return loaded.value();
  }();
  return *rules;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string lines(reinterpret_cast<const char*>(data), size);
  rrca::app::Config config;
  // A small cap so the folding into __other__ runs too.
  config.max_repositories = 3;
  for (const std::string& verdict : rrca::app::ClassifyExample(lines, DefaultRules(), config)) {
    rrca::fuzz::Touch(verdict);
  }
  return 0;
}
