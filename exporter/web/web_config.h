#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace rrca::web {

// Prometheus exporter-toolkit's client_auth_type values (Go's tls.ClientAuthType).
enum class ClientAuth {
  kNoClientCert,                // no certificate is asked for (default)
  kRequestClientCert,           // asked for, not required, not verified
  kRequireAnyClientCert,        // required, not verified
  kVerifyClientCertIfGiven,     // not required; verified against client_ca_file when sent
  kRequireAndVerifyClientCert,  // required and verified against client_ca_file
};

enum class TlsVersion { kTls12, kTls13 };  // TLS 1.1 and below are refused, by design

// `tls_server_config:`. Relative paths are resolved against the web config file's folder.
struct TlsServerConfig {
  std::string cert_file;  // PEM certificate (chain); required when TLS is configured
  std::string key_file;   // PEM private key; required when TLS is configured
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  std::string client_ca_file;  // PEM CA bundle for client certificates (mTLS)
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  std::vector<std::string> cipher_suites;      // IANA names, TLS 1.2 only; empty: OpenSSL's
  std::vector<std::string> curve_preferences;  // CurveP256, CurveP384, CurveP521, X25519
  bool prefer_server_cipher_suites = true;
  std::vector<std::string> client_allowed_sans;  // a client cert must carry one of these SANs

  bool enabled() const { return !cert_file.empty(); }
};

// The `--web.config.file` of Prometheus' exporter-toolkit: TLS, extra response headers and
// basic-auth users with bcrypt hashes. Absent sections mean: plaintext, no headers, no auth.
struct WebConfig {
  std::string file;  // where it was read from ("" when built in code)
  TlsServerConfig tls;
  std::vector<std::pair<std::string, std::string>> headers;  // http_server_config.headers
  std::map<std::string, std::string> basic_auth_users;       // user -> bcrypt hash ($2y$/$2b$)
};

// Parses the YAML text strictly: unknown keys, bad values, bcrypt-less hashes and inconsistent
// TLS settings are all reported at once as "file:line:col: key.path: message". Pure: it does not
// read the certificate files (HttpServer::Start does, and reports them by name).
StatusOr<WebConfig> ParseWebConfig(const std::string& text, const std::string& file_name);

// Reads `path` and parses it; relative TLS file paths become relative to its folder.
StatusOr<WebConfig> LoadWebConfig(const std::string& path);

}  // namespace rrca::web
