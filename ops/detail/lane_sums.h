#pragma once
// Internal: sums in an order fixed by the shapes alone: in double over rows of floats or doubles, and
// the float partial sums of parallel tasks added in task order.

#include <algorithm>
#include <cstdint>

namespace voxgrad::detail {

// Sums over a row as L interleaved partial sums (element i into sum i mod L), added pairwise in a
// fixed order at the end: a single double accumulator is a chain of dependent additions that runs
// at one element per add latency; L of them vectorise. The order depends on the row length alone.
// Sum32 (eight or four vector registers of doubles) keeps up with rows in L1 or L2, where fewer lanes
// wait on their additions' latency; Sum16 (four or two) serves loops that carry two sums at once,
// whose Sum32 would spill on AVX2 and SSE2 (bench/README: GroupNorm's backward).
// total() adds the lanes as a balanced tree: pairs of neighbours, then pairs of those, and so on.
// Always inlined, as relu_rule.h's helpers: the normalisation loops are compiled once per
// instruction set (norm_loops.h), and an out-of-line copy of a shared inline function compiled for
// AVX-512 could be the one the linker keeps for every caller.
template <int L>
struct LaneSums {
  static_assert(L > 0 && (L & (L - 1)) == 0, "lanes come in a power of two");
  double acc[L] = {};
  [[gnu::always_inline]] double total() const {
    double t[L];
    for (int l = 0; l < L; ++l) t[l] = acc[l];
    for (int w = 1; w < L; w *= 2) {
      for (int l = 0; l < L; l += 2 * w) t[l] += t[l + w];
    }
    return t[0];
  }
};
using Sum16 = LaneSums<16>;
using Sum32 = LaneSums<32>;

// a += Σ f(i) over i in [0, n). The sums live in a local copy while the row is read: for double
// rows the compiler could not otherwise keep them in registers (the row might alias them).
template <int L, typename F>
void add_row(LaneSums<L>& a, std::int64_t n, F&& f) {
  LaneSums<L> s = a;
  std::int64_t i = 0;
  for (; i + L <= n; i += L) {
    for (int l = 0; l < L; ++l) s.acc[l] += f(i + l);
  }
  for (int l = 0; i < n; ++i, ++l) s.acc[l] += f(i);
  a = s;
}

// a += Σ f(i) and b += Σ h(i) over i in [0, n), in one pass.
template <int L, typename F, typename H>
void add_rows(LaneSums<L>& a, LaneSums<L>& b, std::int64_t n, F&& f, H&& h) {
  LaneSums<L> s = a, t = b;
  std::int64_t i = 0;
  for (; i + L <= n; i += L) {
    for (int l = 0; l < L; ++l) {
      s.acc[l] += f(i + l);
      t.acc[l] += h(i + l);
    }
  }
  for (int l = 0; i < n; ++i, ++l) {
    s.acc[l] += f(i);
    t.acc[l] += h(i);
  }
  a = s;
  b = t;
}

// a += Σ p[i] over i in [0, n), each element as a double.
template <int L, typename T>
void add_values(LaneSums<L>& a, const T* p, std::int64_t n) {
  add_row(a, n, [p](std::int64_t i) { return static_cast<double>(p[i]); });
}

// out[e] (+)= p[e] + p[stride + e] + … + p[(count − 1)·stride + e] for e in [0, n): the float sums of
// `count` ≥ 1 tasks over the same n entries, added in task order, so that the bits do not depend on
// which thread made which part, nor on how the entries are split. The tasks run outer over blocks of
// entries: contiguous rows, whose additions vectorise across e (one e at a time is a chain of count
// dependent additions reading lines `stride` apart). With `accumulate`, the sum is added to out.
inline void add_parts_in_order(const float* p, std::int64_t count, std::int64_t stride, std::int64_t n, float* out,
                               bool accumulate) {
  constexpr std::int64_t kBlock = 256;
  float s[kBlock];
  for (std::int64_t e0 = 0; e0 < n; e0 += kBlock) {
    const std::int64_t m = std::min(kBlock, n - e0);
    const float* q = p + e0;
    for (std::int64_t i = 0; i < m; ++i) s[i] = q[i];
    for (std::int64_t c = 1; c < count; ++c) {
      q = p + c * stride + e0;
      for (std::int64_t i = 0; i < m; ++i) s[i] += q[i];
    }
    float* o = out + e0;
    if (accumulate) {
      for (std::int64_t i = 0; i < m; ++i) o[i] += s[i];
    } else {
      for (std::int64_t i = 0; i < m; ++i) o[i] = s[i];
    }
  }
}

}  // namespace voxgrad::detail
