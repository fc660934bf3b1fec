#pragma once

// Events and a sink for the RequestJoiner tests: records as the reader would hand them over.
#include <string>
#include <string_view>
#include <vector>

#include "exporter/pipeline/joiner.h"

namespace rrca::pipeline::joiner_events {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSecond;

constexpr int64_t JoinerWallStep(int64_t millis) { return millis * 1'000'000; }

struct Seen {
  JoinedRequest::Origin origin;
  std::string request_id, method, uri, err_detail, messages;
  int status;
  double age;
};

class Collector : public JoinedRequestSink {
 public:
  void OnRequest(const JoinedRequest& r) override {
    seen.push_back({r.origin, std::string(r.request_id), std::string(r.method), std::string(r.uri),
                    std::string(r.err_detail), std::string(r.messages), r.status,
                    r.upload_age_seconds});
  }
  std::vector<Seen> seen;
};

// A summary written at `time`; it arrived duration_ns (0.1 s) before.
inline RegistryEvent Summary(int64_t time, std::string_view id, int status,
                             std::string_view uri = "/v2/a/blobs/uploads/u") {
  RegistryEvent e;
  e.time_ns = time;
  e.level = status >= 400 ? Level::kError : Level::kInfo;
  e.msg = status >= 400 ? "response completed with error" : "response completed";
  e.request_id = id;
  e.method = "PATCH";
  e.uri = uri;
  e.status = status;
  e.duration_ns = kSecond / 10;
  if (status >= 400) e.err_code = "unknown";
  return e;
}

inline RegistryEvent ErrorLine(int64_t time, std::string_view id, std::string_view msg,
                               std::string_view method = "PATCH",
                               std::string_view uri = "/v2/a/blobs/uploads/u") {
  RegistryEvent e;
  e.time_ns = time;
  e.level = Level::kError;
  e.msg = msg;
  e.request_id = id;
  e.method = method;
  e.uri = uri;
  return e;
}

inline RegistryEvent Access(int64_t time, int status, std::string_view method = "PATCH",
                            std::string_view uri = "/v2/a/blobs/uploads/u") {
  RegistryEvent e;
  e.kind = RegistryEvent::Kind::kAccessLog;
  e.time_ns = time / kSecond * kSecond;  // the access log has second resolution
  e.level = Level::kInfo;
  e.method = method;
  e.uri = uri;
  e.status = status;
  return e;
}

}  // namespace rrca::pipeline::joiner_events
