#include "common/event.h"

namespace rrca {

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kTrace:
      return "trace";
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
    case Level::kFatal:
      return "fatal";
    case Level::kPanic:
      return "panic";
    case Level::kUnknown:
      break;
  }
  return "unknown";
}

std::string_view S3OpName(S3Op op) {
  switch (op) {
    case S3Op::kCreateMultipart:
      return "create_multipart";
    case S3Op::kListMultipart:
      return "list_multipart";
    case S3Op::kUploadPart:
      return "upload_part";
    case S3Op::kCompleteMultipart:
      return "complete_multipart";
    case S3Op::kAbortMultipart:
      return "abort_multipart";
    case S3Op::kListParts:
      return "list_parts";
    case S3Op::kPut:
      return "put";
    case S3Op::kGet:
      return "get";
    case S3Op::kHead:
      return "head";
    case S3Op::kDelete:
      return "delete";
    case S3Op::kCopy:
      return "copy";
    case S3Op::kList:
      return "list";
    case S3Op::kOther:
      break;
  }
  return "other";
}

}  // namespace rrca
