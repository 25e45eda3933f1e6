#include "voxgrad/ops/pool.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/spatial.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save_for_backward;

// =================================================================================================
// Kernels: raw pointers, contiguous (planes, D, H, W) data, no autograd. Every (sample, channel)
// plane is independent, so planes are split across tasks and each plane is swept in a fixed order:
// scatters (the adjoints) stay race-free and results do not depend on the thread count.
// =================================================================================================

namespace {

using detail::Dims;
using detail::spatial;

struct PoolGeometry {
  Dims in{}, out{}, kernel{}, stride{}, padding{}, dilation{1, 1, 1};
  // Adaptive pooling: output o of a dim of size in → out reads [⌊o·in/out⌋, ⌈(o + 1)·in/out⌉)
  // (PyTorch's start_index / end_index); kernel then holds the largest window, stride and padding are unused.
  bool adaptive = false;
  std::int64_t in_volume() const { return in[0] * in[1] * in[2]; }
  std::int64_t out_volume() const { return out[0] * out[1] * out[2]; }
};

// Planes per task, so that a task visits roughly kElementwiseGrain input elements.
std::int64_t plane_grain(const PoolGeometry& g) {
  const std::int64_t work = std::max<std::int64_t>(1, g.out_volume() * g.kernel[0] * g.kernel[1] * g.kernel[2]);
  return std::max<std::int64_t>(1, detail::kElementwiseGrain / work);
}

template <typename Fn>
void for_planes(std::int64_t planes, const PoolGeometry& g, Fn&& fn) {
  detail::parallel_for(0, planes, plane_grain(g), [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) fn(p);
  });
}

// --- max pooling ---------------------------------------------------------------------------------

// One window along one dim: the first and one-past-last input position it may read (PyTorch's
// start = o·s − p moved past the padding in steps of the dilation; end clipped to the input).
struct Span {
  std::int64_t begin, end;
};
Span adaptive_window(std::int64_t o, std::int64_t dim, const PoolGeometry& g) {
  const std::int64_t in = g.in[dim], out = g.out[dim];
  // ⌊o·in/out⌋ and ⌈(o + 1)·in/out⌉ without forming the products' quotient in floating point.
  return {(o / out) * in + ((o % out) * in) / out, 1 + ((o + 1) * in - 1) / out};
}

Span max_window(std::int64_t o, std::int64_t dim, const PoolGeometry& g) {
  if (g.adaptive) return adaptive_window(o, dim, g);
  std::int64_t b = o * g.stride[dim] - g.padding[dim];
  const std::int64_t e = std::min(b + (g.kernel[dim] - 1) * g.dilation[dim] + 1, g.in[dim]);
  while (b < 0) b += g.dilation[dim];
  return {b, e};
}

template <typename T>
void max_pool_plane(const T* x, T* y, std::int64_t* idx, const PoolGeometry& g) {
  const std::int64_t H = g.in[1], W = g.in[2];
  std::int64_t o = 0;
  for (std::int64_t od = 0; od < g.out[0]; ++od) {
    const Span sd = max_window(od, 0, g);
    for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
      const Span sh = max_window(oh, 1, g);
      for (std::int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
        const Span sw = max_window(ow, 2, g);
        // As PyTorch: the index starts at the window's first position, a larger value or any NaN
        // takes over (so the last NaN wins), and ties keep the first. A dilated window can miss the
        // input entirely; it gives −∞ and index −1, so no gradient flows (PyTorch gives an index
        // that may lie outside the plane and routes a gradient to it).
        const bool empty = sd.begin >= sd.end || sh.begin >= sh.end || sw.begin >= sw.end;
        std::int64_t best_i = empty ? -1 : (sd.begin * H + sh.begin) * W + sw.begin;
        T best = -std::numeric_limits<T>::infinity();
        for (std::int64_t d = sd.begin; d < sd.end; d += g.dilation[0]) {
          for (std::int64_t h = sh.begin; h < sh.end; h += g.dilation[1]) {
            const std::int64_t row = (d * H + h) * W;
            for (std::int64_t w = sw.begin; w < sw.end; w += g.dilation[2]) {
              const T v = x[row + w];
              if (v > best || std::isnan(v)) {
                best = v;
                best_i = row + w;
              }
            }
          }
        }
        y[o] = best;
        idx[o] = best_i;
      }
    }
  }
}

// --- average pooling -----------------------------------------------------------------------------

// PyTorch's window rule: the window [o·s − p, o·s − p + k) is clipped to the padded input to give
// the count_include_pad divisor, then to the input itself for the elements read.
struct AvgWindow {
  Span span;
  std::int64_t padded_len;
};
AvgWindow avg_window(std::int64_t o, std::int64_t dim, const PoolGeometry& g) {
  if (g.adaptive) {
    const Span a = adaptive_window(o, dim, g);
    return {a, a.end - a.begin};
  }
  const std::int64_t b = o * g.stride[dim] - g.padding[dim];
  const std::int64_t e = std::min(b + g.kernel[dim], g.in[dim] + g.padding[dim]);
  return {{std::max<std::int64_t>(b, 0), std::min(e, g.in[dim])}, e - b};
}

struct AvgParams {
  bool count_include_pad = true;
  std::int64_t divisor_override = 0;  // 0: none
};

std::int64_t avg_divisor(const AvgWindow& d, const AvgWindow& h, const AvgWindow& w, const AvgParams& a) {
  if (a.divisor_override != 0) return a.divisor_override;
  if (a.count_include_pad) return d.padded_len * h.padded_len * w.padded_len;
  return (d.span.end - d.span.begin) * (h.span.end - h.span.begin) * (w.span.end - w.span.begin);
}

// Visits every output position with its window and divisor, in a fixed order.
template <typename Fn>
void for_each_avg_window(const PoolGeometry& g, const AvgParams& a, Fn&& fn) {
  std::int64_t o = 0;
  for (std::int64_t od = 0; od < g.out[0]; ++od) {
    const AvgWindow wd = avg_window(od, 0, g);
    for (std::int64_t oh = 0; oh < g.out[1]; ++oh) {
      const AvgWindow wh = avg_window(oh, 1, g);
      for (std::int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
        const AvgWindow ww = avg_window(ow, 2, g);
        fn(o, wd.span, wh.span, ww.span, avg_divisor(wd, wh, ww, a));
      }
    }
  }
}

// y = window sums / divisor; float32 sums are accumulated in float64.
template <typename T>
void avg_pool_plane(const T* x, T* y, const PoolGeometry& g, const AvgParams& a) {
  const std::int64_t H = g.in[1], W = g.in[2];
  for_each_avg_window(g, a, [&](std::int64_t o, Span sd, Span sh, Span sw, std::int64_t divisor) {
    double s = 0.0;
    for (std::int64_t d = sd.begin; d < sd.end; ++d) {
      for (std::int64_t h = sh.begin; h < sh.end; ++h) {
        const T* row = x + (d * H + h) * W;
        for (std::int64_t w = sw.begin; w < sw.end; ++w) s += static_cast<double>(row[w]);
      }
    }
    y[o] = static_cast<T>(s / static_cast<double>(divisor));
  });
}

// The adjoint: every input element of a window receives dy / divisor; dx must be zeroed.
template <typename T>
void avg_pool_adjoint_plane(const T* dy, T* dx, const PoolGeometry& g, const AvgParams& a) {
  const std::int64_t H = g.in[1], W = g.in[2];
  for_each_avg_window(g, a, [&](std::int64_t o, Span sd, Span sh, Span sw, std::int64_t divisor) {
    const T v = dy[o] / static_cast<T>(divisor);
    for (std::int64_t d = sd.begin; d < sd.end; ++d) {
      for (std::int64_t h = sh.begin; h < sh.end; ++h) {
        T* row = dx + (d * H + h) * W;
        for (std::int64_t w = sw.begin; w < sw.end; ++w) row[w] += v;
      }
    }
  });
}

// =================================================================================================
// Differentiable cores on contiguous 5-D tensors. Each linear map records its adjoint as its
// backward, and the adjoint records the map, so any order of derivative works.
// =================================================================================================

Tensor max_pool_scatter(const Tensor& grad, const Tensor& indices, const PoolGeometry& g);

// (N, C, in) → (N, C, out): picks the element each output's index names.
Tensor max_pool_gather(const Tensor& source, const Tensor& indices, const PoolGeometry& g) {
  const Tensor s = source.contiguous();
  const std::int64_t N = s.sizes()[0], C = s.sizes()[1];
  Tensor y = empty({N, C, g.out[0], g.out[1], g.out[2]}, s.dtype());
  detail::dispatch_floating(s.dtype(), "max_pool3d", [&]<typename T>() {
    const T* ps = s.data_ptr<T>();
    const std::int64_t* pi = indices.data_ptr<std::int64_t>();
    T* py = y.data_ptr<T>();
    const std::int64_t iv = g.in_volume(), ov = g.out_volume();
    for_planes(N * C, g, [&](std::int64_t p) {
      for (std::int64_t o = 0; o < ov; ++o) {
        const std::int64_t i = pi[p * ov + o];
        py[p * ov + o] = i >= 0 && i < iv ? ps[p * iv + i] : T(0);
      }
    });
  });
  record("MaxPool3dGatherBackward", s, y, {save_for_backward(indices)},
         [g](const BackwardCtx& c) { return std::vector<Tensor>{max_pool_scatter(c.grad(), c.saved[0], g)}; });
  return y;
}

// (N, C, out) → (N, C, in): adds each output gradient into the element its index names. This is
// max pooling's input gradient; its own gradient is the gather above.
Tensor max_pool_scatter(const Tensor& grad, const Tensor& indices, const PoolGeometry& g) {
  const Tensor dy = grad.contiguous();
  const std::int64_t N = dy.sizes()[0], C = dy.sizes()[1];
  Tensor dx = zeros({N, C, g.in[0], g.in[1], g.in[2]}, dy.dtype());
  detail::dispatch_floating(dy.dtype(), "max_pool3d", [&]<typename T>() {
    const T* pdy = dy.data_ptr<T>();
    const std::int64_t* pi = indices.data_ptr<std::int64_t>();
    T* pdx = dx.data_ptr<T>();
    const std::int64_t iv = g.in_volume(), ov = g.out_volume();
    for_planes(N * C, g, [&](std::int64_t p) {
      for (std::int64_t o = 0; o < ov; ++o) {
        const std::int64_t i = pi[p * ov + o];
        if (i >= 0 && i < iv) pdx[p * iv + i] += pdy[p * ov + o];
      }
    });
  });
  record("MaxPool3dBackwardBackward", dy, dx, {save_for_backward(indices)},
         [g](const BackwardCtx& c) { return std::vector<Tensor>{max_pool_gather(c.grad(), c.saved[0], g)}; });
  return dx;
}

std::tuple<Tensor, Tensor> max_pool_core(const Tensor& input, const PoolGeometry& g) {
  const Tensor x = input.contiguous();
  const std::int64_t N = x.sizes()[0], C = x.sizes()[1];
  Tensor y = empty({N, C, g.out[0], g.out[1], g.out[2]}, x.dtype());
  Tensor indices = empty({N, C, g.out[0], g.out[1], g.out[2]}, kInt64);
  detail::dispatch_floating(x.dtype(), "max_pool3d", [&]<typename T>() {
    const T* px = x.data_ptr<T>();
    T* py = y.data_ptr<T>();
    std::int64_t* pi = indices.data_ptr<std::int64_t>();
    const std::int64_t iv = g.in_volume(), ov = g.out_volume();
    for_planes(N * C, g, [&](std::int64_t p) { max_pool_plane<T>(px + p * iv, py + p * ov, pi + p * ov, g); });
  });
  record("MaxPool3dBackward", x, y, {save_for_backward(indices)},
         [g](const BackwardCtx& c) { return std::vector<Tensor>{max_pool_scatter(c.grad(), c.saved[0], g)}; });
  return {y, indices};
}

Tensor avg_pool_adjoint(const Tensor& grad, const PoolGeometry& g, const AvgParams& a);

Tensor avg_pool_core(const Tensor& input, const PoolGeometry& g, const AvgParams& a) {
  const Tensor x = input.contiguous();
  const std::int64_t N = x.sizes()[0], C = x.sizes()[1];
  Tensor y = empty({N, C, g.out[0], g.out[1], g.out[2]}, x.dtype());
  detail::dispatch_floating(x.dtype(), "avg_pool3d", [&]<typename T>() {
    const T* px = x.data_ptr<T>();
    T* py = y.data_ptr<T>();
    const std::int64_t iv = g.in_volume(), ov = g.out_volume();
    for_planes(N * C, g, [&](std::int64_t p) { avg_pool_plane<T>(px + p * iv, py + p * ov, g, a); });
  });
  record("AvgPool3dBackward", x, y, {},
         [g, a](const BackwardCtx& c) { return std::vector<Tensor>{avg_pool_adjoint(c.grad(), g, a)}; });
  return y;
}

Tensor avg_pool_adjoint(const Tensor& grad, const PoolGeometry& g, const AvgParams& a) {
  const Tensor dy = grad.contiguous();
  const std::int64_t N = dy.sizes()[0], C = dy.sizes()[1];
  Tensor dx = zeros({N, C, g.in[0], g.in[1], g.in[2]}, dy.dtype());
  detail::dispatch_floating(dy.dtype(), "avg_pool3d", [&]<typename T>() {
    const T* pdy = dy.data_ptr<T>();
    T* pdx = dx.data_ptr<T>();
    const std::int64_t iv = g.in_volume(), ov = g.out_volume();
    for_planes(N * C, g, [&](std::int64_t p) { avg_pool_adjoint_plane<T>(pdy + p * ov, pdx + p * iv, g, a); });
  });
  record("AvgPool3dBackwardBackward", dy, dx, {},
         [g, a](const BackwardCtx& c) { return std::vector<Tensor>{avg_pool_core(c.grad(), g, a)}; });
  return dx;
}

// =================================================================================================
// Validation, with PyTorch's messages prefixed by the op's name.
// =================================================================================================

[[noreturn]] void throw_not_positive(const char* op, const char* what, const std::string& got) {
  throw Error(fmt::format("{}: {} should be greater than zero, but got {}", op, what, got));
}

// `what` (kernel size, stride, dilation) per dim, named `prefix`T, `prefix`H, `prefix`W in the message.
void check_positive3(const ExpandingArray<3>& v, const char* op, const char* what, const char* prefix) {
  if (v[0] > 0 && v[1] > 0 && v[2] > 0) return;
  throw_not_positive(op, what, fmt::format("{0}T: {1} {0}H: {2} {0}W: {3}", prefix, v[0], v[1], v[2]));
}

PoolGeometry check_pool_params(const char* op, const ExpandingArray<3>& kernel,
                               const std::optional<ExpandingArray<3>>& stride_opt, const ExpandingArray<3>& padding,
                               const ExpandingArray<3>& dilation) {
  const ExpandingArray<3> stride = stride_opt.value_or(kernel);
  check_positive3(kernel, op, "kernel size", "k");
  check_positive3(stride, op, "stride", "d");
  check_positive3(dilation, op, "dilation", "dilation");
  for (std::size_t i = 0; i < 3; ++i) {
    VOXGRAD_CHECK(padding[i] >= 0, "{}: pad must be non-negative, but got pad: {}", op, padding[i]);
    VOXGRAD_CHECK(padding[i] <= kernel[i] / 2,
                  "{}: pad should be at most half of kernel size, but got pad={} and kernel_size={}", op, padding[i],
                  kernel[i]);
  }
  PoolGeometry g;
  g.kernel = kernel.values();
  g.stride = stride.values();
  g.padding = padding.values();
  g.dilation = dilation.values();
  return g;
}

// Checks the input, completes `g` with its sizes and runs `fn` on a batched, 5-D view; the result
// loses the batch dim again for unbatched input.
// A 4-D or 5-D floating input whose non-batch dims are non-empty, with the messages PyTorch's
// pools (adaptive: its adaptive pools) give.
void check_pool_input(const char* op, const Tensor& input, bool adaptive) {
  detail::check_defined(input, op, "input");
  if (input.dim() != 4 && input.dim() != 5) {
    if (adaptive) throw Error(fmt::format("{}: Expected 4D or 5D tensor, but got {}", op, shape_str(input.sizes())));
    throw Error(fmt::format("{}: non-empty 4D or 5D (batch mode) tensor expected for input, but got input of size {}",
                            op, shape_str(input.sizes())));
  }
  detail::check_floating(input, op);
  for (std::int64_t i = input.dim() == 5 ? 1 : 0; i < input.dim(); ++i) {
    if (input.size(i) > 0) continue;
    if (adaptive) {
      throw Error(
          fmt::format("{}: Expected input to have non-zero size for non-batch dimensions, but input has "
                      "sizes {} with dimension {} being empty",
                      op, shape_str(input.sizes()), i));
    }
    throw Error(
        fmt::format("{}: Expected input's non-batch dimensions to have positive length, but input has a "
                    "shape of {} and non-batch dimension {} has length zero!",
                    op, shape_str(input.sizes()), i));
  }
}

// Values and indices without the batch dim for unbatched input.
std::tuple<Tensor, Tensor> unbatch(const std::tuple<Tensor, Tensor>& r, bool unbatched) {
  if (!unbatched) return r;
  return {std::get<0>(r).squeeze(0), std::get<1>(r).squeeze(0)};
}

template <typename Fn>
auto with_pool_input(const char* op, const Tensor& input, PoolGeometry& g, bool ceil_mode, Fn&& fn) {
  check_pool_input(op, input, false);
  const Tensor x = detail::as_batched(input, 5);
  g.in = spatial(x);
  for (std::size_t i = 0; i < 3; ++i) {
    // Sizes in int64 with overflow checks: dilation·(kernel − 1) and the padded size can be huge.
    checked_add(checked_mul(g.dilation[i], g.kernel[i] - 1, op), checked_add(g.in[i], 2 * g.padding[i], op), op);
    g.out[i] = pool_output_size(g.in[i], g.kernel[i], g.padding[i], g.stride[i], g.dilation[i], ceil_mode);
  }
  const std::int64_t C = x.sizes()[1];
  VOXGRAD_CHECK(g.out[0] >= 1 && g.out[1] >= 1 && g.out[2] >= 1,
                "{}: Given input size: ({}x{}x{}x{}). Calculated output size: ({}x{}x{}x{}). Output size is too small",
                op, C, g.in[0], g.in[1], g.in[2], C, g.out[0], g.out[1], g.out[2]);
  checked_numel({x.sizes()[0], C, g.out[0], g.out[1], g.out[2]}, op);
  return fn(x, input.dim() == 4);
}

// Checks an adaptive pool's input and output size and runs `fn` on a batched 5-D view with the
// geometry; the result loses the batch dim again for unbatched input.
template <typename Fn>
auto with_adaptive_input(const char* op, const Tensor& input, const ExpandingArray<3>& output_size, Fn&& fn) {
  check_pool_input(op, input, true);
  for (std::size_t i = 0; i < 3; ++i) {
    VOXGRAD_CHECK(output_size[i] >= 0, "{}: elements of output_size must be greater than or equal to 0 but received {}",
                  op, output_size.str());
  }
  const Tensor x = detail::as_batched(input, 5);
  PoolGeometry g;
  g.adaptive = true;
  g.in = spatial(x);
  g.out = output_size.values();
  for (std::size_t i = 0; i < 3; ++i) {
    // The largest window (for the parallel grain): ⌈in/out⌉ + 1 covers every rounding.
    g.kernel[i] = g.out[i] > 0 ? (g.in[i] + g.out[i] - 1) / g.out[i] + 1 : 1;
  }
  checked_numel({x.sizes()[0], x.sizes()[1], g.out[0], g.out[1], g.out[2]}, op);
  return fn(x, g, input.dim() == 4);
}

}  // namespace

std::int64_t pool_output_size(std::int64_t input_size, std::int64_t kernel_size, std::int64_t padding,
                              std::int64_t stride, std::int64_t dilation, bool ceil_mode) {
  const char* op = "pool_output_size";
  if (stride <= 0) throw_not_positive(op, "stride", std::to_string(stride));
  std::int64_t num = checked_add(input_size, checked_mul(2, padding, op), op);
  num = checked_add(num, -checked_add(checked_mul(dilation, kernel_size - 1, op), 1, op), op);
  if (ceil_mode) num = checked_add(num, stride - 1, op);
  // Floor division (the numerator may be negative).
  std::int64_t out = num / stride - ((num % stride != 0 && num < 0) ? 1 : 0) + 1;
  // The last window must start inside the input or the left padding.
  if (ceil_mode && (out - 1) * stride >= input_size + padding) --out;
  return out;
}

std::tuple<Tensor, Tensor> max_pool3d_with_indices(const Tensor& input, ExpandingArray<3> kernel_size,
                                                   std::optional<ExpandingArray<3>> stride, ExpandingArray<3> padding,
                                                   ExpandingArray<3> dilation, bool ceil_mode) {
  const char* op = "max_pool3d";
  PoolGeometry g = check_pool_params(op, kernel_size, stride, padding, dilation);
  return with_pool_input(op, input, g, ceil_mode,
                         [&](const Tensor& x, bool unbatched) { return unbatch(max_pool_core(x, g), unbatched); });
}

Tensor max_pool3d(const Tensor& input, ExpandingArray<3> kernel_size, std::optional<ExpandingArray<3>> stride,
                  ExpandingArray<3> padding, ExpandingArray<3> dilation, bool ceil_mode) {
  return std::get<0>(max_pool3d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode));
}

Tensor avg_pool3d(const Tensor& input, ExpandingArray<3> kernel_size, std::optional<ExpandingArray<3>> stride,
                  ExpandingArray<3> padding, bool ceil_mode, bool count_include_pad,
                  std::optional<std::int64_t> divisor_override) {
  const char* op = "avg_pool3d";
  PoolGeometry g = check_pool_params(op, kernel_size, stride, padding, 1);
  VOXGRAD_CHECK(!divisor_override.has_value() || *divisor_override != 0, "{}: divisor must be not zero", op);
  AvgParams a;
  a.count_include_pad = count_include_pad;
  a.divisor_override = divisor_override.value_or(0);
  return with_pool_input(op, input, g, ceil_mode, [&](const Tensor& x, bool unbatched) {
    const Tensor y = avg_pool_core(x, g, a);
    return unbatched ? y.squeeze(0) : y;
  });
}

std::tuple<Tensor, Tensor> adaptive_max_pool3d_with_indices(const Tensor& input, ExpandingArray<3> output_size) {
  return with_adaptive_input(
      "adaptive_max_pool3d", input, output_size,
      [](const Tensor& x, const PoolGeometry& g, bool unbatched) { return unbatch(max_pool_core(x, g), unbatched); });
}

Tensor adaptive_max_pool3d(const Tensor& input, ExpandingArray<3> output_size) {
  return std::get<0>(adaptive_max_pool3d_with_indices(input, output_size));
}

Tensor adaptive_avg_pool3d(const Tensor& input, ExpandingArray<3> output_size) {
  return with_adaptive_input("adaptive_avg_pool3d", input, output_size,
                             [](const Tensor& x, const PoolGeometry& g, bool unbatched) {
                               // The divisor is the window's size (no padding in adaptive windows).
                               const Tensor y = avg_pool_core(x, g, AvgParams{});
                               return unbatched ? y.squeeze(0) : y;
                             });
}

}  // namespace voxgrad
