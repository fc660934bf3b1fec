// Fuzzes HTTP basic authentication (exporter/web/web_auth.h): BasicAuth::DecodeBasic and
// BasicAuth::Check on the `Authorization` header, which any client that reaches the port sends
// before it is authenticated. The input is used twice: as the header itself, and as the
// "user:password" that this target base64-encodes behind "Basic " -- random mutations rarely
// make valid base64, and the decoded credentials are where the users and passwords are.
//
// Three users, hashed once at start-up with bcrypt cost 4 (so an input costs a few ms): alice
// and bob (whose password holds a colon), and carol, whose configured "hash" is not a bcrypt
// hash and must never let anyone in. Invariants: Check accepts exactly the right password of a
// bcrypt user (never a wrong one, never carol, never an unknown user), and names that user;
// DecodeBasic's user holds no ':' and the decoded bytes are no longer than the base64 allows.
// The clock moves 7 s per input and the cache holds one entry, so expiry and eviction run too.
// Seeds: fuzz/corpus/web_auth/ (headers as clients send them). Dictionary: web_auth.dict.
#include <crypt.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "exporter/web/web_auth.h"
#include "fuzz/fuzz_util.h"

namespace {

using rrca::web::BasicAuth;

// The passwords in clear, for the oracle; the BasicAuth gets their bcrypt hashes.
const std::map<std::string, std::string>& Passwords() {
  static const std::map<std::string, std::string> passwords = {
      {"alice", "s3cret"}, {"bob", "pa:ss word"}, {"carol", "$2y$04$not-a-bcrypt-hash"}};
  return passwords;
}

std::string Bcrypt(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  auto data = std::make_unique<crypt_data>();
  if (crypt_gensalt_rn("$2y$", 4, nullptr, 0, salt, sizeof(salt)) == nullptr) std::abort();
  const char* hash = crypt_rn(password.c_str(), salt, data.get(), sizeof(*data));
  if (hash == nullptr || !BasicAuth::IsBcryptHash(hash)) std::abort();
  return hash;
}

std::chrono::steady_clock::time_point now{};

BasicAuth& Auth() {
  static BasicAuth* auth = [] {
    std::map<std::string, std::string> users;
    for (const auto& [user, password] : Passwords()) {
      // carol's configured value is the text itself: not a hash crypt() may verify.
      users[user] = user == "carol" ? password : Bcrypt(password);
    }
    return new BasicAuth(
        std::move(users), [] { return now; }, /*cache_entries=*/1);
  }();
  return *auth;
}

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t group = static_cast<unsigned char>(bytes[i]) << 16 |
                           static_cast<unsigned char>(bytes[i + 1]) << 8 |
                           static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[group >> shift & 63]);
  }
  if (i < bytes.size()) {
    uint32_t group = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[group >> 18 & 63]);
    out.push_back(kAlphabet[group >> 12 & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[group >> 6 & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// One header through DecodeBasic and Check, against the oracle.
void CheckHeader(const std::string& header) {
  std::string user;
  std::string password;
  const bool decoded = BasicAuth::DecodeBasic(header, &user, &password);
  if (decoded) {
    rrca::fuzz::Touch(user);
    rrca::fuzz::Touch(password);
    RRCA_FUZZ_CHECK(user.find(':') == std::string::npos);
    RRCA_FUZZ_CHECK((user.size() + 1 + password.size()) * 4 <= header.size() * 3);
  }
  // The server hands Check a C string: the header ends at its first NUL.
  const std::string c_header(header.c_str());
  std::string c_user;
  std::string c_password;
  const bool c_decoded = BasicAuth::DecodeBasic(c_header, &c_user, &c_password);
  const auto known = Passwords().find(c_user);
  const bool right =
      c_decoded && known != Passwords().end() && c_user != "carol" && c_password == known->second;

  now += std::chrono::seconds(7);
  std::string accepted_user = "(unchanged)";
  const bool accepted = Auth().Check(c_header.c_str(), &accepted_user);
  RRCA_FUZZ_CHECK(accepted == right);  // never a wrong password; always the right one
  RRCA_FUZZ_CHECK(accepted ? accepted_user == c_user : accepted_user == "(unchanged)");
  RRCA_FUZZ_CHECK(Auth().cache_size() <= 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  CheckHeader(input);                     // the header as sent
  CheckHeader("Basic " + Base64(input));  // the input as the credentials
  return 0;
}
