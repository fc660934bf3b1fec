#include "exporter/web/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>

#include "common/time_util.h"

namespace rrca::web {
namespace {

constexpr unsigned char kSessionContext[] = "registry-rca";

std::string OpenSslError() {
  std::string message;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    message += (message.empty() ? "" : "; ") + std::string(buffer);
  }
  return message.empty() ? "unknown OpenSSL error" : message;
}

int ContextIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Offers http/1.1 when the client lists it (curl offers h2 first); we never speak h2.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
               unsigned int in_length, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, kHttp11, sizeof(kHttp11), in, in_length) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

std::string AsnString(const ASN1_STRING* value) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<size_t>(ASN1_STRING_length(value)));
}

std::string IpString(const ASN1_OCTET_STRING* value) {
  char text[INET6_ADDRSTRLEN] = {};
  const int length = ASN1_STRING_length(value);
  const unsigned char* bytes = ASN1_STRING_get0_data(value);
  if (length == 4) inet_ntop(AF_INET, bytes, text, sizeof(text));
  if (length == 16) inet_ntop(AF_INET6, bytes, text, sizeof(text));
  return text;
}

bool IsTls13Suite(const std::string& name) {
  return name.rfind("TLS_AES_", 0) == 0 || name.rfind("TLS_CHACHA20_", 0) == 0;
}

Status Fail(const std::string& file, const std::string& key, const std::string& message) {
  return Status::InvalidArgument(file + ": tls_server_config." + key + ": " + message);
}

int64_t NotAfter(const X509* cert) {
  const ASN1_TIME* not_after = cert != nullptr ? X509_get0_notAfter(cert) : nullptr;
  std::tm tm{};
  if (not_after == nullptr || ASN1_TIME_to_tm(not_after, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

Status CheckReadable(const std::string& file, const std::string& key, const std::string& path) {
  std::ifstream in(path);
  if (!in) return Fail(file, key, "cannot read " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace

constexpr char kDefaultTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

int TlsVerifyCallback(int preverify_ok, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* self = static_cast<TlsContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ContextIndex()));
  // RequestClientCert / RequireAnyClientCert take any certificate, as Go does.
  bool ok = self->verify_chain_ ? preverify_ok != 0 : true;
  if (ok && X509_STORE_CTX_get_error_depth(store) == 0 && !self->allowed_sans_.empty() &&
      !TlsContext::HasAllowedSan(X509_STORE_CTX_get_current_cert(store), self->allowed_sans_)) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    ok = false;
  }
  return ok ? 1 : 0;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

StatusOr<std::shared_ptr<TlsContext>> TlsContext::Create(const TlsServerConfig& config,
                                                         const std::string& file) {
  ERR_clear_error();
  std::shared_ptr<TlsContext> self(new TlsContext());
  self->ctx_ = SSL_CTX_new(TLS_server_method());
  if (self->ctx_ == nullptr) return Status::Unavailable("TLS: " + OpenSslError());
  SSL_CTX* ctx = self->ctx_;
  SSL_CTX_set_ex_data(ctx, ContextIndex(), self.get());
  auto version = [](TlsVersion v) {
    return v == TlsVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  };
  SSL_CTX_set_min_proto_version(ctx, version(config.min_version));
  SSL_CTX_set_max_proto_version(ctx, version(config.max_version));
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
               (config.prefer_server_cipher_suites ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, nullptr);

  if (Status s = CheckReadable(file, "cert_file", config.cert_file); !s.ok()) return s;
  if (Status s = CheckReadable(file, "key_file", config.key_file); !s.ok()) return s;
  if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()) != 1) {
    return Fail(file, "cert_file", config.cert_file + ": " + OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Fail(file, "key_file", config.key_file + ": " + OpenSslError());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Fail(file, "key_file", "does not match cert_file: " + OpenSslError());
  }
  self->not_after_ = NotAfter(SSL_CTX_get0_certificate(ctx));
  if (self->not_after_ != 0 && self->not_after_ < static_cast<int64_t>(std::time(nullptr))) {
    spdlog::warn("{}: tls_server_config.cert_file: {} expired at {}: clients will refuse it", file,
                 config.cert_file, FormatRfc3339Nanos(self->not_after_ * 1'000'000'000));
  }

  std::string tls12_list;
  std::string tls13_list;
  for (const std::string& name : config.cipher_suites) {
    std::string& list = IsTls13Suite(name) ? tls13_list : tls12_list;
    const char* openssl_name =
        IsTls13Suite(name) ? name.c_str() : OPENSSL_cipher_name(name.c_str());
    if (openssl_name == nullptr || std::strcmp(openssl_name, "(NONE)") == 0) {
      return Fail(file, "cipher_suites", "unknown cipher: " + name);
    }
    list += (list.empty() ? "" : ":") + std::string(openssl_name);
  }
  // Unset, TLS 1.2 gets forward secrecy and AEAD only (Mozilla's "intermediate" list, Go's
  // choice too); OpenSSL's own default still offers RSA key exchange and CBC-SHA1 suites.
  if (tls12_list.empty()) tls12_list = kDefaultTls12Ciphers;
  if (SSL_CTX_set_cipher_list(ctx, tls12_list.c_str()) != 1) {
    return Fail(file, "cipher_suites", "not usable: " + OpenSslError());
  }
  if (!tls13_list.empty() && SSL_CTX_set_ciphersuites(ctx, tls13_list.c_str()) != 1) {
    return Fail(file, "cipher_suites", "not usable: " + OpenSslError());
  }
  if (!config.curve_preferences.empty()) {
    static const std::map<std::string, std::string> kGroups = {{"CurveP256", "P-256"},
                                                               {"CurveP384", "P-384"},
                                                               {"CurveP521", "P-521"},
                                                               {"X25519", "X25519"}};
    std::string groups;
    for (const std::string& curve : config.curve_preferences) {
      const auto group = kGroups.find(curve);
      if (group == kGroups.end()) return Fail(file, "curve_preferences", "unknown curve: " + curve);
      groups += (groups.empty() ? "" : ":") + group->second;
    }
    if (SSL_CTX_set1_groups_list(ctx, groups.c_str()) != 1) {
      return Fail(file, "curve_preferences", OpenSslError());
    }
  }

  if (!config.client_ca_file.empty()) {
    if (Status s = CheckReadable(file, "client_ca_file", config.client_ca_file); !s.ok()) return s;
    if (SSL_CTX_load_verify_locations(ctx, config.client_ca_file.c_str(), nullptr) != 1) {
      return Fail(file, "client_ca_file", config.client_ca_file + ": " + OpenSslError());
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.client_ca_file.c_str());
    if (names == nullptr) {
      return Fail(file, "client_ca_file", config.client_ca_file + ": no certificates");
    }
    SSL_CTX_set_client_CA_list(ctx, names);
  }
  int mode = SSL_VERIFY_NONE;
  switch (config.client_auth) {
    case ClientAuth::kNoClientCert:
      break;
    case ClientAuth::kRequestClientCert:
      mode = SSL_VERIFY_PEER;
      break;
    case ClientAuth::kRequireAnyClientCert:
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      break;
    case ClientAuth::kVerifyClientCertIfGiven:
      mode = SSL_VERIFY_PEER;
      self->verify_chain_ = true;
      break;
    case ClientAuth::kRequireAndVerifyClientCert:
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      self->verify_chain_ = true;
      break;
  }
  self->allowed_sans_ = config.client_allowed_sans;
  SSL_CTX_set_verify(ctx, mode, mode == SSL_VERIFY_NONE ? nullptr : TlsVerifyCallback);
  return self;
}

bool TlsContext::HasAllowedSan(X509* cert, const std::vector<std::string>& allowed) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return false;
  bool found = false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    std::string value;
    if (name->type == GEN_DNS || name->type == GEN_EMAIL || name->type == GEN_URI) {
      value = AsnString(name->d.ia5);
    } else if (name->type == GEN_IPADD) {
      value = IpString(name->d.iPAddress);
    }
    found = !value.empty() && std::find(allowed.begin(), allowed.end(), value) != allowed.end();
  }
  GENERAL_NAMES_free(names);
  return found;
}

std::string TlsContext::PeerSubject(SSL* ssl) {
  X509* peer = SSL_get0_peer_certificate(ssl);
  if (peer == nullptr) return "";
  char buffer[256] = {};
  X509_NAME_oneline(X509_get_subject_name(peer), buffer, sizeof(buffer));
  return buffer;
}

}  // namespace rrca::web
