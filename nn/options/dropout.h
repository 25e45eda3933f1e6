#pragma once
// Options of Dropout / Dropout3d (nn/modules/dropout.h) and F::dropout / F::dropout3d
// (nn/functional/activation.h).

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

/// Options for Dropout3d, as torch::nn::Dropout3dOptions: `Dropout3dOptions(0.2)`.
using Dropout3dOptions = DropoutOptions;

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

/// Options for dropout3d, as torch::nn::functional::Dropout3dFuncOptions.
using Dropout3dFuncOptions = DropoutFuncOptions;

}  // namespace functional
}  // namespace voxgrad::nn
