#pragma once

#include <string>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/options/activation.h"

namespace voxgrad::nn {

/// max(x, 0) elementwise, as torch::nn::ReLU.
class ReLUImpl : public Cloneable<ReLUImpl> {
 public:
  /// Builds the layer: `ReLU()` or `ReLU(ReLUOptions().inplace(true))` (overwrites its input).
  explicit ReLUImpl(const ReLUOptions& options = {}) : options_(options) {}
  /// relu(input), in place if asked.
  Tensor forward(const Tensor& input) override;
  /// "inplace=True" when in place, else nothing (as PyTorch).
  std::string extra_repr() const override;
  const ReLUOptions& options() const { return options_; }

 private:
  ReLUOptions options_;
};
VOXGRAD_MODULE(ReLU);

/// x where x > 0, else negative_slope·x, as torch::nn::LeakyReLU.
class LeakyReLUImpl : public Cloneable<LeakyReLUImpl> {
 public:
  /// Builds the layer: `LeakyReLU()` or `LeakyReLU(LeakyReLUOptions().negative_slope(0.2))`.
  explicit LeakyReLUImpl(const LeakyReLUOptions& options = {}) : options_(options) {}
  /// leaky_relu(input, negative_slope).
  Tensor forward(const Tensor& input) override;
  /// "negative_slope=0.01" (", inplace=True" when in place).
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

/// x where x > 0, else alpha·(e^x − 1), as torch::nn::ELU (no inplace option: in-place ops are not
/// recorded by voxgrad's autograd).
class ELUImpl : public Cloneable<ELUImpl> {
 public:
  /// Builds the layer: `ELU()` or `ELU(ELUOptions().alpha(0.5))`.
  explicit ELUImpl(const ELUOptions& options = {}) : options_(options) {}
  /// elu(input, alpha).
  Tensor forward(const Tensor& input) override;
  /// "alpha=1.0".
  std::string extra_repr() const override;
  const ELUOptions& options() const { return options_; }

 private:
  ELUOptions options_;
};
VOXGRAD_MODULE(ELU);

/// log(1 + e^(beta·x)) / beta (x above beta·x = threshold), as torch::nn::Softplus.
class SoftplusImpl : public Cloneable<SoftplusImpl> {
 public:
  /// Builds the layer: `Softplus()` or `Softplus(SoftplusOptions().beta(2))`.
  explicit SoftplusImpl(const SoftplusOptions& options = {}) : options_(options) {}
  /// softplus(input, beta, threshold).
  Tensor forward(const Tensor& input) override;
  /// "beta=1, threshold=20" (torch's defaults are ints), else Python floats: "beta=2.0, threshold=5.0".
  std::string extra_repr() const override;
  const SoftplusOptions& options() const { return options_; }

 private:
  SoftplusOptions options_;
};
VOXGRAD_MODULE(Softplus);

/// x clamped into [min_val, max_val], as torch::nn::Hardtanh (no inplace option).
class HardtanhImpl : public Cloneable<HardtanhImpl> {
 public:
  /// Builds the layer; throws unless max_val > min_val.
  explicit HardtanhImpl(const HardtanhOptions& options = {});
  /// hardtanh(input, min_val, max_val).
  Tensor forward(const Tensor& input) override;
  /// "min_val=-1.0, max_val=1.0".
  std::string extra_repr() const override;
  const HardtanhOptions& options() const { return options_; }

 private:
  HardtanhOptions options_;
};
VOXGRAD_MODULE(Hardtanh);

/// min(max(x, 0), 6), as torch::nn::ReLU6 (no inplace option).
class ReLU6Impl : public Cloneable<ReLU6Impl> {
 public:
  /// relu6(input).
  Tensor forward(const Tensor& input) override;
};
VOXGRAD_MODULE(ReLU6);

/// log(sigmoid(x)), as torch::nn::LogSigmoid.
class LogSigmoidImpl : public Cloneable<LogSigmoidImpl> {
 public:
  /// logsigmoid(input).
  Tensor forward(const Tensor& input) override;
};
VOXGRAD_MODULE(LogSigmoid);

/// x · tanh(softplus(x)), as torch::nn::Mish.
class MishImpl : public Cloneable<MishImpl> {
 public:
  /// mish(input).
  Tensor forward(const Tensor& input) override;
};
VOXGRAD_MODULE(Mish);

/// x · relu6(x + 3) / 6, as torch.nn.Hardswish (no inplace option).
class HardswishImpl : public Cloneable<HardswishImpl> {
 public:
  /// hardswish(input).
  Tensor forward(const Tensor& input) override;
};
VOXGRAD_MODULE(Hardswish);

/// relu6(x + 3) / 6, as torch.nn.Hardsigmoid (no inplace option).
class HardsigmoidImpl : public Cloneable<HardsigmoidImpl> {
 public:
  /// hardsigmoid(input).
  Tensor forward(const Tensor& input) override;
};
VOXGRAD_MODULE(Hardsigmoid);

/// x where x > 0, else a·x with a learned slope a (one, or one per channel), as torch::nn::PReLU.
class PReLUImpl : public Cloneable<PReLUImpl> {
 public:
  /// Builds the layer: `PReLU()` or `PReLU(PReLUOptions().num_parameters(16))`; throws unless num_parameters ≥ 1.
  explicit PReLUImpl(const PReLUOptions& options = {});
  /// Registers "weight" (num_parameters) filled with init; called by the constructor and by clone().
  void reset() override;
  /// prelu(input, weight).
  Tensor forward(const Tensor& input) override;
  /// "num_parameters=1".
  std::string extra_repr() const override;
  const PReLUOptions& options() const { return options_; }

  /// The slopes (num_parameters); parameter "weight".
  Tensor weight;

 private:
  PReLUOptions options_;
};
VOXGRAD_MODULE(PReLU);

/// Softmax along a dim, as torch::nn::Softmax.
class SoftmaxImpl : public Cloneable<SoftmaxImpl> {
 public:
  /// Builds the layer: `Softmax(1)` or `Softmax(SoftmaxOptions(-1))`.
  explicit SoftmaxImpl(const SoftmaxOptions& options) : options_(options) {}
  /// softmax(input, dim).
  Tensor forward(const Tensor& input) override;
  /// "dim=1".
  std::string extra_repr() const override;
  const SoftmaxOptions& options() const { return options_; }

 private:
  SoftmaxOptions options_;
};
VOXGRAD_MODULE(Softmax);

/// Log-softmax along a dim, as torch::nn::LogSoftmax.
class LogSoftmaxImpl : public Cloneable<LogSoftmaxImpl> {
 public:
  /// Builds the layer: `LogSoftmax(1)`.
  explicit LogSoftmaxImpl(const LogSoftmaxOptions& options) : options_(options) {}
  /// log_softmax(input, dim).
  Tensor forward(const Tensor& input) override;
  /// "dim=1".
  std::string extra_repr() const override;
  const LogSoftmaxOptions& options() const { return options_; }

 private:
  LogSoftmaxOptions options_;
};
VOXGRAD_MODULE(LogSoftmax);

}  // namespace voxgrad::nn
