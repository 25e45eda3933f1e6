// Conv1d/2d/3d and ConvTranspose1d/2d/3d modules and the nn::functional conv API on top of the 3-D
// core ops: parameters, initialisation, printing, shapes, padding modes, 'same'/'valid',
// output_size, errors and gradients.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "test_util.h"

namespace {

using namespace voxgrad;
namespace F = voxgrad::nn::functional;
using voxgrad::testing::expect_close;
using voxgrad::testing::values;

std::string repr(const nn::Module& m) {
  std::ostringstream s;
  s << m;
  return s.str();
}

std::vector<std::string> param_names(const nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& [name, t] : m.named_parameters()) out.push_back(name);
  return out;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : values(t)) m = std::max(m, std::abs(v));
  return m;
}

// Index into a padded dim of size n, as each padding mode defines it (-1: a zero).
std::int64_t source_index(std::int64_t i, std::int64_t n, PaddingMode mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PaddingMode::Zeros: return -1;
    case PaddingMode::Reflect: return i < 0 ? -i : 2 * (n - 1) - i;
    case PaddingMode::Replicate: return std::clamp<std::int64_t>(i, 0, n - 1);
    case PaddingMode::Circular: return ((i % n) + n) % n;
  }
  return -1;
}

// A naive pad of a 5-D tensor: pads = {d_before, d_after, h_before, h_after, w_before, w_after}.
Tensor naive_pad5(const Tensor& x, const std::array<std::int64_t, 6>& pads, PaddingMode mode) {
  const std::vector<double> v = values(x);
  const Shape& s = x.sizes();
  const Shape out_shape{s[0], s[1], s[2] + pads[0] + pads[1], s[3] + pads[2] + pads[3], s[4] + pads[4] + pads[5]};
  std::vector<double> out;
  for (std::int64_t n = 0; n < s[0]; ++n)
    for (std::int64_t c = 0; c < s[1]; ++c)
      for (std::int64_t d = 0; d < out_shape[2]; ++d)
        for (std::int64_t h = 0; h < out_shape[3]; ++h)
          for (std::int64_t w = 0; w < out_shape[4]; ++w) {
            const std::int64_t sd = source_index(d - pads[0], s[2], mode);
            const std::int64_t sh = source_index(h - pads[2], s[3], mode);
            const std::int64_t sw = source_index(w - pads[4], s[4], mode);
            out.push_back(sd < 0 || sh < 0 || sw < 0
                              ? 0.0
                              : v[static_cast<std::size_t>((((n * s[1] + c) * s[2] + sd) * s[3] + sh) * s[4] + sw)]);
          }
  return from_blob(out.data(), out_shape).to(x.dtype());
}

// Inserts size-1 dims at `at` until the tensor has `rank` dims (lifts 1-d/2-d data to 3-D).
Tensor lift(Tensor t, std::int64_t at, std::int64_t rank) {
  while (t.dim() < rank) t = t.unsqueeze(at);
  return t;
}

Tensor rand64(IntArrayRef sizes) { return randn(sizes, kFloat64); }

// --- parameters and initialisation ---------------------------------------------------------------

TEST(ConvModules, ParameterNamesAndShapesFollowEachLayout) {
  const std::vector<std::string> wb{"weight", "bias"};
  nn::Conv1dImpl c1(nn::Conv1dOptions(4, 6, 3).groups(2));
  nn::Conv2dImpl c2(nn::Conv2dOptions(4, 6, {3, 5}).groups(2));
  nn::Conv3dImpl c3(nn::Conv3dOptions(4, 6, {3, 5, 2}).groups(2));
  nn::ConvTranspose1dImpl t1(nn::ConvTranspose1dOptions(4, 6, 3).groups(2));
  nn::ConvTranspose2dImpl t2(nn::ConvTranspose2dOptions(4, 6, {3, 5}).groups(2));
  nn::ConvTranspose3dImpl t3(nn::ConvTranspose3dOptions(4, 6, {3, 5, 2}).groups(2));
  for (const nn::Module* m : std::vector<const nn::Module*>{&c1, &c2, &c3, &t1, &t2, &t3}) {
    EXPECT_EQ(param_names(*m), wb) << m->name();
  }
  // Conv: (out, in/groups, k...); ConvTranspose: (in, out/groups, k...); bias (out).
  EXPECT_EQ(c1.weight.sizes(), Shape({6, 2, 3}));
  EXPECT_EQ(c2.weight.sizes(), Shape({6, 2, 3, 5}));
  EXPECT_EQ(c3.weight.sizes(), Shape({6, 2, 3, 5, 2}));
  EXPECT_EQ(t1.weight.sizes(), Shape({4, 3, 3}));
  EXPECT_EQ(t2.weight.sizes(), Shape({4, 3, 3, 5}));
  EXPECT_EQ(t3.weight.sizes(), Shape({4, 3, 3, 5, 2}));
  for (const Tensor& b : {c1.bias, c2.bias, c3.bias, t1.bias, t2.bias, t3.bias}) EXPECT_EQ(b.sizes(), Shape({6}));
  EXPECT_TRUE(c3.named_parameters()[0].second.is_same(c3.weight));
  EXPECT_TRUE(t3.named_parameters()[1].second.is_same(t3.bias));
  EXPECT_TRUE(c3.weight.requires_grad() && c3.bias.requires_grad());
  EXPECT_EQ(c3.weight.dtype(), kFloat32);
}

TEST(ConvModules, BiasFalseRegistersNoBias) {
  nn::Conv3dImpl c(nn::Conv3dOptions(2, 3, 3).bias(false));
  nn::ConvTranspose1dImpl t(nn::ConvTranspose1dOptions(2, 3, 3).bias(false));
  EXPECT_EQ(param_names(c), std::vector<std::string>({"weight"}));
  EXPECT_EQ(param_names(t), std::vector<std::string>({"weight"}));
  EXPECT_FALSE(c.bias.defined());
  EXPECT_FALSE(t.bias.defined());
  EXPECT_EQ(c.forward(randn({1, 2, 3, 3, 3})).sizes(), Shape({1, 3, 1, 1, 1}));
}

// kaiming_uniform_(a = √5): bound = gain·√(3 / fan_in) with gain = √(2 / (1 + 5)), i.e. 1/√fan_in;
// the bias uses the same bound. fan_in = weight.size(1)·prod(kernel) for both layouts.
void expect_init_bound(const Tensor& weight, const Tensor& bias, double fan_in) {
  const double bound = 1.0 / std::sqrt(fan_in);
  const double slack = 1 + 1e-6;  // the samples are float32
  EXPECT_LE(max_abs(weight), bound * slack);
  EXPECT_GT(max_abs(weight), 0.9 * bound);  // the whole range is used, so the fan is not too small
  EXPECT_LE(max_abs(bias), bound * slack);
  EXPECT_GT(max_abs(bias), 0.0);
  // Centred: the mean of n uniforms has standard deviation bound/√(3n).
  const double mean = weight.to(kFloat64).mean().item<double>();
  EXPECT_LT(std::abs(mean), 5.0 * bound / std::sqrt(3.0 * static_cast<double>(weight.numel())));
}

TEST(ConvModules, InitIsKaimingUniformWithPyTorchFanIn) {
  manual_seed(0);
  nn::Conv1dImpl c1(nn::Conv1dOptions(8, 16, 5));
  expect_init_bound(c1.weight, c1.bias, 8 * 5);
  nn::Conv2dImpl c2(nn::Conv2dOptions(8, 16, {3, 2}).groups(4));
  expect_init_bound(c2.weight, c2.bias, 2 * 3 * 2);
  nn::Conv3dImpl c3(nn::Conv3dOptions(16, 32, 3));
  expect_init_bound(c3.weight, c3.bias, 16 * 27);
  // Transposed layout (in, out/groups, k...): fan_in is out/groups · k, not in/groups · k.
  nn::ConvTranspose1dImpl t1(nn::ConvTranspose1dOptions(16, 8, 5));
  expect_init_bound(t1.weight, t1.bias, 8 * 5);
  nn::ConvTranspose2dImpl t2(nn::ConvTranspose2dOptions(8, 16, {3, 3}).groups(2));
  expect_init_bound(t2.weight, t2.bias, 8 * 9);
  nn::ConvTranspose3dImpl t3(nn::ConvTranspose3dOptions(8, 4, 3).groups(2));
  expect_init_bound(t3.weight, t3.bias, 2 * 27);
}

TEST(ConvModules, BiasBoundIsOneOverSqrtFanIn) {
  // Many output channels, so the bias samples cover its range.
  manual_seed(1);
  nn::Conv2dImpl c(nn::Conv2dOptions(3, 600, {1, 2}));  // fan_in = 3·2
  EXPECT_LE(max_abs(c.bias), 1.0 / std::sqrt(6.0) * (1 + 1e-6));
  EXPECT_GT(max_abs(c.bias), 0.95 / std::sqrt(6.0));
  nn::ConvTranspose1dImpl t(nn::ConvTranspose1dOptions(2, 600, 3).groups(2));  // fan_in = 300·3
  EXPECT_LE(max_abs(t.bias), 1.0 / std::sqrt(900.0) * (1 + 1e-6));
  EXPECT_GT(max_abs(t.bias), 0.95 / std::sqrt(900.0));
}

TEST(ConvModules, InitIsReproducibleFromTheSeed) {
  manual_seed(42);
  nn::Conv3dImpl a(nn::Conv3dOptions(2, 3, 3));
  manual_seed(42);
  nn::Conv3dImpl b(nn::Conv3dOptions(2, 3, 3));
  nn::Conv3dImpl c(nn::Conv3dOptions(2, 3, 3));
  EXPECT_EQ(values(a.weight), values(b.weight));
  EXPECT_EQ(values(a.bias), values(b.bias));
  EXPECT_NE(values(b.weight), values(c.weight));
  // reset_parameters draws again, in place.
  const Tensor handle = c.weight;
  c.reset_parameters();
  EXPECT_TRUE(handle.is_same(c.weight));
}

// --- printing -------------------------------------------------------------------------------------

TEST(ConvModules, PrintsExactlyLikePyTorch) {
  // Each string is print() of the same module in PyTorch 1.13.
  EXPECT_EQ(repr(nn::Conv3dImpl(nn::Conv3dOptions(16, 33, {3, 5, 2}).stride({2, 1, 1}).padding({4, 2, 0}))),
            "Conv3d(16, 33, kernel_size=(3, 5, 2), stride=(2, 1, 1), padding=(4, 2, 0))");
  EXPECT_EQ(repr(nn::ConvTranspose3dImpl(nn::ConvTranspose3dOptions(16, 33, 3).stride(2))),
            "ConvTranspose3d(16, 33, kernel_size=(3, 3, 3), stride=(2, 2, 2))");
  EXPECT_EQ(repr(nn::Conv1dImpl(nn::Conv1dOptions(4, 8, 3).bias(false))),
            "Conv1d(4, 8, kernel_size=(3,), stride=(1,), bias=False)");
  EXPECT_EQ(repr(nn::Conv2dImpl(nn::Conv2dOptions(4, 8, 3).padding(kSame).padding_mode(kReflect))),
            "Conv2d(4, 8, kernel_size=(3, 3), stride=(1, 1), padding=same, padding_mode=reflect)");
  EXPECT_EQ(repr(nn::Conv3dImpl(nn::Conv3dOptions(4, 8, 3).padding(kValid))),
            "Conv3d(4, 8, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=valid)");
  EXPECT_EQ(
      repr(nn::ConvTranspose2dImpl(
          nn::ConvTranspose2dOptions(4, 8, 3).stride(2).padding(1).output_padding(1).groups(2).bias(false).dilation(
              2))),
      "ConvTranspose2d(4, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(2, 2), "
      "output_padding=(1, 1), groups=2, bias=False)");
  EXPECT_EQ(repr(nn::Conv3dImpl(nn::Conv3dOptions(4, 8, 3).dilation(2).groups(4).padding_mode(kCircular).padding(1))),
            "Conv3d(4, 8, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1), dilation=(2, 2, 2), groups=4, "
            "padding_mode=circular)");
  EXPECT_EQ(repr(nn::ConvTranspose1dImpl(nn::ConvTranspose1dOptions(4, 8, 3))),
            "ConvTranspose1d(4, 8, kernel_size=(3,), stride=(1,))");
  EXPECT_EQ(repr(nn::Conv2dImpl(nn::Conv2dOptions(1, 2, {1, 3}).padding({0, 1}).padding_mode(kReplicate))),
            "Conv2d(1, 2, kernel_size=(1, 3), stride=(1, 1), padding=(0, 1), padding_mode=replicate)");
}

// --- forward shapes -------------------------------------------------------------------------------

TEST(ConvModules, ForwardShapesBatchedAndUnbatched) {
  manual_seed(1);
  auto conv =
      std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(16, 33, {3, 5, 2}).stride({2, 1, 1}).padding({4, 2, 0}));
  const Tensor x3 = randn({2, 16, 5, 6, 7});
  const Tensor y3 = conv->forward(x3);
  EXPECT_EQ(y3.sizes(), Shape({2, 33, 6, 6, 6}));
  expect_close(conv->forward(x3.select(0, 1)), y3.select(0, 1), 1e-5);

  auto up = std::make_shared<nn::ConvTranspose3dImpl>(nn::ConvTranspose3dOptions(16, 33, 3).stride(2));
  const Tensor h = randn({2, 16, 3, 4, 5});
  EXPECT_EQ(up->forward(h).sizes(), Shape({2, 33, 7, 9, 11}));
  expect_close(up->forward(h.select(0, 0)), up->forward(h).select(0, 0), 1e-5);

  nn::Conv1dImpl c1(nn::Conv1dOptions(4, 8, 3).stride(2).padding(1));
  EXPECT_EQ(c1.forward(randn({2, 4, 9})).sizes(), Shape({2, 8, 5}));
  EXPECT_EQ(c1.forward(randn({4, 9})).sizes(), Shape({8, 5}));
  nn::Conv2dImpl c2(nn::Conv2dOptions(4, 8, {3, 2}).stride({1, 2}));
  EXPECT_EQ(c2.forward(randn({2, 4, 6, 7})).sizes(), Shape({2, 8, 4, 3}));
  EXPECT_EQ(c2.forward(randn({4, 6, 7})).sizes(), Shape({8, 4, 3}));
  nn::ConvTranspose1dImpl t1(nn::ConvTranspose1dOptions(4, 8, 3).stride(2).output_padding(1));
  EXPECT_EQ(t1.forward(randn({2, 4, 5})).sizes(), Shape({2, 8, 12}));
  EXPECT_EQ(t1.forward(randn({4, 5})).sizes(), Shape({8, 12}));
  nn::ConvTranspose2dImpl t2(nn::ConvTranspose2dOptions(4, 8, {3, 2}).stride({2, 1}).padding({1, 0}));
  EXPECT_EQ(t2.forward(randn({3, 4, 5, 6})).sizes(), Shape({3, 8, 9, 7}));
  EXPECT_EQ(t2.forward(randn({4, 5, 6})).sizes(), Shape({8, 9, 7}));
  // Zero batch.
  EXPECT_EQ(c2.forward(randn({0, 4, 6, 7})).sizes(), Shape({0, 8, 4, 3}));
}

// --- 1-d and 2-d are the 3-D ops on unsqueezed data ------------------------------------------------

TEST(ConvFunctional, Conv1dAndConv2dEqualConv3dOnUnsqueezedData) {
  manual_seed(2);
  const Tensor x1 = rand64({2, 4, 11}), w1 = rand64({6, 2, 3}), b = rand64({6});
  const Tensor y1 = F::conv1d(x1, w1, F::Conv1dFuncOptions().bias(b).stride(2).padding(1).dilation(2).groups(2));
  const Tensor r1 = conv3d(lift(x1, 2, 5), lift(w1, 2, 5), b, {1, 1, 2}, {0, 0, 1}, {1, 1, 2}, 2);
  expect_close(y1, r1.squeeze(2).squeeze(2));
  expect_close(
      F::conv1d(x1.select(0, 1), w1, F::Conv1dFuncOptions().bias(b).stride(2).padding(1).dilation(2).groups(2)),
      y1.select(0, 1));

  const Tensor x2 = rand64({2, 4, 7, 8}), w2 = rand64({6, 4, 3, 2});
  const Tensor y2 = F::conv2d(x2, w2, F::Conv2dFuncOptions().bias(b).stride({2, 1}).padding({1, 2}).dilation({1, 3}));
  const Tensor r2 = conv3d(lift(x2, 2, 5), lift(w2, 2, 5), b, {1, 2, 1}, {0, 1, 2}, {1, 1, 3}, 1);
  expect_close(y2, r2.squeeze(2));
  expect_close(
      F::conv2d(x2.select(0, 0), w2, F::Conv2dFuncOptions().bias(b).stride({2, 1}).padding({1, 2}).dilation({1, 3})),
      y2.select(0, 0));
}

TEST(ConvFunctional, ConvTranspose1dAndConvTranspose2dEqualConvTranspose3dOnUnsqueezedData) {
  manual_seed(3);
  const Tensor b = rand64({6});
  const Tensor x1 = rand64({2, 4, 5}), w1 = rand64({4, 3, 3});
  const Tensor y1 = F::conv_transpose1d(
      x1, w1, F::ConvTranspose1dFuncOptions().bias(b).stride(3).padding(1).output_padding(2).groups(2).dilation(2));
  const Tensor r1 = conv_transpose3d(lift(x1, 2, 5), lift(w1, 2, 5), b, {1, 1, 3}, {0, 0, 1}, {0, 0, 2}, 2, {1, 1, 2});
  expect_close(y1, r1.squeeze(2).squeeze(2));
  EXPECT_EQ(y1.sizes(), Shape({2, 6, 17}));  // (5 − 1)·3 − 2 + 2·2 + 2 + 1

  const Tensor x2 = rand64({4, 5, 6}), w2 = rand64({4, 6, 2, 3});  // unbatched
  const Tensor y2 = F::conv_transpose2d(x2, w2, F::ConvTranspose2dFuncOptions().bias(b).stride({2, 1}).padding({0, 1}));
  const Tensor r2 = conv_transpose3d(lift(x2, 1, 4), lift(w2, 2, 5), b, {1, 2, 1}, {0, 0, 1}, 0, 1, 1);
  expect_close(y2, r2.squeeze(1));
  EXPECT_EQ(y2.sizes(), Shape({6, 10, 6}));
}

TEST(ConvModules, ModulesForwardThroughTheFunctionalOps) {
  manual_seed(4);
  nn::Conv2dImpl c(nn::Conv2dOptions(4, 6, {3, 2}).stride(2).padding({1, 0}).dilation({1, 2}).groups(2));
  const Tensor x = randn({2, 4, 9, 8});
  expect_close(
      c.forward(x),
      F::conv2d(x, c.weight, F::Conv2dFuncOptions().bias(c.bias).stride(2).padding({1, 0}).dilation({1, 2}).groups(2)));
  nn::ConvTranspose1dImpl t(nn::ConvTranspose1dOptions(4, 6, 3).stride(2).padding(1).output_padding(1).groups(2));
  const Tensor h = randn({2, 4, 7});
  expect_close(
      t.forward(h),
      F::conv_transpose1d(
          h, t.weight, F::ConvTranspose1dFuncOptions().bias(t.bias).stride(2).padding(1).output_padding(1).groups(2)));
}

// --- padding modes --------------------------------------------------------------------------------

TEST(ConvModules, PaddingModesMatchANaivePadThenConv) {
  manual_seed(5);
  for (PaddingMode mode : {kReflect, kReplicate, kCircular, kZeros}) {
    SCOPED_TRACE(padding_mode_name(mode));
    nn::Conv3dImpl c(nn::Conv3dOptions(2, 3, {3, 2, 3}).padding({1, 1, 2}).padding_mode(mode));
    const Tensor x = randn({2, 2, 4, 5, 6});
    const Tensor expected = conv3d(naive_pad5(x, {1, 1, 1, 1, 2, 2}, mode), c.weight, c.bias);
    const Tensor y = c.forward(x);
    expect_close(y, expected, 1e-5);
    EXPECT_EQ(y.sizes(), Shape({2, 3, 4, 6, 8}));
    expect_close(c.forward(x.select(0, 1)), expected.select(0, 1), 1e-5);
  }
}

TEST(ConvModules, PaddingModesIn1dAnd2dPadOnlyTheRealDims) {
  manual_seed(6);
  for (PaddingMode mode : {kReflect, kReplicate, kCircular}) {
    SCOPED_TRACE(padding_mode_name(mode));
    nn::Conv1dImpl c1(nn::Conv1dOptions(2, 3, 3).padding(2).padding_mode(mode));
    const Tensor x1 = randn({2, 2, 5});
    const Tensor e1 = conv3d(naive_pad5(lift(x1, 2, 5), {0, 0, 0, 0, 2, 2}, mode), lift(c1.weight, 2, 5), c1.bias);
    expect_close(c1.forward(x1), e1.squeeze(2).squeeze(2), 1e-5);
    expect_close(c1.forward(x1.select(0, 0)), e1.squeeze(2).squeeze(2).select(0, 0), 1e-5);

    nn::Conv2dImpl c2(nn::Conv2dOptions(2, 3, {2, 3}).padding({1, 2}).padding_mode(mode));
    const Tensor x2 = randn({2, 2, 4, 5});
    const Tensor e2 = conv3d(naive_pad5(lift(x2, 2, 5), {0, 0, 1, 1, 2, 2}, mode), lift(c2.weight, 2, 5), c2.bias);
    expect_close(c2.forward(x2), e2.squeeze(2), 1e-5);
  }
}

TEST(ConvModules, SamePaddingWithReflectPutsTheOddElementAtTheEnd) {
  manual_seed(7);
  // kernel (2, 3, 4), dilation (1, 2, 1): totals 1, 4, 3 -> (0, 1), (2, 2), (1, 2).
  nn::Conv3dImpl c(nn::Conv3dOptions(2, 3, {2, 3, 4}).dilation({1, 2, 1}).padding(kSame).padding_mode(kReflect));
  const Tensor x = randn({1, 2, 4, 5, 6});
  const Tensor y = c.forward(x);
  EXPECT_EQ(y.sizes(), Shape({1, 3, 4, 5, 6}));
  expect_close(y, conv3d(naive_pad5(x, {0, 1, 2, 2, 1, 2}, kReflect), c.weight, c.bias, 1, 0, {1, 2, 1}), 1e-5);
}

// --- 'same' and 'valid' ---------------------------------------------------------------------------

TEST(ConvFunctional, SameWithOddTotalPaddingPutsTheExtraZeroAtTheEnd) {
  manual_seed(8);
  const Tensor x = rand64({2, 2, 4, 5, 6}), w = rand64({3, 2, 2, 3, 4}), b = rand64({3});
  const Tensor y = F::conv3d(x, w, F::Conv3dFuncOptions().bias(b).padding(kSame).dilation({1, 2, 1}));
  EXPECT_EQ(y.sizes(), Shape({2, 3, 4, 5, 6}));
  expect_close(y, conv3d(naive_pad5(x, {0, 1, 2, 2, 1, 2}, kZeros), w, b, 1, 0, {1, 2, 1}));
  // Unbatched too.
  expect_close(F::conv3d(x.select(0, 1), w, F::Conv3dFuncOptions().bias(b).padding(kSame).dilation({1, 2, 1})),
               y.select(0, 1));
  // All totals even: the same as symmetric explicit padding.
  const Tensor w3 = rand64({3, 2, 3, 3, 5});
  expect_close(F::conv3d(x, w3, F::Conv3dFuncOptions().padding(kSame)),
               F::conv3d(x, w3, F::Conv3dFuncOptions().padding({1, 1, 2})));
}

TEST(ConvFunctional, SameIn1dAnd2dKeepsTheSize) {
  manual_seed(9);
  const Tensor x1 = rand64({2, 3, 7}), w1 = rand64({4, 3, 4});
  const Tensor y1 = F::conv1d(x1, w1, F::Conv1dFuncOptions().padding(kSame));
  EXPECT_EQ(y1.sizes(), Shape({2, 4, 7}));
  expect_close(y1,
               conv3d(naive_pad5(lift(x1, 2, 5), {0, 0, 0, 0, 1, 2}, kZeros), lift(w1, 2, 5)).squeeze(2).squeeze(2));
  const Tensor x2 = rand64({3, 6, 5}), w2 = rand64({4, 3, 2, 2});
  const Tensor y2 = F::conv2d(x2, w2, F::Conv2dFuncOptions().padding(kSame).dilation({3, 1}));
  EXPECT_EQ(y2.sizes(), Shape({4, 6, 5}));
  expect_close(y2, conv3d(naive_pad5(x2.unsqueeze(0).unsqueeze(2), {0, 0, 1, 2, 0, 1}, kZeros), lift(w2, 2, 5), {}, 1,
                          0, {1, 3, 1})
                       .squeeze(0)
                       .squeeze(1));
}

TEST(ConvFunctional, ValidIsNoPadding) {
  manual_seed(10);
  const Tensor x = rand64({1, 2, 5, 5, 5}), w = rand64({2, 2, 3, 3, 3});
  expect_close(F::conv3d(x, w, F::Conv3dFuncOptions().padding(kValid)), conv3d(x, w));
  nn::Conv3dImpl c(nn::Conv3dOptions(2, 2, 3).padding(kValid));
  EXPECT_EQ(c.forward(randn({1, 2, 5, 5, 5})).sizes(), Shape({1, 2, 3, 3, 3}));
  nn::Conv1dImpl c1(nn::Conv1dOptions(2, 2, 3).padding(kSame));
  EXPECT_EQ(c1.forward(randn({2, 9})).sizes(), Shape({2, 9}));
}

TEST(ConvFunctional, SameWithStrideIsRejected) {
  EXPECT_ERROR_CONTAINS(F::conv3d(randn({1, 1, 5, 5, 5}), randn({1, 1, 3, 3, 3}),
                                  F::Conv3dFuncOptions().padding(kSame).stride({1, 2, 1})),
                        "conv3d: padding='same' is not supported for strided convolutions");
  EXPECT_ERROR_CONTAINS(F::conv1d(randn({1, 5}), randn({1, 1, 3}), F::Conv1dFuncOptions().padding(kSame).stride(2)),
                        "conv1d: padding='same' is not supported for strided convolutions");
  EXPECT_ERROR_CONTAINS(nn::Conv2dImpl(nn::Conv2dOptions(1, 1, 3).padding(kSame).stride(2)),
                        "Conv2d: padding='same' is not supported for strided convolutions");
}

// An odd 'same' total padding makes no padded copy of the input (whose per-dim index maps would
// take 2^51 bytes for dilation 2^48 + 1): any dilation works.
TEST(ConvFunctional, SameWithAHugeOddDilationNeedsNoPaddedCopy) {
  manual_seed(11);
  const std::int64_t huge = (std::int64_t{1} << 48) + 1;  // total padding d·(k − 1) odd in dim 0
  const Tensor x = rand64({1, 2, 3, 4, 5}).requires_grad_(), w = rand64({2, 2, 2, 3, 1}).requires_grad_();
  const Tensor b = rand64({2}).requires_grad_();
  const Tensor y = F::conv3d(x, w, F::Conv3dFuncOptions().bias(b).padding(kSame).dilation({huge, 1, 1}));
  EXPECT_EQ(y.sizes(), Shape({1, 2, 3, 4, 5}));
  EXPECT_TRUE(y.is_contiguous());
  // Dim 0 pads 2^47 before and 2^47 + 1 after; output o's taps sit at o − 2^47 and o + 2^47 + 1,
  // both in the padding, so each output is its bias.
  expect_close(y, b.detach().view({1, 2, 1, 1, 1}).expand({1, 2, 3, 4, 5}));
  y.sum().backward();
  expect_close(x.grad(), zeros({1, 2, 3, 4, 5}, kFloat64));
  expect_close(w.grad(), zeros({2, 2, 2, 3, 1}, kFloat64));
  expect_close(b.grad(), full({2}, 60.0, kFloat64));
  // An int64-overflowing total is an error naming the op, not undefined behaviour.
  EXPECT_ERROR_CONTAINS(
      F::conv3d(x.detach(), w.detach(), F::Conv3dFuncOptions().padding(kSame).dilation({INT64_MAX, 1, 1})),
      "conv3d: sizes overflow int64");
  // An empty spatial dim is refused.
  EXPECT_ERROR_CONTAINS(F::conv3d(zeros({1, 2, 0, 4, 5}, kFloat64), w.detach(), F::Conv3dFuncOptions().padding(kSame)),
                        "Kernel size can't be greater than actual input size");
}

// --- encoder-decoder round trip and output_size ---------------------------------------------------

TEST(ConvTransposeModules, EncoderDecoderRoundTripRestoresOddShapes) {
  manual_seed(11);
  for (const Shape& spatial : {Shape{7, 9, 11}, Shape{5, 6, 7}, Shape{6, 6, 8}}) {
    SCOPED_TRACE(shape_str(spatial));
    for (std::int64_t k : {2, 3}) {
      auto enc = std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2, 4, k).stride(2).padding(k - 2));
      auto dec =
          std::make_shared<nn::ConvTranspose3dImpl>(nn::ConvTranspose3dOptions(4, 3, k).stride(2).padding(k - 2));
      const Tensor x = randn({2, 2, spatial[0], spatial[1], spatial[2]});
      const Tensor h = enc->forward(x);
      // The full 5-entry shape of the encoder input (its channel count is not the decoder's).
      const Tensor y = dec->forward(h, x.sizes());
      EXPECT_EQ(y.sizes(), Shape({2, 3, spatial[0], spatial[1], spatial[2]}));
      // Three spatial sizes give the same result.
      expect_close(dec->forward(h, spatial), y);
      // Unbatched: 4-entry shape or 3 sizes.
      const Tensor x0 = x.select(0, 0), h0 = h.select(0, 0);
      const Tensor y0 = dec->forward(h0, x0.sizes());
      EXPECT_EQ(y0.sizes(), Shape({3, spatial[0], spatial[1], spatial[2]}));
      expect_close(y0, y.select(0, 0), 1e-5);
      expect_close(dec->forward(h0, spatial), y0);
    }
  }
}

TEST(ConvTransposeModules, OutputSizeSelectsOutputPaddingAndOverridesTheOption) {
  manual_seed(12);
  auto dec = std::make_shared<nn::ConvTranspose3dImpl>(
      nn::ConvTranspose3dOptions(2, 3, 3).stride(2).padding(1).output_padding(1));
  const Tensor h = randn({1, 2, 4, 5, 6});
  EXPECT_EQ(dec->forward(h).sizes(), Shape({1, 3, 8, 10, 12}));               // the option
  EXPECT_EQ(dec->forward(h, {7, 10, 11}).sizes(), Shape({1, 3, 7, 10, 11}));  // output_size wins
  expect_close(dec->forward(h, {7, 10, 11}),
               F::conv_transpose3d(
                   h, dec->weight,
                   F::ConvTranspose3dFuncOptions().bias(dec->bias).stride(2).padding(1).output_padding({0, 1, 0})));
  EXPECT_EQ(F::conv_transpose_output_padding<3>(h.sizes(), {7, 10, 11}, 3, 2, 1), ExpandingArray<3>({0, 1, 0}));
  // 1-d and 2-d take output_size too.
  nn::ConvTranspose1dImpl t1(nn::ConvTranspose1dOptions(2, 2, 3).stride(3));
  EXPECT_EQ(t1.forward(randn({1, 2, 4}), {14}).sizes(), Shape({1, 2, 14}));
  EXPECT_EQ(t1.forward(randn({2, 4}), {2, 12}).sizes(), Shape({2, 12}));
  nn::ConvTranspose2dImpl t2(nn::ConvTranspose2dOptions(2, 2, 2).stride(2));
  EXPECT_EQ(t2.forward(randn({1, 2, 3, 4}), {1, 2, 7, 9}).sizes(), Shape({1, 2, 7, 9}));
}

TEST(ConvTransposeModules, OutputSizeOutOfRangeNamesTheRange) {
  auto dec = std::make_shared<nn::ConvTranspose3dImpl>(nn::ConvTranspose3dOptions(2, 3, 3).stride(2).padding(1));
  const Tensor h = randn({1, 2, 4, 5, 6});
  EXPECT_ERROR_CONTAINS(dec->forward(h, {6, 9, 11}),
                        "requested an output size of [6, 9, 11], but valid sizes range from [7, 9, 11] to "
                        "[8, 10, 12] (for an input of [4, 5, 6])");
  EXPECT_ERROR_CONTAINS(dec->forward(h, {1, 3, 7, 11, 11}), "requested an output size of [7, 11, 11]");
  EXPECT_ERROR_CONTAINS(dec->forward(h.select(0, 0), {2, 7, 9, 13}), "(for an input of [4, 5, 6])");
  // The range includes dilation·(k − 1) (PyTorch's message for this case is the same).
  auto dil =
      std::make_shared<nn::ConvTranspose3dImpl>(nn::ConvTranspose3dOptions(2, 3, 3).stride(2).padding(1).dilation(2));
  EXPECT_ERROR_CONTAINS(dil->forward(h, {6, 9, 11}),
                        "requested an output size of [6, 9, 11], but valid sizes range from [9, 11, 13] to "
                        "[10, 12, 14] (for an input of [4, 5, 6])");
  EXPECT_EQ(dil->forward(h, {10, 11, 14}).sizes(), Shape({1, 3, 10, 11, 14}));
  nn::ConvTranspose1dImpl t1(nn::ConvTranspose1dOptions(2, 2, 3).stride(3));
  EXPECT_ERROR_CONTAINS(t1.forward(randn({1, 2, 4}), {15}),
                        "conv_transpose1d: requested an output size of [15], but valid sizes range from [12] to [14] "
                        "(for an input of [4])");
}

TEST(ConvTransposeModules, OutputSizeWithTheWrongLengthIsRejected) {
  auto dec = std::make_shared<nn::ConvTranspose3dImpl>(nn::ConvTranspose3dOptions(2, 3, 3).stride(2));
  EXPECT_ERROR_CONTAINS(dec->forward(randn({1, 2, 4, 5, 6}), {1, 7, 9, 11}),
                        "for 5D input, output_size must have 3 or 5 elements (got 4");
  EXPECT_ERROR_CONTAINS(dec->forward(randn({2, 4, 5, 6}), {1, 3, 7, 9, 11}),
                        "for 4D input, output_size must have 3 or 4 elements (got 5");
  EXPECT_ERROR_CONTAINS(dec->forward(randn({2, 4, 5}), {7, 9, 11}),
                        "Expected 4D (unbatched) or 5D (batched) input to conv_transpose3d");
}

// --- errors ---------------------------------------------------------------------------------------

TEST(ConvTransposeModules, NonZerosPaddingModeIsRejected) {
  EXPECT_ERROR_CONTAINS(nn::ConvTranspose3dImpl(nn::ConvTranspose3dOptions(2, 2, 3).padding_mode(kReflect)),
                        "Only \"zeros\" padding mode is supported for ConvTranspose3d (got padding_mode=reflect)");
  EXPECT_ERROR_CONTAINS(nn::ConvTranspose1dImpl(nn::ConvTranspose1dOptions(2, 2, 3).padding_mode(kCircular)),
                        "Only \"zeros\" padding mode is supported for ConvTranspose1d (got padding_mode=circular)");
  EXPECT_ERROR_CONTAINS(nn::ConvTranspose2dImpl(nn::ConvTranspose2dOptions(2, 2, 3).padding_mode(kReplicate)),
                        "supported for ConvTranspose2d");
}

TEST(ConvModules, ConstructorValidatesOptions) {
  EXPECT_ERROR_CONTAINS(nn::Conv3dImpl(nn::Conv3dOptions(4, 4, 3).groups(0)),
                        "Conv3d: groups must be a positive integer");
  EXPECT_ERROR_CONTAINS(nn::Conv3dImpl(nn::Conv3dOptions(5, 4, 3).groups(2)),
                        "Conv3d: in_channels must be divisible by groups");
  EXPECT_ERROR_CONTAINS(nn::Conv1dImpl(nn::Conv1dOptions(4, 5, 3).groups(2)),
                        "Conv1d: out_channels must be divisible by groups");
  EXPECT_ERROR_CONTAINS(nn::ConvTranspose3dImpl(nn::ConvTranspose3dOptions(3, 4, 3).groups(2)),
                        "ConvTranspose3d: in_channels must be divisible by groups");
  EXPECT_ERROR_CONTAINS(nn::ConvTranspose2dImpl(nn::ConvTranspose2dOptions(4, 3, 3).groups(2)),
                        "ConvTranspose2d: out_channels must be divisible by groups");
  EXPECT_ERROR_CONTAINS(nn::Conv3dImpl(nn::Conv3dOptions(0, 4, 3)), "in_channels and out_channels must be positive");
  EXPECT_ERROR_CONTAINS(nn::Conv3dImpl(nn::Conv3dOptions(1, 4, {3, 0, 3})),
                        "kernel_size must be positive (got kernel_size=(3, 0, 3))");
  EXPECT_ERROR_CONTAINS(nn::Conv2dImpl(nn::Conv2dOptions(1, 4, 3).stride({1, 0})),
                        "non-positive stride is not supported");
  EXPECT_ERROR_CONTAINS(nn::Conv3dImpl(nn::Conv3dOptions(1, 4, 3).dilation(0)), "dilation should be greater than zero");
  EXPECT_ERROR_CONTAINS(nn::Conv3dImpl(nn::Conv3dOptions(1, 4, 3).padding({0, -1, 0})),
                        "negative padding is not supported");
  EXPECT_ERROR_CONTAINS(nn::ConvTranspose3dImpl(nn::ConvTranspose3dOptions(1, 4, 3).padding(-1)),
                        "negative padding is not supported");
  EXPECT_ERROR_CONTAINS(
      nn::ConvTranspose3dImpl(nn::ConvTranspose3dOptions(1, 4, 3).stride(2).output_padding({0, 2, 0})),
      "output padding must be smaller than either stride or dilation");
  EXPECT_NO_THROW(nn::ConvTranspose3dImpl(nn::ConvTranspose3dOptions(1, 4, 3).dilation(3).output_padding(2)));
  EXPECT_ERROR_CONTAINS(nn::Conv3dImpl(nn::Conv3dOptions(1, 4, {3, 3})), "expected 3 values");
}

TEST(ConvFunctional, LowerRankErrorsShowTheCallersShapes) {
  EXPECT_ERROR_CONTAINS(F::conv1d(randn({1, 2, 3, 4}), randn({2, 2, 3})),
                        "Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: [1, 2, 3, 4]");
  EXPECT_ERROR_CONTAINS(F::conv2d(randn({2, 5, 5}), randn({2, 2, 3})),
                        "conv2d: expected a 4-D weight, but got weight of size [2, 2, 3]");
  EXPECT_ERROR_CONTAINS(F::conv1d(randn({2, 3, 10}), randn({8, 4, 3})),
                        "Given groups=1, weight of size [8, 4, 3], expected input[2, 3, 10] to have 4 channels, but "
                        "got 3 channels instead");
  EXPECT_ERROR_CONTAINS(F::conv2d(randn({1, 5, 5}), randn({1, 1, 3, 7})),
                        "conv2d: Calculated padded input size per channel: (5 x 5). Kernel size: (3 x 7). Kernel size "
                        "can't be greater than actual input size");
  EXPECT_ERROR_CONTAINS(F::conv_transpose1d(randn({2, 3, 10}), randn({4, 8, 3})),
                        "Given transposed=1, weight of size [4, 8, 3], expected input[2, 3, 10] to have 4 channels, "
                        "but got 3 channels instead");
  EXPECT_ERROR_CONTAINS(F::conv_transpose2d(randn({2, 4, 3, 3}), randn({4, 2, 3, 3}),
                                            F::ConvTranspose2dFuncOptions().stride(2).output_padding(2)),
                        "output padding must be smaller than either stride or dilation");
  EXPECT_ERROR_CONTAINS(F::conv1d(randn({2, 4, 10}), randn({8, 2, 3}), F::Conv1dFuncOptions().groups(0)),
                        "conv1d: non-positive groups is not supported");
  EXPECT_ERROR_CONTAINS(F::conv1d(Tensor(), randn({8, 2, 3})), "conv1d: argument 'input' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(nn::Conv3dImpl(nn::Conv3dOptions(2, 2, 3)).forward(randn({2, 5, 5})),
                        "Expected 4D (unbatched) or 5D (batched) input to conv3d");
  EXPECT_ERROR_CONTAINS(
      nn::Conv1dImpl(nn::Conv1dOptions(2, 2, 3).padding(1).padding_mode(kReflect)).forward(randn({2, 5, 5, 5})),
      "Expected 2D (unbatched) or 3D (batched) input to conv1d");
}

// --- gradients ------------------------------------------------------------------------------------

// gradcheck of module->forward w.r.t. input, weight and bias, in float64: the lambda installs the
// float64 leaves as the module's weight and bias, which forward reads.
template <class M, class Fwd>
void gradcheck_module(const std::shared_ptr<M>& m, const Tensor& x, Fwd fwd) {
  const Tensor w = m->weight.detach().to(kFloat64).clone().requires_grad_();
  const Tensor b = m->bias.detach().to(kFloat64).clone().requires_grad_();
  EXPECT_TRUE(autograd::gradcheck(
      [&](const std::vector<Tensor>& in) {
        m->weight = in[1];
        m->bias = in[2];
        return fwd(in[0]);
      },
      {x.to(kFloat64).requires_grad_(), w, b}));
}

TEST(ConvModules, GradcheckThroughEachModule) {
  manual_seed(13);
  auto c1 = std::make_shared<nn::Conv1dImpl>(nn::Conv1dOptions(2, 4, 3).stride(2).padding(1).groups(2));
  gradcheck_module(c1, randn({2, 2, 7}), [&](const Tensor& x) { return c1->forward(x); });
  auto c2 = std::make_shared<nn::Conv2dImpl>(
      nn::Conv2dOptions(2, 2, {2, 3}).padding(kSame).dilation({2, 1}).padding_mode(kReflect));
  gradcheck_module(c2, randn({1, 2, 4, 5}), [&](const Tensor& x) { return c2->forward(x); });
  auto c3 = std::make_shared<nn::Conv3dImpl>(
      nn::Conv3dOptions(2, 2, {2, 3, 2}).stride({2, 1, 1}).padding({1, 1, 0}).padding_mode(kCircular));
  gradcheck_module(c3, randn({1, 2, 3, 4, 3}), [&](const Tensor& x) { return c3->forward(x); });
  auto c3s = std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2, 2, {2, 2, 3}).padding(kSame));
  gradcheck_module(c3s, randn({2, 3, 3, 3}), [&](const Tensor& x) { return c3s->forward(x); });
  auto t1 =
      std::make_shared<nn::ConvTranspose1dImpl>(nn::ConvTranspose1dOptions(2, 4, 3).stride(2).groups(2).dilation(2));
  gradcheck_module(t1, randn({2, 2, 4}), [&](const Tensor& x) { return t1->forward(x, {12}); });
  auto t2 = std::make_shared<nn::ConvTranspose2dImpl>(
      nn::ConvTranspose2dOptions(2, 3, {3, 2}).stride({2, 1}).padding({1, 0}));
  gradcheck_module(t2, randn({1, 2, 3, 3}), [&](const Tensor& x) { return t2->forward(x); });
  auto t3 = std::make_shared<nn::ConvTranspose3dImpl>(nn::ConvTranspose3dOptions(2, 2, 3).stride(2).padding(1));
  gradcheck_module(t3, randn({1, 2, 2, 2, 3}), [&](const Tensor& x) { return t3->forward(x, Shape{1, 2, 4, 3, 6}); });
}

}  // namespace
