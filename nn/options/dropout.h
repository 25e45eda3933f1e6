#pragma once
// Options of Dropout (nn/modules/dropout.h) and F::dropout (nn/functional/activation.h).

#include "voxgrad/nn/arg.h"

namespace voxgrad::nn {

/// Options for Dropout, as torch::nn::DropoutOptions: `DropoutOptions(0.2)` or `DropoutOptions().p(0.2)`.
struct DropoutOptions {
  /// Probability of zeroing an element (default 0.5).
  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT: implicit, as libtorch's
  /// Probability of zeroing an element, in [0, 1].
  VOXGRAD_ARG(double, p);
  /// Overwrite the input in training mode (recorded by autograd).
  VOXGRAD_ARG(bool, inplace) = false;
};

namespace functional {

/// Options for dropout, as torch::nn::functional::DropoutFuncOptions: `F::DropoutFuncOptions().p(0.2)`.
struct DropoutFuncOptions {
  /// Probability of zeroing an element, in [0, 1].
  VOXGRAD_ARG(double, p) = 0.5;
  /// Applies dropout when true; returns the input unchanged when false.
  VOXGRAD_ARG(bool, training) = true;
  /// Overwrite (and return) the input.
  VOXGRAD_ARG(bool, inplace) = false;
};

}  // namespace functional
}  // namespace voxgrad::nn
