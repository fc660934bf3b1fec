#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace rrca {

// The strict-YAML helpers the configuration files (registry-rca's and the web config) and the
// rules files use: every yaml-cpp call that can throw goes through them, and each problem is
// collected as "file:line:col: key.path: message" so that all of them are reported at once.
// Not thread-safe: one instance per parse.
class YamlFields {
 public:
  explicit YamlFields(std::string file) : file_(std::move(file)) {}

  // "file:line:col: path: message" (just "file: ..." for a node without a position).
  void Error(const YAML::Node& node, const std::string& path, const std::string& message);
  // "file:line:col" of `node`, or "file" when it has no position (a key that is missing).
  std::string Where(const YAML::Node& node) const;
  // The file that later errors name: a reader of several documents (the rule catalogue and the
  // user's rules files) switches it before each one.
  void set_file(std::string file) { file_ = std::move(file); }
  std::string String(const YAML::Node& node, const std::string& path);
  // A YAML sequence of strings; with `scalar_is_list`, a lone string is a list of one.
  std::vector<std::string> StringList(const YAML::Node& node, const std::string& path,
                                      bool scalar_is_list = false);
  bool Bool(const YAML::Node& node, const std::string& path);

  void AddError(std::string located_message) { errors_.push_back(std::move(located_message)); }
  const std::vector<std::string>& errors() const { return errors_; }
  // OK, or every collected error, one per line.
  Status status() const;

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

// yaml-cpp's syntax error as "file:line:col: message".
std::string YamlSyntaxError(const std::string& file, const YAML::Exception& error);

// Parses `text` and hands the root to `parse_root`; a YAML syntax error is one more error.
// Returns the collected errors, one per line, or OK.
Status ParseYamlDocument(const std::string& text, const std::string& file_name, YamlFields& fields,
                         const std::function<void(const YAML::Node&)>& parse_root);

}  // namespace rrca
