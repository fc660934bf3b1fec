#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/json.h"
#include "exporter/pipeline/pipeline.h"
#include "exporter/pipeline/templates.h"

namespace rrca::pipeline {
class UploadCorrelator;
}  // namespace rrca::pipeline

namespace rrca::app {

// What analyze could not read: physical lines by reason (the reader's skip reasons, lines too
// long to read), with the first line of each reason.
struct LineAccount {
  struct Reason {
    std::string name;
    uint64_t count = 0;
    std::string example;  // the first such line, at most kExampleBytes; empty when not kept
  };
  static constexpr size_t kExampleBytes = 240;
  uint64_t lines = 0;           // physical lines read, not understood ones included
  std::vector<Reason> reasons;  // count > 0 only, in the order first met
  void Add(std::string_view reason, uint64_t count, std::string_view example);
  uint64_t not_understood() const;
};

// `analyze --format=jsonl`: one JSON object per error response, written as it is judged.
class JsonlWriter : public pipeline::ClassifiedObserver {
 public:
  explicit JsonlWriter(std::FILE* out) : out_(out) {}
  void OnClassified(const pipeline::Classified& classified) override;

 private:
  std::FILE* out_;
  std::string line_;
};

// `analyze --format=text`: causes ranked by count with their share, the top repositories per
// cause and one example request per cause, the unclassified errors by message template and the
// lines not understood. Memory: one entry per (cause, repository label), which the repository
// cap bounds, and the bounded template table.
class TextReport : public pipeline::ClassifiedObserver {
 public:
  void OnClassified(const pipeline::Classified& classified) override;
  void Print(const LineAccount& lines, std::FILE* out) const;
  // `analyze --format=jsonl`'s last line: {"summary":{...}} (no "cause" key, so a reader that
  // takes objects with a cause as errors skips it). With `uploads`, the summary carries
  // "uploads": the create-to-visible figures, outcomes and each example's visibility bounds.
  void PrintJsonSummary(const LineAccount& lines, std::FILE* out,
                        const pipeline::UploadCorrelator* uploads = nullptr) const;
  const pipeline::TemplateTable& templates() const { return templates_; }
  static constexpr size_t kTopTemplates = 10;

 private:
  struct CauseStats {
    uint64_t count = 0;
    std::string severity;
    std::string summary;
    std::string example_request_id;
    std::string example_detail;
    std::map<std::string, uint64_t> repositories;
  };
  uint64_t responses_ = 0;
  uint64_t errors_ = 0;
  std::map<std::string, CauseStats> causes_;
  pipeline::TemplateTable templates_;
};

// The object-store side of the text report: create-to-visible percentiles (upper bounds of the
// uploads seen visible, lower bounds of those seen invisible after the ack, and how many were
// never seen visible), client-gap and unsafe-window percentiles, upload outcomes, and for the
// uploads that raced and failed or recovered, their visibility bounds in words and timelines
// (`explain`: an upload's explain JSON as the daemon's API answers it, hops included; printed
// compact, as the API serves it).
void PrintUploadReport(const pipeline::UploadCorrelator& correlator,
                       const std::function<std::optional<Json>(const std::string& uuid)>& explain,
                       std::FILE* out);

// The JSON object JsonlWriter prints for one request (exposed for the explain API and tests).
void AppendRequestJson(const pipeline::Classified& classified, std::string* out);

}  // namespace rrca::app
