#pragma once
// Helpers shared by the test files.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <voxgrad/voxgrad.h>

namespace voxgrad::testing {

/// Every element of `t` (any layout, any dtype) as double, in row-major order.
inline std::vector<double> values(const Tensor& t) {
  const Tensor c = t.detach().contiguous().to(kFloat64);
  const double* p = c.data_ptr<double>();
  return std::vector<double>(p, p + c.numel());
}

/// Asserts equal shapes and |a - b| <= atol + rtol * |b| element-wise.
inline void expect_close(const Tensor& a, const Tensor& b, double atol = 1e-12, double rtol = 0.0) {
  ASSERT_EQ(a.sizes(), b.sizes()) << "shapes differ";
  const std::vector<double> va = values(a), vb = values(b);
  for (std::size_t i = 0; i < va.size(); ++i) {
    EXPECT_NEAR(va[i], vb[i], atol + rtol * std::abs(vb[i])) << "at flat index " << i;
  }
}

/// Asserts that `t` holds exactly `expected` (row-major) and has shape `sizes`.
inline void expect_values(const Tensor& t, const Shape& sizes, const std::vector<double>& expected,
                          double atol = 1e-12) {
  ASSERT_EQ(t.sizes(), sizes);
  const std::vector<double> v = values(t);
  ASSERT_EQ(v.size(), expected.size());
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], expected[i], atol) << "at flat index " << i;
}

}  // namespace voxgrad::testing

/// Expects `stmt` to throw voxgrad::Error whose message contains `substr`.
#define EXPECT_ERROR_CONTAINS(stmt, substr)                                                  \
  do {                                                                                       \
    try {                                                                                    \
      stmt;                                                                                  \
      ADD_FAILURE() << "expected voxgrad::Error containing \"" << (substr) << "\"";          \
    } catch (const ::voxgrad::Error& e) {                                                    \
      EXPECT_NE(std::string(e.what()).find(substr), std::string::npos)                       \
          << "message was: " << e.what();                                                    \
    }                                                                                        \
  } while (false)
