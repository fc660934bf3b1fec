#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "prober/probe_config.h"

// The probes' secrets, read at each run (so that a rotated secret is picked up) from files of at
// most 64 KiB or, for the store, the AWS environment variables. Errors name the file, never a
// secret.
namespace rrca::prober {

struct Credentials {
  bool present = false;
  std::string user;      // registry user, or AWS access key id
  std::string password;  // registry password, or AWS secret access key
};

// username + password_file (first line), or credentials_file ("user:password", first line), or
// none (anonymous).
StatusOr<Credentials> LoadRegistryCredentials(const RegistryProbeConfig& config);

// credentials_file (AWS shared-credentials format), else AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY; an error when neither gives both keys.
StatusOr<Credentials> LoadStoreCredentials(const StoreProbeConfig& config);

// The pure part of the above: the [default] profile's (or, without profiles, the file's)
// aws_access_key_id and aws_secret_access_key.
StatusOr<Credentials> ParseAwsCredentials(std::string_view text);

}  // namespace rrca::prober
