#include "exporter/web/web_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <memory>
#include <thread>

#include "common/codecs.h"

namespace rrca::web {
namespace {

bool IsBcryptAlphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '/';
}

}  // namespace

BasicAuth::BasicAuth(std::map<std::string, std::string> users, Clock clock, size_t cache_entries)
    : users_(std::move(users)),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      cache_entries_(std::max<size_t>(cache_entries, 1)) {
  if (RAND_bytes(key_, sizeof(key_)) != 1) {
    // No randomness: keep a fixed key. The cache key is then only a plain hash of the secret,
    // still never the password itself.
    for (size_t i = 0; i < sizeof(key_); ++i) key_[i] = static_cast<unsigned char>(i);
  }
}

bool BasicAuth::IsBcryptHash(std::string_view hash) {
  // $2y$NN$ + 22 characters of salt + 31 of hash.
  if (hash.size() != 60 || hash.substr(0, 2) != "$2" || hash[3] != '$' || hash[6] != '$') {
    return false;
  }
  if (hash[2] != 'y' && hash[2] != 'b' && hash[2] != 'a') return false;
  if (hash[4] < '0' || hash[4] > '3' || hash[5] < '0' || hash[5] > '9') return false;
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (char c : hash.substr(7)) {
    if (!IsBcryptAlphabet(c)) return false;
  }
  return true;
}

bool BasicAuth::VerifyBcrypt(std::string_view password, const std::string& hash) {
  if (password.find('\0') != std::string_view::npos || !IsBcryptHash(hash)) return false;
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: not on an HTTP thread's stack
  const std::string phrase(password);
  const char* result = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  if (result == nullptr || result[0] == '*') return false;
  const size_t length = std::strlen(result);
  const bool same_length = length == hash.size();
  // Compare a full hash-length buffer either way, so the time does not depend on the result.
  std::string candidate(result, length);
  candidate.resize(hash.size());
  return CRYPTO_memcmp(candidate.data(), hash.data(), hash.size()) == 0 && same_length;
}

bool BasicAuth::DecodeBasic(std::string_view header, std::string* user, std::string* password) {
  constexpr std::string_view kScheme = "basic ";
  if (header.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
  }
  header.remove_prefix(kScheme.size());
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  std::string decoded;
  if (!DecodeBase64(header, &decoded)) return false;
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  *user = decoded.substr(0, colon);
  *password = decoded.substr(colon + 1);
  return true;
}

std::string BasicAuth::CacheKey(const std::string& user, const std::string& hash,
                                const std::string& password) const {
  std::string message = user;
  message.push_back('\0');
  message += hash;
  message.push_back('\0');
  message += password;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_, sizeof(key_), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), digest, &length);
  OPENSSL_cleanse(message.data(), message.size());
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool BasicAuth::Cached(const std::string& key, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(cache_mutex_);
  const auto found = index_.find(key);
  if (found == index_.end()) return false;
  if (found->second->second <= now) {  // expired: verify again
    lru_.erase(found->second);
    index_.erase(found);
    return false;
  }
  lru_.splice(lru_.begin(), lru_, found->second);
  return true;
}

void BasicAuth::Remember(const std::string& key, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(cache_mutex_);
  if (const auto found = index_.find(key); found != index_.end()) {
    found->second->second = now + kCacheTtl;
    lru_.splice(lru_.begin(), lru_, found->second);
    return;
  }
  if (index_.size() >= cache_entries_) {  // only valid credentials get here: evict the stalest
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  lru_.emplace_front(key, now + kCacheTtl);
  index_.emplace(key, lru_.begin());
}

int BasicAuth::BcryptCost(std::string_view hash) { return (hash[4] - '0') * 10 + (hash[5] - '0'); }

const std::string& BasicAuth::dummy_hash() {
  std::call_once(dummy_once_, [this] {
    // The cost most users have (ties: the higher one), so that an unknown user costs what a
    // known one does.
    std::map<int, int> costs;
    for (const auto& [name, hash] : users_) {
      if (IsBcryptHash(hash)) ++costs[BcryptCost(hash)];
    }
    int cost = 10;
    int most = 0;
    for (const auto& [c, n] : costs) {
      if (n >= most) {
        cost = c;
        most = n;
      }
    }
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    auto data = std::make_unique<crypt_data>();
    const char* made =
        crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, salt, sizeof(salt));
    const char* hashed =
        made != nullptr ? crypt_rn("registry-rca: no such user", salt, data.get(), sizeof(*data))
                        : nullptr;
    if (hashed != nullptr && IsBcryptHash(hashed)) {
      dummy_hash_ = hashed;
    } else {
      // No random salt: a configured hash of that cost does as well (the result is ignored).
      for (const auto& [name, hash] : users_) {
        if (IsBcryptHash(hash) && BcryptCost(hash) == cost) dummy_hash_ = hash;
      }
    }
  });
  return dummy_hash_;
}

std::ptrdiff_t BasicAuth::BcryptSlots() {
  return std::max<std::ptrdiff_t>(1, std::thread::hardware_concurrency() / 2);
}

bool BasicAuth::Check(const char* authorization, std::string* user) {
  if (!enabled()) return true;
  std::string name;
  std::string password;
  if (authorization == nullptr || !DecodeBasic(authorization, &name, &password)) return false;
  const auto found = users_.find(name);
  const bool known = found != users_.end();
  // Unknown users pay for a real verification too, of the same cost (result ignored).
  const std::string& hash = known ? found->second : dummy_hash();
  const std::string key = CacheKey(name, hash, password);
  const auto now = clock_();
  bool ok = known && Cached(key, now);
  if (!ok) {
    // bcrypt is CPU by design: at most kBcryptSlots run at once, so a flood of wrong passwords
    // (each connection has its own thread) queues here instead of starving cached scrapes.
    if (bcrypt_slots_.try_acquire_for(kBcryptWait)) {
      ok = VerifyBcrypt(password, hash) && known;
      bcrypt_slots_.release();
      bcrypt_runs_.fetch_add(1);
      if (ok) Remember(key, now);
    } else {
      bcrypt_busy_.fetch_add(1);
    }
  }
  OPENSSL_cleanse(password.data(), password.size());
  if (ok) *user = name;
  return ok;
}

}  // namespace rrca::web
