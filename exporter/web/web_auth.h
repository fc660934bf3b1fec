#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <semaphore>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace rrca::web {

// HTTP basic authentication against bcrypt hashes (`htpasswd -B`: $2y$, $2b$, $2a$), verified by
// the system crypt() (libxcrypt's crypt_rn) and compared in constant time.
//
// bcrypt is slow by design, so verified credentials are cached for kCacheTtl, keyed by an
// HMAC-SHA256 of user, hash and password under a per-process random key (no password is kept).
// Only successes are cached, in an LRU of at most kCacheEntries (`cache_entries`): a client without
// a valid password cannot add entries, so a flood of wrong passwords can neither flush a valid
// user's entry nor grow the cache, and valid scrapes keep skipping bcrypt. Verifications run on
// their callers' threads, at most BcryptSlots() at once (the HTTP server has a thread per
// connection: unbounded, a wrong-password flood would take every core from cached scrapes); one
// that finds no slot within kBcryptWait is refused. An unknown user is verified against a dummy
// hash with the cost most configured users have, so timing does not reveal which users exist.
// Thread-safe; Check may be called from any number of HTTP threads.
class BasicAuth {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr std::chrono::seconds kCacheTtl{60};
  static constexpr size_t kCacheEntries = 1024;

  explicit BasicAuth(std::map<std::string, std::string> users, Clock clock = nullptr,
                     size_t cache_entries = kCacheEntries);

  // False when no users are configured: every request is allowed.
  bool enabled() const { return !users_.empty(); }

  // `authorization` is the Authorization header (null when absent). True when it carries Basic
  // credentials of a configured user with the right password; `user` then names them.
  bool Check(const char* authorization, std::string* user);

  // Whether `hash` looks like a bcrypt hash crypt() can verify ("$2y$10$" + 53 characters).
  static bool IsBcryptHash(std::string_view hash);
  // The cost of a bcrypt hash (IsBcryptHash must hold).
  static int BcryptCost(std::string_view hash);
  // One uncached verification: crypt_rn(password, hash) compared with `hash` in constant time.
  static bool VerifyBcrypt(std::string_view password, const std::string& hash);
  // "user:password" from "Basic base64"; false when malformed.
  static bool DecodeBasic(std::string_view header, std::string* user, std::string* password);

  // bcrypt verifications at once: half the cores (at least one), the rest stay for scrapes.
  static std::ptrdiff_t BcryptSlots();
  static constexpr std::chrono::seconds kBcryptWait{5};  // then the request is refused (401)

  uint64_t bcrypt_runs() const { return bcrypt_runs_.load(); }  // for tests and metrics
  uint64_t bcrypt_busy() const { return bcrypt_busy_.load(); }  // refused: no slot in time
  size_t cache_size() const {
    std::lock_guard lock(cache_mutex_);
    return index_.size();
  }
  // The hash unknown users are verified against (made on first use).
  const std::string& dummy_hash();

 private:
  using Lru = std::list<std::pair<std::string, std::chrono::steady_clock::time_point>>;
  std::string CacheKey(const std::string& user, const std::string& hash,
                       const std::string& password) const;
  bool Cached(const std::string& key, std::chrono::steady_clock::time_point now);
  void Remember(const std::string& key, std::chrono::steady_clock::time_point now);

  const std::map<std::string, std::string> users_;
  const Clock clock_;
  const size_t cache_entries_;
  unsigned char key_[32];
  mutable std::mutex cache_mutex_;
  Lru lru_;                                               // most recently used first
  std::unordered_map<std::string, Lru::iterator> index_;  // key -> its place in lru_
  std::once_flag dummy_once_;
  std::string dummy_hash_;
  std::atomic<uint64_t> bcrypt_runs_{0};
  std::atomic<uint64_t> bcrypt_busy_{0};
  std::counting_semaphore<> bcrypt_slots_{BcryptSlots()};
};

}  // namespace rrca::web
