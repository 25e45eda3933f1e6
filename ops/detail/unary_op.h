#pragma once
// Internal: a differentiable element-wise unary op from its scalar function and its derivative, for the
// math ops (elementwise_math.cpp, trigonometric.cpp).

#include <vector>

#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/checks.h"
#include "voxgrad/ops/detail/elementwise_kernels.h"

namespace voxgrad::detail {

/// out[i] = op(a[i]), recorded as `node` with the gradient deriv(grad, saved): saved is a (from_output
/// false) or out (from_output true). deriv is built from differentiable ops, so that the op differentiates
/// again; the formulas are PyTorch's (derivatives.yaml), in the same order where the ops allow it.
template <typename Op, typename Deriv>
Tensor differentiable_unary(const Tensor& a, const char* name, const char* node, bool from_output, Op op, Deriv deriv) {
  check_defined(a, name);
  Tensor out = unary_kernel(a, name, op);
  autograd::record(
      node, a, out, {from_output ? autograd::save_output_for_backward(out) : autograd::save_for_backward(a)},
      [deriv](const autograd::BackwardCtx& c) { return std::vector<Tensor>{deriv(c.grad(), c.saved[0])}; });
  return out;
}

}  // namespace voxgrad::detail
