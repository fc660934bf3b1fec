#include "exporter/pipeline/carry_over.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "exporter/pipeline/state_json.h"

namespace rrca::pipeline {

using nlohmann::json;

namespace {}  // namespace

CarryOver TakeCarryOver(const Pipeline& pipeline, const std::vector<OpenFileStream>& streams,
                        const std::vector<std::string>& source_names) {
  CarryOver carry_over{pipeline.TakeWaiting(), {}};
  for (const OpenFileStream& open : streams) {
    std::optional<tailers::RegistryReader::Held> record = pipeline.HeldOf(open.stream);
    if (!record.has_value() || open.source_index >= source_names.size()) continue;
    carry_over.held.push_back({source_names[open.source_index], open.file, std::move(*record)});
  }
  return carry_over;
}

std::string EncodeCarryOver(const CarryOver& carry_over) {
  // Estimated before anything is written: a joiner filled by a flood (100,000 waiting lines and
  // as many remembered summaries) would cost tens of MB a scrape to carry. Above the bound the
  // state is not carried (logged at most once a minute): a crash then loses what waited.
  const RequestJoiner::Waiting& waiting = carry_over.pipeline.joiner;
  size_t estimate = waiting.requests.size() * 600 + waiting.recent_summaries.size() * 60 +
                    waiting.reported_errors.size() * 70;
  for (const auto* access : waiting.access) estimate += RequestJoiner::EncodedSize(*access);
  if (estimate > kMaxCarryOverBytes) {
    static int64_t last_warned_s = 0;
    const int64_t now_s = static_cast<int64_t>(std::time(nullptr));
    if (now_s - last_warned_s >= 60) {
      last_warned_s = now_s;
      spdlog::warn(
          "about {} bytes of responses waiting for their partners are more than the {} the "
          "positions file carries: a crash before they are counted loses them",
          estimate, kMaxCarryOverBytes);
    }
    return {};
  }
  // Written as text, not through a DOM (see RequestJoiner::AppendWaitingJson).
  std::string text = "{\"version\":1,\"pipeline\":{\"latest_time\":" +
                     std::to_string(carry_over.pipeline.latest_time_ns) + ",\"joiner\":";
  RequestJoiner::AppendWaitingJson(carry_over.pipeline.joiner, &text);
  text += "},\"held\":";
  json held = json::array();  // a few records at most: one per open file
  for (const CarryOver::HeldRecord& record : carry_over.held) {
    held.push_back({{"source", record.source},
                    {"dev", record.file.dev},
                    {"inode", record.file.inode},
                    {"record", record.held.record},
                    {"record_time", record.held.record_envelope_time_ns},
                    {"fragments", record.held.fragments},
                    {"fragments_time", record.held.fragments_time_ns},
                    {"last_time", record.held.last_time_ns},
                    {"error_fragment", record.held.error_fragment},
                    {"error_fragment_is_golog", record.held.error_fragment_is_golog}});
  }
  text += held.dump(-1, ' ', false, json::error_handler_t::replace);
  text += "}";
  if (text.size() > kMaxCarryOverBytes) {
    spdlog::warn(
        "{} bytes of responses waiting for their partners are more than the {} the positions "
        "file carries: a crash before they are counted loses them",
        text.size(), kMaxCarryOverBytes);
    return {};
  }
  return text;
}

StatusOr<std::vector<CarriedHeld>> RestoreCarryOver(std::string_view text, Pipeline* pipeline,
                                                    const std::vector<std::string>& source_names) {
  // EncodeCarryOver never writes more: a larger state is not ours, and its DOM would cost about
  // twenty times its size (a 60 MB state of empty arrays, under the positions file's 64 MiB,
  // took 2.3 GB at start-up).
  if (text.size() > kMaxCarryOverBytes) {
    return Status::Corruption("pipeline_state: " + std::to_string(text.size()) +
                              " bytes, more than the " + std::to_string(kMaxCarryOverBytes) +
                              " ever written");
  }
  const json state = json::parse(text, nullptr, false);
  // No value() with a default here: it throws when "version" is not a number, and this check is
  // outside the try below (an uncaught type_error ended the daemon at every start-up:
  // fuzz/regressions/carry_over/version-string).
  if (state.is_discarded() || !state.is_object() || !state.contains("version") ||
      !state["version"].is_number_integer() || state["version"].get<int64_t>() != 1 ||
      !state.contains("pipeline") || !state.contains("held") || !state["held"].is_array()) {
    return Status::Corruption("pipeline_state: not a version 1 carry-over object");
  }
  std::vector<CarriedHeld> carried;
  try {
    for (const json& entry : state["held"]) {
      const std::string source = entry.at("source").get<std::string>();
      auto named = std::find(source_names.begin(), source_names.end(), source);
      if (named == source_names.end()) {
        spdlog::warn("pipeline_state: source {} is no longer configured; its held record is lost",
                     source);
        continue;
      }
      CarriedHeld held;
      held.source_index = static_cast<size_t>(named - source_names.begin());
      held.file = {StateInteger<uint64_t>(entry.at("dev")),
                   StateInteger<uint64_t>(entry.at("inode"))};
      held.held.record = entry.at("record").get<std::string>();
      held.held.record_envelope_time_ns = StateInteger<int64_t>(entry.at("record_time"));
      held.held.fragments = entry.at("fragments").get<std::string>();
      held.held.fragments_time_ns = StateInteger<int64_t>(entry.at("fragments_time"));
      held.held.last_time_ns = StateInteger<int64_t>(entry.at("last_time"));
      held.held.error_fragment = entry.value("error_fragment", std::string());
      held.held.error_fragment_is_golog = entry.value("error_fragment_is_golog", false);
      carried.push_back(std::move(held));
    }
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("pipeline_state: held records: ") + e.what());
  }
  if (Status restored = pipeline->RestoreState(state["pipeline"]); !restored.ok()) {
    return restored.Prefixed("pipeline_state: ");
  }
  return carried;
}

}  // namespace rrca::pipeline
