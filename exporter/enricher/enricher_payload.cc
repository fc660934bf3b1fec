#include "exporter/enricher/enricher_payload.h"

#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rrca::exporter {

std::string CheckPayload(const JsonValue& payload) {
  if (!payload.is_object()) return "the payload must be a JSON object";
  const JsonValue* alerts = payload.Find("alerts");
  if (alerts == nullptr || !alerts->is_array()) return "`alerts` must be an array";
  for (size_t i = 0; i < alerts->AsArray().size(); ++i) {
    const JsonValue& alert = alerts->AsArray()[i];
    const std::string where = "alerts[" + std::to_string(i) + "]";
    if (!alert.is_object()) return where + " must be an object";
    for (const char* key : {"labels", "annotations"}) {
      const JsonValue* map = alert.Find(key);
      if (map == nullptr || map->is_null()) continue;
      if (!map->is_object()) return where + "." + key + " must be an object";
      for (const auto& [name, value] : map->AsObject()) {
        if (!value.is_string()) return where + "." + key + "." + name + " must be a string";
      }
    }
  }
  for (const char* key : {"groupKey", "status", "receiver"}) {
    const JsonValue* value = payload.Find(key);
    if (value != nullptr && !value->is_string())
      return std::string("`") + key + "` must be a string";
  }
  return "";
}

std::string FingerprintOf(const JsonValue& alert) {
  std::string fingerprint = alert.GetString("fingerprint");
  if (!fingerprint.empty()) return fingerprint;
  const JsonValue* labels = alert.Find("labels");
  return labels != nullptr ? labels->Serialize() : "{}";
}

// Linear in the annotations of all alerts (hash look-ups; a key that one alert lacks or differs
// on is dropped once), and the common object is rebuilt once: a hostile payload with tens of
// thousands of rca_* annotations costs milliseconds, not the seconds of a find per key per alert.
void UpdateCommonAnnotations(JsonValue* payload) {
  const JsonValue::Array& alerts = payload->Find("alerts")->AsArray();
  if (alerts.empty()) return;
  const JsonValue* first = alerts.front().Find("annotations");
  if (first == nullptr || !first->is_object()) return;
  // Candidates: the first alert's rca_* annotations (the last copy of a repeated key, as Find).
  std::unordered_map<std::string_view, const JsonValue*> shared;
  std::vector<std::string_view> order;
  for (const auto& [key, value] : first->AsObject()) {
    if (key.rfind("rca_", 0) != 0) continue;
    auto [it, inserted] = shared.try_emplace(key, &value);
    if (inserted) {
      order.push_back(key);
    } else {
      it->second = &value;
    }
  }
  for (size_t i = 1; i < alerts.size() && !shared.empty(); ++i) {
    const JsonValue* annotations = alerts[i].Find("annotations");
    std::unordered_map<std::string_view, const JsonValue*> own;
    if (annotations != nullptr && annotations->is_object()) {
      for (const auto& [key, value] : annotations->AsObject()) {
        if (shared.contains(key)) own[key] = &value;
      }
    }
    std::erase_if(shared, [&](const auto& entry) {
      const auto other = own.find(entry.first);
      return other == own.end() || !(*other->second == *entry.second);
    });
  }
  if (shared.empty()) return;
  JsonValue* common = payload->Find("commonAnnotations");
  JsonValue::Object rebuilt;
  if (common != nullptr && common->is_object()) {
    std::unordered_set<std::string_view> placed;
    for (auto& [key, value] : common->MutableObject()) {
      const auto found = shared.find(key);
      if (found == shared.end()) {
        rebuilt.emplace_back(std::move(key), std::move(value));
      } else if (placed.insert(found->first).second) {
        rebuilt.emplace_back(std::string(found->first), *found->second);  // replaces every copy
      }
    }
    for (std::string_view key : order) {
      if (shared.contains(key) && !placed.contains(key)) {
        rebuilt.emplace_back(std::string(key), *shared[key]);
      }
    }
  } else {
    for (std::string_view key : order) {
      if (shared.contains(key)) rebuilt.emplace_back(std::string(key), *shared[key]);
    }
  }
  JsonValue object = JsonValue::EmptyObject();
  object.MutableObject() = std::move(rebuilt);
  payload->Set("commonAnnotations", std::move(object));
}

}  // namespace rrca::exporter
