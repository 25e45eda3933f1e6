#pragma once

#include <string>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/functional/upsampling.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/options/upsampling.h"

namespace voxgrad::nn {

/// Resamples (N, C, D, H, W) input to a size or by scale factors, nearest or trilinear, as
/// torch::nn::Upsample (F::interpolate with the layer's options). Options are checked at forward.
class UpsampleImpl : public Cloneable<UpsampleImpl> {
 public:
  /// Builds the layer: `Upsample(UpsampleOptions().scale_factor(2.0).mode(kTrilinear))`.
  explicit UpsampleImpl(const UpsampleOptions& options = {}) : options_(options) {}
  /// F::interpolate(input, options()).
  Tensor forward(const Tensor& input) override;
  /// "scale_factor=2.0, mode=nearest" or "size=(8, 8, 8), mode=trilinear", as PyTorch (which does
  /// not print align_corners).
  std::string extra_repr() const override;
  const UpsampleOptions& options() const { return options_; }

 private:
  UpsampleOptions options_;
};
VOXGRAD_MODULE(Upsample);

}  // namespace voxgrad::nn
