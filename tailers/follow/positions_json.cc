#include <algorithm>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tailers/follow/positions_file.h"

// The positions file's JSON: written by PositionsToJson, read back strictly by
// PositionsFromJson (see the format in PositionsFile's class comment). Ours rather than
// nlohmann's: a path is bytes, not UTF-8, and must round-trip exactly; nlohmann's dump throws on
// invalid UTF-8 or replaces it, which would make a position point at another file's name.
namespace rrca::tailers {
namespace {

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out->append(escaped);
    } else {
      out->push_back(static_cast<char>(c));  // paths are bytes: kept as they are
    }
  }
  out->push_back('"');
}

// A strict reader for the JSON this file writes. Unknown keys are skipped (any JSON value).
class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  Status Fail(const std::string& what) const {
    return Status::Corruption("byte " + std::to_string(pos_) + ": " + what);
  }
  void SkipSpace() {
    while (pos_ < text_.size() && std::strchr(" \t\r\n", text_[pos_]) != nullptr) ++pos_;
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  size_t Position() {
    SkipSpace();
    return pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ == text_.size();
  }

  bool String(std::string* out) {
    if (!Consume('"')) return false;
    out->clear();
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return false;
      char e = text_[pos_++];
      const char* plain = std::strchr("\"\\/bfnrt", e);
      if (plain != nullptr && e != '\0') {
        out->push_back("\"\\/\b\f\n\r\t"[plain - "\"\\/bfnrt"]);
      } else if (e == 'u' && pos_ + 4 <= text_.size()) {
        unsigned code = 0;
        if (std::sscanf(std::string(text_.substr(pos_, 4)).c_str(), "%4x", &code) != 1 ||
            code > 0xff) {
          return false;  // we only write \u00XX for control bytes
        }
        out->push_back(static_cast<char>(code));
        pos_ += 4;
      } else {
        return false;
      }
    }
    return Consume('"');
  }

  bool Uint(uint64_t* out) {
    SkipSpace();
    size_t start = pos_;
    uint64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      uint64_t digit = static_cast<uint64_t>(text_[pos_] - '0');
      if (value > (UINT64_MAX - digit) / 10) return false;
      value = value * 10 + digit;
      ++pos_;
    }
    *out = value;
    return pos_ > start;
  }

  // Any value, for keys we do not know. Depth-limited so hostile input cannot overflow the stack.
  bool SkipValue(int depth = 0) {
    SkipSpace();
    if (depth > 32 || pos_ >= text_.size()) return false;
    char c = text_[pos_];
    std::string ignored;
    if (c == '"') return String(&ignored);
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++pos_;
      if (Consume(close)) return true;
      do {
        if (c == '{' && !(String(&ignored) && Consume(':'))) return false;
        if (!SkipValue(depth + 1)) return false;
      } while (Consume(','));
      return Consume(close);
    }
    size_t start = pos_;
    while (pos_ < text_.size() && std::strchr("-+.eE0123456789truefalsn", text_[pos_]) != nullptr) {
      ++pos_;
    }
    return pos_ > start;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// One element of "files".
Status ParseEntry(JsonReader* in, FileKey* key, Position* position) {
  if (!in->Consume('{')) return in->Fail("expected '{' starting a file entry");
  bool has_dev = false, has_inode = false, has_offset = false, has_fingerprint = false;
  uint64_t fingerprint_len = 0;
  if (!in->Consume('}')) {
    do {
      std::string name, hex;
      if (!in->String(&name) || !in->Consume(':')) return in->Fail("expected a key");
      bool ok = true;
      if (name == "source") {
        ok = in->String(&position->source);
      } else if (name == "path") {
        ok = in->String(&position->path);
      } else if (name == "dev") {
        ok = has_dev = in->Uint(&key->dev);
      } else if (name == "inode") {
        ok = has_inode = in->Uint(&key->inode);
      } else if (name == "offset") {
        ok = has_offset = in->Uint(&position->offset);
      } else if (name == "fingerprint_len") {
        ok = in->Uint(&fingerprint_len);
      } else if (name == "closed_at_unix_ns") {
        uint64_t closed_at = 0;
        ok = in->Uint(&closed_at) && closed_at <= static_cast<uint64_t>(INT64_MAX);
        position->closed_at_unix_ns = static_cast<int64_t>(closed_at);
      } else if (name == "fingerprint") {
        char* end = nullptr;
        ok = in->String(&hex) && hex.size() == 16;
        if (ok) position->fingerprint = std::strtoull(hex.c_str(), &end, 16);
        ok = has_fingerprint = ok && end == hex.c_str() + 16;
      } else {
        ok = in->SkipValue();
      }
      if (!ok) return in->Fail("bad value for \"" + name + "\"");
    } while (in->Consume(','));
    if (!in->Consume('}')) return in->Fail("expected '}' ending a file entry");
  }
  if (!has_dev || !has_inode || !has_offset || !has_fingerprint) {
    return in->Fail("file entry lacks dev, inode, offset or fingerprint");
  }
  if (fingerprint_len > kFingerprintBytes || fingerprint_len > position->offset) {
    return in->Fail("fingerprint_len out of range");
  }
  position->fingerprint_len = static_cast<uint32_t>(fingerprint_len);
  return Status::Ok();
}

Status ParseFiles(JsonReader* in, std::map<FileKey, Position>* entries) {
  if (!in->Consume('[')) return in->Fail("\"files\" must be an array");
  if (in->Consume(']')) return Status::Ok();
  do {
    FileKey key;
    Position position;
    Status status = ParseEntry(in, &key, &position);
    if (!status.ok()) return status;
    (*entries)[key] = std::move(position);
  } while (in->Consume(','));
  if (!in->Consume(']')) return in->Fail("expected ']' ending \"files\"");
  return Status::Ok();
}

}  // namespace

std::string PositionsToJson(const std::map<FileKey, Position>& entries, int64_t saved_at_unix_ns,
                            std::string_view pipeline_state) {
  std::string out = "{\"version\": 1, \"saved_at_unix_ns\": " +
                    std::to_string(std::max<int64_t>(saved_at_unix_ns, 0)) + ", \"files\": [";
  const char* separator = "\n  ";
  for (const auto& [key, position] : entries) {
    char numbers[200];
    std::snprintf(numbers, sizeof(numbers),
                  ", \"dev\": %" PRIu64 ", \"inode\": %" PRIu64 ", \"offset\": %" PRIu64
                  ", \"fingerprint\": \"%016" PRIx64
                  "\", \"fingerprint_len\": %u"
                  ", \"closed_at_unix_ns\": %" PRId64 "}",
                  key.dev, key.inode, position.offset, position.fingerprint,
                  position.fingerprint_len, std::max<int64_t>(position.closed_at_unix_ns, 0));
    out += separator;
    out += "{\"source\": ";
    AppendJsonString(position.source, &out);
    out += ", \"path\": ";
    AppendJsonString(position.path, &out);
    out += numbers;
    separator = ",\n  ";
  }
  out += "\n]";
  if (!pipeline_state.empty()) {
    out += ",\n\"pipeline_state\": ";
    out += pipeline_state;
  }
  out += "}\n";
  return out;
}

StatusOr<std::map<FileKey, Position>> PositionsFromJson(std::string_view text,
                                                        int64_t* saved_at_unix_ns,
                                                        std::string* pipeline_state) {
  uint64_t saved_at = 0;
  JsonReader in(text);
  std::map<FileKey, Position> entries;
  bool has_version = false;
  if (!in.Consume('{')) return in.Fail("expected a JSON object");
  if (!in.Consume('}')) {
    do {
      std::string name;
      if (!in.String(&name) || !in.Consume(':')) return in.Fail("expected a key");
      if (name == "version") {
        uint64_t version = 0;
        if (!in.Uint(&version) || version != 1) return in.Fail("unsupported version");
        has_version = true;
      } else if (name == "saved_at_unix_ns") {
        if (!in.Uint(&saved_at) || saved_at > static_cast<uint64_t>(INT64_MAX)) {
          return in.Fail("bad saved_at_unix_ns");
        }
      } else if (name == "files") {
        Status status = ParseFiles(&in, &entries);
        if (!status.ok()) return status;
      } else if (name == "pipeline_state") {
        const size_t start = in.Position();
        if (!in.SkipValue()) return in.Fail("bad value for \"pipeline_state\"");
        if (pipeline_state != nullptr) *pipeline_state = text.substr(start, in.Position() - start);
      } else if (!in.SkipValue()) {
        return in.Fail("bad value for \"" + name + "\"");
      }
    } while (in.Consume(','));
    if (!in.Consume('}')) return in.Fail("expected '}'");
  }
  if (!in.AtEnd()) return in.Fail("trailing bytes after the JSON object");
  if (!has_version) return in.Fail("no \"version\"");
  if (saved_at_unix_ns != nullptr) *saved_at_unix_ns = static_cast<int64_t>(saved_at);
  return entries;
}

}  // namespace rrca::tailers
