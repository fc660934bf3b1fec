// prober/probe.h: Fail keeps a run's first failure, CheckCleanup turns a failed cleanup (the
// DELETE of the probe upload, AbortMultipartUpload) into the detail the `probe` command and the
// log show.
#include <gtest/gtest.h>

#include "prober/probe.h"

namespace rrca::prober {
namespace {

HttpAnswer Answered(int status) {
  HttpAnswer answer;
  answer.status = status;
  return answer;
}

TEST(ProbeCleanupTest, FailKeepsTheFirstFailure) {
  ProbeResult result;
  Fail(&result, FailReason::kAuth, "create answered 401");
  Fail(&result, FailReason::kStatus, "later");
  EXPECT_EQ(result.reason, FailReason::kAuth);
  EXPECT_EQ(result.detail, "create answered 401");
}

TEST(ProbeCleanupTest, A204IsNoFailure) {
  ProbeResult result;
  CheckCleanup(Answered(204), "DELETE of the probe upload", &result);
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.detail, "");
}

TEST(ProbeCleanupTest, AFailedCleanupFailsAGoodRun) {
  ProbeResult result;
  CheckCleanup(Answered(500), "DELETE of the probe upload", &result);
  EXPECT_EQ(result.reason, FailReason::kCleanup);
  EXPECT_EQ(result.detail, "DELETE of the probe upload answered 500");

  ProbeResult no_answer;
  HttpAnswer timeout;
  timeout.reason = "timeout";
  timeout.error = "timeout: Operation timed out";
  CheckCleanup(timeout, "AbortMultipartUpload", &no_answer);
  EXPECT_EQ(no_answer.reason, FailReason::kCleanup);
  EXPECT_EQ(no_answer.detail, "AbortMultipartUpload timeout: Operation timed out");
}

TEST(ProbeCleanupTest, AFailedCleanupIsNotedAfterAnEarlierFailure) {
  ProbeResult result;
  Fail(&result, FailReason::kNotVisible, "not visible 5.000 s after the create was sent");
  CheckCleanup(Answered(503), "AbortMultipartUpload", &result);
  EXPECT_EQ(result.reason, FailReason::kNotVisible);
  EXPECT_EQ(result.detail,
            "not visible 5.000 s after the create was sent; AbortMultipartUpload answered 503");
}

}  // namespace
}  // namespace rrca::prober
