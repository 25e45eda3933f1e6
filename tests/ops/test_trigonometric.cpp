// ops/trigonometric.h: sin, cos, tan, asin, acos, atan, atan2, sinh, cosh, asinh, acosh, atanh.
// - values: bit for bit against the C++ library's function applied element by element (float32 on floats),
//   over special values (±0, ±1, infinities, NaN, overflow, outside the inverses' domains) and random
//   ones, on contiguous tensors, views (transposed, strided at an offset, expanded), 0-d and empty ones;
//   atan2 broadcast, with either operand a view;
// - gradients: gradcheck and gradgradcheck in float64 inside each domain; PyTorch's values and gradients at
//   the edges: tests/ops/test_math_fixtures.cpp; views of every argument with gradients: test_views.cpp;
// - errors: the op, the argument and the values in the message.

#include <voxgrad/voxgrad.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_reference.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
namespace vt = voxgrad::testing;
using vt::kInf;
using vt::kNaN;

struct UnaryCase {
  std::string name;
  std::function<Tensor(const Tensor&)> op;
  std::function<Tensor(const Tensor&)> method;
  double (*f64)(double);
  float (*f32)(float);
  double lo, hi;  // a range inside the domain, for gradcheck
};

std::vector<UnaryCase> cases() {
  return {
      {"sin", [](const Tensor& t) { return sin(t); }, [](const Tensor& t) { return t.sin(); },
       [](double v) { return std::sin(v); }, [](float v) { return std::sin(v); }, -3.0, 3.0},
      {"cos", [](const Tensor& t) { return cos(t); }, [](const Tensor& t) { return t.cos(); },
       [](double v) { return std::cos(v); }, [](float v) { return std::cos(v); }, -3.0, 3.0},
      {"tan", [](const Tensor& t) { return tan(t); }, [](const Tensor& t) { return t.tan(); },
       [](double v) { return std::tan(v); }, [](float v) { return std::tan(v); }, -1.2, 1.2},
      {"asin", [](const Tensor& t) { return asin(t); }, [](const Tensor& t) { return t.asin(); },
       [](double v) { return std::asin(v); }, [](float v) { return std::asin(v); }, -0.9, 0.9},
      {"acos", [](const Tensor& t) { return acos(t); }, [](const Tensor& t) { return t.acos(); },
       [](double v) { return std::acos(v); }, [](float v) { return std::acos(v); }, -0.9, 0.9},
      {"atan", [](const Tensor& t) { return atan(t); }, [](const Tensor& t) { return t.atan(); },
       [](double v) { return std::atan(v); }, [](float v) { return std::atan(v); }, -4.0, 4.0},
      {"sinh", [](const Tensor& t) { return sinh(t); }, [](const Tensor& t) { return t.sinh(); },
       [](double v) { return std::sinh(v); }, [](float v) { return std::sinh(v); }, -3.0, 3.0},
      {"cosh", [](const Tensor& t) { return cosh(t); }, [](const Tensor& t) { return t.cosh(); },
       [](double v) { return std::cosh(v); }, [](float v) { return std::cosh(v); }, -3.0, 3.0},
      {"asinh", [](const Tensor& t) { return asinh(t); }, [](const Tensor& t) { return t.asinh(); },
       [](double v) { return std::asinh(v); }, [](float v) { return std::asinh(v); }, -4.0, 4.0},
      {"acosh", [](const Tensor& t) { return acosh(t); }, [](const Tensor& t) { return t.acosh(); },
       [](double v) { return std::acosh(v); }, [](float v) { return std::acosh(v); }, 1.1, 4.0},
      {"atanh", [](const Tensor& t) { return atanh(t); }, [](const Tensor& t) { return t.atanh(); },
       [](double v) { return std::atanh(v); }, [](float v) { return std::atanh(v); }, -0.9, 0.9},
  };
}

const std::vector<double> kSpecial = {
    0.0,   -0.0,   1.0,  -1.0,  0.5,    -0.5,   1.5,  -1.5,  1e-10,   -1e-300,
    3.0,   -7.25,  88.5, 89.5,  -710.0, 710.5,  1e22, kInf,  -kInf,   kNaN,
    0.999, -0.999, 2.0,  100.5, 1e-40,  -1e-40, 1e30, -1e30, 1.0 / 3, 1.5707963267948966};

TEST(Trigonometric, ValuesAreTheLibraryFunctionsBitForBitOnViews) {
  manual_seed(5);
  // kSpecial, then random values over 5 decades.
  const Tensor base = vt::special_then_random(kSpecial, 20, 30, 5);
  for (const UnaryCase& c : cases()) {
    for (DType dt : {kFloat32, kFloat64}) {
      SCOPED_TRACE(c.name + (dt == kFloat32 ? " float32" : " float64"));
      vt::expect_matches_elementwise(c.op, c.f64, c.f32, base.to(dt));
      vt::expect_matches_elementwise(c.method, c.f64, c.f32, base.to(dt));
    }
  }
}

TEST(Trigonometric, KnownValues) {
  EXPECT_EQ(sin(vt::f64({0.0})).item<double>(), 0.0);
  EXPECT_EQ(cos(vt::f64({0.0})).item<double>(), 1.0);
  EXPECT_TRUE(std::isnan(sin(vt::f64({kInf})).item<double>()));
  EXPECT_EQ(asin(vt::f64({1.0})).item<double>(), M_PI / 2);
  EXPECT_EQ(acos(vt::f64({-1.0})).item<double>(), M_PI);
  EXPECT_TRUE(std::isnan(asin(vt::f64({1.5})).item<double>()));
  EXPECT_TRUE(std::isnan(acosh(vt::f64({0.5})).item<double>()));
  EXPECT_EQ(atanh(vt::f64({1.0})).item<double>(), kInf);
  EXPECT_EQ(atanh(vt::f64({-1.0})).item<double>(), -kInf);
  EXPECT_EQ(cosh(vt::f64({-711.0})).item<double>(), kInf);
  // Just below overflow the C library's finite values (PyTorch's vector loop, SLEEF's, gives inf from 709.78 and
  // 88.72 on).
  volatile double near_overflow = 710.0;  // libm's sinh at run time, not the compiler's at compile time
  EXPECT_EQ(sinh(vt::f64({710.0})).item<double>(), std::sinh(near_overflow));
  EXPECT_TRUE(std::isfinite(sinh(vt::f64({710.0})).item<double>()));
  EXPECT_TRUE(std::isfinite(cosh(tensor({89.0}, kFloat32)).item<float>()));
  EXPECT_EQ(cosh(tensor({89.5}, kFloat32)).item<float>(), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::signbit(tan(vt::f64({-0.0})).item<double>()));
  EXPECT_TRUE(std::signbit(asinh(vt::f64({-0.0})).item<double>()));
  // atan2's quadrants and signed zeros: atan2(±0, −0) = ±π, atan2(±0, +0) = ±0, atan2(y, −inf) = ±π.
  const Tensor y = vt::f64({0.0, -0.0, 0.0, -0.0, 1.0, -1.0, kInf, 1.0, kNaN});
  const Tensor x = vt::f64({-0.0, -0.0, 0.0, 0.0, -kInf, -kInf, kInf, 0.0, 1.0});
  const Tensor a = atan2(y, x);
  const std::vector<double> want = {M_PI, -M_PI, 0.0, -0.0, M_PI, -M_PI, M_PI / 4, M_PI / 2, kNaN};
  EXPECT_TRUE(vt::same_bits_any_nan(a, vt::f64(want)));
}

TEST(Trigonometric, Atan2BroadcastsAndReadsViews) {
  manual_seed(9);
  const Tensor a = randn({4, 6}, kFloat64), b = randn({6, 4}, kFloat64);
  const auto ref = [](const Tensor& p, const Tensor& q) {
    const Tensor pe = p.expand({4, 6}).contiguous(), qe = q.expand({4, 6}).contiguous();
    Tensor out = empty({4, 6}, p.dtype());
    for (std::int64_t i = 0; i < 24; ++i) {
      if (p.dtype() == kFloat64) {
        out.data_ptr<double>()[i] = std::atan2(pe.data_ptr<double>()[i], qe.data_ptr<double>()[i]);
      } else {
        out.data_ptr<float>()[i] = std::atan2(pe.data_ptr<float>()[i], qe.data_ptr<float>()[i]);
      }
    }
    return out;
  };
  for (DType dt : {kFloat32, kFloat64}) {
    const Tensor p = a.to(dt), q = b.to(dt).t();  // q a transposed view
    EXPECT_TRUE(vt::same_bits_any_nan(atan2(p, q), ref(p, q)));
    EXPECT_TRUE(vt::same_bits_any_nan(p.atan2(q), ref(p, q)));
    const Tensor row = q.select(0, 1);  // a strided row, broadcast over the rows of p
    EXPECT_TRUE(vt::same_bits_any_nan(atan2(p, row), ref(p, row)));
    const Tensor col = p.slice(1, 2, 3);  // a column at an offset, broadcast along the other operand's rows
    EXPECT_TRUE(vt::same_bits_any_nan(atan2(col, q), ref(col, q)));
  }
  // float32 with float64 computes in float64 (result_type), each gradient in its operand's dtype.
  const Tensor f = a.to(kFloat32).requires_grad_(true), d = b.t().contiguous().requires_grad_(true);
  const Tensor out = atan2(f, d);
  EXPECT_EQ(out.dtype(), kFloat64);
  out.sum().backward();
  EXPECT_EQ(f.grad().dtype(), kFloat32);
  EXPECT_EQ(d.grad().dtype(), kFloat64);
}

TEST(Trigonometric, GradcheckAndGradgradcheckInsideEachDomain) {
  for (const UnaryCase& c : cases()) {
    SCOPED_TRACE(c.name);
    const Tensor x = vt::uniform_leaf({3, 4}, c.lo, c.hi, 41);
    const auto op = c.op;
    vt::expect_gradcheck([&](const std::vector<Tensor>& in) { return op(in[0]); }, {x});
    vt::expect_gradgradcheck([&](const std::vector<Tensor>& in) { return op(in[0]); }, {x});
  }
  const Tensor a = vt::uniform_leaf({3, 1}, -2.0, 2.0, 42), b = vt::uniform_leaf({4}, 0.5, 2.0, 43);
  const auto f = [](const std::vector<Tensor>& in) { return atan2(in[0], in[1]); };
  vt::expect_gradcheck(f, {a, b});
  vt::expect_gradgradcheck(f, {a, b});
}

TEST(Trigonometric, GradientsAtTheEdgesAreTorchs) {
  const auto grad_of = [](const std::function<Tensor(const Tensor&)>& op, const std::vector<double>& v) {
    Tensor x = vt::leaf(v);
    op(x).sum().backward();
    return x.grad();
  };
  // torch 1.13: asin'(±1) = inf, acos'(1) = −inf, atanh'(±1) = inf, acosh'(1) = inf, NaN outside the domains.
  EXPECT_TRUE(vt::same_bits_any_nan(grad_of([](const Tensor& t) { return asin(t); }, {1.0, -1.0, 2.0, 0.0}),
                                    vt::f64({kInf, kInf, kNaN, 1.0})));
  EXPECT_TRUE(
      vt::same_bits_any_nan(grad_of([](const Tensor& t) { return acos(t); }, {1.0, 0.0}), vt::f64({-kInf, -1.0})));
  EXPECT_TRUE(vt::same_bits_any_nan(grad_of([](const Tensor& t) { return atanh(t); }, {1.0, -1.0, 0.0}),
                                    vt::f64({kInf, kInf, 1.0})));
  EXPECT_TRUE(
      vt::same_bits_any_nan(grad_of([](const Tensor& t) { return acosh(t); }, {1.0, 0.5}), vt::f64({kInf, kNaN})));
  EXPECT_TRUE(vt::same_bits_any_nan(grad_of([](const Tensor& t) { return atan(t); }, {kInf, 0.0, 1.0}),
                                    vt::f64({0.0, 1.0, 0.5})));
  EXPECT_TRUE(vt::same_bits_any_nan(grad_of([](const Tensor& t) { return tan(t); }, {0.0}), vt::f64({1.0})));
  // cos'(0) = −sin(0) = −0; sin(1) at run time, as the op computes it.
  volatile double one = 1.0;
  EXPECT_TRUE(vt::same_bits_any_nan(grad_of([](const Tensor& t) { return cos(t); }, {0.0, 1.0}),
                                    vt::f64({-0.0, -std::sin(one)})));
  // atan2 at the origin: 0 / 0, NaN for both (as torch's).
  Tensor y = vt::leaf({0.0}), x = vt::leaf({0.0});
  atan2(y, x).backward();
  EXPECT_TRUE(std::isnan(y.grad().item<double>()));
  EXPECT_TRUE(std::isnan(x.grad().item<double>()));
}

TEST(Trigonometric, ErrorsNameTheOpAndTheValues) {
  const Tensor ints = zeros({2}, kInt64);
  for (const UnaryCase& c : cases()) {
    EXPECT_ERROR_EQ(c.op(ints), c.name + ": expected a float32 or float64 tensor, but got int64");
    EXPECT_ERROR_EQ(c.op(Tensor()), c.name + ": argument 'self' is an undefined tensor");
  }
  EXPECT_ERROR_EQ(atan2(ints, ints), "atan2: expected float32 or float64 operands, but got int64 and int64");
  EXPECT_ERROR_EQ(atan2(zeros({2}), Tensor()), "atan2: argument 'other' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(atan2(zeros({2, 3}), zeros({4})), "atan2");
  EXPECT_ERROR_CONTAINS(atan2(zeros({2, 3}), zeros({4})), "[2, 3]");
}

}  // namespace
