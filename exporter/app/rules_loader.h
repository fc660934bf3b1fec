#pragma once

#include <memory>

#include "common/status.h"
#include "exporter/app/config.h"
#include "exporter/pipeline/pipeline.h"
#include "rules/rule_set.h"

namespace rrca::app {

// The default catalogue plus the config's rules_files and rule_params, compiled.
StatusOr<std::shared_ptr<const rules::RuleSet>> LoadRules(const Config& config);

pipeline::Pipeline::Options PipelineOptionsFrom(const Config& config, int syslog_year);

}  // namespace rrca::app
