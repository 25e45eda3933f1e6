#pragma once

#include <string>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/options/activation.h"

namespace voxgrad::nn {

/// max(x, 0) elementwise, as torch::nn::ReLU (there is no inplace option: in-place ops are not
/// recorded by voxgrad's autograd).
class ReLUImpl : public Cloneable<ReLUImpl> {
 public:
  /// relu(input).
  Tensor forward(const Tensor& input) override;
};
VOXGRAD_MODULE(ReLU);

/// x where x > 0, else negative_slope·x, as torch::nn::LeakyReLU.
class LeakyReLUImpl : public Cloneable<LeakyReLUImpl> {
 public:
  /// Builds the layer: `LeakyReLU()` or `LeakyReLU(LeakyReLUOptions().negative_slope(0.2))`.
  explicit LeakyReLUImpl(const LeakyReLUOptions& options = {}) : options_(options) {}
  /// leaky_relu(input, negative_slope).
  Tensor forward(const Tensor& input) override;
  /// "negative_slope=0.01".
  std::string extra_repr() const override;
  const LeakyReLUOptions& options() const { return options_; }

 private:
  LeakyReLUOptions options_;
};
VOXGRAD_MODULE(LeakyReLU);

/// 1 / (1 + e^−x), as torch::nn::Sigmoid.
class SigmoidImpl : public Cloneable<SigmoidImpl> {
 public:
  /// sigmoid(input).
  Tensor forward(const Tensor& input) override;
};
VOXGRAD_MODULE(Sigmoid);

/// tanh(x), as torch::nn::Tanh.
class TanhImpl : public Cloneable<TanhImpl> {
 public:
  /// tanh(input).
  Tensor forward(const Tensor& input) override;
};
VOXGRAD_MODULE(Tanh);

/// x·Φ(x), Φ the standard normal CDF, as torch::nn::GELU (exact erf form by default).
class GELUImpl : public Cloneable<GELUImpl> {
 public:
  /// Builds the layer; throws unless approximate is "none" or "tanh".
  explicit GELUImpl(const GELUOptions& options = {});
  /// gelu(input, approximate).
  Tensor forward(const Tensor& input) override;
  /// "approximate='none'".
  std::string extra_repr() const override;
  const GELUOptions& options() const { return options_; }

 private:
  GELUOptions options_;
};
VOXGRAD_MODULE(GELU);

/// x·sigmoid(x) (swish), as torch::nn::SiLU.
class SiLUImpl : public Cloneable<SiLUImpl> {
 public:
  /// silu(input).
  Tensor forward(const Tensor& input) override;
};
VOXGRAD_MODULE(SiLU);

}  // namespace voxgrad::nn
