// The prober's pure decisions: the Bearer token flow's parsing, URL building for the registry and
// S3 (path and virtual-host style, canonical queries), the S3 answers it reads, credentials
// files, and how answers map to a run's result and failure reason.
#include <gtest/gtest.h>

#include <set>

#include "prober/credentials.h"
#include "prober/probe.h"
#include "prober/registry_api.h"
#include "prober/s3_api.h"

namespace rrca::prober {
namespace {

TEST(ProberChallenge, DistributionBearerChallenge) {
  const auto challenge = ParseChallenge(
      R"(Bearer realm="https://harbor.example.com/service/token",service="harbor-registry",)"
      R"(scope="repository:library/probe:pull,push")");
  ASSERT_TRUE(challenge.has_value());
  EXPECT_EQ(challenge->scheme, "bearer");
  EXPECT_EQ(challenge->params.at("realm"), "https://harbor.example.com/service/token");
  EXPECT_EQ(challenge->params.at("service"), "harbor-registry");
  EXPECT_EQ(challenge->params.at("scope"), "repository:library/probe:pull,push");
}

TEST(ProberChallenge, CaseSpacesEscapesAndTokens) {
  const auto challenge = ParseChallenge(
      R"(  BEARER Realm = "http://a/t\"x" , Service=reg ,error="insufficient_scope")");
  ASSERT_TRUE(challenge.has_value());
  EXPECT_EQ(challenge->scheme, "bearer");
  EXPECT_EQ(challenge->params.at("realm"), "http://a/t\"x");
  EXPECT_EQ(challenge->params.at("service"), "reg");
  EXPECT_EQ(challenge->params.at("error"), "insufficient_scope");
}

TEST(ProberChallenge, BasicAndMalformed) {
  const auto basic = ParseChallenge(R"(Basic realm="Registry Realm")");
  ASSERT_TRUE(basic.has_value());
  EXPECT_EQ(basic->scheme, "basic");
  EXPECT_EQ(basic->params.at("realm"), "Registry Realm");
  EXPECT_FALSE(ParseChallenge("").has_value());
  EXPECT_FALSE(ParseChallenge(R"(Bearer realm="unterminated)").has_value());
  EXPECT_FALSE(ParseChallenge(R"(Bearer realm="a" junk)").has_value());
}

TEST(ProberTokenUrl, UsesServiceAndScopeEncoded) {
  Challenge challenge{"bearer",
                      {{"realm", "https://auth.example/token"},
                       {"service", "my registry"},
                       {"scope", "repository:a/b:pull,push"}}};
  auto url = TokenUrl(challenge, "repository:other:pull");
  ASSERT_TRUE(url.ok()) << url.status().message();
  EXPECT_EQ(
      url.value(),
      "https://auth.example/token?service=my%20registry&scope=repository%3Aa%2Fb%3Apull%2Cpush");
}

TEST(ProberTokenUrl, DefaultScopeAndRealmWithQuery) {
  Challenge challenge{"bearer", {{"realm", "http://auth/token?x=1"}}};
  auto url = TokenUrl(challenge, "repository:probe:pull,push");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url.value(), "http://auth/token?x=1&scope=repository%3Aprobe%3Apull%2Cpush");
}

TEST(ProberTokenUrl, RefusesMissingOrNonHttpRealm) {
  EXPECT_FALSE(TokenUrl(Challenge{"bearer", {}}, "s").ok());
  EXPECT_FALSE(TokenUrl(Challenge{"bearer", {{"realm", "file:///etc/passwd"}}}, "s").ok());
}

TEST(ProberTokenAnswer, TokenOrAccessToken) {
  EXPECT_EQ(ParseTokenAnswer(R"({"token":"abc.def","expires_in":300})").value(), "abc.def");
  EXPECT_EQ(ParseTokenAnswer(R"({"access_token":"xyz"})").value(), "xyz");
  EXPECT_EQ(ParseTokenAnswer(R"({"token":"","access_token":"xyz"})").value(), "xyz");
}

TEST(ProberTokenAnswer, RefusesWhatCannotGoInAHeader) {
  EXPECT_FALSE(ParseTokenAnswer("not json").ok());
  EXPECT_FALSE(ParseTokenAnswer("[]").ok());
  EXPECT_FALSE(ParseTokenAnswer(R"({"token":7})").ok());
  EXPECT_FALSE(ParseTokenAnswer(R"({"token":"a\r\nX-Evil: 1"})").ok());
  EXPECT_FALSE(ParseTokenAnswer(R"({"token":"a b"})").ok());
  EXPECT_FALSE(ParseTokenAnswer("{\"token\":\"" + std::string(20000, 'a') + "\"}").ok());
}

TEST(ProberRegistryUrl, UploadsUrl) {
  EXPECT_EQ(RegistryUploadsUrl("http://127.0.0.1:5000", "registry-rca-probe").value(),
            "http://127.0.0.1:5000/v2/registry-rca-probe/blobs/uploads/");
  EXPECT_EQ(RegistryUploadsUrl("https://harbor.example.com/", "library/probe").value(),
            "https://harbor.example.com/v2/library/probe/blobs/uploads/");
  EXPECT_EQ(RegistryUploadsUrl("https://h.example/prefix/", "a/b").value(),
            "https://h.example/prefix/v2/a/b/blobs/uploads/");
}

TEST(ProberRegistryUrl, RefusesBadBaseOrRepository) {
  EXPECT_FALSE(RegistryUploadsUrl("ftp://h", "a").ok());
  EXPECT_FALSE(RegistryUploadsUrl("http://user:pw@h", "a").ok());
  EXPECT_FALSE(RegistryUploadsUrl("http://h?x=1", "a").ok());
  EXPECT_FALSE(RegistryUploadsUrl("not a url", "a").ok());
  for (const char* bad : {"", "Upper", "a//b", "-a", "a-", "a/", "/a", "a..b", "a___b", "a b"}) {
    EXPECT_FALSE(IsValidRepositoryName(bad)) << bad;
  }
  for (const char* good : {"a", "a/b", "a.b", "a_b", "a__b", "a---b", "lab/probe-1"}) {
    EXPECT_TRUE(IsValidRepositoryName(good)) << good;
  }
}

TEST(ProberRegistryUrl, ResolvesLocationOnTheSameHostOnly) {
  const std::string request = "http://127.0.0.1:5000/v2/p/blobs/uploads/";
  EXPECT_EQ(ResolveLocation(request, "/v2/p/blobs/uploads/u-1?_state=x").value(),
            "http://127.0.0.1:5000/v2/p/blobs/uploads/u-1?_state=x");
  EXPECT_EQ(ResolveLocation(request, "http://127.0.0.1:5000/v2/p/blobs/uploads/u-2").value(),
            "http://127.0.0.1:5000/v2/p/blobs/uploads/u-2");
  EXPECT_FALSE(ResolveLocation(request, "").ok());
  EXPECT_FALSE(ResolveLocation(request, "http://evil.example/v2/p/blobs/uploads/u").ok());
  EXPECT_FALSE(ResolveLocation(request, "http://127.0.0.1:5001/v2/p").ok());
  EXPECT_FALSE(ResolveLocation(request, "https://127.0.0.1:5000/v2/p").ok());
}

TEST(ProberS3, CanonicalQuerySortedAndEncoded) {
  EXPECT_EQ(CanonicalQuery({{"uploads", ""}, {"prefix", "registry-rca-probe/lab/"}}),
            "prefix=registry-rca-probe%2Flab%2F&uploads=");
  EXPECT_EQ(CanonicalQuery({{"uploadId", "2~Up+ok/="}}), "uploadId=2~Up%2Bok%2F%3D");
  EXPECT_EQ(CanonicalQuery({}), "");
}

TEST(ProberS3, PathAndVirtualHostUrls) {
  S3Target path{"http://127.0.0.1:7480", "registry", false};
  EXPECT_EQ(S3Url(path, "registry-rca-probe/lab/1-ab", "uploads="),
            "http://127.0.0.1:7480/registry/registry-rca-probe/lab/1-ab?uploads=");
  EXPECT_EQ(S3Url(path, "", "prefix=p&uploads="),
            "http://127.0.0.1:7480/registry?prefix=p&uploads=");
  S3Target host{"https://s3.eu-west-1.amazonaws.com", "registry", true};
  EXPECT_EQ(S3Url(host, "a b/c", ""), "https://registry.s3.eu-west-1.amazonaws.com/a%20b/c");
  EXPECT_EQ(S3Url(host, "", "uploads="), "https://registry.s3.eu-west-1.amazonaws.com/?uploads=");
}

TEST(ProberS3, ChecksTarget) {
  EXPECT_TRUE(CheckS3Target({"http://127.0.0.1:7480", "lab-bucket", false}).ok());
  EXPECT_FALSE(CheckS3Target({"127.0.0.1:7480", "lab-bucket", false}).ok());
  EXPECT_FALSE(CheckS3Target({"http://h/path", "lab-bucket", false}).ok());
  EXPECT_FALSE(CheckS3Target({"http://k:s@h", "lab-bucket", false}).ok());
  EXPECT_FALSE(CheckS3Target({"http://h", "Bad_Bucket", false}).ok());
  EXPECT_FALSE(CheckS3Target({"http://h", "ab", false}).ok());
  EXPECT_FALSE(CheckS3Target({"https://h", "a.b.c", true}).ok());
  EXPECT_TRUE(CheckS3Target({"https://h", "a.b.c", false}).ok());
}

TEST(ProberS3, ReadsCreateAndListAnswers) {
  EXPECT_EQ(
      ParseCreateUploadId(
          R"(<?xml version="1.0"?><InitiateMultipartUploadResult><Bucket>b</Bucket>)"
          R"(<Key>k</Key><UploadId>2~UpokW6z&amp;K</UploadId></InitiateMultipartUploadResult>)"),
      "2~UpokW6z&K");
  EXPECT_EQ(ParseCreateUploadId("<Error><Code>AccessDenied</Code></Error>"), "");
  const auto listed = ParseListedUploads(
      R"(<ListMultipartUploadsResult><Bucket>b</Bucket><Prefix>p/</Prefix>)"
      R"(<Upload><Key>p/a&lt;1</Key><UploadId>id-1</UploadId><Initiated>x</Initiated></Upload>)"
      R"(<Upload><Key>p/b</Key><UploadId>id-2</UploadId></Upload>)"
      R"(<Upload><Key>p/c</Key></Upload></ListMultipartUploadsResult>)");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].key, "p/a<1");
  EXPECT_EQ(listed[0].upload_id, "id-1");
  EXPECT_EQ(listed[1].upload_id, "id-2");
  EXPECT_TRUE(ParseListedUploads("<ListMultipartUploadsResult/>").empty());
}

TEST(ProberCredentials, AwsSharedCredentials) {
  auto plain = ParseAwsCredentials("aws_access_key_id = AK\naws_secret_access_key=SK \n");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain.value().user, "AK");
  EXPECT_EQ(plain.value().password, "SK");
  auto profiles = ParseAwsCredentials(
      "[other]\naws_access_key_id = X\naws_secret_access_key = Y\n[default]\n"
      "aws_access_key_id = AK\r\naws_secret_access_key = SK\r\n");
  ASSERT_TRUE(profiles.ok());
  EXPECT_EQ(profiles.value().user, "AK");
  EXPECT_FALSE(ParseAwsCredentials("[other]\naws_access_key_id=X\naws_secret_access_key=Y\n").ok());
  EXPECT_FALSE(ParseAwsCredentials("aws_access_key_id = AK\n").ok());
}

TEST(ProberOutcome, RegistryChecks) {
  EXPECT_EQ(ClassifyRegistryCheck(204), Check::kVisible);
  EXPECT_EQ(ClassifyRegistryCheck(404), Check::kNotYet);  // BLOB_UPLOAD_UNKNOWN
  EXPECT_EQ(ClassifyRegistryCheck(500), Check::kNotYet);  // s3aws: Path not found
  EXPECT_EQ(ClassifyRegistryCheck(503), Check::kNotYet);
  EXPECT_EQ(ClassifyRegistryCheck(401), Check::kAuth);
  EXPECT_EQ(ClassifyRegistryCheck(403), Check::kAuth);
  EXPECT_EQ(ClassifyRegistryCheck(200), Check::kUnexpected);
  EXPECT_EQ(ClassifyRegistryCheck(400), Check::kUnexpected);
}

TEST(ProberOutcome, StoreChecks) {
  EXPECT_EQ(ClassifyStoreCheck(200, true), Check::kVisible);
  EXPECT_EQ(ClassifyStoreCheck(200, false), Check::kNotYet);
  EXPECT_EQ(ClassifyStoreCheck(503, false), Check::kNotYet);  // SlowDown
  EXPECT_EQ(ClassifyStoreCheck(403, false), Check::kAuth);
  EXPECT_EQ(ClassifyStoreCheck(404, false), Check::kUnexpected);  // NoSuchBucket
}

TEST(ProberOutcome, NoAnswerReasons) {
  EXPECT_EQ(NoAnswerReason("stopped"), FailReason::kStopped);
  EXPECT_EQ(NoAnswerReason("answer"), FailReason::kAnswer);
  for (const char* network : {"resolve", "connect", "timeout", "tls", "send", "curl"}) {
    EXPECT_EQ(NoAnswerReason(network), FailReason::kNetwork) << network;
  }
}

TEST(ProberOutcome, ReasonNamesAreTheLabelSet) {
  std::set<std::string> names;
  for (const FailReason reason : kFailReasons) names.insert(std::string(FailReasonName(reason)));
  EXPECT_EQ(names, (std::set<std::string>{"config", "auth", "create", "not_visible", "status",
                                          "answer", "network", "cleanup", "stopped"}));
}

TEST(ProberOutcome, VisibilityFromChecks) {
  ProbeResult first;
  SetVisibility(nullptr, CheckTimes{0.010, 0.030}, &first);
  EXPECT_TRUE(first.measured);
  EXPECT_DOUBLE_EQ(first.visibility_seconds, 0.030);
  EXPECT_DOUBLE_EQ(first.visible_after_seconds, 0.0);
  EXPECT_DOUBLE_EQ(first.visible_by_seconds, 0.030);

  ProbeResult later;
  const CheckTimes not_yet{1.40, 1.48};
  SetVisibility(&not_yet, CheckTimes{1.50, 1.60}, &later);
  EXPECT_DOUBLE_EQ(later.visible_after_seconds, 1.40);
  EXPECT_DOUBLE_EQ(later.visible_by_seconds, 1.60);
  EXPECT_DOUBLE_EQ(later.visibility_seconds, 1.495);  // halfway between the checks' middles
  EXPECT_GT(later.visibility_seconds, later.visible_after_seconds);
  EXPECT_LE(later.visibility_seconds, later.visible_by_seconds);
  EXPECT_TRUE(later.ok());
}

TEST(ProberOutcome, UserAgentAndKeyPrefix) {
  EXPECT_TRUE(ProbeUserAgent().starts_with("registry-rca-probe/"));
  EXPECT_GT(ProbeUserAgent().size(), kProbeUserAgentPrefix.size());
  ProbeConfig config;
  config.kind = ProbeConfig::Kind::kStore;
  config.name = "ceph-a";
  EXPECT_EQ(StoreProbeKeyPrefix(config), "registry-rca-probe/ceph-a/");
}

}  // namespace
}  // namespace rrca::prober
