#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "exporter/web/web_stream.h"

// Reading HTTP/1.1 requests off a client stream, parsed exactly once, by Boost.Beast's parser
// (strict, fuzzed upstream): bare-LF line endings, a malformed or repeated Content-Length, obs-fold
// and a repeated Host are 400s, never guesses. We accept no Transfer-Encoding (no route needs
// chunked bodies), so every body's size is known before one byte of it is buffered.
namespace rrca::web {

// What a request's head says, for admission (auth, route, limits) before its body is read.
struct RequestHead {
  std::string method;  // as sent, e.g. "GET"
  std::string path;    // the target up to '?'
  std::string query;   // after '?', without it
  bool keep_alive = false;
  bool expect_continue = false;  // "Expect: 100-continue": send 100 once the body is welcome
  uint64_t content_length = 0;   // 0 without a body
  // Absent headers are empty; `has_*` tells an empty value from an absent one where it matters.
  std::string authorization;
  bool has_authorization = false;
  std::string origin;
  bool has_origin = false;
  std::string host;
  std::string content_type;
  bool has_content_type = false;
  std::string if_none_match;  // for assets served with an ETag
};

enum class ReadStatus {
  kOk,
  kIdle,         // the client closed before a request began: no answer owed
  kIdleTimeout,  // nothing of a request came by the first-byte deadline: no answer owed
  kBad,          // 400 (reason says why)
  kTooLarge,     // 431: head over max_head bytes
  kNoLength,     // 411: Transfer-Encoding instead of Content-Length
  kTimeout,      // the head or body did not arrive by its deadline: 408
  kRefused,      // the reserve callback refused the body's bytes (over the shared budget): 503
  kStopped,      // the server is stopping
};

// One connection's request reader. Bytes read past a request (a pipelined next one) are kept for
// the next ReadHead. Not thread-safe: the connection's thread owns it.
class RequestReader {
 public:
  RequestReader(ClientStream& client, int stop_fd, size_t max_head_bytes);
  ~RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  // Reads the next request's head. Its first byte must come by `first_byte`, the whole head by
  // `deadline`. *reason explains kBad.
  ReadStatus ReadHead(Deadline first_byte, Deadline deadline, RequestHead* head,
                      std::string* reason);

  // Reads the body the head announced into *body by `deadline`. `reserve(n)` is asked before n
  // more body bytes are buffered; false stops the read with kRefused. The caller has checked
  // content_length against its own limit.
  ReadStatus ReadBody(Deadline deadline, const std::function<bool(size_t)>& reserve,
                      std::string* body);

  // Whether bytes of an unread request are buffered (then a slow client cannot be "idle").
  bool has_buffered_bytes() const { return !buffer_.empty(); }

 private:
  struct Parser;
  ClientStream& client_;
  const int stop_fd_;
  const size_t max_head_bytes_;
  std::string buffer_;  // read, not yet consumed by the parser
  std::unique_ptr<Parser> parser_;
};

}  // namespace rrca::web
