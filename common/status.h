#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace rrca {

// What kind of failure a Status is, for callers that act on it (the enricher answers 413 to a
// body over a limit and 400 to one that does not parse) and for logs. Modelled on leveldb's and
// absl's codes; only the kinds this project tells apart.
enum class StatusCode {
  kOk,
  kInvalidArgument,    // bad input from a user or client: config, flag, URL, request body
  kNotFound,           // a named thing is missing
  kCorruption,         // stored state we wrote does not read back (positions, carried state)
  kIoError,            // the filesystem or a socket failed (errno in the message)
  kUnavailable,        // a peer did not answer as it must (token service, TLS library)
  kResourceExhausted,  // input over a bound (bytes, values, depth)
};

// "invalid argument", "corruption", ...: for logs and the CLI.
std::string_view StatusCodeName(StatusCode code);

// A success or an error: a code and a message with its context ("file:line:col: key: message").
// Returned across module boundaries instead of exceptions; the per-line path never throws.
class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string message) {
    return Status(StatusCode::kInvalidArgument, std::move(message));
  }
  static Status NotFound(std::string message) {
    return Status(StatusCode::kNotFound, std::move(message));
  }
  static Status Corruption(std::string message) {
    return Status(StatusCode::kCorruption, std::move(message));
  }
  static Status IoError(std::string message) {
    return Status(StatusCode::kIoError, std::move(message));
  }
  static Status Unavailable(std::string message) {
    return Status(StatusCode::kUnavailable, std::move(message));
  }
  static Status ResourceExhausted(std::string message) {
    return Status(StatusCode::kResourceExhausted, std::move(message));
  }
  // The same kind of failure with more context in front: "positions file /x: " + message.
  Status Prefixed(std::string_view context) const {
    return ok() ? *this : Status(code_, std::string(context) + message_);
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  // The message alone, without the code: what a user reads after "invalid configuration:".
  const std::string& message() const { return message_; }
  // "corruption: positions file /x: byte 3: ..."; "ok" for a success.
  std::string ToString() const;

 private:
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace rrca
