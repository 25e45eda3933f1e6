#pragma once

#include <string>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/options/dropout.h"

namespace voxgrad::nn {

/// DropoutImpl, as torch::nn::Dropout: in training mode each element is zeroed with probability p (mask
/// drawn from the global generator, so manual_seed makes it reproducible) and the survivors are
/// scaled by 1/(1 − p); in eval mode it returns the input itself.
class DropoutImpl : public Cloneable<DropoutImpl> {
 public:
  /// Builds the layer; throws unless 0 <= p <= 1.
  explicit DropoutImpl(const DropoutOptions& options = {});
  /// dropout(input, p, is_training()).
  Tensor forward(const Tensor& input) override;
  /// "p=0.5, inplace=False" (as PyTorch prints it).
  std::string extra_repr() const override;
  const DropoutOptions& options() const { return options_; }

 private:
  DropoutOptions options_;
};
VOXGRAD_MODULE(Dropout);

/// Channel-wise dropout, as torch::nn::Dropout3d: in training mode each (sample, channel) volume of a
/// (N, C, D, H, W) input — or each channel of an unbatched (C, D, H, W) input — is zeroed with
/// probability p and the others are scaled by 1/(1 − p); in eval mode it returns the input itself.
class Dropout3dImpl : public Cloneable<Dropout3dImpl> {
 public:
  /// Builds the layer; throws unless 0 <= p <= 1.
  explicit Dropout3dImpl(const Dropout3dOptions& options = {});
  /// dropout3d(input, p, is_training()).
  Tensor forward(const Tensor& input) override;
  /// "p=0.5, inplace=False" (as PyTorch prints it; there is no inplace option).
  std::string extra_repr() const override;
  const Dropout3dOptions& options() const { return options_; }

 private:
  Dropout3dOptions options_;
};
VOXGRAD_MODULE(Dropout3d);

}  // namespace voxgrad::nn
