#include "exporter/app/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/json_escape.h"

namespace rrca::app {
namespace {

// %* : the message escaped as the inside of a JSON string.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& message, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string escaped;
    AppendJsonEscaped(std::string_view(message.payload.data(), message.payload.size()), &escaped);
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// %# : the message as a logfmt quoted value (quotes and backslashes escaped, newlines as \n).
class LogfmtMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& message, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (char c : std::string_view(message.payload.data(), message.payload.size())) {
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (c == '\n') {
        dest.append(std::string_view("\\n"));
      } else if (static_cast<unsigned char>(c) < 0x20) {
        dest.push_back(' ');
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LogfmtMessageFlag>();
  }
};

}  // namespace

bool SetUpLogging(const std::string& format, const std::string& level, std::string* error) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == "json") {
    formatter->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%*"})");
  } else if (format == "logfmt") {
    formatter->add_flag<LogfmtMessageFlag>('#').set_pattern(
        R"(ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l msg="%#")");
  } else {
    *error = "--log.format must be logfmt or json";
    return false;
  }
  const spdlog::level::level_enum parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    *error = "--log.level must be debug, info, warn or error";
    return false;
  }
  auto logger = spdlog::get("registry-rca");
  if (logger == nullptr) logger = spdlog::stderr_logger_mt("registry-rca");
  logger->set_formatter(std::move(formatter));
  logger->set_level(parsed);
  spdlog::set_default_logger(logger);
  return true;
}

}  // namespace rrca::app
