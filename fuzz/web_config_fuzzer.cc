// Fuzzes exporter/web/web_config.h: ParseWebConfig (the --web.config.file, exporter-toolkit's
// format) on arbitrary YAML, as the daemon does at start-up and on every reload. A bad file must
// give "file:line:col: key: message" errors, never a crash or an escaped exception; a file that
// loads must be consistent: TLS with both a certificate and a key, client certificates verified
// only against a CA, min_version <= max_version, bcrypt hashes only. Seeds:
// fuzz/corpus/web_config/. Dictionary: yaml.dict.
#include <cstddef>
#include <cstdint>
#include <string>

#include "exporter/web/web_config.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using rrca::web::ClientAuth;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = rrca::web::ParseWebConfig(text, "fuzz-web.yml");
  if (!parsed.ok()) {
    RRCA_FUZZ_CHECK(parsed.status().message().starts_with("fuzz-web.yml"));
    return 0;
  }
  const rrca::web::WebConfig& config = parsed.value();
  const rrca::web::TlsServerConfig& tls = config.tls;
  if (tls.enabled()) RRCA_FUZZ_CHECK(!tls.key_file.empty());
  if (tls.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
      tls.client_auth == ClientAuth::kRequireAndVerifyClientCert) {
    RRCA_FUZZ_CHECK(!tls.client_ca_file.empty());
  }
  RRCA_FUZZ_CHECK(static_cast<int>(tls.min_version) <= static_cast<int>(tls.max_version));
  for (const auto& [user, hash] : config.basic_auth_users) {
    rrca::fuzz::Touch(user);
    RRCA_FUZZ_CHECK(hash.starts_with("$2"));
  }
  for (const auto& [name, value] : config.headers) {
    rrca::fuzz::Touch(name);
    rrca::fuzz::Touch(value);
  }
  return 0;
}
