#include "common/status.h"

#include <gtest/gtest.h>

#include <string>

namespace rrca {
namespace {

TEST(StatusTest, OkHasNoMessageAndSaysOk) {
  const Status ok = Status::Ok();
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.code(), StatusCode::kOk);
  EXPECT_EQ(ok.message(), "");
  EXPECT_EQ(ok.ToString(), "ok");
  EXPECT_TRUE(Status().ok());
}

TEST(StatusTest, EachKindKeepsItsCodeAndMessage) {
  const struct {
    Status status;
    StatusCode code;
    const char* text;
  } cases[] = {
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument, "invalid argument: m"},
      {Status::NotFound("m"), StatusCode::kNotFound, "not found: m"},
      {Status::Corruption("m"), StatusCode::kCorruption, "corruption: m"},
      {Status::IoError("m"), StatusCode::kIoError, "I/O error: m"},
      {Status::Unavailable("m"), StatusCode::kUnavailable, "unavailable: m"},
      {Status::ResourceExhausted("m"), StatusCode::kResourceExhausted, "resource exhausted: m"},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(c.status.ok()) << c.text;
    EXPECT_EQ(c.status.code(), c.code) << c.text;
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(c.status.ToString(), c.text);
  }
  // An error without a message is still an error (the code says so, not the text).
  EXPECT_FALSE(Status::IoError("").ok());
}

TEST(StatusTest, PrefixAddsContextAndKeepsTheKind) {
  const Status inner = Status::Corruption("byte 3: not a number");
  const Status outer = inner.Prefixed("positions file /p: ");
  EXPECT_EQ(outer.code(), StatusCode::kCorruption);
  EXPECT_EQ(outer.message(), "positions file /p: byte 3: not a number");
  EXPECT_TRUE(Status::Ok().Prefixed("context: ").ok());
  EXPECT_EQ(Status::Ok().Prefixed("context: ").message(), "");
}

TEST(StatusTest, StatusOrCarriesTheValueOrTheStatus) {
  StatusOr<std::string> value = std::string("v");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value.value(), "v");
  EXPECT_TRUE(value.status().ok());
  StatusOr<std::string> failed = Status::NotFound("no such file");
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(failed.status().message(), "no such file");
}

}  // namespace
}  // namespace rrca
