// Registry URIs: the operation (closed set) and repository from method + RequestURI, and the
// `_state` token of upload URIs decoded without the registry's secret
// (tailers/parse/registry/registry_uri.h).
#include <gtest/gtest.h>

#include <string>

#include "common/request.h"
#include "common/time_util.h"
#include "tailers/parse/registry/registry_parse.h"
#include "tailers/parse/registry/registry_uri.h"

namespace rrca::tailers {
namespace {

// The seed's PATCH (Harbor, harbor#... incident): token exactly as logged, with %3D padding.
constexpr std::string_view kSeedToken =
    "YmUOEA6F6k5OZsTu9CyQfl5CRNqlVEvx7XKgf_BVqLl7Ik5hbWUiOiJnaXRsYWItY2kvMTAwMDE3NjgxIiwiVVVJRCI6"
    "IjlhYzNlYTQ0LWNiYjYtNGExYi04MDQ4LTZlNTk3NjdjNzM3MCIsIk9mZnNldCI6MCwiU3RhcnRlZEF0IjoiMjAyMi0w"
    "NC0wNlQwMzo0NjozNi4yNTQ4MzA2MzRaIn0%3D";
constexpr int64_t kSeedStartedAt = 1649216796'254830634;  // 2022-04-06T03:46:36.254830634Z

struct UriCase {
  std::string method;
  std::string uri;
  Operation operation;
  std::string repository;
};

void Expect(const UriCase& c) {
  SCOPED_TRACE(c.method + " " + c.uri);
  const UriInfo info = ParseRegistryUri(c.method, c.uri);
  EXPECT_EQ(OperationName(info.operation), OperationName(c.operation));
  EXPECT_EQ(info.repository, c.repository);
}

TEST(RegistryUriTest, EveryOperationOfTheClosedSet) {
  const std::string upload =
      "/v2/gitlab-ci/100017681/blobs/uploads/9ac3ea44-cbb6-4a1b-8048-"
      "6e59767c7370?_state=" +
      std::string(kSeedToken);
  const std::string digest =
      "sha256:80b30bef4c5168cdb0884ceb943aa284433543a99edb2c82acf00252a34cb860";
  const UriCase cases[] = {
      {"GET", "/v2/", Operation::kBase, ""},
      {"GET", "/v2", Operation::kBase, ""},
      {"HEAD", "/v2/?x=1", Operation::kBase, ""},
      {"GET", "/v2/_catalog", Operation::kCatalog, ""},
      {"GET", "/v2/_catalog?n=100&last=a", Operation::kCatalog, ""},
      {"GET", "/v2/library/nginx/tags/list", Operation::kTagsList, "library/nginx"},
      {"GET", "/v2/library/nginx/tags/list?n=10", Operation::kTagsList, "library/nginx"},
      {"DELETE", "/v2/library/nginx/tags/list", Operation::kOther, "library/nginx"},
      {"GET", "/v2/a/b/manifests/latest", Operation::kManifestGet, "a/b"},
      {"HEAD", "/v2/a/b/manifests/" + digest, Operation::kManifestHead, "a/b"},
      {"PUT", "/v2/a/b/manifests/11-17-2022_141617_1", Operation::kManifestPut, "a/b"},
      {"DELETE", "/v2/a/b/manifests/" + digest, Operation::kManifestDelete, "a/b"},
      {"POST", "/v2/a/b/manifests/latest", Operation::kOther, "a/b"},
      {"GET", "/v2/lab/s3/blobs/" + digest, Operation::kBlobGet, "lab/s3"},
      {"HEAD", "/v2/lab/s3/blobs/" + digest, Operation::kBlobHead, "lab/s3"},
      {"DELETE", "/v2/lab/s3/blobs/" + digest, Operation::kBlobDelete, "lab/s3"},
      {"PUT", "/v2/lab/s3/blobs/" + digest, Operation::kOther, "lab/s3"},
      {"POST", "/v2/lab/s3/blobs/uploads/", Operation::kBlobUploadStart, "lab/s3"},
      {"POST", "/v2/lab/s3/blobs/uploads/?mount=" + digest + "&from=x/y",
       Operation::kBlobUploadStart, "lab/s3"},
      {"POST", "/v2/lab/s3/blobs/uploads", Operation::kBlobUploadStart, "lab/s3"},
      {"PATCH", upload, Operation::kBlobUploadChunk, "gitlab-ci/100017681"},
      {"PUT", upload + "&digest=sha256%3A80b30bef", Operation::kBlobUploadComplete,
       "gitlab-ci/100017681"},
      {"PUT", "/v2/x/blobs/uploads/u?digest=sha256%3Aab&_state=" + std::string(kSeedToken),
       Operation::kBlobUploadComplete, "x"},
      {"GET", upload, Operation::kBlobUploadStatus, "gitlab-ci/100017681"},
      {"HEAD", upload, Operation::kBlobUploadStatus, "gitlab-ci/100017681"},
      {"DELETE", upload, Operation::kBlobUploadCancel, "gitlab-ci/100017681"},
      {"OPTIONS", upload, Operation::kOther, "gitlab-ci/100017681"},
      // Not the registry API at all.
      {"GET", "/", Operation::kOther, ""},
      {"GET", "/v1/_ping", Operation::kOther, ""},
      {"GET", "/v2/a/b", Operation::kOther, ""},
      {"GET", "/v2/a/b/unknown/x", Operation::kOther, ""},
      {"GET", "/v2/a/manifests/", Operation::kOther, ""},
      {"GET", "", Operation::kOther, ""},
  };
  for (const UriCase& c : cases) Expect(c);
}

// Repository names may contain components that look like routes; only the route after the
// repository decides (the reference, digest and UUID never contain '/').
TEST(RegistryUriTest, RepositoriesWithRouteLikeComponents) {
  const std::string d = "sha256:ab12";
  const UriCase cases[] = {
      {"GET", "/v2/a/manifests/b/blobs/" + d, Operation::kBlobGet, "a/manifests/b"},
      {"HEAD", "/v2/a/blobs/b/manifests/latest", Operation::kManifestHead, "a/blobs/b"},
      {"GET", "/v2/a/blobs/b/blobs/" + d, Operation::kBlobGet, "a/blobs/b"},
      {"PUT", "/v2/a/blobs/uploads/b/manifests/v1", Operation::kManifestPut, "a/blobs/uploads/b"},
      {"PATCH", "/v2/a/blobs/uploads/b/blobs/uploads/u?_state=x", Operation::kBlobUploadChunk,
       "a/blobs/uploads/b"},
      {"GET", "/v2/a/manifests/b/tags/list", Operation::kTagsList, "a/manifests/b"},
      {"GET", "/v2/blobs/blobs/" + d, Operation::kBlobGet, "blobs"},
      {"GET", "/v2/manifests/manifests/latest", Operation::kManifestGet, "manifests"},
      {"POST", "/v2/uploads/blobs/uploads/", Operation::kBlobUploadStart, "uploads"},
      {"GET", "/v2/x/blobs/uploads-cache/blobs/" + d, Operation::kBlobGet, "x/blobs/uploads-cache"},
      {"DELETE", "/v2/a/manifests/b/manifests/" + d, Operation::kManifestDelete, "a/manifests/b"},
  };
  for (const UriCase& c : cases) Expect(c);
}

TEST(RegistryUriTest, OperationNames) {
  const char* names[] = {"base",
                         "catalog",
                         "tags_list",
                         "manifest_get",
                         "manifest_head",
                         "manifest_put",
                         "manifest_delete",
                         "blob_get",
                         "blob_head",
                         "blob_delete",
                         "blob_upload_start",
                         "blob_upload_chunk",
                         "blob_upload_complete",
                         "blob_upload_status",
                         "blob_upload_cancel",
                         "other"};
  for (size_t i = 0; i < static_cast<size_t>(Operation::kCount); ++i) {
    EXPECT_EQ(OperationName(static_cast<Operation>(i)), names[i]);
  }
}

// ---------------------------------------------------------------------------------------------
// _state

void ExpectSeedState(const std::string& uri) {
  SCOPED_TRACE(uri);
  std::string scratch;
  const UploadState state = DecodeUploadState(uri, &scratch);
  ASSERT_TRUE(state.valid);
  EXPECT_EQ(state.name, "gitlab-ci/100017681");
  EXPECT_EQ(state.uuid, "9ac3ea44-cbb6-4a1b-8048-6e59767c7370");
  EXPECT_EQ(state.offset, 0);
  EXPECT_EQ(state.started_at_ns, kSeedStartedAt);
}

TEST(UploadStateTest, SeedTokenInEveryPaddingForm) {
  const std::string base = "/v2/gitlab-ci/100017681/blobs/uploads/9ac3ea44?_state=";
  const std::string token(kSeedToken);
  const std::string bare = token.substr(0, token.size() - 3);  // without "%3D"
  ExpectSeedState(base + token);                               // %3D padding, as logged
  ExpectSeedState(base + bare);                                // padding missing
  ExpectSeedState(base + bare + "=");                          // plain padding
  ExpectSeedState(base + bare + "%3d");                        // lower-case hex
  ExpectSeedState(base + token + "&digest=sha256%3A80b30bef4c5168cdb0884ceb943aa28");
  ExpectSeedState(base + bare + "&digest=");
  ExpectSeedState("/v2/x/blobs/uploads/u?digest=sha256%3Aab&_state=" + token);
}

TEST(UploadStateTest, RealTokensWithOffsetsAndDoublePadding) {
  std::string scratch;
  // harbor#15801 (real-error-lines #5): "%3D%3D&digest=", a large offset, a seconds-only time.
  const UploadState harbor = DecodeUploadState(
      "/v2/x/blobs/uploads/65121ba0?_state=ab_kYi7Nf0p6Ow1luYQYLoJELHmqTC3HL2MQcEYMjnt7Ik5hbWUiOiJk"
      "aWRpYnVpbGQvcGVyZm9ybWFuY2UtaG5hLW9zaW0xNDAuemp5LWRldi1vc2ltMTQwLXYucGVyZm9ybWFuY2UuZ3MuYml6"
      "Lm9zaW0uZGlkaS5jb20uY2VudG9zNzIiLCJVVUlEIjoiNjUxMjFiYTAtYzQyYS00NjkwLWIyZTEtOWQzMGVjNjQxMWEx"
      "IiwiT2Zmc2V0IjozNTcwNjk2MywiU3RhcnRlZEF0IjoiMjAyMS0xMC0xNVQwODo1MjozN1oifQ%3D%3D&digest="
      "sha25"
      "6%3A3f160654073f75cb",
      &scratch);
  ASSERT_TRUE(harbor.valid);
  EXPECT_EQ(harbor.name,
            "didibuild/performance-hna-osim140.zjy-dev-osim140-v.performance.gs.biz.osim.didi.com."
            "centos72");
  EXPECT_EQ(harbor.uuid, "65121ba0-c42a-4690-b2e1-9d30ec6411a1");
  EXPECT_EQ(harbor.offset, 35706963);
  EXPECT_EQ(harbor.started_at_ns, 1634287957'000000000);
  // The lab's PUT (registry 2.8.2).
  const UploadState lab = DecodeUploadState(
      "/v2/lab/s3-backend-down/blobs/uploads/016bcc87-4f28-4dc3-bd89-85262ae7e25a?_state=UonGH_fo2"
      "VRGZLn5ohjK3vFkP72xvX0HwVOb-JP0igd7Ik5hbWUiOiJsYWIvczMtYmFja2VuZC1kb3duIiwiVVVJRCI6IjAxNmJj"
      "Yzg3LTRmMjgtNGRjMy1iZDg5LTg1MjYyYWU3ZTI1YSIsIk9mZnNldCI6MTI1ODY5NDIsIlN0YXJ0ZWRBdCI6IjIwMjYt"
      "MTEtMjlUMTI6NDI6MjdaIn0%3D&digest=sha256%3A80b30bef",
      &scratch);
  ASSERT_TRUE(lab.valid);
  EXPECT_EQ(lab.name, "lab/s3-backend-down");
  EXPECT_EQ(lab.offset, 12586942);
  EXPECT_EQ(lab.started_at_ns, 1795956147'000000000);
}

TEST(UploadStateTest, GarbageIsInvalidNeverACrash) {
  const std::string token(kSeedToken);
  for (const std::string& uri : {
           std::string("/v2/x/blobs/uploads/u"),                     // no _state
           std::string("/v2/x/blobs/uploads/u?_state="),             // empty
           std::string("/v2/x/blobs/uploads/u?_state=!!!!"),         // not base64
           std::string("/v2/x/blobs/uploads/u?_state=%ZZ") + token,  // bad percent escape
           std::string("/v2/x/blobs/uploads/u?_state=%"),            // cut escape
           std::string("/v2/x/blobs/uploads/u?_state=") + token.substr(0, 40),   // HMAC only
           std::string("/v2/x/blobs/uploads/u?_state=") + token.substr(0, 120),  // JSON cut
           std::string("/v2/x?_state=") + std::string(5000, 'A'),                // zeros, no JSON
           // Valid base64 of 32 bytes + JSON without StartedAt.
           std::string("/v2/x?_state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB7Ik5hbWUiOiJhIn0"),
       }) {
    SCOPED_TRACE(uri.substr(0, 80));
    std::string scratch = "leftover";
    const UploadState state = DecodeUploadState(uri, &scratch);
    EXPECT_FALSE(state.valid);
    EXPECT_EQ(state.started_at_ns, 0);
  }
}

TEST(UploadStateTest, UrlSafeAlphabetAndOffsetsThatAreNotCounts) {
  // HMAC of 0xff bytes (all '_'), JSON with a negative Offset: kept as unknown (-1).
  std::string scratch;
  const UploadState state = DecodeUploadState(
      "/v2/a/blobs/uploads/u?_state=__________________________________________97Ik5hbWUiOiJhIi"
      "wiVVVJRCI6InUiLCJPZmZzZXQiOi01LCJTdGFydGVkQXQiOiIyMDIyLTA0LTA2VDAzOjQ2OjM2WiJ9",
      &scratch);
  ASSERT_TRUE(state.valid);
  EXPECT_EQ(state.name, "a");
  EXPECT_EQ(state.uuid, "u");
  EXPECT_EQ(state.offset, -1);
  EXPECT_EQ(state.started_at_ns, 1649216796'000000000);
}

// The chain the issue's acceptance test relies on: the seed's summary line parsed, its URI's
// _state decoded, and the upload's age when the PATCH arrived: time - duration - StartedAt.
TEST(UploadStateTest, SeedUploadAgeIs2Point29Seconds) {
  const std::string line =
      R"(time="2022-04-06T03:46:40.800755496Z" level=error msg="response completed with error" )"
      R"(err.code=unknown http.request.method=PATCH http.request.uri="/v2/gitlab-ci/100017681/)"
      R"(blobs/uploads/9ac3ea44-cbb6-4a1b-8048-6e59767c7370?_state=)" +
      std::string(kSeedToken) + R"(" http.response.duration=2.255332326s http.response.status=500)";
  std::string scratch;
  RegistryEvent event;
  bool interesting = false;
  ASSERT_EQ(ParseLogrusText(line, false, &scratch, &event, &interesting), ParseStatus::kOk);
  const UriInfo info = ParseRegistryUri(event.method, event.uri);
  EXPECT_EQ(info.operation, Operation::kBlobUploadChunk);
  EXPECT_EQ(info.repository, "gitlab-ci/100017681");
  std::string state_scratch;
  const UploadState state = DecodeUploadState(event.uri, &state_scratch);
  ASSERT_TRUE(state.valid);
  const int64_t age_ns = event.time_ns - event.duration_ns - state.started_at_ns;
  EXPECT_EQ(age_ns, 2'290592536);
}

}  // namespace
}  // namespace rrca::tailers
