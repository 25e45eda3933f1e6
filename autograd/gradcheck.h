#pragma once

#include <functional>
#include <vector>

#include "voxgrad/core/tensor.h"

namespace voxgrad::autograd {

/// Tolerances for gradcheck: an element passes when |analytical - numerical| <= atol + rtol * |numerical|.
struct GradcheckOptions {
  double eps = 1e-6;            ///< Finite-difference step.
  double atol = 1e-5;           ///< Absolute tolerance.
  double rtol = 1e-3;           ///< Relative tolerance.
  bool raise_exception = true;  ///< Throw voxgrad::Error with the details instead of returning false.
};

/// A function under test: inputs to outputs.
using MultiOutputFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;
/// A function under test with a single output.
using SingleOutputFn = std::function<Tensor(const std::vector<Tensor>&)>;

/// Compares every element of the analytical Jacobian (from backward) with central differences, for
/// each input that requires grad and each output. Inputs must be float64. On failure it names the
/// input, output, element and both values (thrown as voxgrad::Error unless raise_exception is false).
bool gradcheck(const MultiOutputFn& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});
/// gradcheck for a single-output function.
bool gradcheck(const SingleOutputFn& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

/// Checks second derivatives: runs gradcheck on the map (inputs, grad_outputs) -> input gradients
/// computed with create_graph=true. grad_outputs are random (fixed seed) unless given.
bool gradgradcheck(const MultiOutputFn& fn, const std::vector<Tensor>& inputs,
                   const std::vector<Tensor>& grad_outputs = {}, const GradcheckOptions& options = {});
/// gradgradcheck for a single-output function.
bool gradgradcheck(const SingleOutputFn& fn, const std::vector<Tensor>& inputs,
                   const std::vector<Tensor>& grad_outputs = {}, const GradcheckOptions& options = {});

}  // namespace voxgrad::autograd
