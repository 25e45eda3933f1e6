#include "voxgrad/nn/functional/vision.h"

#include "voxgrad/ops/affine_grid.h"
#include "voxgrad/ops/grid_sample.h"

namespace voxgrad::nn::functional {

Tensor grid_sample(const Tensor& input, const Tensor& grid, const GridSampleFuncOptions& options) {
  return voxgrad::grid_sample(input, grid, options.mode(), options.padding_mode(),
                              options.align_corners().value_or(false));
}

Tensor affine_grid(const Tensor& theta, IntArrayRef size, const AffineGridFuncOptions& options) {
  return voxgrad::affine_grid(theta, size, options.align_corners().value_or(false));
}

Tensor affine_grid(const Tensor& theta, IntArrayRef size, bool align_corners) {
  return voxgrad::affine_grid(theta, size, align_corners);
}

}  // namespace voxgrad::nn::functional
