#pragma once
// Internal: how Python prints option values in a module's repr.

#include <string>

#include <fmt/format.h>

namespace voxgrad::nn::detail {

/// A double as Python's repr prints it: the shortest round-trip text, with ".0" on integral values
/// ("0.01", "1.0", "1e-05", "inf").
inline std::string py_float(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eni") == std::string::npos) s += ".0";
  return s;
}

/// "True" or "False".
inline const char* py_bool(bool v) { return v ? "True" : "False"; }

}  // namespace voxgrad::nn::detail
