#pragma once

#include <nlohmann/json.hpp>
#include <string>

// Reading integers of the carried pipeline state (positions file `pipeline_state`) with nlohmann.
namespace rrca::pipeline {

// An integer of the restored state. nlohmann converts a float -- 1e300, or an integer too large
// for 64 bits, which it reads as a float -- to an integer type with a static_cast, undefined
// behaviour out of range: anything but an integer is refused (type_error, like a string where a
// number belongs). Regression: fuzz/regressions/carry_over/summary-key-over-64-bits-1091f8a0.
template <typename T>
T StateInteger(const nlohmann::json& value) {
  if (!value.is_number_integer()) {
    throw nlohmann::json::type_error::create(
        302, std::string("an integer is required, not ") + value.type_name(), &value);
  }
  return value.get<T>();
}

}  // namespace rrca::pipeline
