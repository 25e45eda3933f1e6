#pragma once
// Internal: tensor-level checks whose messages several callers share.

#include "voxgrad/core/dtype.h"

namespace voxgrad {
class Tensor;
}

namespace voxgrad::detail {

/// Throws "{op}: the tensor is undefined".
[[noreturn]] void throw_undefined(const char* op);

/// Throws "{op}: the tensor is undefined" if `t` is undefined.
void check_tensor_defined(const Tensor& t, const char* op);

/// Throws "{op}: expected a float32 or float64 {what}, but got {dtype}".
[[noreturn]] void throw_not_floating(DType dtype, const char* op, const char* what = "tensor");

/// Throws "{op}: expected a float32 or float64 tensor, but got {dtype}" unless `dtype` is floating-point.
void check_floating_dtype(DType dtype, const char* op);

}  // namespace voxgrad::detail
