// Fuzzes exporter/web/web_request.h: RequestReader, the only HTTP request handling left in our code
// (Beast's parser underneath, our framing rules on top), on arbitrary bytes arriving in arbitrary
// pieces, as a client sends them. The first input byte picks the piece size. Invariants: every
// read ends (ok, bad, too large, unframed, or closed at the end of input), a head that parses
// names a method and a path, a body is exactly its Content-Length, and nothing more than the
// input is ever buffered. Seeds: fuzz/corpus/http_request/.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "exporter/web/web_request.h"
#include "fuzz/fuzz_util.h"

namespace {

using rrca::web::ClientStream;
using rrca::web::Io;

// The client: hands out the input `piece` bytes per read, then the end of the stream.
class InputStream : public ClientStream {
 public:
  InputStream(std::string_view input, size_t piece) : input_(input), piece_(piece) {}
  Io Read(char* data, size_t size, size_t* done) override {
    if (input_.empty()) return Io::kClosed;
    *done = std::min({size, piece_, input_.size()});
    std::copy_n(input_.data(), *done, data);
    input_.remove_prefix(*done);
    return Io::kOk;
  }
  Io Write(const char*, size_t size, size_t* done) override {
    *done = size;
    return Io::kOk;
  }
  void Shutdown() override {}
  int fd() const override { return -1; }

 private:
  std::string_view input_;
  size_t piece_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using rrca::web::ReadStatus;
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  InputStream client(input, piece);
  rrca::web::RequestReader reader(client, /*stop_fd=*/-1, /*max_head_bytes=*/4096);
  const auto far = std::chrono::steady_clock::now() + std::chrono::hours(1);
  for (int request = 0; request < 64; ++request) {
    rrca::web::RequestHead head;
    std::string reason;
    const ReadStatus status = reader.ReadHead(far, far, &head, &reason);
    if (status == ReadStatus::kBad) RRCA_FUZZ_CHECK(!reason.empty());
    if (status != ReadStatus::kOk) return 0;
    RRCA_FUZZ_CHECK(!head.method.empty());
    rrca::fuzz::Touch(head.path);
    rrca::fuzz::Touch(head.query);
    rrca::fuzz::Touch(head.authorization);
    rrca::fuzz::Touch(head.host);
    if (head.content_length > input.size()) return 0;  // a body that cannot arrive: closed
    size_t reserved = 0;
    std::string body;
    const ReadStatus read = reader.ReadBody(
        far,
        [&](size_t bytes) {
          reserved += bytes;
          return true;
        },
        &body);
    if (read != ReadStatus::kOk) return 0;
    RRCA_FUZZ_CHECK(body.size() == head.content_length);
    RRCA_FUZZ_CHECK(reserved == head.content_length);
  }
  return 0;
}
