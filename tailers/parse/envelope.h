#pragma once

#include <cstdint>
#include <string>
#include <string_view>

// Transport envelopes around a registry's log line, detected per line:
//   none         time="..." level=info msg="..."
//   syslog       Apr  6 11:46:40 172.25.0.1 registry[3915]: <payload>   (Harbor's log container;
//                also "Apr 6" with one space, an optional <PRI>, and no host)
//   rfc5424      <165>1 2022-04-06T03:46:40.800Z host registry 3915 - - <payload>
//   cri          2024-06-05T10:00:00.123456789Z stderr F <payload>       (P = partial)
//   docker_json  {"log":"<payload>\n","stream":"stderr","time":"..."}    (no \n = partial)
//   svlogd       2017-05-09_08:04:17.13891 <payload>                     (runit; GitLab omnibus)
//   compose      registry_1  | <payload>                                 (docker compose logs)
namespace rrca::tailers {

enum class Envelope : uint8_t { kNone, kSyslog, kRfc5424, kCri, kDockerJson, kSvlogd, kCompose };

std::string_view EnvelopeName(Envelope envelope);

struct Unwrapped {
  Envelope envelope = Envelope::kNone;
  std::string_view payload;  // the record text without the envelope and without a trailing \n
  int64_t time_ns = 0;       // the envelope's own time, 0 when it has none or it is unusable
  bool partial = false;      // the payload continues in the next physical line (CRI P, json-file)
  bool malformed = false;    // looked like an envelope but was broken (e.g. truncated json-file)
};

// Which envelope(s) a source may carry. kAuto detects per line.
enum class EnvelopeHint : uint8_t { kAuto, kNone, kSyslog, kCri, kDockerJson };

// Removes the envelope of one physical line (without its newline). Docker json-file payloads
// are unescaped into *scratch (cleared first), so the payload views it; all other payloads view
// `line`. `syslog_year` supplies the year syslog's timestamp lacks.
Unwrapped Unwrap(std::string_view line, EnvelopeHint hint, int syslog_year, std::string* scratch);

}  // namespace rrca::tailers
