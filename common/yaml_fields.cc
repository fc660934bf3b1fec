#include "common/yaml_fields.h"

#include <sstream>

namespace rrca {

void YamlFields::Error(const YAML::Node& node, const std::string& path,
                       const std::string& message) {
  AddError(Where(node) + ": " + path + ": " + message);
}

std::string YamlFields::Where(const YAML::Node& node) const {
  std::ostringstream out;
  out << file_;
  if (node.IsDefined() && node.Mark().line >= 0) {
    out << ":" << node.Mark().line + 1 << ":" << node.Mark().column + 1;
  }
  return out.str();
}

Status YamlFields::status() const {
  if (errors_.empty()) return Status::Ok();
  std::string message;
  for (const std::string& error : errors_) message += error + "\n";
  message.pop_back();
  return Status::InvalidArgument(message);
}

std::string YamlSyntaxError(const std::string& file, const YAML::Exception& error) {
  return file + ":" + std::to_string(error.mark.line + 1) + ":" +
         std::to_string(error.mark.column + 1) + ": " + error.msg;
}

std::string YamlFields::String(const YAML::Node& node, const std::string& path) {
  if (!node.IsScalar()) {
    Error(node, path, "must be a string");
    return "";
  }
  return node.as<std::string>();
}

std::vector<std::string> YamlFields::StringList(const YAML::Node& node, const std::string& path,
                                                bool scalar_is_list) {
  std::vector<std::string> out;
  if (scalar_is_list && node.IsScalar()) return {node.as<std::string>()};
  if (!node.IsSequence()) {
    Error(node, path, "must be a list of strings");
    return out;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    out.push_back(String(node[i], path + "[" + std::to_string(i) + "]"));
  }
  return out;
}

bool YamlFields::Bool(const YAML::Node& node, const std::string& path) {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    Error(node, path, "must be true or false");
  }
  return value;
}

Status ParseYamlDocument(const std::string& text, const std::string& file_name, YamlFields& fields,
                         const std::function<void(const YAML::Node&)>& parse_root) {
  try {
    parse_root(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    fields.AddError(YamlSyntaxError(file_name, e));
  }
  return fields.status();
}

}  // namespace rrca
