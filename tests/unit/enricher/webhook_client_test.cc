// The enricher's webhook URL parser and client (exporter/enricher/enricher_http.h), against
// a real HTTP sink on 127.0.0.1.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

#include "common/json.h"
#include "exporter/enricher/enricher_http.h"
#include "tests/unit/enricher/test_sink.h"

namespace rrca::enricher {

namespace {

using namespace std::chrono_literals;

TEST(HttpUrlTest, ParsesHttpAndHttpsKeepingCredentialsOutOfTheRedactedUrl) {
  auto url = ParseHttpUrl("http://bot:s%3Acret@hooks.example:8080/alerts?x=1");
  ASSERT_TRUE(url.ok()) << url.status().message();
  EXPECT_TRUE(url->has_credentials);
  EXPECT_EQ(url->user, "bot");
  EXPECT_EQ(url->password, "s:cret");  // percent-decoded by curl's URL API
  EXPECT_EQ(url->redacted, "http://hooks.example:8080/alerts?x=1");
  EXPECT_FALSE(url->https);
  auto v6 = ParseHttpUrl("http://[::1]:9/");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->redacted, "http://[::1]:9/");
  EXPECT_FALSE(v6->has_credentials);
  EXPECT_EQ(ParseHttpUrl("http://h")->redacted, "http://h/");
  EXPECT_EQ(ParseHttpUrl("http://h:80/x")->redacted, "http://h/x");  // one label per downstream
  auto https = ParseHttpUrl("https://token@hooks.example/alerts");
  ASSERT_TRUE(https.ok()) << https.status().message();
  EXPECT_TRUE(https->https);
  EXPECT_EQ(https->redacted, "https://hooks.example/alerts");
  EXPECT_EQ(https->user, "token");
  for (const char* bad :
       {"ftp://h/", "http://", "http://h:0/", "http://h:99999/", "http://h:x/", "http://h/a b",
        "http://[::1/", "http://h$/", "hooks.example/x", "http://h/x#frag", "http://u%00x@h/"}) {
    auto parsed = ParseHttpUrl(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().message().find("u%00x"), std::string::npos);  // never echoed
    }
  }
}

TEST(WebhookClientTest, PostsAndReportsStatusOrWhyNot) {
  TestSink sink({503});
  auto url = ParseHttpUrl(sink.url());
  ASSERT_TRUE(url.ok());
  PostOptions options;
  options.timeout = 2s;
  options.user_agent = "test";
  PostResult first = PostJson(url.value(), "{\"a\":1}", options);
  EXPECT_EQ(first.status, 503);
  EXPECT_TRUE(first.retryable());
  PostResult second = PostJson(url.value(), "{\"a\":1}", options);
  EXPECT_TRUE(second.ok());
  ASSERT_TRUE(sink.WaitForBodies(1));
  EXPECT_EQ(sink.bodies()[0], "{\"a\":1}");

  // A closed port: no answer, with the reason.
  const int closed_port = [] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t l = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
    ::close(fd);
    return static_cast<int>(ntohs(a.sin_port));
  }();
  auto down = ParseHttpUrl("http://127.0.0.1:" + std::to_string(closed_port) + "/");
  options.timeout = 1s;
  PostResult refused = PostJson(down.value(), "{}", options);
  EXPECT_EQ(refused.status, 0);
  EXPECT_EQ(refused.reason, "connect");
  EXPECT_NE(refused.error.find("connect"), std::string::npos) << refused.error;
}

}  // namespace
}  // namespace rrca::enricher
