#pragma once

#include <cstdio>
#include <map>
#include <string>

#include "exporter/pipeline.h"

namespace rrca::exporter {

// `analyze --format=jsonl`: one JSON object per error response, written as it is judged.
class JsonlWriter : public ClassifiedObserver {
 public:
  explicit JsonlWriter(std::FILE* out) : out_(out) {}
  void OnClassified(const Classified& classified) override;

 private:
  std::FILE* out_;
  std::string line_;
};

// `analyze --format=text`: causes ranked by count with their share, the top repositories per
// cause and one example request per cause. Memory: one entry per (cause, repository label),
// which the repository cap bounds.
class TextReport : public ClassifiedObserver {
 public:
  void OnClassified(const Classified& classified) override;
  void Print(std::FILE* out) const;

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
};

class UploadCorrelator;

// The object-store side of the text report: create-to-visible, client-gap and unsafe-window
// percentiles, upload outcomes and the timelines of the uploads that raced and failed.
void PrintUploadReport(const UploadCorrelator& correlator, std::FILE* out);

// The JSON object JsonlWriter prints for one request (exposed for the explain API and tests).
void AppendRequestJson(const Classified& classified, std::string* out);

}  // namespace rrca::exporter
