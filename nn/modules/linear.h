#pragma once

#include <cstdint>
#include <string>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/options/linear.h"

namespace voxgrad::nn {

/// y = x·Wᵀ + b over the last dim of input of any rank, as torch::nn::Linear. Weight (out, in) is
/// initialised by kaiming_uniform_ with a = √5 (U(±1/√in)), bias (out) by U(±1/√in), as PyTorch.
class LinearImpl : public Cloneable<LinearImpl> {
 public:
  /// Builds the layer: `Linear(LinearOptions(3, 4))`.
  explicit LinearImpl(const LinearOptions& options);
  /// Shorthand for Linear(LinearOptions(in_features, out_features)).
  LinearImpl(std::int64_t in_features, std::int64_t out_features)
      : LinearImpl(LinearOptions(in_features, out_features)) {}
  /// Registers weight and bias and initialises them (called by the constructor and by clone()).
  void reset() override;
  /// Re-draws weight and bias in place as PyTorch's reset_parameters.
  void reset_parameters();
  /// Applies the layer to (*, in_features) input, giving (*, out_features).
  Tensor forward(const Tensor& input) override;
  /// "in_features=3, out_features=4, bias=True".
  std::string extra_repr() const override;
  const LinearOptions& options() const { return options_; }

  /// The learnable weight, shape (out_features, in_features); parameter "weight".
  Tensor weight;
  /// The learnable bias, shape (out_features); parameter "bias"; undefined with bias(false).
  Tensor bias;

 private:
  LinearOptions options_;
};
VOXGRAD_MODULE(Linear);

/// Returns its input unchanged, as torch::nn::Identity (a placeholder in containers).
class IdentityImpl : public Cloneable<IdentityImpl> {
 public:
  /// The input itself.
  Tensor forward(const Tensor& input) override;
};
VOXGRAD_MODULE(Identity);

/// Merges the dims start_dim..end_dim into one (by default all but the batch dim), as torch::nn::Flatten.
class FlattenImpl : public Cloneable<FlattenImpl> {
 public:
  /// Builds the layer: `Flatten()` or `Flatten(FlattenOptions().start_dim(0))`.
  explicit FlattenImpl(const FlattenOptions& options = {}) : options_(options) {}
  /// input.flatten(start_dim, end_dim).
  Tensor forward(const Tensor& input) override;
  /// "start_dim=1, end_dim=-1".
  std::string extra_repr() const override;
  const FlattenOptions& options() const { return options_; }

 private:
  FlattenOptions options_;
};
VOXGRAD_MODULE(Flatten);

}  // namespace voxgrad::nn
