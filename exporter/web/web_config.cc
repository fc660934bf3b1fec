#include "exporter/web/web_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/yaml_fields.h"
#include "exporter/web/web_auth.h"

namespace rrca::web {
namespace {

// exporter-toolkit allows only these response headers, some with fixed values (handler.go).
const std::map<std::string, std::vector<std::string>>& AllowedHeaders() {
  static const auto* const kAllowed = new std::map<std::string, std::vector<std::string>>{
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  };
  return *kAllowed;
}

// The web configuration (exporter-toolkit's format); field helpers and errors are YamlFields'.
class WebConfigParser : public YamlFields {
 public:
  using YamlFields::YamlFields;

  bool Map(const YAML::Node& node, const std::string& path, const std::set<std::string>& keys) {
    if (node.IsNull()) return false;  // `tls_server_config:` with nothing under it
    if (!node.IsMap()) {
      Error(node, path, "must be a mapping");
      return false;
    }
    for (const auto& entry : node) {
      const std::string key = entry.first.as<std::string>();
      if (!keys.contains(key)) Error(entry.first, path + "." + key, "unknown key");
    }
    return true;
  }

  TlsVersion Version(const YAML::Node& node, const std::string& path) {
    const std::string value = String(node, path);
    if (value == "TLS13") return TlsVersion::kTls13;
    if (value == "TLS12") return TlsVersion::kTls12;
    if (value == "TLS10" || value == "TLS11") {
      Error(node, path, value + " is refused: TLS 1.1 and below are not supported, use TLS12");
    } else {
      Error(node, path, "must be TLS12 or TLS13");
    }
    return TlsVersion::kTls12;
  }

  void ParseClientAuth(const YAML::Node& node, TlsServerConfig* tls) {
    static const std::map<std::string, ClientAuth> kModes = {
        {"NoClientCert", ClientAuth::kNoClientCert},
        {"RequestClientCert", ClientAuth::kRequestClientCert},
        {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
        {"RequireClientCert", ClientAuth::kRequireAnyClientCert},  // exporter-toolkit's old name
        {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
        {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
    };
    const std::string value = String(node, "tls_server_config.client_auth_type");
    if (value.empty()) return;
    const auto mode = kModes.find(value);
    if (mode == kModes.end()) {
      Error(node, "tls_server_config.client_auth_type",
            "must be NoClientCert, RequestClientCert, RequireAnyClientCert, "
            "VerifyClientCertIfGiven or RequireAndVerifyClientCert");
      return;
    }
    tls->client_auth = mode->second;
  }

  void ParseTls(const YAML::Node& node, TlsServerConfig* tls) {
    const std::string p = "tls_server_config";
    if (!Map(node, p,
             {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version",
              "max_version", "cipher_suites", "curve_preferences", "prefer_server_cipher_suites",
              "client_allowed_sans"})) {
      return;
    }
    if (node["cert_file"]) tls->cert_file = String(node["cert_file"], p + ".cert_file");
    if (node["key_file"]) tls->key_file = String(node["key_file"], p + ".key_file");
    if (node["client_auth_type"]) ParseClientAuth(node["client_auth_type"], tls);
    if (node["client_ca_file"]) {
      tls->client_ca_file = String(node["client_ca_file"], p + ".client_ca_file");
    }
    if (node["min_version"]) tls->min_version = Version(node["min_version"], p + ".min_version");
    if (node["max_version"]) tls->max_version = Version(node["max_version"], p + ".max_version");
    if (node["cipher_suites"]) {
      tls->cipher_suites = StringList(node["cipher_suites"], p + ".cipher_suites");
    }
    if (node["curve_preferences"]) {
      tls->curve_preferences = StringList(node["curve_preferences"], p + ".curve_preferences");
      for (const std::string& curve : tls->curve_preferences) {
        static const std::set<std::string> kCurves = {"CurveP256", "CurveP384", "CurveP521",
                                                      "X25519"};
        if (!kCurves.contains(curve)) {
          Error(node["curve_preferences"], p + ".curve_preferences", "unknown curve: " + curve);
        }
      }
    }
    if (node["prefer_server_cipher_suites"]) {
      tls->prefer_server_cipher_suites =
          Bool(node["prefer_server_cipher_suites"], p + ".prefer_server_cipher_suites");
    }
    if (node["client_allowed_sans"]) {
      tls->client_allowed_sans =
          StringList(node["client_allowed_sans"], p + ".client_allowed_sans");
    }
    CheckTlsConsistency(node, *tls);
  }

  // The rules of exporter-toolkit's ConfigToTLSConfig, checked up front.
  void CheckTlsConsistency(const YAML::Node& node, const TlsServerConfig& tls) {
    const std::string p = "tls_server_config";
    // Checked even when nothing turns TLS on (versions alone): a parsed config never holds a
    // range that no handshake can satisfy (fuzz/regressions/web_config/versions-without-cert).
    if (tls.min_version == TlsVersion::kTls13 && tls.max_version == TlsVersion::kTls12) {
      Error(node, p + ".max_version", "is below min_version");
    }
    const bool any = !tls.cert_file.empty() || !tls.key_file.empty() ||
                     !tls.client_ca_file.empty() || node["client_auth_type"];
    if (!any) return;
    if (tls.cert_file.empty()) Error(node, p + ".cert_file", "missing (TLS needs cert and key)");
    if (tls.key_file.empty()) Error(node, p + ".key_file", "missing (TLS needs cert and key)");
    const bool verifies = tls.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                          tls.client_auth == ClientAuth::kRequireAndVerifyClientCert;
    if (verifies && tls.client_ca_file.empty()) {
      Error(node, p + ".client_ca_file", "required by client_auth_type that verifies certs");
    }
    if (!tls.client_ca_file.empty() && tls.client_auth == ClientAuth::kNoClientCert) {
      Error(node, p + ".client_auth_type",
            "client_ca_file is set without a client_auth_type that asks for a certificate");
    }
    // A SAN is only worth checking on a certificate whose chain was verified: with
    // RequireAnyClientCert anyone can make a self-signed certificate carrying the allowed name.
    if (!tls.client_allowed_sans.empty() &&
        tls.client_auth != ClientAuth::kRequireAndVerifyClientCert) {
      Error(node, p + ".client_allowed_sans",
            "needs client_auth_type RequireAndVerifyClientCert (the SAN of an unverified "
            "certificate proves nothing)");
    }
  }

  void ParseHttp(const YAML::Node& node, WebConfig* config) {
    const std::string p = "http_server_config";
    if (!Map(node, p, {"headers", "http2"})) return;
    if (node["http2"]) Bool(node["http2"], p + ".http2");  // accepted; we serve HTTP/1.1
    const YAML::Node headers = node["headers"];
    if (!headers || headers.IsNull()) return;
    if (!headers.IsMap()) {
      Error(headers, p + ".headers", "must be a mapping of header: value");
      return;
    }
    for (const auto& entry : headers) {
      const std::string name = entry.first.as<std::string>();
      const std::string value = String(entry.second, p + ".headers." + name);
      const auto allowed = AllowedHeaders().find(name);
      if (allowed == AllowedHeaders().end()) {
        Error(entry.first, p + ".headers." + name, "this header can not be configured");
        continue;
      }
      const std::vector<std::string>& values = allowed->second;
      if (!values.empty() && std::find(values.begin(), values.end(), value) == values.end()) {
        std::string expected;
        for (const std::string& v : values) expected += (expected.empty() ? "" : ", ") + v;
        Error(entry.second, p + ".headers." + name, "must be one of: " + expected);
        continue;
      }
      if (value.find_first_of("\r\n") != std::string::npos) {
        Error(entry.second, p + ".headers." + name, "must not contain line breaks");
        continue;
      }
      config->headers.emplace_back(name, value);
    }
  }

  void ParseUsers(const YAML::Node& node, WebConfig* config) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      Error(node, "basic_auth_users", "must be a mapping of user: bcrypt-hash");
      return;
    }
    for (const auto& entry : node) {
      const std::string user = entry.first.as<std::string>();
      const std::string path = "basic_auth_users." + user;
      const std::string hash = String(entry.second, path);
      if (user.empty() || user.find(':') != std::string::npos) {
        Error(entry.first, path, "a user name must be non-empty and without ':'");
      }
      if (!BasicAuth::IsBcryptHash(hash)) {
        Error(entry.second, path, "must be a bcrypt hash ($2y$ or $2b$, as `htpasswd -nB` prints)");
      }
      config->basic_auth_users[user] = hash;
    }
  }

  void ParseRoot(const YAML::Node& root, WebConfig* config) {
    if (root.IsNull()) return;  // an empty file: plaintext, no auth
    if (!Map(root, "(root)", {"tls_server_config", "http_server_config", "basic_auth_users"})) {
      return;
    }
    if (root["tls_server_config"]) ParseTls(root["tls_server_config"], &config->tls);
    if (root["http_server_config"]) ParseHttp(root["http_server_config"], config);
    if (root["basic_auth_users"]) ParseUsers(root["basic_auth_users"], config);
  }
};

std::string Resolve(const std::filesystem::path& base, const std::string& file) {
  if (file.empty() || std::filesystem::path(file).is_absolute()) return file;
  return (base / file).string();
}

}  // namespace

StatusOr<WebConfig> ParseWebConfig(const std::string& text, const std::string& file_name) {
  WebConfig config;
  config.file = file_name;
  WebConfigParser parser(file_name);
  const Status parsed = ParseYamlDocument(
      text, file_name, parser, [&](const YAML::Node& root) { parser.ParseRoot(root, &config); });
  if (!parsed.ok()) return parsed;
  return config;
}

StatusOr<WebConfig> LoadWebConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IoError(path + ": cannot read the web configuration file");
  std::stringstream text;
  text << in.rdbuf();
  StatusOr<WebConfig> config = ParseWebConfig(text.str(), path);
  if (!config.ok()) return config;
  const std::filesystem::path base = std::filesystem::path(path).parent_path();
  TlsServerConfig& tls = config->tls;
  tls.cert_file = Resolve(base, tls.cert_file);
  tls.key_file = Resolve(base, tls.key_file);
  tls.client_ca_file = Resolve(base, tls.client_ca_file);
  return config;
}

}  // namespace rrca::web
