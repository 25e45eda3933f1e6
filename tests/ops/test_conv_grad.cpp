// float64 gradcheck and gradgradcheck of conv3d and conv_transpose3d (input, weight and bias) over
// stride, padding, dilation, groups and output_padding combinations; conv3d_weight_grad (values,
// gradcheck, gradgradcheck); pad3d in all four modes (values, gradcheck, gradgradcheck).
// Tensors are tiny: gradcheck's cost grows with numel(inputs) · numel(outputs).

#include <array>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

#include <voxgrad/ops/conv.h>
#include <voxgrad/voxgrad.h>

namespace {

using namespace voxgrad;
using autograd::gradcheck;
using autograd::gradgradcheck;
using voxgrad::testing::expect_close;
using voxgrad::testing::values;
using Dims = std::array<std::int64_t, 3>;

std::string dims_str(const Dims& d) {
  std::ostringstream os;
  os << "(" << d[0] << "," << d[1] << "," << d[2] << ")";
  return os.str();
}

struct Case {
  bool transposed = false;
  std::int64_t N = 1, groups = 1, cin = 2, cout = 2;
  Dims in{3, 3, 3}, k{2, 2, 2}, s{1, 1, 1}, p{0, 0, 0}, d{1, 1, 1}, op{0, 0, 0};
  bool bias = true, unbatched = false;

  std::string str() const {
    std::ostringstream os;
    os << (transposed ? "conv_transpose3d" : "conv3d") << " {N=" << N << (unbatched ? " (unbatched)" : "")
       << " groups=" << groups << " Cin=" << cin << " Cout=" << cout << " in=" << dims_str(in)
       << " kernel=" << dims_str(k) << " stride=" << dims_str(s) << " padding=" << dims_str(p)
       << " dilation=" << dims_str(d) << " output_padding=" << dims_str(op) << " bias=" << bias << "}";
    return os.str();
  }
  Shape x_shape() const {
    if (unbatched) return {cin, in[0], in[1], in[2]};
    return {N, cin, in[0], in[1], in[2]};
  }
  Shape w_shape() const {
    if (transposed) return {cin, cout / groups, k[0], k[1], k[2]};
    return {cout, cin / groups, k[0], k[1], k[2]};
  }
};

Tensor run(const Case& c, const std::vector<Tensor>& in) {
  const Tensor b = c.bias ? in[2] : Tensor();
  if (c.transposed) return conv_transpose3d(in[0], in[1], b, c.s, c.p, c.op, c.groups, c.d);
  return conv3d(in[0], in[1], b, c.s, c.p, c.d, c.groups);
}

Tensor leaf(const Shape& shape) { return (rand(shape, kFloat64) * 2.0 - 1.0).detach().requires_grad_(); }

void check_case(const Case& c, std::uint64_t seed) {
  SCOPED_TRACE(c.str());
  manual_seed(seed);
  std::vector<Tensor> inputs{leaf(c.x_shape()), leaf(c.w_shape())};
  if (c.bias) inputs.push_back(leaf({c.cout}));
  const autograd::SingleOutputFn fn = [c](const std::vector<Tensor>& in) { return run(c, in); };
  const Tensor y = fn(inputs);
  ASSERT_GT(y.numel(), 0);
  EXPECT_NO_THROW(EXPECT_TRUE(gradcheck(fn, inputs)));
  EXPECT_NO_THROW(EXPECT_TRUE(gradgradcheck(fn, inputs)));
  // Each operand alone (the others constant): exercises the needs_input_grad branches.
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::vector<Tensor> one;
    for (std::size_t j = 0; j < inputs.size(); ++j) {
      one.push_back(j == i ? inputs[j] : inputs[j].detach());
    }
    EXPECT_NO_THROW(EXPECT_TRUE(gradcheck(fn, one))) << "only input " << i << " requires grad";
  }
}

Case conv(std::int64_t N, std::int64_t groups, std::int64_t cin, std::int64_t cout, Dims in, Dims k, Dims s = {1, 1, 1},
          Dims p = {0, 0, 0}, Dims d = {1, 1, 1}, bool bias = true, bool unbatched = false) {
  Case c;
  c.N = N;
  c.groups = groups;
  c.cin = cin;
  c.cout = cout;
  c.in = in;
  c.k = k;
  c.s = s;
  c.p = p;
  c.d = d;
  c.bias = bias;
  c.unbatched = unbatched;
  return c;
}

Case tconv(std::int64_t N, std::int64_t groups, std::int64_t cin, std::int64_t cout, Dims in, Dims k,
           Dims s = {1, 1, 1}, Dims p = {0, 0, 0}, Dims d = {1, 1, 1}, Dims op = {0, 0, 0}, bool bias = true,
           bool unbatched = false) {
  Case c = conv(N, groups, cin, cout, in, k, s, p, d, bias, unbatched);
  c.transposed = true;
  c.op = op;
  return c;
}

// --- conv3d ------------------------------------------------------------------------------------

TEST(ConvGrad, Conv3dPlain) {
  check_case(conv(2, 1, 2, 2, {3, 3, 3}, {2, 2, 2}), 1);
  check_case(conv(1, 1, 1, 3, {3, 4, 2}, {3, 2, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, /*bias=*/false), 2);
}

TEST(ConvGrad, Conv3dStridePadding) {
  check_case(conv(1, 1, 2, 2, {4, 3, 5}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}), 3);
  check_case(conv(2, 1, 1, 2, {5, 3, 4}, {2, 1, 3}, {3, 1, 2}, {0, 2, 1}), 4);
}

TEST(ConvGrad, Conv3dDilation) {
  check_case(conv(1, 1, 2, 2, {4, 3, 4}, {2, 2, 2}, {1, 1, 1}, {0, 0, 0}, {2, 2, 2}), 5);
  check_case(conv(1, 1, 1, 2, {5, 4, 4}, {2, 2, 3}, {1, 1, 1}, {1, 0, 2}, {3, 2, 1}), 6);
}

TEST(ConvGrad, Conv3dGroupsAndDepthwise) {
  check_case(conv(1, 2, 4, 2, {3, 3, 3}, {2, 1, 2}, {2, 1, 1}, {1, 0, 0}), 7);
  check_case(conv(2, 3, 3, 6, {3, 2, 3}, {2, 2, 1}), 8);  // depthwise, multiplier 2
}

// pytorch#63314 (kernel 1, stride 2) and candle#2337 (stride and dilation swapped): anisotropic
// stride ≠ dilation in every dim catches a swap.
TEST(ConvGrad, Conv3dKernelOneStrideTwoAndStrideDilationDiffer) {
  check_case(conv(2, 1, 2, 3, {5, 4, 3}, {1, 1, 1}, {2, 2, 2}), 9);
  check_case(conv(1, 1, 2, 2, {5, 6, 5}, {2, 2, 2}, {2, 1, 3}, {0, 1, 0}, {1, 3, 2}), 10);
}

TEST(ConvGrad, Conv3dPointwiseAndUnbatched) {
  check_case(conv(2, 1, 3, 2, {2, 3, 2}, {1, 1, 1}), 11);
  check_case(conv(1, 1, 2, 2, {3, 3, 4}, {2, 2, 2}, {1, 2, 1}, {1, 0, 0}, {1, 1, 2}, true, /*unbatched=*/true), 12);
}

// --- conv_transpose3d -------------------------------------------------------------------------

TEST(ConvGrad, ConvTranspose3dPlain) {
  check_case(tconv(2, 1, 2, 2, {2, 2, 2}, {2, 2, 2}), 21);
  check_case(tconv(1, 1, 3, 1, {2, 3, 2}, {3, 1, 2}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, {0, 0, 0}, false), 22);
}

TEST(ConvGrad, ConvTranspose3dStridePaddingOutputPadding) {
  check_case(tconv(1, 1, 2, 2, {2, 2, 2}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}), 23);
  check_case(tconv(1, 1, 2, 1, {2, 3, 2}, {2, 1, 3}, {3, 1, 2}, {0, 0, 1}, {1, 1, 1}, {2, 0, 1}), 24);
}

TEST(ConvGrad, ConvTranspose3dDilationOutputPadding) {
  // output_padding below the dilation but not below the stride (allowed, as in PyTorch).
  check_case(tconv(1, 1, 2, 2, {2, 2, 3}, {2, 2, 2}, {1, 1, 1}, {0, 0, 0}, {2, 3, 2}, {1, 2, 0}), 25);
  check_case(tconv(1, 1, 1, 2, {3, 2, 2}, {2, 2, 3}, {2, 1, 1}, {1, 0, 1}, {3, 2, 1}, {2, 1, 0}), 26);
}

TEST(ConvGrad, ConvTranspose3dGroupsAndDepthwise) {
  check_case(tconv(1, 2, 4, 2, {2, 2, 3}, {2, 1, 2}, {2, 1, 1}, {1, 0, 0}, {1, 1, 1}, {1, 0, 0}), 27);
  check_case(tconv(2, 3, 3, 6, {2, 2, 2}, {2, 2, 1}), 28);  // depthwise
}

TEST(ConvGrad, ConvTranspose3dKernelOneStrideTwoAndStrideDilationDiffer) {
  check_case(tconv(2, 1, 2, 2, {3, 2, 2}, {1, 1, 1}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}, {1, 0, 1}), 29);
  check_case(tconv(1, 1, 2, 2, {2, 3, 2}, {2, 2, 2}, {2, 1, 3}, {0, 1, 0}, {1, 3, 2}, {1, 2, 0}), 30);
}

TEST(ConvGrad, ConvTranspose3dPointwiseAndUnbatched) {
  check_case(tconv(2, 1, 3, 2, {2, 3, 2}, {1, 1, 1}), 31);
  check_case(tconv(1, 1, 2, 2, {2, 2, 3}, {2, 2, 2}, {1, 2, 1}, {1, 0, 0}, {1, 1, 2}, {0, 1, 1}, true, true), 32);
}

// Every combination of stride {1, 2}, padding {0, 1}, dilation {1, 2}, groups {1, 2} (and for the
// transposed op output_padding {0, 1} where valid), each varied in one dim against a second value
// in the others, so the three dims never share a setting.
TEST(ConvGrad, CombinationGrid) {
  std::uint64_t seed = 100;
  int checked = 0;
  for (bool transposed : {false, true})
    for (std::int64_t s : {1, 2})
      for (std::int64_t p : {0, 1})
        for (std::int64_t d : {1, 2})
          for (std::int64_t g : {1, 2})
            for (std::int64_t op : {0, 1}) {
              if (!transposed && op == 1) continue;
              if (op >= s && op >= d) continue;  // invalid output_padding: tested in test_conv_errors
              const Dims sd{s, 1, 3 - s}, pd{p, 1 - p, p}, dd{d, 3 - d, 1}, opd{op, 0, op < 3 - s ? op : 0};
              const Case c = transposed ? tconv(1, g, 2, 2, {2, 2, 3}, {2, 2, 2}, sd, pd, dd, opd, g == 1)
                                        : conv(1, g, 2, 2, {4, 4, 3}, {2, 2, 2}, sd, pd, dd, g == 1);
              check_case(c, ++seed);
              ++checked;
            }
  EXPECT_EQ(checked, 16 + 28);  // 16 conv3d; 16 transposed with output_padding 0, 12 with 1
}

// Conv3d then ConvTranspose3d (an encoder-decoder step): gradients through both, twice.
TEST(ConvGrad, Conv3dThenConvTranspose3d) {
  manual_seed(40);
  const std::vector<Tensor> inputs{leaf({1, 2, 5, 4, 3}), leaf({2, 2, 3, 2, 3}), leaf({2, 1, 3, 2, 2}), leaf({1})};
  const autograd::SingleOutputFn fn = [](const std::vector<Tensor>& in) {
    const Tensor h = conv3d(in[0], in[1], {}, 2, 1);
    return conv_transpose3d(h, in[2], in[3], 2, 1, {0, 0, 1});
  };
  EXPECT_EQ(fn(inputs).sizes(), (Shape{1, 1, 5, 4, 3}));
  EXPECT_TRUE(gradcheck(fn, inputs));
  EXPECT_TRUE(gradgradcheck(fn, inputs));
}

// --- conv3d_weight_grad -------------------------------------------------------------------------

/// dW[co, ci, k] = Σ_{n, o} dY[n, co, o] · X[n, g·cin_g + ci, o·s − p + k·d] over the positions o of
/// dY (which may be fewer than the convolution's natural output), by direct loops.
std::vector<double> naive_weight_grad(const Tensor& x, const Tensor& dy, const Dims& k, const Dims& s, const Dims& p,
                                      const Dims& d, std::int64_t groups) {
  const std::vector<double> xv = values(x), gv = values(dy);
  const std::int64_t N = x.size(0), cin = x.size(1), cout = dy.size(1), cin_g = cin / groups, cout_g = cout / groups;
  const Dims in{x.size(2), x.size(3), x.size(4)}, o{dy.size(2), dy.size(3), dy.size(4)};
  std::vector<double> dw(static_cast<std::size_t>(cout * cin_g * k[0] * k[1] * k[2]), 0.0);
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t co = 0; co < cout; ++co)
      for (std::int64_t ci = 0; ci < cin_g; ++ci)
        for (std::int64_t a = 0; a < k[0]; ++a)
          for (std::int64_t b = 0; b < k[1]; ++b)
            for (std::int64_t e = 0; e < k[2]; ++e)
              for (std::int64_t od = 0; od < o[0]; ++od)
                for (std::int64_t oh = 0; oh < o[1]; ++oh)
                  for (std::int64_t ow = 0; ow < o[2]; ++ow) {
                    const std::int64_t id = od * s[0] - p[0] + a * d[0], ih = oh * s[1] - p[1] + b * d[1],
                                       iw = ow * s[2] - p[2] + e * d[2];
                    if (id < 0 || id >= in[0] || ih < 0 || ih >= in[1] || iw < 0 || iw >= in[2]) continue;
                    const std::int64_t ch = co / cout_g * cin_g + ci;
                    dw[(((co * cin_g + ci) * k[0] + a) * k[1] + b) * k[2] + e] +=
                        gv[(((n * cout + co) * o[0] + od) * o[1] + oh) * o[2] + ow] *
                        xv[(((n * cin + ch) * in[0] + id) * in[1] + ih) * in[2] + iw];
                  }
  return dw;
}

TEST(ConvGrad, Conv3dWeightGradValues) {
  manual_seed(50);
  struct W {
    std::int64_t groups, cin, cout;
    Dims in, k, s, p, d, out;
  };
  const W cases[] = {
      {1, 2, 3, {4, 5, 3}, {2, 3, 1}, {1, 2, 1}, {0, 1, 0}, {1, 1, 1}, {3, 3, 3}},
      {2, 4, 2, {5, 4, 4}, {3, 2, 2}, {2, 1, 2}, {1, 1, 0}, {1, 2, 1}, {3, 3, 2}},
      {1, 2, 2, {6, 5, 4}, {2, 2, 2}, {3, 2, 1}, {0, 0, 1}, {2, 1, 3}, {2, 2, 3}},
      // dY smaller than the natural output (as in the transposed op with output_padding ≥ stride).
      {1, 2, 2, {6, 5, 4}, {2, 2, 2}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, {3, 4, 2}},
      {3, 3, 3, {4, 4, 4}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, {4, 4, 4}},  // pointwise, depthwise
  };
  for (const W& c : cases) {
    SCOPED_TRACE(::testing::Message() << "groups=" << c.groups << " in=" << dims_str(c.in) << " k=" << dims_str(c.k)
                                      << " s=" << dims_str(c.s) << " p=" << dims_str(c.p) << " d=" << dims_str(c.d)
                                      << " dY spatial=" << dims_str(c.out));
    const Tensor x = randn({2, c.cin, c.in[0], c.in[1], c.in[2]}, kFloat64);
    const Tensor dy = randn({2, c.cout, c.out[0], c.out[1], c.out[2]}, kFloat64);
    const Tensor dw = conv3d_weight_grad(x, dy, c.k, c.s, c.p, c.d, c.groups);
    const Shape ws{c.cout, c.cin / c.groups, c.k[0], c.k[1], c.k[2]};
    ASSERT_EQ(dw.sizes(), ws);
    const std::vector<double> want = naive_weight_grad(x, dy, c.k, c.s, c.p, c.d, c.groups);
    const std::vector<double> got = values(dw);
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-10) << "at flat index " << i;
    // float32 agrees to 1e-4 relative.
    const std::vector<double> got32 =
        values(conv3d_weight_grad(x.to(kFloat32), dy.to(kFloat32), c.k, c.s, c.p, c.d, c.groups));
    for (std::size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got32[i], want[i], 1e-4 * std::max(1.0, std::abs(want[i])));
  }
  // It is conv3d's weight gradient, and conv_transpose3d's with the two tensors swapped.
  const Tensor x = randn({2, 4, 5, 4, 6}, kFloat64), w = randn({6, 2, 3, 2, 2}, kFloat64).requires_grad_();
  const Tensor y = conv3d(x, w, {}, {2, 1, 2}, {1, 0, 1}, {1, 2, 1}, 2);
  const Tensor gy = randn(y.sizes(), kFloat64);
  expect_close(conv3d_weight_grad(x, gy, {3, 2, 2}, {2, 1, 2}, {1, 0, 1}, {1, 2, 1}, 2),
               autograd::grad({y}, {w}, {gy})[0], 1e-12);
  const Tensor wt = randn({4, 3, 3, 2, 2}, kFloat64).requires_grad_();
  const Tensor z = conv_transpose3d(x, wt, {}, {2, 1, 2}, {1, 0, 1}, {1, 0, 1}, 2, {1, 2, 1});
  const Tensor gz = randn(z.sizes(), kFloat64);
  expect_close(conv3d_weight_grad(gz, x, {3, 2, 2}, {2, 1, 2}, {1, 0, 1}, {1, 2, 1}, 2),
               autograd::grad({z}, {wt}, {gz})[0], 1e-12);
}

TEST(ConvGrad, Conv3dWeightGradGradcheck) {
  manual_seed(51);
  struct W {
    std::int64_t groups, cin, cout;
    Dims in, k, s, p, d;
  };
  const W cases[] = {
      {1, 2, 2, {3, 4, 3}, {2, 2, 1}, {1, 2, 1}, {0, 1, 0}, {1, 1, 1}},
      {2, 2, 4, {4, 3, 3}, {2, 1, 2}, {2, 1, 1}, {1, 0, 0}, {1, 1, 2}},
  };
  for (const W& c : cases) {
    Dims out{};
    for (std::size_t i = 0; i < 3; ++i) out[i] = (c.in[i] + 2 * c.p[i] - c.d[i] * (c.k[i] - 1) - 1) / c.s[i] + 1;
    const std::vector<Tensor> inputs{leaf({1, c.cin, c.in[0], c.in[1], c.in[2]}),
                                     leaf({1, c.cout, out[0], out[1], out[2]})};
    const autograd::SingleOutputFn fn = [c](const std::vector<Tensor>& in) {
      return conv3d_weight_grad(in[0], in[1], c.k, c.s, c.p, c.d, c.groups);
    };
    EXPECT_TRUE(gradcheck(fn, inputs)) << "groups=" << c.groups;
    EXPECT_TRUE(gradgradcheck(fn, inputs)) << "groups=" << c.groups;
  }
}

// --- pad3d ----------------------------------------------------------------------------------------

/// Source index along one dim for padded position o (−1 for a zero), as PyTorch's F.pad defines it.
std::int64_t pad_source(std::int64_t o, std::int64_t before, std::int64_t size, PaddingMode mode) {
  const std::int64_t i = o - before;
  if (i >= 0 && i < size) return i;
  switch (mode) {
    case PaddingMode::Zeros: return -1;
    case PaddingMode::Replicate: return i < 0 ? 0 : size - 1;
    case PaddingMode::Reflect: return i < 0 ? -i : 2 * (size - 1) - i;
    case PaddingMode::Circular: return i < 0 ? i + size : i - size;
  }
  return -1;
}

void check_pad_values(const Tensor& x5, const Tensor& y5, const std::array<std::int64_t, 6>& pads, PaddingMode mode) {
  const Dims in{x5.size(2), x5.size(3), x5.size(4)};
  const Dims out{in[0] + pads[0] + pads[1], in[1] + pads[2] + pads[3], in[2] + pads[4] + pads[5]};
  ASSERT_EQ(y5.sizes(), (Shape{x5.size(0), x5.size(1), out[0], out[1], out[2]}));
  const std::vector<double> xv = values(x5), yv = values(y5);
  const std::int64_t planes = x5.size(0) * x5.size(1);
  for (std::int64_t c = 0; c < planes; ++c)
    for (std::int64_t a = 0; a < out[0]; ++a)
      for (std::int64_t b = 0; b < out[1]; ++b)
        for (std::int64_t e = 0; e < out[2]; ++e) {
          const std::int64_t i = pad_source(a, pads[0], in[0], mode), j = pad_source(b, pads[2], in[1], mode),
                             l = pad_source(e, pads[4], in[2], mode);
          const double want = (i < 0 || j < 0 || l < 0) ? 0.0 : xv[((c * in[0] + i) * in[1] + j) * in[2] + l];
          ASSERT_EQ(yv[((c * out[0] + a) * out[1] + b) * out[2] + e], want)
              << padding_mode_name(mode) << " at plane " << c << " (" << a << "," << b << "," << e << ")";
        }
}

TEST(ConvGrad, Pad3dAllModes) {
  const PaddingMode modes[] = {kZeros, kReflect, kReplicate, kCircular};
  const std::array<std::int64_t, 6> pad_sets[] = {{1, 2, 0, 1, 2, 1}, {2, 2, 1, 1, 0, 0}, {0, 0, 0, 0, 0, 0}};
  std::uint64_t seed = 60;
  for (PaddingMode mode : modes) {
    for (const auto& pads : pad_sets) {
      SCOPED_TRACE(::testing::Message() << padding_mode_name(mode) << " pads {" << pads[0] << "," << pads[1] << ","
                                        << pads[2] << "," << pads[3] << "," << pads[4] << "," << pads[5] << "}");
      manual_seed(++seed);
      // Batched (N = 2) and unbatched inputs of size 3 × 2 × 3 (every pad < size for reflect,
      // ≤ size for circular).
      const Tensor x = leaf({2, 1, 3, 2, 3});
      const std::array<std::int64_t, 6> p =
          mode == kReflect || mode == kCircular
              ? std::array<std::int64_t, 6>{std::min<std::int64_t>(pads[0], 2), std::min<std::int64_t>(pads[1], 2),
                                            std::min<std::int64_t>(pads[2], 1), std::min<std::int64_t>(pads[3], 1),
                                            std::min<std::int64_t>(pads[4], 2), std::min<std::int64_t>(pads[5], 2)}
              : pads;
      check_pad_values(x, pad3d(x, p, mode), p, mode);
      const Tensor xu = leaf({1, 3, 2, 3});
      const Tensor yu = pad3d(xu, p, mode);
      ASSERT_EQ(yu.dim(), 4);
      check_pad_values(xu.unsqueeze(0), yu.unsqueeze(0), p, mode);
      const autograd::SingleOutputFn fn = [p, mode](const std::vector<Tensor>& in) { return pad3d(in[0], p, mode); };
      EXPECT_TRUE(gradcheck(fn, {x}));
      EXPECT_TRUE(gradgradcheck(fn, {x}));
      EXPECT_TRUE(gradcheck(fn, {xu}));
      EXPECT_TRUE(gradgradcheck(fn, {xu}));
    }
  }
  // Circular padding by the full size wraps exactly once (allowed, as in PyTorch).
  manual_seed(70);
  const Tensor x = leaf({1, 1, 2, 3, 2});
  const std::array<std::int64_t, 6> full{2, 2, 3, 0, 0, 2};
  check_pad_values(x, pad3d(x, full, kCircular), full, kCircular);
  const autograd::SingleOutputFn fn = [full](const std::vector<Tensor>& in) { return pad3d(in[0], full, kCircular); };
  EXPECT_TRUE(gradcheck(fn, {x}));
  EXPECT_TRUE(gradgradcheck(fn, {x}));
}

// pad3d then conv3d, as Conv3d with a non-zero padding_mode computes it.
TEST(ConvGrad, Pad3dThenConv3d) {
  manual_seed(80);
  for (PaddingMode mode : {kReflect, kReplicate, kCircular}) {
    const std::vector<Tensor> inputs{leaf({1, 2, 3, 3, 2}), leaf({2, 2, 2, 2, 2}), leaf({2})};
    const autograd::SingleOutputFn fn = [mode](const std::vector<Tensor>& in) {
      return conv3d(pad3d(in[0], {1, 1, 1, 1, 1, 1}, mode), in[1], in[2], {2, 1, 1});
    };
    EXPECT_TRUE(gradcheck(fn, inputs)) << padding_mode_name(mode);
    EXPECT_TRUE(gradgradcheck(fn, inputs)) << padding_mode_name(mode);
  }
}

}  // namespace
