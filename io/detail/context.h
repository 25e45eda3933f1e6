#pragma once
// Internal: how the file readers and writers in io/ (safetensors, NIfTI) name the operation and the
// file in every error.

#include <string>
#include <utility>

#include <fmt/format.h>

#include "voxgrad/core/error.h"

namespace voxgrad::io::detail {

// Names the operation and the file in every error: "load: 'ckpt.safetensors': ...".
struct Context {
  const char* op;
  const std::string& source;

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    throw Error(fmt::format("{}: '{}': {}", op, source, fmt::format(format, std::forward<Args>(args)...)));
  }
};

}  // namespace voxgrad::io::detail
