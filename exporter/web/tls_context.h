#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "exporter/web/web_config.h"

struct ssl_ctx_st;
struct ssl_st;
struct x509_st;
struct x509_store_ctx_st;

namespace rrca::web {

// An OpenSSL 3 server context built from `tls_server_config`: certificate and key, TLS 1.2+
// (never below), optional client CA and exporter-toolkit's client_auth_type semantics, cipher
// suites by IANA name, curves, client SAN allow-list, ALPN http/1.1, no renegotiation.
// Immutable after Create and shared by all connection threads (SSL_new is thread-safe).
class TlsContext {
 public:
  // Loads the files named by `config`; errors read "<web config>: tls_server_config.<key>: ...".
  static StatusOr<std::shared_ptr<TlsContext>> Create(const TlsServerConfig& config,
                                                      const std::string& config_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  ssl_ctx_st* ctx() const { return ctx_; }
  // The server certificate's notAfter in Unix seconds (0 if unreadable); Create warns in the
  // log when it has passed (a client will refuse the handshake, the daemon still starts).
  int64_t not_after() const { return not_after_; }

  // For logs: the subject of the client certificate of a finished handshake, or "".
  static std::string PeerSubject(ssl_st* ssl);
  // Whether `cert`'s subject alternative names (DNS, email, IP, URI) include one of `allowed`.
  static bool HasAllowedSan(x509_st* cert, const std::vector<std::string>& allowed);

 private:
  TlsContext() = default;
  friend int TlsVerifyCallback(int preverify_ok, x509_store_ctx_st* store);

  ssl_ctx_st* ctx_ = nullptr;
  bool verify_chain_ = false;
  int64_t not_after_ = 0;
  std::vector<std::string> allowed_sans_;
};

}  // namespace rrca::web
