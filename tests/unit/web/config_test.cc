// The --web.config.file parser (exporter-toolkit format) against good and bad fixtures, and
// basic auth with bcrypt hashes made by `htpasswd -B` (tests/testdata/web/make_fixtures.sh).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "exporter/web/http_server.h"
#include "exporter/web/web_auth.h"
#include "exporter/web/web_config.h"

namespace rrca::web {
namespace {

namespace fs = std::filesystem;
const fs::path kWebDir = fs::path(RRCA_TESTDATA_DIR) / "web";

std::vector<fs::path> Fixtures(const std::string& suffix) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kWebDir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > suffix.size() && name.ends_with(suffix)) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The first line of a bad fixture: "# expect: <text the error must contain>".
std::string Expected(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  const std::string prefix = "# expect: ";
  return line.rfind(prefix, 0) == 0 ? line.substr(prefix.size()) : "";
}

std::string Htpasswd(const std::string& user) {
  std::ifstream in(kWebDir / "users.htpasswd");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(user + ":", 0) == 0) return line.substr(user.size() + 1);
  }
  return "";
}

std::string BasicHeader(const std::string& credentials) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string encoded;
  for (size_t j = 0; j < credentials.size(); j += 3) {
    uint32_t group = static_cast<uint32_t>(static_cast<unsigned char>(credentials[j])) << 16;
    if (j + 1 < credentials.size()) group |= static_cast<unsigned char>(credentials[j + 1]) << 8;
    if (j + 2 < credentials.size()) group |= static_cast<unsigned char>(credentials[j + 2]);
    encoded += kAlphabet[group >> 18 & 63];
    encoded += kAlphabet[group >> 12 & 63];
    encoded += j + 1 < credentials.size() ? kAlphabet[group >> 6 & 63] : '=';
    encoded += j + 2 < credentials.size() ? kAlphabet[group & 63] : '=';
  }
  return "Basic " + encoded;
}

TEST(WebConfigFixtures, GoodFilesLoadAndTheirTlsMaterialWorks) {
  const auto files = Fixtures(".good.yml");
  ASSERT_GE(files.size(), 8u);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    auto config = LoadWebConfig(file.string());
    ASSERT_TRUE(config.ok()) << config.status().message();
    HttpServer server;
    EXPECT_TRUE(server.SetWebConfig(config.value()).ok());
  }
}

TEST(WebConfigFixtures, BadFilesAreRefusedWithPositionAndReason) {
  const auto files = Fixtures(".bad.yml");
  ASSERT_GE(files.size(), 15u);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    const std::string expected = Expected(file);
    ASSERT_FALSE(expected.empty()) << "fixture lacks its '# expect:' line";
    auto config = LoadWebConfig(file.string());
    ASSERT_FALSE(config.ok());
    EXPECT_NE(config.status().message().find(expected), std::string::npos)
        << config.status().message();
    EXPECT_EQ(config.status().message().rfind(file.string() + ":", 0), 0u)
        << "errors start with the file name: " << config.status().message();
  }
}

TEST(WebConfigFixtures, UnusableTlsFilesAreRefusedBeforeServing) {
  const auto files = Fixtures(".badfiles.yml");
  ASSERT_GE(files.size(), 4u);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    auto config = LoadWebConfig(file.string());
    ASSERT_TRUE(config.ok()) << config.status().message();
    HttpServer server;
    const Status set = server.SetWebConfig(config.value());
    ASSERT_FALSE(set.ok());
    EXPECT_NE(set.message().find(Expected(file)), std::string::npos) << set.message();
    // And Start refuses too: never plaintext when TLS was asked for.
    EXPECT_FALSE(server.Start("127.0.0.1:0").ok());
  }
}

TEST(WebConfig, TlsAndAuthValuesAndRelativePaths) {
  auto config = LoadWebConfig((kWebDir / "tls_auth.good.yml").string());
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_TRUE(config->tls.enabled());
  EXPECT_EQ(config->tls.cert_file, (kWebDir / "server.crt").string());
  EXPECT_EQ(config->tls.key_file, (kWebDir / "server.key").string());
  EXPECT_EQ(config->tls.min_version, TlsVersion::kTls12);
  EXPECT_EQ(config->tls.max_version, TlsVersion::kTls13);
  EXPECT_EQ(config->tls.client_auth, ClientAuth::kNoClientCert);
  ASSERT_EQ(config->basic_auth_users.size(), 2u);
  EXPECT_EQ(config->basic_auth_users.at("alice"), Htpasswd("alice"));
  ASSERT_EQ(config->headers.size(), 2u);
  EXPECT_EQ(config->headers[0].first, "X-Content-Type-Options");
}

TEST(WebConfig, AllOptions) {
  auto config = LoadWebConfig((kWebDir / "all_options.good.yml").string());
  ASSERT_TRUE(config.ok()) << config.status().message();
  const TlsServerConfig& tls = config->tls;
  EXPECT_EQ(tls.client_auth, ClientAuth::kRequireAndVerifyClientCert);
  EXPECT_EQ(tls.cipher_suites.size(), 2u);
  EXPECT_EQ(tls.curve_preferences, (std::vector<std::string>{"X25519", "CurveP256"}));
  EXPECT_FALSE(tls.prefer_server_cipher_suites);
  EXPECT_EQ(tls.client_allowed_sans, std::vector<std::string>{"prometheus.example"});
}

TEST(WebConfig, EmptyMeansPlaintextWithoutAuth) {
  auto config = ParseWebConfig("", "web.yml");
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->tls.enabled());
  EXPECT_TRUE(config->basic_auth_users.empty());
  auto empty_sections = ParseWebConfig("tls_server_config:\nbasic_auth_users:\n", "web.yml");
  ASSERT_TRUE(empty_sections.ok()) << empty_sections.status().message();
  EXPECT_FALSE(empty_sections->tls.enabled());
}

// Found by web_config_fuzzer: versions alone (no certificate, so TLS stays off) used to skip
// the range check, and a config whose min_version is above its max_version was accepted.
TEST(WebConfig, VersionRangeIsCheckedEvenWithoutCertificate) {
  auto config =
      ParseWebConfig("tls_server_config:\n  min_version: TLS13\n  max_version: TLS12\n", "web.yml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find(
                "web.yml:2:3: tls_server_config.max_version: is below min_version"),
            std::string::npos)
      << config.status().message();
}

TEST(WebConfig, EveryErrorIsReportedAtOnce) {
  auto config = LoadWebConfig((kWebDir / "many_errors.bad.yml").string());
  ASSERT_FALSE(config.ok());
  const std::string& message = config.status().message();
  EXPECT_NE(message.find(":5:16: tls_server_config.min_version: TLS10 is refused"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(":6:3: tls_server_config.bogus: unknown key"), std::string::npos);
  EXPECT_NE(message.find(":8:10: basic_auth_users.alice: must be a bcrypt hash"),
            std::string::npos);
}

TEST(BasicAuthBcrypt, HtpasswdHashesVerifyWithTheSystemCrypt) {
  const std::string alice = Htpasswd("alice");
  const std::string bob = Htpasswd("bob");
  ASSERT_EQ(alice.rfind("$2y$05$", 0), 0u);
  ASSERT_EQ(bob.rfind("$2y$10$", 0), 0u);
  EXPECT_TRUE(BasicAuth::VerifyBcrypt("alice-secret", alice));
  EXPECT_TRUE(BasicAuth::VerifyBcrypt("b0b:with:colons", bob));
  EXPECT_FALSE(BasicAuth::VerifyBcrypt("alice-secreT", alice));
  EXPECT_FALSE(BasicAuth::VerifyBcrypt("alice-secre", alice));
  EXPECT_FALSE(BasicAuth::VerifyBcrypt("alice-secret ", alice));
  EXPECT_FALSE(BasicAuth::VerifyBcrypt("", alice));
  EXPECT_FALSE(BasicAuth::VerifyBcrypt(std::string("alice-secret\0x", 14), alice));
  EXPECT_FALSE(BasicAuth::VerifyBcrypt("alice-secret", bob));
  // $2b$ is the same algorithm under another name (OpenBSD's), also accepted by crypt().
  std::string alice_2b = alice;
  alice_2b[2] = 'b';
  EXPECT_TRUE(BasicAuth::VerifyBcrypt("alice-secret", alice_2b));
  // A damaged hash never verifies.
  std::string damaged = alice;
  damaged.back() = damaged.back() == 'a' ? 'b' : 'a';
  EXPECT_FALSE(BasicAuth::VerifyBcrypt("alice-secret", damaged));
}

TEST(BasicAuthBcrypt, RecognisesBcryptHashesOnly) {
  EXPECT_TRUE(BasicAuth::IsBcryptHash(Htpasswd("alice")));
  EXPECT_FALSE(BasicAuth::IsBcryptHash("alice-secret"));
  EXPECT_FALSE(BasicAuth::IsBcryptHash("$apr1$abcdefgh$0123456789abcdefghijkl"));  // MD5
  EXPECT_FALSE(BasicAuth::IsBcryptHash("$6$salt$" + std::string(86, 'a')));        // SHA-512
  EXPECT_FALSE(BasicAuth::IsBcryptHash("$2y$03$" + std::string(53, 'a')));         // cost < 4
  EXPECT_FALSE(BasicAuth::IsBcryptHash("$2y$10$" + std::string(52, 'a') + "!"));
  EXPECT_TRUE(BasicAuth::IsBcryptHash("$2b$12$" + std::string(53, 'a')));
}

TEST(BasicAuthHeader, Decoding) {
  std::string user, password;
  EXPECT_TRUE(BasicAuth::DecodeBasic("Basic YWxpY2U6YWxpY2Utc2VjcmV0", &user, &password));
  EXPECT_EQ(user, "alice");
  EXPECT_EQ(password, "alice-secret");
  EXPECT_TRUE(BasicAuth::DecodeBasic("basic  Ym9iOmIwYjp3aXRoOmNvbG9ucw==", &user, &password));
  EXPECT_EQ(user, "bob");
  EXPECT_EQ(password, "b0b:with:colons");
  EXPECT_TRUE(BasicAuth::DecodeBasic("Basic YTo=", &user, &password));  // "a:"
  EXPECT_EQ(password, "");
  EXPECT_FALSE(BasicAuth::DecodeBasic("Bearer YWxpY2U6YWxpY2Utc2VjcmV0", &user, &password));
  EXPECT_FALSE(BasicAuth::DecodeBasic("Basic YWxpY2U=", &user, &password));  // no colon
  EXPECT_FALSE(BasicAuth::DecodeBasic("Basic YWxp!2U6", &user, &password));
  EXPECT_FALSE(BasicAuth::DecodeBasic("Basic YWxpY2U6YW", &user, &password));  // unpadded
  EXPECT_FALSE(BasicAuth::DecodeBasic("Basic ", &user, &password));
  EXPECT_FALSE(BasicAuth::DecodeBasic("Basic ====", &user, &password));
}

class FakeClock {
 public:
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  BasicAuth::Clock Get() {
    return [this] { return now; };
  }
};

TEST(BasicAuthCheck, RightWrongMissingAndUnknown) {
  BasicAuth auth({{"alice", Htpasswd("alice")}, {"bob", Htpasswd("bob")}});
  std::string user;
  EXPECT_TRUE(auth.Check("Basic YWxpY2U6YWxpY2Utc2VjcmV0", &user));  // alice:alice-secret
  EXPECT_EQ(user, "alice");
  user.clear();
  EXPECT_FALSE(auth.Check("Basic YWxpY2U6d3Jvbmc=", &user));  // alice:wrong
  EXPECT_FALSE(auth.Check(nullptr, &user));
  EXPECT_FALSE(auth.Check("", &user));
  const uint64_t before = auth.bcrypt_runs();
  // mallory:alice-secret: an unknown user costs a bcrypt run too (no timing oracle), and fails
  // even with a configured user's password.
  EXPECT_FALSE(auth.Check("Basic bWFsbG9yeTphbGljZS1zZWNyZXQ=", &user));
  EXPECT_EQ(auth.bcrypt_runs(), before + 1);
  EXPECT_TRUE(user.empty());
  EXPECT_TRUE(auth.Check("Basic Ym9iOmIwYjp3aXRoOmNvbG9ucw==", &user));
  EXPECT_EQ(user, "bob");
}

TEST(BasicAuthCheck, ResultsAreCachedBrieflyAndBounded) {
  FakeClock clock;
  BasicAuth auth({{"alice", Htpasswd("alice")}}, clock.Get());
  std::string user;
  const char* good = "Basic YWxpY2U6YWxpY2Utc2VjcmV0";
  const char* bad = "Basic YWxpY2U6d3Jvbmc=";
  EXPECT_TRUE(auth.Check(good, &user));
  EXPECT_EQ(auth.bcrypt_runs(), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(auth.Check(good, &user));  // scrapes: no bcrypt
  EXPECT_FALSE(auth.Check(bad, &user));
  EXPECT_FALSE(auth.Check(bad, &user));  // a wrong password is never cached
  EXPECT_EQ(auth.bcrypt_runs(), 3u);
  clock.now += BasicAuth::kCacheTtl + std::chrono::seconds(1);
  EXPECT_TRUE(auth.Check(good, &user));
  EXPECT_EQ(auth.bcrypt_runs(), 4u);

  // Wrong passwords add nothing, however many distinct ones are tried.
  for (size_t i = 0; i < 50; ++i) {
    const std::string header = BasicHeader("alice:guess" + std::to_string(i));
    EXPECT_FALSE(auth.Check(header.c_str(), &user));
  }
  EXPECT_EQ(auth.cache_size(), 1u);
}

TEST(BasicAuthCheck, DisabledWithoutUsers) {
  BasicAuth auth({});
  std::string user;
  EXPECT_FALSE(auth.enabled());
  EXPECT_TRUE(auth.Check(nullptr, &user));
}

}  // namespace
}  // namespace rrca::web
