#include "exporter/web/web_request.h"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <limits>

namespace rrca::web {
namespace http = boost::beast::http;

struct RequestReader::Parser {
  http::request_parser<http::string_body> parser;
};

namespace {

constexpr size_t kReadChunk = 16384;

std::string Field(const http::request<http::string_body>& message, http::field name,
                  bool* present) {
  const auto found = message.find(name);
  if (present != nullptr) *present = found != message.end();
  return found != message.end() ? std::string(found->value()) : std::string();
}

}  // namespace

RequestReader::RequestReader(ClientStream& client, int stop_fd, size_t max_head_bytes)
    : client_(client), stop_fd_(stop_fd), max_head_bytes_(max_head_bytes) {}

RequestReader::~RequestReader() = default;

ReadStatus RequestReader::ReadHead(Deadline first_byte, Deadline deadline, RequestHead* head,
                                   std::string* reason) {
  parser_ = std::make_unique<Parser>();
  http::request_parser<http::string_body>& parser = parser_->parser;
  parser.header_limit(static_cast<uint32_t>(
      std::min<size_t>(max_head_bytes_, std::numeric_limits<uint32_t>::max())));
  parser.eager(false);             // stop after the head: the body waits for admission
  parser.body_limit(boost::none);  // each route's limit is checked on admission
  bool started = !buffer_.empty();
  char chunk[kReadChunk];
  while (true) {
    if (!buffer_.empty()) {
      // Leading empty lines before a request line are allowed (RFC 9112 2.2).
      const size_t start = buffer_.find_first_not_of("\r\n");
      if (start == std::string::npos && buffer_.size() > 4) buffer_.clear();
      if (start != std::string::npos && start > 0) buffer_.erase(0, start);
    }
    if (!buffer_.empty() && buffer_.find_first_not_of("\r\n") != std::string::npos) {
      boost::system::error_code error;
      const size_t used = parser.put(boost::asio::buffer(buffer_.data(), buffer_.size()), error);
      if (parser.is_header_done()) {
        // Beast takes the head whole (it consumes nothing before), so this scans it once. Beast
        // accepts obsolete line folding; RFC 9112 lets a server refuse it, and we do: a value
        // spread over lines is one more way for two readers of a request to disagree.
        const std::string_view head_bytes(buffer_.data(), used);
        if (head_bytes.find("\r\n ") != std::string_view::npos ||
            head_bytes.find("\r\n\t") != std::string_view::npos) {
          *reason = "obsolete line folding in the request head";
          return ReadStatus::kBad;
        }
        buffer_.erase(0, used);
        break;
      }
      buffer_.erase(0, used);
      if (error == http::error::header_limit) return ReadStatus::kTooLarge;
      if (error && error != http::error::need_more) {
        *reason = error.message();
        return ReadStatus::kBad;
      }
      if (buffer_.size() > max_head_bytes_) return ReadStatus::kTooLarge;
    }
    size_t n = 0;
    switch (
        ReadSome(client_, chunk, sizeof(chunk), started ? deadline : first_byte, stop_fd_, &n)) {
      case ReadResult::kData:
        buffer_.append(chunk, n);
        started = true;
        continue;
      case ReadResult::kStopped:
        return ReadStatus::kStopped;
      case ReadResult::kClosed:
        return ReadStatus::kIdle;  // nobody is left to answer
      case ReadResult::kTimeout:
        return started ? ReadStatus::kTimeout : ReadStatus::kIdleTimeout;
    }
  }

  const http::request<http::string_body>& message = parser.get();
  if (message.count(http::field::transfer_encoding) > 0) return ReadStatus::kNoLength;
  // Beast folds repeated equal lengths ("5, 5", or the header twice) into one, as RFC 9110 allows;
  // we refuse them, as it also allows: a sender that repeats a length is not to be guessed at.
  if (message.count(http::field::content_length) > 1 ||
      message[http::field::content_length].find(',') != boost::beast::string_view::npos) {
    *reason = "repeated Content-Length";
    return ReadStatus::kBad;
  }
  if (message.count(http::field::host) > 1) {
    *reason = "more than one Host header";
    return ReadStatus::kBad;
  }
  if (message.version() == 11 && message.count(http::field::host) == 0) {
    *reason = "HTTP/1.1 request without a Host header";
    return ReadStatus::kBad;
  }
  *head = RequestHead{};
  head->method = std::string(message.method_string());
  const std::string_view target = message.target();
  const size_t question = target.find('?');
  head->path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) head->query = std::string(target.substr(question + 1));
  head->keep_alive = message.keep_alive();
  head->expect_continue = boost::beast::iequals(message[http::field::expect],
                                                boost::beast::string_view("100-continue"));
  head->content_length = parser.content_length().value_or(0);
  head->authorization = Field(message, http::field::authorization, &head->has_authorization);
  head->origin = Field(message, http::field::origin, &head->has_origin);
  head->host = Field(message, http::field::host, nullptr);
  head->content_type = Field(message, http::field::content_type, &head->has_content_type);
  head->if_none_match = Field(message, http::field::if_none_match, nullptr);
  return ReadStatus::kOk;
}

ReadStatus RequestReader::ReadBody(Deadline deadline, const std::function<bool(size_t)>& reserve,
                                   std::string* body) {
  http::request_parser<http::string_body>& parser = parser_->parser;
  uint64_t remaining = parser.content_length().value_or(0);
  parser.body_limit(remaining);
  parser.eager(true);
  char chunk[kReadChunk];
  while (!parser.is_done()) {
    if (!buffer_.empty()) {
      const size_t feed = static_cast<size_t>(std::min<uint64_t>(buffer_.size(), remaining));
      if (feed > 0 && !reserve(feed)) return ReadStatus::kRefused;
      boost::system::error_code error;
      const size_t used = parser.put(boost::asio::buffer(buffer_.data(), feed), error);
      buffer_.erase(0, used);
      remaining -= std::min<uint64_t>(used, remaining);
      if (error && error != http::error::need_more) return ReadStatus::kBad;
      if (parser.is_done()) break;
    }
    size_t n = 0;
    switch (ReadSome(client_, chunk, sizeof(chunk), deadline, stop_fd_, &n)) {
      case ReadResult::kData:
        buffer_.append(chunk, n);
        continue;
      case ReadResult::kStopped:
        return ReadStatus::kStopped;
      case ReadResult::kClosed:
        return ReadStatus::kIdle;
      case ReadResult::kTimeout:
        return ReadStatus::kTimeout;
    }
  }
  *body = std::move(parser.get().body());
  return ReadStatus::kOk;
}

}  // namespace rrca::web
