#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "common/event.h"
#include "common/request.h"

// Helpers shared by the libFuzzer targets: invariant checks that abort (so libFuzzer saves the
// input) and "touch every byte of every view" so a view into freed or reallocated memory is an
// ASan report rather than silent garbage.
namespace rrca::fuzz {

[[noreturn]] inline void Fail(const char* file, int line, const char* what) {
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, what);
  std::abort();
}

#define RRCA_FUZZ_CHECK(cond) ((cond) ? (void)0 : ::rrca::fuzz::Fail(__FILE__, __LINE__, #cond))

// Reads every byte (the sum goes to a volatile sink so the loads are not optimised away).
inline void Touch(std::string_view view) {
  unsigned sum = 0;
  for (const char c : view) sum += static_cast<unsigned char>(c);
  static volatile unsigned sink;
  sink = sink + sum;
}

// Whether `view` lies inside `buffer` (an empty view may point anywhere).
inline bool Inside(std::string_view view, std::string_view buffer) {
  if (view.empty()) return true;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(buffer.data());
  const uintptr_t at = reinterpret_cast<uintptr_t>(view.data());
  return at >= begin && at + view.size() <= begin + buffer.size();
}

// Inside the input or inside the scratch buffer the parser was given.
inline bool InsideEither(std::string_view view, std::string_view input,
                         const std::string& scratch) {
  return Inside(view, input) || Inside(view, std::string_view(scratch.data(), scratch.capacity()));
}

inline void CheckEvent(const RegistryEvent& event, std::string_view input,
                       const std::string& scratch) {
  for (const std::string_view field :
       {event.msg, event.request_id, event.method, event.uri, event.repository, event.upload_uuid,
        event.err_code, event.err_message, event.err_detail, event.trace_func}) {
    Touch(field);
    RRCA_FUZZ_CHECK(InsideEither(field, input, scratch));
  }
}

inline void CheckEvent(const S3Event& event, std::string_view input, const std::string& scratch) {
  for (const std::string_view field :
       {event.raw_operation, event.bucket, event.key, event.request_id, event.error_code}) {
    Touch(field);
    RRCA_FUZZ_CHECK(InsideEither(field, input, scratch));
  }
}

// Every line of `data` (split at '\n', without it), as the tailer hands lines on. Each line is
// copied into a heap block of exactly its size, so reading one byte past it is an ASan report
// (a view into `data` would read the next line's '\n' unnoticed).
template <typename Fn>
void ForEachLine(std::string_view data, Fn&& fn) {
  size_t start = 0;
  while (start < data.size()) {
    size_t end = data.find('\n', start);
    if (end == std::string_view::npos) end = data.size();
    const size_t size = end - start;
    std::unique_ptr<char[]> copy(new char[size == 0 ? 1 : size]);
    std::memcpy(copy.get(), data.data() + start, size);
    fn(std::string_view(copy.get(), size));
    start = end + 1;
  }
}

}  // namespace rrca::fuzz
