#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "exporter/app/config.h"
#include "exporter/pipeline/templates.h"

namespace rrca::app {

struct SuggestOptions {
  std::vector<std::string> files;  // registry logs; "-" = stdin
  Config config;                   // the rules in force (a suggestion is only for what they miss)
  size_t max_rules = 10;
};

// `registry-rca rules suggest FILE...`: reads the files as analyze does, and prints a rules file
// (rules/README.md's format) with one rule skeleton per top unclassified message template: a
// placeholder cause (new_cause_N), the template as an RE2 pattern on its field, and real lines
// of the first such request as its `examples.match`, proven before printing (with the rule
// added, those lines yield errors this rule classifies, as `registry-rca check` demands).
// Returns the exit code.
int RunRulesSuggest(const SuggestOptions& options, std::FILE* out, std::FILE* err);

// One rule's YAML (list item under `rules:`), exposed for tests. `example` holds whole log
// lines; empty: no examples section (the rule will not pass `check` until one is added).
std::string RuleSkeletonYaml(const pipeline::TemplateTable::Entry& entry, size_t index,
                             const std::string& example);

// A YAML single-quoted scalar of `text` (quotes doubled, control bytes as spaces).
std::string YamlSingleQuoted(std::string_view text);

}  // namespace rrca::app
