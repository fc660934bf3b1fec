// Cross-site requests and CORS preflights: a page on another site must not be able to POST alerts
// or reloads (text/plain and form bodies need no preflight). State-changing routes take only JSON
// (or an empty POST with neither Content-Type nor Origin), only from their own origin, and no
// route answers a preflight.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "exporter/web/http_server.h"

namespace rrca::web {
namespace {

std::string Exchange(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    ::shutdown(fd, SHUT_WR);  // our last request: the server closes after answering
    char buffer[4096];
    ssize_t n;
    while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) out.append(buffer, n);
  }
  ::close(fd);
  return out;
}

int Status(const std::string& response) {
  return response.rfind("HTTP/1.", 0) == 0 && response.size() >= 12
             ? std::stoi(response.substr(9, 3))
             : 0;
}

class CrossSiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Route(
        "/-/reload",
        [this](const HttpRequest&) {
          ++calls_;
          return HttpResponse{200, "text/plain", "reloaded\n"};
        },
        HttpServer::RouteKind::kStateChanging);
    server_.Route("/metrics", [](const HttpRequest&) {
      return HttpResponse{200, "text/plain", ""};
    });
    ASSERT_TRUE(server_.Start("127.0.0.1:0").ok());
    host_ = "127.0.0.1:" + std::to_string(server_.port());
  }

  // A POST to /-/reload with `headers` and `body` (Content-Length added).
  int Post(const std::string& headers, const std::string& body = "{}") {
    return Status(Exchange(
        server_.port(), "POST /-/reload HTTP/1.1\r\nHost: " + host_ + "\r\n" + headers +
                            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
  }

  HttpServer server_;
  std::string host_;
  std::atomic<int> calls_{0};
};

TEST_F(CrossSiteTest, ForgedPostsAreRefusedBeforeTheHandler) {
  // The attacks: a cross-site form or fetch without preflight.
  EXPECT_EQ(Post("Content-Type: text/plain\r\nOrigin: http://evil.example\r\n"), 403);
  EXPECT_EQ(Post("Content-Type: application/json\r\nOrigin: http://evil.example\r\n"), 403);
  EXPECT_EQ(Post("Content-Type: application/json\r\nOrigin: null\r\n"), 403);
  EXPECT_EQ(Post("Content-Type: application/x-www-form-urlencoded\r\n", ""), 415);  // curl -d ''
  EXPECT_EQ(Post("Content-Type: text/plain\r\n"), 415);
  EXPECT_EQ(Post("Origin: http://evil.example\r\n", ""), 403);
  EXPECT_EQ(Post("Origin: http://" + host_ + "\r\n", ""), 415);  // a body-less fetch from a page
  EXPECT_EQ(Post("Origin: http://" + host_ +
                 ".evil.example\r\n"
                 "Content-Type: application/json\r\n"),
            403);
  EXPECT_EQ(Status(Exchange(server_.port(),
                            "POST /-/reload HTTP/1.1\r\nHost: " + host_ +
                                "\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")),
            411);
  EXPECT_EQ(calls_, 0);

  // Control: what tools and Alertmanager send.
  EXPECT_EQ(Post("", ""), 200);  // curl -X POST .../-/reload
  EXPECT_EQ(Post("Content-Type: application/json\r\n"), 200);
  EXPECT_EQ(Post("Content-Type: Application/JSON; charset=utf-8\r\n"), 200);
  EXPECT_EQ(Post("Content-Type: application/json\r\nOrigin: HTTP://" + host_ + "\r\n"), 200);
  EXPECT_EQ(calls_, 4);
  // Routes that change nothing are not checked.
  EXPECT_EQ(Status(Exchange(server_.port(), "GET /metrics HTTP/1.1\r\nHost: " + host_ +
                                                "\r\nOrigin: http://evil.example\r\n\r\n")),
            200);
}

TEST_F(CrossSiteTest, NoRouteAnswersPreflights) {
  const std::string preflight =
      "OPTIONS /-/reload HTTP/1.1\r\nHost: " + host_ +
      "\r\nOrigin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\n"
      "Access-Control-Request-Headers: content-type\r\n\r\n";
  const std::string answer = Exchange(server_.port(), preflight);
  EXPECT_EQ(Status(answer), 405) << answer;
  EXPECT_EQ(answer.find("Access-Control-"), std::string::npos) << answer;
  EXPECT_EQ(calls_, 0);
}

TEST(CrossSiteRefusal, Rules) {
  const char* json = "application/json";
  EXPECT_EQ(CrossSiteRefusal(nullptr, "h:1", json, false, false).status, 0);
  EXPECT_EQ(CrossSiteRefusal("https://h:1", "h:1", json, false, true).status, 0);
  EXPECT_EQ(CrossSiteRefusal("http://h:1", "h:1", json, false, true).status, 403);  // scheme
  EXPECT_EQ(CrossSiteRefusal("https://h", "h:443", json, false, true).status, 0);   // default port
  EXPECT_EQ(CrossSiteRefusal("http://h:1", nullptr, json, false, false).status, 403);
  EXPECT_EQ(CrossSiteRefusal("http://h:1", "h:1", nullptr, true, false).status, 415);
  EXPECT_EQ(CrossSiteRefusal(nullptr, "h:1", nullptr, true, false).status, 0);
  EXPECT_EQ(CrossSiteRefusal(nullptr, "h:1", nullptr, false, false).status, 415);
  EXPECT_EQ(CrossSiteRefusal(nullptr, "h:1", "application/jsonp", false, false).status, 415);
  EXPECT_EQ(CrossSiteRefusal(nullptr, "h:1", "text/json", false, false).status, 415);
}

}  // namespace
}  // namespace rrca::web
