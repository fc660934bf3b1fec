#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <vector>

#include "common/yaml_fields.h"
#include "prober/probe_config.h"

namespace rrca::app {

// `probes:` (optional): a list of probes, each `name`, `type: registry|store` and its target's
// keys (see README, "Active probes"). Errors go to `fields`; relative file paths are resolved
// against `base` (the config file's folder).
void ParseProbes(const YAML::Node& node, const std::filesystem::path& base, YamlFields& fields,
                 std::vector<prober::ProbeConfig>* probes);

}  // namespace rrca::app
