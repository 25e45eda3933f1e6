// ops/division.h: div with a rounding mode, floor_divide, fmod and remainder.
// - values: bit for bit against scalar references (trunc of the quotient; Python's floor division from fmod;
//   std::fmod; fmod moved into b's sign), over signed zeros, infinities, NaN, b = 0 and random pairs, broadcast,
//   with either operand a view, and the number overloads in the tensor's dtype. The references follow the same
//   algorithms as the kernels (CPython's and torch's), so these check the loops, views and broadcasting; that the
//   algorithms are torch's is checked against torch itself in test_math_fixtures.cpp;
// - dtypes: float32 with float64 computes in float64, each gradient in its operand's dtype; a 0-d float64
//   operand does not promote a float32 tensor;
// - gradients: zero for the rounded quotients; grad and −grad · q for fmod and remainder, checked by
//   gradcheck and gradgradcheck away from the jumps; PyTorch's at the edges: tests/ops/test_math_fixtures.cpp;
//   views of every argument with gradients: test_views.cpp;
// - errors: the op, the argument and the values in the message.

#include <voxgrad/voxgrad.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using namespace voxgrad;
namespace vt = voxgrad::testing;
using vt::kInf;
using vt::kNaN;

// Python's a // b for floats, as CPython's float_floor_div computes it (also what torch 1.13 does).
template <typename T>
T python_floordiv(T a, T b) {
  if (b == 0) return a / b;
  const T mod = std::fmod(a, b);
  T div = (a - mod) / b;
  if (mod != 0 && (b < 0) != (mod < 0)) div -= 1;
  if (div == 0) return std::copysign(T(0), a / b);
  T f = std::floor(div);
  if (div - f > T(0.5)) f += 1;
  return f;
}

template <typename T>
T python_mod(T a, T b) {
  T m = std::fmod(a, b);
  if (m != 0 && (b < 0) != (m < 0)) m += b;
  return m;
}

struct BinaryCase {
  std::string name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  double (*f64)(double, double);
  float (*f32)(float, float);
};

std::vector<BinaryCase> cases() {
  return {
      {"div trunc", [](const Tensor& a, const Tensor& b) { return div(a, b, "trunc"); },
       [](double a, double b) { return std::trunc(a / b); }, [](float a, float b) { return std::trunc(a / b); }},
      {"div floor", [](const Tensor& a, const Tensor& b) { return a.div(b, "floor"); }, &python_floordiv<double>,
       &python_floordiv<float>},
      {"floor_divide", [](const Tensor& a, const Tensor& b) { return floor_divide(a, b); }, &python_floordiv<double>,
       &python_floordiv<float>},
      {"fmod", [](const Tensor& a, const Tensor& b) { return fmod(a, b); },
       [](double a, double b) { return std::fmod(a, b); }, [](float a, float b) { return std::fmod(a, b); }},
      {"remainder", [](const Tensor& a, const Tensor& b) { return a.remainder(b); }, &python_mod<double>,
       &python_mod<float>},
  };
}

// The reference on the broadcast operands, element by element in their dtype.
Tensor reference(const BinaryCase& c, const Tensor& a, const Tensor& b) {
  const Shape shape = broadcast_shapes(a.sizes(), b.sizes(), "test");
  const Tensor ae = a.expand(shape).contiguous(), be = b.expand(shape).contiguous();
  Tensor out = empty(shape, a.dtype());
  for (std::int64_t i = 0; i < out.numel(); ++i) {
    if (a.dtype() == kFloat64) {
      out.data_ptr<double>()[i] = c.f64(ae.data_ptr<double>()[i], be.data_ptr<double>()[i]);
    } else {
      out.data_ptr<float>()[i] = c.f32(ae.data_ptr<float>()[i], be.data_ptr<float>()[i]);
    }
  }
  return out;
}

// Special pairs (every combination of the special values), then random ones, as (rows, 16) tensors.
std::pair<Tensor, Tensor> operands() {
  const std::vector<double> sp = {0.0, -0.0, 7.0, -7.0, 2.0, -2.0, 0.1, 1.0, kInf, -kInf, kNaN, 1e-320, 1e308, 3.5};
  std::vector<double> a, b;
  for (double p : sp) {
    for (double q : sp) {
      a.push_back(p);
      b.push_back(q);
    }
  }
  manual_seed(17);
  const Tensor ra = randn({300 - static_cast<std::int64_t>(a.size())}, kFloat64) * 20.0;
  const Tensor rb = randn({ra.numel()}, kFloat64) * 3.0;
  for (std::int64_t i = 0; i < ra.numel(); ++i) {
    a.push_back(ra.data_ptr<double>()[i]);
    b.push_back(rb.data_ptr<double>()[i]);
  }
  return {vt::f64(a, {20, 15}), vt::f64(b, {20, 15})};
}

TEST(Division, ValuesAreTheDefinitionsBitForBitOnViewsAndBroadcast) {
  const auto [a64, b64] = operands();
  for (const BinaryCase& c : cases()) {
    for (DType dt : {kFloat32, kFloat64}) {
      SCOPED_TRACE(c.name + (dt == kFloat32 ? " float32" : " float64"));
      const Tensor a = a64.to(dt), b = b64.to(dt);
      EXPECT_TRUE(vt::same_bits_any_nan(c.op(a, b), reference(c, a, b)));
      const Tensor at = a.t(), bt = b.t();  // transposed views
      EXPECT_TRUE(vt::same_bits_any_nan(c.op(at, bt), reference(c, at, bt)));
      const Tensor as = a.slice(0, 1, 20, 3).slice(1, 2, 15, 2), bs = b.slice(0, 0, 20, 3).slice(1, 1, 15, 2);
      EXPECT_TRUE(vt::same_bits_any_nan(c.op(as, bs), reference(c, as, bs)));
      const Tensor row = b.select(0, 3);  // broadcast along the rows, and an expanded operand
      EXPECT_TRUE(vt::same_bits_any_nan(c.op(a, row), reference(c, a, row)));
      const Tensor col = a.slice(1, 4, 5).expand({20, 15});
      EXPECT_TRUE(vt::same_bits_any_nan(c.op(col, b), reference(c, col, b)));
      EXPECT_EQ(c.op(a.slice(0, 0, 0), b.slice(0, 0, 0)).sizes(), (Shape{0, 15}));
    }
  }
}

TEST(Division, NumberOperandsTakeTheTensorsDtype) {
  const Tensor x = tensor({7.0, -7.0, -0.0, 0.3, 1.0}, kFloat32);
  // 0.1 as a float32 (as torch, which casts the Python number to the tensor's dtype).
  const float b = 0.1F;
  const auto ref = [&](float (*f)(float, float)) {
    std::vector<double> v;
    for (std::int64_t i = 0; i < x.numel(); ++i) v.push_back(f(x.data_ptr<float>()[i], b));
    return tensor(v, kFloat64).to(kFloat32);
  };
  EXPECT_TRUE(vt::same_bits_any_nan(fmod(x, 0.1), ref([](float p, float q) { return std::fmod(p, q); })));
  EXPECT_TRUE(vt::same_bits_any_nan(x.fmod(0.1), fmod(x, 0.1)));
  EXPECT_TRUE(vt::same_bits_any_nan(remainder(x, -0.1), x.remainder(tensor({-0.1}, kFloat32))));
  EXPECT_TRUE(vt::same_bits_any_nan(div(x, 0.1, "floor"), ref(&python_floordiv<float>)));
  EXPECT_TRUE(vt::same_bits_any_nan(floor_divide(x, 0.1), ref(&python_floordiv<float>)));
  EXPECT_TRUE(vt::same_bits_any_nan(div(x, 0.1, "trunc"), ref([](float p, float q) { return std::trunc(p / q); })));
  EXPECT_EQ(fmod(x, 0.1).dtype(), kFloat32);
  // Without a rounding mode: true division.
  EXPECT_TRUE(vt::bit_identical(div(x, 0.1, std::nullopt), div(x, 0.1)));
  EXPECT_TRUE(vt::bit_identical(x.div(x, std::nullopt), x.div(x)));
  EXPECT_TRUE(vt::bit_identical(x.div(0.1, "floor"), div(x, 0.1, "floor")));
  EXPECT_TRUE(vt::bit_identical(x.floor_divide(0.1), floor_divide(x, 0.1)));
}

TEST(Division, KnownValues) {
  const Tensor a = vt::f64({7.0, -7.0, 7.0, -7.0, -0.0, 1.0, -5.0, 5.5});
  const Tensor b = vt::f64({2.0, 2.0, -2.0, -2.0, 3.0, 0.1, kInf, 0.0});
  EXPECT_TRUE(
      vt::same_bits_any_nan(fmod(a, b), vt::f64({1.0, -1.0, 1.0, -1.0, -0.0, std::fmod(1.0, 0.1), -5.0, kNaN})));
  EXPECT_TRUE(
      vt::same_bits_any_nan(remainder(a, b), vt::f64({1.0, 1.0, -1.0, -1.0, -0.0, std::fmod(1.0, 0.1), kInf, kNaN})));
  EXPECT_TRUE(vt::same_bits_any_nan(div(a, b, "trunc"), vt::f64({3.0, -3.0, -3.0, 3.0, -0.0, 10.0, -0.0, kInf})));
  // 1 / 0.1 rounds to 10, but 0.1 (a double) is above one tenth: 9 whole times, as Python's 1 // 0.1.
  EXPECT_TRUE(vt::same_bits_any_nan(div(a, b, "floor"), vt::f64({3.0, -4.0, -4.0, 3.0, -0.0, 9.0, -1.0, kInf})));
  // A quotient beyond the double range: the exact remainder (as C's fmod and PyTorch's scalar loop; its vector
  // loop, SLEEF's fmod, gives NaN for the remainder and the floor quotient there).
  const Tensor big = vt::f64({1e308}), tiny = vt::f64({1e-308});
  EXPECT_EQ(fmod(big, tiny).item<double>(), std::fmod(1e308, 1e-308));
  EXPECT_EQ(remainder(big, tiny).item<double>(), std::fmod(1e308, 1e-308));
  EXPECT_EQ(div(big, tiny, "floor").item<double>(), kInf);
  EXPECT_EQ(fmod(vt::f64({5.0}), vt::f64({1e-320})).item<double>(), std::fmod(5.0, 1e-320));
}

TEST(Division, GradientsAreTorchsFormulas) {
  // fmod and remainder: grad for a, −grad · q for b (q the rounded quotient), summed over broadcast dims.
  const Tensor a = vt::leaf({7.0, -7.0, 5.5, -0.5}, {2, 2}), b = vt::leaf({2.0, -3.0});
  Tensor g = vt::f64({1.0, -2.0, 0.5, 3.0}, {2, 2});
  fmod(a, b).backward(g);
  EXPECT_TRUE(vt::bit_identical(a.grad(), g));
  // q = trunc(a / b) = [[3, 2], [2, 0]]: −(1·3 + 0.5·2), −(−2·2 + 3·0).
  EXPECT_TRUE(vt::same_bits_any_nan(b.grad(), vt::f64({-4.0, 4.0})));
  const Tensor a2 = vt::leaf({7.0, -7.0, 5.5, -0.5}, {2, 2}), b2 = vt::leaf({2.0, -3.0});
  remainder(a2, b2).backward(g);
  EXPECT_TRUE(vt::bit_identical(a2.grad(), g));
  // q = floor(a / b) = [[3, 2], [2, 0]] too (−7 / −3 = 2.33, −0.5 / −3 = 0.17).
  EXPECT_TRUE(vt::same_bits_any_nan(b2.grad(), vt::f64({-4.0, 4.0})));
  const Tensor a3 = vt::leaf({-7.0, 7.0}), b3 = vt::leaf({2.0, -2.0});
  remainder(a3, b3).sum().backward();
  EXPECT_TRUE(vt::same_bits_any_nan(b3.grad(), vt::f64({4.0, 4.0})));  // q = −4
  // The rounded quotients: zero gradients of the operands' shapes; the number overloads: a's only.
  const Tensor x = vt::leaf({1.5, -2.5, 3.0}), y = vt::leaf({2.0});
  (div(x, y, "floor") + div(x, y, "trunc") + floor_divide(x, y)).sum().backward();
  EXPECT_TRUE(vt::bit_identical(x.grad(), zeros({3}, kFloat64)));
  EXPECT_TRUE(vt::bit_identical(y.grad(), zeros({1}, kFloat64)));
  const Tensor z = vt::leaf({1.5, -2.5});
  (fmod(z, 2.0) + remainder(z, -2.0)).sum().backward();
  EXPECT_TRUE(vt::bit_identical(z.grad(), vt::f64({2.0, 2.0})));
}

TEST(Division, MixedDtypesPromoteAndGradientsKeepTheirOperandsDtype) {
  const Tensor a32 = tensor({7.5, -7.5, 5.25}, kFloat32).requires_grad_(), b64 = vt::leaf({2.0, -2.0, 0.5});
  for (const BinaryCase& c : cases()) {
    SCOPED_TRACE(c.name);
    const Tensor out = c.op(a32, b64);
    EXPECT_EQ(out.dtype(), kFloat64);
    EXPECT_TRUE(vt::same_bits_any_nan(out, reference(c, a32.detach().to(kFloat64), b64.detach())));
    // A 0-d float64 operand (as a number would be) keeps float32.
    EXPECT_EQ(c.op(a32, vt::f64({2.0}).reshape({})).dtype(), kFloat32);
  }
  // Gradients in each operand's own dtype: a's is the upstream gradient, b's −q (q = trunc or floor of a / b).
  fmod(a32, b64).sum().backward();
  EXPECT_EQ(a32.grad().dtype(), kFloat32);
  EXPECT_TRUE(vt::bit_identical(a32.grad(), ones({3}, kFloat32)));
  EXPECT_EQ(b64.grad().dtype(), kFloat64);
  EXPECT_TRUE(vt::same_bits_any_nan(b64.grad(), vt::f64({-3.0, -3.0, -10.0})));
  const Tensor a2 = tensor({7.5, -7.5, 5.25}, kFloat32).requires_grad_(), b2 = vt::leaf({2.0, -2.0, 0.5});
  remainder(a2, b2).sum().backward();
  EXPECT_TRUE(vt::same_bits_any_nan(b2.grad(), vt::f64({-3.0, -3.0, -10.0})));
  const Tensor a3 = tensor({-7.5}, kFloat32).requires_grad_(), b3 = vt::leaf({2.0});
  remainder(a3, b3).sum().backward();
  EXPECT_TRUE(vt::same_bits_any_nan(b3.grad(), vt::f64({4.0})));  // floor(−3.75) = −4
}

TEST(Division, GradcheckAndGradgradcheckAwayFromTheJumps) {
  // a / b well inside (k, k + 1) for every pair, so that the finite differences do not cross a jump.
  const Tensor a = vt::leaf({7.3, -7.3, 5.5, -2.6, 9.1, 0.4}, {2, 3}), b = vt::leaf({2.0, -3.0, 1.7});
  for (const auto& [name, f] : std::vector<std::pair<std::string, autograd::SingleOutputFn>>{
           {"fmod", [](const std::vector<Tensor>& in) { return fmod(in[0], in[1]); }},
           {"remainder", [](const std::vector<Tensor>& in) { return remainder(in[0], in[1]); }},
           {"fmod number", [](const std::vector<Tensor>& in) { return fmod(in[0], 2.0) * in[1]; }},
           {"remainder number", [](const std::vector<Tensor>& in) { return in[0].remainder(-1.5) * in[1]; }},
           {"div floor", [](const std::vector<Tensor>& in) { return div(in[0], in[1], "floor") * in[0]; }},
           {"div trunc", [](const std::vector<Tensor>& in) { return div(in[0], in[1], "trunc") * in[1]; }},
       }) {
    SCOPED_TRACE(name);
    vt::expect_gradcheck(f, {a, b});
    vt::expect_gradgradcheck(f, {a, b});
  }
}

TEST(Division, ErrorsNameTheOpAndTheValues) {
  const Tensor x = zeros({2, 3}), ints = zeros({2}, kInt64);
  EXPECT_ERROR_EQ(div(x, x, "round"),
                  "div: expected rounding_mode to be one of None, 'trunc', or 'floor' but found 'round'");
  EXPECT_ERROR_EQ(div(x, 1.0, "Floor"),
                  "div: expected rounding_mode to be one of None, 'trunc', or 'floor' but found 'Floor'");
  EXPECT_ERROR_EQ(fmod(ints, ints), "fmod: expected float32 or float64 operands, but got int64 and int64");
  EXPECT_ERROR_EQ(remainder(ints, 2.0), "remainder: expected a float32 or float64 input, but got int64");
  EXPECT_ERROR_EQ(floor_divide(ints, kNaN), "floor_divide: expected a float32 or float64 input, but got int64");
  EXPECT_ERROR_EQ(floor_divide(Tensor(), x), "floor_divide: argument 'self' is an undefined tensor");
  EXPECT_ERROR_EQ(fmod(Tensor(), 2.0), "fmod: argument 'self' is an undefined tensor");
  EXPECT_ERROR_EQ(remainder(x, Tensor()), "remainder: argument 'other' is an undefined tensor");
  EXPECT_ERROR_EQ(div(x, Tensor(), "floor"), "div: argument 'other' is an undefined tensor");
  for (const BinaryCase& c : cases()) {
    SCOPED_TRACE(c.name);
    EXPECT_ERROR_CONTAINS(c.op(x, zeros({4})), "[2, 3]");
    EXPECT_ERROR_CONTAINS(c.op(x, zeros({4})), c.name.substr(0, c.name.find(' ')));
  }
}

}  // namespace
