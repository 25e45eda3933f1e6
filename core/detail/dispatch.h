#pragma once
// Internal: calls a template lambda with the C++ type of a runtime dtype.

#include <cstdint>

#include "voxgrad/core/detail/checks.h"
#include "voxgrad/core/dtype.h"
#include "voxgrad/core/error.h"

namespace voxgrad::detail {

/// Calls `f.template operator()<T>()` with T = float or double; throws naming `op` for other dtypes.
template <typename F>
decltype(auto) dispatch_floating(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    default: break;
  }
  throw_not_floating(dtype, op);
}

/// Calls `f.template operator()<T>()` with T = float, double or int64_t.
template <typename F>
decltype(auto) dispatch_all(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    case DType::Int64: return f.template operator()<std::int64_t>();
  }
  throw Error(fmt::format("unknown dtype {}", static_cast<int>(dtype)));
}

}  // namespace voxgrad::detail
