#pragma once
// Internal: the loops of the reductions (ops/reduction.cpp): each output starts from an initial value
// and takes its reduced elements one by one in their logical order (row-major over the reduced dims),
// so its result depends on the shape alone, not on the memory layout or the thread count. Included
// only by reduction.cpp.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "voxgrad/core/factory.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/ops/detail/loops.h"

namespace voxgrad::detail {

// A reduction of more than this many elements per output, with few outputs, is split into chunks of
// this size whose partial results merge in chunk order: the chunks fix the order of the arithmetic.
constexpr std::int64_t kReduceChunk = 32768;

/// `a`'s shape with the masked dims set to 1.
inline Shape keepdim_shape(const Tensor& a, const std::vector<bool>& mask) {
  Shape s = a.sizes();
  for (std::size_t d = 0; d < s.size(); ++d) {
    if (mask[d]) s[d] = 1;
  }
  return s;
}

/// The most outputs one block takes: adjacent in memory (each reduced position then one loop along
/// memory, as vectors), or at another stride (independent chains of operations).
constexpr std::int64_t kBlockOutputs = 256, kChainOutputs = 8;

/// f(j0, count) for consecutive blocks of a run of n outputs `ostride` apart.
template <typename F>
void for_output_blocks(std::int64_t n, std::int64_t ostride, F&& f) {
  const std::int64_t block = ostride == 1 ? kBlockOutputs : kChainOutputs;
  for (std::int64_t j0 = 0; j0 < n; j0 += block) f(j0, std::min(block, n - j0));
}

// Neumaier's compensated sum: float64 sums stay accurate to the last bit on long reductions.
struct CompensatedSum {
  double sum = 0.0, comp = 0.0;
  void add(double v) {
    const double t = sum + v;
    comp += std::abs(sum) >= std::abs(v) ? (sum - t) + v : (v - t) + sum;
    sum = t;
  }
  // An infinite or NaN sum is the result as it is: the compensation is NaN there (inf - inf).
  double value() const { return std::isfinite(sum) ? sum + comp : sum; }
};

// acc after taking p[0], p[stride], …, p[(n − 1)·stride] with `step`, in order. Out of line, with acc
// a value: inlined into reduce's loops, the accumulator stayed in memory (its address is held by
// reference there), a store and a load per element.
template <typename Acc, typename T, typename Step>
[[gnu::noinline]] Acc accumulate(Acc acc, const T* p, std::int64_t n, std::int64_t stride, const Step& step) {
  for (std::int64_t j = 0; j < n; ++j) step(acc, p[j * stride]);
  return acc;
}

// Reduces the masked dims of `a` into a new tensor of keepdim shape. For each output, `Acc` starts
// from `init`, takes every reduced element with `step` in a fixed order, and partial results over
// fixed chunks are merged in chunk order with `merge`: the result never depends on the thread count.
template <typename T, typename Acc, typename Step, typename Merge, typename Finish>
Tensor reduce(const Tensor& a, const std::vector<bool>& mask, Acc init, Step step, Merge merge, Finish finish) {
  Shape kept_sizes, kept_strides, red_sizes, red_strides;
  for (std::size_t d = 0; d < mask.size(); ++d) {
    (mask[d] ? red_sizes : kept_sizes).push_back(a.sizes()[d]);
    (mask[d] ? red_strides : kept_strides).push_back(a.strides()[d]);
  }
  Tensor out = empty(keepdim_shape(a, mask), a.dtype());
  T* po = out.data_ptr<T>();
  const T* pa = a.data_ptr<T>();
  const StridedShape<1> outer(kept_sizes, {kept_strides});
  const StridedShape<1> inner(red_sizes, {red_strides});
  const std::int64_t m_total = outer.numel, r_total = inner.numel;

  // The reduced elements [rb, re) of the output at `base`, in logical order.
  auto reduce_run = [&](std::int64_t base, std::int64_t rb, std::int64_t re) {
    Acc acc = init;
    inner.for_range(rb, re, [&](const auto& off, std::int64_t n, const auto& st) {
      acc = accumulate(acc, pa + base + off[0], n, st[0], step);
    });
    return acc;
  };
  // All reduced elements of `count` outputs (at base, base + ostride, …), in logical order: each
  // reduced position into every output of the block. Outputs adjacent in memory (a sum over dim 0)
  // then run along contiguous memory, where one output at a time reads its column a line per element;
  // outputs apart (a sum over the last dim) run as independent chains, where one output at a time waits
  // on each addition. Every output takes its elements in the same order as reduce_run, so the same
  // result.
  auto reduce_block = [&](std::int64_t base, std::int64_t ostride, std::int64_t count, Acc* accs) {
    std::fill_n(accs, count, init);
    inner.for_range(0, r_total, [&](const auto& off, std::int64_t n, const auto& st) {
      for (std::int64_t j = 0; j < n; ++j) {
        const T* p = pa + base + off[0] + j * st[0];
        for (std::int64_t e = 0; e < count; ++e) step(accs[e], p[e * ostride]);
      }
    });
  };

  if (m_total >= 8 || r_total <= kReduceChunk) {
    parallel_for(0, m_total, slice_grain(r_total), [&](std::int64_t mb, std::int64_t me) {
      std::int64_t m = mb;
      Acc accs[kBlockOutputs];
      outer.for_range(mb, me, [&](const auto& off, std::int64_t n, const auto& st) {
        if (n >= 2 && r_total > 1) {
          for_output_blocks(n, st[0], [&](std::int64_t j0, std::int64_t count) {
            reduce_block(off[0] + j0 * st[0], st[0], count, accs);
            for (std::int64_t e = 0; e < count; ++e, ++m) po[m] = finish(accs[e]);
          });
          return;
        }
        for (std::int64_t j = 0; j < n; ++j, ++m) po[m] = finish(reduce_run(off[0] + j * st[0], 0, r_total));
      });
    });
  } else {
    const std::int64_t chunks = (r_total + kReduceChunk - 1) / kReduceChunk;
    std::vector<Acc> partial(static_cast<std::size_t>(chunks), init);
    std::int64_t m = 0;
    outer.for_range(0, m_total, [&](const auto& off, std::int64_t n, const auto& st) {
      for (std::int64_t j = 0; j < n; ++j, ++m) {
        const std::int64_t base = off[0] + j * st[0];
        parallel_chunks(r_total, kReduceChunk,
                        [&](std::int64_t c, std::int64_t b, std::int64_t e) { partial[c] = reduce_run(base, b, e); });
        Acc acc = init;
        for (const Acc& p : partial) merge(acc, p);
        po[m] = finish(acc);
      }
    });
  }
  return out;
}

}  // namespace voxgrad::detail
