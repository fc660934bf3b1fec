#include "exporter/enricher/enricher_payload.h"

#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rrca::enricher {

std::string CheckPayload(const Json& payload) {
  if (!payload.is_object()) return "the payload must be a JSON object";
  const Json* alerts = JsonFind(payload, "alerts");
  if (alerts == nullptr || !alerts->is_array()) return "`alerts` must be an array";
  for (size_t i = 0; i < alerts->size(); ++i) {
    const Json& alert = (*alerts)[i];
    const std::string where = "alerts[" + std::to_string(i) + "]";
    if (!alert.is_object()) return where + " must be an object";
    for (const char* key : {"labels", "annotations"}) {
      const Json* map = JsonFind(alert, key);
      if (map == nullptr || map->is_null()) continue;
      if (!map->is_object()) return where + "." + key + " must be an object";
      for (const auto& [name, value] : map->items()) {
        if (!value.is_string()) return where + "." + key + "." + name + " must be a string";
      }
    }
  }
  for (const char* key : {"groupKey", "status", "receiver"}) {
    const Json* value = JsonFind(payload, key);
    if (value != nullptr && !value->is_string())
      return std::string("`") + key + "` must be a string";
  }
  return "";
}

std::string FingerprintOf(const Json& alert) {
  std::string fingerprint = JsonString(alert, "fingerprint");
  if (!fingerprint.empty()) return fingerprint;
  const Json* labels = JsonFind(alert, "labels");
  return labels != nullptr ? DumpJson(*labels) : "{}";
}

// Linear in the annotations of all alerts (hash look-ups; a key that one alert lacks or differs
// on is dropped once), and the common object is rebuilt once: a hostile payload with tens of
// thousands of rca_* annotations costs milliseconds, not the seconds of a find per key per alert.
void UpdateCommonAnnotations(Json* payload) {
  const Json& alerts = JsonArray(JsonFind(*payload, "alerts"));
  if (alerts.empty()) return;
  const Json* first = JsonFind(alerts.front(), "annotations");
  if (first == nullptr || !first->is_object()) return;
  // Candidates: the first alert's rca_* annotations (a parsed object has no repeated key).
  std::unordered_map<std::string_view, const Json*> shared;
  std::vector<std::string_view> order;
  for (const auto& [key, value] : first->get_ref<const Json::object_t&>()) {
    if (key.rfind("rca_", 0) != 0) continue;
    shared.try_emplace(key, &value);
    order.push_back(key);
  }
  for (size_t i = 1; i < alerts.size() && !shared.empty(); ++i) {
    const Json* annotations = JsonFind(alerts[i], "annotations");
    std::unordered_map<std::string_view, const Json*> own;
    for (const auto& [key, value] : JsonObject(annotations).get_ref<const Json::object_t&>()) {
      if (shared.contains(key)) own[key] = &value;
    }
    std::erase_if(shared, [&](const auto& entry) {
      const auto other = own.find(entry.first);
      return other == own.end() || !(*other->second == *entry.second);
    });
  }
  if (shared.empty()) return;
  // Built through the vector under ordered_json's map: its own insert scans for the key.
  Json rebuilt = Json::object();
  auto& members = static_cast<Json::object_t::Container&>(rebuilt.get_ref<Json::object_t&>());
  std::unordered_set<std::string_view> placed;
  if (Json* common = JsonFind(*payload, "commonAnnotations"); common != nullptr) {
    for (auto& [key, value] : common->get_ref<Json::object_t&>()) {
      const auto found = shared.find(key);
      if (found == shared.end()) {
        members.emplace_back(key, std::move(value));
      } else {
        placed.insert(found->first);
        members.emplace_back(key, *found->second);
      }
    }
  }
  for (std::string_view key : order) {
    if (shared.contains(key) && !placed.contains(key)) {
      members.emplace_back(std::string(key), *shared[key]);
    }
  }
  (*payload)["commonAnnotations"] = std::move(rebuilt);
}

}  // namespace rrca::enricher
