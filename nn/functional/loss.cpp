#include "voxgrad/nn/functional/loss.h"

#include <cmath>
#include <vector>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/nn/detail/loss_util.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/elementwise_math.h"
#include "voxgrad/ops/reduction.h"
#include "voxgrad/ops/shape_ops.h"
#include "voxgrad/ops/softmax.h"

namespace voxgrad {

const char* reduction_name(Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return "none";
    case Reduction::Mean: return "mean";
    case Reduction::Sum: return "sum";
  }
  return "?";
}

namespace nn::functional {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save_for_backward;

namespace {

Tensor reduce(const Tensor& loss, Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return loss;
    case Reduction::Mean: return loss.mean();
    case Reduction::Sum: return loss.sum();
  }
  throw Error("loss: unknown reduction");
}

// Both defined and floating, converted to their common dtype, and of the same shape.
std::pair<Tensor, Tensor> check_pair(const Tensor& input, const Tensor& target, const char* op) {
  detail::check_defined(input, op, "input");
  detail::check_defined(target, op, "target");
  VOXGRAD_CHECK(is_floating_point(input.dtype()) && is_floating_point(target.dtype()),
                "{}: expected floating-point input and target, but got {} and {}", op, input.dtype(), target.dtype());
  VOXGRAD_CHECK(input.sizes() == target.sizes(),
                "{}: target size {} differs from input size {} (PyTorch would broadcast them; reshape one of them "
                "to match)",
                op, shape_str(target.sizes()), shape_str(input.sizes()));
  return detail::promote(input, target, op);
}

// `w` (the argument `name`) must be floating-point.
void check_floating_weight(const Tensor& w, const char* op, const char* name) {
  voxgrad::detail::check_floating_arg(w, op, name);
}

// A class-index loss needs a class dim.
void check_has_class_dim(const Tensor& input, const char* op) {
  VOXGRAD_CHECK(input.dim() >= 1, "{}: expected an input with 1 or more dimensions (got 0)", op);
}

// A per-class weight holds one value per class.
void check_class_weight(const Tensor& w, std::int64_t classes, const char* op) {
  VOXGRAD_CHECK(w.dim() == 1 && w.numel() == classes,
                "{}: weight tensor should be defined either for all {} classes or no classes but got weight tensor "
                "of shape: {}",
                op, classes, shape_str(w.sizes()));
}

// A weight-like tensor (weight, pos_weight) that must broadcast to `input` without growing it.
Tensor check_broadcast_weight(const Tensor& w, const Tensor& input, const char* op, const char* name) {
  check_floating_weight(w, op, name);
  const Shape b = broadcast_shapes(w.sizes(), input.sizes(), op);
  VOXGRAD_CHECK(b == input.sizes(), "{}: {} of shape {} does not broadcast to the input's shape {}", op, name,
                shape_str(w.sizes()), shape_str(input.sizes()));
  return w.to(input.dtype());
}

// --- class-index gather and its adjoint (the core of nll_loss) ------------------------------------
// x is (N, C, S), t is (N, S) int64, both contiguous; ignored targets were validated by the caller.

Tensor place_class(const Tensor& grad, const Tensor& t, std::int64_t classes, std::int64_t ignore_index);

// out[n, s] = x[n, t[n, s], s], 0 where t[n, s] == ignore_index. Its backward is place_class.
Tensor pick_class(const Tensor& input, const Tensor& t, std::int64_t ignore_index) {
  const Tensor x = input.contiguous();
  const std::int64_t n = x.size(0), c = x.size(1), s = x.size(2);
  Tensor out = empty({n, s}, x.dtype());
  const std::int64_t* pt = t.data_ptr<std::int64_t>();
  detail::dispatch_floating(x.dtype(), "nll_loss", [&]<typename T>() {
    const T* px = x.data_ptr<T>();
    T* po = out.data_ptr<T>();
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < s; ++j) {
        const std::int64_t k = pt[i * s + j];
        po[i * s + j] = k == ignore_index ? T(0) : px[(i * c + k) * s + j];
      }
    }
  });
  record("NllLossGatherBackward", x, out, {}, [t, c, ignore_index](const BackwardCtx& ctx) {
    return std::vector<Tensor>{place_class(ctx.grad(), t, c, ignore_index)};
  });
  return out;
}

// Zeros of (N, C, S) with out[n, t[n, s], s] = grad[n, s] (nothing for ignored targets): the adjoint
// of pick_class, whose backward is pick_class again (both are linear).
Tensor place_class(const Tensor& grad, const Tensor& t, std::int64_t classes, std::int64_t ignore_index) {
  const Tensor g = grad.contiguous();
  const std::int64_t n = g.size(0), s = g.size(1);
  Tensor out = zeros({n, classes, s}, g.dtype());
  const std::int64_t* pt = t.data_ptr<std::int64_t>();
  detail::dispatch_floating(g.dtype(), "nll_loss", [&]<typename T>() {
    const T* pg = g.data_ptr<T>();
    T* po = out.data_ptr<T>();
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < s; ++j) {
        const std::int64_t k = pt[i * s + j];
        if (k != ignore_index) po[(i * classes + k) * s + j] = pg[i * s + j];
      }
    }
  });
  record("NllLossScatterBackward", g, out, {}, [t, ignore_index](const BackwardCtx& ctx) {
    return std::vector<Tensor>{pick_class(ctx.grad(), t, ignore_index)};
  });
  return out;
}

// What nll_loss and cross_entropy share for class-index targets.
struct ClassTargets {
  Tensor x3;        // input as (N, C, S)
  Tensor t2;        // target as (N, S), contiguous int64
  Shape out_shape;  // target's shape (the shape of reduction kNone)
  std::int64_t classes = 0;
  Tensor weight_t;  // (N, S): weight[t] (1 without weights), 0 where ignored; input dtype, constant
  Tensor ignored;   // (N, S): 1 where t == ignore_index, else 0; input dtype
};

ClassTargets check_class_targets(const Tensor& input, const Tensor& target, const Tensor& weight,
                                 std::int64_t ignore_index, const char* op) {
  detail::check_defined(input, op, "input");
  detail::check_defined(target, op, "target");
  detail::check_floating(input, op);
  VOXGRAD_CHECK(target.dtype() == kInt64,
                "{}: expected an int64 target of class indices, but got a {} target (use a target of the input's "
                "shape for class probabilities with cross_entropy)",
                op, target.dtype());
  check_has_class_dim(input, op);
  ClassTargets ct;
  std::int64_t n = 1, s = 1;
  if (input.dim() == 1) {
    VOXGRAD_CHECK(target.dim() == 0,
                  "{}: expected a 0-d target for a 1-d input of {} classes, but got target of "
                  "shape {}",
                  op, input.size(0), shape_str(target.sizes()));
    ct.classes = input.size(0);
  } else {
    n = input.size(0);
    ct.classes = input.size(1);
    VOXGRAD_CHECK(target.dim() >= 1 && target.size(0) == n,
                  "{}: expected input batch_size ({}) to match target batch_size ({})", op, n,
                  target.dim() >= 1 ? target.size(0) : 0);
    Shape expected{n};
    for (std::int64_t d = 2; d < input.dim(); ++d) {
      expected.push_back(input.size(d));
      s *= input.size(d);
    }
    VOXGRAD_CHECK(target.sizes() == expected, "{}: expected target size {} for input of size {}, got {}", op,
                  shape_str(expected), shape_str(input.sizes()), shape_str(target.sizes()));
  }
  ct.out_shape = target.sizes();
  ct.x3 = input.reshape({n, ct.classes, s});
  ct.t2 = target.detach().reshape({n, s}).contiguous();

  Tensor w;
  if (weight.defined()) {
    check_class_weight(weight, ct.classes, op);
    check_floating_weight(weight, op, "weight");
    w = weight.detach().to(kFloat64).contiguous();
  }
  std::vector<double> wt(static_cast<std::size_t>(n * s)), ign(static_cast<std::size_t>(n * s));
  const std::int64_t* pt = ct.t2.data_ptr<std::int64_t>();
  const double* pw = w.defined() ? w.data_ptr<double>() : nullptr;
  for (std::int64_t i = 0; i < n * s; ++i) {
    const std::int64_t k = pt[i];
    if (k == ignore_index) {
      ign[i] = 1.0;
      continue;
    }
    VOXGRAD_CHECK(k >= 0 && k < ct.classes,
                  "{}: target {} is out of bounds (expected a class index in [0, {}) or ignore_index {}; at flat "
                  "target index {})",
                  op, k, ct.classes, ignore_index, i);
    wt[i] = pw ? pw[k] : 1.0;
  }
  ct.weight_t = tensor(wt, kFloat64).reshape({n, s}).to(input.dtype());
  ct.ignored = tensor(ign, kFloat64).reshape({n, s}).to(input.dtype());
  return ct;
}

Reduction checked(Reduction r, const char* op) {
  VOXGRAD_CHECK(r == Reduction::None || r == Reduction::Mean || r == Reduction::Sum, "{}: invalid reduction {}", op,
                static_cast<int>(r));
  return r;
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossFuncOptions& options) {
  auto [x, t] = check_pair(input, target, "mse_loss");
  const Tensor d = x - t;
  return reduce(d * d, checked(options.reduction(), "mse_loss"));
}

Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossFuncOptions& options) {
  auto [x, t] = check_pair(input, target, "l1_loss");
  return reduce((x - t).abs(), checked(options.reduction(), "l1_loss"));
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossFuncOptions& options) {
  const double beta = options.beta();
  VOXGRAD_CHECK(beta >= 0.0, "smooth_l1_loss: beta must be non-negative (got beta={})", beta);
  auto [x, t] = check_pair(input, target, "smooth_l1_loss");
  const Tensor z = (x - t).abs();
  if (beta == 0.0) return reduce(z, checked(options.reduction(), "smooth_l1_loss"));
  // PyTorch: z < β ? 0.5·z·z/β : z − 0.5·β (the selection is not differentiated; both branches are).
  const Tensor loss = where(z.lt(beta), (z * 0.5) * z / beta, z - 0.5 * beta);
  return reduce(loss, checked(options.reduction(), "smooth_l1_loss"));
}

Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossFuncOptions& options) {
  const double delta = options.delta();
  VOXGRAD_CHECK(delta > 0.0, "huber_loss: delta must be positive (got delta={})", delta);
  auto [x, t] = check_pair(input, target, "huber_loss");
  const Tensor z = (x - t).abs();
  // PyTorch: z < δ ? 0.5·z·z : δ·(z − 0.5·δ) (the selection is not differentiated; both branches are).
  const Tensor loss = where(z.lt(delta), (z * 0.5) * z, (z - 0.5 * delta) * delta);
  return reduce(loss, checked(options.reduction(), "huber_loss"));
}

Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivFuncOptions& options) {
  auto [x, t] = check_pair(input, target, "kl_div");
  // PyTorch 1.13's composite: e^t·(t − x) for log-probability targets, else xlogy(t, t) − t·x.
  const Tensor out = options.log_target() ? t.exp() * (t - x) : xlogy(t, t) - t * x;
  switch (options.reduction()) {
    case KLDivReduction::None: return out;
    case KLDivReduction::Sum: return out.sum();
    case KLDivReduction::Mean: return out.mean();
    case KLDivReduction::BatchMean: return x.dim() == 0 ? out.sum() : out.sum() / static_cast<double>(x.size(0));
  }
  throw Error(fmt::format("kl_div: invalid reduction {}", static_cast<int>(options.reduction())));
}

Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var,
                         const GaussianNLLLossFuncOptions& options) {
  const char* op = "gaussian_nll_loss";
  auto [x, t] = check_pair(input, target, op);
  voxgrad::detail::check_floating_arg(var, op, "var");
  const double eps = options.eps();
  VOXGRAD_CHECK(eps >= 0.0, "{}: eps must be non-negative (got eps={})", op, eps);
  const Reduction r = checked(options.reduction(), op);
  // PyTorch's shapes: var as the input, or the input's shape without its last dim (one variance per row,
  // unsqueezed), or with a last dim of 1 (broadcast along it).
  const auto without_last = [](const Shape& s) { return s.empty() ? s : Shape(s.begin(), s.end() - 1); };
  Tensor v = var;
  if (v.sizes() != x.sizes()) {
    const bool one_less = v.sizes() == without_last(x.sizes());
    const bool last_one = v.dim() >= 1 && v.size(-1) == 1 && without_last(v.sizes()) == without_last(x.sizes());
    VOXGRAD_CHECK(one_less || last_one,
                  "{}: var of shape {} does not fit the input's shape {} (it must be that shape, that shape without "
                  "its last dim, or that shape with a last dim of 1)",
                  op, shape_str(v.sizes()), shape_str(x.sizes()));
    if (one_less) v = v.unsqueeze(-1);
  }
  if (v.numel() > 0) {
    NoGradGuard no_grad;
    VOXGRAD_CHECK(v.lt(0.0).max().item<double>() == 0.0, "{}: var has negative entry/entries", op);
  }
  // The variance clamped to eps in the value only (PyTorch clamps a clone in place under no_grad). The
  // three take their common dtype, as PyTorch's arithmetic does.
  const DType dtype = promote_types(x.dtype(), v.dtype());
  v = voxgrad::detail::clamp_min_value_only(v.to(dtype), eps, "GaussianNllVarClampBackward");
  const Tensor d = x.to(dtype) - t.to(dtype);
  Tensor loss = (v.log() + d * d / v) * 0.5;
  if (options.full()) loss = loss + 0.5 * std::log(2.0 * M_PI);
  return reduce(loss, r);
}

Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, const PoissonNLLLossFuncOptions& options) {
  const char* op = "poisson_nll_loss";
  auto [x, t] = check_pair(input, target, op);
  const Reduction r = checked(options.reduction(), op);
  // PyTorch's: e^x − t·x for log rates, else x − t·log(x + eps); plus, with `full`, Stirling's
  // t·log t − t + ½·log(2π·t) where t > 1.
  Tensor loss = options.log_input() ? x.exp() - t * x : x - t * (x + options.eps()).log();
  if (options.full()) {
    const Tensor stirling = t * t.log() - t + (t * (2.0 * M_PI)).log() * 0.5;
    loss = loss + where(t.le(1.0), 0.0, stirling);
  }
  return reduce(loss, r);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BinaryCrossEntropyFuncOptions& options) {
  const char* op = "binary_cross_entropy";
  auto [x, t] = check_pair(input, target, op);
  if (x.numel() > 0) {
    NoGradGuard no_grad;
    VOXGRAD_CHECK((x.ge(0.0) * x.le(1.0)).min().item<double>() == 1.0,
                  "{}: all elements of input should be between 0 and 1", op);
  }
  Tensor out;
  {
    NoGradGuard no_grad;
    // PyTorch: (t − 1)·max(log(1 − x), −100) − t·max(log x, −100).
    out = (t - 1.0) * (1.0 - x).log().clamp(-100.0) - t * x.log().clamp(-100.0);
  }
  // The input gradient is PyTorch's (x − t)/max(x(1 − x), ε), finite at x = 0 and 1 (ε is PyTorch's
  // EPSILON, the float32 1e-12); the target gradient is that of the clamped logs. Both are
  // differentiable again.
  record("BinaryCrossEntropyBackward", x, t, out, {save_for_backward(x), save_for_backward(t)},
         [](const BackwardCtx& c) {
           constexpr double kEpsilon = static_cast<double>(1e-12f);
           const Tensor& g = c.grad();
           const Tensor &xv = c.saved[0], &tv = c.saved[1];
           std::vector<Tensor> grads(2);
           if (c.needs_input_grad(0)) grads[0] = g * (xv - tv) / (xv * (1.0 - xv)).clamp(kEpsilon);
           if (c.needs_input_grad(1)) grads[1] = g * ((1.0 - xv).log().clamp(-100.0) - xv.log().clamp(-100.0));
           return grads;
         });
  if (options.weight().defined()) out = out * check_broadcast_weight(options.weight(), x, op, "weight");
  return reduce(out, checked(options.reduction(), op));
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BinaryCrossEntropyWithLogitsFuncOptions& options) {
  const char* op = "binary_cross_entropy_with_logits";
  auto [x, t] = check_pair(input, target, op);
  // log(1 + e^−x) = m + log(e^−m + e^−x−m) with m = max(−x, 0): no overflow for any x.
  const Tensor m = (-x).relu();
  const Tensor log1pexp = ((-m).exp() + (-x - m).exp()).log() + m;
  Tensor loss;
  if (options.pos_weight().defined()) {
    const Tensor pw = check_broadcast_weight(options.pos_weight(), x, op, "pos_weight");
    loss = (1.0 - t) * x + ((pw - 1.0) * t + 1.0) * log1pexp;
  } else {
    loss = (1.0 - t) * x + log1pexp;
  }
  if (options.weight().defined()) loss = loss * check_broadcast_weight(options.weight(), x, op, "weight");
  return reduce(loss, checked(options.reduction(), op));
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossFuncOptions& options) {
  const char* op = "nll_loss";
  const Reduction r = checked(options.reduction(), op);
  const ClassTargets ct = check_class_targets(input, target, options.weight(), options.ignore_index(), op);
  const Tensor loss = -(pick_class(ct.x3, ct.t2, options.ignore_index()) * ct.weight_t);
  switch (r) {
    case Reduction::None: return loss.reshape(ct.out_shape);
    case Reduction::Sum: return loss.sum();
    case Reduction::Mean: break;
  }
  return loss.sum() / ct.weight_t.sum();  // 0/0 = NaN when every target is ignored, as PyTorch
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyFuncOptions& options) {
  const char* op = "cross_entropy";
  const Reduction r = checked(options.reduction(), op);
  const double ls = options.label_smoothing();
  VOXGRAD_CHECK(ls >= 0.0 && ls <= 1.0, "{}: label_smoothing must be between 0.0 and 1.0. Got: {}", op, ls);
  detail::check_defined(input, op, "input");
  detail::check_defined(target, op, "target");
  check_has_class_dim(input, op);
  const std::int64_t class_dim = input.dim() == 1 ? 0 : 1;
  const std::int64_t classes = input.size(class_dim);
  // The weight viewed to broadcast along the class dim.
  auto weight_view = [&](const Tensor& like) {
    const Tensor& w = options.weight();
    check_class_weight(w, classes, op);
    Shape s(static_cast<std::size_t>(input.dim()), 1);
    s[static_cast<std::size_t>(class_dim)] = classes;
    return w.detach().to(like.dtype()).reshape(s);
  };

  if (is_floating_point(target.dtype())) {
    // Class probabilities: −Σ_c w_c·t_c·log_softmax(x)_c, t smoothed towards uniform.
    detail::check_floating(input, op);
    VOXGRAD_CHECK(target.sizes() == input.sizes(),
                  "{}: a floating-point target holds class probabilities and must have the input's shape {}, but "
                  "has shape {} (class indices must be int64)",
                  op, shape_str(input.sizes()), shape_str(target.sizes()));
    const Tensor logp = log_softmax(input, class_dim);
    Tensor t = target.to(logp.dtype());
    if (ls > 0.0) t = t * (1.0 - ls) + ls / static_cast<double>(classes);
    Tensor prod = logp * t;
    if (options.weight().defined()) prod = prod * weight_view(logp);
    const Tensor loss = -prod.sum(class_dim);
    switch (r) {
      case Reduction::None: return loss;
      case Reduction::Sum: return loss.sum();
      case Reduction::Mean: break;
    }
    return loss.sum() / (static_cast<double>(input.numel()) / static_cast<double>(classes));
  }

  const Tensor logp = log_softmax(input, class_dim);
  const std::int64_t ignore = options.ignore_index();
  const ClassTargets ct = check_class_targets(logp, target, options.weight(), ignore, op);
  const Tensor nll_elems = -(pick_class(ct.x3, ct.t2, ignore) * ct.weight_t);
  Tensor nll;
  switch (r) {
    case Reduction::None: nll = nll_elems.reshape(ct.out_shape); break;
    case Reduction::Sum: nll = nll_elems.sum(); break;
    case Reduction::Mean: nll = nll_elems.sum() / ct.weight_t.sum(); break;
  }
  if (ls == 0.0) return nll;

  // PyTorch 1.13's label smoothing: the uniform part −Σ_c w_c·log p_c, zero at ignored targets;
  // kMean divides by the same total weight as the nll part (the count of non-ignored targets
  // without weights).
  const Tensor wlogp = options.weight().defined() ? logp * weight_view(logp) : logp;
  Tensor smooth = (-wlogp.sum(class_dim)).reshape(ct.t2.sizes());
  smooth = where(ct.ignored, zeros({}, smooth.dtype()), smooth);
  Tensor ret;
  switch (r) {
    case Reduction::None: ret = smooth.reshape(ct.out_shape); break;
    case Reduction::Sum: ret = smooth.sum(); break;
    case Reduction::Mean:
      ret = options.weight().defined() ? smooth.sum() / ct.weight_t.sum() : smooth.sum() / (1.0 - ct.ignored).sum();
      break;
  }
  return nll * (1.0 - ls) + ret * (ls / static_cast<double>(classes));
}

}  // namespace nn::functional
}  // namespace voxgrad

namespace voxgrad::detail {

void check_floating_arg(const Tensor& t, const char* op, const char* name) {
  check_defined(t, op, name);
  VOXGRAD_CHECK(is_floating_point(t.dtype()), "{}: {} must be floating point, but is {}", op, name, t.dtype());
}

std::pair<Tensor, Tensor> check_loss_pair(const Tensor& input, const Tensor& target, const char* op) {
  return nn::functional::check_pair(input, target, op);
}

Tensor clamp_min_value_only(const Tensor& v, double min, const char* node) {
  Tensor out;
  {
    NoGradGuard no_grad;
    out = v.clamp(min);
  }
  autograd::record(node, v, out, {}, [](const autograd::BackwardCtx& c) { return std::vector<Tensor>{c.grad()}; });
  return out;
}

Tensor reduce_loss(const Tensor& loss, Reduction reduction, const char* op) {
  return nn::functional::reduce(loss, nn::functional::checked(reduction, op));
}

}  // namespace voxgrad::detail
