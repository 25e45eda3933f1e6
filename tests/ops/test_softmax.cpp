// softmax and log_softmax (ops/softmax.cpp) against the formula line by line: m = the line's maximum
// (its first NaN if it has one), s = Σ exp(x − m) in double, softmax = exp(x − m)·(1/s) rounded once,
// log_softmax = (x − m) − log s; a line of −inf subtracts 0 (NaN, as PyTorch). Bit for bit (any NaN for
// a NaN: which sign a product of two NaNs keeps is the compiler's choice of operand order), over the
// first, a middle and the last dim (the kernel runs lines side by side in blocks), with partial blocks,
// lines longer than the exponentials it keeps, ±inf and ±NaN, float32 and float64, and on 1 and 2
// threads. Gradients: gradcheck in nn/test_extra_layers.cpp.

#include <voxgrad/voxgrad.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "test_util.h"

namespace {

using namespace voxgrad;
namespace vt = voxgrad::testing;

template <typename T, bool Log>
Tensor reference(const Tensor& input, std::int64_t dim) {
  const Tensor x = input.contiguous();
  Tensor y = empty(x.sizes(), x.dtype());
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t k = 0; k < dim; ++k) outer *= x.size(k);
  for (std::int64_t k = dim + 1; k < x.dim(); ++k) inner *= x.size(k);
  const std::int64_t n = x.size(dim);
  const T* px0 = x.data_ptr<T>();
  T* py0 = y.data_ptr<T>();
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t i = 0; i < inner; ++i) {
      const T* px = px0 + o * n * inner + i;
      T* py = py0 + o * n * inner + i;
      T m = -std::numeric_limits<T>::infinity();
      for (std::int64_t k = 0; k < n && !std::isnan(m); ++k) {
        if (std::isnan(px[k * inner]) || px[k * inner] > m) m = px[k * inner];
      }
      const T shift = std::isinf(m) && m < 0 ? T(0) : m;
      double s = 0.0;
      for (std::int64_t k = 0; k < n; ++k) s += std::exp(static_cast<double>(px[k * inner] - shift));
      for (std::int64_t k = 0; k < n; ++k) {
        if constexpr (Log) {
          py[k * inner] = (px[k * inner] - shift) - static_cast<T>(std::log(s));
        } else {
          py[k * inner] = static_cast<T>(std::exp(static_cast<double>(px[k * inner] - shift)) * (1.0 / s));
        }
      }
    }
  }
  return y;
}

// Values of `shape` with, at fixed places, +inf, −inf, NaN, and a line of −inf along `dim`.
Tensor values(const Shape& shape, DType dt, std::int64_t dim) {
  manual_seed(11);
  Tensor t = (randn(shape, dt) * 4.0).contiguous();
  const std::int64_t n = t.numel();
  for (std::int64_t i = 5; i < n; i += 97) {
    const double e = i % 4 == 0 ? INFINITY : i % 4 == 1 ? -INFINITY : i % 4 == 2 ? NAN : -NAN;
    t.view({n}).index_put_({i}, e);
  }
  t.select(dim, 0).fill_(-INFINITY);  // lines that start at −inf …
  Tensor line = t;                    // … and the line at index 1 (or 0) of every other dim: −inf only
  for (std::int64_t d = t.dim() - 1; d >= 0; --d) {
    if (d != dim) line = line.select(d, std::min<std::int64_t>(1, t.size(d) - 1));
  }
  line.fill_(-INFINITY);
  return t;
}

TEST(Softmax, EveryLineIsTheFormulaBitForBit) {
  // Partial blocks (130, 65, 33), lines too long for the kept exponentials (70 × 130 along dim 1 at
  // full blocks, 5000 as rows), and enough blocks for both threads (16 × 70 × 130).
  const Shape shapes[] = {{3, 5, 7},  {2, 4, 130},  {2, 70, 33},   {1, 1, 9}, {200, 3},
                          {4, 1, 65}, {3, 70, 130}, {16, 70, 130}, {2, 5000}};
  for (DType dt : {kFloat32, kFloat64}) {
    for (const Shape& shape : shapes) {
      for (std::int64_t dim = 0; dim < static_cast<std::int64_t>(shape.size()); ++dim) {
        const Tensor x = values(shape, dt, dim);
        for (int threads : {1, 2}) {
          const vt::RestoreTwoThreads restore;
          set_num_threads(threads);
          const Tensor y = softmax(x, dim), ly = log_softmax(x, dim);
          const std::string what = std::string(dtype_name(dt)) + " " + shape_str(shape) + " dim " +
                                   std::to_string(dim) + ", " + std::to_string(threads) + " threads";
          if (dt == kFloat32) {
            EXPECT_TRUE(vt::same_bits_any_nan(y, reference<float, false>(x, dim))) << "softmax, " << what;
            EXPECT_TRUE(vt::same_bits_any_nan(ly, reference<float, true>(x, dim))) << "log_softmax, " << what;
          } else {
            EXPECT_TRUE(vt::same_bits_any_nan(y, reference<double, false>(x, dim))) << "softmax, " << what;
            EXPECT_TRUE(vt::same_bits_any_nan(ly, reference<double, true>(x, dim))) << "log_softmax, " << what;
          }
        }
      }
    }
  }
}

TEST(Softmax, ViewsGiveTheResultsOfTheirContiguousCopies) {
  manual_seed(12);
  const Tensor base = randn({6, 40, 9});
  const Tensor t = base.transpose(0, 2), s = base.slice(1, 1, 40, 3);
  EXPECT_TRUE(vt::bit_identical(softmax(t, 1), softmax(t.contiguous(), 1)));
  EXPECT_TRUE(vt::bit_identical(log_softmax(s, 1), log_softmax(s.contiguous(), 1)));
  EXPECT_TRUE(vt::bit_identical(softmax(base.select(2, 4), 0), softmax(base.select(2, 4).contiguous(), 0)));
}

}  // namespace
