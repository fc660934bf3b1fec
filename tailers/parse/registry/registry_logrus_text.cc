// logrus' text formatter, with and without a terminal (registry_parse.h):
//   time="2024-06-05T10:00:00Z" level=error msg="response completed with error" err.code=...
//   ERRO[0003] response completed with error                  err.code=...
#include "tailers/parse/registry/registry_fields.h"
#include "tailers/parse/registry/registry_parse.h"

namespace rrca::tailers {

using registry_fields::Assign;
using registry_fields::Field;
using registry_fields::FieldOf;
using registry_fields::FindClosingQuote;
using registry_fields::LevelOf;

ParseStatus ParseLogrusText(std::string_view record, bool header_only, std::string* scratch,
                            RegistryEvent* event, bool* interesting) {
  scratch->clear();
  scratch->reserve(record.size());
  bool have_msg = false;
  bool have_level = false;
  size_t pos = 0;
  const size_t size = record.size();
  while (pos < size) {
    while (pos < size && (record[pos] == ' ' || record[pos] == '\n' || record[pos] == '\t')) ++pos;
    if (pos >= size) break;
    const size_t key_start = pos;
    while (pos < size && record[pos] != '=' && record[pos] != ' ') ++pos;
    if (pos >= size || record[pos] != '=') continue;  // a bare word: not a field
    const Field field = FieldOf(record.substr(key_start, pos - key_start));
    ++pos;
    std::string_view value;
    bool quoted = false;
    if (pos < size && record[pos] == '"') {
      const size_t close = FindClosingQuote(record, pos + 1);
      if (close == std::string_view::npos) {
        Assign(field, record.substr(pos + 1), true, scratch, event);
        if (field == Field::kMsg) have_msg = true;
        *interesting = IsInteresting(event->level, event->msg);
        return ParseStatus::kUnterminated;
      }
      value = record.substr(pos + 1, close - pos - 1);
      quoted = true;
      pos = close + 1;
    } else {
      const size_t start = pos;
      while (pos < size && record[pos] != ' ') ++pos;
      value = record.substr(start, pos - start);
    }
    Assign(field, value, quoted, scratch, event);
    have_msg |= field == Field::kMsg;
    have_level |= field == Field::kLevel;
    // The cheap prefilter: once time, level and msg are known, decide whether to go on.
    if (header_only && have_msg && have_level && !IsInteresting(event->level, event->msg)) {
      *interesting = false;
      return ParseStatus::kOk;
    }
  }
  *interesting = IsInteresting(event->level, event->msg);
  return (have_msg || have_level) ? ParseStatus::kOk : ParseStatus::kMalformed;
}

ParseStatus ParseLogrusTty(std::string_view record, std::string* scratch, RegistryEvent* event) {
  // "INFO[0000] message<padding to 44>  key=value ...": no absolute time in this form.
  event->level = LevelOf(record.substr(0, 1));
  const size_t close = record.find("] ");
  if (close == std::string_view::npos) return ParseStatus::kMalformed;
  const size_t msg_start = close + 2;
  // The message ends where the padding before the first field starts.
  size_t msg_end = record.find("  ", msg_start);
  if (msg_end == std::string_view::npos) msg_end = record.size();
  event->msg = record.substr(msg_start, msg_end - msg_start);
  bool interesting = false;
  RegistryEvent fields;
  ParseStatus status = ParseStatus::kOk;
  if (msg_end < record.size()) {
    // An unterminated value still hands over the fields read so far (and msg, level), as the
    // text parser does, so a held TTY record emitted at the end of the input keeps them.
    status = ParseLogrusText(record.substr(msg_end), false, scratch, &fields, &interesting);
    if (status != ParseStatus::kUnterminated) status = ParseStatus::kOk;
    fields.msg = event->msg;
    fields.level = event->level;
    *event = fields;
  }
  return status;
}

}  // namespace rrca::tailers
