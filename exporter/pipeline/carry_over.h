#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "exporter/pipeline/pipeline.h"
#include "tailers/follow/tail_types.h"
#include "tailers/parse/registry/registry_reader.h"

namespace rrca::pipeline {

// What the processing thread has read but not counted yet, carried across a restart inside the
// positions file: the joiner's waiting requests and access lines, the summaries a later access
// line may still match, and each file's record held for its continuation line. The positions
// saved at a scrape are past those lines, so without this a restart lost every response still
// waiting for its partner; with it, a restart neither loses nor counts twice (the state and the
// positions are taken under the same lock as the scraped metrics).
//
// The text is one JSON value (invalid UTF-8 in log text is replaced, which can only change what
// a rule sees of a broken byte). Above kMaxCarryOverBytes nothing is carried (logged): the
// positions file must stay loadable.
struct OpenFileStream {
  size_t source_index = 0;
  tailers::FileKey file;
  Pipeline::StreamId stream = 0;
};

struct CarriedHeld {
  size_t source_index = 0;
  tailers::FileKey file;
  tailers::RegistryReader::Held held;
};

inline constexpr size_t kMaxCarryOverBytes = 8u << 20;

// What waits, as views into the pipeline (see RequestJoiner::Waiting): taken and encoded with
// the processing lock held. The held records are copied (one per open file at most).
struct CarryOver {
  Pipeline::Waiting pipeline;
  struct HeldRecord {
    std::string source;
    tailers::FileKey file;
    tailers::RegistryReader::Held held;
  };
  std::vector<HeldRecord> held;
};
CarryOver TakeCarryOver(const Pipeline& pipeline, const std::vector<OpenFileStream>& streams,
                        const std::vector<std::string>& source_names);
// The positions file's "pipeline_state" text; empty when it is too large to carry (logged).
std::string EncodeCarryOver(const CarryOver& carry_over);
inline std::string SaveCarryOver(const Pipeline& pipeline,
                                 const std::vector<OpenFileStream>& streams,
                                 const std::vector<std::string>& source_names) {
  return EncodeCarryOver(TakeCarryOver(pipeline, streams, source_names));
}

// Restores the joiner's state into `pipeline` and returns the held records to put back into
// their files' streams. Sources are matched by name (a source removed from the configuration
// loses its held record, logged). On error the pipeline is unchanged.
StatusOr<std::vector<CarriedHeld>> RestoreCarryOver(std::string_view text, Pipeline* pipeline,
                                                    const std::vector<std::string>& source_names);

}  // namespace rrca::pipeline
