// The accuracy, order and determinism of the reductions (ops/reduction.cpp): float32 sums in a double,
// float64 sums compensated, every output taking its elements in their logical order on every layout
// (checked bit for bit against that order), and the same bits on 1 and 2 threads. Values, shapes,
// errors and gradients: test_reduction.cpp.

#include <voxgrad/voxgrad.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using namespace voxgrad;
using voxgrad::testing::raw;
namespace vt = voxgrad::testing;

// --- float32 accuracy and determinism ---------------------------------------------------------------

TEST(Reduction, Float32SumOfAMillionValuesIsAccumulatedInDouble) {
  const Tensor x = full({1000000}, 0.1, kFloat32);
  double reference = 0;
  for (int i = 0; i < 1000000; ++i) reference += static_cast<double>(0.1f);
  EXPECT_EQ(x.sum().item<float>(), static_cast<float>(reference));
  EXPECT_EQ(x.mean().item<float>(), static_cast<float>(static_cast<float>(reference) / 1e6));
  // A float32 accumulator would drift to about 100958.
  EXPECT_NEAR(x.sum().item<float>(), 100000.0, 0.01);
}

TEST(Reduction, Float32SumsOverLargeDimsAreAccurateForFewAndManyOutputs) {
  manual_seed(2);
  const Tensor x = rand({3, 400000}, kFloat32);
  const std::vector<float> v = raw<float>(x);
  std::vector<double> rows(3, 0.0), cols(400000, 0.0);
  for (std::size_t r = 0; r < 3; ++r) {
    for (std::size_t c = 0; c < 400000; ++c) {
      rows[r] += v[r * 400000 + c];
      cols[c] += v[r * 400000 + c];
    }
  }
  const std::vector<float> by_row = raw<float>(x.sum(1));        // few outputs, long reduced dim
  const std::vector<float> by_row_t = raw<float>(x.t().sum(0));  // the same through a strided view
  for (std::size_t r = 0; r < 3; ++r) {
    EXPECT_EQ(by_row[r], static_cast<float>(rows[r])) << r;
    EXPECT_EQ(by_row_t[r], static_cast<float>(rows[r])) << r;
  }
  const std::vector<float> by_col = raw<float>(x.sum(0));  // many outputs
  std::size_t mismatches = 0;
  for (std::size_t c = 0; c < 400000; ++c) mismatches += by_col[c] != static_cast<float>(cols[c]);
  EXPECT_EQ(mismatches, 0u);
  double total = 0;
  for (double r : rows) total += r;
  EXPECT_EQ(x.sum().item<float>(), static_cast<float>(total));
}

// Each output takes its elements one by one in their logical order (row-major over the reduced dims):
// in a double for float32 sums, Neumaier's compensated double for float64; max and min let a NaN win
// (the output's last NaN) and keep the first of equal elements (+0 or −0). Checked bit for bit,
// whichever way the loops run (outputs adjacent in memory in blocks, apart as chains, one at a time),
// on values where the order shows (±1e32, ±1 and ±1e-20 round differently in another order, even
// compensated; +0 and −0 side by side; ±inf and NaN), over outer, inner and non-adjacent dims of
// contiguous tensors and of views.
TEST(Reduction, EveryOutputTakesItsElementsInLogicalOrderOnEveryLayout) {
  const auto make = [](DType dt, bool specials) {
    manual_seed(7);
    const Shape shape{6, 37, 300};
    const Tensor u = rand(shape, dt), sign = randn(shape, dt).sign();
    // ±1e32 (20%), ±1e-20 (10%), ±0 (10%), else ±1.
    Tensor t =
        sign * where(u.lt(0.2), full(shape, 1e32, dt),
                     where(u.lt(0.3), full(shape, 1e-20, dt), where(u.lt(0.4), zeros(shape, dt), ones(shape, dt))));
    if (specials) {
      t.index_put_({0, 3, 5}, INFINITY);
      t.index_put_({2, 3, 5}, -INFINITY);
      t.index_put_({4, 10, 17}, NAN);
      t.index_put_({1, 10, 17}, NAN);
    }
    return t;
  };
  struct Case {
    const char* what;
    std::function<Tensor(const Tensor&)> view;
  };
  const Case views[] = {{"contiguous", [](const Tensor& t) { return t; }},
                        {"transposed", [](const Tensor& t) { return t.transpose(0, 2).contiguous().transpose(0, 2); }},
                        {"strided and offset",
                         [](const Tensor& t) {
                           Tensor wide = zeros({6, 37, 601}, t.dtype());
                           wide.slice(2, 1, 601, 2).copy_(t);
                           return wide.slice(2, 1, 601, 2);
                         }},
                        {"expanded", [](const Tensor& t) {
                           return t.narrow(0, 2, 1).expand({6, 37, 300});
                         }}};
  const std::vector<std::vector<std::int64_t>> all_dims = {{0}, {1}, {2}, {0, 2}, {0, 1}, {1, 2}};
  for (DType dt : {kFloat32, kFloat64}) {
    for (bool specials : {false, true}) {
      const Tensor base = make(dt, specials);
      for (const Case& v : views) {
        const Tensor x = v.view(base);
        if (std::string(v.what) != "contiguous") {
          ASSERT_FALSE(x.is_contiguous()) << v.what;
        }
        const Tensor c = x.contiguous();
        const Shape sizes = c.sizes();
        const auto at = [&](std::int64_t i, std::int64_t j, std::int64_t k) {
          return dt == kFloat32 ? static_cast<double>(c.data_ptr<float>()[(i * sizes[1] + j) * sizes[2] + k])
                                : c.data_ptr<double>()[(i * sizes[1] + j) * sizes[2] + k];
        };
        for (const std::vector<std::int64_t>& dims : all_dims) {
          // The reference: outputs row-major over the kept dims, each reduced in logical order.
          std::vector<bool> red(3, false);
          for (std::int64_t d : dims) red[static_cast<std::size_t>(d)] = true;
          std::vector<double> ref_sum, ref_max, ref_min;
          std::int64_t lo[3], hi[3];
          for (std::size_t d = 0; d < 3; ++d) hi[d] = red[d] ? 1 : sizes[d];
          for (lo[0] = 0; lo[0] < hi[0]; ++lo[0]) {
            for (lo[1] = 0; lo[1] < hi[1]; ++lo[1]) {
              for (lo[2] = 0; lo[2] < hi[2]; ++lo[2]) {
                double s = 0, comp = 0, mx = -INFINITY, mn = INFINITY;
                std::int64_t r[3];
                for (r[0] = 0; r[0] < (red[0] ? sizes[0] : 1); ++r[0]) {
                  for (r[1] = 0; r[1] < (red[1] ? sizes[1] : 1); ++r[1]) {
                    for (r[2] = 0; r[2] < (red[2] ? sizes[2] : 1); ++r[2]) {
                      const double e = at(red[0] ? r[0] : lo[0], red[1] ? r[1] : lo[1], red[2] ? r[2] : lo[2]);
                      if (dt == kFloat32) {
                        s += e;
                      } else {  // Neumaier
                        const double t = s + e;
                        comp += std::abs(s) >= std::abs(e) ? (s - t) + e : (e - t) + s;
                        s = t;
                      }
                      if (std::isnan(e) || (!std::isnan(mx) && e > mx)) mx = e;
                      if (std::isnan(e) || (!std::isnan(mn) && e < mn)) mn = e;
                    }
                  }
                }
                ref_sum.push_back(dt == kFloat32 || !std::isfinite(s) ? s : s + comp);
                ref_max.push_back(mx);
                ref_min.push_back(mn);
              }
            }
          }
          const Tensor want_sum = tensor(ref_sum, kFloat64).to(dt), want_max = tensor(ref_max, kFloat64).to(dt),
                       want_min = tensor(ref_min, kFloat64).to(dt);
          std::string what = std::string(v.what) + ", " + std::string(dtype_name(dt)) + ", dims";
          for (std::int64_t d : dims) what += " " + std::to_string(d);
          EXPECT_TRUE(vt::same_bits_any_nan(x.sum(dims).flatten(), want_sum)) << "sum, " << what;
          EXPECT_TRUE(vt::same_bits_any_nan(x.amax(dims).flatten(), want_max)) << "amax, " << what;
          EXPECT_TRUE(vt::same_bits_any_nan(x.amin(dims).flatten(), want_min)) << "amin, " << what;
        }
      }
    }
  }
}

// max(dim) and min(dim) with their indices: each output the first maximum (minimum) of its slice, or
// its first NaN, and that element's index, whichever way the loops run (outputs adjacent in memory in
// blocks, apart as chains); on ties of ±1, +0 beside −0, ±inf and NaN, along every dim of contiguous
// tensors and views.
TEST(Reduction, MaxAndMinAlongADimTakeTheFirstBestElementOnEveryLayout) {
  manual_seed(9);
  const Shape shape{5, 33, 270};
  const Tensor u = rand(shape);
  Tensor base = where(u.lt(0.3), zeros(shape), randn(shape).sign()) * randn(shape).sign();
  base.index_put_({1, 2, 3}, INFINITY);
  base.index_put_({3, 2, 3}, -INFINITY);
  base.index_put_({2, 7, 11}, NAN);
  base.index_put_({4, 7, 11}, NAN);
  base.index_put_({2, 9, 100}, NAN);
  const Tensor views[] = {base, base.transpose(0, 2).contiguous().transpose(0, 2), base.narrow(0, 1, 1).expand(shape)};
  for (const Tensor& x : views) {
    const Tensor c = x.contiguous();
    for (std::int64_t dim = 0; dim < 3; ++dim) {
      for (bool is_max : {true, false}) {
        const auto [values, indices] = is_max ? x.max(dim) : x.min(dim);
        // The reference, element by element over the slice.
        Shape order;  // the kept dims in order, then dim
        for (std::int64_t k = 0; k < 3; ++k) {
          if (k != dim) order.push_back(k);
        }
        order.push_back(dim);
        const Tensor moved = c.permute(order).contiguous();
        const std::int64_t lines = moved.numel() / shape[static_cast<std::size_t>(dim)];
        const std::int64_t len = shape[static_cast<std::size_t>(dim)];
        const float* p = moved.data_ptr<float>();
        std::vector<double> want_v;
        std::vector<std::int64_t> want_i;
        for (std::int64_t l = 0; l < lines; ++l) {
          float best = p[l * len];
          std::int64_t at = 0;
          for (std::int64_t k = 1; k < len && !std::isnan(best); ++k) {
            const float v = p[l * len + k];
            if (std::isnan(v) || (is_max ? v > best : v < best)) {
              best = v;
              at = k;
            }
          }
          want_v.push_back(best);
          want_i.push_back(at);
        }
        const std::string what = std::string(is_max ? "max" : "min") + " along dim " + std::to_string(dim) +
                                 (x.is_contiguous() ? "" : " of a view");
        EXPECT_TRUE(vt::same_bits_any_nan(values.flatten(), tensor(want_v, kFloat64).to(kFloat32))) << what;
        EXPECT_EQ(raw<std::int64_t>(indices), want_i) << what;
      }
    }
  }
}

TEST(Reduction, Float64SumOfAMillionValuesIsCompensated) {
  // 1e6 copies of 0.1 summed naively in double are off by about 1e-6; compensation keeps it exact to
  // the last bit of the correctly rounded result.
  const Tensor x = full({1000000}, 0.1, kFloat64);
  EXPECT_NEAR(x.sum().item<double>(), 100000.0, 1e-9);
}

template <typename T>
std::vector<std::vector<T>> big_reductions(const Tensor& flat) {
  const Tensor wide = flat.reshape({3, 400000}), tall = flat.reshape({400000, 3});
  std::vector<std::vector<T>> r;
  r.push_back(raw<T>(flat.sum()));
  r.push_back(raw<T>(wide.sum(1)));  // large reduced dim, few outputs
  r.push_back(raw<T>(tall.sum(0)));  // large strided reduced dim, few outputs
  r.push_back(raw<T>(tall.sum(1)));  // many outputs
  r.push_back(raw<T>(wide.sum(0)));  // many outputs, strided
  r.push_back(raw<T>(wide.mean(1, true)));
  r.push_back(raw<T>(flat.var()));
  r.push_back(raw<T>(tall.var(Shape{0})));
  r.push_back(raw<T>(flat.max()));
  r.push_back(raw<T>(std::get<0>(wide.min(1))));
  return r;
}

TEST(Reduction, BigReductionsAreBitwiseIdenticalForOneAndTwoThreads) {
  manual_seed(3);
  const Tensor f32 = randn({1200000}, kFloat32), d64 = randn({1200000}, kFloat64);
  const int saved = get_num_threads();
  set_num_threads(1);
  const auto one32 = big_reductions<float>(f32);
  const auto one64 = big_reductions<double>(d64);
  set_num_threads(2);
  const auto two32 = big_reductions<float>(f32);
  const auto two64 = big_reductions<double>(d64);
  set_num_threads(saved);
  ASSERT_EQ(one32.size(), two32.size());
  for (std::size_t k = 0; k < one32.size(); ++k) {
    EXPECT_TRUE(one32[k] == two32[k]) << "float32 reduction " << k;
    EXPECT_TRUE(one64[k] == two64[k]) << "float64 reduction " << k;
  }
}

}  // namespace
