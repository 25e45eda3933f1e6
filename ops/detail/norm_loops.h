#pragma once
// Internal: the normalisation kernels' loops over elements (norm_kernels.h), compiled once per
// instruction set (norm_loops_avx512.cpp, norm_loops_avx2.cpp, norm_loops_baseline.cpp, each from
// norm_loops_impl.h in a namespace of its own). norm_kernels.cpp splits the work into tasks, picks
// the loops of cpu_isa() and combines their per-plane sums. Plain declarations only: this header is
// shared by those translation units and the rest.
//
// Every loop is compiled with -ffp-contract=off and sums in float64 over lanes fixed by the shapes
// (lane_sums.h): each instruction set's loops give the same bits, so a result does not depend on the
// CPU nor on the build's -march.

#include <cstdint>

#include "voxgrad/ops/detail/norm_kernels.h"

namespace voxgrad::detail {

/// One instruction set's loops for one dtype. Planes are the (n, c) rows of S elements; stat groups
/// are NormLayout's. `relu_b` is the bias the fused ReLU's mask is recomputed with (may be null).
template <typename T>
struct NormLoops {
  /// For each stat group g in [g0, g1): its mean, invstd and var; with y non-null, then y over the
  /// group's planes while they are in cache (as normalize_planes).
  void (*stats_groups)(const T* x, const NormLayout& l, std::int64_t g0, std::int64_t g1, double eps, T* mean,
                       T* invstd, T* var, const T* w, const T* b, T* y, bool relu);
  /// y (and its ReLU with relu) over planes [p0, p1).
  void (*normalize_planes)(const T* x, const NormLayout& l, std::int64_t p0, std::int64_t p1, const T* mean,
                           const T* invstd, const T* w, const T* b, T* y, bool relu);
  /// Σ dy and Σ dy·x̂ of each plane p in [p0, p1) into sum_dy[p] and sum_dy_xhat[p].
  void (*sums_planes)(const T* dy, const T* x, const NormLayout& l, std::int64_t p0, std::int64_t p1, const T* mean,
                      const T* invstd, const T* w, const T* relu_b, bool relu, double* sum_dy, double* sum_dy_xhat);
  /// Σĝ/L and Σ(ĝ·x̂)/L of each stat group g in [g0, g1) from its planes' sums, into mean_g and mean_gx.
  void (*means_groups)(const NormLayout& l, std::int64_t g0, std::int64_t g1, const T* w, const double* sum_dy,
                       const double* sum_dy_xhat, double* mean_g, double* mean_gx);
  /// dx over planes [p0, p1) from their groups' mean_g and mean_gx.
  void (*dx_planes)(const T* dy, const T* x, const NormLayout& l, std::int64_t p0, std::int64_t p1, const T* mean,
                    const T* invstd, const T* w, const T* relu_b, bool relu, const double* mean_g,
                    const double* mean_gx, T* dx);
  /// For each stat group g in [g0, g1): sums_planes, means_groups and dx_planes over its planes, one
  /// group after the other (its planes passed over again while they are in cache).
  void (*backward_groups)(const T* dy, const T* x, const NormLayout& l, std::int64_t g0, std::int64_t g1, const T* mean,
                          const T* invstd, const T* w, const T* relu_b, bool relu, double* sum_dy, double* sum_dy_xhat,
                          double* mean_g, double* mean_gx, T* dx);
};

/// One instruction set's loops for both dtypes.
struct NormKernels {
  NormLoops<float> f32;
  NormLoops<double> f64;
};

/// Each instruction set's loops (null where this build or architecture has none; baseline always exists).
const NormKernels* norm_kernels_avx512();
const NormKernels* norm_kernels_avx2();
const NormKernels* norm_kernels_baseline();

}  // namespace voxgrad::detail
