// The one-pass Adam/AdamW update (optim/detail/adam_kernel.h) against the statement-by-statement
// update it replaces, written here with the library's ops and pointwise.h's updates (as PyTorch 1.13's
// _single_tensor_adam): the same bits for every option (maximize, weight decay coupled or decoupled,
// amsgrad), float32 and float64, on tensors long enough for several parallel tasks, with ±0, ±inf,
// NaN and huge values among them, and on views (strided, offset, transposed, expanded) of every
// operand; plus its error messages. The PyTorch fixtures (test_optimizers.cpp) check whole
// optimizers against torch.optim bit for bit.

#include <voxgrad/voxgrad.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "test_util.h"
#include "voxgrad/optim/detail/adam_kernel.h"
#include "voxgrad/optim/detail/pointwise.h"

namespace {

using namespace voxgrad;
namespace od = voxgrad::optim::detail;

// The update statement by statement, each a pass of its own.
void reference_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor* mx, const od::AdamStepScalars& k) {
  Tensor g = k.maximize ? -grad : grad;
  if (k.decoupled) {
    param.mul_(k.param_scale);
  } else if (k.weight_decay != 0.0) {
    g = od::add_scaled(g, param, k.weight_decay);
  }
  od::add_scaled_(m.mul_(k.beta1), g, 1.0 - k.beta1);
  od::addcmul_(v.mul_(k.beta2), g, g, 1.0 - k.beta2);
  Tensor denom;
  if (mx != nullptr) {
    mx->copy_(where(mx->ge(v), *mx, v));
    denom = (mx->sqrt() / k.bias_correction2_sqrt).add_(k.eps);
  } else {
    denom = (v.sqrt() / k.bias_correction2_sqrt).add_(k.eps);
  }
  od::addcdiv_(param, m, denom, -k.step_size);
}

// n values: normal ones and, at every 13th index (shifted by `shift`), ±0, ±inf, NaN, huge or tiny.
Tensor awkward(const Shape& shape, DType dt, std::uint64_t seed, int shift) {
  manual_seed(seed);
  Tensor t = randn(shape, dt).contiguous();
  const double edges[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e30, -1e30, 1e-30};
  const std::int64_t n = t.numel();
  for (std::int64_t i = shift; i < n; i += 13) {
    const double e = edges[static_cast<std::size_t>(i / 13) % 8];
    if (dt == kFloat32) {
      t.data_ptr<float>()[i] = static_cast<float>(e);
    } else {
      t.data_ptr<double>()[i] = e;
    }
  }
  return t;
}

template <typename T>
::testing::AssertionResult same_bits_or_both_nan(const Tensor& got, const Tensor& want) {
  const Tensor g = got.contiguous(), w = want.contiguous();
  if (g.sizes() != w.sizes()) return ::testing::AssertionFailure() << "shapes differ";
  for (std::int64_t i = 0; i < g.numel(); ++i) {
    const T a = g.data_ptr<T>()[i], b = w.data_ptr<T>()[i];
    if (std::isnan(a) && std::isnan(b)) continue;
    if (std::memcmp(&a, &b, sizeof(T)) != 0) {
      return ::testing::AssertionFailure() << "element " << i << ": " << a << " against " << b;
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult same_values(const Tensor& got, const Tensor& want) {
  return got.dtype() == kFloat32 ? same_bits_or_both_nan<float>(got, want) : same_bits_or_both_nan<double>(got, want);
}

struct Options {
  bool maximize, decoupled, amsgrad;
  double weight_decay;
};

od::AdamStepScalars scalars(const Options& o, int step) {
  od::AdamStepScalars k;
  k.maximize = o.maximize;
  k.decoupled = o.decoupled;
  k.weight_decay = o.weight_decay;
  k.param_scale = 1.0 - 1e-3 * o.weight_decay;
  k.beta1 = 0.85;
  k.beta2 = 0.995;
  k.bias_correction2_sqrt = std::sqrt(1.0 - std::pow(k.beta2, step));
  k.eps = 1e-7;
  k.step_size = 2e-3 / (1.0 - std::pow(k.beta1, step));
  return k;
}

// Runs two steps of both updates from the same start on the operands `view` makes of fresh bases, and
// compares every tensor after each.
template <typename View>
void expect_same_updates(const Shape& base_shape, DType dt, const Options& o, View view, const std::string& what) {
  Tensor bases[2][5];
  for (int r = 0; r < 2; ++r) {
    for (int t = 0; t < 5; ++t) bases[r][t] = awkward(base_shape, dt, 40 + static_cast<std::uint64_t>(t), t);
    bases[r][3] = bases[r][3].abs();  // second moments are not negative
    bases[r][4] = bases[r][4].abs();
  }
  Tensor ops[2][5];
  for (int r = 0; r < 2; ++r) {
    for (int t = 0; t < 5; ++t) ops[r][t] = view(bases[r][t], t);
  }
  for (int step = 1; step <= 2; ++step) {
    const od::AdamStepScalars k = scalars(o, step);
    od::adam_step_(ops[0][0], ops[0][1], ops[0][2], ops[0][3], o.amsgrad ? &ops[0][4] : nullptr, k);
    reference_step(ops[1][0], ops[1][1], ops[1][2], ops[1][3], o.amsgrad ? &ops[1][4] : nullptr, k);
    const char* names[5] = {"param", "grad", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    for (int t = 0; t < 5; ++t) {
      EXPECT_TRUE(same_values(bases[0][t], bases[1][t]))
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
  const od::AdamStepScalars k = scalars({false, false, false, 0.01}, 1);
  od::adam_step_(p1, g, m1, v1, nullptr, k);
  reference_step(p2, g, m2, v2, nullptr, k);
  EXPECT_TRUE(same_values(p1, p2));
  EXPECT_TRUE(same_values(m1, m2));
  EXPECT_TRUE(same_values(v1, v2));
}

TEST(AdamKernel, InPlaceOperandsGetTheirVersionsBumped) {
  Tensor p = randn({10}), m = zeros({10}), v = zeros({10}), mx = zeros({10});
  const Tensor g = randn({10});
  const std::uint32_t before[4] = {p.version(), m.version(), v.version(), mx.version()};
  od::adam_step_(p, g, m, v, &mx, scalars({false, false, true, 0.0}, 1));
  EXPECT_GT(p.version(), before[0]);
  EXPECT_GT(m.version(), before[1]);
  EXPECT_GT(v.version(), before[2]);
  EXPECT_GT(mx.version(), before[3]);
}

TEST(AdamKernel, ErrorsNameTheOptimizerTheOperandAndTheShapes) {
  Tensor p = zeros({2, 3}), m = zeros({2, 3}), v = zeros({2, 3});
  od::AdamStepScalars k;
  EXPECT_ERROR_EQ(od::adam_step_(p, zeros({3, 2}), m, v, nullptr, k),
                  "Adam: expected grad of the parameter's shape [2, 3] and dtype float32, but got shape [3, 2] and "
                  "dtype float32");
  k.decoupled = true;
  Tensor v64 = zeros({2, 3}, kFloat64);
  EXPECT_ERROR_EQ(od::adam_step_(p, zeros({2, 3}), m, v64, nullptr, k),
                  "AdamW: expected exp_avg_sq of the parameter's shape [2, 3] and dtype float32, but got shape [2, 3] "
                  "and dtype float64");
}

}  // namespace
