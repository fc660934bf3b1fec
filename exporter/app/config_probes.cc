#include "exporter/app/config_probes.h"

#include <set>

#include "common/time_util.h"
#include "prober/registry_api.h"
#include "prober/s3_api.h"

namespace rrca::app {
namespace {

using prober::Millis;
using prober::ProbeConfig;

class ProbeParser {
 public:
  ProbeParser(const std::filesystem::path& base, YamlFields& fields)
      : base_(base), fields_(fields) {}

  void Parse(const YAML::Node& node, std::vector<ProbeConfig>* probes) {
    if (!node.IsSequence()) {
      fields_.Error(node, "probes", "must be a list of probes (name, type, target keys)");
      return;
    }
    std::set<std::pair<ProbeConfig::Kind, std::string>> names;  // the (probe, target) labels
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string path = "probes[" + std::to_string(i) + "]";
      ProbeConfig probe;
      const bool ok = ParseProbe(node[i], path, &probe);
      // A duplicate is reported even when the probe has other errors: every error at once.
      if (!probe.name.empty() && !names.insert({probe.kind, probe.name}).second) {
        fields_.Error(node[i]["name"], path + ".name", "duplicate name for a probe of this type");
      }
      if (ok) probes->push_back(std::move(probe));
    }
  }

 private:
  bool ParseProbe(const YAML::Node& node, const std::string& path, ProbeConfig* probe) {
    if (!node.IsMap()) {
      fields_.Error(node, path, "a probe is a mapping with name, type and its target's keys");
      return false;
    }
    const std::string type = node["type"] ? fields_.String(node["type"], path + ".type") : "";
    static const std::set<std::string> kCommon = {"name", "type", "interval", "timeout",
                                                  "poll_interval"};
    std::set<std::string> allowed = kCommon;
    if (type == "registry") {
      probe->kind = ProbeConfig::Kind::kRegistry;
      allowed.insert(
          {"url", "repository", "username", "password_file", "credentials_file", "ca_file"});
    } else if (type == "store") {
      probe->kind = ProbeConfig::Kind::kStore;
      allowed.insert(
          {"endpoint", "bucket", "region", "addressing", "prefix", "credentials_file", "ca_file"});
    } else {
      fields_.Error(node["type"] ? node["type"] : node, path + ".type",
                    "must be registry or store");
      return false;
    }
    for (const auto& entry : node) {
      const std::string key = entry.first.as<std::string>();
      if (!allowed.contains(key)) {
        fields_.Error(entry.first, path + "." + key, "unknown key for a " + type + " probe");
      }
    }
    probe->name = node["name"] ? fields_.String(node["name"], path + ".name") : "";
    if (!ValidName(probe->name)) {
      fields_.Error(node["name"] ? node["name"] : node, path + ".name",
                    "required: 1-64 characters of A-Z a-z 0-9 _ . -");
    }
    Duration(node, "interval", path, Millis(1000), Millis(86'400'000), &probe->interval);
    Duration(node, "timeout", path, Millis(100), Millis(600'000), &probe->timeout);
    Duration(node, "poll_interval", path, Millis(1), Millis(10'000), &probe->poll_interval);
    if (probe->poll_interval >= probe->timeout) {
      fields_.Error(node, path + ".poll_interval", "must be shorter than the timeout");
    }
    if (probe->kind == ProbeConfig::Kind::kRegistry) {
      ParseRegistry(node, path, &probe->registry);
    } else {
      ParseStore(node, path, &probe->store);
    }
    return true;
  }

  void ParseRegistry(const YAML::Node& node, const std::string& path,
                     prober::RegistryProbeConfig* registry) {
    Text(node, "url", path, &registry->url);
    Text(node, "repository", path, &registry->repository);
    Text(node, "username", path, &registry->username);
    File(node, "password_file", path, &registry->password_file);
    File(node, "credentials_file", path, &registry->credentials_file);
    File(node, "ca_file", path, &registry->ca_file);
    if (registry->url.empty()) {
      fields_.Error(node, path + ".url", "required: the registry's http(s):// base URL");
    } else if (auto url = prober::RegistryUploadsUrl(registry->url, registry->repository);
               !url.ok()) {
      const bool repository = url.status().message().starts_with("repository");
      fields_.Error(node[repository ? "repository" : "url"],
                    path + "." + (repository ? "repository" : "url"),
                    url.status().message().substr(url.status().message().find(": ") + 2));
    }
    if (!registry->password_file.empty() && registry->username.empty()) {
      fields_.Error(node["password_file"], path + ".password_file", "needs username");
    }
    if (!registry->credentials_file.empty() && !registry->username.empty()) {
      fields_.Error(node["credentials_file"], path + ".credentials_file",
                    "either credentials_file or username (+ password_file), not both");
    }
  }

  void ParseStore(const YAML::Node& node, const std::string& path,
                  prober::StoreProbeConfig* store) {
    Text(node, "endpoint", path, &store->endpoint);
    Text(node, "bucket", path, &store->bucket);
    Text(node, "region", path, &store->region);
    Text(node, "prefix", path, &store->prefix);
    File(node, "credentials_file", path, &store->credentials_file);
    File(node, "ca_file", path, &store->ca_file);
    if (node["addressing"]) {
      const std::string addressing = fields_.String(node["addressing"], path + ".addressing");
      if (addressing != "path" && addressing != "virtual_host") {
        fields_.Error(node["addressing"], path + ".addressing", "must be path or virtual_host");
      }
      store->virtual_host = addressing == "virtual_host";
    }
    if (store->endpoint.empty()) fields_.Error(node, path + ".endpoint", "required");
    if (store->bucket.empty()) fields_.Error(node, path + ".bucket", "required");
    if (!store->endpoint.empty() && !store->bucket.empty()) {
      if (Status checked =
              prober::CheckS3Target({store->endpoint, store->bucket, store->virtual_host});
          !checked.ok()) {
        const std::string& message = checked.message();
        const std::string key = message.substr(0, message.find(':'));
        fields_.Error(node[key], path + "." + key, message.substr(message.find(": ") + 2));
      }
    }
    if (store->region.empty() ||
        store->region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") !=
            std::string::npos) {
      fields_.Error(node["region"] ? node["region"] : node, path + ".region",
                    "must be a region name such as us-east-1");
    }
    // Probe keys must stay out of the registry's own tree, whatever its rootdirectory.
    if (store->prefix.empty() || store->prefix.back() != '/' || store->prefix.front() == '/' ||
        store->prefix.find("docker/registry") != std::string::npos) {
      fields_.Error(node["prefix"] ? node["prefix"] : node, path + ".prefix",
                    "must end with / and lie outside the registry's docker/registry tree");
    }
  }

  static bool ValidName(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    return name.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
           std::string::npos;
  }

  void Text(const YAML::Node& node, const char* key, const std::string& path, std::string* out) {
    if (node[key]) *out = fields_.String(node[key], path + "." + key);
  }

  // A file the probe reads at each run: resolved against the config's folder, and checked now
  // so that a typo is a config error and not a failed probe at 3 am.
  void File(const YAML::Node& node, const char* key, const std::string& path, std::string* out) {
    if (!node[key]) return;
    *out = fields_.String(node[key], path + "." + key);
    if (out->empty()) return;
    std::filesystem::path file(*out);
    if (file.is_relative()) file = base_ / file;
    *out = file.string();
    std::error_code error;
    if (!std::filesystem::is_regular_file(file, error)) {
      fields_.Error(node[key], path + "." + key, *out + ": not a readable regular file");
    }
  }

  // "20ms", "60s", "1m" or a number of seconds, within [low, high].
  void Duration(const YAML::Node& node, const char* key, const std::string& path, Millis low,
                Millis high, Millis* out) {
    const YAML::Node value = node[key];
    if (!value) return;
    const std::string text = value.IsScalar() ? value.as<std::string>() : "";
    int64_t nanos = 0;
    double seconds = -1;
    if (ParseGoDuration(text, &nanos)) {
      seconds = static_cast<double>(nanos) / 1e9;
    } else {
      try {
        seconds = value.as<double>();
      } catch (const YAML::Exception&) {
      }
    }
    const double low_s = static_cast<double>(low.count()) / 1e3;
    const double high_s = static_cast<double>(high.count()) / 1e3;
    if (!(seconds >= low_s && seconds <= high_s)) {  // also NaN
      fields_.Error(value, path + "." + key,
                    "must be a duration between " + FormatMillis(low) + " and " +
                        FormatMillis(high) + " (such as 20ms, 30s, 1m)");
      return;
    }
    *out = Millis(static_cast<int64_t>(seconds * 1e3 + 0.5));
  }

  static std::string FormatMillis(Millis value) {
    const int64_t ms = value.count();
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
  }

  std::filesystem::path base_;
  YamlFields& fields_;
};

}  // namespace

void ParseProbes(const YAML::Node& node, const std::filesystem::path& base, YamlFields& fields,
                 std::vector<prober::ProbeConfig>* probes) {
  ProbeParser(base, fields).Parse(node, probes);
}

}  // namespace rrca::app
