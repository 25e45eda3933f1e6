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

/// x where x > 0, else alpha·(e^x − 1), as torch::nn::ELU (no inplace option: in-place ops are not
/// recorded by voxgrad's autograd).
class ELU : public Cloneable<ELU> {
 public:
  /// Builds the layer: `ELU()` or `ELU(ELUOptions().alpha(0.5))`.
  explicit ELU(const ELUOptions& options = {}) : options_(options) {}
  /// elu(input, alpha).
  Tensor forward(const Tensor& input) override;
  /// "alpha=1.0".
  std::string extra_repr() const override;
  const ELUOptions& options() const { return options_; }

 private:
  ELUOptions options_;
};

/// x where x > 0, else a·x with a learned slope a (one, or one per channel), as torch::nn::PReLU.
class PReLU : public Cloneable<PReLU> {
 public:
  /// Builds the layer: `PReLU()` or `PReLU(PReLUOptions().num_parameters(16))`; throws unless num_parameters ≥ 1.
  explicit PReLU(const PReLUOptions& options = {});
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

/// Softmax along a dim, as torch::nn::Softmax.
class Softmax : public Cloneable<Softmax> {
 public:
  /// Builds the layer: `Softmax(1)` or `Softmax(SoftmaxOptions(-1))`.
  explicit Softmax(const SoftmaxOptions& options) : options_(options) {}
  /// softmax(input, dim).
  Tensor forward(const Tensor& input) override;
  /// "dim=1".
  std::string extra_repr() const override;
  const SoftmaxOptions& options() const { return options_; }

 private:
  SoftmaxOptions options_;
};

/// Log-softmax along a dim, as torch::nn::LogSoftmax.
class LogSoftmax : public Cloneable<LogSoftmax> {
 public:
  /// Builds the layer: `LogSoftmax(1)`.
  explicit LogSoftmax(const LogSoftmaxOptions& options) : options_(options) {}
  /// log_softmax(input, dim).
  Tensor forward(const Tensor& input) override;
  /// "dim=1".
  std::string extra_repr() const override;
  const LogSoftmaxOptions& options() const { return options_; }

 private:
  LogSoftmaxOptions options_;
};

}  // namespace voxgrad::nn
