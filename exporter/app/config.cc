#include "exporter/app/config.h"

#include <glob.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/time_util.h"
#include "common/yaml_fields.h"
#include "exporter/app/config_probes.h"
#include "exporter/enricher/enricher_http.h"

namespace rrca::app {
namespace {

// Empty when `path` is a readable file with at least one PEM certificate; else why not. Whether
// the certificates are any good is OpenSSL's to say when the first https delivery verifies.
std::string CheckPemCertificates(const std::string& path) {
  std::error_code error;
  // Not a FIFO or a device: reading one could block `check` (and the config fuzzer) forever.
  if (!std::filesystem::is_regular_file(path, error)) {
    return path + (std::filesystem::exists(path, error) ? ": not a regular file"
                                                        : ": cannot read the file");
  }
  std::ifstream in(path);
  if (!in) return path + ": cannot read the file";
  std::string text(static_cast<size_t>(1) << 20, '\0');  // CA bundles are ~200 KiB
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return path + ": holds no PEM certificate (-----BEGIN CERTIFICATE-----)";
  }
  return "";
}

// registry-rca's configuration; the field helpers (and the error list) are YamlFields'.
class ConfigParser : public YamlFields {
 public:
  static constexpr double kMaxNumber = 1e18;  // fits size_t and int64_t
  static constexpr double kMaxSeconds = 1e9;  // ~31 years; as nanoseconds, fits int64_t
  using YamlFields::YamlFields;

  void CheckKeys(const YAML::Node& node, const std::string& path,
                 const std::set<std::string>& allowed) {
    for (const auto& entry : node) {
      const std::string key = entry.first.as<std::string>();
      if (!allowed.contains(key)) {
        Error(entry.first, path.empty() ? key : path + "." + key, "unknown key");
      }
    }
  }

  // `paths: /var/log/x.log` is a list of one.
  std::vector<std::string> StringList(const YAML::Node& node, const std::string& path) {
    return YamlFields::StringList(node, path, /*scalar_is_list=*/true);
  }

  double Number(const YAML::Node& node, const std::string& path, double min) {
    double value = 0;
    try {
      value = node.as<double>();
    } catch (const YAML::Exception&) {
      Error(node, path, "must be a number");
      return min;
    }
    // Callers cast to size_t: .nan, .inf, 1e300 or a negative value would make that undefined
    // behaviour, so a rejected value is never returned (fuzz/regressions/config).
    if (!(value >= min)) {  // also NaN
      Error(node, path, "must be at least " + std::to_string(min));
      return min;
    }
    if (value > kMaxNumber) {
      Error(node, path, "must be at most 1e18");
      return min;
    }
    return value;
  }

  // "250ms", "60s", "1m" or a number of seconds.
  double Seconds(const YAML::Node& node, const std::string& path) {
    const std::string text = node.IsScalar() ? node.as<std::string>() : "";
    int64_t nanos = 0;
    if (ParseGoDuration(text, &nanos) && nanos > 0) return static_cast<double>(nanos) / 1e9;
    try {
      // At most kMaxSeconds: durations become int64 nanoseconds (1e300 or .inf did not fit).
      const double seconds = node.as<double>();
      if (seconds > 0 && seconds <= kMaxSeconds) return seconds;
    } catch (const YAML::Exception&) {
    }
    Error(node, path, "must be a positive duration such as 250ms, 60s or 1m");
    return 1;
  }

  void ParseSource(const YAML::Node& node, const std::string& path, Config* config) {
    if (!node.IsMap()) {
      Error(node, path, "a source is a mapping with name, type and paths");
      return;
    }
    CheckKeys(node, path, {"name", "type", "paths", "envelope"});
    SourceConfig source;
    if (node["name"]) source.name = String(node["name"], path + ".name");
    if (source.name.empty()) Error(node, path + ".name", "missing");
    if (node["type"]) source.type = String(node["type"], path + ".type");
    if (source.type != "registry" && source.type != "s3" && source.type != "harbor_proxy" &&
        source.type != "harbor_core") {
      Error(node["type"], path + ".type", "must be registry, s3, harbor_proxy or harbor_core");
    }
    if (node["paths"]) source.paths = StringList(node["paths"], path + ".paths");
    if (source.paths.empty()) Error(node, path + ".paths", "at least one path or glob is needed");
    if (node["envelope"]) {
      const std::string envelope = String(node["envelope"], path + ".envelope");
      if (envelope == "auto") {
        source.envelope = tailers::EnvelopeHint::kAuto;
      } else if (envelope == "none") {
        source.envelope = tailers::EnvelopeHint::kNone;
      } else if (envelope == "syslog") {
        source.envelope = tailers::EnvelopeHint::kSyslog;
      } else if (envelope == "cri") {
        source.envelope = tailers::EnvelopeHint::kCri;
      } else if (envelope == "docker") {
        source.envelope = tailers::EnvelopeHint::kDockerJson;
      } else {
        Error(node["envelope"], path + ".envelope", "must be auto, none, syslog, cri or docker");
      }
    }
    for (const SourceConfig& other : config->sources) {
      if (other.name == source.name) Error(node, path + ".name", "duplicate source name");
    }
    config->sources.push_back(std::move(source));
  }

  void ParseRoot(const YAML::Node& root, Config* config) {
    if (!root.IsMap()) {
      Error(root, "(root)", "the configuration is a mapping with at least `sources:`");
      return;
    }
    CheckKeys(
        root, "",
        {"sources", "start_at", "positions_file", "poll_interval", "max_line_bytes", "rules_files",
         "rule_params", "max_repositories", "max_buckets", "repository_rewrites", "join_window",
         "access_window", "web", "storage_root_directory", "max_open_uploads", "reorder_window",
         "clock_tolerance", "enricher", "probes"});
    const YAML::Node sources = root["sources"];
    if (!sources || !sources.IsSequence() || sources.size() == 0) {
      Error(sources ? sources : root, "sources", "a non-empty list of sources is required");
    } else {
      for (size_t i = 0; i < sources.size(); ++i) {
        ParseSource(sources[i], "sources[" + std::to_string(i) + "]", config);
      }
    }
    if (const YAML::Node node = root["start_at"]) {
      const std::string value = String(node, "start_at");
      if (value != "end" && value != "beginning")
        Error(node, "start_at", "must be end or beginning");
      config->start_at_end = value != "beginning";
    }
    if (const YAML::Node node = root["positions_file"]) {
      config->positions_file = String(node, "positions_file");
    }
    if (const YAML::Node node = root["poll_interval"]) {
      config->poll_interval_seconds = Seconds(node, "poll_interval");
    }
    if (const YAML::Node node = root["max_line_bytes"]) {
      config->max_line_bytes = static_cast<size_t>(Number(node, "max_line_bytes", 1024));
    }
    if (const YAML::Node node = root["rules_files"]) {
      config->rules_files = StringList(node, "rules_files");
    }
    if (const YAML::Node node = root["rule_params"]) {
      if (!node.IsMap()) {
        Error(node, "rule_params", "must be a mapping of parameter: number");
      } else {
        for (const auto& entry : node) {
          const std::string name = entry.first.as<std::string>();
          config->rule_params[name] = Number(entry.second, "rule_params." + name, -1e18);
        }
      }
    }
    if (const YAML::Node node = root["max_repositories"]) {
      config->max_repositories = static_cast<size_t>(Number(node, "max_repositories", 1));
    }
    if (const YAML::Node node = root["max_buckets"]) {
      config->max_buckets = static_cast<size_t>(Number(node, "max_buckets", 1));
    }
    if (const YAML::Node node = root["repository_rewrites"]) ParseRewrites(node, config);
    if (const YAML::Node node = root["join_window"]) {
      config->join_window_seconds = Seconds(node, "join_window");
    }
    if (const YAML::Node node = root["access_window"]) {
      config->access_window_seconds = Seconds(node, "access_window");
    }
    if (const YAML::Node node = root["storage_root_directory"]) {
      config->storage_root_directory = String(node, "storage_root_directory");
    }
    if (const YAML::Node node = root["max_open_uploads"]) {
      config->max_open_uploads = static_cast<size_t>(Number(node, "max_open_uploads", 1));
    }
    if (const YAML::Node node = root["reorder_window"]) {
      config->reorder_window_seconds = Seconds(node, "reorder_window");
    }
    if (const YAML::Node node = root["clock_tolerance"]) {
      config->clock_tolerance_seconds = Seconds(node, "clock_tolerance");
    }
    if (const YAML::Node node = root["enricher"]) {
      ParseEnricher(node, std::filesystem::path(config->file).parent_path(), &config->enricher);
    }
    if (const YAML::Node node = root["probes"]) {
      ParseProbes(node, std::filesystem::path(config->file).parent_path(), *this, &config->probes);
    }
    if (const YAML::Node node = root["web"]) {
      CheckKeys(node, "web", {"listen_address", "telemetry_path", "grafana_url"});
      if (node["listen_address"]) {
        config->listen_address = String(node["listen_address"], "web.listen_address");
      }
      if (node["telemetry_path"]) {
        config->telemetry_path = String(node["telemetry_path"], "web.telemetry_path");
      }
      if (node["grafana_url"]) {
        config->grafana_url = String(node["grafana_url"], "web.grafana_url");
        const std::string& url = config->grafana_url;
        if (!(url.starts_with("https://") || url.starts_with("http://")) ||
            url.find_first_of(" \"'<>") != std::string::npos) {
          Error(
              node["grafana_url"], "web.grafana_url",
              "must be an http:// or https:// URL (Grafana's root, e.g. https://grafana.example)");
        }
      }
    }
  }

  // enricher: at least one downstream webhook, http:// or https:// (see docs/enricher.md).
  void ParseEnricher(const YAML::Node& node, const std::filesystem::path& base,
                     enricher::EnricherConfig* enricher) {
    enricher->enabled = true;
    if (node.IsNull()) {
      Error(node, "enricher", "needs at least downstream_urls");
      return;
    }
    if (!node.IsMap()) {
      Error(node, "enricher", "must be a mapping");
      return;
    }
    CheckKeys(node, "enricher",
              {"downstream_urls", "ca_file", "timeout", "retries", "dedupe_window", "min_window",
               "dashboard_base_url", "runbook_base_url", "external_url", "queue_size",
               "queue_max_bytes"});
    if (const YAML::Node urls = node["downstream_urls"]) {
      enricher->downstream_urls = StringList(urls, "enricher.downstream_urls");
      for (size_t i = 0; i < enricher->downstream_urls.size(); ++i) {
        auto url = enricher::ParseHttpUrl(enricher->downstream_urls[i]);
        if (!url.ok()) {
          Error(urls.IsSequence() ? urls[i] : urls,
                "enricher.downstream_urls[" + std::to_string(i) + "]", url.status().message());
        }
      }
    }
    if (enricher->downstream_urls.empty()) {
      Error(node, "enricher.downstream_urls", "at least one downstream webhook URL is needed");
    }
    if (node["ca_file"]) {
      enricher->ca_file = String(node["ca_file"], "enricher.ca_file");
      if (!enricher->ca_file.empty()) {
        std::filesystem::path file(enricher->ca_file);
        if (file.is_relative()) file = base / file;
        enricher->ca_file = file.string();
        // Checked now, so that a typo is a config error and not a failed delivery at 3 am.
        if (const std::string problem = CheckPemCertificates(enricher->ca_file); !problem.empty()) {
          Error(node["ca_file"], "enricher.ca_file", problem);
        }
      }
    }
    if (node["timeout"]) enricher->timeout_seconds = Seconds(node["timeout"], "enricher.timeout");
    if (node["retries"]) {
      const double retries = Number(node["retries"], "enricher.retries", 0);
      if (retries > 10) Error(node["retries"], "enricher.retries", "must be at most 10");
      enricher->retries = static_cast<int>(retries);
    }
    if (node["dedupe_window"]) {
      enricher->dedupe_window_seconds = Seconds(node["dedupe_window"], "enricher.dedupe_window");
    }
    if (node["min_window"]) {
      enricher->min_window_seconds = Seconds(node["min_window"], "enricher.min_window");
    }
    for (auto [key, value] : {std::pair{"dashboard_base_url", &enricher->dashboard_base_url},
                              std::pair{"runbook_base_url", &enricher->runbook_base_url},
                              std::pair{"external_url", &enricher->external_url}}) {
      if (!node[key]) continue;
      *value = String(node[key], std::string("enricher.") + key);
      if (!value->empty() && value->rfind("http://", 0) != 0 && value->rfind("https://", 0) != 0) {
        Error(node[key], std::string("enricher.") + key, "must be an http:// or https:// URL");
      }
      while (!value->empty() && value->back() == '/') value->pop_back();
    }
    if (node["queue_size"]) {
      enricher->queue_size =
          static_cast<size_t>(Number(node["queue_size"], "enricher.queue_size", 1));
    }
    if (node["queue_max_bytes"]) {
      // At least one body of the largest size the HTTP layer takes (8 MiB).
      enricher->queue_max_bytes =
          static_cast<size_t>(Number(node["queue_max_bytes"], "enricher.queue_max_bytes", 8 << 20));
    }
  }

  void ParseRewrites(const YAML::Node& node, Config* config) {
    if (!node.IsSequence()) {
      Error(node, "repository_rewrites", "must be a list of {match, replace}");
      return;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string path = "repository_rewrites[" + std::to_string(i) + "]";
      const YAML::Node entry = node[i];
      if (!entry.IsMap() || !entry["match"] || !entry["replace"]) {
        Error(entry, path, "needs match and replace");
        continue;
      }
      CheckKeys(entry, path, {"match", "replace"});
      pipeline::RepositoryRewrite rewrite{String(entry["match"], path + ".match"),
                                          String(entry["replace"], path + ".replace")};
      for (const std::string& error : pipeline::RepositoryTable::CheckRewrites({rewrite})) {
        Error(entry, path, error);
      }
      config->repository_rewrites.push_back(std::move(rewrite));
    }
  }
};

}  // namespace

StatusOr<Config> ParseConfig(const std::string& text, const std::string& file_name) {
  Config config;
  config.file = file_name;
  ConfigParser parser(file_name);
  const Status parsed = ParseYamlDocument(
      text, file_name, parser, [&](const YAML::Node& root) { parser.ParseRoot(root, &config); });
  if (!parsed.ok()) return parsed;
  return config;
}

StatusOr<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IoError(path + ": cannot read the configuration file");
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

std::vector<std::string> ExpandRuleFiles(const Config& config, std::vector<std::string>* errors) {
  std::vector<std::string> files;
  const std::filesystem::path base = std::filesystem::path(config.file).parent_path();
  for (const std::string& pattern : config.rules_files) {
    std::filesystem::path full(pattern);
    if (full.is_relative()) full = base / full;
    glob_t matches{};
    const int rc = ::glob(full.c_str(), 0, nullptr, &matches);
    if (rc == 0) {
      for (size_t i = 0; i < matches.gl_pathc; ++i) files.emplace_back(matches.gl_pathv[i]);
    } else if (pattern.find_first_of("*?[") == std::string::npos) {
      errors->push_back(config.file + ": rules_files: " + full.string() + ": no such file");
    }
    ::globfree(&matches);
  }
  return files;
}

}  // namespace rrca::app
