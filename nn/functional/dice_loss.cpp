// Dice and Dice + cross-entropy losses, composed of differentiable ops (activation, products, sums
// over the spatial dims), so autograd gives their gradients and double backward.

#include "voxgrad/nn/functional/dice_loss.h"

#include <cmath>
#include <numeric>
#include <vector>

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/nn/functional/loss.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/softmax.h"

namespace voxgrad::nn::functional {

namespace {

constexpr const char* kDice = "dice_loss";
constexpr const char* kDiceCE = "dice_ce_loss";

void check_segmentation_input(const Tensor& input, const char* op) {
  detail::check_defined(input, op, "input");
  VOXGRAD_CHECK(is_floating_point(input.dtype()), "{}: expected a float32 or float64 input, but got {}", op,
                input.dtype());
  VOXGRAD_CHECK(input.dim() >= 3, "{}: expected input [B, C, spatial...] with at least 3 dims, but got shape {}", op,
                shape_str(input.sizes()));
}

// The dims the Dice sums run over: the spatial ones, and the batch with `batch`.
std::vector<std::int64_t> reduce_dims(std::int64_t ndim, bool batch) {
  std::vector<std::int64_t> dims(static_cast<std::size_t>(ndim - 2));
  std::iota(dims.begin(), dims.end(), 2);
  if (batch) dims.insert(dims.begin(), 0);
  return dims;
}

}  // namespace

Tensor one_hot(const Tensor& labels, std::int64_t num_classes, std::int64_t dim, DType dtype) {
  constexpr const char* op = "one_hot";
  detail::check_defined(labels, op, "labels");
  VOXGRAD_CHECK(num_classes >= 1, "{}: num_classes must be positive, but got {}", op, num_classes);
  VOXGRAD_CHECK(is_floating_point(dtype), "{}: dtype must be float32 or float64, but got {}", op, dtype);
  const std::int64_t nd = labels.dim();
  VOXGRAD_CHECK(nd >= 1 && dim >= -nd && dim < nd, "{}: dim {} is out of range for labels of shape {}", op, dim,
                shape_str(labels.sizes()));
  if (dim < 0) dim += nd;
  VOXGRAD_CHECK(labels.size(dim) == 1,
                "{}: labels must have size 1 in dim {} (class indices [B, 1, ...]), but have shape {}", op, dim,
                shape_str(labels.sizes()));
  const Tensor l = labels.detach().contiguous().to(kFloat64);
  Shape out_sizes = labels.sizes();
  out_sizes[static_cast<std::size_t>(dim)] = num_classes;
  Tensor out = zeros(out_sizes, kFloat64);
  // Labels (outer, 1, inner) → one-hot (outer, C, inner).
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < dim; ++d) outer *= labels.size(d);
  for (std::int64_t d = dim + 1; d < nd; ++d) inner *= labels.size(d);
  const double* src = l.data_ptr<double>();
  double* dst = out.data_ptr<double>();
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t i = 0; i < inner; ++i) {
      const double v = src[o * inner + i];
      VOXGRAD_CHECK(v == std::floor(v) && v >= 0 && v < static_cast<double>(num_classes),
                    "{}: label {} at flat index {} is not a class index in [0, {})", op, v, o * inner + i, num_classes);
      dst[(o * num_classes + static_cast<std::int64_t>(v)) * inner + i] = 1.0;
    }
  }
  return out.to(dtype);
}

Tensor dice_loss(const Tensor& input, const Tensor& target, const DiceLossFuncOptions& options) {
  check_segmentation_input(input, kDice);
  detail::check_defined(target, kDice, "target");
  VOXGRAD_CHECK(!(options.sigmoid() && options.softmax()), "{}: sigmoid and softmax are mutually exclusive", kDice);
  const std::int64_t channels = input.size(1);
  for (const auto& [on, name] :
       {std::pair{options.softmax(), "softmax"}, std::pair{options.to_onehot_y(), "to_onehot_y"},
        std::pair{!options.include_background(), "include_background=false"}}) {
    VOXGRAD_CHECK(!on || channels > 1,
                  "{}: {} needs more than one channel, but the input has shape {} (MONAI only warns and ignores it)",
                  kDice, name, shape_str(input.sizes()));
  }
  Tensor x = input;
  if (options.sigmoid()) x = sigmoid(x);
  if (options.softmax()) x = softmax(x, 1);
  Tensor y = target;
  if (options.to_onehot_y()) {
    VOXGRAD_CHECK(target.dim() == input.dim() && target.size(1) == 1,
                  "{}: with to_onehot_y the target must be class indices [B, 1, spatial...] for input {}, but has "
                  "shape {}",
                  kDice, shape_str(input.sizes()), shape_str(target.sizes()));
    y = one_hot(target, channels, 1, input.dtype());
  } else {
    VOXGRAD_CHECK(is_floating_point(target.dtype()),
                  "{}: the target must be floating point (one-hot or probabilities), but is {}; class indices "
                  "need to_onehot_y(true)",
                  kDice, target.dtype());
  }
  VOXGRAD_CHECK(y.sizes() == x.sizes(), "{}: ground truth has different shape ({}) from input ({})", kDice,
                shape_str(y.sizes()), shape_str(x.sizes()));
  std::tie(x, y) = detail::promote(x, y, kDice);
  if (!options.include_background()) {
    x = x.narrow(1, 1, channels - 1);
    y = y.narrow(1, 1, channels - 1);
  }
  const std::vector<std::int64_t> dims = reduce_dims(input.dim(), options.batch());
  const Tensor intersection = (x * y).sum(dims);
  const Tensor ground = options.squared_pred() ? (y * y).sum(dims) : y.sum(dims);
  const Tensor pred = options.squared_pred() ? (x * x).sum(dims) : x.sum(dims);
  Tensor denominator = ground + pred;
  if (options.jaccard()) denominator = 2.0 * (denominator - intersection);
  Tensor f = 1.0 - (2.0 * intersection + options.smooth_nr()) / (denominator + options.smooth_dr());
  if (options.weight().defined()) {
    const Tensor& w = options.weight();
    const std::int64_t classes = x.size(1);
    VOXGRAD_CHECK(is_floating_point(w.dtype()) && (w.numel() == 1 || (w.dim() == 1 && w.numel() == classes)),
                  "{}: weight must be a floating-point scalar or hold one value per class ({} after "
                  "include_background), but has shape {} and dtype {}",
                  kDice, classes, shape_str(w.sizes()), w.dtype());
    VOXGRAD_CHECK(w.detach().to(kFloat64).min().item<double>() >= 0, "{}: weight values must be non-negative", kDice);
    f = f * w.reshape({w.numel() == 1 ? 1 : classes}).to(f.dtype());
  }
  switch (options.reduction()) {
    case Reduction::Mean: return f.mean();
    case Reduction::Sum: return f.sum();
    case Reduction::None: {
      Shape shape(f.sizes().begin(), f.sizes().begin() + std::min<std::int64_t>(f.dim(), 2));
      shape.resize(shape.size() + static_cast<std::size_t>(input.dim() - 2), 1);
      return f.reshape(shape);
    }
  }
  throw Error(fmt::format("{}: unknown reduction", kDice));
}

Tensor dice_ce_loss(const Tensor& input, const Tensor& target, const DiceCELossFuncOptions& options) {
  check_segmentation_input(input, kDiceCE);
  detail::check_defined(target, kDiceCE, "target");
  const DiceLossOptions& dice = options.dice();
  VOXGRAD_CHECK(dice.reduction() != Reduction::None, "{}: reduction must be mean or sum (MONAI refuses none too)",
                kDiceCE);
  VOXGRAD_CHECK(options.lambda_dice() >= 0 && options.lambda_ce() >= 0,
                "{}: lambda_dice and lambda_ce must be non-negative, but got {} and {}", kDiceCE, options.lambda_dice(),
                options.lambda_ce());
  VOXGRAD_CHECK(target.dim() == input.dim(),
                "{}: the number of dimensions for input and target should be the same, got "
                "shape {} and {}",
                kDiceCE, shape_str(input.sizes()), shape_str(target.sizes()));
  const std::int64_t channels = input.size(1), target_channels = target.size(1);
  VOXGRAD_CHECK(target_channels == 1 || target_channels == channels,
                "{}: number of channels for target is neither 1 nor the same as input, got shape {} and {}", kDiceCE,
                shape_str(input.sizes()), shape_str(target.sizes()));
  const Tensor dice_term = dice_loss(input, target, dice);
  Tensor ce_term;
  if (channels == 1) {
    const Tensor t = is_floating_point(target.dtype()) ? target : target.to(input.dtype());
    ce_term = binary_cross_entropy_with_logits(input, t,
                                               BCEWithLogitsLossOptions(dice.reduction()).pos_weight(dice.weight()));
  } else {
    Tensor t = target;
    if (target_channels == 1) {
      t = target.squeeze(1).to(kInt64);  // class indices, as MONAI's .long()
    } else if (!is_floating_point(target.dtype())) {
      t = target.to(input.dtype());
    }
    ce_term = cross_entropy(
        input, t,
        CrossEntropyLossOptions(dice.reduction()).weight(dice.weight()).label_smoothing(options.label_smoothing()));
  }
  return options.lambda_dice() * dice_term + options.lambda_ce() * ce_term;
}

}  // namespace voxgrad::nn::functional
