#include "exporter/app/rules_loader.h"

#include <algorithm>

namespace rrca::app {

StatusOr<std::shared_ptr<const rules::RuleSet>> LoadRules(const Config& config) {
  std::vector<std::string> errors;
  rules::LoadOptions options;
  options.default_rules_yaml = std::string(rules::DefaultRulesYaml());
  options.default_rules_name = "rules/default_rules.yaml";
  options.user_rule_files = ExpandRuleFiles(config, &errors);
  options.param_overrides = config.rule_params;
  auto loaded = rules::RuleSet::Load(options);
  if (!errors.empty()) {
    std::string message;
    for (const std::string& error : errors) message += error + "\n";
    if (!loaded.ok()) message += loaded.status().message() + "\n";
    message.pop_back();
    return Status::InvalidArgument(message);
  }
  return loaded;
}

pipeline::Pipeline::Options PipelineOptionsFrom(const Config& config, int syslog_year) {
  pipeline::Pipeline::Options options;
  options.join.window_ns = static_cast<int64_t>(config.join_window_seconds * 1e9);
  options.join.access_window_ns = static_cast<int64_t>(config.access_window_seconds * 1e9);
  options.max_repositories = config.max_repositories;
  options.max_buckets = config.max_buckets;
  options.repository_rewrites = config.repository_rewrites;
  options.max_record_bytes = config.max_line_bytes;
  options.syslog_year = syslog_year;
  options.storage_root_directory = config.storage_root_directory;
  options.max_open_uploads = config.max_open_uploads;
  options.reorder_window_ns = static_cast<int64_t>(config.reorder_window_seconds * 1e9);
  options.clock_tolerance_ns = static_cast<int64_t>(config.clock_tolerance_seconds * 1e9);
  // nginx logs whole seconds: the hops' lines of one request are at least 1 s apart at worst.
  options.hop.window_ns = options.join.window_ns;
  options.hop.tolerance_ns = std::max<int64_t>(options.clock_tolerance_ns, 1'000'000'000);
  return options;
}

}  // namespace rrca::app
