#include "voxgrad/nn/functional/distance.h"

#include <algorithm>

#include "voxgrad/core/error.h"
#include "voxgrad/nn/detail/loss_util.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/elementwise_math.h"
#include "voxgrad/ops/reduction.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad::nn::functional {

Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, const CosineSimilarityFuncOptions& options) {
  auto [a, b] = voxgrad::detail::promote(x1, x2, "cosine_similarity");
  const Shape shape = broadcast_shapes(a.sizes(), b.sizes(), "cosine_similarity");
  a = a.expand(shape);
  b = b.expand(shape);
  const std::int64_t dim = wrap_dim(options.dim(), static_cast<std::int64_t>(shape.size()), "cosine_similarity");
  // torch 1.13 clamps each squared norm Σ x² to eps² in place under no_grad, then takes its root: the value is
  // √max(Σ x², eps²), the gradient that of √(Σ x²) as if unclamped.
  const auto clamped_norm = [&](const Tensor& x) {
    const Tensor s = voxgrad::sum(voxgrad::square(x), {dim}, true);
    return voxgrad::sqrt(
        voxgrad::detail::clamp_min_value_only(s, options.eps() * options.eps(), "CosineSimilarityNormClampBackward"));
  };
  return voxgrad::sum((a / clamped_norm(a)) * (b / clamped_norm(b)), {dim});
}

Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, const PairwiseDistanceFuncOptions& options) {
  voxgrad::detail::check_defined(x1, "pairwise_distance", "x1");
  voxgrad::detail::check_defined(x2, "pairwise_distance", "x2");
  const std::int64_t last = std::max(x1.dim(), x2.dim()) - 1;
  const Tensor d = x1 - x2 + options.eps();
  // Two 0-d inputs: the norm of the one difference, 0-d (torch's norm over dim −1 of a scalar).
  if (last < 0) return voxgrad::norm(d.reshape({1}), options.p(), {0}, false);
  return voxgrad::norm(d, options.p(), {last}, options.keepdim());
}

}  // namespace voxgrad::nn::functional
