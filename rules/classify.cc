#include <re2/re2.h>

#include <cmath>

#include "rules/rule_set.h"

namespace rrca::rules {
namespace {

// The text a pattern sees for a field. `status_buffer` holds the status digits.
std::string_view FieldText(const JoinedRequest& request, RequestField field,
                           char (&status_buffer)[8]) {
  switch (field) {
    case RequestField::kStatus: {
      if (request.status <= 0) return "unknown";
      const int n = std::snprintf(status_buffer, sizeof(status_buffer), "%d", request.status);
      return std::string_view(status_buffer, n > 0 ? static_cast<size_t>(n) : 0);
    }
    case RequestField::kOperation:
      return OperationName(request.operation);
    case RequestField::kMethod:
      return request.method;
    case RequestField::kRepository:
      return request.repository;
    case RequestField::kUri:
      return request.uri;
    case RequestField::kErrCode:
      return request.err_code;
    case RequestField::kErrMessage:
      return request.err_message;
    case RequestField::kErrDetail:
      return request.err_detail;
    case RequestField::kMsg:
      return request.msg;
    case RequestField::kMessages:
      return request.messages;
    case RequestField::kLevel:
      return LevelName(request.level);
    case RequestField::kHop:
      return HopName(request.hop);
    case RequestField::kSourceKind:
      // A hop in front of the registry is neither the registry's application nor access log.
      if (request.hop != Hop::kRegistry) return HopName(request.hop);
      // GitLab's registry writes its access record through the application logger ("msg":
      // "access"); alone, without error lines, it is the same evidence as an access-log line.
      return request.origin == JoinedRequest::Origin::kAccessLog ||
                     (request.msg == "access" && request.messages.empty())
                 ? "access"
                 : "app";
  }
  return {};
}

double NumericValue(const JoinedRequest& request, NumericField field) {
  switch (field) {
    case NumericField::kStatus:
      return request.status > 0 ? request.status : NAN;
    case NumericField::kUploadAgeSeconds:
      return request.upload_age_seconds;
    case NumericField::kUploadOffset:
      return request.upload_state.valid && request.upload_state.offset >= 0
                 ? static_cast<double>(request.upload_state.offset)
                 : NAN;
    case NumericField::kDurationSeconds:
      return request.duration_ns >= 0 ? static_cast<double>(request.duration_ns) / 1e9 : NAN;
  }
  return NAN;
}

bool Holds(double value, const NumericBound& bound) {
  if (std::isnan(value)) return false;  // an unknown value never satisfies a bound
  switch (bound.comparison) {
    case Comparison::kLt:
      return value < bound.value;
    case Comparison::kLe:
      return value <= bound.value;
    case Comparison::kGt:
      return value > bound.value;
    case Comparison::kGe:
      return value >= bound.value;
  }
  return false;
}

bool Matches(const JoinedRequest& request, const Rule& rule) {
  char status_buffer[8];
  for (const NumericBound& bound : rule.numeric) {
    if (!Holds(NumericValue(request, bound.field), bound)) return false;
  }
  for (const FieldPattern& pattern : rule.match) {
    if (!RE2::PartialMatch(FieldText(request, pattern.field, status_buffer), *pattern.pattern)) {
      return false;
    }
  }
  for (const FieldPattern& pattern : rule.not_match) {
    if (RE2::PartialMatch(FieldText(request, pattern.field, status_buffer), *pattern.pattern)) {
      return false;
    }
  }
  return true;
}

}  // namespace

Verdict RuleSet::Classify(const JoinedRequest& request) const {
  for (const Rule& rule : rules_) {
    if (Matches(request, rule)) return {&rule, rule.cause_id};
  }
  return {};
}

}  // namespace rrca::rules
