#pragma once

#include <string>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/options/activation.h"

namespace voxgrad::nn {

/// max(x, 0) elementwise, as torch::nn::ReLU.
class ReLU : public Cloneable<ReLU> {
 public:
  /// Builds the layer: `ReLU()` or `ReLU(ReLUOptions().inplace(true))` (overwrites its input).
  explicit ReLU(const ReLUOptions& options = {}) : options_(options) {}
  /// relu(input), in place if asked.
  Tensor forward(const Tensor& input) override;
  /// "inplace=True" when in place, else nothing (as PyTorch).
  std::string extra_repr() const override;
  const ReLUOptions& options() const { return options_; }

 private:
  ReLUOptions options_;
};

/// x where x > 0, else negative_slope·x, as torch::nn::LeakyReLU.
class LeakyReLU : public Cloneable<LeakyReLU> {
 public:
  /// Builds the layer: `LeakyReLU()` or `LeakyReLU(LeakyReLUOptions().negative_slope(0.2))`.
  explicit LeakyReLU(const LeakyReLUOptions& options = {}) : options_(options) {}
  /// leaky_relu(input, negative_slope).
  Tensor forward(const Tensor& input) override;
  /// "negative_slope=0.01" (", inplace=True" when in place).
  std::string extra_repr() const override;
  const LeakyReLUOptions& options() const { return options_; }

 private:
  LeakyReLUOptions options_;
};

/// 1 / (1 + e^−x), as torch::nn::Sigmoid.
class Sigmoid : public Cloneable<Sigmoid> {
 public:
  /// sigmoid(input).
  Tensor forward(const Tensor& input) override;
};

/// tanh(x), as torch::nn::Tanh.
class Tanh : public Cloneable<Tanh> {
 public:
  /// tanh(input).
  Tensor forward(const Tensor& input) override;
};

/// x·Φ(x), Φ the standard normal CDF, as torch::nn::GELU (exact erf form by default).
class GELU : public Cloneable<GELU> {
 public:
  /// Builds the layer; throws unless approximate is "none" or "tanh".
  explicit GELU(const GELUOptions& options = {});
  /// gelu(input, approximate).
  Tensor forward(const Tensor& input) override;
  /// "approximate='none'".
  std::string extra_repr() const override;
  const GELUOptions& options() const { return options_; }

 private:
  GELUOptions options_;
};

/// x·sigmoid(x) (swish), as torch::nn::SiLU.
class SiLU : public Cloneable<SiLU> {
 public:
  /// silu(input).
  Tensor forward(const Tensor& input) override;
};

}  // namespace voxgrad::nn
