#include "voxgrad/ops/detail/conv_kernels.h"

#include <type_traits>
#include <vector>

#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/ops/detail/conv_gemm.h"
#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/lane_sums.h"
#include "voxgrad/ops/detail/pointwise_conv.h"
#include "voxgrad/ops/detail/winograd.h"

namespace voxgrad::detail {

namespace {

// The adjoint's weight as a forward weight: w (Cout, Cin/g, k) → w' (Cin, Cout/g, k) with
// w'[g·cin_g + ci, co, k] = w[g·cout_g + co, ci, K − 1 − k].
template <typename T>
std::vector<T> flipped_weight(const T* w, const ConvGeometry& g) {
  const std::int64_t G = g.groups, cin_g = g.cin_g(), cout_g = g.cout_g(), K = g.kernel_volume();
  std::vector<T> flipped(static_cast<std::size_t>(g.Cout * cin_g * K));
  for (std::int64_t gi = 0; gi < G; ++gi) {
    for (std::int64_t co = 0; co < cout_g; ++co) {
      for (std::int64_t ci = 0; ci < cin_g; ++ci) {
        const T* src = w + ((gi * cout_g + co) * cin_g + ci) * K;
        T* dst = flipped.data() + ((gi * cin_g + ci) * cout_g + co) * K;
        for (std::int64_t k = 0; k < K; ++k) dst[k] = src[K - 1 - k];
      }
    }
  }
  return flipped;
}

// The forward maps that read x as a matrix per sample and take no channel sums of their own: the
// pointwise tiles (float32, where they serve) or im2col + GEMM.
template <typename T>
void matrix_forward(const T* x, const T* w, const T* bias, T* y, const ConvGeometry& g) {
  if constexpr (std::is_same_v<T, float>) {
    if (suits_pointwise_tiles(g)) return pointwise_conv3d(x, w, bias, y, g);
  }
  GemmConv<T>::forward(x, w, bias, y, g);
}

}  // namespace

template <typename T>
void conv_forward(const T* x, const T* w, const T* bias, T* y, const ConvGeometry& g, T* x_sums) {
  if constexpr (std::is_same_v<T, float>) {
    if (suits_winograd(g)) {
      winograd_conv3d(x, w, bias, y, g);
      if (x_sums != nullptr) channel_sum(x, x_sums, g.N, g.Cin, g.vol_size());
      return;
    }
    if (g.direct_forward()) return direct_conv3d(x, w, bias, y, g, x_sums);
  }
  matrix_forward(x, w, bias, y, g);
  if (x_sums != nullptr) channel_sum(x, x_sums, g.N, g.Cin, g.vol_size());
}

template <typename T>
void conv_adjoint(const T* y, const T* w, const T* bias, T* x, const ConvGeometry& g) {
  if (g.adjoint_is_forward()) {
    // Gathers (im2col and a deep GEMM, or the direct forward tiles) where the adjoint scatters.
    const std::vector<T> flipped = flipped_weight(w, g);
    return conv_forward(y, flipped.data(), bias, x, g.adjoint_as_forward());
  }
  if constexpr (std::is_same_v<T, float>) {
    if (g.suits_direct_adjoint()) return direct_conv3d_adjoint(y, w, bias, x, g);
  }
  GemmConv<T>::adjoint(y, w, bias, x, g);
}

template <typename T>
void conv_weight(const T* x, const T* dy, T* dw, const ConvGeometry& g, T* db) {
  if constexpr (std::is_same_v<T, float>) {
    if (g.direct_weight()) return direct_conv3d_weight_grad(x, dy, dw, g, db);
  }
  GemmConv<T>::weight(x, dy, dw, g);
  if (db != nullptr) channel_sum(dy, db, g.N, g.Cout, g.out_size());
}

template <typename T>
void conv_forward_and_weight(const T* x, const T* w, T* y, const T* dy, T* dw, const ConvGeometry& g, T* x_sums) {
  if constexpr (std::is_same_v<T, float>) {
    // The Winograd forward map beats sharing the padded copy with the direct weight map.
    if (!suits_winograd(g) && g.direct_forward() && g.direct_weight()) {
      return direct_conv3d_and_weight_grad(x, w, y, dy, dw, g, x_sums);
    }
  }
  conv_forward<T>(x, w, nullptr, y, g, x_sums);
  conv_weight<T>(x, dy, dw, g);
}

bool conv_fuses_adjoint_and_weight(const ConvGeometry& g) { return suits_pointwise_backward(g); }

void conv_adjoint_and_weight(const float* dy, const float* w, const float* x, float* dx, float* dw,
                             const ConvGeometry& g, float* db) {
  pointwise_gradients(x, dy, dw, g, db, w, dx);
}

template <typename T>
void channel_sum(const T* dy, T* db, std::int64_t N, std::int64_t C, std::int64_t V) {
  parallel_for(0, C, 1, [&](std::int64_t a, std::int64_t b) {
    for (std::int64_t c = a; c < b; ++c) {
      double s = 0;
      for (std::int64_t n = 0; n < N; ++n) {
        Sum32 row;
        add_values(row, dy + (n * C + c) * V, V);
        s += row.total();
      }
      db[c] = static_cast<T>(s);
    }
  });
}

template void conv_forward<float>(const float*, const float*, const float*, float*, const ConvGeometry&, float*);
template void conv_forward<double>(const double*, const double*, const double*, double*, const ConvGeometry&, double*);
template void conv_adjoint<float>(const float*, const float*, const float*, float*, const ConvGeometry&);
template void conv_adjoint<double>(const double*, const double*, const double*, double*, const ConvGeometry&);
template void conv_weight<float>(const float*, const float*, float*, const ConvGeometry&, float*);
template void conv_weight<double>(const double*, const double*, double*, const ConvGeometry&, double*);
template void conv_forward_and_weight<float>(const float*, const float*, float*, const float*, float*,
                                             const ConvGeometry&, float*);
template void conv_forward_and_weight<double>(const double*, const double*, double*, const double*, double*,
                                              const ConvGeometry&, double*);
template void channel_sum<float>(const float*, float*, std::int64_t, std::int64_t, std::int64_t);
template void channel_sum<double>(const double*, double*, std::int64_t, std::int64_t, std::int64_t);

}  // namespace voxgrad::detail
