// BatchNorm3d, InstanceNorm3d and GroupNorm (modules and F::batch_norm / instance_norm / group_norm):
// train and eval outputs, input/weight/bias gradients and running statistics over several steps
// against PyTorch 1.13 (tests/fixtures/layers/normalization.json, written by
// tests/fixtures/layers/generate.py), initialisation and registered state (names as PyTorch's
// state_dict), printing as PyTorch's repr, float64 gradcheck and gradgradcheck, and error messages.

#include <voxgrad/voxgrad.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "json_fixture.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
using nlohmann::json;
using voxgrad::testing::expect_close;
using voxgrad::testing::values;
namespace vt = voxgrad::testing;
namespace F = voxgrad::nn::functional;

std::string repr_of(const nn::Module& m) {
  std::ostringstream os;
  os << m;
  return os.str();
}

std::vector<std::string> names(const nn::NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

void compare(const Tensor& got, const Tensor& ref) {
  ASSERT_TRUE(got.defined());
  ASSERT_EQ(got.dtype(), ref.dtype());
  if (ref.dtype() == kFloat64) {
    expect_close(got, ref, 1e-10, 1e-10);
  } else {
    expect_close(got, ref, 2e-5, 2e-5);
  }
}

// The module a fixture case describes, with PyTorch's defaults for the options it leaves out.
std::shared_ptr<nn::Module> make_norm(const json& c) {
  const std::string kind = c.at("module");
  const json& a = c.at("args");
  if (kind == "BatchNorm3d") {
    nn::BatchNorm3dOptions o(a.at("num_features").get<std::int64_t>());
    if (a.contains("eps")) o.eps(a.at("eps").get<double>());
    if (a.contains("momentum")) {
      o.momentum(a.at("momentum").is_null() ? std::nullopt : std::optional<double>(a.at("momentum").get<double>()));
    }
    if (a.contains("affine")) o.affine(a.at("affine").get<bool>());
    if (a.contains("track_running_stats")) o.track_running_stats(a.at("track_running_stats").get<bool>());
    return std::make_shared<nn::BatchNorm3dImpl>(o);
  }
  if (kind == "InstanceNorm3d") {
    nn::InstanceNorm3dOptions o(a.at("num_features").get<std::int64_t>());
    if (a.contains("eps")) o.eps(a.at("eps").get<double>());
    if (a.contains("momentum")) o.momentum(a.at("momentum").get<double>());
    if (a.contains("affine")) o.affine(a.at("affine").get<bool>());
    if (a.contains("track_running_stats")) o.track_running_stats(a.at("track_running_stats").get<bool>());
    return std::make_shared<nn::InstanceNorm3dImpl>(o);
  }
  nn::GroupNormOptions o(a.at("num_groups").get<std::int64_t>(), a.at("num_channels").get<std::int64_t>());
  if (a.contains("eps")) o.eps(a.at("eps").get<double>());
  if (a.contains("affine")) o.affine(a.at("affine").get<bool>());
  return std::make_shared<nn::GroupNormImpl>(o);
}

Tensor find(const nn::NamedTensors& named, const std::string& name) {
  for (const auto& [n, t] : named) {
    if (n == name) return t;
  }
  return {};
}

// The largest |a − b| over the largest |b|: one figure for a whole tensor.
double max_relative_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return std::numeric_limits<double>::infinity();
  const std::vector<double> va = values(a), vb = values(b);
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < va.size(); ++i) {
    diff = std::max(diff, std::abs(va[i] - vb[i]));
    scale = std::max(scale, std::abs(vb[i]));
  }
  return diff / std::max(scale, 1e-300);
}

}  // namespace

// -------------------------------------------------------------------------------------------------
// PyTorch fixtures
// -------------------------------------------------------------------------------------------------

TEST(NormalizationFixtures, TrainAndEvalStepsMatchPyTorchOutputsGradientsAndRunningStats) {
  const json fixture = vt::load_fixture("layers/normalization.json");
  ASSERT_GE(fixture.at("cases").size(), 18u);
  for (const json& c : fixture.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    auto m = make_norm(c);
    const json& first = c.at("steps").at(0).at("input");
    const DType dtype = first.at("dtype") == "float32" ? kFloat32 : kFloat64;
    m->to(dtype);
    const Tensor weight = find(m->named_parameters(), "weight"), bias = find(m->named_parameters(), "bias");
    if (!c.at("initial").empty()) {
      NoGradGuard no_grad;
      Tensor(weight).copy_(vt::json_tensor(c.at("initial").at("weight")));
      Tensor(bias).copy_(vt::json_tensor(c.at("initial").at("bias")));
    }
    int step_no = 0;
    for (const json& s : c.at("steps")) {
      SCOPED_TRACE("step " + std::to_string(step_no++) + " (" + s.at("mode").get<std::string>() + ")");
      m->train(s.at("mode") == "train");
      const Tensor x = vt::json_tensor(s.at("input")).requires_grad_();
      const Tensor y = m->forward(x);
      compare(y, vt::json_tensor(s.at("output")));
      std::vector<Tensor> wrt{x};
      if (weight.defined()) wrt.insert(wrt.end(), {weight, bias});
      const std::vector<Tensor> g = autograd::grad({y}, wrt, {vt::json_tensor(s.at("grad_output"))});
      compare(g[0], vt::json_tensor(s.at("grad_input")));
      if (weight.defined()) {
        compare(g[1], vt::json_tensor(s.at("grad_weight")));
        compare(g[2], vt::json_tensor(s.at("grad_bias")));
      } else {
        EXPECT_TRUE(s.at("grad_weight").is_null());
      }
      const nn::NamedTensors buffers = m->named_buffers();
      for (const char* name : {"running_mean", "running_var"}) {
        SCOPED_TRACE(name);
        const Tensor b = find(buffers, name);
        ASSERT_EQ(b.defined(), !s.at(name).is_null());
        if (b.defined()) compare(b, vt::json_tensor(s.at(name)));
      }
      const Tensor nbt = find(buffers, "num_batches_tracked");
      ASSERT_EQ(nbt.defined(), !s.at("num_batches_tracked").is_null());
      if (nbt.defined()) {
        EXPECT_EQ(nbt.dtype(), kInt64);
        EXPECT_EQ(nbt.dim(), 0);
        EXPECT_EQ(nbt.item<std::int64_t>(), s.at("num_batches_tracked").at("data").at(0).get<std::int64_t>());
      }
    }
  }
}

TEST(LayerReprs, NormalizationModulesPrintAsPyTorch) {
  const json r = vt::load_fixture("layers/reprs.json").at("reprs");
  using nn::BatchNorm3dOptions;
  using nn::InstanceNorm3dOptions;
  EXPECT_EQ(repr_of(nn::BatchNorm3dImpl(16)), r.at("bn16"));
  EXPECT_EQ(repr_of(nn::BatchNorm3dImpl(
                BatchNorm3dOptions(8).eps(1e-3).momentum(0.01).affine(false).track_running_stats(false))),
            r.at("bn_options"));
  EXPECT_EQ(repr_of(nn::BatchNorm3dImpl(BatchNorm3dOptions(4).momentum(std::nullopt))), r.at("bn_momentum_none"));
  EXPECT_EQ(repr_of(nn::GroupNormImpl(4, 16)), r.at("gn_4_16"));
  EXPECT_EQ(repr_of(nn::GroupNormImpl(nn::GroupNormOptions(2, 6).eps(1e-6).affine(false))), r.at("gn_options"));
  EXPECT_EQ(repr_of(nn::InstanceNorm3dImpl(16)), r.at("in16"));
  EXPECT_EQ(repr_of(nn::InstanceNorm3dImpl(
                InstanceNorm3dOptions(8).eps(0.001).momentum(0.2).affine(true).track_running_stats(true))),
            r.at("in_options"));
  EXPECT_EQ(repr_of(nn::BatchNorm3dImpl(16)),
            "BatchNorm3d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  EXPECT_EQ(repr_of(nn::GroupNormImpl(4, 16)), "GroupNorm(4, 16, eps=1e-05, affine=True)");
}

// -------------------------------------------------------------------------------------------------
// State and initialisation
// -------------------------------------------------------------------------------------------------

TEST(BatchNorm3dModule, RegistersPyTorchsStateInitialisedAsPyTorch) {
  nn::BatchNorm3dImpl bn(4);
  EXPECT_EQ(names(bn.named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(names(bn.named_buffers()),
            (std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"}));
  EXPECT_EQ(names(bn.state_dict()),
            (std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}));
  vt::expect_values(bn.weight, {4}, {1, 1, 1, 1});
  vt::expect_values(bn.bias, {4}, {0, 0, 0, 0});
  vt::expect_values(bn.running_mean, {4}, {0, 0, 0, 0});
  vt::expect_values(bn.running_var, {4}, {1, 1, 1, 1});
  EXPECT_EQ(bn.weight.dtype(), kFloat32);
  EXPECT_TRUE(bn.weight.requires_grad());
  EXPECT_FALSE(bn.running_mean.requires_grad());
  EXPECT_EQ(bn.num_batches_tracked.dtype(), kInt64);
  EXPECT_EQ(bn.num_batches_tracked.dim(), 0);
  EXPECT_EQ(bn.num_batches_tracked.item<std::int64_t>(), 0);
  EXPECT_EQ(bn.options().eps(), 1e-5);
  EXPECT_EQ(bn.options().momentum(), 0.1);

  nn::BatchNorm3dImpl plain(nn::BatchNorm3dOptions(4).affine(false).track_running_stats(false));
  EXPECT_TRUE(plain.parameters().empty());
  EXPECT_TRUE(plain.buffers().empty());
  EXPECT_FALSE(plain.running_mean.defined());
}

TEST(InstanceNorm3dModule, HasNoStateByDefaultAndPyTorchsStateWhenAsked) {
  nn::InstanceNorm3dImpl in(3);
  EXPECT_TRUE(in.parameters().empty());
  EXPECT_TRUE(in.buffers().empty());
  EXPECT_FALSE(in.options().affine());
  EXPECT_FALSE(in.options().track_running_stats());
  nn::InstanceNorm3dImpl full(nn::InstanceNorm3dOptions(3).affine(true).track_running_stats(true));
  EXPECT_EQ(names(full.state_dict()),
            (std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}));
  vt::expect_values(full.weight, {3}, {1, 1, 1});
  vt::expect_values(full.running_var, {3}, {1, 1, 1});
}

TEST(GroupNormModule, RegistersWeightOneAndBiasZero) {
  nn::GroupNormImpl gn(2, 6);
  EXPECT_EQ(names(gn.named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_TRUE(gn.buffers().empty());
  vt::expect_values(gn.weight, {6}, {1, 1, 1, 1, 1, 1});
  vt::expect_values(gn.bias, {6}, {0, 0, 0, 0, 0, 0});
  EXPECT_TRUE(nn::GroupNormImpl(nn::GroupNormOptions(2, 6).affine(false)).parameters().empty());
}

TEST(BatchNorm3dModule, ConversionToFloat64KeepsTheBatchCounterInt64AndCloneCopiesRunningStats) {
  auto bn = std::make_shared<nn::BatchNorm3dImpl>(3);
  manual_seed(5);
  bn->forward(randn({2, 3, 2, 2, 2}));
  bn->to(kFloat64);
  EXPECT_EQ(bn->running_mean.dtype(), kFloat64);
  EXPECT_EQ(bn->weight.dtype(), kFloat64);
  EXPECT_EQ(bn->num_batches_tracked.dtype(), kInt64);
  auto copy = bn->clone();
  expect_close(copy->running_mean, bn->running_mean, 0.0);
  expect_close(copy->running_var, bn->running_var, 0.0);
  EXPECT_EQ(copy->num_batches_tracked.item<std::int64_t>(), 1);
  EXPECT_FALSE(copy->running_mean.is_same(bn->running_mean));
  // The copy's handles point at its own registry.
  EXPECT_TRUE(find(copy->named_buffers(), "running_mean").is_same(copy->running_mean));
}

// -------------------------------------------------------------------------------------------------
// Behaviour
// -------------------------------------------------------------------------------------------------

TEST(BatchNorm3dModule, TrainingNormalisesPerChannelAndUpdatesRunningStatsWithUnbiasedVariance) {
  nn::BatchNorm3dImpl bn(nn::BatchNorm3dOptions(2).momentum(0.5));
  bn.to(kFloat64);
  // Channel 0 holds 1, 3 (mean 2, biased var 1, unbiased 2); channel 1 holds 10, 10.
  const Tensor x = vt::f64({1, 10, 3, 10}, {2, 2, 1, 1, 1});
  const Tensor y = bn.forward(x);
  const double s = 1.0 / std::sqrt(1.0 + 1e-5);
  vt::expect_values(y, {2, 2, 1, 1, 1}, {-s, 0, s, 0}, 1e-12);
  vt::expect_values(bn.running_mean, {2}, {0.5 * 2, 0.5 * 10}, 1e-12);
  vt::expect_values(bn.running_var, {2}, {0.5 + 0.5 * 2, 0.5 + 0.5 * 0}, 1e-12);
  EXPECT_EQ(bn.num_batches_tracked.item<std::int64_t>(), 1);
  // Eval uses the running statistics and leaves them alone.
  bn.eval();
  const Tensor e = bn.forward(vt::f64({1, 10, 3, 10}, {2, 2, 1, 1, 1}));
  vt::expect_values(e, {2, 2, 1, 1, 1},
                    {(1 - 1) / std::sqrt(1.5 + 1e-5), (10 - 5) / std::sqrt(0.5 + 1e-5), (3 - 1) / std::sqrt(1.5 + 1e-5),
                     (10 - 5) / std::sqrt(0.5 + 1e-5)},
                    1e-12);
  EXPECT_EQ(bn.num_batches_tracked.item<std::int64_t>(), 1);
  vt::expect_values(bn.running_mean, {2}, {1, 5}, 1e-12);
}

TEST(BatchNorm3dModule, MomentumNoneAveragesCumulatively) {
  nn::BatchNorm3dImpl bn(nn::BatchNorm3dOptions(1).momentum(std::nullopt).affine(false));
  bn.to(kFloat64);
  bn.forward(vt::f64({1, 3}, {2, 1, 1, 1, 1}));     // mean 2
  bn.forward(vt::f64({5, 9, 7}, {3, 1, 1, 1, 1}));  // mean 7
  vt::expect_values(bn.running_mean, {1}, {4.5}, 1e-12);
  EXPECT_EQ(bn.num_batches_tracked.item<std::int64_t>(), 2);
}

TEST(BatchNorm3dModule, RunningStatisticsAreNotPartOfTheGraph) {
  nn::BatchNorm3dImpl bn(3);
  manual_seed(6);
  const Tensor x = randn({2, 3, 2, 3, 2}).requires_grad_();
  const Tensor y = bn.forward(x);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_FALSE(bn.running_mean.requires_grad());
  EXPECT_TRUE(bn.running_mean.is_leaf());
  const Tensor before = bn.running_var.clone();
  y.pow(2.0).sum().backward();
  expect_close(bn.running_var, before, 0.0);
  EXPECT_TRUE(x.grad().defined());
  EXPECT_TRUE(bn.weight.grad().defined());
}

TEST(InstanceNorm3dModule, UnbatchedInputIsNormalisedPerChannel) {
  nn::InstanceNorm3dImpl in(2);
  manual_seed(7);
  const Tensor x = randn({2, 3, 4, 5}, kFloat64);
  const Tensor y = in.forward(x);
  EXPECT_EQ(y.sizes(), x.sizes());
  expect_close(y, in.forward(x.unsqueeze(0)).squeeze(0), 0.0);
  expect_close(y.mean({1, 2, 3}), zeros({2}, kFloat64), 1e-12);
  expect_close(y.var({1, 2, 3}, 0), ones({2}, kFloat64), 1e-3);  // var / (var + eps)
}

TEST(GroupNormModule, OneGroupPerChannelIsInstanceNormAndEvalChangesNothing) {
  manual_seed(8);
  const Tensor x = randn({2, 3, 3, 2, 4}, kFloat64);
  nn::GroupNormImpl gn(3, 3);
  gn.to(kFloat64);
  nn::InstanceNorm3dImpl in(3);
  expect_close(gn.forward(x), in.forward(x), 1e-12);
  const Tensor train = gn.forward(x);
  gn.eval();
  expect_close(gn.forward(x), train, 0.0);
}

// -------------------------------------------------------------------------------------------------
// Gradients
// -------------------------------------------------------------------------------------------------

// The statistics are taken chunk by chunk in one pass and merged (norm_kernels.cpp): far from zero,
// across chunk and plane boundaries, the mean and variance stay as exact as a two-pass sum in long
// double, where E[x²] − m² in float64 would lose every digit (x ≈ 1e8, variance ≈ 0.5).
TEST(NormalizationStats, StayExactFarFromZeroAcrossChunksAndPlanes) {
  const std::int64_t N = 2, C = 4, D = 21, H = 20, W = 20, S = D * H * W;  // S: 4 chunks, the last partial
  std::vector<double> v(static_cast<std::size_t>(N * C * S));
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto k = static_cast<double>(i);
    v[i] = 1e8 + std::sin(k * 0.37) + 3e-5 * static_cast<double>(i % 16800);  // a drift from chunk to chunk
  }
  // Reference: per stat group (its elements listed by `in`), two passes in long double.
  const auto normalised = [&](auto&& in, std::int64_t count) {
    long double m = 0, q = 0;
    for (std::int64_t j = 0; j < count; ++j) m += static_cast<long double>(v[in(j)]);
    m /= count;
    for (std::int64_t j = 0; j < count; ++j) q += (v[in(j)] - m) * (v[in(j)] - m);
    const long double r = 1.0L / std::sqrt(q / count + 1e-5L);
    std::vector<std::pair<std::size_t, double>> out;
    for (std::int64_t j = 0; j < count; ++j) out.emplace_back(in(j), static_cast<double>((v[in(j)] - m) * r));
    return out;
  };
  const Tensor x = vt::f64(v, {N, C, D, H, W});
  for (const bool group : {true, false}) {
    SCOPED_TRACE(group ? "group_norm, 2 groups" : "batch_norm, training");
    const Tensor y = group ? F::group_norm(x, F::GroupNormFuncOptions(2))
                           : F::batch_norm(x, Tensor(), Tensor(), F::BatchNormFuncOptions().training(true));
    const std::vector<double> got = values(y);
    double worst = 0.0;
    const std::int64_t stats = group ? N * 2 : C;
    for (std::int64_t g = 0; g < stats; ++g) {
      // group_norm: planes (n, 2·(g mod 2) …) of sample g / 2 in order; batch_norm: channel g of each sample.
      const auto in = [&](std::int64_t j) -> std::size_t {
        const std::int64_t plane = group ? (g / 2) * C + (g % 2) * 2 + j / S : (j / S) * C + g;
        return static_cast<std::size_t>(plane * S + j % S);
      };
      for (const auto& [i, want] : normalised(in, group ? 2 * S : N * S))
        worst = std::max(worst, std::abs(got[i] - want));
    }
    EXPECT_LT(worst, 1e-7);
  }
}

TEST(NormalizationGrad, BatchNormGradcheckAndGradgradcheckInTrainAndEval) {
  const Tensor x = vt::uniform_leaf({2, 3, 2, 3, 2}, -2.0, 2.0, 11);
  const Tensor w = vt::uniform_leaf({3}, 0.5, 1.5, 12), b = vt::uniform_leaf({3}, -1.0, 1.0, 13);
  const Tensor rm = vt::uniform_leaf({3}, -0.5, 0.5, 14).detach(), rv = vt::uniform_leaf({3}, 0.5, 1.5, 15).detach();
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "train" : "eval");
    const autograd::SingleOutputFn fn = [&](const std::vector<Tensor>& in) {
      // Fresh running statistics per call: training updates them in place.
      return F::batch_norm(in[0], rm.clone(), rv.clone(),
                           F::BatchNormFuncOptions().weight(in[1]).bias(in[2]).training(training).eps(1e-3));
    };
    EXPECT_TRUE(autograd::gradcheck(fn, {x, w, b}));
    EXPECT_TRUE(autograd::gradgradcheck(fn, {x, w, b}));
  }
}

TEST(NormalizationGrad, InstanceNormGradcheckAndGradgradcheck) {
  const Tensor x = vt::uniform_leaf({2, 2, 2, 3, 2}, -2.0, 2.0, 21);
  const Tensor w = vt::uniform_leaf({2}, 0.5, 1.5, 22), b = vt::uniform_leaf({2}, -1.0, 1.0, 23);
  const autograd::SingleOutputFn fn = [](const std::vector<Tensor>& in) {
    return F::instance_norm(in[0], F::InstanceNormFuncOptions().weight(in[1]).bias(in[2]));
  };
  EXPECT_TRUE(autograd::gradcheck(fn, {x, w, b}));
  EXPECT_TRUE(autograd::gradgradcheck(fn, {x, w, b}));
  const Tensor rm = zeros({2}, kFloat64), rv = ones({2}, kFloat64);
  const autograd::SingleOutputFn running = [&](const std::vector<Tensor>& in) {
    return F::instance_norm(in[0],
                            F::InstanceNormFuncOptions().running_mean(rm).running_var(rv).use_input_stats(false));
  };
  EXPECT_TRUE(autograd::gradcheck(running, {x}));
}

TEST(NormalizationGrad, GroupNormGradcheckAndGradgradcheck) {
  const Tensor x = vt::uniform_leaf({2, 4, 2, 2, 3}, -2.0, 2.0, 31);
  const Tensor w = vt::uniform_leaf({4}, 0.5, 1.5, 32), b = vt::uniform_leaf({4}, -1.0, 1.0, 33);
  const autograd::SingleOutputFn fn = [](const std::vector<Tensor>& in) {
    return F::group_norm(in[0], F::GroupNormFuncOptions(2).weight(in[1]).bias(in[2]));
  };
  EXPECT_TRUE(autograd::gradcheck(fn, {x, w, b}));
  EXPECT_TRUE(autograd::gradgradcheck(fn, {x, w, b}));
}

TEST(NormalizationGrad, RecordedBackwardGivesTheSameFirstOrderGradientsAsTheFusedOne) {
  // With batch statistics the first-order backward is a fused kernel; under create_graph it is
  // rebuilt from differentiable ops. Both must agree (gradgradcheck alone would not notice a wrong
  // but self-consistent recorded formula).
  const Tensor x = vt::uniform_leaf({2, 4, 3, 2, 3}, -2.0, 2.0, 61);
  const Tensor w = vt::uniform_leaf({4}, 0.5, 1.5, 62), b = vt::uniform_leaf({4}, -1.0, 1.0, 63);
  const Tensor go = vt::uniform_leaf({2, 4, 3, 2, 3}, -1.0, 1.0, 64).detach();
  const std::vector<std::function<Tensor(bool)>> norms{
      [&](bool affine) {
        return F::batch_norm(
            x, {}, {},
            F::BatchNormFuncOptions().training(true).weight(affine ? w : Tensor()).bias(affine ? b : Tensor()));
      },
      [&](bool affine) {
        return F::instance_norm(x,
                                F::InstanceNormFuncOptions().weight(affine ? w : Tensor()).bias(affine ? b : Tensor()));
      },
      [&](bool affine) {
        return F::group_norm(x, F::GroupNormFuncOptions(2).weight(affine ? w : Tensor()).bias(affine ? b : Tensor()));
      }};
  for (std::size_t k = 0; k < norms.size(); ++k) {
    for (bool affine : {true, false}) {
      SCOPED_TRACE("norm " + std::to_string(k) + (affine ? " affine" : ""));
      const std::vector<Tensor> wrt = affine ? std::vector<Tensor>{x, w, b} : std::vector<Tensor>{x};
      const std::vector<Tensor> fused = autograd::grad({norms[k](affine)}, wrt, {go});
      const std::vector<Tensor> recorded = autograd::grad({norms[k](affine)}, wrt, {go}, std::nullopt, true);
      ASSERT_EQ(fused.size(), recorded.size());
      EXPECT_TRUE(recorded[0].requires_grad());  // dx depends on x (db = Σ dy does not)
      for (std::size_t i = 0; i < fused.size(); ++i) expect_close(recorded[i], fused[i], 1e-12, 1e-12);
    }
  }
}

TEST(NormalizationGrad, FusedBackwardMatchesTheRecordedOneOnPlanesOfManyChunks) {
  // The fused kernels take each plane in chunks (128 elements for the backward's sums, 2 048 for the
  // statistics), each with lanes of partial sums; the tests above use planes of a few elements, which
  // end inside one chunk's first lanes, and those with larger planes (test_group_norm_relu.cpp,
  // test_normalization_isa.cpp) compare the fused kernels with themselves. Planes of 315 (two chunks and a tail) and 4
  // 352 elements (34 chunks; two statistics chunks and a tail), in float64 against the recorded backward (ordinary
  // reductions), and in float32 against that recorded float64 backward.
  for (const Shape& shape : {Shape{2, 4, 5, 7, 9}, Shape{1, 4, 16, 16, 17}}) {
    const Tensor x = vt::uniform_leaf(shape, -2.0, 2.0, 71);
    const Tensor go = vt::uniform_leaf(shape, -1.0, 1.0, 72).detach();
    const Tensor w = vt::uniform_leaf({4}, 0.5, 1.5, 73), b = vt::uniform_leaf({4}, -1.0, 1.0, 74);
    // Each norm of (x, w, b); `fused_relu` runs group_norm_relu, whose reference is relu(group_norm).
    const std::vector<std::function<Tensor(const Tensor&, const Tensor&, const Tensor&, bool)>> norms{
        [](const Tensor& in, const Tensor& wt, const Tensor& bs, bool) {
          return F::batch_norm(in, {}, {}, F::BatchNormFuncOptions().training(true).weight(wt).bias(bs));
        },
        [](const Tensor& in, const Tensor& wt, const Tensor& bs, bool) {
          return F::instance_norm(in, F::InstanceNormFuncOptions().weight(wt).bias(bs));
        },
        [](const Tensor& in, const Tensor& wt, const Tensor& bs, bool) {
          return F::group_norm(in, F::GroupNormFuncOptions(2).weight(wt).bias(bs));
        },
        [](const Tensor& in, const Tensor& wt, const Tensor& bs, bool fused) {
          const auto o = F::GroupNormFuncOptions(2).weight(wt).bias(bs);
          return fused ? F::group_norm_relu(in, o) : relu(F::group_norm(in, o));
        }};
    for (std::size_t k = 0; k < norms.size(); ++k) {
      SCOPED_TRACE("shape " + std::to_string(shape[4]) + ", norm " + std::to_string(k));
      const std::vector<Tensor> ref =
          autograd::grad({norms[k](x, w, b, false)}, {x, w, b}, {go}, std::nullopt, /*create_graph=*/true);
      const std::vector<Tensor> fused = autograd::grad({norms[k](x, w, b, true)}, {x, w, b}, {go});
      const Tensor x32 = x.to(kFloat32).detach().requires_grad_(true);
      const Tensor w32 = w.to(kFloat32).detach().requires_grad_(true),
                   b32 = b.to(kFloat32).detach().requires_grad_(true);
      const std::vector<Tensor> f32 =
          autograd::grad({norms[k](x32, w32, b32, true)}, {x32, w32, b32}, {go.to(kFloat32)});
      for (std::size_t i = 0; i < ref.size(); ++i) {
        SCOPED_TRACE("gradient " + std::to_string(i));
        EXPECT_LE(max_relative_diff(fused[i], ref[i]), 1e-13);
        EXPECT_LE(max_relative_diff(f32[i], ref[i]), 5e-7);
      }
    }
  }
}

TEST(NormalizationGrad, MixedDtypeOperandsFallBackToTheCompositeWithTheSameResults) {
  manual_seed(65);
  const Tensor x = randn({2, 4, 3, 2, 3}, kFloat64).requires_grad_();
  const Tensor w64 = (rand({4}, kFloat64) + 0.5).requires_grad_();
  const Tensor w32 = w64.detach().to(kFloat32).requires_grad_();
  const Tensor same = F::group_norm(x, F::GroupNormFuncOptions(2).weight(w64));
  const Tensor mixed = F::group_norm(x, F::GroupNormFuncOptions(2).weight(w32));
  EXPECT_EQ(mixed.dtype(), kFloat64);
  // The weights differ by their float32 rounding only.
  expect_close(mixed, same, 1e-6, 1e-6);
  const Tensor go = randn({2, 4, 3, 2, 3}, kFloat64);
  expect_close(autograd::grad({mixed}, {x}, {go})[0], autograd::grad({same}, {x}, {go})[0], 1e-6, 1e-6);
  // Batch and instance norm, with their running statistics.
  const Tensor rm64 = zeros({4}, kFloat64), rv64 = ones({4}, kFloat64);
  const Tensor rm32 = zeros({4}), rv32 = ones({4});
  expect_close(F::batch_norm(x, rm32, rv32, F::BatchNormFuncOptions().training(true).weight(w32)),
               F::batch_norm(x, rm64, rv64, F::BatchNormFuncOptions().training(true).weight(w64)), 1e-6, 1e-6);
  expect_close(rm32, rm64, 1e-6, 1e-6);
  expect_close(rv32, rv64, 1e-6, 1e-6);
  expect_close(F::instance_norm(x, F::InstanceNormFuncOptions().running_mean(rm32).running_var(rv32).bias(w32)),
               F::instance_norm(x, F::InstanceNormFuncOptions().running_mean(rm64).running_var(rv64).bias(w64)), 1e-6,
               1e-6);
  expect_close(rm32, rm64, 1e-6, 1e-6);
  expect_close(rv32, rv64, 1e-6, 1e-6);
}

TEST(NormalizationGrad, ModulesGradcheckInFloat64) {
  const Tensor x = vt::uniform_leaf({2, 4, 2, 3, 2}, -2.0, 2.0, 41);
  std::vector<std::shared_ptr<nn::Module>> modules{
      std::make_shared<nn::BatchNorm3dImpl>(4),
      std::make_shared<nn::InstanceNorm3dImpl>(nn::InstanceNorm3dOptions(4).affine(true)),
      std::make_shared<nn::GroupNormImpl>(2, 4)};
  auto eval_bn = std::make_shared<nn::BatchNorm3dImpl>(4);
  eval_bn->eval();
  modules.push_back(eval_bn);
  for (const auto& m : modules) {
    SCOPED_TRACE(repr_of(*m));
    m->to(kFloat64);
    const autograd::SingleOutputFn fn = [m](const std::vector<Tensor>& in) { return m->forward(in[0]); };
    EXPECT_TRUE(autograd::gradcheck(fn, {x}));
    EXPECT_TRUE(autograd::gradgradcheck(fn, {x}));
  }
}

// -------------------------------------------------------------------------------------------------
// Errors
// -------------------------------------------------------------------------------------------------

TEST(NormalizationErrors, BatchNorm) {
  nn::BatchNorm3dImpl bn(3);
  EXPECT_ERROR_EQ(bn.forward(zeros({3, 2, 2, 2})), "BatchNorm3d: expected 5D input (got 4D input)");
  EXPECT_ERROR_EQ(bn.forward(zeros({1, 3, 1, 1, 1})),
                  "batch_norm: Expected more than 1 value per channel when training, got input size [1, 3, 1, 1, 1]");
  EXPECT_ERROR_EQ(bn.forward(zeros({2, 4, 1, 1, 1})), "batch_norm: running_mean should contain 4 elements not 3");
  bn.eval();
  EXPECT_NO_THROW(bn.forward(zeros({1, 3, 1, 1, 1})));  // one value per channel is fine in eval
  EXPECT_ERROR_EQ(F::batch_norm(zeros({2, 3, 2}), {}, {}),
                  "batch_norm: running_mean must be defined in evaluation mode");
  EXPECT_ERROR_EQ(F::batch_norm(zeros({2, 3, 2}), zeros({3}), {}),
                  "batch_norm: running_var must be defined in evaluation mode");
  EXPECT_ERROR_EQ(F::batch_norm(zeros({2, 3, 2}), {}, {}, F::BatchNormFuncOptions().training(true).weight(ones({4}))),
                  "batch_norm: weight should contain 3 elements not 4");
  EXPECT_ERROR_EQ(F::batch_norm(zeros({3}), {}, {}, F::BatchNormFuncOptions().training(true)),
                  "batch_norm: expected an input of shape (N, C, *) with at least 2 dims, but got input of size [3]");
  EXPECT_ERROR_EQ(F::batch_norm(zeros({2, 3}, kInt64), {}, {}, F::BatchNormFuncOptions().training(true)),
                  "batch_norm: expected a float32 or float64 input, but got int64");
}

TEST(NormalizationErrors, InstanceNorm) {
  nn::InstanceNorm3dImpl in(3);
  EXPECT_ERROR_EQ(in.forward(zeros({3, 2, 2})), "InstanceNorm3d: expected 4D or 5D input (got 3D input)");
  EXPECT_ERROR_EQ(in.forward(zeros({1, 3, 1, 1, 1})),
                  "instance_norm: Expected more than 1 spatial element when training, got input size [1, 3, 1, 1, 1]");
  EXPECT_ERROR_EQ(nn::InstanceNorm3dImpl(nn::InstanceNorm3dOptions(3).affine(true)).forward(zeros({2, 4, 2, 2, 2})),
                  "InstanceNorm3d: expected input's size at dim=1 to match num_features (3), but got: 4.");
  EXPECT_ERROR_EQ(F::instance_norm(zeros({2, 3, 2}), F::InstanceNormFuncOptions().use_input_stats(false)),
                  "instance_norm: Expected running_mean and running_var to be defined when use_input_stats is false");
  EXPECT_ERROR_EQ(F::instance_norm(zeros({2, 3, 2}), F::InstanceNormFuncOptions().running_mean(zeros({4}))),
                  "instance_norm: running_mean should contain 3 elements not 4");
}

TEST(NormalizationErrors, GroupNorm) {
  EXPECT_ERROR_EQ(nn::GroupNormImpl(3, 16),
                  "GroupNorm: num_channels must be divisible by num_groups (got num_channels=16, num_groups=3)");
  EXPECT_ERROR_EQ(nn::GroupNormImpl(0, 16), "GroupNorm: num_groups must be positive (got 0)");
  nn::GroupNormImpl gn(4, 16);
  EXPECT_ERROR_EQ(gn.forward(zeros({2, 8, 2, 2, 2})),
                  "group_norm: Expected weight to be a vector of size equal to the number of channels in input, but "
                  "got weight of shape [16] and input of shape [2, 8, 2, 2, 2]");
  EXPECT_ERROR_EQ(F::group_norm(zeros({2, 8, 2, 2, 2}), 3),
                  "group_norm: Expected number of channels in input to be divisible by num_groups, but got input of "
                  "shape [2, 8, 2, 2, 2] and num_groups=3");
  EXPECT_ERROR_EQ(F::group_norm(zeros({8}), 4),
                  "group_norm: Expected at least 2 dimensions for input tensor but received 1");
  EXPECT_ERROR_EQ(F::group_norm(zeros({1, 4}), 4),
                  "group_norm: Expected more than 1 value per channel when training, got input size [1, 4]");
  EXPECT_ERROR_EQ(F::group_norm(zeros({2, 4, 3}), F::GroupNormFuncOptions(2).bias(ones({3}))),
                  "group_norm: Expected bias to be a vector of size equal to the number of channels in input, but got "
                  "bias of shape [3] and input of shape [2, 4, 3]");
}

// -------------------------------------------------------------------------------------------------
// Threads
// -------------------------------------------------------------------------------------------------

// The kernels run stat group by stat group when groups fit in half of L2 and there are at least 4 per
// thread, else in passes over all planes: 1, 2 and 8 threads take batch norm's 8 groups, group norm's
// 6 and instance norm's 24 (a few KiB each) through both ways.
TEST(NormalizationThreads, OneTwoAndEightThreadsGiveBitIdenticalOutputsGradientsAndRunningStats) {
  vt::RestoreTwoThreads restore;
  manual_seed(51);
  const Tensor x0 = randn({3, 8, 9, 10, 11});
  const Tensor go = randn({3, 8, 9, 10, 11});
  const int threads[3] = {1, 2, 8};
  std::vector<Tensor> results[3];
  for (int t = 0; t < 3; ++t) {
    set_num_threads(threads[t]);
    auto bn = std::make_shared<nn::BatchNorm3dImpl>(8);
    auto gn = std::make_shared<nn::GroupNormImpl>(2, 8);
    auto in =
        std::make_shared<nn::InstanceNorm3dImpl>(nn::InstanceNorm3dOptions(8).affine(true).track_running_stats(true));
    const Tensor x = x0.clone().requires_grad_();
    const Tensor y = bn->forward(x) + gn->forward(x) + in->forward(x);
    y.backward(go);
    results[t] = {
        y, x.grad(), bn->weight.grad(), gn->weight.grad(), in->bias.grad(), bn->running_var, in->running_mean};
  }
  for (int t = 1; t < 3; ++t) {
    for (std::size_t i = 0; i < results[0].size(); ++i) {
      EXPECT_TRUE(vt::bit_identical(results[0][i], results[t][i]))
          << "result " << i << ", " << threads[t] << " threads";
    }
  }
}
