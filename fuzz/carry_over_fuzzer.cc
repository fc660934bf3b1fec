// Fuzzes the carried pipeline state (exporter/pipeline/carry_over.h): RestoreCarryOver on arbitrary
// bytes, as the daemon restores the positions file's "pipeline_state" at start-up (a torn write,
// a file of another version, a hand edit), into the joiner (RequestJoiner::RestoreState) and the
// files' held records. Whatever the bytes, the result is a Status (the pipeline unchanged) or a
// restored state, never a crash or an exception; the joiner keeps its bound (max_pending).
// A restored state is then saved the way a scrape saves it (SaveCarryOver) and restored into a
// second pipeline, whose save must be the same text: a restart after a restart resumes where the
// first one did. Finally the restored pipeline runs on (a continuation line and a new record per
// file, Tick, Finish), so the state it was given is one it can work with.
// Seeds: fuzz/corpus/carry_over/ (states as the daemon writes them). Dictionary: json.dict.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/app/config.h"
#include "exporter/app/rules_loader.h"
#include "exporter/pipeline/carry_over.h"
#include "exporter/pipeline/pipeline.h"
#include "fuzz/fuzz_util.h"

namespace {

using rrca::pipeline::CarriedHeld;
using rrca::pipeline::OpenFileStream;
using rrca::pipeline::Pipeline;

constexpr size_t kMaxPending = 16;  // small, so the bound is reached by a few kilobytes

const std::vector<std::string>& Sources() {
  static const std::vector<std::string> sources = {"registry", "harbor"};
  return sources;
}

std::shared_ptr<const rrca::rules::RuleSet> DefaultRules() {
  static const std::shared_ptr<const rrca::rules::RuleSet> rules = [] {
    auto loaded = rrca::app::LoadRules(rrca::app::Config());
    RRCA_FUZZ_CHECK(loaded.ok());
    return loaded.value();
  }();
  return rules;
}

std::unique_ptr<Pipeline> NewPipeline() {
  Pipeline::Options options;
  options.join.max_pending = kMaxPending;
  options.max_record_bytes = 4096;
  return std::make_unique<Pipeline>(options, DefaultRules(), nullptr);
}

// A pipeline restored from `text` the way the daemon does it (one stream per source and file,
// a later held record of the same file replacing an earlier one), or null when it is refused.
struct Restored {
  std::unique_ptr<Pipeline> pipeline = NewPipeline();
  std::vector<OpenFileStream> streams;
};

std::unique_ptr<Restored> Restore(std::string_view text) {
  auto restored = std::make_unique<Restored>();
  Pipeline& pipeline = *restored->pipeline;
  auto carried = rrca::pipeline::RestoreCarryOver(text, &pipeline, Sources());
  if (!carried.ok()) {
    RRCA_FUZZ_CHECK(carried.status().message().starts_with("pipeline_state"));
    // Refused: nothing of it was restored.
    RRCA_FUZZ_CHECK(pipeline.pending_requests() == 0 && pipeline.pending_access_lines() == 0);
    RRCA_FUZZ_CHECK(pipeline.latest_time_ns() == 0);
    return nullptr;
  }
  RRCA_FUZZ_CHECK(pipeline.pending_requests() <= kMaxPending);
  RRCA_FUZZ_CHECK(pipeline.pending_access_lines() <= kMaxPending);
  std::map<std::pair<size_t, rrca::tailers::FileKey>, Pipeline::StreamId> by_file;
  for (CarriedHeld& held : carried.value()) {
    RRCA_FUZZ_CHECK(held.source_index < Sources().size());
    rrca::fuzz::Touch(held.held.record);
    rrca::fuzz::Touch(held.held.fragments);
    rrca::fuzz::Touch(held.held.error_fragment);
    const auto key = std::make_pair(held.source_index, held.file);
    auto [it, inserted] = by_file.try_emplace(key, 0);
    if (inserted) {
      it->second =
          pipeline.OpenStream(Sources()[held.source_index], rrca::tailers::EnvelopeHint::kAuto);
      restored->streams.push_back({held.source_index, held.file, it->second});
    }
    pipeline.RestoreHeld(it->second, std::move(held.held));
  }
  return restored;
}

std::string Save(const Restored& restored) {
  return rrca::pipeline::SaveCarryOver(*restored.pipeline, restored.streams, Sources());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::unique_ptr<Restored> first = Restore(text);
  if (first == nullptr) return 0;

  // Saved and restored again: the same state, the same text.
  const std::string saved = Save(*first);
  RRCA_FUZZ_CHECK(!saved.empty());  // far below kMaxCarryOverBytes
  const std::unique_ptr<Restored> second = Restore(saved);
  RRCA_FUZZ_CHECK(second != nullptr);
  RRCA_FUZZ_CHECK(second->pipeline->pending_requests() == first->pipeline->pending_requests());
  RRCA_FUZZ_CHECK(second->pipeline->pending_access_lines() ==
                  first->pipeline->pending_access_lines());
  RRCA_FUZZ_CHECK(Save(*second) == saved);

  // The restored pipeline runs on.
  Pipeline& pipeline = *first->pipeline;
  for (const OpenFileStream& open : first->streams) {
    pipeline.OnLine(open.stream,
                    "\tstatus code: 403, request id: R1, host id: H1\" err.message=\"unknown "
                    "error\" http.request.id=r1 http.request.method=PUT "
                    "http.request.uri=\"/v2/a/manifests/t\" http.response.status=500");
    pipeline.OnLine(open.stream,
                    "time=\"2026-11-29T12:42:25.489559988Z\" level=info msg=\"response "
                    "completed\" http.request.id=r2 http.request.method=GET "
                    "http.request.uri=\"/v2/a/blobs/uploads/2\" http.response.status=202");
  }
  pipeline.Tick();
  pipeline.Finish();
  return 0;
}
