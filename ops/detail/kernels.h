#pragma once
// Internal: non-differentiable building blocks shared by several ops.

#include <string_view>
#include <utility>

#include "voxgrad/core/tensor.h"

namespace voxgrad::detail {

/// Copies `src` (broadcast to dst's shape, converted to dst's dtype) into `dst`; no autograd, no
/// version bump. `op` names the caller in errors.
void copy_into(const Tensor& dst, const Tensor& src, const char* op);

/// A new TensorImpl over the same storage with other sizes/strides/offset (no autograd metadata).
Tensor alias(const Tensor& t, Shape sizes, Shape strides, std::int64_t offset);

/// Throws naming `op` if `t` is undefined.
void check_defined(const Tensor& t, const char* op, const char* arg = "self");

/// Throws "{op}: expected a float32 or float64 input, but got {dtype}" unless `t` is floating-point.
void check_floating(const Tensor& t, const char* op);

/// Throws "{op}: {what} must be non-negative, but got {value}" (PyTorch's wording for an op's argument)
/// if value < 0.
void check_non_negative_arg(std::int64_t value, const char* op, const char* what);

/// Throws "{op}: approximate must be 'none' or 'tanh', but got '{approximate}'" for other values.
void check_gelu_approximate(std::string_view approximate, const char* op);

/// Both (defined, floating) operands converted to result_type(a, b), differentiably.
std::pair<Tensor, Tensor> promote(const Tensor& a, const Tensor& b, const char* op);

}  // namespace voxgrad::detail

namespace voxgrad::detail {

/// The in-place updates Tensor offers.
enum class InplaceOp { Add, Mul, Div, Copy, Fill, Relu, LeakyRelu, Elu };

/// self op= alpha * other (Add), self *= other, self /= other, self = other (Copy). Validates that
/// self has no overlapping elements and that other broadcasts to self; bumps self's version. No
/// autograd: the callers record it (autograd/inplace.h).
void inplace_binary(Tensor& self, const Tensor& other, InplaceOp op, double alpha, const char* name);

/// self.copy_(src) with errors naming `name` (ops whose in-place form is a copy of an out-of-place
/// result: index_put_, masked_fill_, scatter_add_); recorded by autograd as copy_.
Tensor& recorded_copy(Tensor& self, const Tensor& src, const char* name);

/// self += value, self *= value, self /= value, self = value (Fill), relu (Relu), leaky relu with
/// slope value (LeakyRelu), elu with alpha value (Elu); same checks as inplace_binary.
void inplace_scalar(Tensor& self, InplaceOp op, double value, const char* name);

}  // namespace voxgrad::detail
