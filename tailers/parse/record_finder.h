#pragma once

#include <cstddef>
#include <string_view>

// Finding a registry record inside a line that carries more than the transport envelopes
// Unwrap() knows. Users' and tools' lines arrive wrapped in many ways:
//   2019-04-05T07:40:32.353662000Z time="..." ...           docker logs -t, kubectl --timestamps
//   registry-1  | [ 8389.62] registry[1156]: time="..."      compose + a supervisor's tag
//   registry.1.ty5vu0u6ibnt@node    | time="..."             docker service logs
//   [pod/registry-0/registry] time="..."  /  pod container time="..."   kubectl --prefix, stern
//   registry.log:123:time="..."  /  146102 time="..."        grep -n, cat -n
//   1.5.2019 00:39:58time="..."                              a log viewer's copy, no space
//   2024-06-05 13:13:52.891 | {"stream":...,"message":"..."} a log viewer's table row
//   core[9894]: 2021-05-05T12:38:33Z [ERROR] [...]: ...      a bare syslog tag
// Only called for lines whose start is no record, so a line without a prefix costs nothing.
namespace rrca::tailers {

// The offset at which a record (logrus text, logrus JSON, logrus TTY, access log, Harbor's
// Go log) starts inside `payload`, looking at its first kSearchBytes; npos when there is none.
// Never 0: a record at the start is DetectRecordStart's.
size_t FindEmbeddedRecord(std::string_view payload);

inline constexpr size_t kSearchBytes = 512;

// Harbor's own log format (core, jobservice, registryctl), after any envelope:
//   2023-05-01T10:00:00Z [ERROR] [/pkg/reg/adapter/file.go:123]: message
//   2023-05-01T10:00:00Z [ERROR] [/pkg/file.go:123][requestID="..."]: message
//   [ERROR] [/server/middleware/repoproxy/proxy.go:162]: message        (timestamp cut off)
// True when `payload` starts with one.
bool IsHarborGoLogStart(std::string_view payload);

}  // namespace rrca::tailers
