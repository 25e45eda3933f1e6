#include "voxgrad/nn/functional/margin_loss.h"

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/nn/detail/loss_util.h"
#include "voxgrad/nn/functional/dice_loss.h"
#include "voxgrad/nn/functional/distance.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/elementwise_math.h"
#include "voxgrad/ops/gather_scatter.h"
#include "voxgrad/ops/indexing.h"
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

Tensor triplet_margin_with_distance_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                                         const TripletMarginWithDistanceLossFuncOptions& options) {
  const char* op = "triplet_margin_with_distance_loss";
  check_floating_arg(anchor, op, "anchor");
  check_floating_arg(positive, op, "positive");
  check_floating_arg(negative, op, "negative");
  VOXGRAD_CHECK(options.margin() > 0.0, "{}: expected margin to be greater than 0, got {}", op, options.margin());
  VOXGRAD_CHECK(anchor.dim() == positive.dim() && positive.dim() == negative.dim(),
                "{}: all inputs should have the same number of dims, but got {}-d, {}-d and {}-d inputs", op,
                anchor.dim(), positive.dim(), negative.dim());
  const DistanceFunction& given = options.distance_function();
  const auto d = [&](const Tensor& a, const Tensor& b) { return given ? given(a, b) : pairwise_distance(a, b); };
  const Tensor d_pos = d(anchor, positive);
  Tensor d_neg = d(anchor, negative);
  if (options.swap()) d_neg = minimum(d_neg, d(positive, negative));
  const Tensor loss = (options.margin() + d_pos - d_neg).clamp(0.0);  // PyTorch's order
  return voxgrad::detail::reduce_loss(loss, options.reduction(), op);
}

Tensor multi_margin_loss(const Tensor& input, const Tensor& target, const MultiMarginLossFuncOptions& options) {
  const char* op = "multi_margin_loss";
  check_floating_arg(input, op, "input");
  VOXGRAD_CHECK(target.defined(), "{}: argument 'target' is an undefined tensor", op);
  VOXGRAD_CHECK(target.dtype() == kInt64, "{}: expected an int64 target (class indices), but got {}", op,
                target.dtype());
  const std::int64_t dims = input.dim();
  VOXGRAD_CHECK((dims == 2 && input.size(1) != 0) || (dims == 1 && input.size(0) != 0) || dims == 0,
                "{}: expected a non-empty vector or matrix with an optional 0-dim batch size, but got input of size {}",
                op, shape_str(input.sizes()));
  const std::int64_t frames = dims == 2 ? input.size(0) : 1, classes = dims == 0 ? 1 : input.size(dims - 1);
  VOXGRAD_CHECK(target.dim() <= 1 && target.numel() == frames, "{}: inconsistent target size, expected {} but got {}",
                op, frames, shape_str(target.sizes()));
  VOXGRAD_CHECK(options.p() == 1 || options.p() == 2, "{}: only p == 1 and p == 2 are supported, but got p = {}", op,
                options.p());
  const Tensor& weight = options.weight();
  if (weight.defined()) {
    check_floating_arg(weight, op, "weight");
    VOXGRAD_CHECK(weight.dim() <= 1 && weight.numel() == classes,
                  "{}: inconsistent weight size, expected {} but got {}", op, classes, shape_str(weight.sizes()));
  }
  const Tensor y = target.reshape({frames, 1});
  const Tensor yv = y.contiguous();
  for (std::int64_t n = 0; n < frames; ++n) {
    const std::int64_t c = yv.data_ptr<std::int64_t>()[n];
    VOXGRAD_CHECK(c >= 0 && c < classes, "{}: target {} of sample {} is out of range for {} classes", op, c, n,
                  classes);
  }
  // PyTorch's kernel: z = margin − x[y] + x[j] for j ≠ y, the hinge where z > 0 (so no gradient at z = 0), to the
  // power p, times w[y], summed over j and divided by C.
  const Tensor x = input.reshape({frames, classes});
  const Tensor z = options.margin() - gather(x, 1, y) + x;
  const Tensor others = 1.0 - one_hot(y, classes, 1, x.dtype());
  const Tensor active = logical_and(z.detach().gt(0.0), others);
  Tensor h = where(active, options.p() == 1 ? z : z * z, 0.0);
  if (weight.defined()) {
    h = h * index_select(weight.detach().to(x.dtype()).reshape({classes}), 0, y.reshape({frames})).reshape({frames, 1});
  }
  Tensor loss = voxgrad::sum(h, {1}) / static_cast<double>(classes);
  if (target.dim() == 0) loss = loss.reshape({});
  return voxgrad::detail::reduce_loss(loss, options.reduction(), op);
}

Tensor multilabel_soft_margin_loss(const Tensor& input, const Tensor& target,
                                   const MultilabelSoftMarginLossFuncOptions& options) {
  const char* op = "multilabel_soft_margin_loss";
  auto [x, y] = voxgrad::detail::check_loss_pair(input, target, op);
  VOXGRAD_CHECK(x.dim() >= 1, "{}: expected an input with a class dim, but got a 0-d input", op);
  Tensor loss = -(y * log_sigmoid(x) + (1.0 - y) * log_sigmoid(-x));
  const Tensor& weight = options.weight();
  if (weight.defined()) {
    check_floating_arg(weight, op, "weight");
    broadcast_shapes(weight.sizes(), loss.sizes(), op);
    loss = loss * weight;
  }
  const std::int64_t class_dim = x.dim() - 1;
  loss = voxgrad::sum(loss, {class_dim}) / static_cast<double>(x.size(class_dim));  // one loss per sample
  return voxgrad::detail::reduce_loss(loss, options.reduction(), op);
}

}  // namespace voxgrad::nn::functional
