#include "voxgrad/ops/upsample.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
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

// =================================================================================================
// Both modes are separable: along each dim an output index reads one (nearest) or two (linear)
// source indices with weights, and a 3-D output element is the tensor product of the three. The
// forward gathers, the backward (its exact adjoint) scatter-adds into the same sources. Planes
// (n, c) are independent and each is swept in a fixed order, so the scatter is race-free and the
// results do not depend on the thread count.
// =================================================================================================

namespace {

using detail::Dims;

enum class Mode { Nearest, Trilinear };

struct UpsampleParams {
  Mode mode = Mode::Nearest;
  Dims in{}, out{};
  std::array<std::optional<double>, 3> scales;
  bool align_corners = false;
  std::int64_t in_volume() const { return in[0] * in[1] * in[2]; }
  std::int64_t out_volume() const { return out[0] * out[1] * out[2]; }
};

// One dim's taps: output o reads i0[o] with weight w0[o] and i1[o] with w1[o] (nearest: w1 = 0).
template <typename T>
struct Taps {
  std::vector<std::int64_t> i0, i1;
  std::vector<T> w0, w1;
};

// PyTorch's compute_scales_value: 1 / scale_factor when given and positive, else in / out.
template <typename T>
T scale_value(const std::optional<double>& scale, std::int64_t in, std::int64_t out) {
  return scale.has_value() && *scale > 0.0 ? static_cast<T>(1.0 / *scale) : static_cast<T>(in) / static_cast<T>(out);
}

template <typename T>
Taps<T> nearest_taps(std::int64_t in, std::int64_t out, const std::optional<double>& scale) {
  Taps<T> t;
  const T s = scale_value<T>(scale, in, out);
  for (std::int64_t o = 0; o < out; ++o) {
    // As PyTorch 1.13's CPU kernel: floorf of the product, i.e. the product rounded to float32.
    const auto src = static_cast<std::int64_t>(std::floor(static_cast<float>(s * static_cast<T>(o))));
    t.i0.push_back(std::min(src, in - 1));
    t.i1.push_back(t.i0.back());
    t.w0.push_back(T(1));
    t.w1.push_back(T(0));
  }
  return t;
}

template <typename T>
Taps<T> linear_taps(std::int64_t in, std::int64_t out, const std::optional<double>& scale, bool align_corners) {
  Taps<T> t;
  T s;
  if (align_corners) {
    s = out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0);
  } else {
    s = scale_value<T>(scale, in, out);
  }
  for (std::int64_t o = 0; o < out; ++o) {
    if (in == out) {
      // As PyTorch (compute_source_index_and_lambda): an unchanged size is copied, whatever the
      // scale factor says.
      t.i0.push_back(o);
      t.i1.push_back(o);
      t.w0.push_back(T(1));
      t.w1.push_back(T(0));
      continue;
    }
    T real;
    if (align_corners) {
      real = s * static_cast<T>(o);
    } else {
      // Half-pixel centres; PyTorch evaluates this in double, then rounds to T, and clamps at 0.
      real = static_cast<T>(static_cast<double>(s) * (static_cast<double>(o) + 0.5) - 0.5);
      if (real < T(0)) real = T(0);
    }
    const std::int64_t i0 = std::min(static_cast<std::int64_t>(std::floor(real)), in - 1);
    const T lambda = std::clamp(real - static_cast<T>(i0), T(0), T(1));
    t.i0.push_back(i0);
    t.i1.push_back(i0 + (i0 < in - 1 ? 1 : 0));
    t.w0.push_back(T(1) - lambda);
    t.w1.push_back(lambda);
  }
  return t;
}

template <typename T>
std::array<Taps<T>, 3> make_taps(const UpsampleParams& p) {
  std::array<Taps<T>, 3> taps;
  for (std::size_t d = 0; d < 3; ++d) {
    taps[d] = p.mode == Mode::Nearest ? nearest_taps<T>(p.in[d], p.out[d], p.scales[d])
                                      : linear_taps<T>(p.in[d], p.out[d], p.scales[d], p.align_corners);
  }
  return taps;
}

std::int64_t plane_grain(const UpsampleParams& p) {
  const std::int64_t work = std::max<std::int64_t>(1, p.out_volume() * (p.mode == Mode::Nearest ? 1 : 8));
  return std::max<std::int64_t>(1, detail::kElementwiseGrain / work);
}

// One output row (plane pl, od, oh): outputs o … o + out[2] − 1, and the four source rows it blends
// (offsets within the plane) with their D and H weights.
template <typename T>
struct SourceRows {
  std::int64_t o, r00, r01, r10, r11;
  T a0, a1, b0, b1;
};

// The loop both directions share: every output row of every plane, planes split across tasks (each
// plane is swept in a fixed order by one task, so a scatter into it is race-free).
template <typename T, typename RowFn>
void for_each_row(std::int64_t planes, const UpsampleParams& p, const std::array<Taps<T>, 3>& t, RowFn&& row) {
  const std::int64_t H = p.in[1], W = p.in[2];
  detail::parallel_for(0, planes, plane_grain(p), [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t pl = p0; pl < p1; ++pl) {
      std::int64_t o = 0;
      for (std::int64_t od = 0; od < p.out[0]; ++od) {
        const std::int64_t d0 = t[0].i0[od] * H, d1 = t[0].i1[od] * H;
        for (std::int64_t oh = 0; oh < p.out[1]; ++oh, o += p.out[2]) {
          row(pl, SourceRows<T>{o, (d0 + t[1].i0[oh]) * W, (d0 + t[1].i1[oh]) * W, (d1 + t[1].i0[oh]) * W,
                                (d1 + t[1].i1[oh]) * W, t[0].w0[od], t[0].w1[od], t[1].w0[oh], t[1].w1[oh]});
        }
      }
    }
  });
}

// y (planes, out) from x (planes, in).
template <typename T>
void gather_kernel(const T* x, T* y, std::int64_t planes, const UpsampleParams& p) {
  const std::array<Taps<T>, 3> t = make_taps<T>(p);
  const bool nearest = p.mode == Mode::Nearest;
  for_each_row(planes, p, t, [&](std::int64_t pl, const SourceRows<T>& r) {
    const T* xp = x + pl * p.in_volume();
    T* yp = y + pl * p.out_volume() + r.o;
    if (nearest) {
      for (std::int64_t ow = 0; ow < p.out[2]; ++ow) yp[ow] = xp[r.r00 + t[2].i0[ow]];
      return;
    }
    for (std::int64_t ow = 0; ow < p.out[2]; ++ow) {
      const std::int64_t w0 = t[2].i0[ow], w1 = t[2].i1[ow];
      const T c0 = t[2].w0[ow], c1 = t[2].w1[ow];
      yp[ow] = r.a0 * (r.b0 * (c0 * xp[r.r00 + w0] + c1 * xp[r.r00 + w1]) +
                       r.b1 * (c0 * xp[r.r01 + w0] + c1 * xp[r.r01 + w1])) +
               r.a1 * (r.b0 * (c0 * xp[r.r10 + w0] + c1 * xp[r.r10 + w1]) +
                       r.b1 * (c0 * xp[r.r11 + w0] + c1 * xp[r.r11 + w1]));
    }
  });
}

// The adjoint: dx (planes, in), zeroed, receives every output gradient at the taps that produced it.
template <typename T>
void scatter_kernel(const T* dy, T* dx, std::int64_t planes, const UpsampleParams& p) {
  const std::array<Taps<T>, 3> t = make_taps<T>(p);
  const bool nearest = p.mode == Mode::Nearest;
  for_each_row(planes, p, t, [&](std::int64_t pl, const SourceRows<T>& r) {
    const T* gp = dy + pl * p.out_volume() + r.o;
    T* xp = dx + pl * p.in_volume();
    if (nearest) {
      for (std::int64_t ow = 0; ow < p.out[2]; ++ow) xp[r.r00 + t[2].i0[ow]] += gp[ow];
      return;
    }
    for (std::int64_t ow = 0; ow < p.out[2]; ++ow) {
      const std::int64_t w0 = t[2].i0[ow], w1 = t[2].i1[ow];
      const T c0 = t[2].w0[ow], c1 = t[2].w1[ow];
      const T g = gp[ow];
      const T g00 = r.a0 * r.b0 * g, g01 = r.a0 * r.b1 * g, g10 = r.a1 * r.b0 * g, g11 = r.a1 * r.b1 * g;
      xp[r.r00 + w0] += g00 * c0;
      xp[r.r00 + w1] += g00 * c1;
      xp[r.r01 + w0] += g01 * c0;
      xp[r.r01 + w1] += g01 * c1;
      xp[r.r10 + w0] += g10 * c0;
      xp[r.r10 + w1] += g10 * c1;
      xp[r.r11 + w0] += g11 * c0;
      xp[r.r11 + w1] += g11 * c1;
    }
  });
}

const char* op_name(Mode mode) { return mode == Mode::Nearest ? "upsample_nearest3d" : "upsample_trilinear3d"; }

Tensor upsample_adjoint(const Tensor& grad, const UpsampleParams& p);

Tensor upsample_core(const Tensor& input, const UpsampleParams& p) {
  const Tensor x = input.contiguous();
  const std::int64_t N = x.sizes()[0], C = x.sizes()[1];
  Tensor y = empty({N, C, p.out[0], p.out[1], p.out[2]}, x.dtype());
  detail::dispatch_floating(x.dtype(), op_name(p.mode),
                            [&]<typename T>() { gather_kernel<T>(x.data_ptr<T>(), y.data_ptr<T>(), N * C, p); });
  record(p.mode == Mode::Nearest ? "UpsampleNearest3dBackward" : "UpsampleTrilinear3dBackward", x, y, {},
         [p](const BackwardCtx& c) { return std::vector<Tensor>{upsample_adjoint(c.grad(), p)}; });
  return y;
}

Tensor upsample_adjoint(const Tensor& grad, const UpsampleParams& p) {
  const Tensor dy = grad.contiguous();
  const std::int64_t N = dy.sizes()[0], C = dy.sizes()[1];
  Tensor dx = zeros({N, C, p.in[0], p.in[1], p.in[2]}, dy.dtype());
  detail::dispatch_floating(dy.dtype(), op_name(p.mode),
                            [&]<typename T>() { scatter_kernel<T>(dy.data_ptr<T>(), dx.data_ptr<T>(), N * C, p); });
  record(p.mode == Mode::Nearest ? "UpsampleNearest3dBackwardBackward" : "UpsampleTrilinear3dBackwardBackward", dy, dx,
         {}, [p](const BackwardCtx& c) { return std::vector<Tensor>{upsample_core(c.grad(), p)}; });
  return dx;
}

namespace {
void check_5d_data(bool ok, const Tensor& input, const char* op) {
  VOXGRAD_CHECK(ok, "{}: Non-empty 5D data tensor expected but got a tensor with sizes {}", op,
                shape_str(input.sizes()));
}
}  // namespace

Tensor upsample(const Tensor& input, IntArrayRef output_size, UpsampleParams p) {
  const char* op = op_name(p.mode);
  detail::check_defined(input, op, "input");
  check_5d_data(input.dim() == 5, input, op);
  VOXGRAD_CHECK(output_size.size() == 3, "{}: It is expected output_size equals to 3, but got size {} ({})", op,
                output_size.size(), shape_str(output_size));
  detail::check_floating(input, op);
  for (std::size_t d = 0; d < 3; ++d) {
    p.in[d] = input.sizes()[2 + d];
    p.out[d] = output_size[d];
  }
  VOXGRAD_CHECK(p.in[0] > 0 && p.in[1] > 0 && p.in[2] > 0 && p.out[0] > 0 && p.out[1] > 0 && p.out[2] > 0,
                "{}: Input and output sizes should be greater than 0, but got input (D: {}, H: {}, W: {}) output "
                "(D: {}, H: {}, W: {})",
                op, p.in[0], p.in[1], p.in[2], p.out[0], p.out[1], p.out[2]);
  check_5d_data(input.sizes()[1] > 0, input, op);
  checked_numel({input.sizes()[0], input.sizes()[1], p.out[0], p.out[1], p.out[2]}, op);
  return upsample_core(input, p);
}

}  // namespace

Tensor upsample_nearest3d(const Tensor& input, IntArrayRef output_size, std::optional<double> scales_d,
                          std::optional<double> scales_h, std::optional<double> scales_w) {
  UpsampleParams p;
  p.mode = Mode::Nearest;
  p.scales = {scales_d, scales_h, scales_w};
  return upsample(input, output_size, p);
}

Tensor upsample_trilinear3d(const Tensor& input, IntArrayRef output_size, bool align_corners,
                            std::optional<double> scales_d, std::optional<double> scales_h,
                            std::optional<double> scales_w) {
  UpsampleParams p;
  p.mode = Mode::Trilinear;
  p.scales = {scales_d, scales_h, scales_w};
  p.align_corners = align_corners;
  return upsample(input, output_size, p);
}

}  // namespace voxgrad
