#include "voxgrad/nn/functional/normalization.h"

#include <algorithm>
#include <vector>

#include <fmt/ranges.h>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/autograd/recompute.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/tensor_impl.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/norm_kernels.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/reduction.h"

namespace voxgrad::nn::functional {
namespace {

// With batch statistics (training batch norm, instance norm, group norm) the forward and the
// first-order backward run as fused kernels (ops/detail/norm_kernels): one pass over the data for
// the statistics, one for the output, two for the gradients. When the backward must itself be
// differentiable (create_graph), it is built from differentiable ops instead, so gradients of any
// order work. Everything else — evaluation with running statistics, and operands of mixed dtypes —
// is a composite of differentiable ops:
//   c = x − mean,  var = mean(c²),  y = c · ((var + eps)^(−1/2) · weight) + bias
// with the means over the normalised elements and weight and bias broadcast per channel as
// (1, C, 1, …). Running statistics are updated in place under NoGradGuard.

using autograd::BackwardCtx;
using detail::NormLayout;

// (1, C, 1, ..., 1) with `dim` entries: a per-channel vector broadcast over (N, C, *).
Shape channel_shape(std::int64_t dim, std::int64_t channels) {
  Shape s(static_cast<std::size_t>(dim), 1);
  s[1] = channels;
  return s;
}

void check_input(const char* op, const Tensor& input) {
  voxgrad::detail::check_defined(input, op, "input");
  VOXGRAD_CHECK(input.dim() >= 2,
                "{}: expected an input of shape (N, C, *) with at least 2 dims, but got input of size {}", op,
                shape_str(input.sizes()));
  voxgrad::detail::check_floating(input, op);
}

// PyTorch's check on running statistics, weight and bias: "weight should contain 3 elements not 4".
void check_per_channel(const char* op, const Tensor& t, const char* name, std::int64_t channels) {
  if (!t.defined()) return;
  VOXGRAD_CHECK(t.numel() == channels, "{}: {} should contain {} elements not {}", op, name, channels, t.numel());
}

// PyTorch's _verify_batch_size and its instance-norm sibling: statistics need more than one `what`.
void check_batch_size(bool ok, const char* what, IntArrayRef sizes, const char* op) {
  VOXGRAD_CHECK(ok, "{}: Expected more than 1 {} when training, got input size {}", op, what, shape_str(sizes));
}

std::int64_t spatial_numel(const Tensor& input) {
  std::int64_t n = 1;
  for (std::int64_t d = 2; d < input.dim(); ++d) n *= input.size(d);
  return n;
}

// y · weight + bias with weight and bias reshaped to `cs` (per channel, or normalized_shape for layer_norm).
Tensor apply_affine(Tensor y, const Tensor& weight, const Tensor& bias, const Shape& cs) {
  if (weight.defined()) y = y * weight.reshape(cs);
  if (bias.defined()) y = y + bias.reshape(cs);
  return y;
}

// The mean, the centred input and the biased variance over `dims` (kept as size-1 dims).
struct Centered {
  Tensor mean, centered, var;
};
Centered center(const Tensor& x, IntArrayRef dims) {
  Centered r;
  r.mean = x.mean(dims, /*keepdim=*/true);
  r.centered = x - r.mean;
  r.var = (r.centered * r.centered).mean(dims, /*keepdim=*/true);
  return r;
}

// centered · (var + eps)^(−1/2) · weight + bias, where `scale_shape` is the shape the (C) weight
// takes to broadcast against the statistics and `cs` the one it takes against the input.
Tensor scale_shift(const Tensor& centered, const Tensor& var, double eps, const Tensor& weight, const Tensor& bias,
                   const Shape& scale_shape, const Shape& cs) {
  Tensor scale = (var + eps).pow(-0.5);
  if (weight.defined()) scale = scale * weight.reshape(scale_shape);
  Tensor y = centered * scale;
  if (bias.defined()) y = y + bias.reshape(cs);
  return y;
}

// running = (1 − momentum)·running + momentum·value, in place and unrecorded.
void update_running(const Tensor& running, const Tensor& value, double momentum) {
  if (!running.defined()) return;
  NoGradGuard no_grad;
  Tensor r = running;
  r.mul_(1.0 - momentum);
  r.add_(value.detach().reshape(running.sizes()), momentum);
}

// The gradients of the normalisation with batch statistics, as differentiable ops (used when the
// backward is itself recorded). With x̂ = (x − m)·r and ĝ = dy·w over each stat group:
//   dx = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)),  dw = Σ dy·x̂,  db = Σ dy  (per channel).
std::vector<Tensor> norm_backward_composite(const Tensor& x, const Tensor& w, const Tensor& dy, const NormLayout& l,
                                            double eps, const BackwardCtx& ctx) {
  Tensor xr;
  Shape stat_dims, channel_dims, wshape;
  if (l.per_channel()) {
    xr = x.reshape({l.N, l.C, l.S});
    stat_dims = {0, 2};
    channel_dims = {0, 2};
    wshape = {1, l.C, 1};
  } else {
    const std::int64_t per = l.C / l.groups;
    xr = x.reshape({l.N, l.groups, per, l.S});
    stat_dims = {2, 3};
    channel_dims = {0, 3};
    wshape = {1, l.groups, per, 1};
  }
  const Tensor g = dy.reshape(xr.sizes());
  const Tensor centered = xr - xr.mean(stat_dims, true);
  const Tensor rstd = ((centered * centered).mean(stat_dims, true) + eps).pow(-0.5);
  const Tensor xhat = centered * rstd;
  std::vector<Tensor> out(3);
  if (ctx.needs_input_grad(0)) {
    const Tensor gw = w.defined() ? g * w.reshape(wshape) : g;
    out[0] = (rstd * (gw - gw.mean(stat_dims, true) - xhat * (gw * xhat).mean(stat_dims, true))).reshape(x.sizes());
  }
  if (ctx.needs_input_grad(1)) out[1] = (g * xhat).sum(channel_dims).reshape({l.C});
  if (ctx.needs_input_grad(2)) out[2] = g.sum(channel_dims).reshape({l.C});
  return out;
}

// The fused kernels need one floating dtype for input, weight and bias, and some elements.
bool can_fuse(const Tensor& x, const Tensor& w, const Tensor& b) {
  return x.numel() > 0 && (!w.defined() || w.dtype() == x.dtype()) && (!b.defined() || b.dtype() == x.dtype());
}

// Output and, per stat group, the batch mean and biased variance (not part of the graph).
struct FusedNorm {
  Tensor y, mean, var;
};

// With `relu`, y is relu of the normalised output (GroupNorm followed by ReLU in one op: the same bits,
// without the intermediate tensor, its pass and ReLU's backward pass).
FusedNorm fused_norm(const char* node_name, const Tensor& input, const Tensor& weight, const Tensor& bias,
                     const NormLayout& l, double eps, bool relu = false) {
  const Tensor x = input.contiguous();
  const Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  const Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  FusedNorm r;
  r.y = empty(x.sizes(), x.dtype());
  r.mean = empty({l.stat_count()}, x.dtype());
  r.var = empty({l.stat_count()}, x.dtype());
  Tensor invstd = empty({l.stat_count()}, x.dtype());
  detail::dispatch_floating(x.dtype(), node_name, [&]<typename T>() {
    detail::norm_stats_forward<T>(x.data_ptr<T>(), l, eps, r.mean.data_ptr<T>(), invstd.data_ptr<T>(),
                                  r.var.data_ptr<T>(), w.defined() ? w.data_ptr<T>() : nullptr,
                                  b.defined() ? b.data_ptr<T>() : nullptr, r.y.data_ptr<T>(), relu);
  });
  const Tensor inputs[3] = {x, w, b};
  Tensor outputs[1] = {r.y};
  // The ReLU's mask is the sign of the normalised output, computed again from x, w and b.
  autograd::record(node_name, inputs, outputs,
                   {autograd::save_for_backward(x), autograd::save_for_backward(w), autograd::save_for_backward(r.mean),
                    autograd::save_for_backward(invstd), autograd::save_for_backward(relu ? b : Tensor())},
                   [l, eps, relu](const BackwardCtx& c) {
                     const Tensor &sx = c.saved[0], &sw = c.saved[1], &sb = c.saved[4];
                     if (GradMode::is_enabled()) {
                       if (!relu) return norm_backward_composite(sx, sw, c.grad(), l, eps, c);
                       // relu_backward's mask on the normalised output (constant), then the norm's gradients.
                       Tensor y = empty(sx.sizes(), sx.dtype());
                       detail::dispatch_floating(sx.dtype(), "norm backward", [&]<typename T>() {
                         auto ptr = [](const Tensor& t) { return t.defined() ? t.data_ptr<T>() : nullptr; };
                         detail::norm_forward<T>(sx.data_ptr<T>(), l, c.saved[2].data_ptr<T>(),
                                                 c.saved[3].data_ptr<T>(), ptr(sw), ptr(sb), y.data_ptr<T>());
                       });
                       const Tensor g = where(y.le(0.0), zeros({}, c.grad().dtype()), c.grad());
                       return norm_backward_composite(sx, sw, g, l, eps, c);
                     }
                     const Tensor dy = c.grad().contiguous();
                     std::vector<Tensor> g(3);
                     if (c.needs_input_grad(0)) g[0] = empty(sx.sizes(), sx.dtype());
                     if (c.needs_input_grad(1)) g[1] = empty({l.C}, sx.dtype());
                     if (c.needs_input_grad(2)) g[2] = empty({l.C}, sx.dtype());
                     detail::dispatch_floating(sx.dtype(), "norm backward", [&]<typename T>() {
                       auto ptr = [](const Tensor& t) { return t.defined() ? t.data_ptr<T>() : nullptr; };
                       detail::norm_backward<T>(dy.data_ptr<T>(), sx.data_ptr<T>(), l, c.saved[2].data_ptr<T>(),
                                                c.saved[3].data_ptr<T>(), ptr(sw), ptr(g[0]), ptr(g[1]), ptr(g[2]),
                                                ptr(sb), relu);
                     });
                     return g;
                   });
  // The output is an affine map of tensors saved anyway: a later op that saves it keeps this recipe
  // (the same kernel on the same statistics, so the same bits) instead of the output. Weight and
  // bias go in as copies (C values), so that an optimizer stepping them before backward changes
  // the recomputed value no more than it would change a kept output.
  if (const std::shared_ptr<autograd::Node>& node = r.y.impl()->grad_fn) {
    const auto copy = [](const Tensor& t) { return t.defined() ? t.detach().clone() : t; };
    const Tensor recipe_inputs[5] = {x, copy(w), copy(b), r.mean, invstd};
    autograd::set_recompute(node, r.y, recipe_inputs, [l, relu](std::vector<Tensor>& s) {
      const Tensor &sx = s[0], &sw = s[1], &sb = s[2];
      Tensor y = empty(sx.sizes(), sx.dtype());
      detail::dispatch_floating(sx.dtype(), "norm recompute", [&]<typename T>() {
        auto ptr = [](const Tensor& t) { return t.defined() ? t.data_ptr<T>() : nullptr; };
        detail::norm_forward<T>(sx.data_ptr<T>(), l, s[3].data_ptr<T>(), s[4].data_ptr<T>(), ptr(sw), ptr(sb),
                                y.data_ptr<T>(), relu);
      });
      return y;
    });
  }
  return r;
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormFuncOptions& options) {
  const char* op = "batch_norm";
  check_input(op, input);
  const std::int64_t C = input.size(1);
  check_per_channel(op, running_mean, "running_mean", C);
  check_per_channel(op, running_var, "running_var", C);
  check_per_channel(op, options.weight(), "weight", C);
  check_per_channel(op, options.bias(), "bias", C);
  if (!options.training()) {
    for (const auto& [t, name] : {std::pair{&running_mean, "running_mean"}, std::pair{&running_var, "running_var"}}) {
      VOXGRAD_CHECK(t->defined(), "{}: {} must be defined in evaluation mode", op, name);
    }
  } else {
    check_batch_size(input.size(0) * spatial_numel(input) != 1, "value per channel", input.sizes(), op);
  }
  const Shape cs = channel_shape(input.dim(), C);
  // No elements: nothing to normalise and no statistics to update (as PyTorch).
  if (input.numel() == 0) return apply_affine(input.clone(), options.weight(), options.bias(), cs);

  if (options.training()) {
    // The running variance is unbiased: n / (n − 1) times the batch's biased variance.
    const double n = static_cast<double>(input.numel() / C);
    if (can_fuse(input, options.weight(), options.bias())) {
      const FusedNorm r = fused_norm("BatchNormBackward", input, options.weight(), options.bias(),
                                     NormLayout{input.size(0), C, spatial_numel(input), 0}, options.eps());
      update_running(running_mean, r.mean, options.momentum());
      if (running_var.defined()) update_running(running_var, r.var * (n / (n - 1.0)), options.momentum());
      return r.y;
    }
    Shape dims{0};
    for (std::int64_t d = 2; d < input.dim(); ++d) dims.push_back(d);
    const Centered c = center(input, dims);
    update_running(running_mean, c.mean.detach(), options.momentum());
    if (running_var.defined()) update_running(running_var, c.var.detach() * (n / (n - 1.0)), options.momentum());
    return scale_shift(c.centered, c.var, options.eps(), options.weight(), options.bias(), cs, cs);
  }
  return scale_shift(input - running_mean.reshape(cs), running_var.reshape(cs), options.eps(), options.weight(),
                     options.bias(), cs, cs);
}

Tensor instance_norm(const Tensor& input, const InstanceNormFuncOptions& options) {
  const char* op = "instance_norm";
  check_input(op, input);
  const std::int64_t N = input.size(0), C = input.size(1);
  check_per_channel(op, options.running_mean(), "running_mean", C);
  check_per_channel(op, options.running_var(), "running_var", C);
  check_per_channel(op, options.weight(), "weight", C);
  check_per_channel(op, options.bias(), "bias", C);
  const std::int64_t S = spatial_numel(input);
  if (options.use_input_stats()) {
    check_batch_size(S > 1, "spatial element", input.sizes(), op);
  } else {
    VOXGRAD_CHECK(options.running_mean().defined() && options.running_var().defined(),
                  "{}: Expected running_mean and running_var to be defined when use_input_stats is false", op);
  }
  const Shape cs = channel_shape(input.dim(), C);
  if (input.numel() == 0) return apply_affine(input.clone(), options.weight(), options.bias(), cs);

  if (options.use_input_stats()) {
    Tensor y, mean, var;
    if (can_fuse(input, options.weight(), options.bias())) {
      FusedNorm r = fused_norm("InstanceNormBackward", input, options.weight(), options.bias(), NormLayout{N, C, S, C},
                               options.eps());
      y = r.y;
      mean = r.mean;
      var = r.var;
    } else {
      Shape dims;
      for (std::int64_t d = 2; d < input.dim(); ++d) dims.push_back(d);
      const Centered c = center(input, dims);
      y = scale_shift(c.centered, c.var, options.eps(), options.weight(), options.bias(), cs, cs);
      mean = c.mean.detach();
      var = c.var.detach();
    }
    // As PyTorch: the running statistics move towards the batch average of the per-instance mean
    // and unbiased variance.
    const double n = static_cast<double>(S);
    if (options.running_mean().defined()) {
      update_running(options.running_mean(), mean.reshape({N, C}).mean({0}), options.momentum());
    }
    if (options.running_var().defined()) {
      update_running(options.running_var(), (var * (n / (n - 1.0))).reshape({N, C}).mean({0}), options.momentum());
    }
    return y;
  }
  return scale_shift(input - options.running_mean().reshape(cs), options.running_var().reshape(cs), options.eps(),
                     options.weight(), options.bias(), cs, cs);
}

namespace {

// group_norm's checks on input, num_groups, weight and bias, with PyTorch's messages; the layout of
// its stat groups.
NormLayout group_norm_layout(const char* op, const Tensor& input, const GroupNormFuncOptions& options) {
  voxgrad::detail::check_defined(input, op, "input");
  VOXGRAD_CHECK(input.dim() >= 2, "{}: Expected at least 2 dimensions for input tensor but received {}", op,
                input.dim());
  voxgrad::detail::check_floating(input, op);
  const std::int64_t G = options.num_groups(), N = input.size(0), C = input.size(1);
  VOXGRAD_CHECK(G > 0, "{}: num_groups must be positive, but got num_groups={}", op, G);
  VOXGRAD_CHECK(C % G == 0,
                "{}: Expected number of channels in input to be divisible by num_groups, but got input of shape {} "
                "and num_groups={}",
                op, shape_str(input.sizes()), G);
  for (const auto& [t, name] : {std::pair{&options.weight(), "weight"}, std::pair{&options.bias(), "bias"}}) {
    if (!t->defined()) continue;
    VOXGRAD_CHECK(t->dim() == 1 && t->numel() == C,
                  "{}: Expected {} to be a vector of size equal to the number of channels in input, but got {} of "
                  "shape {} and input of shape {}",
                  op, name, name, shape_str(t->sizes()), shape_str(input.sizes()));
  }
  const std::int64_t S = spatial_numel(input);
  // PyTorch's _verify_batch_size on the grouped shape [N·C/G, G, *].
  Shape grouped_sizes{N * C / G, G};
  for (std::int64_t d = 2; d < input.dim(); ++d) grouped_sizes.push_back(input.size(d));
  check_batch_size(N * (C / G) * S != 1, "value per channel", grouped_sizes, op);
  return NormLayout{N, C, S, G};
}

}  // namespace

Tensor group_norm(const Tensor& input, const GroupNormFuncOptions& options) {
  const NormLayout l = group_norm_layout("group_norm", input, options);
  if (can_fuse(input, options.weight(), options.bias())) {
    return fused_norm("GroupNormBackward", input, options.weight(), options.bias(), l, options.eps()).y;
  }
  const std::int64_t G = l.groups, N = l.N, C = l.C, S = l.S;
  // (N, G, C/G, *): the statistics are per (sample, group), weight and bias per (group, channel).
  const Tensor grouped = input.reshape({N, G, C / G, S});
  const Centered c = center(grouped, {2, 3});
  const Shape gs{1, G, C / G, 1};
  return scale_shift(c.centered, c.var, options.eps(), options.weight(), options.bias(), gs, gs).reshape(input.sizes());
}

Tensor group_norm_relu(const Tensor& input, const GroupNormFuncOptions& options) {
  const NormLayout l = group_norm_layout("group_norm_relu", input, options);
  if (!can_fuse(input, options.weight(), options.bias())) return relu(group_norm(input, options));
  return fused_norm("GroupNormReluBackward", input, options.weight(), options.bias(), l, options.eps(),
                    /*relu=*/true)
      .y;
}

Tensor layer_norm(const Tensor& input, const LayerNormFuncOptions& options) {
  const char* op = "layer_norm";
  voxgrad::detail::check_defined(input, op, "input");
  voxgrad::detail::check_floating(input, op);
  const Shape& ns = options.normalized_shape();
  VOXGRAD_CHECK(!ns.empty(),
                "{}: Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, "
                "but got normalized_shape = []",
                op);
  for (const auto& [t, name] : {std::pair{&options.weight(), "weight"}, std::pair{&options.bias(), "bias"}}) {
    if (!t->defined()) continue;
    VOXGRAD_CHECK(t->sizes() == ns,
                  "{}: Expected {} to be of same shape as normalized_shape, but got {} of shape {} and "
                  "normalized_shape = {}",
                  op, name, name, shape_str(t->sizes()), shape_str(ns));
  }
  const auto nd = static_cast<std::int64_t>(ns.size());
  const bool fits = input.dim() >= nd && std::equal(ns.begin(), ns.end(), input.sizes().end() - nd);
  VOXGRAD_CHECK(fits, "{}: Given normalized_shape={}, expected input with shape [*, {}], but got input of size{}", op,
                shape_str(ns), fmt::join(ns, ", "), shape_str(input.sizes()));
  std::int64_t inner = 1;
  for (std::int64_t s : ns) inner *= s;
  if (input.numel() == 0) return apply_affine(input.clone(), options.weight(), options.bias(), ns);
  // (outer, 1, inner): one stat group per row, normalised by the fused kernels without affine; the
  // elementwise weight and bias then broadcast over the leading dims.
  const std::int64_t outer = input.numel() / inner;
  Tensor y = fused_norm("LayerNormBackward", input.reshape({outer, 1, inner}), Tensor(), Tensor(),
                        NormLayout{outer, 1, inner, 1}, options.eps())
                 .y.reshape(input.sizes());
  return apply_affine(y, options.weight(), options.bias(), ns);
}

Tensor normalize(const Tensor& input, const NormalizeFuncOptions& options) {
  voxgrad::detail::check_defined(input, "normalize", "input");
  return input / voxgrad::clamp(voxgrad::norm(input, options.p(), {options.dim()}, true), options.eps());
}

}  // namespace voxgrad::nn::functional
