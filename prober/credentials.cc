#include "prober/credentials.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace rrca::prober {
namespace {

constexpr size_t kMaxFileBytes = 64 << 10;

StatusOr<std::string> ReadSmallFile(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return Status::NotFound(path + ": not a readable regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(path + ": cannot read the file");
  std::string text(kMaxFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxFileBytes) return Status::ResourceExhausted(path + ": longer than 64 KiB");
  return text;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

std::string_view FirstLine(std::string_view text) { return Trim(text.substr(0, text.find('\n'))); }

}  // namespace

StatusOr<Credentials> LoadRegistryCredentials(const RegistryProbeConfig& config) {
  Credentials credentials;
  if (!config.credentials_file.empty()) {
    auto text = ReadSmallFile(config.credentials_file);
    if (!text.ok()) return text.status();
    const std::string_view line = FirstLine(text.value());
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Status::InvalidArgument(config.credentials_file +
                                     ": the first line is not user:password");
    }
    credentials.user = line.substr(0, colon);
    credentials.password = line.substr(colon + 1);
    credentials.present = true;
  } else if (!config.username.empty()) {
    credentials.user = config.username;
    if (!config.password_file.empty()) {
      auto text = ReadSmallFile(config.password_file);
      if (!text.ok()) return text.status();
      credentials.password = FirstLine(text.value());
    }
    credentials.present = true;
  }
  return credentials;
}

StatusOr<Credentials> ParseAwsCredentials(std::string_view text) {
  Credentials found;
  bool in_wanted = true;  // keys before any [profile] count; then only [default]
  bool saw_profile = false;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string_view line = Trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      saw_profile = true;
      in_wanted = Trim(line.substr(1, line.find(']') - 1)) == "default";
      continue;
    }
    if (!in_wanted) continue;
    const size_t equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view key = Trim(line.substr(0, equals));
    const std::string_view value = Trim(line.substr(equals + 1));
    if (key == "aws_access_key_id") found.user = value;
    if (key == "aws_secret_access_key") found.password = value;
  }
  if (found.user.empty() || found.password.empty()) {
    return Status::InvalidArgument(saw_profile
                                       ? "no aws_access_key_id and aws_secret_access_key in the "
                                         "[default] profile"
                                       : "no aws_access_key_id and aws_secret_access_key");
  }
  found.present = true;
  return found;
}

StatusOr<Credentials> LoadStoreCredentials(const StoreProbeConfig& config) {
  if (!config.credentials_file.empty()) {
    auto text = ReadSmallFile(config.credentials_file);
    if (!text.ok()) return text.status();
    auto parsed = ParseAwsCredentials(text.value());
    if (!parsed.ok()) return parsed.status().Prefixed(config.credentials_file + ": ");
    return parsed;
  }
  const char* id = std::getenv("AWS_ACCESS_KEY_ID");
  const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  if (id == nullptr || secret == nullptr || *id == '\0' || *secret == '\0') {
    return Status::InvalidArgument(
        "no credentials_file and no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
  }
  return Credentials{true, id, secret};
}

}  // namespace rrca::prober
