#include "voxgrad/ops/detail/norm_kernels.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/core/threading.h"
#include "voxgrad/ops/detail/norm_loops.h"

namespace voxgrad::detail {
namespace {

// The loops of cpu_isa() for T (norm_loops.h: every instruction set's give the same bits).
template <typename T>
const NormLoops<T>& loops() {
  const NormKernels* k = widest_kernels(norm_kernels_avx512(), norm_kernels_avx2(), norm_kernels_baseline());
  if constexpr (std::is_same_v<T, float>) {
    return k->f32;
  } else {
    return k->f64;
  }
}

// Planes (n, c) per task so that a task touches about kElementwiseGrain elements.
std::int64_t plane_grain(const NormLayout& l) {
  return std::max<std::int64_t>(1, kElementwiseGrain / std::max<std::int64_t>(l.S, 1));
}

// Whether a map runs stat group by stat group, each group's planes passed over again while they are
// still in L2 (the statistics and then y; dY·x̂'s sums and then dx), rather than in separate passes
// over the whole tensor, plane by plane: when a group's `tensors` inputs fit in half of L2 and there
// are enough groups to keep every thread busy. Both ways give the same bits: each plane and each group
// goes through the same loops.
template <typename T>
bool by_group(const NormLayout& l, std::int64_t tensors) {
  const std::int64_t bytes = l.group_size() * tensors * std::int64_t{sizeof(T)};
  return bytes <= cache_sizes().l2 / 2 && l.stat_count() >= 4 * std::int64_t{get_num_threads()};
}

}  // namespace

template <typename T>
void norm_stats_forward(const T* x, const NormLayout& l, double eps, T* mean, T* invstd, T* var, const T* w, const T* b,
                        T* y, bool relu) {
  const NormLoops<T>& k = loops<T>();
  const bool fused = by_group<T>(l, 1);
  parallel_for(0, l.stat_count(), 1, [&](std::int64_t g0, std::int64_t g1) {
    k.stats_groups(x, l, g0, g1, eps, mean, invstd, var, w, b, fused ? y : nullptr, relu);
  });
  if (!fused) norm_forward(x, l, mean, invstd, w, b, y, relu);
}

template <typename T>
void norm_forward(const T* x, const NormLayout& l, const T* mean, const T* invstd, const T* w, const T* b, T* y,
                  bool relu) {
  const NormLoops<T>& k = loops<T>();
  parallel_for(0, l.N * l.C, plane_grain(l), [&](std::int64_t p0, std::int64_t p1) {
    k.normalize_planes(x, l, p0, p1, mean, invstd, w, b, y, relu);
  });
}

// With x̂ = (x − m)·r and ĝ = dy·w, and sums over the stat group of size L:
//   dx = r·(ĝ − Σĝ/L − x̂·Σ(ĝ·x̂)/L),   dw_c = Σ_c dy·x̂,   db_c = Σ_c dy.
// One pass gathers Σ dy and Σ dy·x̂ per plane (n, c); the per-channel and per-group sums are combined
// from those in a fixed order; a second pass writes dx (group by group right after the first where
// by_group says so).
template <typename T>
void norm_backward(const T* dy, const T* x, const NormLayout& l, const T* mean, const T* invstd, const T* w, T* dx,
                   T* dw, T* db, const T* b, bool relu) {
  const NormLoops<T>& k = loops<T>();
  const std::int64_t planes = l.N * l.C, groups = l.stat_count();
  std::vector<double> sum_dy(static_cast<std::size_t>(planes)), sum_dy_xhat(static_cast<std::size_t>(planes));
  std::vector<double> mean_g(static_cast<std::size_t>(groups)), mean_gx(static_cast<std::size_t>(groups));
  const bool fused = dx != nullptr && by_group<T>(l, 2);
  if (fused) {
    parallel_for(0, groups, 1, [&](std::int64_t g0, std::int64_t g1) {
      k.backward_groups(dy, x, l, g0, g1, mean, invstd, w, b, relu, sum_dy.data(), sum_dy_xhat.data(), mean_g.data(),
                        mean_gx.data(), dx);
    });
  } else {
    parallel_for(0, planes, plane_grain(l), [&](std::int64_t p0, std::int64_t p1) {
      k.sums_planes(dy, x, l, p0, p1, mean, invstd, w, b, relu, sum_dy.data(), sum_dy_xhat.data());
    });
  }
  for (std::int64_t c = 0; c < l.C; ++c) {
    double s1 = 0.0, s2 = 0.0;
    for (std::int64_t n = 0; n < l.N; ++n) {
      s1 += sum_dy[static_cast<std::size_t>(n * l.C + c)];
      s2 += sum_dy_xhat[static_cast<std::size_t>(n * l.C + c)];
    }
    if (db != nullptr) db[c] = static_cast<T>(s1);
    if (dw != nullptr) dw[c] = static_cast<T>(s2);
  }
  if (dx == nullptr || fused) return;
  k.means_groups(l, 0, groups, w, sum_dy.data(), sum_dy_xhat.data(), mean_g.data(), mean_gx.data());
  parallel_for(0, planes, plane_grain(l), [&](std::int64_t p0, std::int64_t p1) {
    k.dx_planes(dy, x, l, p0, p1, mean, invstd, w, b, relu, mean_g.data(), mean_gx.data(), dx);
  });
}

template void norm_stats_forward<float>(const float*, const NormLayout&, double, float*, float*, float*, const float*,
                                        const float*, float*, bool);
template void norm_stats_forward<double>(const double*, const NormLayout&, double, double*, double*, double*,
                                         const double*, const double*, double*, bool);
template void norm_forward<float>(const float*, const NormLayout&, const float*, const float*, const float*,
                                  const float*, float*, bool);
template void norm_forward<double>(const double*, const NormLayout&, const double*, const double*, const double*,
                                   const double*, double*, bool);
template void norm_backward<float>(const float*, const float*, const NormLayout&, const float*, const float*,
                                   const float*, float*, float*, float*, const float*, bool);
template void norm_backward<double>(const double*, const double*, const NormLayout&, const double*, const double*,
                                    const double*, double*, double*, double*, const double*, bool);

}  // namespace voxgrad::detail
