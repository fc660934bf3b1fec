#pragma once

#include <cstdio>
#include <string>

namespace rrca::app {

// `registry-rca probe --config.file=FILE`: runs each configured probe once, one after the other,
// and prints one logfmt line per probe to `out`. Returns 0 when every probe succeeded, 1 when
// one failed, 2 when the configuration is invalid or names no probe.
int RunProbeCommand(const std::string& config_file, std::FILE* out, std::FILE* err);

}  // namespace rrca::app
