#pragma once

#include <cstdint>
#include <string_view>

#include "common/event.h"

// One line of a hop in front of the registry: Harbor's nginx (`proxy`, or ingress-nginx) and
// Harbor core's reverse proxy (`core`). Views are valid only during the call that hands the
// event over, like RegistryEvent's.
namespace rrca {

enum class Hop : uint8_t { kRegistry, kCore, kProxy };
std::string_view HopName(Hop hop);  // "registry", "core", "proxy" (the `hop` label values)

struct HopEvent {
  enum class Kind : uint8_t {
    kAccess,  // one response the hop gave: nginx's access line
    kError,   // the hop's own error line: nginx's error log, core's Go log / stdlib log
  };
  Hop hop = Hop::kProxy;
  Kind kind = Kind::kAccess;
  int64_t time_ns = 0;  // when the line was written (nginx: the response's end); 0 unknown
  Level level = Level::kUnknown;
  int status = 0;                 // access: $status; error: 0
  int64_t request_time_ns = -1;   // nginx $request_time; -1 unknown
  int64_t upstream_time_ns = -1;  // nginx $upstream_response_time (the last upstream's); -1 none
  std::string_view method;
  std::string_view uri;       // raw request URI, still percent-encoded
  std::string_view message;   // error: the hop's message ("upstream timed out (110: ...")
  std::string_view upstream;  // error: nginx's `upstream: "..."`; ingress: $upstream_addr
  // The X-Request-Id of the request when the hop logs it: ingress-nginx's $req_id (which it also
  // sends upstream as X-Request-ID), Harbor core's [requestID="..."] (its requestid middleware
  // keeps an incoming X-Request-ID, else makes one).
  std::string_view request_id;
  std::string_view line;  // the line as read (a reassembled CRI / json-file line: its payload)
};

}  // namespace rrca
