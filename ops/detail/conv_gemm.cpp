#include "voxgrad/ops/detail/conv_gemm.h"

#include <algorithm>
#include <vector>

#include <tbb/enumerable_thread_specific.h>

#include "voxgrad/core/detail/allocator.h"
#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/ops/detail/gemm.h"
#include "voxgrad/ops/detail/vol2col.h"

namespace voxgrad::detail {

namespace {

// Elements of one column tile: twice the L2 size in float32 elements, so that the part of the tile
// the GEMM's current panel reads stays in L2 between im2col and the GEMM. On AMD Zen 4 (1 MiB L2:
// 2^19 elements) 2^18 to 2^19 measured equally fast, 2^20 5–10% slower, and narrower tiles repack
// the weight panel more often.
std::int64_t column_budget() {
  return std::clamp<std::int64_t>(cache_sizes().l2 * 2 / std::int64_t{sizeof(float)}, std::int64_t{1} << 17,
                                  std::int64_t{1} << 21);
}

// Columns per tile: a multiple of 16 where the budget allows, down to a single column for very tall
// column matrices, so a tile never holds more than max(budget, rows) elements (at most the weight's
// size).
std::int64_t tile_columns(std::int64_t rows, std::int64_t cols) {
  const std::int64_t t = column_budget() / std::max<std::int64_t>(rows, 1);
  return std::max<std::int64_t>(1, std::min(cols, t >= 16 ? t / 16 * 16 : t));
}

// Per-thread column tiles, kept across calls; empty_cache() frees them.
template <typename T>
tbb::enumerable_thread_specific<std::vector<T>>& column_buffers() {
  static tbb::enumerable_thread_specific<std::vector<T>> buffers;
  static const bool registered = [] {
    register_workspace_release(+[] {
      for (std::vector<T>& v : column_buffers<T>()) std::vector<T>().swap(v);
    });
    return true;
  }();
  (void)registered;
  return buffers;
}

template <typename T>
T* column_buffer(std::int64_t elements) {
  std::vector<T>& buf = column_buffers<T>().local();
  if (static_cast<std::int64_t>(buf.size()) < elements) buf.resize(static_cast<std::size_t>(elements));
  return buf.data();
}

// One tile of a group's column matrix: columns [c0, c1) of volume xg, as a matrix with row stride
// ld. A pointwise geometry's volume already is its column matrix; otherwise im2col fills a buffer.
template <typename T>
struct Columns {
  const T* data;
  std::int64_t ld;
};

template <typename T>
Columns<T> columns(const T* xg, const ConvGeometry& g, bool pointwise, std::int64_t c0, std::int64_t c1) {
  if (pointwise) return {xg + c0, g.vol_size()};
  T* buf = column_buffer<T>(g.rows() * (c1 - c0));
  im2col3d(xg, g, c0, c1, buf);
  return {buf, c1 - c0};
}

// Number of weight-gradient partial sums per group: enough tasks to fill the cores, few enough that
// the partials stay small. It depends on the shapes only, never on the thread count.
constexpr std::int64_t kWeightGradPartials = 4;

}  // namespace

template <typename T>
void GemmConv<T>::forward(const T* x, const T* w, const T* bias, T* y, const ConvGeometry& g) {
  const std::int64_t G = g.groups, cin_g = g.cin_g(), cout_g = g.cout_g();
  const std::int64_t R = g.rows(), L = g.out_size(), V = g.vol_size();
  const std::int64_t tile = tile_columns(R, L);
  const std::int64_t tiles = (L + tile - 1) / tile;
  const bool pointwise = g.is_pointwise();
  parallel_for(0, g.N * G * tiles, 1, [&](std::int64_t t0, std::int64_t t1) {
    for (std::int64_t task = t0; task < t1; ++task) {
      const std::int64_t n = task / (G * tiles), gi = (task / tiles) % G, t = task % tiles;
      const std::int64_t c0 = t * tile, c1 = std::min(L, c0 + tile);
      const Columns<T> cols = columns(x + (n * g.Cin + gi * cin_g) * V, g, pointwise, c0, c1);
      T* yg = y + (n * g.Cout + gi * cout_g) * L + c0;
      gemm<T>(false, false, cout_g, c1 - c0, R, T(1), w + gi * cout_g * R, R, cols.data, cols.ld, T(0), yg, L);
      if (bias != nullptr) {
        for (std::int64_t co = 0; co < cout_g; ++co) {
          const T b = bias[gi * cout_g + co];
          T* row = yg + co * L;
          for (std::int64_t j = 0; j < c1 - c0; ++j) row[j] += b;
        }
      }
    }
  });
}

template <typename T>
void GemmConv<T>::adjoint(const T* y, const T* w, const T* bias, T* x, const ConvGeometry& g) {
  const std::int64_t G = g.groups, cin_g = g.cin_g(), cout_g = g.cout_g();
  // y's positions are the columns; x is the volume the columns are scattered into.
  const std::int64_t R = g.rows(), L = g.out_size(), V = g.vol_size();
  const std::int64_t tile = tile_columns(R, L);
  const bool pointwise = g.is_pointwise();
  // With one (sample, group) the parallelism moves inside: blocked GEMM and col2im by channel.
  const bool inner_parallel = g.N * G == 1;
  auto one = [&](std::int64_t n, std::int64_t gi) {
    const T* yg = y + (n * g.Cout + gi * cout_g) * L;
    const T* wg = w + gi * cout_g * R;  // (cout_g × R); the GEMM reads its transpose
    T* xg = x + (n * g.Cin + gi * cin_g) * V;
    auto product = inner_parallel ? &gemm_parallel<T> : &gemm<T>;
    if (pointwise) {
      product(true, false, cin_g, L, cout_g, T(1), wg, R, yg, L, T(0), xg, L);
      return;
    }
    if (inner_parallel) {
      parallel_for(0, cin_g, 1, [&](std::int64_t a, std::int64_t b) { std::fill(xg + a * V, xg + b * V, T(0)); });
    } else {
      std::fill(xg, xg + cin_g * V, T(0));
    }
    for (std::int64_t c0 = 0; c0 < L; c0 += tile) {
      const std::int64_t c1 = std::min(L, c0 + tile);
      T* buf = column_buffer<T>(R * (c1 - c0));
      product(true, false, R, c1 - c0, cout_g, T(1), wg, R, yg + c0, L, T(0), buf, c1 - c0);
      if (inner_parallel) {
        parallel_for(0, cin_g, 1, [&](std::int64_t a, std::int64_t b) { col2im3d(buf, g, c0, c1, xg, a, b); });
      } else {
        col2im3d(buf, g, c0, c1, xg, 0, cin_g);
      }
    }
  };
  if (inner_parallel) {
    one(0, 0);
  } else {
    parallel_for(0, g.N * G, 1, [&](std::int64_t a, std::int64_t b) {
      for (std::int64_t i = a; i < b; ++i) one(i / G, i % G);
    });
  }
  if (bias != nullptr) {
    parallel_for(0, g.N * g.Cin, 1, [&](std::int64_t a, std::int64_t b) {
      for (std::int64_t i = a; i < b; ++i) {
        const T v = bias[i % g.Cin];
        T* row = x + i * V;
        for (std::int64_t j = 0; j < V; ++j) row[j] += v;
      }
    });
  }
}

template <typename T>
void GemmConv<T>::weight(const T* x, const T* dy, T* dw, const ConvGeometry& g) {
  const std::int64_t G = g.groups, cin_g = g.cin_g(), cout_g = g.cout_g();
  const std::int64_t R = g.rows(), L = g.out_size(), V = g.vol_size();
  const std::int64_t part = cout_g * R;
  const std::int64_t tile = tile_columns(R, L);
  const std::int64_t tiles = (L + tile - 1) / tile;
  // Each group's units of work, (sample, tile) in order, are split into P contiguous runs; each run
  // sums into its own partial, and the partials are added in index order.
  const std::int64_t units = g.N * tiles;
  const std::int64_t P = std::clamp<std::int64_t>(units, 1, kWeightGradPartials);
  if (units == 0) {
    std::fill(dw, dw + G * part, T(0));
    return;
  }
  const bool pointwise = g.is_pointwise();
  std::vector<T> partial(P > 1 ? static_cast<std::size_t>(G * P * part) : 0);
  parallel_for(0, G * P, 1, [&](std::int64_t t0, std::int64_t t1) {
    for (std::int64_t task = t0; task < t1; ++task) {
      const std::int64_t gi = task / P, q = task % P;
      T* acc = P > 1 ? partial.data() + task * part : dw + gi * part;
      const std::int64_t u0 = units * q / P, u1 = units * (q + 1) / P;
      for (std::int64_t u = u0; u < u1; ++u) {
        const std::int64_t n = u / tiles, t = u % tiles;
        const std::int64_t c0 = t * tile, c1 = std::min(L, c0 + tile);
        const Columns<T> cols = columns(x + (n * g.Cin + gi * cin_g) * V, g, pointwise, c0, c1);
        const T* dyg = dy + (n * g.Cout + gi * cout_g) * L;
        // acc (cout_g × R) (+)= dY tile (cout_g × cols) · columnsᵀ (cols × R)
        gemm<T>(false, true, cout_g, R, c1 - c0, T(1), dyg + c0, L, cols.data, cols.ld, u == u0 ? T(0) : T(1), acc, R);
      }
    }
  });
  if (P == 1) return;
  parallel_for(0, G * part, 4096, [&](std::int64_t a, std::int64_t b) {
    for (std::int64_t i = a; i < b; ++i) {
      const std::int64_t gi = i / part, e = i % part;
      const T* src = partial.data() + gi * P * part + e;
      T s = src[0];
      for (std::int64_t q = 1; q < P; ++q) s += src[q * part];
      dw[i] = s;
    }
  });
}

template struct GemmConv<float>;
template struct GemmConv<double>;

}  // namespace voxgrad::detail
