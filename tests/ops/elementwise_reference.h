#pragma once
// The reference of an element-wise unary op (the scalar function on each element), and the check of the op
// against it on a tensor and its views, for test_elementwise_math.cpp and test_trigonometric.cpp.

#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include <voxgrad/voxgrad.h>

#include "test_util.h"

namespace voxgrad::testing {

/// f64 (float64) or f32 (float32) applied to each element of x, in x's dtype, into a new contiguous tensor.
inline Tensor map_elements(const Tensor& x, double (*f64)(double), float (*f32)(float)) {
  const Tensor xc = x.contiguous();
  Tensor y = empty(x.sizes(), x.dtype());
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    if (x.dtype() == kFloat64) {
      y.data_ptr<double>()[i] = f64(xc.data_ptr<double>()[i]);
    } else {
      y.data_ptr<float>()[i] = f32(xc.data_ptr<float>()[i]);
    }
  }
  return y;
}

/// `special`, then randn values times 10^(i % decades − decades / 2), as a (rows, cols) float64 tensor.
inline Tensor special_then_random(const std::vector<double>& special, std::int64_t rows, std::int64_t cols,
                                  int decades) {
  std::vector<double> v = special;
  const Tensor r = randn({rows * cols - static_cast<std::int64_t>(special.size())}, kFloat64);
  for (std::int64_t i = 0; i < r.numel(); ++i) {
    v.push_back(r.data_ptr<double>()[i] * std::pow(10.0, static_cast<double>(i % decades - decades / 2)));
  }
  return tensor(v, kFloat64).reshape({rows, cols});
}

/// Expects op to give map_elements' bits (any NaN for a NaN) on x (at least 4 × 6) and on its views: transposed,
/// strided at an offset, a row expanded, one element as a 0-d tensor; and an empty slice's shape.
inline void expect_matches_elementwise(const std::function<Tensor(const Tensor&)>& op, double (*f64)(double),
                                       float (*f32)(float), const Tensor& x) {
  const std::int64_t rows = x.size(0), cols = x.size(1);
  for (const Tensor& v : {x, x.t(), x.slice(0, 1, rows, 3).slice(1, 2, cols, 2),
                          x.select(0, 0).unsqueeze(0).expand({5, cols}), x.select(0, 3).select(0, 5)}) {
    EXPECT_TRUE(same_bits_any_nan(op(v), map_elements(v, f64, f32)))
        << "on a tensor of strides " << shape_str(v.strides());
  }
  EXPECT_EQ(op(x.slice(0, 0, 0)).sizes(), (Shape{0, cols}));
}

}  // namespace voxgrad::testing
