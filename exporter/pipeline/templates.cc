#include "exporter/pipeline/templates.h"

#include <algorithm>
#include <cstdio>

#include "common/ascii.h"
#include "common/json_escape.h"

namespace rrca::pipeline {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsAsciiDigit(c) || IsAlpha(c); }
bool IsHex(char c) { return IsAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
// Characters that end a word: ids, paths and hosts never contain them.
bool IsDelimiter(char c) {
  return IsSpace(c) || c == '"' || c == '\'' || c == '`' || c == '(' || c == ')' || c == '[' ||
         c == ']' || c == '{' || c == '}' || c == '<' || c == '>' || c == ',' || c == ';' ||
         c == '=';
}

// The text and the pattern of one template, built side by side so the pattern always matches
// the message it came from.
class Builder {
 public:
  void Literal(std::string_view text) {
    for (size_t i = 0; i < text.size();) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c >= 0x80) {
        const size_t length = Utf8SequenceLength(text, i);
        if (length == 0) {
          // Invalid UTF-8: the exact byte (rules compile as Latin-1, so \xHH is that byte), and
          // the pattern stays valid UTF-8 for the YAML it is written to.
          out_.text += "\xEF\xBF\xBD";
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\x%02x", c);
          out_.pattern += buffer;
          ++i;
        } else {
          out_.text.append(text.substr(i, length));
          out_.pattern.append(text.substr(i, length));
          i += length;
        }
        continue;
      }
      out_.text.push_back(static_cast<char>(c));
      if (std::string_view("\\.+*?()|[]{}^$").find(static_cast<char>(c)) ==
              std::string_view::npos &&
          c >= 0x20 && c != 0x7f) {
        out_.pattern.push_back(static_cast<char>(c));  // not special to RE2
      } else if (c == '\n') {
        out_.pattern += "\\n";
      } else if (c == '\t') {
        out_.pattern += "\\t";
      } else if (c < 0x20 || c == 0x7f) {
        char buffer[8];
        std::snprintf(buffer, sizeof(buffer), "\\x%02x", c);
        out_.pattern += buffer;
      } else {
        out_.pattern.push_back('\\');
        out_.pattern.push_back(static_cast<char>(c));
      }
      ++i;
    }
  }
  void Mask(std::string_view name, std::string_view regex) {
    out_.text += name;
    out_.pattern += regex;
  }
  MessageTemplate Take(std::string_view field) {
    out_.field = std::string(field);
    return std::move(out_);
  }

 private:
  MessageTemplate out_;
};

bool AllOf(std::string_view text, bool (*predicate)(char)) {
  return !text.empty() && std::all_of(text.begin(), text.end(), predicate);
}

// 8-4-4-4-12 hex digits at the start of `text`.
bool StartsWithUuid(std::string_view text) {
  static constexpr size_t kGroups[] = {8, 4, 4, 4, 12};
  size_t pos = 0;
  for (size_t group = 0; group < 5; ++group) {
    if (group > 0) {
      if (pos >= text.size() || text[pos] != '-') return false;
      ++pos;
    }
    for (size_t i = 0; i < kGroups[group]; ++i, ++pos) {
      if (pos >= text.size() || !IsHex(text[pos])) return false;
    }
  }
  return pos == text.size() || !IsAlnum(text[pos]);
}

// "sha256:<hex>" (any algorithm) at the start of `text`: the length of the digest, or 0.
size_t DigestLength(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size() && (IsAsciiDigit(text[pos]) || (text[pos] >= 'a' && text[pos] <= 'z'))) {
    ++pos;
  }
  if (pos == 0 || pos > 10 || pos >= text.size() || text[pos] != ':') return 0;
  const size_t hex_start = ++pos;
  while (pos < text.size() && IsHex(text[pos])) ++pos;
  if (pos - hex_start < 32 || (pos < text.size() && IsAlnum(text[pos]))) return 0;
  return pos;
}

bool IsPort(std::string_view text) {
  return text.size() >= 1 && text.size() <= 5 && AllOf(text, IsAsciiDigit);
}

// 10.0.0.1 or 10.0.0.1:5000.
bool IsIpv4(std::string_view word) {
  const size_t colon = word.find(':');
  if (colon != std::string_view::npos && !IsPort(word.substr(colon + 1))) return false;
  std::string_view address = word.substr(0, colon);
  int parts = 0;
  while (!address.empty()) {
    const size_t dot = address.find('.');
    const std::string_view part = address.substr(0, dot);
    if (part.empty() || part.size() > 3 || !AllOf(part, IsAsciiDigit)) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    address.remove_prefix(dot + 1);
    if (address.empty()) return false;
  }
  return parts == 4;
}

// s3.us-east-1.amazonaws.com, minio.local:9000, MY-REGISTRY:5000: three labels or more, or a
// port; the last label has a letter (so versions like 1.2.3 are numbers, not hosts).
bool IsHost(std::string_view word) {
  const size_t colon = word.find(':');
  const bool port = colon != std::string_view::npos;
  if (port && !IsPort(word.substr(colon + 1))) return false;
  const std::string_view name = word.substr(0, colon);
  if (name.empty()) return false;
  size_t labels = 0;
  std::string_view last;
  for (size_t start = 0; start <= name.size();) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const std::string_view label = name.substr(start, dot - start);
    if (label.empty()) return false;
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
    }
    ++labels;
    last = label;
    start = dot + 1;
  }
  if (std::none_of(last.begin(), last.end(), IsAlpha)) return false;
  return labels >= 3 || (port && (labels >= 2 || IsAlpha(name[0])));
}

// A Go duration: 1m2.305912448s, 96.569308ms, 30s.
bool IsDuration(std::string_view word) {
  size_t pos = 0;
  bool any = false;
  while (pos < word.size()) {
    const size_t start = pos;
    while (pos < word.size() && (IsAsciiDigit(word[pos]) || word[pos] == '.')) ++pos;
    if (pos == start) return false;
    const size_t unit = pos;
    while (pos < word.size() && IsAlpha(word[pos])) ++pos;
    const std::string_view name = word.substr(unit, pos - unit);
    if (name != "ns" && name != "us" && name != "ms" && name != "s" && name != "m" && name != "h")
      return false;
    any = true;
  }
  return any;
}

bool IsPath(std::string_view word) {
  if (word.size() > 1 && word[0] == '/') return true;
  if (word.starts_with("./") || word.starts_with("../") || word.starts_with("~/")) return true;
  return std::count(word.begin(), word.end(), '/') >= 2;
}

// Random tokens (S3 upload ids, base64 host ids): long, letters and many digits.
bool IsLongId(std::string_view word) {
  if (word.size() < 16 || AllOf(word, IsHex)) return false;  // hex runs are <hex>
  size_t digits = 0;
  bool letter = false;
  for (char c : word) {
    if (IsAsciiDigit(c)) {
      ++digits;
    } else if (IsAlpha(c)) {
      letter = true;
    } else if (c != '+' && c != '/' && c != '=' && c != '_' && c != '-' && c != '.' && c != '~') {
      return false;
    }
  }
  return letter && digits >= 4;
}

constexpr std::string_view kUuidRe =
    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
constexpr std::string_view kDigestRe = "[a-z0-9]+:[0-9a-fA-F]+";
constexpr std::string_view kHexRe = "[0-9a-fA-F]+";
constexpr std::string_view kNumRe = "[0-9]+(?:\\.[0-9]+)?";

// Inside a word that is none of the whole-word kinds: ids and numbers within it.
void MaskInside(std::string_view word, Builder* out) {
  size_t literal_start = 0;
  size_t pos = 0;
  auto flush = [&](size_t end) { out->Literal(word.substr(literal_start, end - literal_start)); };
  while (pos < word.size()) {
    const bool boundary = pos == 0 || !IsAlnum(word[pos - 1]);
    const std::string_view rest = word.substr(pos);
    size_t length = 0;
    std::string_view name, regex;
    if (boundary && StartsWithUuid(rest)) {
      length = 36, name = "<uuid>", regex = kUuidRe;
    } else if (boundary && (length = DigestLength(rest)) != 0) {
      name = "<digest>", regex = kDigestRe;
    } else if (boundary && IsHex(word[pos])) {
      size_t end = pos;
      bool digit = false;
      while (end < word.size() && IsHex(word[end])) digit |= IsAsciiDigit(word[end++]);
      if (digit && end - pos >= 8 && (end == word.size() || !IsAlnum(word[end]))) {
        length = end - pos, name = "<hex>", regex = kHexRe;
      }
    }
    if (length == 0 && IsAsciiDigit(word[pos])) {
      size_t end = pos;
      while (end < word.size() && IsAsciiDigit(word[end])) ++end;
      // s3, v2, go1, http2: short numbers glued to a name are part of it.
      const bool glued = pos > 0 && IsAlpha(word[pos - 1]) && end - pos <= 2;
      if (!glued) {
        if (end + 1 < word.size() && word[end] == '.' && IsAsciiDigit(word[end + 1])) {
          ++end;
          while (end < word.size() && IsAsciiDigit(word[end])) ++end;
        }
        length = end - pos, name = "<num>", regex = kNumRe;
      } else {
        pos = end;
        continue;
      }
    }
    if (length == 0) {
      ++pos;
      continue;
    }
    flush(pos);
    out->Mask(name, regex);
    pos += length;
    literal_start = pos;
  }
  flush(word.size());
}

void MaskWord(std::string_view word, Builder* out) {
  // Sentence punctuation after a word ("timeout:", "host:443:") is not part of it.
  size_t end = word.size();
  while (end > 0 && (word[end - 1] == ':' || word[end - 1] == '.' || word[end - 1] == '!' ||
                     word[end - 1] == '?')) {
    --end;
  }
  const std::string_view core = word.substr(0, end);
  if (core.find("://") != std::string_view::npos) {
    out->Mask("<url>", "\\S+");
  } else if (core.size() == 36 && StartsWithUuid(core)) {
    out->Mask("<uuid>", kUuidRe);
  } else if (!core.empty() && DigestLength(core) == core.size()) {
    out->Mask("<digest>", kDigestRe);
  } else if (IsIpv4(core)) {
    out->Mask("<ip>", "[0-9.]+(?::[0-9]+)?");
  } else if (IsPath(core)) {
    out->Mask("<path>", "\\S+");
  } else if (IsHost(core)) {
    out->Mask("<host>", "[A-Za-z0-9.-]+(?::[0-9]+)?");
  } else if (IsDuration(core)) {
    out->Mask("<duration>", "[0-9.a-z]+");
  } else if (IsLongId(core)) {
    out->Mask("<id>", "\\S+");
  } else {
    MaskInside(core, out);
  }
  out->Literal(word.substr(end));
}

}  // namespace

MessageTemplate MaskMessage(std::string_view field, std::string_view message) {
  if (message.size() > kMaxMessageBytes) {
    // Cut at a space, so the last word is whole and masks like the same word uncut.
    const size_t space = message.rfind(' ', kMaxMessageBytes);
    message = message.substr(0, space != std::string_view::npos && space > kMaxMessageBytes / 2
                                    ? space
                                    : kMaxMessageBytes);
  }
  Builder out;
  size_t pos = 0;
  while (pos < message.size()) {
    const char c = message[pos];
    if (c == '"') {
      size_t close = pos + 1;
      while (close < message.size() && message[close] != '"')
        close += message[close] == '\\' ? 2 : 1;
      if (close < message.size()) {
        out.Mask("<quoted>", "\"(?:[^\"\\\\]|\\\\.)*\"");
        pos = close + 1;
        continue;
      }
    }
    if (IsDelimiter(c)) {
      out.Literal(message.substr(pos, 1));
      ++pos;
      continue;
    }
    size_t end = pos;
    while (end < message.size() && !IsDelimiter(message[end])) ++end;
    MaskWord(message.substr(pos, end - pos), &out);
    pos = end;
  }
  return out.Take(field);
}

std::pair<std::string_view, std::string_view> TemplateSource(const JoinedRequest& request) {
  if (!request.err_detail.empty()) return {"err.detail", request.err_detail};
  if (!request.messages.empty()) {
    const size_t newline = request.messages.find('\n');
    return {"messages", request.messages.substr(0, newline)};
  }
  if (!request.err_message.empty()) return {"err.message", request.err_message};
  if (!request.msg.empty()) return {"msg", request.msg};
  return {"status", {}};
}

MessageTemplate TemplateOf(const JoinedRequest& request) {
  const auto [field, value] = TemplateSource(request);
  if (field == "status") {
    const std::string status = request.status > 0 ? std::to_string(request.status) : "unknown";
    return {"status", status + " " + std::string(OperationName(request.operation)),
            "^" + status + "$"};
  }
  return MaskMessage(field, value);
}

void TemplateTable::Add(const JoinedRequest& request) {
  ++total_;
  MessageTemplate tmpl = TemplateOf(request);
  std::string key = tmpl.field + '\n' + tmpl.text;
  const auto found = index_.find(key);
  if (found != index_.end()) {
    ++entries_[found->second].count;
    return;
  }
  if (entries_.size() >= max_templates_) {
    ++not_kept_;
    return;
  }
  Entry entry;
  entry.tmpl = std::move(tmpl);
  entry.count = 1;
  const std::string_view example = TemplateSource(request).second;
  entry.example = std::string(example.substr(0, kMaxMessageBytes));
  entry.request_id = std::string(request.request_id);
  entry.uri = std::string(request.uri.substr(0, kMaxMessageBytes));
  entry.operation = request.operation;
  if (entry.example.empty()) {  // no message: say which request it was
    entry.example = std::string(request.method) + " " + entry.uri;
  }
  index_.emplace(std::move(key), entries_.size());
  entries_.push_back(std::move(entry));
}

std::vector<const TemplateTable::Entry*> TemplateTable::Top(size_t n) const {
  std::vector<const Entry*> ranked;
  ranked.reserve(entries_.size());
  for (const Entry& entry : entries_) ranked.push_back(&entry);
  std::sort(ranked.begin(), ranked.end(), [](const Entry* a, const Entry* b) {
    return a->count != b->count ? a->count > b->count : a->tmpl.text < b->tmpl.text;
  });
  if (ranked.size() > n) ranked.resize(n);
  return ranked;
}

}  // namespace rrca::pipeline
