#pragma once
// Options of Linear and Flatten (nn/modules/linear.h) and F::flatten (nn/functional/activation.h).

#include <cstdint>

#include "voxgrad/nn/arg.h"

namespace voxgrad::nn {

/// Options for Linear, as torch::nn::LinearOptions: `LinearOptions(128, 10).bias(false)`.
struct LinearOptions {
  /// The two required sizes.
  LinearOptions(std::int64_t in_features, std::int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  /// Size of each input sample (the input's last dim).
  VOXGRAD_ARG(std::int64_t, in_features);
  /// Size of each output sample.
  VOXGRAD_ARG(std::int64_t, out_features);
  /// Whether to learn an additive bias.
  VOXGRAD_ARG(bool, bias) = true;
};

/// Options for Flatten, as torch::nn::FlattenOptions: `FlattenOptions().start_dim(2)`.
struct FlattenOptions {
  /// First dim to flatten.
  VOXGRAD_ARG(std::int64_t, start_dim) = 1;
  /// Last dim to flatten.
  VOXGRAD_ARG(std::int64_t, end_dim) = -1;
};

namespace functional {

/// Options for flatten: the dims start_dim..end_dim are merged.
struct FlattenFuncOptions {
  /// First dim to flatten.
  VOXGRAD_ARG(std::int64_t, start_dim) = 1;
  /// Last dim to flatten.
  VOXGRAD_ARG(std::int64_t, end_dim) = -1;
};

}  // namespace functional
}  // namespace voxgrad::nn
