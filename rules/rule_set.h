#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/request.h"
#include "common/status.h"

namespace re2 {
class RE2;
}

// The root-cause catalogue: ordered rules loaded from YAML (format: rules/README.md), compiled
// once, then applied to joined requests. Immutable after Load, so one RuleSet is shared by the
// processing thread and readers (reload swaps the whole set). Classify never throws.
namespace rrca::rules {

enum class RequestField : uint8_t {
  kStatus,
  kOperation,
  kMethod,
  kRepository,
  kUri,
  kErrCode,
  kErrMessage,
  kErrDetail,
  kMsg,
  kMessages,
  kLevel,
  kSourceKind,
  kHop,
};

enum class NumericField : uint8_t { kStatus, kUploadAgeSeconds, kUploadOffset, kDurationSeconds };
enum class Comparison : uint8_t { kLt, kLe, kGt, kGe };

struct FieldPattern {
  RequestField field;
  std::shared_ptr<const re2::RE2> pattern;
};

struct NumericBound {
  NumericField field;
  Comparison comparison;
  double value;
};

// An example from a rule's `examples`: the log lines and where they were written.
struct RuleExample {
  std::string lines;
  bool should_match = true;
  std::string location;  // file:line
};

struct Rule {
  std::string name;
  std::string cause;
  std::string severity;
  std::string summary;
  std::string runbook;
  std::vector<FieldPattern> match;
  std::vector<FieldPattern> not_match;
  std::vector<NumericBound> numeric;
  std::vector<RuleExample> examples;
  std::string location;  // file:line of the rule
  uint16_t cause_id = 0;
};

struct Verdict {
  const Rule* rule = nullptr;  // nullptr: no rule matched (cause "unclassified")
  uint16_t cause_id = 0;
};

struct LoadOptions {
  std::string default_rules_yaml;  // the built-in catalogue's text
  std::string default_rules_name = "default_rules.yaml";
  std::vector<std::string> user_rule_files;  // already expanded paths
  std::map<std::string, double> param_overrides;
};

class RuleSet {
 public:
  static constexpr std::string_view kUnclassified = "unclassified";

  // Every problem is reported at once, one per line, as "file:line:col: path: message".
  static StatusOr<std::shared_ptr<const RuleSet>> Load(const LoadOptions& options);

  Verdict Classify(const JoinedRequest& request) const;

  const std::vector<Rule>& rules() const { return rules_; }
  // Cause names by id; id 0 is "unclassified".
  const std::vector<std::string>& causes() const { return causes_; }
  const std::string& CauseName(uint16_t id) const { return causes_[id]; }
  // Severity of a cause: the most severe of the rules that give it.
  const std::string& CauseSeverity(uint16_t id) const { return cause_severity_[id]; }
  const std::map<std::string, double>& params() const { return params_; }

 private:
  std::vector<Rule> rules_;
  std::vector<std::string> causes_;
  std::vector<std::string> cause_severity_;
  std::map<std::string, double> params_;

  friend class RuleSetBuilder;
};

// The built-in catalogue (rules/default_rules.yaml compiled into the binary).
std::string_view DefaultRulesYaml();

}  // namespace rrca::rules
