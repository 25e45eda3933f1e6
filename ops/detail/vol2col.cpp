#include "voxgrad/ops/detail/vol2col.h"

#include <algorithm>
#include <cstring>

namespace voxgrad::detail {

namespace {

// First output index o with o·s − p + k·d >= 0, and one past the last with o·s − p + k·d < size:
// the range of an output row that reads inside the volume along one dim.
inline void valid_range(std::int64_t size, std::int64_t out, std::int64_t s, std::int64_t offset,
                        std::int64_t& lo, std::int64_t& hi) {
  // offset = k·d − p; need 0 <= o·s + offset < size.
  lo = offset >= 0 ? 0 : (-offset + s - 1) / s;
  hi = size - offset <= 0 ? 0 : (size - offset + s - 1) / s;
  lo = std::min(lo, out);
  hi = std::clamp(hi, lo, out);
}

// Visits, for one row of the column matrix (a channel c and kernel offset kd, kh, kw), the runs
// of columns in [col_begin, col_end) that share (od, oh): fn(col_offset, vol_index_or_-1, ow0, n).
// Inside a run, column col_offset + j is output position ow0 + j.
template <typename Fn>
inline void for_each_run(const VolGeometry& g, std::int64_t col_begin, std::int64_t col_end, Fn&& fn) {
  const std::int64_t ow_n = g.out[2], oh_n = g.out[1];
  std::int64_t col = col_begin;
  while (col < col_end) {
    const std::int64_t ow0 = col % ow_n;
    const std::int64_t oh = (col / ow_n) % oh_n;
    const std::int64_t od = col / (ow_n * oh_n);
    const std::int64_t n = std::min(ow_n - ow0, col_end - col);
    fn(col - col_begin, od, oh, ow0, n);
    col += n;
  }
}

}  // namespace

template <typename T>
void im2col3d(const T* vol, const VolGeometry& g, std::int64_t col_begin, std::int64_t col_end, T* col) {
  const std::int64_t width = col_end - col_begin;
  const auto [kD, kH, kW] = g.kernel;
  const auto [sD, sH, sW] = g.stride;
  const auto [dD, dH, dW] = g.dilation;
  const auto [D, H, W] = g.vol;
  const std::int64_t plane = H * W;
  std::int64_t row = 0;
  for (std::int64_t c = 0; c < g.channels; ++c) {
    const T* vc = vol + c * D * plane;
    for (std::int64_t kd = 0; kd < kD; ++kd) {
      for (std::int64_t kh = 0; kh < kH; ++kh) {
        for (std::int64_t kw = 0; kw < kW; ++kw, ++row) {
          T* dst = col + row * width;
          const std::int64_t off_w = kw * dW - g.padding[2];
          std::int64_t lo, hi;
          valid_range(W, g.out[2], sW, off_w, lo, hi);
          for_each_run(g, col_begin, col_end,
                       [&](std::int64_t j, std::int64_t od, std::int64_t oh, std::int64_t ow0, std::int64_t n) {
                         T* out = dst + j;
                         const std::int64_t id = od * sD - g.padding[0] + kd * dD;
                         const std::int64_t ih = oh * sH - g.padding[1] + kh * dH;
                         if (id < 0 || id >= D || ih < 0 || ih >= H) {
                           std::fill(out, out + n, T(0));
                           return;
                         }
                         const T* src = vc + id * plane + ih * W + off_w;
                         // Zeros left of the volume, values inside, zeros right of it.
                         const std::int64_t a = std::clamp(lo - ow0, std::int64_t{0}, n);
                         const std::int64_t b = std::clamp(hi - ow0, a, n);
                         std::fill(out, out + a, T(0));
                         if (sW == 1) {
                           std::memcpy(out + a, src + (ow0 + a), static_cast<std::size_t>(b - a) * sizeof(T));
                         } else {
                           for (std::int64_t i = a; i < b; ++i) out[i] = src[(ow0 + i) * sW];
                         }
                         std::fill(out + b, out + n, T(0));
                       });
        }
      }
    }
  }
}

template <typename T>
void col2im3d(const T* col, const VolGeometry& g, std::int64_t col_begin, std::int64_t col_end, T* vol,
              std::int64_t c_begin, std::int64_t c_end) {
  const std::int64_t width = col_end - col_begin;
  const auto [kD, kH, kW] = g.kernel;
  const auto [sD, sH, sW] = g.stride;
  const auto [dD, dH, dW] = g.dilation;
  const auto [D, H, W] = g.vol;
  const std::int64_t plane = H * W;
  for (std::int64_t c = c_begin; c < c_end; ++c) {
    T* vc = vol + c * D * plane;
    std::int64_t row = c * kD * kH * kW;
    for (std::int64_t kd = 0; kd < kD; ++kd) {
      for (std::int64_t kh = 0; kh < kH; ++kh) {
        for (std::int64_t kw = 0; kw < kW; ++kw, ++row) {
          const T* src = col + row * width;
          const std::int64_t off_w = kw * dW - g.padding[2];
          std::int64_t lo, hi;
          valid_range(W, g.out[2], sW, off_w, lo, hi);
          for_each_run(g, col_begin, col_end,
                       [&](std::int64_t j, std::int64_t od, std::int64_t oh, std::int64_t ow0, std::int64_t n) {
                         const std::int64_t id = od * sD - g.padding[0] + kd * dD;
                         const std::int64_t ih = oh * sH - g.padding[1] + kh * dH;
                         if (id < 0 || id >= D || ih < 0 || ih >= H) return;
                         T* dst = vc + id * plane + ih * W + off_w;
                         const T* in = src + j;
                         const std::int64_t a = std::clamp(lo - ow0, std::int64_t{0}, n);
                         const std::int64_t b = std::clamp(hi - ow0, a, n);
                         if (sW == 1) {
                           T* d = dst + ow0;
                           for (std::int64_t i = a; i < b; ++i) d[i] += in[i];
                         } else {
                           for (std::int64_t i = a; i < b; ++i) dst[(ow0 + i) * sW] += in[i];
                         }
                       });
        }
      }
    }
  }
}

template void im2col3d<float>(const float*, const VolGeometry&, std::int64_t, std::int64_t, float*);
template void im2col3d<double>(const double*, const VolGeometry&, std::int64_t, std::int64_t, double*);
template void col2im3d<float>(const float*, const VolGeometry&, std::int64_t, std::int64_t, float*,
                              std::int64_t, std::int64_t);
template void col2im3d<double>(const double*, const VolGeometry&, std::int64_t, std::int64_t, double*,
                               std::int64_t, std::int64_t);

}  // namespace voxgrad::detail
