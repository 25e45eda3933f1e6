#include "voxgrad/ops/grid_sample.h"

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
#include "voxgrad/core/threading.h"
#include "voxgrad/ops/detail/kernels.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;

const char* grid_sample_mode_name(GridSampleMode mode) {
  switch (mode) {
    case GridSampleMode::Bilinear: return "bilinear";
    case GridSampleMode::Nearest: return "nearest";
    case GridSampleMode::Bicubic: return "bicubic";
  }
  return "?";
}

const char* grid_sample_padding_name(GridSamplePadding padding) {
  switch (padding) {
    case GridSamplePadding::Zeros: return "zeros";
    case GridSamplePadding::Border: return "border";
    case GridSamplePadding::Reflection: return "reflection";
  }
  return "?";
}

// =================================================================================================
// Every grid point (n, p) holds K = 2 or 3 normalised coordinates (x, y[, z]); coordinate k indexes
// the spatial dim of size in[K − 1 − k] (x → W, y → H, z → D). A coordinate is unnormalised to voxel
// units, then (Border, Reflection) moved into [0, size − 1]; the output at (n, c, p) mixes the 2^K
// voxels around that location (Bilinear) or reads the nearest one (Nearest).
//
// The formulas are ATen's, which differ between its two CPU kernels only in rounding: 5-D input
// follows the scalar GridSampler.h/GridSampler.cpp (unnormalise ((c + 1)/2)(n − 1) or
// ((c + 1)n − 1)/2, reflect with fmod, weights (i0 + 1 − x) and (x − i0)), 4-D input the vectorised
// GridSamplerKernel.cpp (unnormalise (c + 1)·s − ½, reflect with trunc and min, weights 1 − (x − i0)
// and (x − i0), its own grid-gradient expression). Out-of-range corners are skipped (they read 0).
//
// Backward: dL/dgrid needs each point's location and the input values around it, summed over c in
// order (a point's gradient is its own: parallel over points). dL/dinput scatters the output
// gradient into the corners, in grid order for every element (see input_grad_kernel), so the
// scatter is race-free and, whatever the thread count, adds in the order of ATen's 5-D loop (points
// outer, channels inner); ATen's 4-D kernel scatters a vector of points at a time, corner by corner,
// so its sums there may round differently. No operation is fused (ops/CMakeLists.txt turns
// contraction off for this file), as in ATen's scalar kernel. The multiplier of dx/dcoordinate (the
// unnormalising scale, times 0 where Border or Reflection clamps and ±1 for the reflections'
// direction) comes with the location.
// =================================================================================================

namespace {

struct GridSampleParams {
  GridSampleMode mode = GridSampleMode::Bilinear;
  GridSamplePadding padding = GridSamplePadding::Zeros;
  bool align_corners = false;
  int K = 3;                                    // coordinates per point: 2 (4-D input) or 3 (5-D)
  std::int64_t N = 0, C = 0;                    // batch and channels
  std::array<std::int64_t, 3> size{1, 1, 1};    // spatial size per coordinate (x, y, z): W, H, D
  std::array<std::int64_t, 3> stride{0, 0, 0};  // input element stride per coordinate within a plane
  std::int64_t in_volume = 1, points = 1;       // input elements per plane, grid points per sample
  Shape input_sizes;                            // for the input gradient when the input is not saved
};

// One coordinate's unnormalise → pad map, with ATen's scalar (5-D) or vectorised (4-D) rounding.
template <typename T>
struct Axis {
  std::int64_t size;
  GridSamplePadding padding;
  bool align;
  bool vectorised;

  T unnormalise(T c) const {
    const auto n = static_cast<T>(size);
    if (vectorised) return align ? (c + T(1)) * (static_cast<T>(size - 1) / T(2)) : (c + T(1)) * (n / T(2)) - T(0.5);
    return align ? ((c + T(1)) / T(2)) * static_cast<T>(size - 1) : ((c + T(1)) * n - T(1)) / T(2);
  }
  T scale() const { return (align ? static_cast<T>(size - 1) : static_cast<T>(size)) / T(2); }

  // Clamp to [0, size − 1]; the gradient multiplier is 0 on and beyond the borders (as ATen).
  T clip(T x, T& grad) const {
    const T hi = static_cast<T>(size - 1);
    if (x <= T(0)) {
      grad = T(0);
      return T(0);
    }
    if (x >= hi) {
      grad = T(0);
      return hi;
    }
    grad = T(1);
    return x;
  }

  // Reflection at the corner centres [0, size − 1] (align) or the edges [−½, size − ½]; grad is ±1.
  T reflect(T x, T& grad) const {
    if (vectorised) {
      if (align ? size <= 1 : size <= 0) {
        grad = T(0);
        return T(0);
      }
      const T low = align ? T(0) : T(-0.5);
      const T twice_span = align ? static_cast<T>(size - 1) * T(2) : static_cast<T>(size) * T(2);
      const T in = x - low;
      const bool neg = in < T(0);
      const T abs_in = std::fabs(in);
      const T extra = abs_in - std::trunc(abs_in / twice_span) * twice_span;
      const T reflected = twice_span - extra;
      const bool flip = extra > reflected;
      grad = flip != neg ? T(-1) : T(1);
      return (flip ? reflected : extra) + low;
    }
    const std::int64_t twice_low = align ? 0 : -1, twice_high = align ? 2 * (size - 1) : 2 * size - 1;
    if (twice_low == twice_high) {
      grad = T(0);
      return T(0);
    }
    const T min = static_cast<T>(twice_low) / T(2);
    const T span = static_cast<T>(twice_high - twice_low) / T(2);
    T in = x - min;
    if (!std::isfinite(in)) {  // NaN or ±inf: no flip count (the location reads 0, below)
      grad = T(0);
      return in;
    }
    T sign = T(1);
    if (in < T(0)) {
      sign = T(-1);
      in = -in;
    }
    const T extra = std::fmod(in, span);
    // The parity of the flips in T: a huge finite location has more of them than any integer type holds.
    if (std::fmod(std::floor(in / span), T(2)) == T(0)) {
      grad = sign;
      return extra + min;
    }
    grad = -sign;
    return span - extra + min;
  }

  // The source location of normalised coordinate c, and d(location)/dc in `mult`.
  T source(T c, T& mult) const {
    T x = unnormalise(c);
    mult = scale();
    T g_clip = T(1), g_refl = T(1);
    if (padding == GridSamplePadding::Border) {
      x = clip(x, g_clip);
      mult = mult * g_clip;
    } else if (padding == GridSamplePadding::Reflection) {
      x = reflect(x, g_refl);
      x = clip(x, g_clip);
      mult = vectorised ? g_clip * (g_refl * mult) : mult * g_refl * g_clip;
    }
    return x;
  }
};

// One grid point's sampling: per coordinate the lower (or nearest) index, the two linear weights,
// the location itself and the gradient multiplier.
template <typename T>
struct Location {
  std::array<std::int64_t, 3> i0{0, 0, 0};
  std::array<T, 3> lo{}, hi{};  // weights of i0 and i0 + 1
  std::array<T, 3> mult{};
};

template <typename T>
struct Sampler {
  const GridSampleParams& p;
  std::array<Axis<T>, 3> axes;

  explicit Sampler(const GridSampleParams& params) : p(params) {
    for (int k = 0; k < 3; ++k) {
      axes[k] = Axis<T>{p.size[k], p.padding, p.align_corners, p.K == 2};
    }
  }

  // An index from a rounded location; NaN and locations far outside (±inf under Zeros) become −2,
  // which no corner reaches (a cast of those to int64 would be undefined).
  std::int64_t index(T f, int k) const {
    return f >= T(-2) && f <= static_cast<T>(p.size[k] + 1) ? static_cast<std::int64_t>(f) : std::int64_t{-2};
  }

  Location<T> locate(const T* g) const {
    Location<T> l;
    for (int k = 0; k < p.K; ++k) {
      const T x = axes[k].source(g[k], l.mult[k]);
      if (p.mode == GridSampleMode::Nearest) {
        l.i0[k] = index(std::nearbyint(x), k);
        continue;
      }
      const T f = std::floor(x);
      l.i0[k] = index(f, k);
      l.hi[k] = x - f;
      // ATen's scalar kernel writes (i0 + 1) − x, its vectorised one 1 − (x − i0).
      l.lo[k] = p.K == 2 ? T(1) - l.hi[k] : (f + T(1)) - x;
    }
    return l;
  }

  bool in_bounds(const Location<T>& l, int corner, std::int64_t& offset) const {
    offset = 0;
    for (int k = 0; k < p.K; ++k) {
      const std::int64_t i = l.i0[k] + ((corner >> k) & 1);
      if (i < 0 || i >= p.size[k]) return false;
      offset += i * p.stride[k];
    }
    return true;
  }

  // The corner's weight: x·y·z for 5-D (ATen's scalar order), y·x for 4-D (its nw = s·e).
  T weight(const Location<T>& l, int corner) const {
    auto w = [&](int k) { return ((corner >> k) & 1) ? l.hi[k] : l.lo[k]; };
    return p.K == 2 ? w(1) * w(0) : w(0) * w(1) * w(2);
  }

  int corners() const { return p.mode == GridSampleMode::Nearest ? 1 : (1 << p.K); }
};

std::int64_t point_grain(const GridSampleParams& p) {
  const std::int64_t work = std::max<std::int64_t>(1, p.C * (1 << p.K));
  return std::max<std::int64_t>(1, detail::kElementwiseGrain / work);
}

// y (N, C, points) from x (N, C, in_volume) and grid (N, points, K).
template <typename T>
void forward_kernel(const T* x, const T* grid, T* y, const GridSampleParams& p) {
  const Sampler<T> s(p);
  detail::parallel_for(0, p.N * p.points, point_grain(p), [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t np = b; np < e; ++np) {
      const std::int64_t n = np / p.points, pt = np % p.points;
      const Location<T> l = s.locate(grid + np * p.K);
      // The corners inside the input and their weights, once for all channels.
      std::array<std::int64_t, 8> off{};
      std::array<T, 8> w{};
      int taps = 0;
      for (int corner = 0; corner < s.corners(); ++corner) {
        if (!s.in_bounds(l, corner, off[taps])) continue;
        w[taps++] = p.mode == GridSampleMode::Nearest ? T(1) : s.weight(l, corner);
      }
      for (std::int64_t c = 0; c < p.C; ++c) {
        const T* xp = x + (n * p.C + c) * p.in_volume;
        T v = T(0);
        for (int t = 0; t < taps; ++t) v += xp[off[t]] * w[t];  // Nearest: w = 1, x·1 = x exactly
        y[(n * p.C + c) * p.points + pt] = v;
      }
    }
  });
}

// dgrid (N, points, K) from dy (N, C, points), x and grid (Bilinear only; Nearest's is zero).
template <typename T>
void grid_grad_kernel(const T* dy, const T* x, const T* grid, T* dgrid, const GridSampleParams& p) {
  const Sampler<T> s(p);
  detail::parallel_for(0, p.N * p.points, point_grain(p), [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t np = b; np < e; ++np) {
      const std::int64_t n = np / p.points, pt = np % p.points;
      const Location<T> l = s.locate(grid + np * p.K);
      std::array<T, 3> g{T(0), T(0), T(0)};
      std::array<std::int64_t, 8> off{};
      std::array<bool, 8> inside{};
      bool any = false;
      for (int corner = 0; corner < (1 << p.K); ++corner) {
        inside[corner] = s.in_bounds(l, corner, off[corner]);
        any = any || inside[corner];
      }
      if (!any) {  // reads nothing: 0 (as ATen's sums of masked zeros; also where a coordinate is NaN or ±inf)
        for (int k = 0; k < p.K; ++k) dgrid[np * p.K + k] = std::isfinite(l.mult[k]) ? l.mult[k] * T(0) : T(0);
        continue;
      }
      for (std::int64_t c = 0; c < p.C; ++c) {
        const T* xp = x + (n * p.C + c) * p.in_volume;
        const T go = dy[(n * p.C + c) * p.points + pt];
        std::array<T, 8> v{};
        for (int corner = 0; corner < (1 << p.K); ++corner) v[corner] = inside[corner] ? xp[off[corner]] : T(0);
        if (p.K == 2) {
          // GridSamplerKernel.cpp: corners nw, ne, sw, se = 0, 1, 2, 3; w = x − x0, e = 1 − w, n, s alike.
          const T w = l.hi[0], ea = l.lo[0], nn = l.hi[1], so = l.lo[1];
          g[0] = g[0] + ((v[1] - v[0]) * so + (v[3] - v[2]) * nn) * go;
          g[1] = g[1] + ((v[2] - v[0]) * ea + (v[3] - v[1]) * w) * go;
          continue;
        }
        // GridSampler.cpp: for each in-range corner, d/dx of its weight is ± the other two factors.
        for (int corner = 0; corner < 8; ++corner) {
          if (!inside[corner]) continue;
          auto w = [&](int k) { return ((corner >> k) & 1) ? l.hi[k] : l.lo[k]; };
          const T gx = v[corner] * w(1) * w(2) * go, gy = v[corner] * w(0) * w(2) * go,
                  gz = v[corner] * w(0) * w(1) * go;
          g[0] = (corner & 1) ? g[0] + gx : g[0] - gx;
          g[1] = (corner & 2) ? g[1] + gy : g[1] - gy;
          g[2] = (corner & 4) ? g[2] + gz : g[2] - gz;
        }
      }
      for (int k = 0; k < p.K; ++k) dgrid[np * p.K + k] = l.mult[k] * g[k];
    }
  });
}

// dx (N, C, in_volume), zeroed, receives dy (N, C, points) at the corners each point read. Every dx
// element receives its terms in grid order, as in ATen's 5-D loop, whatever the thread count, on
// either of two paths (the same bits):
// - one channel: one task per sample sweeps the points in order;
// - more: the volume is cut into slabs along its outermost spatial axis (D, or H for 4-D input), and
//   a task takes one (sample, slab): it visits, in grid order, the points with a corner inside the
//   slab and adds to those corners for every channel. A first pass notes each point's range of slabs.
// Locating a point costs more than its scatters, so the slab path, which locates a point once for
// its range and once per slab it reaches instead of once per channel, pays off from two channels on.
// (For one channel, a 96³ volume: 40 ms against 80 ms at one thread, and two threads do not win it
// back; even as a single slab, without the range pass, the slab loop takes 59 ms against the sweep's
// 42. With four channels the slabs take 92 ms against 164.)
template <typename T>
void input_grad_kernel(const T* dy, const T* grid, T* dx, const GridSampleParams& p) {
  const Sampler<T> s(p);
  if (p.C == 1) {
    detail::parallel_for(0, p.N, 1, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t n = b; n < e; ++n) {
        for (std::int64_t pt = 0; pt < p.points; ++pt) {
          const Location<T> l = s.locate(grid + (n * p.points + pt) * p.K);
          const T go = dy[n * p.points + pt];
          for (int corner = 0; corner < s.corners(); ++corner) {
            std::int64_t off = 0;
            if (!s.in_bounds(l, corner, off)) continue;
            dx[n * p.in_volume + off] += p.mode == GridSampleMode::Nearest ? go : s.weight(l, corner) * go;
          }
        }
      }
    });
    return;
  }
  const int outer = p.K - 1;
  const std::int64_t extent = p.size[outer];
  if (p.N == 0 || p.C == 0 || p.points == 0 || extent == 0) return;
  // Enough (sample, slab) tasks to balance the threads; slab j holds the outer indices
  // [start(j), start(j + 1)), start(j) = ⌊j·extent/slabs⌋.
  const std::int64_t tasks_wanted = 4 * static_cast<std::int64_t>(std::max(1, get_num_threads()));
  const std::int64_t slabs =
      std::clamp<std::int64_t>((tasks_wanted + p.N - 1) / p.N, 1, std::min<std::int64_t>(extent, 1 << 15));
  const auto start = [&](std::int64_t j) { return j * extent / slabs; };
  const auto slab_of = [&](std::int64_t i) { return ((i + 1) * slabs - 1) / extent; };
  const int reach = p.mode == GridSampleMode::Nearest ? 1 : 2;  // outer indices a point touches: i0[, i0 + 1]
  // Per point, its first and last slab (last < first: no corner inside the volume's outer extent);
  // fewer than 2^15 slabs, so 4 bytes a point.
  std::vector<std::array<std::uint16_t, 2>> range(static_cast<std::size_t>(slabs > 1 ? p.N * p.points : 0));
  if (slabs > 1) {
    detail::parallel_for(0, p.N * p.points, detail::kElementwiseGrain, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t np = b; np < e; ++np) {
        const std::int64_t i0 = s.locate(grid + np * p.K).i0[outer];
        const std::int64_t lo = std::max<std::int64_t>(i0, 0), hi = std::min<std::int64_t>(i0 + reach - 1, extent - 1);
        range[np] = lo <= hi ? std::array<std::uint16_t, 2>{static_cast<std::uint16_t>(slab_of(lo)),
                                                            static_cast<std::uint16_t>(slab_of(hi))}
                             : std::array<std::uint16_t, 2>{1, 0};
      }
    });
  }
  detail::parallel_for(0, p.N * slabs, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t task = b; task < e; ++task) {
      const std::int64_t n = task / slabs, j = task % slabs;
      const std::int64_t first = start(j), last = start(j + 1);  // outer indices [first, last)
      for (std::int64_t pt = 0; pt < p.points; ++pt) {
        const std::int64_t np = n * p.points + pt;
        if (slabs > 1 && (j < range[np][0] || j > range[np][1])) continue;
        const Location<T> l = s.locate(grid + np * p.K);
        for (int corner = 0; corner < s.corners(); ++corner) {
          const std::int64_t i = l.i0[outer] + ((corner >> outer) & 1);
          std::int64_t off = 0;
          if (i < first || i >= last || !s.in_bounds(l, corner, off)) continue;
          const T w = p.mode == GridSampleMode::Nearest ? T(1) : s.weight(l, corner);
          for (std::int64_t c = 0; c < p.C; ++c) {
            const T go = dy[(n * p.C + c) * p.points + pt];
            dx[(n * p.C + c) * p.in_volume + off] += p.mode == GridSampleMode::Nearest ? go : w * go;
          }
        }
      }
    }
  });
}

constexpr const char* kOp = "grid_sample";

Shape output_sizes(const GridSampleParams& p, const Tensor& grid) {
  Shape out{p.N, p.C};
  for (int d = 1; d <= p.K; ++d) out.push_back(grid.sizes()[static_cast<std::size_t>(d)]);
  return out;
}

// The gradients of input (if need_input) and grid (if need_grid); `input` is defined when need_grid.
std::vector<Tensor> grid_sample_backward(const Tensor& grad, const Tensor& input, const Tensor& grid,
                                         const GridSampleParams& p, bool need_input, bool need_grid) {
  const Tensor dy = grad.contiguous();
  Tensor dx, dgrid;
  detail::dispatch_floating(grid.dtype(), kOp, [&]<typename T>() {
    if (need_input) {
      dx = zeros(p.input_sizes, grid.dtype());
      input_grad_kernel<T>(dy.data_ptr<T>(), grid.data_ptr<T>(), dx.data_ptr<T>(), p);
    }
    if (need_grid) {
      dgrid = zeros(grid.sizes(), grid.dtype());
      if (p.mode == GridSampleMode::Bilinear) {
        grid_grad_kernel<T>(dy.data_ptr<T>(), input.data_ptr<T>(), grid.data_ptr<T>(), dgrid.data_ptr<T>(), p);
      }
    }
  });
  // As PyTorch (grid_sampler_*_backward has no derivative), differentiating this again is an error.
  std::vector<Tensor> outputs;
  for (const Tensor& t : {dx, dgrid}) {
    if (t.defined()) outputs.push_back(t);
  }
  if (outputs.empty()) return {dx, dgrid};
  const Tensor inputs[] = {grad, input, grid};
  record("GridSampleBackwardBackward", inputs, outputs, {}, [](const BackwardCtx&) -> std::vector<Tensor> {
    throw Error(fmt::format("{}: the derivative of grid_sample's backward is not implemented (as in PyTorch)", kOp));
  });
  return {dx, dgrid};
}

void check_args(const Tensor& input, const Tensor& grid, GridSampleMode mode) {
  detail::check_defined(input, kOp, "input");
  detail::check_defined(grid, kOp, "grid");
  VOXGRAD_CHECK((input.dim() == 4 || input.dim() == 5) && grid.dim() == input.dim(),
                "{}: expected 4D or 5D input and grid with same number of dimensions, but got input with sizes {} "
                "and grid with sizes {}",
                kOp, shape_str(input.sizes()), shape_str(grid.sizes()));
  VOXGRAD_CHECK(mode != GridSampleMode::Bicubic || input.dim() == 4,
                "{}: bicubic interpolation only supports 4D input (got input with sizes {})", kOp,
                shape_str(input.sizes()));
  VOXGRAD_CHECK(mode != GridSampleMode::Bicubic,
                "{}: mode 'bicubic' is not implemented in voxgrad; use 'bilinear' or 'nearest'", kOp);
  detail::check_floating(input, kOp);
  VOXGRAD_CHECK(grid.dtype() == input.dtype(),
                "{}: expected input and grid to have the same dtype, but got input {} and grid {}", kOp, input.dtype(),
                grid.dtype());
  VOXGRAD_CHECK(input.sizes()[0] == grid.sizes()[0],
                "{}: expected grid and input to have same batch size, but got input with sizes {} and grid with "
                "sizes {}",
                kOp, shape_str(input.sizes()), shape_str(grid.sizes()));
  VOXGRAD_CHECK(grid.sizes().back() == input.dim() - 2,
                "{}: expected grid to have size {} in last dimension, but got grid with sizes {}", kOp, input.dim() - 2,
                shape_str(grid.sizes()));
  for (std::int64_t i = 2; i < input.dim(); ++i) {
    VOXGRAD_CHECK(input.sizes()[static_cast<std::size_t>(i)] > 0,
                  "{}: expected input to have non-empty spatial dimensions, but input has sizes {} with dimension "
                  "{} being empty",
                  kOp, shape_str(input.sizes()), i);
  }
}

}  // namespace

Tensor grid_sample(const Tensor& input, const Tensor& grid, GridSampleMode mode, GridSamplePadding padding,
                   bool align_corners) {
  check_args(input, grid, mode);
  GridSampleParams p;
  p.mode = mode;
  p.padding = padding;
  p.align_corners = align_corners;
  p.K = static_cast<int>(input.dim() - 2);
  p.N = input.sizes()[0];
  p.C = input.sizes()[1];
  p.input_sizes = input.sizes();
  std::int64_t stride = 1;
  for (int k = 0; k < p.K; ++k) {  // coordinate k reads the spatial dim K − 1 − k (x → W)
    p.size[k] = input.sizes()[static_cast<std::size_t>(input.dim() - 1 - k)];
    p.stride[k] = stride;
    stride *= p.size[k];
  }
  p.in_volume = stride;
  p.points = 1;
  for (int d = 1; d <= p.K; ++d) p.points *= grid.sizes()[static_cast<std::size_t>(d)];
  const Shape out_sizes = output_sizes(p, grid);
  checked_numel(out_sizes, kOp);

  const Tensor x = input.contiguous(), g = grid.contiguous();
  Tensor y = empty(out_sizes, x.dtype());
  detail::dispatch_floating(
      x.dtype(), kOp, [&]<typename T>() { forward_kernel<T>(x.data_ptr<T>(), g.data_ptr<T>(), y.data_ptr<T>(), p); });
  // The input gradient needs only the grid; the grid gradient also the input's values.
  const bool grid_grad = grid.requires_grad() && mode == GridSampleMode::Bilinear;
  const Tensor inputs[] = {x, g};
  record("GridSampleBackward", inputs, std::span<Tensor>(&y, 1),
         {autograd::save_for_backward(grid_grad ? x : Tensor()), autograd::save_for_backward(g)},
         [p](const BackwardCtx& c) {
           return grid_sample_backward(c.grad(), c.saved[0], c.saved[1], p, c.needs_input_grad(0),
                                       c.needs_input_grad(1));
         });
  return y;
}

}  // namespace voxgrad
