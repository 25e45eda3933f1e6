#include "voxgrad/ops/detail/vol2col.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

namespace voxgrad::detail {

namespace {

// First output index o with o·s + offset ≥ 0, and one past the last with o·s + offset < size: the
// outputs of one line that read inside the volume along one dim.
inline void valid_range(std::int64_t size, std::int64_t out, std::int64_t s, std::int64_t offset, std::int64_t& lo,
                        std::int64_t& hi) {
  // Ceiling divisions written so that they cannot overflow for strides near INT64_MAX.
  lo = offset >= 0 ? 0 : (-offset - 1) / s + 1;
  hi = size - offset <= 0 ? 0 : (size - offset - 1) / s + 1;
  lo = std::min(lo, out);
  hi = std::clamp(hi, lo, out);
}

// A run of columns that share one output line (od, oh): columns j … j + n − 1 of the tile are
// output positions ow0 … ow0 + n − 1. d0/h0 are the line's first input depth/row before the kernel
// offset.
struct Run {
  std::int64_t j, ow0, n, d0, h0;
};

// The runs of [col_begin, col_end), computed once per call instead of once per row (the divisions
// that locate a column cost more than copying its few elements).
void make_runs(const ConvGeometry& g, std::int64_t col_begin, std::int64_t col_end, std::vector<Run>& runs) {
  runs.clear();
  const std::int64_t ow_n = g.out[2], oh_n = g.out[1];
  if (col_end <= col_begin) return;
  std::int64_t ow0 = col_begin % ow_n, oh = (col_begin / ow_n) % oh_n, od = col_begin / (ow_n * oh_n);
  for (std::int64_t col = col_begin; col < col_end;) {
    const std::int64_t n = std::min(ow_n - ow0, col_end - col);
    runs.push_back({col - col_begin, ow0, n, od * g.stride[0] - g.padding[0], oh * g.stride[1] - g.padding[1]});
    col += n;
    ow0 = 0;
    if (++oh == oh_n) {
      oh = 0;
      ++od;
    }
  }
}

// Copies n elements. Runs are short (one output line, often 8–32 elements), where a call to
// memmove costs more than the copy: fixed-size blocks compile to plain vector moves.
template <typename T>
inline void copy_short(const T* src, T* dst, std::int64_t n) {
  constexpr std::int64_t block = 64 / sizeof(T);
  std::int64_t i = 0;
  for (; i + block <= n; i += block) std::memcpy(dst + i, src + i, 64);
  if (i + block / 2 <= n) {
    std::memcpy(dst + i, src + i, 32);
    i += block / 2;
  }
  if (i + block / 4 <= n) {
    std::memcpy(dst + i, src + i, 16);
    i += block / 4;
  }
  for (; i < n; ++i) dst[i] = src[i];
}

std::vector<Run>& thread_runs() {
  thread_local std::vector<Run> runs;
  return runs;
}

// The one loop of both directions. Every (row, column) entry of columns [col_begin, col_end) and
// channels [c_begin, c_end) is visited once: a gather (Vol = const T*, Col = T*) writes
// col = vol or 0; a scatter (Vol = T*, Col = const T*) adds col into vol where it lies inside.
template <typename Vol, typename Col>
void vol_cols(Vol vol, Col col, const ConvGeometry& g, std::int64_t col_begin, std::int64_t col_end,
              std::int64_t c_begin, std::int64_t c_end) {
  constexpr bool gather = std::is_const_v<std::remove_pointer_t<Vol>>;
  using T = std::remove_const_t<std::remove_pointer_t<Vol>>;
  const std::int64_t width = col_end - col_begin;
  const auto [kD, kH, kW] = g.kernel;
  const std::int64_t sW = g.stride[2];
  const auto [dD, dH, dW] = g.dilation;
  const auto [D, H, W] = g.vol;
  const std::int64_t plane = H * W;
  std::vector<Run>& runs = thread_runs();
  make_runs(g, col_begin, col_end, runs);
  for (std::int64_t c = c_begin; c < c_end; ++c) {
    const Vol vc = vol + c * D * plane;
    std::int64_t row = c * kD * kH * kW;
    for (std::int64_t kd = 0; kd < kD; ++kd) {
      for (std::int64_t kh = 0; kh < kH; ++kh) {
        for (std::int64_t kw = 0; kw < kW; ++kw, ++row) {
          const Col line = col + row * width;
          const std::int64_t off_w = kw * dW - g.padding[2];
          std::int64_t lo, hi;
          valid_range(W, g.out[2], sW, off_w, lo, hi);
          for (const Run& r : runs) {
            const Col run = line + r.j;
            const std::int64_t id = r.d0 + kd * dD, ih = r.h0 + kh * dH;
            if (id < 0 || id >= D || ih < 0 || ih >= H) {
              if constexpr (gather) std::fill(run, run + r.n, T(0));
              continue;
            }
            // Padding left of the volume, values inside, padding right of it.
            const std::int64_t a = std::clamp(lo - r.ow0, std::int64_t{0}, r.n);
            const std::int64_t b = std::clamp(hi - r.ow0, a, r.n);
            if constexpr (gather) std::fill(run, run + a, T(0));
            if (b > a) {
              // Pointers are formed only for positions inside the volume.
              const Vol v = vc + (id * plane + ih * W + off_w + (r.ow0 + a) * sW);
              const Col cl = run + a;
              const std::int64_t n = b - a;
              if constexpr (gather) {
                if (sW == 1) {
                  copy_short(v, cl, n);
                } else if (sW == 2) {
                  for (std::int64_t i = 0; i < n; ++i) cl[i] = v[2 * i];
                } else {
                  for (std::int64_t i = 0; i < n; ++i) cl[i] = v[i * sW];
                }
              } else if (sW == 1) {
                for (std::int64_t i = 0; i < n; ++i) v[i] += cl[i];
              } else {
                for (std::int64_t i = 0; i < n; ++i) v[i * sW] += cl[i];
              }
            }
            if constexpr (gather) std::fill(run + b, run + r.n, T(0));
          }
        }
      }
    }
  }
}

}  // namespace

template <typename T>
void im2col3d(const T* vol, const ConvGeometry& g, std::int64_t col_begin, std::int64_t col_end, T* col) {
  vol_cols(vol, col, g, col_begin, col_end, 0, g.cin_g());
}

template <typename T>
void col2im3d(const T* col, const ConvGeometry& g, std::int64_t col_begin, std::int64_t col_end, T* vol,
              std::int64_t c_begin, std::int64_t c_end) {
  vol_cols(vol, col, g, col_begin, col_end, c_begin, c_end);
}

template void im2col3d<float>(const float*, const ConvGeometry&, std::int64_t, std::int64_t, float*);
template void im2col3d<double>(const double*, const ConvGeometry&, std::int64_t, std::int64_t, double*);
template void col2im3d<float>(const float*, const ConvGeometry&, std::int64_t, std::int64_t, float*, std::int64_t,
                              std::int64_t);
template void col2im3d<double>(const double*, const ConvGeometry&, std::int64_t, std::int64_t, double*, std::int64_t,
                               std::int64_t);

}  // namespace voxgrad::detail
