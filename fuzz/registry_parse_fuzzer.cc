// Fuzzes tailers/parse/registry/registry_parse.h: every record parser on one payload (envelope
// removed), plus DetectRecordStart and PeekLineTime; ParseLogrusJson (simdjson) must agree with
// ParseLogrusJsonScan (json_scan) on every input. Seeds: fuzz/corpus/registry_parse/. Dictionary:
// registry.dict.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/event.h"
#include "fuzz/fuzz_util.h"
#include "tailers/parse/registry/registry_parse.h"

namespace {

using rrca::RegistryEvent;
using rrca::tailers::ParseStatus;

void CheckParsed(ParseStatus status, const RegistryEvent& event, std::string_view record,
                 const std::string& scratch) {
  RRCA_FUZZ_CHECK(status == ParseStatus::kOk || status == ParseStatus::kUnterminated ||
                  status == ParseStatus::kMalformed);
  rrca::fuzz::CheckEvent(event, record, scratch);
  RRCA_FUZZ_CHECK(event.status == 0 || (event.status >= 100 && event.status <= 999));
  rrca::fuzz::Touch(rrca::LevelName(event.level));
}

bool SameEvent(const RegistryEvent& a, const RegistryEvent& b) {
  return a.kind == b.kind && a.time_ns == b.time_ns && a.level == b.level && a.msg == b.msg &&
         a.request_id == b.request_id && a.method == b.method && a.uri == b.uri &&
         a.repository == b.repository && a.upload_uuid == b.upload_uuid &&
         a.err_code == b.err_code && a.err_message == b.err_message &&
         a.err_detail == b.err_detail && a.trace_func == b.trace_func && a.status == b.status &&
         a.duration_ns == b.duration_ns && a.trace_duration_ns == b.trace_duration_ns &&
         a.probe == b.probe;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view record(reinterpret_cast<const char*>(data), size);
  std::string scratch;

  rrca::fuzz::Touch(rrca::tailers::RecordFormatName(rrca::tailers::DetectRecordStart(record)));

  for (const bool header_only : {true, false}) {
    RegistryEvent event;
    bool interesting = false;
    const ParseStatus status =
        rrca::tailers::ParseLogrusText(record, header_only, &scratch, &event, &interesting);
    CheckParsed(status, event, record, scratch);
  }
  {
    // simdjson with json_scan as its fallback must give what json_scan alone gives.
    RegistryEvent event;
    const ParseStatus status = rrca::tailers::ParseLogrusJson(record, &scratch, &event);
    CheckParsed(status, event, record, scratch);
    std::string reference_scratch;
    RegistryEvent reference;
    RRCA_FUZZ_CHECK(status ==
                    rrca::tailers::ParseLogrusJsonScan(record, &reference_scratch, &reference));
    RRCA_FUZZ_CHECK(SameEvent(event, reference));
  }
  {
    RegistryEvent event;
    CheckParsed(rrca::tailers::ParseLogrusTty(record, &scratch, &event), event, record, scratch);
  }
  {
    RegistryEvent event;
    const ParseStatus status = rrca::tailers::ParseAccessLog(record, &event);
    CheckParsed(status, event, record, scratch);
    RRCA_FUZZ_CHECK(status != ParseStatus::kUnterminated);
  }
  rrca::fuzz::Touch(std::to_string(rrca::tailers::PeekLineTime(record, 2026, &scratch)));
  return 0;
}
