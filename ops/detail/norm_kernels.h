#pragma once
// Internal: fused kernels for batch, instance and group normalisation with batch statistics.
//
// The input is contiguous (N, C, S) (S = the product of the spatial sizes). Statistics are taken per
// "stat group": per channel over (N, S) for batch norm, or per (sample, group of C/G channels) over
// (C/G, S) for group norm (instance norm is group norm with G = C). With mean m and invstd r of the
// element's stat group and the per-channel weight w and bias b (absent: 1 and 0):
//   y = (x − m)·r·w + b.
// Sums run in float64 in an order fixed by the shapes, so results do not depend on the thread count;
// the loops are compiled per instruction set and round alike on all (norm_loops.h), so they do not
// depend on the CPU or the build either.

#include <cstdint>

namespace voxgrad::detail {

/// Which elements share statistics.
struct NormLayout {
  std::int64_t N = 0, C = 0, S = 0;
  /// Stat groups per sample (C for instance norm); 0 means one group per channel across the batch.
  std::int64_t groups = 0;

  /// True for batch norm.
  bool per_channel() const { return groups == 0; }
  /// Number of stat groups.
  std::int64_t stat_count() const { return per_channel() ? C : N * groups; }
  /// Elements per stat group.
  std::int64_t group_size() const { return per_channel() ? N * S : (C / groups) * S; }
  /// The stat group of plane (n, c).
  std::int64_t stat_index(std::int64_t n, std::int64_t c) const {
    return per_channel() ? c : n * groups + c / (C / groups);
  }
};

/// Per stat group: mean, invstd = 1/√(var + eps) and the biased variance var (float64, one pass over
/// memory: each chunk's sum and squared deviations from its own mean, the chunks merged in order);
/// then y as norm_forward (the same bits). With enough stat groups, each group's y is written right
/// after its statistics, while its x is still in cache.
template <typename T>
void norm_stats_forward(const T* x, const NormLayout& l, double eps, T* mean, T* invstd, T* var, const T* w, const T* b,
                        T* y, bool relu = false);

/// y = (x − mean)·invstd·w + b; w and b may be null. With relu, y = relu of that (voxgrad::relu's
/// formula, so the same bits as relu(y) and no separate pass over y).
template <typename T>
void norm_forward(const T* x, const NormLayout& l, const T* mean, const T* invstd, const T* w, const T* b, T* y,
                  bool relu = false);

/// Gradients of norm_forward with the statistics taken from x itself: any of dx (N, C, S), dw (C) and
/// db (C) may be null to skip it; w may be null (weight 1). With relu, dy is the gradient of
/// norm_forward's relu output: the ReLU's mask is taken from y computed again from x, w and b (b may
/// be null), chunk by chunk, with the same bits as relu_backward on a stored y.
template <typename T>
void norm_backward(const T* dy, const T* x, const NormLayout& l, const T* mean, const T* invstd, const T* w, T* dx,
                   T* dw, T* db, const T* b = nullptr, bool relu = false);

}  // namespace voxgrad::detail
