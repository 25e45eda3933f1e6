#pragma once
// Internal: iteration over N strided operands that share one shape (after broadcasting).

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/core/shape.h"

namespace voxgrad::detail {

/// A shape with one stride list per operand, with size-1 dims dropped and mergeable dims merged.
template <std::size_t N>
struct StridedShape {
  Shape sizes;
  std::array<Shape, N> strides;
  std::int64_t numel = 1;

  StridedShape(IntArrayRef shape, const std::array<Shape, N>& operand_strides) {
    for (std::int64_t s : shape) {
      if (s == 0) {  // nothing to visit; the other sizes may multiply beyond int64
        numel = 0;
        return;
      }
    }
    for (std::size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] == 1) continue;
      const bool mergeable = !sizes.empty() && [&] {
        for (std::size_t k = 0; k < N; ++k) {
          if (strides[k].back() != operand_strides[k][d] * shape[d]) return false;
        }
        return true;
      }();
      if (mergeable) {
        sizes.back() *= shape[d];
        for (std::size_t k = 0; k < N; ++k) strides[k].back() = operand_strides[k][d];
      } else {
        sizes.push_back(shape[d]);
        for (std::size_t k = 0; k < N; ++k) strides[k].push_back(operand_strides[k][d]);
      }
    }
    for (std::int64_t s : shape) numel *= s;
  }

  /// Calls f(offsets, n, inner_strides) for each run of the innermost dim within linear range
  /// [begin, end): element j of the run is at offsets[k] + j * inner_strides[k] for operand k.
  template <typename F>
  void for_range(std::int64_t begin, std::int64_t end, F&& f) const {
    using Offsets = std::array<std::int64_t, N>;
    const std::size_t nd = sizes.size();
    if (begin >= end) return;
    if (nd == 0) {
      f(Offsets{}, std::int64_t{1}, Offsets{});
      return;
    }
    Offsets inner{};
    for (std::size_t k = 0; k < N; ++k) inner[k] = strides[k][nd - 1];
    std::vector<std::int64_t> idx(nd);
    Offsets off{};
    std::int64_t rem = begin;
    for (std::size_t d = nd; d-- > 0;) {
      idx[d] = rem % sizes[d];
      rem /= sizes[d];
      for (std::size_t k = 0; k < N; ++k) off[k] += idx[d] * strides[k][d];
    }
    std::int64_t pos = begin;
    while (pos < end) {
      const std::int64_t n = std::min(sizes[nd - 1] - idx[nd - 1], end - pos);
      f(off, n, inner);
      pos += n;
      if (pos >= end) break;
      // Advance the multi-index by n along the innermost dim, carrying into outer dims.
      idx[nd - 1] += n;
      for (std::size_t k = 0; k < N; ++k) off[k] += n * inner[k];
      for (std::size_t d = nd - 1; d > 0 && idx[d] == sizes[d]; --d) {
        idx[d] = 0;
        ++idx[d - 1];
        for (std::size_t k = 0; k < N; ++k) off[k] += strides[k][d - 1] - sizes[d] * strides[k][d];
      }
    }
  }

  /// for_range over everything, in parallel chunks.
  template <typename F>
  void parallel(F&& f) const {
    parallel_for(0, numel, kElementwiseGrain, [&](std::int64_t b, std::int64_t e) { for_range(b, e, f); });
  }
};

/// Elements per parallel task for work done whole slice by whole slice (a sort, a scan, a reduction
/// along one dim): tasks of about this many elements amortise the scheduling.
constexpr std::int64_t kSliceGrain = 32768;

/// How many slices of `slice_len` elements one parallel task takes (at least one).
inline std::int64_t slice_grain(std::int64_t slice_len) {
  return std::max<std::int64_t>(1, kSliceGrain / std::max<std::int64_t>(slice_len, 1));
}

/// The positions of every dim but d of N operands that share `shape`, each with its own strides: each
/// position is where one slice along d starts in every operand.
template <std::size_t N>
StridedShape<N> slice_starts(IntArrayRef shape, std::int64_t d, const std::array<IntArrayRef, N>& strides) {
  Shape kept_sizes;
  std::array<Shape, N> kept_strides;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (static_cast<std::int64_t>(i) == d) continue;
    kept_sizes.push_back(shape[i]);
    for (std::size_t k = 0; k < N; ++k) kept_strides[k].push_back(strides[k][i]);
  }
  return StridedShape<N>(kept_sizes, kept_strides);
}

/// Strides that read `sizes`/`strides` as if broadcast to `out_shape` (0 on broadcast dims).
inline Shape broadcast_strides(IntArrayRef sizes, IntArrayRef strides, IntArrayRef out_shape) {
  Shape result(out_shape.size(), 0);
  const std::size_t lead = out_shape.size() - sizes.size();
  for (std::size_t d = 0; d < sizes.size(); ++d) {
    result[lead + d] = sizes[d] == 1 ? 0 : strides[d];
  }
  return result;
}

}  // namespace voxgrad::detail
