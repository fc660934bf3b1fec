// Fuzzes rules/rule_set.h: RuleSet::Load with the input as the catalogue's YAML (the format of
// rules/README.md), then, when it loads, Classify on a few requests and every rule's examples
// through the real pipeline (what `registry-rca check` does). A bad file must give errors,
// never a crash or an escaped exception. Seeds: fuzz/corpus/rule_set/ (single rules cut from
// rules/default_rules.yaml). Dictionary: yaml.dict.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/request.h"
#include "exporter/app/config.h"
#include "exporter/app/example_check.h"
#include "fuzz/fuzz_util.h"
#include "rules/rule_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rrca::rules::LoadOptions options;
  options.default_rules_yaml.assign(reinterpret_cast<const char*>(data), size);
  options.default_rules_name = "fuzz.yaml";
  auto loaded = rrca::rules::RuleSet::Load(options);
  if (!loaded.ok()) {
    RRCA_FUZZ_CHECK(!loaded.status().message().empty());
    return 0;
  }
  const rrca::rules::RuleSet& rules = *loaded.value();
  RRCA_FUZZ_CHECK(!rules.causes().empty() && rules.causes()[0] == "unclassified");

  rrca::JoinedRequest request;
  request.method = "PATCH";
  request.uri = "/v2/library/alpine/blobs/uploads/0b1c?_state=x";
  request.repository = "library/alpine";
  request.operation = rrca::Operation::kBlobUploadChunk;
  request.err_code = "BLOB_UPLOAD_UNKNOWN";
  request.err_detail = "Path not found: /docker/registry/v2/repositories/x/_uploads/u/data";
  request.messages = "error: error resolving upload\n";
  for (const int status : {0, 200, 404, 500, 503}) {
    request.status = status;
    request.upload_age_seconds = status == 500 ? 12.5 : NAN;
    const rrca::rules::Verdict verdict = rules.Classify(request);
    if (verdict.rule != nullptr) RRCA_FUZZ_CHECK(verdict.cause_id < rules.causes().size());
    rrca::fuzz::Touch(rules.CauseName(verdict.cause_id));
    rrca::fuzz::Touch(rules.CauseSeverity(verdict.cause_id));
  }
  const auto failures = rrca::app::CheckRuleExamples(rules, rrca::app::Config());
  for (const auto& failure : failures) rrca::fuzz::Touch(failure.message);
  return 0;
}
