#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

// Pure functions of the registry probe: URLs and the Bearer token flow (the WWW-Authenticate
// realm/service/scope challenge that Distribution and Harbor send). No I/O; unit-tested.
namespace rrca::prober {

// "http[s]://host[:port][/]" plus "/v2/<repository>/blobs/uploads/". The repository must follow
// Distribution's name grammar (lowercase path components of [a-z0-9] separated by . _ __ -).
StatusOr<std::string> RegistryUploadsUrl(std::string_view base_url, std::string_view repository);
bool IsValidRepositoryName(std::string_view repository);

// The upload's Location, absolute (the registry may answer a path): resolved against `request_url`.
// Only http(s) on the same host and port as the request is accepted: a Location elsewhere
// would send our credentials to another host.
StatusOr<std::string> ResolveLocation(std::string_view request_url, std::string_view location);

// One challenge of a WWW-Authenticate header: `Bearer realm="...",service="...",scope="..."`.
// The scheme is lowercased; parameter names are lowercased, values unquoted (\" and \\).
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};
// The first challenge; nullopt for an empty or malformed header.
std::optional<Challenge> ParseChallenge(std::string_view header);

// realm?service=...&scope=... for a Bearer challenge; the scope is the challenge's or, when it
// names none, `default_scope` ("repository:<repo>:pull,push"). The realm must be http(s).
StatusOr<std::string> TokenUrl(const Challenge& challenge, std::string_view default_scope);

// The token of a token service's JSON answer ("token", else "access_token"); an error when there
// is none or it is not printable ASCII (it goes into a header), or is longer than 16 KiB.
StatusOr<std::string> ParseTokenAnswer(std::string_view body);

}  // namespace rrca::prober
