#include "rules/rule_set.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace rrca::rules {
namespace {

struct FieldName {
  std::string_view name;
  RequestField field;
};
constexpr FieldName kFields[] = {
    {"status", RequestField::kStatus},
    {"operation", RequestField::kOperation},
    {"method", RequestField::kMethod},
    {"repository", RequestField::kRepository},
    {"uri", RequestField::kUri},
    {"err.code", RequestField::kErrCode},
    {"err.message", RequestField::kErrMessage},
    {"err.detail", RequestField::kErrDetail},
    {"msg", RequestField::kMsg},
    {"messages", RequestField::kMessages},
    {"level", RequestField::kLevel},
    {"source_kind", RequestField::kSourceKind},
    {"hop", RequestField::kHop},
};

struct NumericName {
  std::string_view name;
  NumericField field;
};
constexpr NumericName kNumerics[] = {
    {"status", NumericField::kStatus},
    {"upload_age_seconds", NumericField::kUploadAgeSeconds},
    {"upload_offset", NumericField::kUploadOffset},
    {"duration_seconds", NumericField::kDurationSeconds},
};

int SeverityRank(std::string_view severity) {
  if (severity == "critical") return 3;
  if (severity == "warning") return 2;
  if (severity == "info") return 1;
  return 0;
}

bool IsSnakeCase(std::string_view text) {
  if (text.empty() || text[0] < 'a' || text[0] > 'z') return false;
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

std::string Where(const std::string& file, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  std::ostringstream out;
  out << file;
  if (mark.line >= 0) out << ":" << mark.line + 1 << ":" << mark.column + 1;
  return out.str();
}

}  // namespace

// Builds a RuleSet from YAML documents, collecting every error instead of stopping at the
// first. yaml-cpp throws; every call into it is inside this class.
class RuleSetBuilder {
 public:
  explicit RuleSetBuilder(const LoadOptions& options) : options_(options) {}

  StatusOr<std::shared_ptr<const RuleSet>> Build() {
    std::vector<Document> documents;
    LoadDocument(options_.default_rules_yaml, options_.default_rules_name, &documents);
    for (const std::string& path : options_.user_rule_files) {
      std::ifstream in(path);
      if (!in) {
        errors_.push_back(path + ": cannot read rules file");
        continue;
      }
      std::stringstream text;
      text << in.rdbuf();
      LoadDocument(text.str(), path, &documents);
    }
    for (const Document& document : documents) CollectParams(document);
    for (const auto& [name, value] : options_.param_overrides) {
      if (!set_->params_.contains(name)) {
        errors_.push_back("config: rule_params." + name + ": no rule parameter of that name");
      }
      set_->params_[name] = value;
    }
    std::vector<Rule> defaults;
    std::vector<Rule> user_first;
    for (size_t i = 0; i < documents.size(); ++i) {
      ParseRules(documents[i], i == 0 ? &defaults : nullptr, &user_first, &defaults);
    }
    for (Rule& rule : user_first) set_->rules_.push_back(std::move(rule));
    for (Rule& rule : defaults) set_->rules_.push_back(std::move(rule));
    AssignCauses();
    if (!errors_.empty()) {
      std::string message;
      for (const std::string& error : errors_) message += error + "\n";
      message.pop_back();
      return Status::Error(message);
    }
    return std::shared_ptr<const RuleSet>(std::move(set_));
  }

 private:
  struct Document {
    std::string file;
    YAML::Node root;
  };

  void LoadDocument(const std::string& text, const std::string& file,
                    std::vector<Document>* documents) {
    try {
      YAML::Node root = YAML::Load(text);
      if (!root.IsMap()) {
        errors_.push_back(file + ": a rules file is a mapping with `rules:` (and `params:`)");
        return;
      }
      for (const auto& entry : root) {
        const std::string key = entry.first.as<std::string>();
        if (key != "rules" && key != "params") {
          errors_.push_back(Where(file, entry.first) + ": " + key +
                            ": unknown key (expected rules, params)");
        }
      }
      documents->push_back({file, root});
    } catch (const YAML::Exception& e) {
      errors_.push_back(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                        std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
  }

  void CollectParams(const Document& document) {
    const YAML::Node params = document.root["params"];
    if (!params) return;
    if (!params.IsMap()) {
      errors_.push_back(Where(document.file, params) + ": params: must be a mapping");
      return;
    }
    for (const auto& entry : params) {
      // A key that is not a scalar ({[a]: 1}) throws here; outside a try that ended the process
      // at start-up and on reload (fuzz/regressions/rule_set).
      std::string name;
      try {
        name = entry.first.as<std::string>();
      } catch (const YAML::Exception&) {
        errors_.push_back(Where(document.file, entry.first) + ": params: a name must be a string");
        continue;
      }
      try {
        set_->params_[name] = entry.second.as<double>();
      } catch (const YAML::Exception&) {
        errors_.push_back(Where(document.file, entry.second) + ": params." + name +
                          ": must be a number");
      }
    }
  }

  void ParseRules(const Document& document, std::vector<Rule>* into_defaults,
                  std::vector<Rule>* user_first, std::vector<Rule>* defaults) {
    const YAML::Node list = document.root["rules"];
    if (!list) return;
    if (!list.IsSequence()) {
      errors_.push_back(Where(document.file, list) + ": rules: must be a list");
      return;
    }
    std::set<std::string> names_in_file;
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node node = list[i];
      const std::string path = "rules[" + std::to_string(i) + "]";
      bool disabled = false;
      Rule rule;
      try {
        if (!ParseRule(document.file, path, node, &rule, &disabled)) continue;
      } catch (const YAML::Exception& e) {
        errors_.push_back(Where(document.file, node) + ": " + path + ": " + e.what());
        continue;
      }
      if (!names_in_file.insert(rule.name).second) {
        errors_.push_back(rule.location + ": " + path + ": duplicate rule name " + rule.name);
        continue;
      }
      if (into_defaults != nullptr) {
        into_defaults->push_back(std::move(rule));
        continue;
      }
      // A user rule replaces the default of the same name in place, or goes first.
      auto same = std::find_if(defaults->begin(), defaults->end(),
                               [&](const Rule& r) { return r.name == rule.name; });
      if (same != defaults->end()) {
        if (disabled) {
          defaults->erase(same);
        } else {
          *same = std::move(rule);
        }
      } else if (!disabled) {
        user_first->push_back(std::move(rule));
      }
    }
  }

  bool ParseRule(const std::string& file, const std::string& path, const YAML::Node& node,
                 Rule* rule, bool* disabled) {
    const size_t errors_before = errors_.size();
    rule->location = Where(file, node);
    if (!node.IsMap()) {
      errors_.push_back(rule->location + ": " + path + ": a rule is a mapping");
      return false;
    }
    static const std::set<std::string> kKeys = {"name",     "cause",   "severity",  "summary",
                                                "runbook",  "match",   "not_match", "numeric",
                                                "examples", "disabled"};
    for (const auto& entry : node) {
      const std::string key = entry.first.as<std::string>();
      if (!kKeys.contains(key)) {
        errors_.push_back(Where(file, entry.first) + ": " + path + "." + key + ": unknown key");
      }
    }
    rule->name = Scalar(file, path, node, "name", true);
    const std::string named = rule->name.empty() ? path : path + " (" + rule->name + ")";
    if (!rule->name.empty() && !IsSnakeCase(rule->name)) {
      errors_.push_back(rule->location + ": " + named + ".name: must be snake_case");
    }
    *disabled = node["disabled"] && node["disabled"].as<std::string>() == "true";
    if (*disabled) return errors_.size() == errors_before;
    rule->cause = Scalar(file, named, node, "cause", true);
    if (!rule->cause.empty() &&
        (!IsSnakeCase(rule->cause) || rule->cause == RuleSet::kUnclassified)) {
      errors_.push_back(rule->location + ": " + named +
                        ".cause: must be snake_case and not 'unclassified'");
    }
    rule->severity = Scalar(file, named, node, "severity", true);
    if (!rule->severity.empty() && SeverityRank(rule->severity) == 0) {
      errors_.push_back(rule->location + ": " + named +
                        ".severity: must be critical, warning or info");
    }
    rule->summary = Scalar(file, named, node, "summary", true);
    rule->runbook = Scalar(file, named, node, "runbook", true);
    ParsePatterns(file, named + ".match", node["match"], &rule->match);
    ParsePatterns(file, named + ".not_match", node["not_match"], &rule->not_match);
    ParseNumeric(file, named + ".numeric", node["numeric"], &rule->numeric);
    if (!node["match"] && !node["numeric"]) {
      errors_.push_back(rule->location + ": " + named +
                        ": needs at least one match or numeric condition");
    }
    ParseExamples(file, named + ".examples", node["examples"], &rule->examples);
    return errors_.size() == errors_before;
  }

  std::string Scalar(const std::string& file, const std::string& path, const YAML::Node& node,
                     const char* key, bool required) {
    const YAML::Node value = node[key];
    if (!value) {
      if (required) errors_.push_back(Where(file, node) + ": " + path + "." + key + ": missing");
      return "";
    }
    if (!value.IsScalar()) {
      errors_.push_back(Where(file, value) + ": " + path + "." + key + ": must be a string");
      return "";
    }
    return value.as<std::string>();
  }

  void ParsePatterns(const std::string& file, const std::string& path, const YAML::Node& node,
                     std::vector<FieldPattern>* out) {
    if (!node) return;
    if (!node.IsMap()) {
      errors_.push_back(Where(file, node) + ": " + path + ": must be a mapping field: pattern");
      return;
    }
    for (const auto& entry : node) {
      const std::string name = entry.first.as<std::string>();
      const auto* known = std::find_if(std::begin(kFields), std::end(kFields),
                                       [&](const FieldName& f) { return f.name == name; });
      if (known == std::end(kFields)) {
        errors_.push_back(Where(file, entry.first) + ": " + path + "." + name +
                          ": unknown field (see rules/README.md)");
        continue;
      }
      if (!entry.second.IsScalar()) {
        errors_.push_back(Where(file, entry.second) + ": " + path + "." + name +
                          ": pattern must be a string");
        continue;
      }
      RE2::Options re_options;
      re_options.set_log_errors(false);
      // Latin-1: patterns see raw bytes, so invalid UTF-8 in a log line cannot break matching.
      re_options.set_encoding(RE2::Options::EncodingLatin1);
      auto pattern = std::make_shared<RE2>(entry.second.as<std::string>(), re_options);
      if (!pattern->ok()) {
        errors_.push_back(Where(file, entry.second) + ": " + path + "." + name +
                          ": invalid RE2 pattern: " + pattern->error());
        continue;
      }
      out->push_back({known->field, std::move(pattern)});
    }
  }

  void ParseNumeric(const std::string& file, const std::string& path, const YAML::Node& node,
                    std::vector<NumericBound>* out) {
    if (!node) return;
    if (!node.IsMap()) {
      errors_.push_back(Where(file, node) + ": " + path + ": must be a mapping");
      return;
    }
    for (const auto& entry : node) {
      const std::string name = entry.first.as<std::string>();
      const auto* known = std::find_if(std::begin(kNumerics), std::end(kNumerics),
                                       [&](const NumericName& f) { return f.name == name; });
      if (known == std::end(kNumerics) || !entry.second.IsMap()) {
        errors_.push_back(Where(file, entry.first) + ": " + path + "." + name +
                          ": unknown numeric field or not a mapping of lt/le/gt/ge");
        continue;
      }
      for (const auto& bound : entry.second) {
        const std::string op = bound.first.as<std::string>();
        Comparison comparison;
        if (op == "lt") {
          comparison = Comparison::kLt;
        } else if (op == "le") {
          comparison = Comparison::kLe;
        } else if (op == "gt") {
          comparison = Comparison::kGt;
        } else if (op == "ge") {
          comparison = Comparison::kGe;
        } else {
          errors_.push_back(Where(file, bound.first) + ": " + path + "." + name + "." + op +
                            ": expected lt, le, gt or ge");
          continue;
        }
        double value = 0;
        if (ResolveNumber(file, path + "." + name + "." + op, bound.second, &value)) {
          out->push_back({known->field, comparison, value});
        }
      }
    }
  }

  bool ResolveNumber(const std::string& file, const std::string& path, const YAML::Node& node,
                     double* value) {
    const std::string text = node.IsScalar() ? node.as<std::string>() : "";
    if (text.starts_with("$")) {
      auto param = set_->params_.find(text.substr(1));
      if (param == set_->params_.end()) {
        errors_.push_back(Where(file, node) + ": " + path + ": unknown parameter " + text);
        return false;
      }
      *value = param->second;
      return true;
    }
    try {
      *value = node.as<double>();
      return true;
    } catch (const YAML::Exception&) {
      errors_.push_back(Where(file, node) + ": " + path + ": must be a number or $param");
      return false;
    }
  }

  void ParseExamples(const std::string& file, const std::string& path, const YAML::Node& node,
                     std::vector<RuleExample>* out) {
    if (!node || !node.IsMap()) {
      errors_.push_back(Where(file, node ? node : YAML::Node()) + ": " + path +
                        ": every rule needs examples with at least one `match` entry");
      return;
    }
    for (const auto& entry : node) {
      const std::string kind = entry.first.as<std::string>();
      if (kind != "match" && kind != "no_match") {
        errors_.push_back(Where(file, entry.first) + ": " + path + "." + kind +
                          ": expected match or no_match");
        continue;
      }
      if (!entry.second.IsSequence()) {
        errors_.push_back(Where(file, entry.second) + ": " + path + "." + kind +
                          ": must be a list of log-line blocks");
        continue;
      }
      for (const auto& example : entry.second) {
        if (!example.IsScalar()) {
          errors_.push_back(Where(file, example) + ": " + path + "." + kind +
                            ": an example is a string of log lines");
          continue;
        }
        out->push_back({example.as<std::string>(), kind == "match", Where(file, example)});
      }
    }
    const bool has_match =
        std::any_of(out->begin(), out->end(), [](const RuleExample& e) { return e.should_match; });
    if (!has_match) {
      errors_.push_back(Where(file, node) + ": " + path + ": needs at least one `match` example");
    }
  }

  void AssignCauses() {
    set_->causes_ = {std::string(RuleSet::kUnclassified)};
    set_->cause_severity_ = {"critical"};  // an unknown failure pages
    for (Rule& rule : set_->rules_) {
      auto found = std::find(set_->causes_.begin(), set_->causes_.end(), rule.cause);
      if (found == set_->causes_.end()) {
        set_->causes_.push_back(rule.cause);
        set_->cause_severity_.push_back(rule.severity);
        found = set_->causes_.end() - 1;
      }
      rule.cause_id = static_cast<uint16_t>(found - set_->causes_.begin());
      std::string& severity = set_->cause_severity_[rule.cause_id];
      if (SeverityRank(rule.severity) > SeverityRank(severity)) severity = rule.severity;
    }
  }

  const LoadOptions& options_;
  std::vector<std::string> errors_;
  std::shared_ptr<RuleSet> set_ = std::make_shared<RuleSet>();
};

StatusOr<std::shared_ptr<const RuleSet>> RuleSet::Load(const LoadOptions& options) {
  return RuleSetBuilder(options).Build();
}

}  // namespace rrca::rules
