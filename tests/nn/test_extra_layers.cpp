// ELU, PReLU, Softmax, LogSoftmax, LayerNorm, AdaptiveAvgPool3d, AdaptiveMaxPool3d, Dropout3d and the
// interpolate modes linear / bilinear / area / lower-rank nearest: values and gradients against PyTorch
// 1.13 (tests/fixtures/nn_extra/layers.json, written by generate.py there), naive references for the
// adaptive windows, float64 gradcheck and gradgradcheck, parameter names, initialisation, repr and
// error messages.

#include <voxgrad/voxgrad.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "json_fixture.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
using nlohmann::json;
using voxgrad::testing::expect_close;
using voxgrad::testing::uniform_leaf;
using voxgrad::testing::values;
namespace vt = voxgrad::testing;
namespace F = voxgrad::nn::functional;

const json& fixture() {
  static const json j = vt::load_fixture("nn_extra/layers.json");
  return j;
}

std::string repr_of(const nn::Module& m) {
  std::ostringstream os;
  os << m;
  return os.str();
}

/// The repr of the module a holder holds.
template <class Impl>
std::string repr_of(const nn::ModuleHolder<Impl>& holder) {
  return repr_of(*holder);
}

// The module each fixture expression builds.
std::shared_ptr<nn::Module> module_of(const std::string& e) {
  if (e == "nn.ELU()") return std::make_shared<nn::ELUImpl>();
  if (e == "nn.ELU(alpha=0.5)") return std::make_shared<nn::ELUImpl>(nn::ELUOptions().alpha(0.5));
  if (e == "nn.ELU(alpha=1.5)") return std::make_shared<nn::ELUImpl>(nn::ELUOptions().alpha(1.5));
  if (e == "nn.PReLU()") return std::make_shared<nn::PReLUImpl>();
  if (e == "nn.PReLU(num_parameters=3)") return std::make_shared<nn::PReLUImpl>(nn::PReLUOptions().num_parameters(3));
  if (e == "nn.PReLU(3, init=0.1)")
    return std::make_shared<nn::PReLUImpl>(nn::PReLUOptions().num_parameters(3).init(0.1));
  if (e == "nn.Softmax(dim=1)") return std::make_shared<nn::SoftmaxImpl>(1);
  if (e == "nn.Softmax(dim=-1)") return std::make_shared<nn::SoftmaxImpl>(-1);
  if (e == "nn.LogSoftmax(dim=1)") return std::make_shared<nn::LogSoftmaxImpl>(1);
  if (e == "nn.LogSoftmax(dim=0)") return std::make_shared<nn::LogSoftmaxImpl>(0);
  if (e == "nn.LayerNorm(6)") return std::make_shared<nn::LayerNormImpl>(nn::LayerNormOptions({6}));
  if (e == "nn.LayerNorm([4, 5], eps=1e-3)")
    return std::make_shared<nn::LayerNormImpl>(nn::LayerNormOptions({4, 5}).eps(1e-3));
  if (e == "nn.LayerNorm((3, 2, 2), elementwise_affine=False)")
    return std::make_shared<nn::LayerNormImpl>(nn::LayerNormOptions({3, 2, 2}).elementwise_affine(false));
  if (e == "nn.LayerNorm([2, 3, 4])") return std::make_shared<nn::LayerNormImpl>(nn::LayerNormOptions({2, 3, 4}));
  if (e == "nn.LayerNorm(8)") return std::make_shared<nn::LayerNormImpl>(nn::LayerNormOptions({8}));
  return nullptr;
}

TEST(ExtraLayerFixtures, ModulesMatchPyTorchValuesAndGradients) {
  const json& cases = fixture().at("modules");
  ASSERT_GE(cases.size(), 16u);
  for (const json& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    auto m = module_of(c.at("module"));
    ASSERT_NE(m, nullptr) << c.at("module");
    const DType dt = c.at("dtype") == "float32" ? kFloat32 : kFloat64;
    m->to(dt);
    // PyTorch's parameter names, with the fixture's values.
    const auto params = m->named_parameters();
    ASSERT_EQ(params.size(), c.at("parameters").size());
    std::vector<Tensor> leaves;
    for (const auto& [name, p] : params) {
      ASSERT_TRUE(c.at("parameters").contains(name)) << name;
      NoGradGuard no_grad;
      Tensor(p).copy_(vt::json_tensor(c.at("parameters").at(name)));
      leaves.push_back(p);
    }
    const Tensor x = vt::json_tensor(c.at("input")).requires_grad_();
    const Tensor y = m->forward(x);
    vt::expect_matches_fixture(y, vt::json_tensor(c.at("output")));
    std::vector<Tensor> inputs{x};
    inputs.insert(inputs.end(), leaves.begin(), leaves.end());
    const auto g = autograd::grad({y}, inputs, {vt::json_tensor(c.at("grad_output"))});
    vt::expect_matches_fixture(g[0], vt::json_tensor(c.at("grad_input")));
    for (std::size_t i = 0; i < params.size(); ++i) {
      vt::expect_matches_fixture(g[i + 1], vt::json_tensor(c.at("grad_parameters").at(params[i].first)));
    }
  }
}

TEST(ExtraLayerFixtures, AdaptivePoolsMatchPyTorchValuesIndicesAndGradients) {
  const json& cases = fixture().at("adaptive_pools");
  ASSERT_GE(cases.size(), 11u);
  for (const json& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const ExpandingArray<3> size = c.at("output_size").get<std::array<std::int64_t, 3>>();
    const Tensor x = vt::json_tensor(c.at("input")).requires_grad_();
    Tensor y;
    if (c.at("op") == "max") {
      nn::AdaptiveMaxPool3d pool(size);  // a holder: members through ->
      auto [v, indices] = pool->forward_with_indices(x);
      y = v;
      EXPECT_EQ(indices.dtype(), kInt64);
      expect_close(indices, vt::json_tensor(c.at("indices")), 0.0);
      expect_close(pool(x), y, 0.0);
      expect_close(F::adaptive_max_pool3d(x, size), y, 0.0);
    } else {
      y = nn::AdaptiveAvgPool3d(size)(x);
      expect_close(F::adaptive_avg_pool3d(x, size), y, 0.0);
    }
    vt::expect_matches_fixture(y, vt::json_tensor(c.at("output")));
    vt::expect_matches_fixture(autograd::grad({y}, {x}, {vt::json_tensor(c.at("grad_output"))})[0],
                               vt::json_tensor(c.at("grad_input")));
  }
}

InterpolateMode mode_of(const std::string& m) {
  if (m == "linear") return kLinear;
  if (m == "bilinear") return kBilinear;
  if (m == "trilinear") return kTrilinear;
  if (m == "area") return kArea;
  return kNearest;
}

TEST(ExtraLayerFixtures, InterpolateModesMatchPyTorchValuesAndGradients) {
  const json& cases = fixture().at("interpolate");
  ASSERT_GE(cases.size(), 14u);
  for (const json& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    nn::UpsampleOptions o;
    if (c.at("size").is_array()) o.size(c.at("size").get<std::vector<std::int64_t>>());
    if (c.at("scale_factor").is_number()) o.scale_factor(c.at("scale_factor").get<double>());
    if (c.at("scale_factor").is_array()) o.scale_factor(c.at("scale_factor").get<std::vector<double>>());
    o.mode(mode_of(c.at("mode")));
    if (!c.at("align_corners").is_null()) o.align_corners(c.at("align_corners").get<bool>());
    const Tensor x = vt::json_tensor(c.at("input")).requires_grad_();
    const Tensor y = nn::Upsample(o)(x);
    vt::expect_matches_fixture(y, vt::json_tensor(c.at("output")));
    vt::expect_matches_fixture(autograd::grad({y}, {x}, {vt::json_tensor(c.at("grad_output"))})[0],
                               vt::json_tensor(c.at("grad_input")));
  }
}

TEST(ExtraLayerFixtures, ReprsMatchPyTorch) {
  const json& r = fixture().at("reprs");
  EXPECT_EQ(repr_of(nn::ELU()), r.at("elu"));
  EXPECT_EQ(repr_of(nn::ELU(nn::ELUOptions().alpha(0.5))), r.at("elu_alpha"));
  EXPECT_EQ(repr_of(nn::PReLU()), r.at("prelu"));
  EXPECT_EQ(repr_of(nn::PReLU(nn::PReLUOptions().num_parameters(16).init(0.1))), r.at("prelu_16"));
  EXPECT_EQ(repr_of(nn::Softmax(1)), r.at("softmax"));
  EXPECT_EQ(repr_of(nn::LogSoftmax(-1)), r.at("log_softmax"));
  EXPECT_EQ(repr_of(nn::LayerNorm(nn::LayerNormOptions({16}))), r.at("layer_norm"));
  EXPECT_EQ(repr_of(nn::LayerNorm(nn::LayerNormOptions({4, 8}).eps(1e-6).elementwise_affine(false))),
            r.at("layer_norm_shape"));
  EXPECT_EQ(repr_of(nn::AdaptiveAvgPool3d(1)), r.at("adaptive_avg_1"));
  EXPECT_EQ(repr_of(nn::AdaptiveAvgPool3d(nn::AdaptiveAvgPool3dOptions({2, 4, 4}))), r.at("adaptive_avg_tuple"));
  EXPECT_EQ(repr_of(nn::AdaptiveMaxPool3d(2)), r.at("adaptive_max_2"));
  EXPECT_EQ(repr_of(nn::AdaptiveMaxPool3d(nn::AdaptiveMaxPool3dOptions({1, 2, 3}))), r.at("adaptive_max_tuple"));
  EXPECT_EQ(repr_of(nn::Dropout3d()), r.at("dropout3d"));
  EXPECT_EQ(repr_of(nn::Dropout3d(0.2)), r.at("dropout3d_0_2"));
  EXPECT_EQ(repr_of(nn::Upsample(nn::UpsampleOptions().scale_factor(2).mode(kBilinear).align_corners(true))),
            r.at("up_bilinear"));
  EXPECT_EQ(repr_of(nn::Upsample(nn::UpsampleOptions().size({2, 3, 4}).mode(kArea))), r.at("up_area"));
  // The strings themselves, so a regenerated fixture cannot silently change them.
  EXPECT_EQ(repr_of(nn::LayerNorm(nn::LayerNormOptions({16}))), "LayerNorm((16,), eps=1e-05, elementwise_affine=True)");
  EXPECT_EQ(repr_of(nn::PReLU()), "PReLU(num_parameters=1)");
}

// -------------------------------------------------------------------------------------------------
// Initialisation and parameter names
// -------------------------------------------------------------------------------------------------

TEST(ExtraLayers, PReLUAndLayerNormInitialiseAsPyTorch) {
  nn::PReLU p(nn::PReLUOptions().num_parameters(3));
  ASSERT_EQ(p->named_parameters().size(), 1u);
  EXPECT_EQ(p->named_parameters()[0].first, "weight");
  expect_close(p->weight, vt::json_tensor(fixture().at("prelu_default_weight"), kFloat32), 0.0);
  EXPECT_TRUE(p->weight.requires_grad());
  nn::LayerNorm ln(nn::LayerNormOptions({2, 3}));
  const auto names = ln->named_parameters();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].first, "weight");
  EXPECT_EQ(names[1].first, "bias");
  EXPECT_EQ(ln->weight.sizes(), (Shape{2, 3}));
  expect_close(ln->weight, ones({2, 3}), 0.0);
  expect_close(ln->bias, zeros({2, 3}), 0.0);
  EXPECT_TRUE(nn::LayerNorm(nn::LayerNormOptions({4}).elementwise_affine(false))->named_parameters().empty());
  const auto o = nn::LayerNormOptions({4});
  EXPECT_EQ(o.eps(), 1e-5);
  EXPECT_TRUE(o.elementwise_affine());
  EXPECT_EQ(nn::ELUOptions().alpha(), 1.0);
  EXPECT_EQ(nn::PReLUOptions().init(), 0.25);
  // clone() copies the parameters.
  auto copy = std::dynamic_pointer_cast<nn::LayerNormImpl>(ln->clone());
  ASSERT_NE(copy, nullptr);
  EXPECT_NE(copy->weight.data_ptr<float>(), ln->weight.data_ptr<float>());
  expect_close(copy->weight, ln->weight, 0.0);
}

// -------------------------------------------------------------------------------------------------
// Naive references
// -------------------------------------------------------------------------------------------------

// Adaptive pooling by the definition, one output at a time with doubles.
std::pair<std::vector<double>, std::vector<std::int64_t>> naive_adaptive(const Tensor& x, const Shape& out, bool max) {
  const Tensor c = x.contiguous();
  const std::vector<double> v = values(c);
  const std::int64_t N = c.size(0), C = c.size(1), D = c.size(2), H = c.size(3), W = c.size(4);
  auto lo = [](std::int64_t o, std::int64_t in, std::int64_t n) { return (o * in) / n; };
  auto hi = [](std::int64_t o, std::int64_t in, std::int64_t n) {
    return static_cast<std::int64_t>(std::ceil(static_cast<double>((o + 1) * in) / static_cast<double>(n)));
  };
  std::vector<double> r;
  std::vector<std::int64_t> idx;
  for (std::int64_t p = 0; p < N * C; ++p) {
    for (std::int64_t od = 0; od < out[0]; ++od) {
      for (std::int64_t oh = 0; oh < out[1]; ++oh) {
        for (std::int64_t ow = 0; ow < out[2]; ++ow) {
          double s = 0, best = -INFINITY;
          std::int64_t bi = -1, n = 0;
          for (std::int64_t d = lo(od, D, out[0]); d < hi(od, D, out[0]); ++d) {
            for (std::int64_t h = lo(oh, H, out[1]); h < hi(oh, H, out[1]); ++h) {
              for (std::int64_t w = lo(ow, W, out[2]); w < hi(ow, W, out[2]); ++w) {
                const std::int64_t i = (d * H + h) * W + w;
                const double e = v[static_cast<std::size_t>(p * D * H * W + i)];
                s += e;
                ++n;
                if (bi < 0 || e > best) {
                  best = e;
                  bi = i;
                }
              }
            }
          }
          r.push_back(max ? best : s / static_cast<double>(n));
          idx.push_back(bi);
        }
      }
    }
  }
  return {r, idx};
}

TEST(AdaptivePool, MatchesTheNaiveDefinitionOnManyShapes) {
  int runs = 0;
  for (const Shape& in : {Shape{1, 1, 1, 1, 1}, Shape{2, 3, 5, 7, 6}, Shape{1, 2, 9, 4, 11}, Shape{3, 1, 2, 8, 3}}) {
    for (const Shape& out : {Shape{1, 1, 1}, Shape{2, 3, 4}, Shape{5, 5, 5}, Shape{3, 1, 7}}) {
      SCOPED_TRACE(shape_str(in) + " -> " + shape_str(out));
      const Tensor x = uniform_leaf(in, -2.0, 2.0, static_cast<std::uint64_t>(++runs));
      const ExpandingArray<3> size{out[0], out[1], out[2]};
      const auto [avg, unused] = naive_adaptive(x, out, false);
      EXPECT_EQ(values(adaptive_avg_pool3d(x, size)), avg);
      auto [mx, idx] = naive_adaptive(x, out, true);
      auto [y, indices] = adaptive_max_pool3d_with_indices(x, size);
      EXPECT_EQ(values(y), mx);
      std::vector<std::int64_t> got;
      const Tensor ic = indices.contiguous();
      for (std::int64_t i = 0; i < ic.numel(); ++i) got.push_back(ic.data_ptr<std::int64_t>()[i]);
      EXPECT_EQ(got, idx);
      // Views of the input give the same result.
      Tensor wide = full({in[0], in[1], in[2], in[3], 2 * in[4]}, NAN, kFloat64);
      const Tensor strided = wide.slice(4, 0, 2 * in[4], 2);
      Tensor(strided).copy_(x.detach());
      expect_close(adaptive_avg_pool3d(strided, size), adaptive_avg_pool3d(x, size), 1e-15);
    }
  }
}

TEST(AdaptivePool, EqualsTheFixedPoolWhenTheSizesDivide) {
  const Tensor x = uniform_leaf({2, 3, 4, 6, 8}, -1.0, 1.0, 5);
  expect_close(adaptive_avg_pool3d(x, {2, 3, 4}), avg_pool3d(x, 2), 1e-15);
  expect_close(adaptive_max_pool3d(x, {2, 3, 4}), max_pool3d(x, 2), 0.0);
  expect_close(adaptive_avg_pool3d(x, 1), x.mean({2, 3, 4}, true), 1e-15);
}

// -------------------------------------------------------------------------------------------------
// gradcheck / gradgradcheck in float64
// -------------------------------------------------------------------------------------------------

TEST(ExtraLayers, GradcheckAndGradgradcheckInFloat64) {
  using V = const std::vector<Tensor>&;
  const Tensor x5 = uniform_leaf({2, 3, 3, 4, 5}, -2.0, 2.0, 31);
  const Tensor x3 = uniform_leaf({2, 3, 5}, -2.0, 2.0, 32);
  const Tensor w3 = uniform_leaf({3}, 0.1, 0.5, 33);
  const Tensor lw = uniform_leaf({4, 5}, 0.5, 1.5, 34), lb = uniform_leaf({4, 5}, -0.5, 0.5, 35);
  const Tensor lx = uniform_leaf({3, 4, 5}, -2.0, 2.0, 36);
  const std::vector<std::pair<std::string, std::pair<autograd::SingleOutputFn, std::vector<Tensor>>>> fns = {
      {"elu", {[](V a) { return F::elu(a[0], F::ELUFuncOptions().alpha(0.7)); }, {x3}}},
      {"prelu per channel", {[](V a) { return F::prelu(a[0], a[1]); }, {x3, w3}}},
      {"softmax", {[](V a) { return F::softmax(a[0], 1); }, {x3}}},
      {"log_softmax", {[](V a) { return F::log_softmax(a[0], -1); }, {x3}}},
      {"layer_norm",
       {[](V a) {
          return F::layer_norm(a[0], F::LayerNormFuncOptions({4, 5}).weight(a[1]).bias(a[2]).eps(1e-3));
        },
        {lx, lw, lb}}},
      {"layer_norm no affine", {[](V a) { return F::layer_norm(a[0], F::LayerNormFuncOptions({5})); }, {lx}}},
      {"adaptive_avg_pool3d",
       {[](V a) {
          return adaptive_avg_pool3d(a[0], {2, 3, 2});
        },
        {x5}}},
      {"adaptive_max_pool3d",
       {[](V a) {
          return adaptive_max_pool3d(a[0], {2, 3, 4});
        },
        {x5}}},
      {"interpolate linear align",
       {[](V a) {
          return F::interpolate(a[0], nn::UpsampleOptions().size(std::int64_t{8}).mode(kLinear).align_corners(true));
        },
        {x3}}},
      {"interpolate bilinear",
       {[](V a) {
          return F::interpolate(a[0].reshape({2, 3, 3, 20}).slice(3, 0, 5),
                                nn::UpsampleOptions().scale_factor(1.7).mode(kBilinear));
        },
        {x5}}},
      {"interpolate area",
       {[](V a) {
          return F::interpolate(a[0], nn::UpsampleOptions().size({2, 3, 3}).mode(kArea));
        },
        {x5}}},
      {"dropout3d (same mask)",
       {[](V a) {
          manual_seed(9);
          return F::dropout3d(a[0], F::Dropout3dFuncOptions().p(0.4));
        },
        {x5}}},
  };
  for (const auto& [name, f] : fns) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(autograd::gradcheck(f.first, f.second));
    EXPECT_TRUE(autograd::gradgradcheck(f.first, f.second));
  }
}

TEST(ExtraLayers, EluAndPReLUHavePyTorchsGradientAtZero) {
  const Tensor x = vt::leaf({-1.0, 0.0, 2.0}, {3});
  F::elu(x, F::ELUFuncOptions().alpha(0.5)).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{0.5 * std::exp(-1.0), 0.5, 1.0}));
  const Tensor y = vt::leaf({-1.0, 0.0, 2.0}, {3});
  const Tensor w = vt::leaf({0.25}, {1});
  F::prelu(y, w).sum().backward();
  EXPECT_EQ(values(y.grad()), (std::vector<double>{0.25, 0.25, 1.0}));
  EXPECT_EQ(values(w.grad()), (std::vector<double>{-1.0}));
  // Large positive inputs keep finite gradients (the unused e^x branch is clamped).
  const Tensor big = vt::leaf({800.0}, {1});
  F::elu(big).sum().backward();
  EXPECT_EQ(values(big.grad()), (std::vector<double>{1.0}));
}

// -------------------------------------------------------------------------------------------------
// Dropout3d
// -------------------------------------------------------------------------------------------------

TEST(Dropout3d, ZeroesWholeChannelsAndScalesTheRest) {
  const Tensor x = ones({4, 6, 2, 3, 2}, kFloat64);
  nn::Dropout3d drop(0.5);
  manual_seed(3);
  const Tensor y = drop(x);
  // Every (n, c) volume is all 0 or all 2.
  const Tensor per = y.reshape({24, 12});
  int zeroed = 0;
  for (std::int64_t i = 0; i < 24; ++i) {
    const std::vector<double> v = values(per.select(0, i));
    const bool all0 = std::all_of(v.begin(), v.end(), [](double e) { return e == 0.0; });
    const bool all2 = std::all_of(v.begin(), v.end(), [](double e) { return e == 2.0; });
    EXPECT_TRUE(all0 || all2) << i;
    zeroed += all0;
  }
  EXPECT_GT(zeroed, 3);
  EXPECT_LT(zeroed, 21);
  // Unbatched (C, D, H, W): dim 0 is the channel.
  manual_seed(4);
  const Tensor u = F::dropout3d(ones({8, 2, 2, 2}, kFloat64), F::Dropout3dFuncOptions().p(0.5));
  EXPECT_EQ(u.sizes(), (Shape{8, 2, 2, 2}));
  for (std::int64_t c = 0; c < 8; ++c) {
    const std::vector<double> v = values(u.select(0, c));
    EXPECT_TRUE(std::all_of(v.begin(), v.end(), [&](double e) { return e == v[0]; })) << c;
  }
  // Eval mode and p = 0 return the input; p = 1 gives zeros.
  drop->eval();
  EXPECT_TRUE(drop(x).is_same(x));
  expect_close(F::dropout3d(x, F::Dropout3dFuncOptions().p(1.0)), zeros_like(x), 0.0);
  EXPECT_TRUE(F::dropout3d(x, F::Dropout3dFuncOptions().p(0.0)).is_same(x));
}

// -------------------------------------------------------------------------------------------------
// Errors
// -------------------------------------------------------------------------------------------------

TEST(ExtraLayerErrors, MessagesNameTheOpAndValues) {
  const Tensor x = zeros({2, 3, 4});
  EXPECT_ERROR_EQ(F::layer_norm(x, F::LayerNormFuncOptions({5})),
                  "layer_norm: Given normalized_shape=[5], expected input with shape [*, 5], but got input of "
                  "size[2, 3, 4]");
  EXPECT_ERROR_EQ(F::layer_norm(x, F::LayerNormFuncOptions({3, 4}).weight(ones({4}))),
                  "layer_norm: Expected weight to be of same shape as normalized_shape, but got weight of shape [4] "
                  "and normalized_shape = [3, 4]");
  EXPECT_ERROR_EQ(F::layer_norm(x, F::LayerNormFuncOptions(std::vector<std::int64_t>{})),
                  "layer_norm: Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
                  "element, but got normalized_shape = []");
  EXPECT_ERROR_EQ(nn::LayerNorm(nn::LayerNormOptions(std::vector<std::int64_t>{})),
                  "LayerNorm: normalized_shape must have at least one dim");
  EXPECT_ERROR_EQ(F::prelu(x, ones({2})),
                  "prelu: Mismatch of parameter numbers and input channel size. Found parameter numbers = 2 and "
                  "channel size = 3.");
  EXPECT_ERROR_EQ(F::prelu(x, ones({3, 1})), "prelu: Expected `weight` to be a scalar or 1D tensor, but got ndim = 2");
  EXPECT_ERROR_EQ(nn::PReLU(nn::PReLUOptions().num_parameters(0)), "PReLU: num_parameters must be at least 1 (got 0)");
  EXPECT_ERROR_EQ(adaptive_avg_pool3d(x, 2), "adaptive_avg_pool3d: Expected 4D or 5D tensor, but got [2, 3, 4]");
  EXPECT_ERROR_EQ(adaptive_max_pool3d(zeros({1, 2, 0, 3, 3}), 2),
                  "adaptive_max_pool3d: Expected input to have non-zero size for non-batch dimensions, but input has "
                  "sizes [1, 2, 0, 3, 3] with dimension 2 being empty");
  EXPECT_ERROR_EQ(adaptive_avg_pool3d(zeros({1, 2, 3, 3, 3}), {2, -1, 2}),
                  "adaptive_avg_pool3d: elements of output_size must be greater than or equal to 0 but received "
                  "(2, -1, 2)");
  EXPECT_ERROR_EQ(F::dropout3d(x, F::Dropout3dFuncOptions().p(0.5)),
                  "dropout3d: expected a 5-D (N, C, D, H, W) or unbatched 4-D (C, D, H, W) input, but got a 3-D input "
                  "of size [2, 3, 4]");
  EXPECT_ERROR_EQ(nn::Dropout3d(1.5), "Dropout3d: dropout probability has to be between 0 and 1, but got 1.5");
  EXPECT_ERROR_EQ(F::interpolate(zeros({1, 2, 3, 4}), nn::UpsampleOptions().size(2).mode(kLinear)),
                  "interpolate: Got 4D input, but linear mode needs 3D input");
  EXPECT_ERROR_EQ(F::interpolate(zeros({1, 2}), nn::UpsampleOptions().size(2)),
                  "interpolate: Input Error: Only 3D, 4D and 5D input Tensors supported (got 2D) for the modes: "
                  "nearest | linear | bilinear | trilinear | area (got nearest)");
  EXPECT_ERROR_EQ(F::interpolate(x, nn::UpsampleOptions().size(2).mode(kArea).align_corners(false)),
                  "interpolate: align_corners option can only be set with the interpolating modes: linear | bilinear "
                  "| bicubic | trilinear");
  EXPECT_ERROR_EQ(F::softmax(x, 3), "softmax: dimension out of range (expected to be in range of [-3, 2], but got 3)");
}

}  // namespace
