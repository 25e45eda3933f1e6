#pragma once
// Helpers shared by the test files.

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <voxgrad/voxgrad.h>

namespace voxgrad::testing {

/// A fixture owning a fresh directory dir_ (voxgrad_<suite>_<test>_<pid> under the system's temporary
/// directory): removed after a passing test, kept and printed after a failing one.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("voxgrad_{}_{}_{}", info->test_suite_name(), info->name(), ::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (dir_.empty()) return;  // skipped before SetUp made it
    if (HasFailure()) {
      std::cout << "kept " << dir_ << " for inspection\n";
      return;
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::filesystem::path dir_;
};

/// The raw elements of `t` (of element type T) in row-major order, for bitwise comparisons.
template <typename T>
std::vector<T> raw(const Tensor& t) {
  const Tensor c = t.contiguous();
  const T* p = c.data_ptr<T>();
  return std::vector<T>(p, p + c.numel());
}

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

/// Asserts that `a` and `b` have the same shape and dtype and bit-identical elements; a failure names
/// `what`, the first differing flat index and both values.
inline void expect_bitwise_equal(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what << ": shapes differ";
  ASSERT_EQ(a.dtype(), b.dtype()) << what << ": dtypes differ";
  const Tensor ca = a.detach().contiguous(), cb = b.detach().contiguous();
  const std::size_t width = element_size(ca.dtype());
  const auto* pa = static_cast<const unsigned char*>(ca.raw_data_ptr());
  const auto* pb = static_cast<const unsigned char*>(cb.raw_data_ptr());
  const std::int64_t n = ca.numel();
  // No elements: nothing to compare (their data pointers may be null, which memcmp must not get).
  if (n == 0 || std::memcmp(pa, pb, static_cast<std::size_t>(n) * width) == 0) return;
  std::int64_t first = 0, count = 0;
  for (std::int64_t i = n - 1; i >= 0; --i) {
    if (std::memcmp(pa + i * width, pb + i * width, width) != 0) {
      first = i;
      ++count;
    }
  }
  const std::vector<double> va = values(ca.flatten().narrow(0, first, 1)),
                            vb = values(cb.flatten().narrow(0, first, 1));
  ADD_FAILURE() << what << ": " << count << " of " << n << " elements differ bitwise (shape " << shape_str(ca.sizes())
                << "); the first at flat index " << first << ": " << fmt::format("{:.17g} vs {:.17g}", va[0], vb[0]);
}

/// True if `a` and `b` have the same shape and dtype and bit-identical elements (any layout);
/// expect_bitwise_equal reports where they differ instead.
inline bool bit_identical(const Tensor& a, const Tensor& b) {
  if (a.sizes() != b.sizes() || a.dtype() != b.dtype()) return false;
  if (a.numel() == 0) return true;  // an empty tensor may have no storage: memcmp of null is undefined
  const Tensor ca = a.detach().contiguous(), cb = b.detach().contiguous();
  return std::memcmp(ca.raw_data_ptr(), cb.raw_data_ptr(),
                     static_cast<std::size_t>(ca.numel()) * element_size(ca.dtype())) == 0;
}

/// The same bits in every element, but that a NaN may be any NaN: IEEE 754 leaves a NaN result's sign
/// and payload open, and libm's fma and the instruction pick different ones (as do ATen's scalar and
/// vector kernels). Shapes and dtypes must match too.
template <typename T>
::testing::AssertionResult same_bits_any_nan(const Tensor& got, const Tensor& want) {
  const Tensor g = got.detach().contiguous(), w = want.detach().contiguous();
  const T* pg = g.data_ptr<T>();
  const T* pw = w.data_ptr<T>();
  for (std::int64_t i = 0; i < g.numel(); ++i) {
    if (std::isnan(pg[i]) && std::isnan(pw[i])) continue;
    if (std::memcmp(&pg[i], &pw[i], sizeof(T)) != 0) {
      return ::testing::AssertionFailure() << "element " << i << ": " << pg[i] << " against " << pw[i];
    }
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult same_bits_any_nan(const Tensor& got, const Tensor& want) {
  if (got.sizes() != want.sizes() || got.dtype() != want.dtype()) {
    return ::testing::AssertionFailure() << "shapes or dtypes differ";
  }
  return got.dtype() == kFloat32 ? same_bits_any_nan<float>(got, want) : same_bits_any_nan<double>(got, want);
}

/// Calls set_num_threads(2) when it goes out of scope, so a test that changes the kernel thread count
/// leaves two threads to the tests after it.
/// Sets the kernel thread count for a scope, then restores the one before it.
class ScopedThreads {
 public:
  explicit ScopedThreads(int n) : old_(get_num_threads()) { set_num_threads(n); }
  ~ScopedThreads() { set_num_threads(old_); }
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int old_;
};

struct RestoreTwoThreads {
  RestoreTwoThreads() = default;
  RestoreTwoThreads(const RestoreTwoThreads&) = delete;
  RestoreTwoThreads& operator=(const RestoreTwoThreads&) = delete;
  ~RestoreTwoThreads() { set_num_threads(2); }
};

/// The loss of each step and the final parameters of a training run.
struct TrainingRun {
  std::vector<double> losses;
  nn::NamedTensors params;
};

/// Expects bit-identical losses and parameters (same names in the same order); failures name `what`.
inline void expect_same_run(const TrainingRun& a, const TrainingRun& b, const std::string& what) {
  ASSERT_EQ(a.losses.size(), b.losses.size());
  for (std::size_t i = 0; i < a.losses.size(); ++i) {
    EXPECT_EQ(std::memcmp(&a.losses[i], &b.losses[i], sizeof(double)), 0)
        << what << ": loss of step " << i << ": " << fmt::format("{:.17g} vs {:.17g}", a.losses[i], b.losses[i]);
  }
  ASSERT_EQ(a.params.size(), b.params.size());
  for (std::size_t i = 0; i < a.params.size(); ++i) {
    ASSERT_EQ(a.params[i].first, b.params[i].first);
    expect_bitwise_equal(a.params[i].second, b.params[i].second, what + ": parameter " + a.params[i].first);
  }
}

/// The whole content of a file as bytes ("" if it cannot be read).
inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {};
  std::string bytes(static_cast<std::size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return bytes;
}

/// NaN and infinity, for expected values.
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();

/// A float64 tensor of `sizes` holding `v` (row-major).
inline Tensor f64(const std::vector<double>& v, const Shape& sizes) { return tensor(v, kFloat64).reshape(sizes); }
/// A 1-D float64 tensor holding `v`.
inline Tensor f64(const std::vector<double>& v) { return tensor(v, kFloat64); }
/// A float64 leaf of `sizes` holding `v` that requires grad.
inline Tensor leaf(const std::vector<double>& v, const Shape& sizes) { return f64(v, sizes).requires_grad_(true); }
/// A 1-D float64 leaf holding `v` that requires grad.
inline Tensor leaf(const std::vector<double>& v) { return f64(v).requires_grad_(true); }

/// A float64 leaf with values drawn uniformly from [lo, hi) after manual_seed(seed).
inline Tensor uniform_leaf(const Shape& sizes, double lo, double hi, std::uint64_t seed) {
  manual_seed(seed);
  return (rand(sizes, kFloat64) * (hi - lo) + lo).detach().requires_grad_(true);
}

/// EXPECT_TRUE(gradcheck(fn, inputs)) (failures throw with the details).
inline void expect_gradcheck(const autograd::SingleOutputFn& fn, const std::vector<Tensor>& inputs) {
  EXPECT_TRUE(autograd::gradcheck(fn, inputs));
}

/// EXPECT_TRUE(gradgradcheck(fn, inputs)).
inline void expect_gradgradcheck(const autograd::SingleOutputFn& fn, const std::vector<Tensor>& inputs) {
  EXPECT_TRUE(autograd::gradgradcheck(fn, inputs));
}

}  // namespace voxgrad::testing

/// Expects `stmt` to throw voxgrad::Error whose message contains `substr`.
#define EXPECT_ERROR_CONTAINS(stmt, substr)                                                            \
  do {                                                                                                 \
    try {                                                                                              \
      stmt;                                                                                            \
      ADD_FAILURE() << "expected voxgrad::Error containing \"" << (substr) << "\"";                    \
    } catch (const ::voxgrad::Error& e) {                                                              \
      EXPECT_NE(std::string(e.what()).find(substr), std::string::npos) << "message was: " << e.what(); \
    }                                                                                                  \
  } while (false)

/// Expects `stmt` to throw voxgrad::Error whose message is exactly `text`.
#define EXPECT_ERROR_EQ(stmt, text)                                    \
  do {                                                                 \
    try {                                                              \
      stmt;                                                            \
      ADD_FAILURE() << "expected voxgrad::Error \"" << (text) << "\""; \
    } catch (const ::voxgrad::Error& e) {                              \
      EXPECT_EQ(std::string(e.what()), std::string(text));             \
    }                                                                  \
  } while (false)
