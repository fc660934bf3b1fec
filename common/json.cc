#include "common/json.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <iterator>
#include <vector>

#include "common/json_escape.h"

namespace rrca {
namespace {

constexpr size_t kMaxErrorBytes = 200;

// A pointer into the text that reports how far nlohmann's lexer has read, so that an error our
// handler raises (depth, value count) can say at which byte. One store per byte read.
class TrackingIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackingIterator(const char* at, const char** read) : at_(at), read_(read) {}
  reference operator*() const { return *at_; }
  TrackingIterator& operator++() {
    *read_ = ++at_;
    return *this;
  }
  TrackingIterator operator++(int) {
    TrackingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const TrackingIterator& other) const { return at_ == other.at_; }
  bool operator!=(const TrackingIterator& other) const { return at_ != other.at_; }

 private:
  const char* at_;
  const char** read_;
};

// A SAX handler that builds the ordered_json DOM (as nlohmann's own DOM parser does) and stops
// the parse, without throwing, at the first limit crossed or syntax error. Containers are held
// by pointer while open: a parent's storage does not move while one of its children is open,
// because members are only added to the innermost open container. One per parse, on the
// parsing thread; the index of a large object holds 8-16 bytes a member (4 bytes a slot).
class BoundedDomBuilder {
  struct OpenContainer {
    Json* value;
    // For a large object: an open-addressing table of member positions + 1 (0: empty), at most
    // half full. Positions rather than keys: no allocation per member.
    std::vector<uint32_t> slots;
  };

 public:
  BoundedDomBuilder(Json* root, const JsonLimits& limits, const char* begin, const char** read)
      : root_(root), limits_(limits), begin_(begin), read_(read) {}

  const std::string& error() const { return error_; }
  // True when the parse stopped at a limit (values, depth), not at a syntax error.
  bool over_limit() const { return over_limit_; }

  bool null() { return Add(nullptr) != nullptr; }
  bool boolean(bool value) { return Add(value) != nullptr; }
  bool number_integer(Json::number_integer_t value) { return Add(value) != nullptr; }
  bool number_unsigned(Json::number_unsigned_t value) { return Add(value) != nullptr; }
  bool number_float(Json::number_float_t value, const Json::string_t& /*text*/) {
    return Add(value) != nullptr;
  }
  bool string(Json::string_t& value) { return Add(std::move(value)) != nullptr; }
  bool binary(Json::binary_t& /*value*/) { return Fail("binary values are not JSON"); }
  bool start_object(size_t /*elements*/) { return Open(Json::object()); }
  bool start_array(size_t /*elements*/) { return Open(Json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool key(Json::string_t& name) {
    member_ = &Member(&open_.back(), std::move(name));
    return true;
  }
  bool parse_error(size_t position, const std::string& /*token*/,
                   const nlohmann::detail::exception& error) {
    // "[json.exception.parse_error.101] parse error at line 1, column 4: syntax error ..." loses
    // its prefix and its line/column (the byte says where).
    std::string_view message = error.what();
    if (const size_t bracket = message.find("] "); bracket != std::string_view::npos) {
      message.remove_prefix(bracket + 2);
    }
    if (message.rfind("parse error", 0) == 0) {
      if (const size_t colon = message.find(": "); colon != std::string_view::npos) {
        message.remove_prefix(colon + 2);
      }
    }
    return FailAt(position > 0 ? position - 1 : 0, message);
  }

 private:
  bool Fail(std::string_view message) {
    const size_t read = static_cast<size_t>(*read_ - begin_);
    return FailAt(read > 0 ? read - 1 : 0, message);
  }

  bool FailAt(size_t byte, std::string_view message) {
    if (!error_.empty()) return false;
    error_ = "byte " + std::to_string(byte) + ": ";
    // The lexer quotes the token it stopped at, which a hostile body makes megabytes long.
    if (message.size() > kMaxErrorBytes) message = message.substr(0, kMaxErrorBytes);
    error_ += SanitizeUtf8(message);
    return false;
  }

  // Stores a value where the parse is (the root, an array element or the member after key());
  // nullptr when it crosses the value limit.
  Json* Add(Json value) {
    if (++values_ > limits_.max_values) {
      over_limit_ = error_.empty();
      Fail("more than " + std::to_string(limits_.max_values) + " values");
      return nullptr;
    }
    if (open_.empty()) {
      *root_ = std::move(value);
      return root_;
    }
    Json& parent = *open_.back().value;
    if (parent.is_array()) {
      auto& elements = parent.get_ref<Json::array_t&>();
      elements.push_back(std::move(value));
      return &elements.back();
    }
    *member_ = std::move(value);
    return member_;
  }

  bool Open(Json container) {
    if (open_.size() >= limits_.max_depth) {
      over_limit_ = error_.empty();
      return Fail("nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    Json* added = Add(std::move(container));
    if (added == nullptr) return false;
    open_.push_back(OpenContainer{added, {}});
    return true;
  }

  // The value slot of member `name` of the open object: a repeated key keeps its first place
  // and takes the last value. ordered_json looks keys up by a linear scan, which would make an
  // object of n members cost n^2 to build: past kIndexFrom members, a hash index finds them.
  Json& Member(OpenContainer* open, std::string name) {
    auto& members =
        static_cast<Json::object_t::Container&>(open->value->get_ref<Json::object_t&>());
    if (members.size() < kIndexFrom) {
      for (auto& member : members) {
        if (member.first == name) return member.second;
      }
    } else {
      if (open->slots.size() < 2 * (members.size() + 1)) Reindex(members, &open->slots);
      const size_t mask = open->slots.size() - 1;
      for (size_t i = std::hash<std::string>()(name) & mask;; i = (i + 1) & mask) {
        const uint32_t slot = open->slots[i];
        if (slot == 0) {
          open->slots[i] = static_cast<uint32_t>(members.size() + 1);
          break;
        }
        if (members[slot - 1].first == name) return members[slot - 1].second;
      }
    }
    members.emplace_back(std::move(name), nullptr);
    return members.back().second;
  }

  // Rebuilds the table at four times the members, so it is at most half full until the next.
  static void Reindex(const Json::object_t::Container& members, std::vector<uint32_t>* slots) {
    size_t size = 64;
    while (size < 4 * (members.size() + 1)) size *= 2;
    slots->assign(size, 0);
    const size_t mask = size - 1;
    for (size_t at = 0; at < members.size(); ++at) {
      size_t i = std::hash<std::string>()(members[at].first) & mask;
      while ((*slots)[i] != 0) i = (i + 1) & mask;
      (*slots)[i] = static_cast<uint32_t>(at + 1);
    }
  }

  bool Close() {
    open_.pop_back();
    return true;
  }

  static constexpr size_t kIndexFrom = 16;

  Json* root_;
  const JsonLimits& limits_;
  const char* begin_;
  const char** read_;
  std::vector<OpenContainer> open_;  // outermost first
  Json* member_ = nullptr;           // the object member whose value comes next
  size_t values_ = 0;
  std::string error_;
  bool over_limit_ = false;
};

}  // namespace

StatusOr<Json> ParseJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Status::ResourceExhausted("the document is larger than " +
                                     std::to_string(limits.max_bytes) + " bytes");
  }
  // nlohmann skips a UTF-8 byte order mark, which RFC 8259 forbids a sender to add.
  if (text.rfind("\xEF\xBB\xBF", 0) == 0)
    return Status::InvalidArgument("byte 0: a byte order mark");
  // nlohmann rejects invalid UTF-8; Go's encoding/json (Alertmanager) replaces it, and so do we.
  std::string sanitized;
  if (!IsValidUtf8(text)) {
    sanitized = SanitizeUtf8(text);
    text = sanitized;
  }
  Json root;
  const char* read = text.data();
  BoundedDomBuilder builder(&root, limits, text.data(), &read);
  try {
    Json::sax_parse(TrackingIterator(text.data(), &read),
                    TrackingIterator(text.data() + text.size(), &read), &builder);
  } catch (const std::exception& error) {  // allocation failure; the parser itself reports
    return Status::ResourceExhausted(std::string("JSON parse failed: ") + error.what());
  }
  if (!builder.error().empty()) {
    return builder.over_limit() ? Status::ResourceExhausted(builder.error())
                                : Status::InvalidArgument(builder.error());
  }
  return root;
}

std::string DumpJson(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json JsonNumber(double value) {
  if (!std::isfinite(value)) return nullptr;
  // Integral doubles within ±2^53 are written as integers, as std::to_chars writes them.
  if (value == std::trunc(value) && std::fabs(value) <= 9007199254740992.0) {
    return static_cast<Json::number_integer_t>(value);
  }
  return value;
}

const Json* JsonFind(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it != object.end() ? &*it : nullptr;
}

Json* JsonFind(Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it != object.end() ? &*it : nullptr;
}

const std::string& JsonAsString(const Json& value) {
  static const std::string kEmpty;
  return value.is_string() ? value.get_ref<const std::string&>() : kEmpty;
}

double JsonAsNumber(const Json& value) { return value.is_number() ? value.get<double>() : 0; }

bool JsonAsBool(const Json& value) { return value.is_boolean() && value.get<bool>(); }

std::string JsonString(const Json& object, std::string_view key, std::string_view fallback) {
  const Json* member = JsonFind(object, key);
  return member != nullptr && member->is_string() ? member->get<std::string>()
                                                  : std::string(fallback);
}

const Json& JsonArray(const Json& value) { return JsonArray(&value); }

const Json& JsonArray(const Json* value) {
  static const Json kEmpty = Json::array();
  return value != nullptr && value->is_array() ? *value : kEmpty;
}

const Json& JsonObject(const Json& value) { return JsonObject(&value); }

const Json& JsonObject(const Json* value) {
  static const Json kEmpty = Json::object();
  return value != nullptr && value->is_object() ? *value : kEmpty;
}

}  // namespace rrca
