#pragma once

#include <chrono>
#include <string>
#include <vector>

// What the active prober is told to probe (the `probes:` section of the configuration). Plain
// values with their defaults; exporter/app/config_probes.cc fills and validates them.
namespace rrca::prober {

using Millis = std::chrono::milliseconds;

// Through the registry's own API, as a client sees it: POST an upload, GET its status until
// 204, DELETE it. Measures how long after the registry acknowledged an upload it can be resumed.
struct RegistryProbeConfig {
  std::string url;                                // http(s)://host[:port], the registry's base
  std::string repository = "registry-rca-probe";  // where the probe's uploads are started
  // Basic credentials: `username` and `password_file` (the password, first line), or
  // `credentials_file` with one line "user:password". Used for Basic auth and for the token
  // service of a Bearer challenge. None: anonymous.
  std::string username;
  std::string password_file;
  std::string credentials_file;
  std::string ca_file;  // PEM bundle for https instead of the system's store
  bool operator==(const RegistryProbeConfig&) const = default;
};

// Directly against the store's S3 API: CreateMultipartUpload on a probe key, ListMultipartUploads
// (prefix) until the upload is listed, AbortMultipartUpload. Signed by libcurl (SigV4).
struct StoreProbeConfig {
  std::string endpoint;  // http(s)://host[:port]
  std::string bucket;
  std::string region = "us-east-1";
  bool virtual_host = false;                   // bucket.host/key instead of host/bucket/key
  std::string prefix = "registry-rca-probe/";  // probe keys are <prefix><probe name>/<id>
  // AWS shared-credentials style (aws_access_key_id = ..., aws_secret_access_key = ...; the
  // [default] profile when there are profiles); empty: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
  std::string credentials_file;
  std::string ca_file;
  bool operator==(const StoreProbeConfig&) const = default;
};

struct ProbeConfig {
  enum class Kind { kRegistry, kStore };
  Kind kind = Kind::kRegistry;
  std::string name;              // the `target` label
  Millis interval{60'000};       // between runs, each jittered by up to ±10 %
  Millis timeout{30'000};        // one whole run, cleanup included
  Millis poll_interval{20};      // between visibility checks
  RegistryProbeConfig registry;  // kRegistry
  StoreProbeConfig store;        // kStore
  // A reload restarts the prober only when the probes changed (exporter/app/daemon.cc).
  bool operator==(const ProbeConfig&) const = default;
};

std::string_view KindName(ProbeConfig::Kind kind);  // "registry" | "store": the `probe` label

}  // namespace rrca::prober
