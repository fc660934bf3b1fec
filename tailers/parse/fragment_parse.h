#pragma once

#include <string>
#include <string_view>

#include "common/event.h"
#include "tailers/parse/registry/registry_parse.h"

// Parsers for what is not a whole registry record but still says why something failed:
// Harbor's own log lines and the fragments operators paste. Pure functions of a line, like
// registry_parse.h: values view the line or *scratch; nothing throws.
namespace rrca::tailers {

// Harbor's Go log (core, jobservice, registryctl): see IsHarborGoLogStart. The message is the
// record's msg and its error detail; a registry error body quoted in it ({"errors":[{"code":
// "BLOB_UNKNOWN",...) gives err_code, and makes a DEBUG line that carries one an error.
ParseStatus ParseHarborGoLog(std::string_view record, RegistryEvent* event);

// A line that is no record but carries error evidence: an err.* field run, a storage driver's
// error ("s3aws: ...", "filesystem: ...", "swift: ", "azure: ", "gcs: ", "oss: ",
// "storage: service returned error"), a Go panic, a "caused by:" continuation, an AWS
// "status code: NNN, request id:" tail, a Go error chain ("failed to garbage collect: ..."), a
// driver.Error dump. Fills level (error; fatal for a panic), msg (the line) and err_detail
// (from the evidence on) and err_code when one is named. False when the line carries none:
// it is then no error.
bool ParseFragment(std::string_view line, std::string* scratch, RegistryEvent* event);

// Whether `text` carries the evidence ParseFragment looks for (a driver's error, a registry
// error body, ...).
bool HasErrorEvidence(std::string_view text);

}  // namespace rrca::tailers
