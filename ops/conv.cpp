#include "voxgrad/ops/conv.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include <tbb/enumerable_thread_specific.h>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/allocator.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/vol2col.h"
#include "voxgrad/ops/gemm.h"
#include "voxgrad/ops/reduction.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save;
using detail::VolGeometry;
using Dims = std::array<std::int64_t, 3>;

// =================================================================================================
// Kernels: raw pointers, contiguous NCDHW tensors, no autograd.
//
// conv3d:              Y[n,g] = W[g] · im2col(X[n,g])                   (+ bias)
// conv_transpose3d:    Y[n,g] = col2im(W[g]ᵀ · X[n,g])                 (+ bias)
// conv3d_weight_grad:  dW[g]  = Σ_n dY[n,g] · im2col(X[n,g])ᵀ
// Columns are built per tile of output positions into per-thread buffers reused across calls, so
// memory does not grow with the batch. float32 on AVX-512 CPUs takes the direct kernels instead
// (ops/detail/direct_conv.h) wherever they suit the shape. All reductions run in an order fixed by the shapes alone,
// so results are bit-identical for any number of threads.
// =================================================================================================

namespace {

struct ConvParams {
  Dims stride{}, padding{}, dilation{};
  std::int64_t groups = 1;
};

// Elements of one column tile (2 MiB of float32): about L2-sized. Measured on C1–C4, T1: 2^18 to
// 2^19 are equally fast, 2^20 is 5–10% slower (the tile no longer stays in L2 between im2col and
// the GEMM), and narrower tiles repack the weight panel more often.
constexpr std::int64_t kColumnBudget = std::int64_t{1} << 19;

// Columns per tile: a multiple of 16 where the budget allows, down to a single column for very
// tall column matrices, so a tile never holds more than max(budget, rows) elements (at most the
// weight's size).
std::int64_t tile_columns(std::int64_t rows, std::int64_t cols) {
  const std::int64_t t = kColumnBudget / std::max<std::int64_t>(rows, 1);
  return std::max<std::int64_t>(1, std::min(cols, t >= 16 ? t / 16 * 16 : t));
}

// Per-thread column tiles, kept across calls; empty_cache() frees them.
template <typename T>
tbb::enumerable_thread_specific<std::vector<T>>& column_buffers() {
  static tbb::enumerable_thread_specific<std::vector<T>> buffers;
  static const bool registered = [] {
    detail::register_workspace_release(+[] {
      for (std::vector<T>& v : column_buffers<T>()) std::vector<T>().swap(v);
    });
    return true;
  }();
  (void)registered;
  return buffers;
}

template <typename T>
std::vector<T>& column_buffer(std::int64_t elements) {
  std::vector<T>& buf = column_buffers<T>().local();
  if (static_cast<std::int64_t>(buf.size()) < elements) buf.resize(static_cast<std::size_t>(elements));
  return buf;
}

Dims spatial(const Tensor& t) { return {t.sizes()[2], t.sizes()[3], t.sizes()[4]}; }
std::int64_t volume(const Dims& d) { return d[0] * d[1] * d[2]; }

VolGeometry geometry(std::int64_t channels, const Dims& vol, const Dims& out, const Dims& kernel, const ConvParams& p) {
  return {channels, vol, out, kernel, p.stride, p.padding, p.dilation};
}

bool is_pointwise(const Dims& kernel, const ConvParams& p, const Dims& vol, const Dims& out) {
  return kernel == Dims{1, 1, 1} && p.stride == Dims{1, 1, 1} && p.padding == Dims{0, 0, 0} && vol == out;
}

// The float32 direct kernels (ops/detail/direct_conv.h) take a convolution when the CPU and the
// shape suit them (1×1×1 convolutions included: they read the input in place).
detail::DirectConv direct_shape(std::int64_t N, std::int64_t Cin, std::int64_t Cout, const Dims& vol, const Dims& out,
                                const Dims& kernel, const ConvParams& p) {
  return {N, Cin, Cout, p.groups, vol, out, kernel, p.stride, p.padding, p.dilation};
}

// y (N, Cout, out) from x (N, Cin, vol) and w (Cout, Cin/g, k).
template <typename T>
void conv3d_kernel(const T* x, const T* w, const T* bias, T* y, std::int64_t N, std::int64_t Cin, std::int64_t Cout,
                   const Dims& vol, const Dims& out, const Dims& kernel, const ConvParams& p) {
  const std::int64_t G = p.groups, cin_g = Cin / G, cout_g = Cout / G;
  const VolGeometry geo = geometry(cin_g, vol, out, kernel, p);
  const std::int64_t R = geo.rows(), L = geo.cols(), V = geo.vol_size();
  const std::int64_t tile = tile_columns(R, L);
  const std::int64_t tiles = (L + tile - 1) / tile;
  const bool pointwise = is_pointwise(kernel, p, vol, out);
  if constexpr (std::is_same_v<T, float>) {
    const detail::DirectConv dc = direct_shape(N, Cin, Cout, vol, out, kernel, p);
    if (detail::direct_conv_suits(dc)) {
      detail::direct_conv3d(x, w, bias, y, dc);
      return;
    }
  }
  detail::parallel_for(0, N * G * tiles, 1, [&](std::int64_t t0, std::int64_t t1) {
    for (std::int64_t task = t0; task < t1; ++task) {
      const std::int64_t n = task / (G * tiles), g = (task / tiles) % G, t = task % tiles;
      const std::int64_t c0 = t * tile, c1 = std::min(L, c0 + tile);
      const T* xg = x + (n * Cin + g * cin_g) * V;
      const T* cols = xg + c0;  // pointwise: the input already is the column matrix
      std::int64_t ldb = V;
      if (!pointwise) {
        T* buf = column_buffer<T>(R * (c1 - c0)).data();
        detail::im2col3d(xg, geo, c0, c1, buf);
        cols = buf;
        ldb = c1 - c0;
      }
      T* yg = y + (n * Cout + g * cout_g) * L + c0;
      gemm<T>(false, false, cout_g, c1 - c0, R, T(1), w + g * cout_g * R, R, cols, ldb, T(0), yg, L);
      if (bias != nullptr) {
        for (std::int64_t co = 0; co < cout_g; ++co) {
          const T b = bias[g * cout_g + co];
          T* row = yg + co * L;
          for (std::int64_t j = 0; j < c1 - c0; ++j) row[j] += b;
        }
      }
    }
  });
}

// A stride-1 transposed convolution is an ordinary convolution of the same input with the weight
// flipped in space and its channel axes swapped, padded by dilation·(k − 1) − padding before each
// dim (im2col pads the far side with zeros as far as `out` asks). That form gathers (im2col, then
// a deep GEMM) where the transposed form scatters (shallow GEMM, then col2im's read-modify-write).
bool gather_form(const Dims& kernel, const ConvParams& p) {
  for (std::size_t i = 0; i < 3; ++i) {
    if (p.stride[i] != 1 || p.dilation[i] * (kernel[i] - 1) - p.padding[i] < 0) return false;
  }
  return true;
}

// y (N, Cout, out) from x (N, Cin, in) and w (Cin, Cout/g, k); y need not be initialised.
template <typename T>
void conv_transpose3d_kernel(const T* x, const T* w, const T* bias, T* y, std::int64_t N, std::int64_t Cin,
                             std::int64_t Cout, const Dims& in, const Dims& out, const Dims& kernel,
                             const ConvParams& p) {
  const std::int64_t G = p.groups, cin_g = Cin / G, cout_g = Cout / G;
  const std::int64_t K = volume(kernel);
  if (gather_form(kernel, p)) {
    // w' (Cout, Cin/g, k): w'[g·cout_g + co, ci, k] = w[g·cin_g + ci, co, K − 1 − k].
    std::vector<T> flipped(static_cast<std::size_t>(Cin * cout_g * K));
    for (std::int64_t g = 0; g < G; ++g) {
      for (std::int64_t ci = 0; ci < cin_g; ++ci) {
        for (std::int64_t co = 0; co < cout_g; ++co) {
          const T* src = w + ((g * cin_g + ci) * cout_g + co) * K;
          T* dst = flipped.data() + ((g * cout_g + co) * cin_g + ci) * K;
          for (std::int64_t k = 0; k < K; ++k) dst[k] = src[K - 1 - k];
        }
      }
    }
    ConvParams q = p;
    for (std::size_t i = 0; i < 3; ++i) q.padding[i] = p.dilation[i] * (kernel[i] - 1) - p.padding[i];
    conv3d_kernel<T>(x, flipped.data(), bias, y, N, Cin, Cout, in, out, kernel, q);
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    const detail::DirectConv dc = direct_shape(N, Cin, Cout, in, out, kernel, p);
    if (detail::direct_conv_transpose3d_suits(dc)) {
      detail::direct_conv_transpose3d(x, w, bias, y, dc);
      return;
    }
  }
  // The output is the "volume" and the input positions are the columns.
  const VolGeometry geo = geometry(cout_g, out, in, kernel, p);
  const std::int64_t R = geo.rows(), L = geo.cols(), V = geo.vol_size();
  const std::int64_t tile = tile_columns(R, L);
  const bool pointwise = is_pointwise(kernel, p, out, in);
  // With one (sample, group) the parallelism moves inside: blocked GEMM and col2im by channel.
  const bool inner_parallel = N * G == 1;
  auto one = [&](std::int64_t n, std::int64_t g) {
    const T* xg = x + (n * Cin + g * cin_g) * L;
    const T* wg = w + g * cin_g * R;  // viewed as (cin_g × R); the GEMM reads its transpose
    T* yg = y + (n * Cout + g * cout_g) * V;
    auto product = inner_parallel ? &gemm_parallel<T> : &gemm<T>;
    if (pointwise) {
      product(true, false, cout_g, L, cin_g, T(1), wg, R, xg, L, T(0), yg, L);
      return;
    }
    if (inner_parallel) {
      detail::parallel_for(0, cout_g, 1,
                           [&](std::int64_t a, std::int64_t b) { std::fill(yg + a * V, yg + b * V, T(0)); });
    } else {
      std::fill(yg, yg + cout_g * V, T(0));
    }
    for (std::int64_t c0 = 0; c0 < L; c0 += tile) {
      const std::int64_t c1 = std::min(L, c0 + tile);
      T* buf = column_buffer<T>(R * (c1 - c0)).data();
      product(true, false, R, c1 - c0, cin_g, T(1), wg, R, xg + c0, L, T(0), buf, c1 - c0);
      if (inner_parallel) {
        detail::parallel_for(0, cout_g, 1,
                             [&](std::int64_t a, std::int64_t b) { detail::col2im3d(buf, geo, c0, c1, yg, a, b); });
      } else {
        detail::col2im3d(buf, geo, c0, c1, yg, 0, cout_g);
      }
    }
  };
  if (inner_parallel) {
    one(0, 0);
  } else {
    detail::parallel_for(0, N * G, 1, [&](std::int64_t a, std::int64_t b) {
      for (std::int64_t i = a; i < b; ++i) one(i / G, i % G);
    });
  }
  if (bias != nullptr) {
    detail::parallel_for(0, N * Cout, 1, [&](std::int64_t a, std::int64_t b) {
      for (std::int64_t i = a; i < b; ++i) {
        const T v = bias[i % Cout];
        T* row = y + i * V;
        for (std::int64_t j = 0; j < V; ++j) row[j] += v;
      }
    });
  }
}

// Number of weight-gradient partial sums per group: enough tasks to fill the cores, few enough
// that the partials stay small. It depends on the shapes only, never on the thread count.
constexpr std::int64_t kWeightGradPartials = 4;

// dw (Cout, Cin/g, k) from x (N, Cin, vol) and dy (N, Cout, out).
template <typename T>
void conv3d_weight_grad_kernel(const T* x, const T* dy, T* dw, std::int64_t N, std::int64_t Cin, std::int64_t Cout,
                               const Dims& vol, const Dims& out, const Dims& kernel, const ConvParams& p) {
  const std::int64_t G = p.groups, cin_g = Cin / G, cout_g = Cout / G;
  const VolGeometry geo = geometry(cin_g, vol, out, kernel, p);
  const std::int64_t R = geo.rows(), L = geo.cols(), V = geo.vol_size();
  const std::int64_t part = cout_g * R;
  const std::int64_t tile = tile_columns(R, L);
  const std::int64_t tiles = (L + tile - 1) / tile;
  // Each group's units of work, (sample, tile) in order, are split into P contiguous runs; each
  // run sums into its own partial, and the partials are added in index order.
  const std::int64_t units = N * tiles;
  const std::int64_t P = std::clamp<std::int64_t>(units, 1, kWeightGradPartials);
  if (units == 0) {
    std::fill(dw, dw + G * part, T(0));
    return;
  }
  const bool pointwise = is_pointwise(kernel, p, vol, out);
  if constexpr (std::is_same_v<T, float>) {
    const detail::DirectConv dc = direct_shape(N, Cin, Cout, vol, out, kernel, p);
    if (detail::direct_conv_suits(dc)) {
      detail::direct_conv3d_weight_grad(x, dy, dw, dc);
      return;
    }
  }
  std::vector<T> partial(P > 1 ? static_cast<std::size_t>(G * P * part) : 0);
  detail::parallel_for(0, G * P, 1, [&](std::int64_t t0, std::int64_t t1) {
    for (std::int64_t task = t0; task < t1; ++task) {
      const std::int64_t g = task / P, q = task % P;
      T* acc = P > 1 ? partial.data() + task * part : dw + g * part;
      const std::int64_t u0 = units * q / P, u1 = units * (q + 1) / P;
      for (std::int64_t u = u0; u < u1; ++u) {
        const std::int64_t n = u / tiles, t = u % tiles;
        const std::int64_t c0 = t * tile, c1 = std::min(L, c0 + tile);
        const T* xg = x + (n * Cin + g * cin_g) * V;
        const T* dyg = dy + (n * Cout + g * cout_g) * L;
        const T* cols = xg + c0;
        std::int64_t ld = V;
        if (!pointwise) {
          T* buf = column_buffer<T>(R * (c1 - c0)).data();
          detail::im2col3d(xg, geo, c0, c1, buf);
          cols = buf;
          ld = c1 - c0;
        }
        // acc (cout_g × R) (+)= dY tile (cout_g × cols) · columnsᵀ (cols × R)
        gemm<T>(false, true, cout_g, R, c1 - c0, T(1), dyg + c0, L, cols, ld, u == u0 ? T(0) : T(1), acc, R);
      }
    }
  });
  if (P == 1) return;
  detail::parallel_for(0, G * part, 4096, [&](std::int64_t a, std::int64_t b) {
    for (std::int64_t i = a; i < b; ++i) {
      const std::int64_t g = i / part, e = i % part;
      const T* src = partial.data() + g * P * part + e;
      T s = src[0];
      for (std::int64_t q = 1; q < P; ++q) s += src[q * part];
      dw[i] = s;
    }
  });
}

// db[c] = Σ over samples and positions of dy[n, c, ·], accumulated in double, one channel per task.
template <typename T>
void channel_sum_kernel(const T* dy, T* db, std::int64_t N, std::int64_t C, std::int64_t V) {
  detail::parallel_for(0, C, 1, [&](std::int64_t a, std::int64_t b) {
    for (std::int64_t c = a; c < b; ++c) {
      double s = 0;
      for (std::int64_t n = 0; n < N; ++n) {
        const T* row = dy + (n * C + c) * V;
        // Eight independent partial sums let the loop vectorise without reassociating freely.
        double acc[8] = {};
        std::int64_t j = 0;
        for (; j + 8 <= V; j += 8) {
          for (int l = 0; l < 8; ++l) acc[l] += static_cast<double>(row[j + l]);
        }
        for (; j < V; ++j) acc[j % 8] += static_cast<double>(row[j]);
        for (double v : acc) s += v;
      }
      db[c] = static_cast<T>(s);
    }
  });
}

// =================================================================================================
// Differentiable cores. They take the output spatial size explicitly, so each one can serve as
// another's gradient for any shape the public functions accept.
// =================================================================================================

Tensor conv3d_core(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p, const Dims& out);
Tensor conv_transpose3d_core(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p, const Dims& out);
Tensor weight_grad_core(const Tensor& x, const Tensor& dy, const Dims& kernel, const ConvParams& p);

// y (N, C, ...) = bias[c] everywhere, or zeros without a bias: a convolution with nothing to sum.
template <typename T>
void fill_bias(const Tensor& y, const Tensor& bias) {
  const std::int64_t N = y.sizes()[0], C = y.sizes()[1], V = volume(spatial(y));
  T* out = y.data_ptr<T>();
  const T* b = bias.defined() ? bias.contiguous().data_ptr<T>() : nullptr;
  for (std::int64_t i = 0; i < N * C; ++i) std::fill(out + i * V, out + (i + 1) * V, b ? b[i % C] : T(0));
}

// The bias gradient: dy summed over everything but the channel dim.
Tensor bias_grad(const Tensor& grad_output) {
  const Tensor dy = grad_output.contiguous();
  const std::int64_t N = dy.sizes()[0], C = dy.sizes()[1];
  // The volume of an empty dy may not fit in int64 (N = 0 with huge spatial sizes).
  const std::int64_t V = dy.numel() == 0 ? 0 : volume(spatial(dy));
  Tensor db = empty({C}, dy.dtype());
  detail::dispatch_floating(dy.dtype(), "conv3d", [&]<typename T>() {
    if (dy.numel() == 0) {
      std::fill(db.data_ptr<T>(), db.data_ptr<T>() + C, T(0));
      return;
    }
    channel_sum_kernel<T>(dy.data_ptr<T>(), db.data_ptr<T>(), N, C, V);
  });
  record("ConvBiasGradBackward", dy, db, {},
         [sizes = Shape(dy.sizes().begin(), dy.sizes().end()), C](const BackwardCtx& c) {
           return std::vector<Tensor>{c.grad().reshape({1, C, 1, 1, 1}).expand(sizes)};
         });
  return db;
}

Dims kernel_of(const Tensor& w) { return spatial(w); }

std::vector<Tensor> three(Tensor a, Tensor b, Tensor c) {
  std::vector<Tensor> v(3);
  v[0] = std::move(a);
  v[1] = std::move(b);
  v[2] = std::move(c);
  return v;
}

Tensor conv3d_core(const Tensor& input, const Tensor& weight, const Tensor& bias, const ConvParams& p,
                   const Dims& out) {
  const Tensor x = input.contiguous(), w = weight.contiguous(), b = bias.defined() ? bias.contiguous() : Tensor();
  const std::int64_t N = x.sizes()[0], Cin = x.sizes()[1], Cout = w.sizes()[0];
  Tensor y = empty({N, Cout, out[0], out[1], out[2]}, x.dtype());
  detail::dispatch_floating(x.dtype(), "conv3d", [&]<typename T>() {
    if (y.numel() == 0) return;
    if (x.numel() == 0 || w.numel() == 0) {
      fill_bias<T>(y, bias);  // nothing to sum (no input channels or no input positions)
      return;
    }
    conv3d_kernel<T>(x.data_ptr<T>(), w.data_ptr<T>(), b.defined() ? b.data_ptr<T>() : nullptr, y.data_ptr<T>(),
                     N, Cin, Cout, spatial(x), out, kernel_of(w), p);
  });
  const Tensor inputs[3] = {x, w, bias};
  Tensor outputs[1] = {y};
  record("Conv3dBackward", inputs, outputs,
         {save(w.requires_grad() ? x : Tensor()), save(x.requires_grad() ? w : Tensor())},
         [p, in = spatial(x), kernel = kernel_of(w)](const BackwardCtx& c) {
           const Tensor& dy = c.grad();
           return three(
               // The input gradient is the transposed convolution of dY with the same weight.
               c.needs_input_grad(0) ? conv_transpose3d_core(dy, c.saved[1], {}, p, in) : Tensor(),
               c.needs_input_grad(1) ? weight_grad_core(c.saved[0], dy, kernel, p) : Tensor(),
               c.needs_input_grad(2) ? bias_grad(dy) : Tensor());
         });
  return y;
}

Tensor conv_transpose3d_core(const Tensor& input, const Tensor& weight, const Tensor& bias, const ConvParams& p,
                             const Dims& out) {
  const Tensor x = input.contiguous(), w = weight.contiguous(), b = bias.defined() ? bias.contiguous() : Tensor();
  const std::int64_t N = x.sizes()[0], Cin = x.sizes()[1], Cout = w.sizes()[1] * p.groups;
  Tensor y = empty({N, Cout, out[0], out[1], out[2]}, x.dtype());
  detail::dispatch_floating(x.dtype(), "conv_transpose3d", [&]<typename T>() {
    if (y.numel() == 0) return;
    if (x.numel() == 0 || w.numel() == 0) {
      fill_bias<T>(y, bias);
      return;
    }
    conv_transpose3d_kernel<T>(x.data_ptr<T>(), w.data_ptr<T>(), b.defined() ? b.data_ptr<T>() : nullptr,
                               y.data_ptr<T>(), N, Cin, Cout, spatial(x), out, kernel_of(w), p);
  });
  const Tensor inputs[3] = {x, w, bias};
  Tensor outputs[1] = {y};
  record("ConvTranspose3dBackward", inputs, outputs,
         {save(w.requires_grad() ? x : Tensor()), save(x.requires_grad() ? w : Tensor())},
         [p, in = spatial(x), kernel = kernel_of(w)](const BackwardCtx& c) {
           const Tensor& dy = c.grad();
           return three(
               // The input gradient is the ordinary convolution of dY with the same weight.
               c.needs_input_grad(0) ? conv3d_core(dy, c.saved[1], {}, p, in) : Tensor(),
               // dW = X · im2col(dY)ᵀ: conv3d's weight gradient with the roles swapped.
               c.needs_input_grad(1) ? weight_grad_core(dy, c.saved[0], kernel, p) : Tensor(),
               c.needs_input_grad(2) ? bias_grad(dy) : Tensor());
         });
  return y;
}

Tensor weight_grad_core(const Tensor& input, const Tensor& grad_output, const Dims& kernel, const ConvParams& p) {
  const Tensor x = input.contiguous(), dy = grad_output.contiguous();
  const std::int64_t N = x.sizes()[0], Cin = x.sizes()[1], Cout = dy.sizes()[1];
  Tensor dw = empty({Cout, Cin / p.groups, kernel[0], kernel[1], kernel[2]}, x.dtype());
  detail::dispatch_floating(x.dtype(), "conv3d_weight_grad", [&]<typename T>() {
    if (dw.numel() == 0) return;
    if (x.numel() == 0 || dy.numel() == 0) {
      std::fill(dw.data_ptr<T>(), dw.data_ptr<T>() + dw.numel(), T(0));
      return;
    }
    conv3d_weight_grad_kernel<T>(x.data_ptr<T>(), dy.data_ptr<T>(), dw.data_ptr<T>(), N, Cin, Cout, spatial(x),
                                 spatial(dy), kernel, p);
  });
  // dW is bilinear in (X, dY): its gradients are the two convolutions with the incoming ddW.
  record("Conv3dWeightGradBackward", x, dy, dw,
         {save(dy.requires_grad() ? x : Tensor()), save(x.requires_grad() ? dy : Tensor())},
         [p, in = spatial(x), out = spatial(dy)](const BackwardCtx& c) {
           const Tensor& ddw = c.grad();
           std::vector<Tensor> g(2);
           if (c.needs_input_grad(0)) g[0] = conv_transpose3d_core(c.saved[1], ddw, {}, p, in);
           if (c.needs_input_grad(1)) g[1] = conv3d_core(c.saved[0], ddw, {}, p, out);
           return g;
         });
  return dw;
}

// =================================================================================================
// Validation: every argument is checked (in int64, with overflow checks) before any allocation.
// =================================================================================================

ConvParams check_params(const char* op, const ExpandingArray<3>& stride, const ExpandingArray<3>& padding,
                        const ExpandingArray<3>& dilation, std::int64_t groups) {
  ConvParams p;
  VOXGRAD_CHECK(groups > 0, "{}: non-positive groups is not supported (got groups={})", op, groups);
  for (std::size_t i = 0; i < 3; ++i) {
    VOXGRAD_CHECK(stride[i] > 0, "{}: non-positive stride is not supported (got stride={})", op, stride.str());
    VOXGRAD_CHECK(padding[i] >= 0, "{}: negative padding is not supported (got padding={})", op, padding.str());
    VOXGRAD_CHECK(dilation[i] > 0, "{}: dilation should be greater than zero (got dilation={})", op, dilation.str());
  }
  p.stride = stride.values();
  p.padding = padding.values();
  p.dilation = dilation.values();
  p.groups = groups;
  return p;
}

void check_tensors(const char* op, const Tensor& x, const Tensor& w, const Tensor& b) {
  detail::check_defined(x, op, "input");
  detail::check_defined(w, op, "weight");
  VOXGRAD_CHECK(x.dim() == 5, "Expected 4D (unbatched) or 5D (batched) input to {}, but got input of size: {}", op,
                shape_str(x.sizes()));
  VOXGRAD_CHECK(w.dim() == 5, "{}: expected a 5-D weight, but got weight of size {}", op, shape_str(w.sizes()));
  VOXGRAD_CHECK(is_floating_point(x.dtype()), "{}: expected a float32 or float64 input, but got {}", op, x.dtype());
  VOXGRAD_CHECK(x.dtype() == w.dtype(), "{}: input ({}) and weight ({}) must have the same dtype", op, x.dtype(),
                w.dtype());
  for (std::size_t i = 2; i < 5; ++i) {
    VOXGRAD_CHECK(w.sizes()[i] > 0, "{}: kernel size must be positive, but got weight of size {}", op,
                  shape_str(w.sizes()));
  }
  if (b.defined()) {
    VOXGRAD_CHECK(b.dtype() == x.dtype(), "{}: bias ({}) and input ({}) must have the same dtype", op, b.dtype(),
                  x.dtype());
  }
}

void check_bias(const char* op, const Tensor& b, std::int64_t cout) {
  if (!b.defined()) return;
  VOXGRAD_CHECK(b.dim() == 1 && b.sizes()[0] == cout,
                "{}: expected bias of shape [{}] (one value per output channel), but got bias of size {}", op, cout,
                shape_str(b.sizes()));
}

// Runs `fn` on a batched view of `input`, returning an unbatched result for unbatched input.
template <typename Fn>
Tensor with_batch_dim(const Tensor& input, const char* op, Fn&& fn) {
  detail::check_defined(input, op, "input");
  VOXGRAD_CHECK(input.dim() == 4 || input.dim() == 5,
                "Expected 4D (unbatched) or 5D (batched) input to {}, but got input of size: {}", op,
                shape_str(input.sizes()));
  if (input.dim() == 5) return fn(input);
  return fn(input.unsqueeze(0)).squeeze(0);
}

std::string dims_str(const Dims& d) { return fmt::format("({} x {} x {})", d[0], d[1], d[2]); }

}  // namespace

// =================================================================================================
// Public functions.
// =================================================================================================

Tensor conv3d(const Tensor& input, const Tensor& weight, const Tensor& bias, ExpandingArray<3> stride,
              ExpandingArray<3> padding, ExpandingArray<3> dilation, std::int64_t groups) {
  const char* op = "conv3d";
  const ConvParams p = check_params(op, stride, padding, dilation, groups);
  return with_batch_dim(input, op, [&](const Tensor& x) {
    check_tensors(op, x, weight, bias);
    const std::int64_t cin = x.sizes()[1], cout = weight.sizes()[0];
    VOXGRAD_CHECK(cout >= groups,
                  "Given groups={}, expected weight to be at least {} at dimension 0, but got weight of size {} "
                  "instead",
                  groups, groups, shape_str(weight.sizes()));
    VOXGRAD_CHECK(cout % groups == 0,
                  "Given groups={}, expected weight to be divisible by {} at dimension 0, but got weight of "
                  "size {} instead",
                  groups, groups, shape_str(weight.sizes()));
    VOXGRAD_CHECK(checked_mul(weight.sizes()[1], groups, op) == cin,
                  "Given groups={}, weight of size {}, expected input{} to have {} channels, but got {} "
                  "channels instead",
                  groups, shape_str(weight.sizes()), shape_str(x.sizes()), weight.sizes()[1] * groups, cin);
    check_bias(op, bias, cout);
    Dims padded{}, dilated{}, out{};
    for (std::size_t i = 0; i < 3; ++i) {
      padded[i] = checked_add(x.sizes()[2 + i], checked_mul(2, p.padding[i], op), op);
      dilated[i] = checked_add(checked_mul(p.dilation[i], weight.sizes()[2 + i] - 1, op), 1, op);
    }
    for (std::size_t i = 0; i < 3; ++i) {
      VOXGRAD_CHECK(dilated[i] <= padded[i],
                    "{}: Calculated padded input size per channel: {}. Kernel size: {}. Kernel size can't be "
                    "greater than actual input size",
                    op, dims_str(padded), dims_str(dilated));
      out[i] = (padded[i] - dilated[i]) / p.stride[i] + 1;
    }
    checked_numel({x.sizes()[0], cout, out[0], out[1], out[2]}, op);
    return conv3d_core(x, weight, bias, p, out);
  });
}

Tensor conv_transpose3d(const Tensor& input, const Tensor& weight, const Tensor& bias, ExpandingArray<3> stride,
                        ExpandingArray<3> padding, ExpandingArray<3> output_padding, std::int64_t groups,
                        ExpandingArray<3> dilation) {
  const char* op = "conv_transpose3d";
  const ConvParams p = check_params(op, stride, padding, dilation, groups);
  for (std::size_t i = 0; i < 3; ++i) {
    VOXGRAD_CHECK(output_padding[i] >= 0, "{}: negative output_padding is not supported (got output_padding={})", op,
                  output_padding.str());
  }
  const bool op_ok = [&] {
    for (std::size_t i = 0; i < 3; ++i) {
      if (output_padding[i] >= p.stride[i] && output_padding[i] >= p.dilation[i]) return false;
    }
    return true;
  }();
  VOXGRAD_CHECK(op_ok,
                "{}: output padding must be smaller than either stride or dilation, but got output_padding_depth: "
                "{} output_padding_height: {} output_padding_width: {} stride_depth: {} stride_height: {} "
                "stride_width: {} dilation_depth: {} dilation_height: {} dilation_width: {}",
                op, output_padding[0], output_padding[1], output_padding[2], p.stride[0], p.stride[1], p.stride[2],
                p.dilation[0], p.dilation[1], p.dilation[2]);
  return with_batch_dim(input, op, [&](const Tensor& x) {
    check_tensors(op, x, weight, bias);
    const std::int64_t cin = x.sizes()[1];
    VOXGRAD_CHECK(weight.sizes()[0] >= groups,
                  "Given groups={}, expected weight to be at least {} at dimension 0, but got weight of size {} "
                  "instead",
                  groups, groups, shape_str(weight.sizes()));
    VOXGRAD_CHECK(weight.sizes()[0] % groups == 0,
                  "Given groups={}, expected weight to be divisible by {} at dimension 0, but got weight of "
                  "size {} instead",
                  groups, groups, shape_str(weight.sizes()));
    VOXGRAD_CHECK(weight.sizes()[0] == cin,
                  "Given transposed=1, weight of size {}, expected input{} to have {} channels, but got {} "
                  "channels instead",
                  shape_str(weight.sizes()), shape_str(x.sizes()), weight.sizes()[0], cin);
    const std::int64_t cout = checked_mul(weight.sizes()[1], groups, op);
    check_bias(op, bias, cout);
    Dims out{}, in = spatial(x);
    for (std::size_t i = 0; i < 3; ++i) {
      // (in − 1)·s − 2p + d·(k − 1) + output_padding + 1
      std::int64_t o = checked_mul(std::max<std::int64_t>(in[i] - 1, 0), p.stride[i], op);
      o = checked_add(o, checked_mul(p.dilation[i], weight.sizes()[2 + i] - 1, op), op);
      // output_padding + 1 cannot overflow (output_padding < stride or dilation); 2·padding can.
      o = checked_add(o, output_padding[i] + 1, op);
      o = checked_add(o, -checked_mul(2, p.padding[i], op), op);
      out[i] = in[i] == 0 ? 0 : o;
    }
    VOXGRAD_CHECK(out[0] > 0 && out[1] > 0 && out[2] > 0,
                  "{}: Given input size per channel: {}. Calculated output size per channel: {}. Output size is "
                  "too small",
                  op, dims_str(in), dims_str(out));
    checked_numel({x.sizes()[0], cout, out[0], out[1], out[2]}, op);
    return conv_transpose3d_core(x, weight, bias, p, out);
  });
}

Tensor conv3d_weight_grad(const Tensor& input, const Tensor& grad_output, ExpandingArray<3> kernel_size,
                          ExpandingArray<3> stride, ExpandingArray<3> padding, ExpandingArray<3> dilation,
                          std::int64_t groups) {
  const char* op = "conv3d_weight_grad";
  const ConvParams p = check_params(op, stride, padding, dilation, groups);
  detail::check_defined(input, op, "input");
  detail::check_defined(grad_output, op, "grad_output");
  VOXGRAD_CHECK(input.dim() == 5 && grad_output.dim() == 5 && input.sizes()[0] == grad_output.sizes()[0],
                "{}: expected 5-D input and grad_output with the same batch size, but got {} and {}", op,
                shape_str(input.sizes()), shape_str(grad_output.sizes()));
  VOXGRAD_CHECK(input.dtype() == grad_output.dtype() && is_floating_point(input.dtype()),
                "{}: input ({}) and grad_output ({}) must share a floating dtype", op, input.dtype(),
                grad_output.dtype());
  VOXGRAD_CHECK(input.sizes()[1] % groups == 0 && grad_output.sizes()[1] % groups == 0,
                "{}: channels {} and {} must be divisible by groups={}", op, input.sizes()[1], grad_output.sizes()[1],
                groups);
  for (std::size_t i = 0; i < 3; ++i) {
    VOXGRAD_CHECK(kernel_size[i] > 0, "{}: kernel size must be positive, got {}", op, kernel_size.str());
    // Checked like conv3d's sizes; a kernel wider than the padded input allows no output at all
    // (plain division would truncate a negative numerator towards zero and allow one).
    const std::int64_t padded = checked_add(input.sizes()[2 + i], checked_mul(2, p.padding[i], op), op);
    const std::int64_t span = checked_add(checked_mul(p.dilation[i], kernel_size[i] - 1, op), 1, op);
    const std::int64_t natural = padded < span ? 0 : (padded - span) / p.stride[i] + 1;
    VOXGRAD_CHECK(grad_output.sizes()[2 + i] <= std::max<std::int64_t>(natural, 0),
                  "{}: grad_output of size {} is larger than the convolution of input {} gives", op,
                  shape_str(grad_output.sizes()), shape_str(input.sizes()));
  }
  return weight_grad_core(input, grad_output, kernel_size.values(), p);
}

// =================================================================================================
// pad3d: a gather along each spatial dim by a per-mode index map; its adjoint scatters (adds).
// =================================================================================================

const char* padding_mode_name(PaddingMode mode) {
  switch (mode) {
    case PaddingMode::Zeros: return "zeros";
    case PaddingMode::Reflect: return "reflect";
    case PaddingMode::Replicate: return "replicate";
    case PaddingMode::Circular: return "circular";
  }
  return "unknown";
}

namespace {

// For each padded position along a dim of `size`, the source index (or -1 for a zero).
std::vector<std::int64_t> pad_index_map(std::int64_t size, std::int64_t before, std::int64_t after, PaddingMode mode) {
  std::vector<std::int64_t> map(static_cast<std::size_t>(size + before + after));
  for (std::int64_t o = 0; o < static_cast<std::int64_t>(map.size()); ++o) {
    std::int64_t i = o - before;
    if (i < 0 || i >= size) {
      switch (mode) {
        case PaddingMode::Zeros: i = -1; break;
        case PaddingMode::Replicate: i = std::clamp<std::int64_t>(i, 0, size - 1); break;
        case PaddingMode::Circular: i = ((i % size) + size) % size; break;
        case PaddingMode::Reflect: {
          const std::int64_t period = 2 * (size - 1);
          i = ((i % period) + period) % period;
          if (i >= size) i = period - i;
          break;
        }
      }
    }
    map[static_cast<std::size_t>(o)] = i;
  }
  return map;
}

struct PadMaps {
  Dims out{};                                    // padded spatial size
  std::array<std::vector<std::int64_t>, 3> map;  // empty when the padded tensor has no elements
};

// Visits every padded position (c, i, j, k) with its flat offset in the padded tensor and the flat
// offset of its source element (or -1 for a zero), channels split across tasks.
template <typename Fn>
void for_each_padded(std::int64_t channels, const Dims& in_sz, const PadMaps& m, Fn&& fn) {
  const auto& md = m.map[0];
  const auto& mh = m.map[1];
  const auto& mw = m.map[2];
  if (md.empty() || mh.empty() || mw.empty()) return;
  const auto od = static_cast<std::int64_t>(md.size()), oh = static_cast<std::int64_t>(mh.size()),
             ow = static_cast<std::int64_t>(mw.size());
  const std::int64_t in_vol = volume(in_sz), out_vol = od * oh * ow;
  // Channels are independent, so the scatter stays race-free when split across them.
  detail::parallel_for(0, channels, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      for (std::int64_t i = 0; i < od; ++i) {
        for (std::int64_t j = 0; j < oh; ++j) {
          const bool inside = md[i] >= 0 && mh[j] >= 0;
          const std::int64_t src_row = c * in_vol + (md[i] * in_sz[1] + mh[j]) * in_sz[2];
          const std::int64_t dst_row = c * out_vol + (i * oh + j) * ow;
          for (std::int64_t k = 0; k < ow; ++k) {
            fn(dst_row + k, inside && mw[k] >= 0 ? src_row + mw[k] : -1);
          }
        }
      }
    }
  });
}

Tensor pad_scatter(const Tensor& grad, const Dims& in_sz, const PadMaps& maps);

Tensor pad_apply(const Tensor& x5, const Dims& in_sz, const PadMaps& maps) {
  const Tensor x = x5.contiguous();
  const std::int64_t N = x.sizes()[0], C = x.sizes()[1];
  Tensor y = empty({N, C, maps.out[0], maps.out[1], maps.out[2]}, x.dtype());
  detail::dispatch_floating(x.dtype(), "pad3d", [&]<typename T>() {
    const T* src = x.data_ptr<T>();
    T* dst = y.data_ptr<T>();
    for_each_padded(N * C, in_sz, maps, [&](std::int64_t o, std::int64_t i) { dst[o] = i >= 0 ? src[i] : T(0); });
  });
  record("Pad3dBackward", x, y, {},
         [maps, in_sz](const BackwardCtx& c) { return std::vector<Tensor>{pad_scatter(c.grad(), in_sz, maps)}; });
  return y;
}

Tensor pad_scatter(const Tensor& grad, const Dims& in_sz, const PadMaps& maps) {
  const Tensor g = grad.contiguous();
  const std::int64_t N = g.sizes()[0], C = g.sizes()[1];
  Tensor x = zeros({N, C, in_sz[0], in_sz[1], in_sz[2]}, g.dtype());
  detail::dispatch_floating(g.dtype(), "pad3d", [&]<typename T>() {
    const T* src = g.data_ptr<T>();
    T* dst = x.data_ptr<T>();
    for_each_padded(N * C, in_sz, maps, [&](std::int64_t o, std::int64_t i) {
      if (i >= 0) dst[i] += src[o];
    });
  });
  record("Pad3dBackwardBackward", g, x, {},
         [maps, in_sz](const BackwardCtx& c) { return std::vector<Tensor>{pad_apply(c.grad(), in_sz, maps)}; });
  return x;
}

}  // namespace

Tensor pad3d(const Tensor& input, const std::array<std::int64_t, 6>& pads, PaddingMode mode) {
  const char* op = "pad3d";
  detail::check_defined(input, op, "input");
  VOXGRAD_CHECK(input.dim() == 4 || input.dim() == 5,
                "{}: expected a 4-D (unbatched) or 5-D (batched) input, but got input of size {}", op,
                shape_str(input.sizes()));
  const Tensor x = input.dim() == 5 ? input : input.unsqueeze(0);
  const Dims in_sz = spatial(x);
  PadMaps maps;
  for (std::size_t d = 0; d < 3; ++d) {
    const std::int64_t before = pads[2 * d], after = pads[2 * d + 1];
    VOXGRAD_CHECK(before >= 0 && after >= 0, "{}: negative padding is not supported (got {})", op,
                  fmt::join(pads, ", "));
    if (mode == PaddingMode::Reflect) {
      VOXGRAD_CHECK(before < in_sz[d] && after < in_sz[d],
                    "{}: padding size should be less than the corresponding input dimension for reflect "
                    "padding, but got padding ({}, {}) at dimension {} of input {}",
                    op, before, after, d + 2, shape_str(x.sizes()));
    }
    if (mode == PaddingMode::Circular || mode == PaddingMode::Replicate) {
      VOXGRAD_CHECK(in_sz[d] > 0 || (before == 0 && after == 0), "{}: {} padding of an empty dimension is not possible",
                    op, padding_mode_name(mode));
    }
    if (mode == PaddingMode::Circular) {
      VOXGRAD_CHECK(before <= in_sz[d] && after <= in_sz[d],
                    "{}: padding value causes wrapping around more than once (padding ({}, {}) for size {})", op,
                    before, after, in_sz[d]);
    }
    maps.out[d] = checked_add(checked_add(in_sz[d], before, op), after, op);
  }
  // The index maps are as long as the padded dims: build them only after the padded tensor's size
  // has been counted and its memory found to exist (and not at all when it has no elements).
  const std::int64_t numel = checked_numel({x.sizes()[0], x.sizes()[1], maps.out[0], maps.out[1], maps.out[2]}, op);
  if (numel > 0) {
    detail::check_allocation(op, numel, element_size(x.dtype()));
    for (std::size_t d = 0; d < 3; ++d) maps.map[d] = pad_index_map(in_sz[d], pads[2 * d], pads[2 * d + 1], mode);
  }
  const Tensor y = pad_apply(x, in_sz, maps);
  return input.dim() == 5 ? y : y.squeeze(0);
}

}  // namespace voxgrad
