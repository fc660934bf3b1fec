#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/request.h"

namespace rrca::pipeline {

// The message of an error no rule matched, with its variable parts masked, so that the same
// failure seen a thousand times (different uploads, digests, hosts) is one line of a report and
// one rule to write. Never a metric label: the text comes from the log, which an attacker may
// write.
struct MessageTemplate {
  std::string field;    // the rule field that carries the message: err.detail, err.message,
                        // messages, msg; "status" when the request has no message at all
  std::string text;     // "s3aws: Path not found: <path>"
  std::string pattern;  // RE2 that matches the field's value (unanchored, as rules match)
};

// Masks one message: quoted values, URLs, paths, UUIDs, digests, IPs, hosts, long ids, hex runs
// and numbers become <quoted>, <url>, <path>, <uuid>, <digest>, <ip>, <host>, <id>, <hex>, <num>.
// Only the first kMaxMessageBytes are looked at; `pattern` matches every message whose first
// bytes have the same template (the template of a truncated message is a prefix).
MessageTemplate MaskMessage(std::string_view field, std::string_view message);
constexpr size_t kMaxMessageBytes = 600;

// The field a rule would match an unclassified request on (the most specific message it
// carries) and its value.
std::pair<std::string_view, std::string_view> TemplateSource(const JoinedRequest& request);

// TemplateSource + MaskMessage; a request without any message gives field "status", text
// "<status> <operation>" (grouped by both) and a pattern for the status alone.
MessageTemplate TemplateOf(const JoinedRequest& request);

// Unclassified errors counted by template, bounded: once `max_templates` templates are kept, the
// errors of a new template are only counted (not_kept), so hostile input cannot grow it.
class TemplateTable {
 public:
  struct Entry {
    MessageTemplate tmpl;
    uint64_t count = 0;
    std::string example;     // the first message, at most kMaxMessageBytes
    std::string request_id;  // of that first request (to find its lines again)
    std::string uri;         // of that first request (the same, when it has no id)
    Operation operation = Operation::kOther;
  };
  explicit TemplateTable(size_t max_templates = 200) : max_templates_(max_templates) {}

  void Add(const JoinedRequest& request);
  // By count, then template text; at most `n`.
  std::vector<const Entry*> Top(size_t n) const;
  size_t size() const { return entries_.size(); }
  uint64_t not_kept() const { return not_kept_; }
  uint64_t total() const { return total_; }

 private:
  size_t max_templates_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> index_;  // field + '\n' + text -> entries_
  uint64_t not_kept_ = 0;
  uint64_t total_ = 0;
};

}  // namespace rrca::pipeline
