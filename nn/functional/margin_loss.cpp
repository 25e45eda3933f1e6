#include "voxgrad/nn/functional/margin_loss.h"

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/nn/detail/loss_util.h"
#include "voxgrad/nn/functional/distance.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/elementwise_math.h"
#include "voxgrad/ops/reduction.h"

namespace voxgrad::nn::functional {

using voxgrad::detail::check_floating_arg;

Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                           const MarginRankingLossFuncOptions& options) {
  const char* op = "margin_ranking_loss";
  check_floating_arg(input1, op, "input1");
  check_floating_arg(input2, op, "input2");
  check_floating_arg(target, op, "target");
  VOXGRAD_CHECK(input1.dim() == input2.dim() && input1.dim() == target.dim(),
                "{}: all input tensors should have the same number of dims, but got sizes input1: {}, input2: {}, "
                "target: {}",
                op, shape_str(input1.sizes()), shape_str(input2.sizes()), shape_str(target.sizes()));
  broadcast_shapes(broadcast_shapes(input1.sizes(), input2.sizes(), op), target.sizes(), op);
  // PyTorch: (−y·(x1 − x2) + margin).clamp_min(0).
  const Tensor loss = (-target * (input1 - input2) + options.margin()).clamp(0.0);
  return voxgrad::detail::reduce_loss(loss, options.reduction(), op);
}

Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target, const HingeEmbeddingLossFuncOptions& options) {
  const char* op = "hinge_embedding_loss";
  check_floating_arg(input, op, "input");
  check_floating_arg(target, op, "target");
  broadcast_shapes(input.sizes(), target.sizes(), op);
  // PyTorch: where(y ≠ 1, (margin − x).clamp_min(0), 0) + where(y ≠ −1, x, 0).
  const Tensor y = target.detach();
  const Tensor margin_part = where(y.ne(1.0), (options.margin() - input).clamp(0.0), 0.0);
  const Tensor loss = margin_part + where(y.ne(-1.0), input, 0.0);
  return voxgrad::detail::reduce_loss(loss, options.reduction(), op);
}

Tensor soft_margin_loss(const Tensor& input, const Tensor& target, const SoftMarginLossFuncOptions& options) {
  const char* op = "soft_margin_loss";
  auto [x, y] = voxgrad::detail::check_loss_pair(input, target, op);
  return voxgrad::detail::reduce_loss(log1p((-x * y.detach()).exp()), options.reduction(), op);
}

Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                             const CosineEmbeddingLossFuncOptions& options) {
  const char* op = "cosine_embedding_loss";
  check_floating_arg(input1, op, "input1");
  check_floating_arg(input2, op, "input2");
  check_floating_arg(target, op, "target");
  const std::int64_t dim = target.dim();
  VOXGRAD_CHECK(dim <= 1, "{}: expected a 0-d or 1-d target (multi-target is not supported), but got size {}", op,
                shape_str(target.sizes()));
  VOXGRAD_CHECK(input1.dim() == dim + 1 && input2.dim() == dim + 1,
                "{}: a {}-d target expects {}-d inputs, but got inputs of sizes {} and {}", op, dim, dim + 1,
                shape_str(input1.sizes()), shape_str(input2.sizes()));
  const Shape pairs = broadcast_shapes(input1.sizes(), input2.sizes(), op);
  broadcast_shapes(Shape(pairs.begin(), pairs.end() - 1), target.sizes(), op);
  // PyTorch's: cos = Σ x1·x2 / √((Σ x1² + ε)(Σ x2² + ε)), ε = 1e-12, over the last dim.
  constexpr double kEpsilon = 1e-12;
  const Tensor prod = voxgrad::sum(input1 * input2, {dim});
  const Tensor mag1 = voxgrad::sum(input1 * input1, {dim}) + kEpsilon;
  const Tensor mag2 = voxgrad::sum(input2 * input2, {dim}) + kEpsilon;
  const Tensor cos = prod / (mag1 * mag2).sqrt();
  const Tensor y = target.detach();
  const Tensor loss = where(y.eq(1.0), 1.0 - cos, 0.0) + where(y.eq(-1.0), (cos - options.margin()).clamp(0.0), 0.0);
  return voxgrad::detail::reduce_loss(loss, options.reduction(), op);
}

Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                           const TripletMarginLossFuncOptions& options) {
  const char* op = "triplet_margin_loss";
  check_floating_arg(anchor, op, "anchor");
  check_floating_arg(positive, op, "positive");
  check_floating_arg(negative, op, "negative");
  VOXGRAD_CHECK(anchor.dim() == positive.dim() && positive.dim() == negative.dim(),
                "{}: all inputs should have the same number of dims, but got {}-d, {}-d and {}-d inputs", op,
                anchor.dim(), positive.dim(), negative.dim());
  const auto distance = PairwiseDistanceFuncOptions().p(options.p()).eps(options.eps());
  const Tensor d_pos = pairwise_distance(anchor, positive, distance);
  Tensor d_neg = pairwise_distance(anchor, negative, distance);
  if (options.swap()) d_neg = minimum(d_neg, pairwise_distance(positive, negative, distance));
  const Tensor loss = (options.margin() + d_pos - d_neg).clamp(0.0);  // PyTorch's order
  return voxgrad::detail::reduce_loss(loss, options.reduction(), op);
}

}  // namespace voxgrad::nn::functional
