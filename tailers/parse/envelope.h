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

// Reassembles one logical line from the pieces a container runtime split it into (CRI "P"
// lines, Docker json-file lines without their "\n"). A piece is held until the piece that
// completes the line; a run longer than max_bytes is dropped whole (its pieces up to the final one
// still belong to it, so the final one is not taken for a line of its own). Every physical line
// lands in exactly one outcome, so a reader can count lines == empty + held + records + skipped.
// A plain value owned by one reader; not thread-safe.
class PartialLines {
 public:
  enum class Step : uint8_t {
    kWhole,     // not part of a split line: use the Unwrapped payload as it is
    kHeld,      // a piece, kept (or dropped with its over-long run) until the line completes
    kTooLong,   // the final piece of a run over max_bytes: the whole line is dropped
    kComplete,  // the final piece: Take() returns the whole line
  };
  Step Add(const Unwrapped& piece, size_t max_bytes);
  // The completed line (after kComplete), leaving nothing held.
  std::string Take();
  int64_t time_ns() const { return time_ns_; }  // the first piece's envelope time

  // What is held between lines, carried over a restart with the positions.
  const std::string& held() const { return text_; }
  void Restore(std::string text, int64_t time_ns) {
    text_ = std::move(text);
    time_ns_ = time_ns;
  }

 private:
  std::string text_;
  int64_t time_ns_ = 0;
  bool too_long_ = false;  // the current run was dropped; its pieces are skipped until the last
};

// The steps every reader takes on a physical line before it parses anything: a trailing "\r"
// dropped, the envelope removed (Unwrap), the pieces of a split line joined (PartialLines).
// Next() says what came of the line; after kPayload, payload() and time_ns() hold the record
// text and its envelope time, valid until the next call. Owns its buffers; one per reader, not
// thread-safe.
class PhysicalLines {
 public:
  enum class Step : uint8_t {
    kPayload,            // a record's text to parse
    kEmpty,              // an empty line
    kHeld,               // a piece of a split line, held until the line completes
    kEnvelopeMalformed,  // a broken envelope: skipped
    kTooLong,            // the last piece of a split line over max_record_bytes: skipped
  };
  Step Next(std::string_view line, EnvelopeHint hint, int syslog_year, size_t max_record_bytes);
  std::string_view payload() const { return payload_; }
  int64_t time_ns() const { return time_ns_; }
  // The line as read (without "\r"), or the joined line when pieces were joined.
  std::string_view line() const { return line_; }
  // What is held between lines, carried over a restart with the positions.
  PartialLines& partial_lines() { return partial_lines_; }
  const PartialLines& partial_lines() const { return partial_lines_; }

 private:
  std::string scratch_;  // a json-file payload, unescaped
  std::string joined_;   // the last line joined from pieces
  PartialLines partial_lines_;
  std::string_view payload_;
  std::string_view line_;
  int64_t time_ns_ = 0;
};

}  // namespace rrca::tailers
