#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace voxgrad {

/// The one exception type voxgrad throws for bad input or misuse; the message names op and values.
class Error : public std::runtime_error {
 public:
  /// Creates an error with a complete, user-facing message.
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace voxgrad

/// Throws voxgrad::Error with an fmt-formatted message unless `cond` holds.
#define VOXGRAD_CHECK(cond, ...)                          \
  do {                                                    \
    if (!(cond)) [[unlikely]] {                           \
      throw ::voxgrad::Error(::fmt::format(__VA_ARGS__)); \
    }                                                     \
  } while (false)
