#pragma once

#include <string>

namespace rrca::app {

// Sets up the process logger on stderr: `format` is logfmt or json, `level` one of spdlog's
// names (debug, info, warn, error). Messages are escaped for their format, so a log line about
// hostile input stays one well-formed record. Returns false (and says why) on a bad value.
bool SetUpLogging(const std::string& format, const std::string& level, std::string* error);

}  // namespace rrca::app
