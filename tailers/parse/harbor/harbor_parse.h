#pragma once

#include <string>
#include <string_view>

#include "common/hop_event.h"

// Pure parsers for the lines of the hops in front of the registry (envelope already removed).
// Values view the line or *scratch; nothing allocates on the common path and nothing throws.
//
// nginx access lines, all with the request line quoted and the status after it:
//   Harbor timed_combined (2.x):  1.2.3.4 - "PATCH /v2/... HTTP/1.1" 504 167 "-" "docker/..."
//                                 900.004 900.004 .
//   with a time (Harbor 1.x, nginx's combined):  1.2.3.4 - - [18/Apr/2019:10:33:44 +0000] "..."
//   ingress-nginx's default:  ... "ua" <request_length> <request_time> [<upstream name>]
//                             [<alternative>] <upstream_addr> <upstream_response_length>
//                             <upstream_response_time> <upstream_status> <req_id>
//   older ingress-nginx: "$remote_addr - [$the_real_ip] - ..." and no [<alternative>]
//   GitLab's gitlab_access: combined, then $gzip_ratio ("-" or "4.33": no time)
//   a viewer's row without the client (its own time in front):  "GET /v2/ HTTP/1.1" 499 0 "-" "ua
// nginx error log:
//   2019/04/18 10:33:44 [error] 9#0: *971 upstream timed out (110: Connection timed out) while
//   sending request to upstream, client: 192.168.23.9, server: , request: "PATCH /v2/... HTTP/1.1",
//   upstream: "http://172.18.0.5:8080/...", host: "192.168.83.124:81"
// Harbor core: its Go log (see IsHarborGoLogStart) and Go's standard logger, which
// httputil.ReverseProxy writes to: "2026/03/17 14:12:33 http: proxy error: context canceled".
namespace rrca::tailers {

enum class HopParse : uint8_t { kOk, kNotRecord, kMalformed };

// An nginx access line in any of the forms above. `time_ns` is left 0 when the line has none
// (Harbor 2.x logs none: its syslog envelope or container runtime gives the time).
// `detail` kErrorsOnly: a response that is no error (not 499, below 500) stops after its request
// line and status, which is all a reader counts of it (time, method, URI and status are set).
enum class AccessDetail : uint8_t { kFull, kErrorsOnly };
HopParse ParseNginxAccess(std::string_view line, HopEvent* event,
                          AccessDetail detail = AccessDetail::kFull);

// An nginx error-log line ("YYYY/MM/DD HH:MM:SS [level] pid#tid: ..."), time read as UTC.
HopParse ParseNginxError(std::string_view line, HopEvent* event);

// A Harbor core line: Go log or stdlib log. kNotRecord when it is neither.
HopParse ParseCoreLine(std::string_view line, HopEvent* event);

// The method and URI of a quoted request line "PATCH /v2/x HTTP/1.1" (the protocol optional);
// false when it has no method and URI.
bool SplitRequestLine(std::string_view request, std::string_view* method, std::string_view* uri);

}  // namespace rrca::tailers
