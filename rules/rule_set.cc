#include "rules/rule_set.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "common/yaml_fields.h"

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

}  // namespace

// Builds a RuleSet from YAML documents, collecting every error instead of stopping at the
// first (as "file:line:col: path: message", YamlFields' format). yaml-cpp throws; every call into
// it is inside this class.
class RuleSetBuilder {
 public:
  explicit RuleSetBuilder(const LoadOptions& options) : options_(options) {}

  StatusOr<std::shared_ptr<const RuleSet>> Build() {
    std::vector<Document> documents;
    LoadDocument(options_.default_rules_yaml, options_.default_rules_name, &documents);
    for (const std::string& path : options_.user_rule_files) {
      std::ifstream in(path);
      if (!in) {
        fields_.AddError(path + ": cannot read rules file");
        continue;
      }
      std::stringstream text;
      text << in.rdbuf();
      LoadDocument(text.str(), path, &documents);
    }
    for (const Document& document : documents) CollectParams(document);
    for (const auto& [name, value] : options_.param_overrides) {
      if (!set_->params_.contains(name)) {
        fields_.AddError("config: rule_params." + name + ": no rule parameter of that name");
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
    if (!fields_.errors().empty()) return fields_.status();
    return std::shared_ptr<const RuleSet>(std::move(set_));
  }

 private:
  struct Document {
    std::string file;
    YAML::Node root;
  };

  void LoadDocument(const std::string& text, const std::string& file,
                    std::vector<Document>* documents) {
    fields_.set_file(file);
    try {
      YAML::Node root = YAML::Load(text);
      if (!root.IsMap()) {
        fields_.AddError(file + ": a rules file is a mapping with `rules:` (and `params:`)");
        return;
      }
      for (const auto& entry : root) {
        const std::string key = entry.first.as<std::string>();
        if (key != "rules" && key != "params") {
          fields_.Error(entry.first, key, "unknown key (expected rules, params)");
        }
      }
      documents->push_back({file, root});
    } catch (const YAML::Exception& e) {
      fields_.AddError(YamlSyntaxError(file, e));
    }
  }

  void CollectParams(const Document& document) {
    fields_.set_file(document.file);
    const YAML::Node params = document.root["params"];
    if (!params) return;
    if (!params.IsMap()) {
      fields_.Error(params, "params", "must be a mapping");
      return;
    }
    for (const auto& entry : params) {
      // A key that is not a scalar ({[a]: 1}) throws here; outside a try that ended the process
      // at start-up and on reload (fuzz/regressions/rule_set).
      std::string name;
      try {
        name = entry.first.as<std::string>();
      } catch (const YAML::Exception&) {
        fields_.Error(entry.first, "params", "a name must be a string");
        continue;
      }
      try {
        set_->params_[name] = entry.second.as<double>();
      } catch (const YAML::Exception&) {
        fields_.Error(entry.second, "params." + name, "must be a number");
      }
    }
  }

  void ParseRules(const Document& document, std::vector<Rule>* into_defaults,
                  std::vector<Rule>* user_first, std::vector<Rule>* defaults) {
    fields_.set_file(document.file);
    const YAML::Node list = document.root["rules"];
    if (!list) return;
    if (!list.IsSequence()) {
      fields_.Error(list, "rules", "must be a list");
      return;
    }
    std::set<std::string> names_in_file;
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node node = list[i];
      const std::string path = "rules[" + std::to_string(i) + "]";
      bool disabled = false;
      Rule rule;
      try {
        if (!ParseRule(path, node, &rule, &disabled)) continue;
      } catch (const YAML::Exception& e) {
        fields_.Error(node, path, e.what());
        continue;
      }
      if (!names_in_file.insert(rule.name).second) {
        fields_.Error(node, path, "duplicate rule name " + rule.name);
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

  bool ParseRule(const std::string& path, const YAML::Node& node, Rule* rule, bool* disabled) {
    const size_t errors_before = fields_.errors().size();
    rule->location = fields_.Where(node);
    if (!node.IsMap()) {
      fields_.Error(node, path, "a rule is a mapping");
      return false;
    }
    static const std::set<std::string> kKeys = {"name",     "cause",   "severity",  "summary",
                                                "runbook",  "match",   "not_match", "numeric",
                                                "examples", "disabled"};
    for (const auto& entry : node) {
      const std::string key = entry.first.as<std::string>();
      if (!kKeys.contains(key)) {
        fields_.Error(entry.first, path + "." + key, "unknown key");
      }
    }
    rule->name = Scalar(path, node, "name", true);
    const std::string named = rule->name.empty() ? path : path + " (" + rule->name + ")";
    if (!rule->name.empty() && !IsSnakeCase(rule->name)) {
      fields_.Error(node, named + ".name", "must be snake_case");
    }
    *disabled = node["disabled"] && node["disabled"].as<std::string>() == "true";
    if (*disabled) return fields_.errors().size() == errors_before;
    rule->cause = Scalar(named, node, "cause", true);
    if (!rule->cause.empty() &&
        (!IsSnakeCase(rule->cause) || rule->cause == RuleSet::kUnclassified)) {
      fields_.Error(node, named + ".cause", "must be snake_case and not 'unclassified'");
    }
    rule->severity = Scalar(named, node, "severity", true);
    if (!rule->severity.empty() && SeverityRank(rule->severity) == 0) {
      fields_.Error(node, named + ".severity", "must be critical, warning or info");
    }
    rule->summary = Scalar(named, node, "summary", true);
    rule->runbook = Scalar(named, node, "runbook", true);
    ParsePatterns(named + ".match", node["match"], &rule->match);
    ParsePatterns(named + ".not_match", node["not_match"], &rule->not_match);
    ParseNumeric(named + ".numeric", node["numeric"], &rule->numeric);
    if (!node["match"] && !node["numeric"]) {
      fields_.Error(node, named, "needs at least one match or numeric condition");
    }
    ParseExamples(named + ".examples", node["examples"], &rule->examples);
    return fields_.errors().size() == errors_before;
  }

  std::string Scalar(const std::string& path, const YAML::Node& node, const char* key,
                     bool required) {
    const YAML::Node value = node[key];
    if (!value) {
      if (required) fields_.Error(node, path + "." + key, "missing");
      return "";
    }
    return fields_.String(value, path + "." + key);
  }

  void ParsePatterns(const std::string& path, const YAML::Node& node,
                     std::vector<FieldPattern>* out) {
    if (!node) return;
    if (!node.IsMap()) {
      fields_.Error(node, path, "must be a mapping field: pattern");
      return;
    }
    for (const auto& entry : node) {
      const std::string name = entry.first.as<std::string>();
      const auto* known = std::find_if(std::begin(kFields), std::end(kFields),
                                       [&](const FieldName& f) { return f.name == name; });
      if (known == std::end(kFields)) {
        fields_.Error(entry.first, path + "." + name, "unknown field (see rules/README.md)");
        continue;
      }
      if (!entry.second.IsScalar()) {
        fields_.Error(entry.second, path + "." + name, "pattern must be a string");
        continue;
      }
      RE2::Options re_options;
      re_options.set_log_errors(false);
      // Latin-1: patterns see raw bytes, so invalid UTF-8 in a log line cannot break matching.
      re_options.set_encoding(RE2::Options::EncodingLatin1);
      auto pattern = std::make_shared<RE2>(entry.second.as<std::string>(), re_options);
      if (!pattern->ok()) {
        fields_.Error(entry.second, path + "." + name, "invalid RE2 pattern: " + pattern->error());
        continue;
      }
      out->push_back({known->field, std::move(pattern)});
    }
  }

  void ParseNumeric(const std::string& path, const YAML::Node& node,
                    std::vector<NumericBound>* out) {
    if (!node) return;
    if (!node.IsMap()) {
      fields_.Error(node, path, "must be a mapping");
      return;
    }
    for (const auto& entry : node) {
      const std::string name = entry.first.as<std::string>();
      const auto* known = std::find_if(std::begin(kNumerics), std::end(kNumerics),
                                       [&](const NumericName& f) { return f.name == name; });
      if (known == std::end(kNumerics) || !entry.second.IsMap()) {
        fields_.Error(entry.first, path + "." + name,
                      "unknown numeric field or not a mapping of lt/le/gt/ge");
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
          fields_.Error(bound.first, path + "." + name + "." + op, "expected lt, le, gt or ge");
          continue;
        }
        double value = 0;
        if (ResolveNumber(path + "." + name + "." + op, bound.second, &value)) {
          out->push_back({known->field, comparison, value});
        }
      }
    }
  }

  bool ResolveNumber(const std::string& path, const YAML::Node& node, double* value) {
    const std::string text = node.IsScalar() ? node.as<std::string>() : "";
    if (text.starts_with("$")) {
      auto param = set_->params_.find(text.substr(1));
      if (param == set_->params_.end()) {
        fields_.Error(node, path, "unknown parameter " + text);
        return false;
      }
      *value = param->second;
      return true;
    }
    try {
      *value = node.as<double>();
      return true;
    } catch (const YAML::Exception&) {
      fields_.Error(node, path, "must be a number or $param");
      return false;
    }
  }

  void ParseExamples(const std::string& path, const YAML::Node& node,
                     std::vector<RuleExample>* out) {
    if (!node || !node.IsMap()) {
      fields_.Error(node, path, "every rule needs examples with at least one `match` entry");
      return;
    }
    for (const auto& entry : node) {
      const std::string kind = entry.first.as<std::string>();
      if (kind != "match" && kind != "no_match") {
        fields_.Error(entry.first, path + "." + kind, "expected match or no_match");
        continue;
      }
      if (!entry.second.IsSequence()) {
        fields_.Error(entry.second, path + "." + kind, "must be a list of log-line blocks");
        continue;
      }
      for (const auto& example : entry.second) {
        if (!example.IsScalar()) {
          fields_.Error(example, path + "." + kind, "an example is a string of log lines");
          continue;
        }
        out->push_back({example.as<std::string>(), kind == "match", fields_.Where(example)});
      }
    }
    const bool has_match =
        std::any_of(out->begin(), out->end(), [](const RuleExample& e) { return e.should_match; });
    if (!has_match) {
      fields_.Error(node, path, "needs at least one `match` example");
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
  // Every error of every document, in the order found; names the document being read.
  YamlFields fields_{""};
  std::shared_ptr<RuleSet> set_ = std::make_shared<RuleSet>();
};

StatusOr<std::shared_ptr<const RuleSet>> RuleSet::Load(const LoadOptions& options) {
  return RuleSetBuilder(options).Build();
}

}  // namespace rrca::rules
