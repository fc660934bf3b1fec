#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace rrca::exporter {

// HTTP basic authentication against bcrypt hashes (`htpasswd -B`: $2y$, $2b$, $2a$), verified by
// the system crypt() (libxcrypt's crypt_rn) and compared in constant time.
//
// bcrypt is slow by design, so results (good and bad) are cached for kCacheTtl, keyed by an
// HMAC-SHA256 of user, hash and password under a per-process random key (no password is kept);
// the cache holds at most kCacheEntries. Uncached verifications run one at a time, so a flood of
// wrong passwords costs at most one core; an unknown user is checked against a configured user's
// hash (result ignored) so timing does not reveal which users exist.
// Thread-safe; Check may be called from any number of HTTP threads.
class BasicAuth {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr std::chrono::seconds kCacheTtl{60};
  static constexpr size_t kCacheEntries = 1024;

  explicit BasicAuth(std::map<std::string, std::string> users, Clock clock = nullptr);

  // False when no users are configured: every request is allowed.
  bool enabled() const { return !users_.empty(); }

  // `authorization` is the Authorization header (null when absent). True when it carries Basic
  // credentials of a configured user with the right password; `user` then names them.
  bool Check(const char* authorization, std::string* user);

  // Whether `hash` looks like a bcrypt hash crypt() can verify ("$2y$10$" + 53 characters).
  static bool IsBcryptHash(std::string_view hash);
  // One uncached verification: crypt_rn(password, hash) compared with `hash` in constant time.
  static bool VerifyBcrypt(std::string_view password, const std::string& hash);
  // "user:password" from "Basic base64"; false when malformed.
  static bool DecodeBasic(std::string_view header, std::string* user, std::string* password);

  uint64_t bcrypt_runs() const { return bcrypt_runs_.load(); }  // for tests and metrics
  size_t cache_size() const {
    std::lock_guard lock(cache_mutex_);
    return cache_.size();
  }

 private:
  struct Entry {
    bool ok;
    std::chrono::steady_clock::time_point expires;
  };
  std::string CacheKey(const std::string& user, const std::string& hash,
                       const std::string& password) const;

  const std::map<std::string, std::string> users_;
  const Clock clock_;
  unsigned char key_[32];
  mutable std::mutex cache_mutex_;
  std::unordered_map<std::string, Entry> cache_;
  std::mutex bcrypt_mutex_;
  std::atomic<uint64_t> bcrypt_runs_{0};
};

}  // namespace rrca::exporter
