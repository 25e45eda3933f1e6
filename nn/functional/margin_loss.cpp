#include "voxgrad/nn/functional/margin_loss.h"

#include <cstdint>
#include <vector>

#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
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

namespace {

// The input and int64 target of a loss over class scores (multi_margin_loss, multilabel_margin_loss): input (N, C),
// (C) or 0-d (one class), as PyTorch's shape check; returns its dims, N (1 unbatched) and C.
struct ClassScores {
  std::int64_t dims, frames, classes;
};

ClassScores class_scores(const Tensor& input, const Tensor& target, const char* op) {
  check_floating_arg(input, op, "input");
  VOXGRAD_CHECK(target.defined(), "{}: argument 'target' is an undefined tensor", op);
  VOXGRAD_CHECK(target.dtype() == kInt64, "{}: expected an int64 target (class indices), but got {}", op,
                target.dtype());
  const std::int64_t dims = input.dim();
  VOXGRAD_CHECK((dims == 2 && input.size(1) != 0) || (dims == 1 && input.size(0) != 0) || dims == 0,
                "{}: expected a non-empty vector or matrix with an optional 0-dim batch size, but got input of size {}",
                op, shape_str(input.sizes()));
  const std::int64_t frames = dims == 2 ? input.size(0) : 1, classes = dims == 0 ? 1 : input.size(dims - 1);
  return {dims, frames, classes};
}

}  // namespace

Tensor multi_margin_loss(const Tensor& input, const Tensor& target, const MultiMarginLossFuncOptions& options) {
  const char* op = "multi_margin_loss";
  const ClassScores scores = class_scores(input, target, op);
  const std::int64_t frames = scores.frames, classes = scores.classes;
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

namespace {

// A multilabel_margin_loss target, read once: per sample the listed classes (up to the first −1; a class
// listed twice counts twice, as in PyTorch) and whether each class is among them.
struct LabelLists {
  std::int64_t frames = 0, classes = 0;
  std::vector<std::int64_t> y;       // frames × classes, as given
  std::vector<std::uint8_t> listed;  // frames × classes: 1 where the class is a target of the sample
};

LabelLists label_lists(const Tensor& target, std::int64_t frames, std::int64_t classes, const char* op) {
  LabelLists l{frames, classes, {}, std::vector<std::uint8_t>(static_cast<std::size_t>(frames * classes), 0)};
  const Tensor t = target.contiguous();
  const std::int64_t* p = t.data_ptr<std::int64_t>();
  l.y.assign(p, p + frames * classes);
  for (std::int64_t n = 0; n < frames; ++n) {
    for (std::int64_t k = 0; k < classes; ++k) {
      const std::int64_t c = l.y[static_cast<std::size_t>(n * classes + k)];
      VOXGRAD_CHECK(c >= -1 && c < classes,
                    "{}: target {} of sample {} is out of range for {} classes (class indices, or -1 to end the list)",
                    op, c, n, classes);
    }
    for (std::int64_t k = 0; k < classes; ++k) {
      const std::int64_t c = l.y[static_cast<std::size_t>(n * classes + k)];
      if (c < 0) break;
      l.listed[static_cast<std::size_t>(n * classes + c)] = 1;
    }
  }
  return l;
}

// PyTorch's kernel (LossMultiLabelMargin.cpp) over the hinges of sample n: for every listed class y_k and every
// class i not listed, z = 1 − x[y_k] + x[i], rounded in T; f(y_k, i, z) where z > 0 (no gradient at z = 0).
template <typename T, typename F>
void for_each_hinge(const T* x, const LabelLists& l, std::int64_t n, F&& f) {
  const std::int64_t C = l.classes;
  const std::int64_t* y = l.y.data() + n * C;
  const std::uint8_t* listed = l.listed.data() + n * C;
  for (std::int64_t k = 0; k < C && y[k] >= 0; ++k) {
    const T xt = x[n * C + y[k]];
    for (std::int64_t i = 0; i < C; ++i) {
      if (listed[i] != 0) continue;
      const T z = T(1) - xt + x[n * C + i];
      if (z > 0) f(y[k], i, z);
    }
  }
}

}  // namespace

Tensor multilabel_margin_loss(const Tensor& input, const Tensor& target,
                              const MultilabelMarginLossFuncOptions& options) {
  const char* op = "multilabel_margin_loss";
  const ClassScores scores = class_scores(input, target, op);  // plain variables: the lambdas below capture them
  const std::int64_t dims = scores.dims, frames = scores.frames, classes = scores.classes;
  VOXGRAD_CHECK(dims == 2 ? target.sizes() == input.sizes() : target.dim() <= 1 && target.numel() == classes,
                "{}: inconsistent target size {} for input of size {}", op, shape_str(target.sizes()),
                shape_str(input.sizes()));
  const Reduction reduction = options.reduction();
  VOXGRAD_CHECK(reduction == kNone || reduction == kMean || reduction == kSum, "{}: invalid reduction {}", op,
                static_cast<int>(reduction));
  const LabelLists labels = label_lists(target, frames, classes, op);
  // As PyTorch's kernel: each sample's hinges summed in double and the sum rounded to T; a per-sample loss is
  // that divided by C in T, a reduced one (and an unbatched one) the rounded sums added in double, divided by C
  // (and N for the mean) and rounded once more. With no samples the mean is 0 / 0 = NaN (PyTorch 1.13 returns
  // whatever its output buffer held).
  const bool per_sample = reduction == kNone && dims == 2;
  const Tensor x = input.detach().contiguous();
  Tensor out = empty(per_sample ? Shape{frames} : Shape{}, input.dtype());
  detail::dispatch_floating(input.dtype(), op, [&]<typename T>() {
    const T* px = x.data_ptr<T>();
    T* po = out.data_ptr<T>();
    double total = 0;
    for (std::int64_t n = 0; n < frames; ++n) {
      double sum = 0;
      for_each_hinge<T>(px, labels, n, [&](std::int64_t, std::int64_t, T z) { sum += static_cast<double>(z); });
      const auto rounded = static_cast<T>(sum);
      if (per_sample) {
        po[n] = rounded / static_cast<T>(classes);
      } else {
        total += static_cast<double>(rounded);
      }
    }
    if (!per_sample) {
      total /= static_cast<double>(classes);
      if (reduction == kMean) total /= static_cast<double>(frames);
      po[0] = static_cast<T>(total);
    }
  });
  // The gradient is piecewise constant in x: PyTorch's ±g per hinge, g = 1/C (1/(N·C) for the mean), added up
  // in T, then times the upstream gradient. Linear in the upstream gradient, so it differentiates again (zero in
  // x), where PyTorch 1.13 raises.
  autograd::record("MultilabelMarginLossBackward", input, out, {autograd::save_for_backward(input)},
                   [labels, reduction, per_sample, sizes = input.sizes()](const autograd::BackwardCtx& c) {
                     const Tensor xs = c.saved[0].detach().contiguous();
                     const std::int64_t N = labels.frames, C = labels.classes;
                     Tensor coef = zeros({N, C}, xs.dtype());
                     detail::dispatch_floating(xs.dtype(), "multilabel_margin_loss", [&]<typename T>() {
                       const T g = static_cast<T>(reduction == kMean ? 1.0 / static_cast<double>(N * C)
                                                                     : 1.0 / static_cast<double>(C));
                       T* pc = coef.data_ptr<T>();
                       for (std::int64_t n = 0; n < N; ++n) {
                         for_each_hinge<T>(xs.data_ptr<T>(), labels, n, [&](std::int64_t t, std::int64_t i, T) {
                           pc[n * C + t] -= g;
                           pc[n * C + i] += g;
                         });
                       }
                     });
                     const Tensor g = per_sample ? c.grad().reshape({N, 1}) : c.grad();
                     return std::vector<Tensor>{(coef * g).reshape(sizes)};
                   });
  return out;
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
