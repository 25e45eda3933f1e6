#pragma once
// Internal: sums in double over rows of floats or doubles, in an order fixed by the row lengths alone.

#include <cstdint>

namespace voxgrad::detail {

// Sums over a row as 8 interleaved partial sums (element i into sum i mod 8), added in a fixed order
// at the end: a single double accumulator is a chain of dependent additions that runs at one element
// per add latency; 8 of them vectorise. The order depends on the row length alone.
struct Sum8 {
  double acc[8] = {};
  double total() const { return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])); }
};

// a += Σ f(i) over i in [0, n). The sums live in a local copy while the row is read: for double
// rows the compiler could not otherwise keep them in registers (the row might alias them).
template <typename F>
void add_row(Sum8& a, std::int64_t n, F&& f) {
  Sum8 s = a;
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) s.acc[l] += f(i + l);
  }
  for (int l = 0; i < n; ++i, ++l) s.acc[l] += f(i);
  a = s;
}

// a += Σ f(i) and b += Σ h(i) over i in [0, n), in one pass.
template <typename F, typename H>
void add_rows(Sum8& a, Sum8& b, std::int64_t n, F&& f, H&& h) {
  Sum8 s = a, t = b;
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) {
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
template <typename T>
void add_values(Sum8& a, const T* p, std::int64_t n) {
  add_row(a, n, [p](std::int64_t i) { return static_cast<double>(p[i]); });
}

}  // namespace voxgrad::detail
