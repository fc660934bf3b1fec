#pragma once

#include <string>
#include <vector>

#include "exporter/app/config.h"
#include "rules/rule_set.h"

namespace rrca::app {

struct ExampleFailure {
  std::string rule;
  std::string location;  // file:line of the example
  std::string message;
};

// Runs every rule's examples through the real pipeline (envelope, parser, joiner, classifier):
// a `match` example must yield at least one error request and each must be classified by that
// very rule; a `no_match` example must yield none classified by it.
std::vector<ExampleFailure> CheckRuleExamples(const rules::RuleSet& rules, const Config& config);

// Feeds the lines of one example through a fresh pipeline; returns "rule:cause" per error. The
// example of a rule that judges a hop in front of the registry (`hop: proxy|core`) is read as
// that hop's log, as CheckRuleExamples does.
std::vector<std::string> ClassifyExample(const std::string& lines, const rules::RuleSet& rules,
                                         const Config& config, const rules::Rule* rule = nullptr);

}  // namespace rrca::app
