// The conv pair's public functions and their autograd records.
//
// Every convolution runs on one geometry in its conv3d form (ops/detail/conv_geometry.h) through
// three maps — forward, adjoint, weight — and each map's gradient is another map of the same
// geometry:
//   conv3d            y = forward(x, w)    dx = adjoint(dy, w)   dw = weight(x, dy)
//   conv_transpose3d  y = adjoint(x, w)    dx = forward(dy, w)   dw = weight(dy, x)
//   conv3d_weight_grad dw = weight(x, dy)  dx = adjoint(dy, ddw) d(dy) = forward(x, ddw)
// so double backward falls out of recording each map as the others' gradient. Arguments are
// validated once (ops/detail/conv_spec.h); the kernel is picked once (ops/detail/conv_kernels.h).

#include "voxgrad/ops/conv.h"

#include <algorithm>
#include <vector>

#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/conv_kernels.h"
#include "voxgrad/ops/detail/conv_spec.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save_for_backward;
using detail::ConvGeometry;
using detail::Dims;

namespace {

// The two linear maps of a geometry, each the other's adjoint.
enum class Map { Forward, Adjoint };

Tensor linear_map(Map map, const Tensor& in, const Tensor& w, const Tensor& b, const ConvGeometry& g,
                  Tensor* input_sums = nullptr);
Tensor weight_map(const Tensor& x, const Tensor& dy, const ConvGeometry& g);
std::vector<Tensor> weight_and_bias_maps(const Tensor& x, const Tensor& dy, const ConvGeometry& g);
std::vector<Tensor> adjoint_and_weight_maps(const Tensor& dy, const Tensor& w, const Tensor& x, const ConvGeometry& g,
                                            bool bias);
bool fuses_adjoint_and_weight(const Tensor& dy, const Tensor& w, const Tensor& x, const ConvGeometry& g);
std::vector<Tensor> forward_and_weight_maps(const Tensor& x, const Tensor& w, const Tensor& dy, const ConvGeometry& g,
                                            Tensor* input_sums = nullptr);
void record_linear(Map map, const Tensor& in, const Tensor& w, const Tensor& bias, Tensor& out, const ConvGeometry& g);
void record_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g);

Shape nc_shape(std::int64_t N, std::int64_t C, const Dims& d) { return {N, C, d[0], d[1], d[2]}; }

// out (N, C, ...) = bias[c] everywhere, or zeros without a bias: a map with nothing to sum.
template <typename T>
void fill_bias(const Tensor& out, const Tensor& bias) {
  const std::int64_t NC = out.size(0) * out.size(1), C = out.size(1), V = out.numel() / std::max<std::int64_t>(NC, 1);
  T* o = out.data_ptr<T>();
  const T* b = bias.defined() ? bias.data_ptr<T>() : nullptr;
  for (std::int64_t i = 0; i < NC; ++i) std::fill(o + i * V, o + (i + 1) * V, b ? b[i % C] : T(0));
}

// Records db = dy summed over everything but the channel dim (dy contiguous).
void record_bias_grad(const Tensor& dy, Tensor& db) {
  const std::int64_t C = dy.size(1);
  record("ConvBiasGradBackward", dy, db, {},
         [sizes = Shape(dy.sizes().begin(), dy.sizes().end()), C](const BackwardCtx& c) {
           return std::vector<Tensor>{c.grad().reshape({1, C, 1, 1, 1}).expand(sizes)};
         });
}

// The bias gradient: dy summed over everything but the channel dim.
Tensor bias_grad(const Tensor& grad_output) {
  const Tensor dy = grad_output.contiguous();
  const std::int64_t N = dy.size(0), C = dy.size(1);
  // The volume of an empty dy may not fit in int64 (N = 0 with huge spatial sizes).
  const std::int64_t V = dy.numel() == 0 ? 0 : dy.size(2) * dy.size(3) * dy.size(4);
  Tensor db = empty({C}, dy.dtype());
  detail::dispatch_floating(dy.dtype(), "conv3d", [&]<typename T>() {
    if (dy.numel() == 0) {
      std::fill(db.data_ptr<T>(), db.data_ptr<T>() + C, T(0));
      return;
    }
    detail::channel_sum<T>(dy.data_ptr<T>(), db.data_ptr<T>(), N, C, V);
  });
  record_bias_grad(dy, db);
  return db;
}

std::vector<Tensor> three(Tensor a, Tensor b, Tensor c) {
  std::vector<Tensor> v(3);
  v[0] = std::move(a);
  v[1] = std::move(b);
  v[2] = std::move(c);
  return v;
}

// forward: y (N, Cout, out) from x (N, Cin, vol), as conv3d; adjoint: x from y, as
// conv_transpose3d; each plus a bias over its output channels. The gradient with respect to the
// input is the other map with the same weight; the weight gradient is the weight map of (x, dy).
// With input_sums (the forward map only), also the input summed per channel, recorded as bias_grad
// records it: a transposed convolution's bias gradient, which the direct kernels sum as they copy
// each sample of its output gradient for this map.
Tensor linear_map(Map map, const Tensor& input, const Tensor& weight, const Tensor& bias, const ConvGeometry& g,
                  Tensor* input_sums) {
  const bool forward = map == Map::Forward;
  const char* op = forward ? "conv3d" : "conv_transpose3d";
  const Tensor in = input.contiguous(), w = weight.contiguous(), b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor out =
      forward ? empty(nc_shape(g.N, g.Cout, g.out), in.dtype()) : empty(nc_shape(g.N, g.Cin, g.vol), in.dtype());
  const bool sums = forward && input_sums != nullptr && out.numel() != 0 && in.numel() != 0 && w.numel() != 0;
  Tensor db = sums ? empty({g.Cin}, in.dtype()) : Tensor();
  detail::dispatch_floating(in.dtype(), op, [&]<typename T>() {
    if (out.numel() == 0) return;
    if (in.numel() == 0 || w.numel() == 0) return fill_bias<T>(out, b);  // nothing to sum
    const T* bp = b.defined() ? b.data_ptr<T>() : nullptr;
    if (forward) {
      detail::conv_forward<T>(in.data_ptr<T>(), w.data_ptr<T>(), bp, out.data_ptr<T>(), g,
                              sums ? db.data_ptr<T>() : nullptr);
    } else {
      detail::conv_adjoint<T>(in.data_ptr<T>(), w.data_ptr<T>(), bp, out.data_ptr<T>(), g);
    }
  });
  record_linear(map, in, w, bias, out, g);
  if (sums) {
    record_bias_grad(in, db);
    *input_sums = db;
  } else if (input_sums != nullptr) {
    *input_sums = bias_grad(in);  // empty operands: as the bias gradient alone
  }
  return out;
}

// Records out = map(in, w) + bias for autograd (in and w contiguous).
void record_linear(Map map, const Tensor& in, const Tensor& w, const Tensor& bias, Tensor& out, const ConvGeometry& g) {
  const Tensor inputs[3] = {in, w, bias};
  Tensor outputs[1] = {out};
  record(map == Map::Forward ? "Conv3dBackward" : "ConvTranspose3dBackward", inputs, outputs,
         {save_for_backward(w.requires_grad() ? in : Tensor()), save_for_backward(in.requires_grad() ? w : Tensor())},
         [map, g](const BackwardCtx& c) {
           const Tensor& grad = c.grad();
           Tensor dx, dw, db;
           // A transposed convolution's bias gradient is summed where its input gradient's map copies
           // the output gradient.
           Tensor* grad_sums = map == Map::Adjoint && c.needs_input_grad(2) ? &db : nullptr;
           if (map == Map::Adjoint && c.needs_input_grad(0) && c.needs_input_grad(1)) {
             std::vector<Tensor> both = forward_and_weight_maps(grad, c.saved[1], c.saved[0], g, grad_sums);
             dx = std::move(both[0]);
             dw = std::move(both[1]);
           } else if (map == Map::Forward && c.needs_input_grad(0) && c.needs_input_grad(1) &&
                      fuses_adjoint_and_weight(grad, c.saved[1], c.saved[0], g)) {
             std::vector<Tensor> all = adjoint_and_weight_maps(grad, c.saved[1], c.saved[0], g, c.needs_input_grad(2));
             dx = std::move(all[0]);
             dw = std::move(all[1]);
             db = std::move(all[2]);
           } else {
             const Map other = map == Map::Forward ? Map::Adjoint : Map::Forward;
             if (map == Map::Forward && c.needs_input_grad(1) && c.needs_input_grad(2)) {
               std::vector<Tensor> both = weight_and_bias_maps(c.saved[0], grad, g);
               dw = std::move(both[0]);
               db = std::move(both[1]);
             } else if (c.needs_input_grad(1)) {
               dw = map == Map::Forward ? weight_map(c.saved[0], grad, g) : weight_map(grad, c.saved[0], g);
             }
             if (c.needs_input_grad(0)) dx = linear_map(other, grad, c.saved[1], {}, g, grad_sums);
           }
           if (c.needs_input_grad(2) && !db.defined()) db = bias_grad(grad);
           return three(std::move(dx), std::move(dw), std::move(db));
         });
}

// dw (Cout, Cin/groups, kernel) = weight(x (N, Cin, vol), dy (N, Cout, out)). It is bilinear in
// (x, dy): its gradients are the other two maps applied to the incoming ddw.
Tensor weight_map(const Tensor& input, const Tensor& grad_output, const ConvGeometry& g) {
  const Tensor x = input.contiguous(), dy = grad_output.contiguous();
  Tensor dw = empty({g.Cout, g.cin_g(), g.kernel[0], g.kernel[1], g.kernel[2]}, x.dtype());
  detail::dispatch_floating(x.dtype(), "conv3d_weight_grad", [&]<typename T>() {
    if (dw.numel() == 0) return;
    if (x.numel() == 0 || dy.numel() == 0) {
      std::fill(dw.data_ptr<T>(), dw.data_ptr<T>() + dw.numel(), T(0));
      return;
    }
    detail::conv_weight<T>(x.data_ptr<T>(), dy.data_ptr<T>(), dw.data_ptr<T>(), g);
  });
  record_weight(x, dy, dw, g);
  return dw;
}

// The weight map and the bias gradient of a convolution together: the direct kernels sum dy for db
// as they read it for dw. Both recorded as weight_map() and bias_grad() record them.
std::vector<Tensor> weight_and_bias_maps(const Tensor& input, const Tensor& grad_output, const ConvGeometry& g) {
  const Tensor x = input.contiguous(), dy = grad_output.contiguous();
  if (x.numel() == 0 || dy.numel() == 0) return {weight_map(x, dy, g), bias_grad(dy)};  // as the separate maps
  Tensor dw = empty({g.Cout, g.cin_g(), g.kernel[0], g.kernel[1], g.kernel[2]}, x.dtype());
  Tensor db = empty({g.Cout}, dy.dtype());
  detail::dispatch_floating(x.dtype(), "conv3d_weight_grad", [&]<typename T>() {
    if (dw.numel() == 0) {  // no weights (a zero-sized kernel): only the bias sums
      detail::channel_sum<T>(dy.data_ptr<T>(), db.data_ptr<T>(), g.N, g.Cout, g.out_size());
      return;
    }
    detail::conv_weight<T>(x.data_ptr<T>(), dy.data_ptr<T>(), dw.data_ptr<T>(), g, db.data_ptr<T>());
  });
  record_weight(x, dy, dw, g);
  record_bias_grad(dy, db);
  return {dw, db};
}

// Records dw = weight(x, dy) for autograd (x and dy contiguous).
void record_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g) {
  record("Conv3dWeightGradBackward", x, dy, dw,
         {save_for_backward(dy.requires_grad() ? x : Tensor()), save_for_backward(x.requires_grad() ? dy : Tensor())},
         [g](const BackwardCtx& c) {
           const Tensor& ddw = c.grad();
           std::vector<Tensor> grads(2);
           if (c.needs_input_grad(0)) grads[0] = linear_map(Map::Adjoint, c.saved[1], ddw, {}, g);
           if (c.needs_input_grad(1)) grads[1] = linear_map(Map::Forward, c.saved[0], ddw, {}, g);
           return grads;
         });
}

// Whether adjoint_and_weight_maps fuses the two maps: float32, non-empty operands, a geometry the fused
// kernel serves.
bool fuses_adjoint_and_weight(const Tensor& dy, const Tensor& w, const Tensor& x, const ConvGeometry& g) {
  return dy.dtype() == kFloat32 && dy.numel() != 0 && w.numel() != 0 && x.numel() != 0 &&
         detail::conv_fuses_adjoint_and_weight(g);
}

// adjoint(dy, w) and weight(x, dy) together (fuses_adjoint_and_weight): a convolution's input and weight
// gradients, both reading dy, in one pass over it; with `bias`, also its bias gradient. Recorded as the
// separate maps record them.
std::vector<Tensor> adjoint_and_weight_maps(const Tensor& grad_output, const Tensor& weight, const Tensor& input,
                                            const ConvGeometry& g, bool bias) {
  const Tensor dy = grad_output.contiguous(), w = weight.contiguous(), x = input.contiguous();
  Tensor dx = empty(nc_shape(g.N, g.Cin, g.vol), dy.dtype());
  Tensor dw = empty({g.Cout, g.cin_g(), g.kernel[0], g.kernel[1], g.kernel[2]}, dy.dtype());
  Tensor db = bias ? empty({g.Cout}, dy.dtype()) : Tensor();
  detail::conv_adjoint_and_weight(dy.data_ptr<float>(), w.data_ptr<float>(), x.data_ptr<float>(), dx.data_ptr<float>(),
                                  dw.data_ptr<float>(), g, bias ? db.data_ptr<float>() : nullptr);
  record_linear(Map::Adjoint, dy, w, Tensor(), dx, g);
  record_weight(x, dy, dw, g);
  if (bias) record_bias_grad(dy, db);
  return {dx, dw, db};
}

// forward(x, w) and weight(x, dy) together: a transposed convolution's input and weight gradients,
// both reading x (its output gradient), whose padded copy the direct kernels then make once.
std::vector<Tensor> forward_and_weight_maps(const Tensor& input, const Tensor& weight, const Tensor& grad_output,
                                            const ConvGeometry& g, Tensor* input_sums) {
  const Tensor x = input.contiguous(), w = weight.contiguous(), dy = grad_output.contiguous();
  if (x.numel() == 0 || w.numel() == 0 || dy.numel() == 0) {  // the separate maps handle empty operands
    return {linear_map(Map::Forward, x, w, {}, g, input_sums), weight_map(x, dy, g)};
  }
  Tensor y = empty(nc_shape(g.N, g.Cout, g.out), x.dtype());
  Tensor dw = empty({g.Cout, g.cin_g(), g.kernel[0], g.kernel[1], g.kernel[2]}, x.dtype());
  Tensor db = input_sums != nullptr ? empty({g.Cin}, x.dtype()) : Tensor();
  detail::dispatch_floating(x.dtype(), "conv_transpose3d", [&]<typename T>() {
    detail::conv_forward_and_weight<T>(x.data_ptr<T>(), w.data_ptr<T>(), y.data_ptr<T>(), dy.data_ptr<T>(),
                                       dw.data_ptr<T>(), g, db.defined() ? db.data_ptr<T>() : nullptr);
  });
  record_linear(Map::Forward, x, w, Tensor(), y, g);
  record_weight(x, dy, dw, g);
  if (db.defined()) {
    record_bias_grad(x, db);
    *input_sums = db;
  }
  return {y, dw};
}

}  // namespace

namespace detail {

Tensor convolution(const ConvSpec& s, const Tensor& input, const Tensor& weight, const Tensor& bias) {
  const ConvPlan plan = check_conv(s, input, weight, bias);
  const Tensor x = lift_spatial(as_batched(input, s.rank + 2), s.rank, 2);
  const Tensor w = lift_spatial(weight, s.rank, 2);
  Tensor y = linear_map(s.transposed ? Map::Adjoint : Map::Forward, x, w, bias, plan.geometry);
  if (plan.trim != Dims{0, 0, 0}) {
    for (std::size_t i = 0; i < 3; ++i) {
      const auto dim = static_cast<std::int64_t>(2 + i);
      if (plan.trim[i] != 0) y = y.narrow(dim, plan.trim[i], plan.result[i]);
    }
    y = y.contiguous();
  }
  y = drop_spatial(y, s.rank, 2);
  return plan.batched ? y : y.squeeze(0);
}

}  // namespace detail

namespace {

detail::ConvSpec spec_of(const char* op, const ExpandingArray<3>& stride, const ExpandingArray<3>& padding,
                         const ExpandingArray<3>& dilation, std::int64_t groups) {
  detail::ConvSpec s;
  s.op = op;
  s.stride = stride.values();
  s.padding = padding.values();
  s.dilation = dilation.values();
  s.groups = groups;
  return s;
}

}  // namespace

Tensor conv3d(const Tensor& input, const Tensor& weight, const Tensor& bias, ExpandingArray<3> stride,
              ExpandingArray<3> padding, ExpandingArray<3> dilation, std::int64_t groups) {
  return detail::convolution(spec_of("conv3d", stride, padding, dilation, groups), input, weight, bias);
}

Tensor conv_transpose3d(const Tensor& input, const Tensor& weight, const Tensor& bias, ExpandingArray<3> stride,
                        ExpandingArray<3> padding, ExpandingArray<3> output_padding, std::int64_t groups,
                        ExpandingArray<3> dilation) {
  detail::ConvSpec s = spec_of("conv_transpose3d", stride, padding, dilation, groups);
  s.transposed = true;
  s.output_padding = output_padding.values();
  return detail::convolution(s, input, weight, bias);
}

Tensor conv3d_weight_grad(const Tensor& input, const Tensor& grad_output, ExpandingArray<3> kernel_size,
                          ExpandingArray<3> stride, ExpandingArray<3> padding, ExpandingArray<3> dilation,
                          std::int64_t groups) {
  const detail::ConvSpec s = spec_of("conv3d_weight_grad", stride, padding, dilation, groups);
  return weight_map(input, grad_output, detail::check_conv_weight_grad(s, input, grad_output, kernel_size.values()));
}

}  // namespace voxgrad
