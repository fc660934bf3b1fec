// logrus' JSON formatter (registry_parse.h): {"time":"...","level":"error","msg":"response
// completed with error","err.code":...}. simdjson On-Demand reads the flat records (measured in
// bench/README.md); json_scan reads what simdjson refuses and is the reference both are tested
// against.
#include <simdjson.h>

#include <cstring>
#include <memory>

#include "tailers/parse/json_scan.h"
#include "tailers/parse/registry/registry_fields.h"
#include "tailers/parse/registry/registry_parse.h"

namespace rrca::tailers {

using registry_fields::Assign;
using registry_fields::Field;
using registry_fields::FieldOf;
using registry_fields::ParseStatusCode;

ParseStatus ParseLogrusJsonScan(std::string_view record, std::string* scratch,
                                RegistryEvent* event) {
  scratch->clear();
  scratch->reserve(record.size());
  JsonObjectScanner scanner(record);
  JsonMember member;
  bool any = false;
  while (scanner.Next(&member)) {
    const Field field = FieldOf(member.key);
    if (field == Field::kIgnored) continue;
    any = true;
    std::string_view value = member.value;
    if (member.is_string && member.has_escapes) {
      // JSON escapes differ from Go quoting (\uXXXX): decode them properly.
      const size_t start = scratch->size();
      AppendJsonUnescaped(member.value, scratch);
      value = std::string_view(*scratch).substr(start);
    }
    if (field == Field::kStatus && !member.is_string) {
      event->status = ParseStatusCode(value);
    } else {
      Assign(field, value, false, scratch, event);
    }
  }
  if (scanner.malformed()) return ParseStatus::kMalformed;
  return any ? ParseStatus::kOk : ParseStatus::kMalformed;
}

namespace {

// A longer record is read by json_scan alone, so the per-thread buffers below never grow past
// this (registry records are a few KB; the follower lets lines of up to 1 MiB through).
constexpr size_t kMaxSimdjsonRecordBytes = 64 * 1024;

// What ParseLogrusJson keeps between calls, one per thread that parses (the daemon's processing
// thread, analyze, tests, benchmarks), so no call allocates once the longest record was seen:
// simdjson's parser (index and string buffers sized for the longest record, at most
// kMaxSimdjsonRecordBytes) and a copy of the record with the SIMDJSON_PADDING readable bytes
// after it that simdjson needs. The record's own buffer gives no such promise. Nothing in it
// outlives a call: every view handed out points into the record or the caller's scratch.
struct SimdjsonState {
  simdjson::ondemand::parser parser{kMaxSimdjsonRecordBytes};
  std::unique_ptr<char[]> padded;
  size_t padded_size = 0;
  LogrusJsonStats stats;
};

SimdjsonState& ThisThreadsState() {
  thread_local SimdjsonState state;
  return state;
}

std::string_view TrimJsonSpace(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                           text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

// Reads the record's top-level members as ParseLogrusJsonScan does, with simdjson finding them:
// keys as written, string values between their quotes (escaped ones decoded by the same
// AppendJsonUnescaped), other scalars as their raw token. Values are taken from `record`, not
// from the padded copy, so they live as long as json_scan's did. False when simdjson refuses the
// record or a member is not a plain scalar (an object or an array among them): the caller then
// reads the record with json_scan.
bool ReadWithSimdjson(std::string_view record, SimdjsonState* state, std::string* scratch,
                      RegistryEvent* event, bool* any) {
  namespace od = simdjson::ondemand;
  const size_t padded_size = record.size() + simdjson::SIMDJSON_PADDING;
  if (state->padded_size < padded_size) {
    state->padded = std::make_unique_for_overwrite<char[]>(padded_size);
    state->padded_size = padded_size;
  }
  char* const copy = state->padded.get();
  if (!record.empty()) std::memcpy(copy, record.data(), record.size());
  std::memset(copy + record.size(), ' ', simdjson::SIMDJSON_PADDING);
  const char* const copy_end = copy + record.size();
  const auto in_record = [&](std::string_view in_copy) {
    return record.substr(static_cast<size_t>(in_copy.data() - copy), in_copy.size());
  };
  od::document doc;
  if (state->parser.iterate(simdjson::padded_string_view(copy, record.size(), padded_size))
          .get(doc) != simdjson::SUCCESS) {
    return false;
  }
  od::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) return false;
  for (auto member_result : object) {
    od::field member;
    if (std::move(member_result).get(member) != simdjson::SUCCESS) return false;
    // The key as written, up to the quote simdjson found closing it: an escaped quote leaves a
    // trailing backslash, and no key we look for has one.
    const char* const key = member.key().raw();
    const void* quote = std::memchr(key, '"', static_cast<size_t>(copy_end - key));
    if (quote == nullptr) return false;
    const Field field = FieldOf(std::string_view(key, static_cast<const char*>(quote) - key));
    // The value's first token, not consumed: On-Demand skips it when the loop goes on.
    const std::string_view raw = member.value().raw_json_token();
    const char first = raw.empty() ? '\0' : raw[0];
    // Lines whose members are not all plain `"key": string, number, true, false or null` are
    // json_scan's to read, so both readers see the same members: On-Demand skips an unread value
    // leniently (a string followed by ':' is taken for a key, a '}' for the object's end,
    // containers by counting brackets only), and it lets a bare value run on into a quoted part
    // (4"a b") where json_scan ends it at the first space or comma. Registry records are flat.
    const bool literal = first == '-' || (first >= '0' && first <= '9') || first == 't' ||
                         first == 'f' || first == 'n';
    if (first != '"' && !literal) return false;  // an object, an array, a missing value
    const char after = raw.data()[raw.size()];   // the next structural character, or padding
    if (after != ',' && after != '}') return false;
    if (literal && std::memchr(raw.data(), '"', raw.size()) != nullptr) return false;
    if (field == Field::kIgnored) continue;
    *any = true;
    std::string_view token = TrimJsonSpace(raw);
    if (first == '"') {
      if (token.size() < 2 || token.back() != '"') return false;
      token = in_record(token.substr(1, token.size() - 2));
      if (std::memchr(token.data(), '\\', token.size()) != nullptr) {
        // JSON escapes differ from Go quoting (\uXXXX): decode them properly.
        const size_t start = scratch->size();
        AppendJsonUnescaped(token, scratch);
        token = std::string_view(*scratch).substr(start);
      }
      Assign(field, token, false, scratch, event);
    } else if (field == Field::kStatus) {
      event->status = ParseStatusCode(in_record(token));
    } else {
      Assign(field, in_record(token), false, scratch, event);
    }
  }
  return true;
}

}  // namespace

ParseStatus ParseLogrusJson(std::string_view record, std::string* scratch, RegistryEvent* event) {
  SimdjsonState& state = ThisThreadsState();
  if (record.size() <= kMaxSimdjsonRecordBytes) {
    const RegistryEvent before = *event;
    scratch->clear();
    scratch->reserve(record.size());  // unescaping only shrinks: views into it stay valid
    bool any = false;
    if (ReadWithSimdjson(record, &state, scratch, event, &any)) {
      ++state.stats.simdjson;
      return any ? ParseStatus::kOk : ParseStatus::kMalformed;
    }
    *event = before;  // what simdjson assigned before it gave up
  }
  ++state.stats.json_scan;
  return ParseLogrusJsonScan(record, scratch, event);
}

LogrusJsonStats LogrusJsonStatsOfThisThread() { return ThisThreadsState().stats; }

}  // namespace rrca::tailers
