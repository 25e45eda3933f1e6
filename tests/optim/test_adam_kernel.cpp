// The one-pass Adam/AdamW update (optim/detail/adam_kernel.h) against PyTorch 1.13's
// _single_tensor_adam statement by statement, each statement a pass of the library's ops and
// pointwise.h's updates: the same bits for every option (maximize, weight decay coupled or decoupled,
// amsgrad), float32 and float64, on tensors of several parallel tasks (at two threads) with ±0, ±inf,
// NaN and huge values among them, on views (strided, offset, transposed, expanded) of every operand
// and with a gradient that is the parameter itself; amsgrad switched on in the middle of a run; the
// versions; the errors, and those of the other optimizers' in-place updates (in_place.h). The PyTorch
// fixtures (test_optimizers.cpp) check whole optimizers against torch.optim bit for bit.

#include <voxgrad/voxgrad.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "optim/special_values.h"
#include "test_util.h"
#include "voxgrad/optim/detail/adam_kernel.h"
#include "voxgrad/optim/detail/pointwise.h"
#include "voxgrad/optim/detail/python_arithmetic.h"  // last: the reference's scalar formulas round as Python

namespace {

using namespace voxgrad;
namespace od = voxgrad::optim::detail;
namespace vt = voxgrad::testing;

// The update statement by statement, each a pass of its own.
void reference_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor* mx, const od::AdamHyper& h,
                    double step) {
  const double bias_correction1 = 1.0 - std::pow(h.beta1, step);
  const double bias_correction2 = 1.0 - std::pow(h.beta2, step);
  const double step_size = h.lr / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  Tensor g = h.maximize ? -grad : grad;
  if (h.decoupled) {
    param.mul_(1.0 - h.lr * h.weight_decay);
  } else if (h.weight_decay != 0.0) {
    g = od::add_scaled(g, param, h.weight_decay);
  }
  od::add_scaled_(m.mul_(h.beta1), g, 1.0 - h.beta1);
  od::addcmul_(v.mul_(h.beta2), g, g, 1.0 - h.beta2);
  Tensor denom;
  if (mx != nullptr) {
    mx->copy_(where(mx->ne(*mx), *mx, where(mx->ge(v), *mx, v)));  // torch.maximum: NaN where either is
    denom = (mx->sqrt() / bias_correction2_sqrt).add_(h.eps);
  } else {
    denom = (v.sqrt() / bias_correction2_sqrt).add_(h.eps);
  }
  od::addcdiv_(param, m, denom, -step_size);
}

struct Options {
  bool maximize, decoupled, amsgrad;
  double weight_decay;
};

od::AdamHyper hyper(const Options& o) {
  return {2e-3, 0.85, 0.995, 1e-7, o.weight_decay, o.amsgrad, o.maximize, o.decoupled};
}

// Runs two steps of both updates from the same start on the operands `view` makes of fresh bases, and
// compares every tensor after each.
template <typename View>
void expect_same_updates(const Shape& base_shape, DType dt, const Options& o, View view, const std::string& what) {
  Tensor bases[2][5];
  for (int r = 0; r < 2; ++r) {
    for (int t = 0; t < 5; ++t) bases[r][t] = vt::special_values(base_shape, dt, 40 + static_cast<std::uint64_t>(t), t);
    bases[r][3] = bases[r][3].abs();  // second moments are not negative
    bases[r][4] = bases[r][4].abs();
  }
  Tensor ops[2][5];
  for (int r = 0; r < 2; ++r) {
    for (int t = 0; t < 5; ++t) ops[r][t] = view(bases[r][t], t);
  }
  for (int step = 1; step <= 2; ++step) {
    const od::AdamHyper h = hyper(o);
    od::adam_step_(ops[0][0], ops[0][1], ops[0][2], ops[0][3], o.amsgrad ? &ops[0][4] : nullptr, h, step);
    reference_step(ops[1][0], ops[1][1], ops[1][2], ops[1][3], o.amsgrad ? &ops[1][4] : nullptr, h, step);
    const char* names[5] = {"param", "grad", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    for (int t = 0; t < 5; ++t) {
      EXPECT_TRUE(vt::same_bits_any_nan(bases[0][t], bases[1][t]))
          << what << ", step " << step << ": " << names[t] << " (maximize " << o.maximize << ", decoupled "
          << o.decoupled << ", amsgrad " << o.amsgrad << ", weight decay " << o.weight_decay << ", " << dtype_name(dt)
          << ")";
    }
  }
}

TEST(AdamKernel, OnePassGivesTheStatementByStatementBitsForEveryOption) {
  const Options options[] = {{false, false, false, 0.0}, {true, false, false, 0.0}, {false, false, false, 0.05},
                             {false, true, false, 0.05}, {false, false, true, 0.0}, {true, true, true, 0.1},
                             {false, false, true, 0.05}};
  for (DType dt : {kFloat32, kFloat64}) {
    for (const Options& o : options) {
      // 70 001 elements: several parallel tasks and a partial last vector.
      expect_same_updates(
          {70001}, dt, o, [](const Tensor& b, int) { return b; }, "contiguous");
    }
  }
}

TEST(AdamKernel, ViewsOfEveryOperandGiveTheSameBits) {
  const Options o{true, false, true, 0.05};
  for (DType dt : {kFloat32, kFloat64}) {
    for (int strided = 0; strided < 5; ++strided) {
      // One operand at a time as an offset stride-2 slice, the others contiguous.
      expect_same_updates(
          {2 * 9001 + 1}, dt, o,
          [strided](const Tensor& b, int t) {
            return t == strided ? b.slice(0, 1, b.size(0), 2) : b.slice(0, 0, 9001);
          },
          "operand " + std::to_string(strided) + " strided");
    }
    // Every operand transposed.
    expect_same_updates(
        {150, 170}, dt, o, [](const Tensor& b, int) { return b.t(); }, "transposed");
  }
  // An expanded gradient (one row broadcast, as a sum's gradient is).
  Tensor p1 = randn({40, 30}), m1 = zeros({40, 30}), v1 = zeros({40, 30});
  Tensor p2 = p1.clone(), m2 = m1.clone(), v2 = v1.clone();
  const Tensor g = randn({1, 30}).expand({40, 30});
  const od::AdamHyper h = hyper({false, false, false, 0.01});
  od::adam_step_(p1, g, m1, v1, nullptr, h, 1.0);
  reference_step(p2, g, m2, v2, nullptr, h, 1.0);
  EXPECT_TRUE(vt::same_bits_any_nan(p1, p2));
  EXPECT_TRUE(vt::same_bits_any_nan(m1, m2));
  EXPECT_TRUE(vt::same_bits_any_nan(v1, v2));
}

// A gradient that is the parameter itself, or a view overlapping it: the statements, run here on the
// same aliasing, read it after AdamW's decay of the parameter unless maximize negated it into a new
// tensor first; and the one pass must not read what it already wrote.
TEST(AdamKernel, AGradientThatIsTheParameterGivesTheStatementByStatementBits) {
  const Options options[] = {
      {false, true, false, 0.1}, {true, true, false, 0.1}, {true, false, true, 0.05}, {false, false, false, 0.05}};
  for (const Options& o : options) {
    for (bool view : {false, true}) {
      manual_seed(3);
      const std::int64_t n = 50001, half = 25000;
      Tensor p[2] = {randn({n}), Tensor()}, m[2] = {randn({n}), Tensor()}, v[2] = {randn({n}).abs(), Tensor()};
      Tensor x[2] = {zeros({n}), Tensor()};
      p[1] = p[0].clone();
      m[1] = m[0].clone();
      v[1] = v[0].clone();
      x[1] = x[0].clone();
      for (int r = 0; r < 2; ++r) {
        // The view: the parameter's elements 1 … half as the gradient of its elements 0 … half − 1.
        Tensor q = view ? p[r].slice(0, 0, half) : p[r];
        Tensor mq = view ? m[r].slice(0, 0, half) : m[r], vq = view ? v[r].slice(0, 0, half) : v[r];
        Tensor xq = view ? x[r].slice(0, 0, half) : x[r];
        const Tensor g = view ? p[r].slice(0, 1, half + 1) : p[r];
        if (r == 0) {
          od::adam_step_(q, g, mq, vq, o.amsgrad ? &xq : nullptr, hyper(o), 1.0);
        } else {
          reference_step(q, g, mq, vq, o.amsgrad ? &xq : nullptr, hyper(o), 1.0);
        }
      }
      const std::string what = std::string(view ? "a view" : "the parameter") + ", maximize " +
                               std::to_string(o.maximize) + ", decoupled " + std::to_string(o.decoupled);
      EXPECT_TRUE(vt::same_bits_any_nan(p[0], p[1])) << what;
      EXPECT_TRUE(vt::same_bits_any_nan(m[0], m[1])) << what;
      EXPECT_TRUE(vt::same_bits_any_nan(v[0], v[1])) << what;
    }
  }
}

// amsgrad switched on after two steps: its running maximum starts at zeros then, as PyTorch's state
// gains the entry then.
TEST(AdamKernel, AmsgradSwitchedOnInTheMiddleOfARunStartsItsMaximumAtZero) {
  manual_seed(5);
  const Tensor w0 = randn({1000}), grads = randn({5, 1000});
  Tensor w = w0.clone().requires_grad_();
  optim::Adam opt({w}, optim::AdamOptions(1e-2));
  Tensor p = w0.clone(), m = zeros({1000}), v = zeros({1000}), mx = zeros({1000});
  for (int step = 1; step <= 5; ++step) {
    const bool amsgrad = step >= 3;
    static_cast<optim::AdamOptions&>(opt.param_groups()[0].options()).amsgrad(amsgrad);
    w.set_grad(grads.select(0, step - 1).clone());
    opt.step();
    const od::AdamHyper h{1e-2, 0.9, 0.999, 1e-8, 0.0, amsgrad, false, false};
    reference_step(p, grads.select(0, step - 1), m, v, amsgrad ? &mx : nullptr, h, step);
    EXPECT_TRUE(vt::same_bits_any_nan(w.detach(), p)) << "step " << step;
  }
  EXPECT_TRUE(vt::same_bits_any_nan(opt.state(w)[3].second, mx));
}

TEST(AdamKernel, InPlaceOperandsGetTheirVersionsBumpedAndViewsWrittenBack) {
  for (bool views : {false, true}) {
    Tensor pb = randn({20}), mb = zeros({20}), vb = zeros({20}), xb = zeros({20});
    const auto op = [views](Tensor& b) { return views ? b.slice(0, 0, 20, 2) : b.slice(0, 0, 10); };
    Tensor p = op(pb), m = op(mb), v = op(vb), mx = op(xb);
    const Tensor p0 = p.clone(), g = randn({10});
    const std::uint32_t before[5] = {p.version(), m.version(), v.version(), mx.version(), g.version()};
    od::adam_step_(p, g, m, v, &mx, hyper({false, false, true, 0.0}), 1.0);
    EXPECT_GT(p.version(), before[0]);
    EXPECT_GT(m.version(), before[1]);
    EXPECT_GT(v.version(), before[2]);
    EXPECT_GT(mx.version(), before[3]);
    EXPECT_EQ(g.version(), before[4]);
    // The first step moves every element by about lr (the update is lr·m̂/(√v̂ + eps), |m̂| = √v̂).
    EXPECT_LT((p - p0).abs().max().item<double>(), 2.1e-3);
    EXPECT_GT((p - p0).abs().min().item<double>(), 1.9e-3);
    EXPECT_GT(mb.abs().sum().item<double>(), 0.0);
  }
}

TEST(AdamKernel, ErrorsNameTheOptimizerTheOperandAndTheShapesAndChangeNothing) {
  Tensor p = zeros({2, 3}), m = zeros({2, 3}), v = zeros({2, 3});
  od::AdamHyper h = hyper({false, false, false, 0.0});
  EXPECT_ERROR_EQ(od::adam_step_(p, zeros({3, 2}), m, v, nullptr, h, 1.0),
                  "Adam: expected grad of shape [2, 3] and dtype float32 (as the parameter), but got shape [3, 2] and "
                  "dtype float32");
  h.decoupled = true;
  Tensor v64 = zeros({2, 3}, kFloat64);
  EXPECT_ERROR_EQ(od::adam_step_(p, zeros({2, 3}), m, v64, nullptr, h, 1.0),
                  "AdamW: expected exp_avg_sq of shape [2, 3] and dtype float32 (as the parameter), but got shape [2, "
                  "3] and dtype float64");
  // Through the optimizer: a parameter given other data (set_data) no longer matches its moments; the
  // step throws and leaves the parameter and the step count alone.
  Tensor w = ones({4}).requires_grad_();
  optim::Adam opt({w}, optim::AdamOptions(0.1));
  w.set_grad(ones({4}));
  opt.step();
  w.set_data(ones({5}));
  w.set_grad(ones({5}));
  EXPECT_ERROR_EQ(opt.step(),
                  "Adam: expected exp_avg of shape [5] and dtype float32 (as the parameter), but got "
                  "shape [4] and dtype float32");
  EXPECT_TRUE(vt::same_bits_any_nan(w.detach(), ones({5})));
  EXPECT_EQ(opt.state(w)[0].second.item<double>(), 1.0);
}

TEST(InPlaceUpdates, ErrorsNameTheOpAndTheOperand) {
  Tensor self = zeros({2, 3});
  EXPECT_ERROR_EQ(od::addcmul_(self, zeros({2, 3}), zeros({3}), 0.5),
                  "addcmul_: expected tensor2 of shape [2, 3] and dtype float32 (as self), but got shape [3] and "
                  "dtype float32");
  EXPECT_ERROR_EQ(od::add_scaled_(self, zeros({2, 3}, kFloat64), 1.0),
                  "add_: expected other of shape [2, 3] and dtype float32 (as self), but got shape [2, 3] and dtype "
                  "float64");
}

}  // namespace
