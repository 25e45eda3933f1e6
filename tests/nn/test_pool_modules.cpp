// MaxPool3d, AvgPool3d and Upsample modules (and F::max_pool3d / avg_pool3d / interpolate): values,
// indices and gradients against PyTorch 1.13 (tests/fixtures/layers/{pooling,upsampling}.json, written
// by tests/fixtures/layers/generate.py), printing exactly as PyTorch's repr (reprs.json), options and
// defaults, float64 gradcheck and gradgradcheck of every module, and F::interpolate's errors.

#include <voxgrad/voxgrad.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
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

ExpandingArray<3> triple(const json& j) { return j.get<std::array<std::int64_t, 3>>(); }

std::string repr_of(const nn::Module& m) {
  std::ostringstream os;
  os << m;
  return os.str();
}

nn::MaxPool3dOptions max_options(const json& c) {
  nn::MaxPool3dOptions o(triple(c.at("kernel")));
  if (!c.at("stride").is_null()) o.stride(triple(c.at("stride")));
  return o.padding(triple(c.at("padding"))).dilation(triple(c.at("dilation"))).ceil_mode(c.at("ceil_mode"));
}

nn::AvgPool3dOptions avg_options(const json& c) {
  nn::AvgPool3dOptions o(triple(c.at("kernel")));
  if (!c.at("stride").is_null()) o.stride(triple(c.at("stride")));
  o.padding(triple(c.at("padding"))).ceil_mode(c.at("ceil_mode")).count_include_pad(c.at("count_include_pad"));
  if (!c.at("divisor_override").is_null()) o.divisor_override(c.at("divisor_override").get<std::int64_t>());
  return o;
}

nn::UpsampleOptions upsample_options(const json& c) {
  nn::UpsampleOptions o;
  const json& size = c.at("size");
  if (size.is_number()) o.size(size.get<std::int64_t>());
  if (size.is_array()) o.size(size.get<std::vector<std::int64_t>>());
  const json& scale = c.at("scale_factor");
  if (scale.is_number()) o.scale_factor(scale.get<double>());
  if (scale.is_array()) o.scale_factor(scale.get<std::vector<double>>());
  o.mode(c.at("mode") == "nearest" ? kNearest : kTrilinear);
  if (!c.at("align_corners").is_null()) o.align_corners(c.at("align_corners").get<bool>());
  if (!c.at("recompute_scale_factor").is_null()) o.recompute_scale_factor(c.at("recompute_scale_factor").get<bool>());
  return o;
}

}  // namespace

// -------------------------------------------------------------------------------------------------
// PyTorch fixtures
// -------------------------------------------------------------------------------------------------

TEST(PoolingFixtures, MaxAndAvgPoolMatchPyTorchValuesIndicesAndGradients) {
  const json fixture = vt::load_fixture("layers/pooling.json");
  ASSERT_GE(fixture.at("cases").size(), 18u);
  for (const json& c : fixture.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const Tensor x = vt::json_tensor(c.at("input")).requires_grad_();
    Tensor y;
    if (c.at("op") == "max_pool3d") {
      auto pool = std::make_shared<nn::MaxPool3dImpl>(max_options(c));
      auto [values_out, indices] = pool->forward_with_indices(x);
      y = values_out;
      EXPECT_EQ(indices.dtype(), kInt64);
      expect_close(indices, vt::json_tensor(c.at("indices")), 0.0);
      // forward() gives the same values.
      expect_close(pool->forward(x), y, 0.0);
    } else {
      y = std::make_shared<nn::AvgPool3dImpl>(avg_options(c))->forward(x);
    }
    vt::expect_matches_fixture(y, vt::json_tensor(c.at("output")));
    const Tensor gi = autograd::grad({y}, {x}, {vt::json_tensor(c.at("grad_output"))})[0];
    vt::expect_matches_fixture(gi, vt::json_tensor(c.at("grad_input")));
  }
}

TEST(UpsamplingFixtures, NearestAndTrilinearMatchPyTorchValuesAndGradients) {
  const json fixture = vt::load_fixture("layers/upsampling.json");
  ASSERT_GE(fixture.at("cases").size(), 19u);
  int non_adjoint = 0;
  for (const json& c : fixture.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const Tensor x = vt::json_tensor(c.at("input")).requires_grad_();
    auto up = std::make_shared<nn::UpsampleImpl>(upsample_options(c));
    const Tensor y = up->forward(x);
    vt::expect_matches_fixture(y, vt::json_tensor(c.at("output")));
    const Tensor gi = autograd::grad({y}, {x}, {vt::json_tensor(c.at("grad_output"))})[0];
    if (c.at("torch_backward_is_adjoint").get<bool>()) {
      vt::expect_matches_fixture(gi, vt::json_tensor(c.at("grad_input")));
    } else {
      // PyTorch's backward shortcut (identity where out == in) is not the adjoint of its forward;
      // ours is, and is compared with the adjoint the generator built from PyTorch's forward.
      ++non_adjoint;
      vt::expect_matches_fixture(gi, vt::json_tensor(c.at("grad_input_adjoint")));
    }
    // The functional form agrees with the module.
    expect_close(F::interpolate(x, upsample_options(c)), y, 0.0);
  }
  EXPECT_GE(non_adjoint, 1);
}

TEST(LayerReprs, PoolingAndUpsampleModulesPrintAsPyTorch) {
  const json r = vt::load_fixture("layers/reprs.json").at("reprs");
  using nn::AvgPool3dOptions;
  using nn::MaxPool3dOptions;
  using nn::UpsampleOptions;
  EXPECT_EQ(repr_of(nn::MaxPool3dImpl(2)), r.at("max_k2"));
  EXPECT_EQ(repr_of(nn::MaxPool3dImpl(MaxPool3dOptions(3).stride(2).padding(1).ceil_mode(true))),
            r.at("max_k3_s2_p1_ceil"));
  EXPECT_EQ(repr_of(nn::MaxPool3dImpl(MaxPool3dOptions({1, 2, 2}).padding({0, 1, 1}).dilation({1, 2, 1}))),
            r.at("max_mixed"));
  EXPECT_EQ(repr_of(nn::AvgPool3dImpl(2)), r.at("avg_k2"));
  EXPECT_EQ(repr_of(nn::AvgPool3dImpl(AvgPool3dOptions(3).stride(2).padding(1).count_include_pad(false))),
            r.at("avg_k3_s2_p1_exclude"));
  EXPECT_EQ(repr_of(nn::AvgPool3dImpl(AvgPool3dOptions({1, 2, 2}).stride(1).padding({0, 1, 1}).ceil_mode(true))),
            r.at("avg_mixed"));
  EXPECT_EQ(repr_of(nn::UpsampleImpl(UpsampleOptions().scale_factor(2))), r.at("up_scale2"));
  EXPECT_EQ(repr_of(nn::UpsampleImpl(UpsampleOptions().scale_factor({2, 1.5, 1}).mode(kTrilinear).align_corners(true))),
            r.at("up_scale_tuple_trilinear"));
  EXPECT_EQ(repr_of(nn::UpsampleImpl(UpsampleOptions().size(8))), r.at("up_size_int"));
  EXPECT_EQ(repr_of(nn::UpsampleImpl(UpsampleOptions().size({4, 8, 8}).mode(kTrilinear))), r.at("up_size_tuple"));
  // The strings themselves, so a regenerated fixture cannot silently change them.
  EXPECT_EQ(repr_of(nn::MaxPool3dImpl(2)),
            "MaxPool3d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  EXPECT_EQ(repr_of(nn::UpsampleImpl(UpsampleOptions().scale_factor(2.0))), "Upsample(scale_factor=2.0, mode=nearest)");
}

// -------------------------------------------------------------------------------------------------
// Options and modules
// -------------------------------------------------------------------------------------------------

TEST(MaxPool3dModule, OptionsDefaultAsPyTorch) {
  const nn::MaxPool3dOptions o(3);
  EXPECT_EQ(o.kernel_size(), ExpandingArray<3>(3));
  EXPECT_EQ(o.stride(), ExpandingArray<3>(3));  // stride defaults to the kernel size
  EXPECT_EQ(o.padding(), ExpandingArray<3>(0));
  EXPECT_EQ(o.dilation(), ExpandingArray<3>(1));
  EXPECT_FALSE(o.ceil_mode());
  const nn::AvgPool3dOptions a({1, 2, 2});
  EXPECT_EQ(a.stride(), ExpandingArray<3>({1, 2, 2}));
  EXPECT_TRUE(a.count_include_pad());
  EXPECT_FALSE(a.divisor_override().has_value());
  const nn::UpsampleOptions u;
  EXPECT_FALSE(u.size().has_value());
  EXPECT_FALSE(u.scale_factor().has_value());
  EXPECT_EQ(u.mode(), kNearest);
  EXPECT_FALSE(u.align_corners().has_value());
}

TEST(MaxPool3dModule, HasNoParametersAndWorksUnbatchedAndInContainers) {
  auto pool = std::make_shared<nn::MaxPool3dImpl>(2);
  EXPECT_TRUE(pool->parameters().empty());
  EXPECT_TRUE(pool->buffers().empty());
  manual_seed(1);
  const Tensor x = randn({3, 4, 6, 5});
  EXPECT_EQ(pool->forward(x).sizes(), (Shape{3, 2, 3, 2}));
  auto copy = pool->clone();
  expect_close(copy->forward(x), pool->forward(x), 0.0);
  EXPECT_EQ(repr_of(*copy), repr_of(*pool));
}

TEST(PoolModules, MatchTheOpsAndFunctionalForms) {
  manual_seed(2);
  const Tensor x = randn({2, 3, 7, 6, 5}, kFloat64);
  const auto mo =
      nn::MaxPool3dOptions({3, 2, 3}).stride({2, 1, 2}).padding({1, 0, 1}).dilation({1, 2, 1}).ceil_mode(true);
  expect_close(nn::MaxPool3dImpl(mo).forward(x),
               max_pool3d(x, {3, 2, 3}, ExpandingArray<3>({2, 1, 2}), {1, 0, 1}, {1, 2, 1}, true), 0.0);
  expect_close(F::max_pool3d(x, mo), nn::MaxPool3dImpl(mo).forward(x), 0.0);
  const auto ao = nn::AvgPool3dOptions(3).stride(2).padding(1).count_include_pad(false).divisor_override(4);
  expect_close(nn::AvgPool3dImpl(ao).forward(x), avg_pool3d(x, 3, 2, 1, false, false, 4), 0.0);
  expect_close(F::avg_pool3d(x, ao), nn::AvgPool3dImpl(ao).forward(x), 0.0);
}

TEST(PoolModules, GradcheckAndGradgradcheckInFloat64) {
  const Tensor x = vt::uniform_leaf({2, 2, 5, 4, 5}, -1.0, 1.0, 3);
  for (const auto& m : std::vector<std::shared_ptr<nn::Module>>{
           std::make_shared<nn::MaxPool3dImpl>(nn::MaxPool3dOptions(3).stride(2).padding(1).ceil_mode(true)),
           std::make_shared<nn::MaxPool3dImpl>(nn::MaxPool3dOptions({2, 3, 2}).stride(1).dilation({2, 1, 1})),
           std::make_shared<nn::AvgPool3dImpl>(nn::AvgPool3dOptions(3).stride(2).padding(1).count_include_pad(false)),
           std::make_shared<nn::AvgPool3dImpl>(nn::AvgPool3dOptions({2, 2, 3}).ceil_mode(true))}) {
    SCOPED_TRACE(repr_of(*m));
    const autograd::SingleOutputFn fn = [m](const std::vector<Tensor>& in) { return m->forward(in[0]); };
    EXPECT_TRUE(autograd::gradcheck(fn, {x}));
    EXPECT_TRUE(autograd::gradgradcheck(fn, {x}));
  }
}

TEST(UpsampleModule, GradcheckAndGradgradcheckInFloat64) {
  const Tensor x = vt::uniform_leaf({1, 2, 3, 4, 3}, -1.0, 1.0, 4);
  using nn::UpsampleOptions;
  for (const UpsampleOptions& o : {UpsampleOptions().scale_factor(2.0), UpsampleOptions().size({5, 3, 7}),
                                   UpsampleOptions().scale_factor({1.5, 0.75, 2.5}).mode(kTrilinear),
                                   UpsampleOptions().size({5, 7, 2}).mode(kTrilinear).align_corners(true)}) {
    auto up = std::make_shared<nn::UpsampleImpl>(o);
    SCOPED_TRACE(repr_of(*up));
    const autograd::SingleOutputFn fn = [up](const std::vector<Tensor>& in) { return up->forward(in[0]); };
    EXPECT_TRUE(autograd::gradcheck(fn, {x}));
    EXPECT_TRUE(autograd::gradgradcheck(fn, {x}));
  }
}

TEST(UpsampleModule, ScaleFactorGivesFloorOfInTimesFactor) {
  const Tensor x = zeros({1, 1, 3, 4, 5});
  EXPECT_EQ(nn::UpsampleImpl(nn::UpsampleOptions().scale_factor(1.7)).forward(x).sizes(), (Shape{1, 1, 5, 6, 8}));
  EXPECT_EQ(nn::UpsampleImpl(nn::UpsampleOptions().scale_factor({2, 0.5, 1})).forward(x).sizes(),
            (Shape{1, 1, 6, 2, 5}));
  EXPECT_EQ(nn::UpsampleImpl(nn::UpsampleOptions().size(7)).forward(x).sizes(), (Shape{1, 1, 7, 7, 7}));
}

TEST(UpsampleModule, RecomputeScaleFactorSamplesWithInOverOut) {
  // size 3 with factor 1.3: output 3; 1/1.3 sampling gives sources 0 0 1, in/out gives 0 1 2.
  const Tensor x = vt::f64({10, 20, 30}, {1, 1, 1, 1, 3});
  using nn::UpsampleOptions;
  vt::expect_values(F::interpolate(x, UpsampleOptions().scale_factor({1, 1, 1.3})), {1, 1, 1, 1, 3}, {10, 10, 20});
  vt::expect_values(F::interpolate(x, UpsampleOptions().scale_factor({1, 1, 1.3}).recompute_scale_factor(true)),
                    {1, 1, 1, 1, 3}, {10, 20, 30});
}

// -------------------------------------------------------------------------------------------------
// Errors
// -------------------------------------------------------------------------------------------------

TEST(InterpolateErrors, OptionsAreCheckedWithPyTorchsMessages) {
  const Tensor x = zeros({1, 1, 3, 4, 5});
  using nn::UpsampleOptions;
  EXPECT_ERROR_EQ(F::interpolate(x, UpsampleOptions()), "interpolate: either size or scale_factor should be defined");
  EXPECT_ERROR_EQ(F::interpolate(x, UpsampleOptions().size(2).scale_factor(2.0)),
                  "interpolate: only one of size or scale_factor should be defined");
  EXPECT_ERROR_EQ(F::interpolate(x, UpsampleOptions().size(2).align_corners(true)),
                  "interpolate: align_corners option can only be set with the interpolating modes: linear | bilinear | "
                  "bicubic | trilinear");
  EXPECT_ERROR_EQ(F::interpolate(x, UpsampleOptions().size({2, 2})),
                  "interpolate: Input and output must have the same number of spatial dimensions, but got input with "
                  "spatial dimensions of [3, 4, 5] and output size of [2, 2]. Please provide input tensor in (N, C, "
                  "d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.");
  EXPECT_ERROR_EQ(F::interpolate(x, UpsampleOptions().scale_factor({2, 2})),
                  "interpolate: Input and scale_factor must have the same number of spatial dimensions, but got input "
                  "with spatial dimensions of [3, 4, 5] and scale_factor of shape [2, 2]. Please provide input tensor "
                  "in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.");
  EXPECT_ERROR_EQ(F::interpolate(x, UpsampleOptions().size(2).recompute_scale_factor(true)),
                  "interpolate: recompute_scale_factor is not meaningful with an explicit size.");
  EXPECT_ERROR_EQ(F::interpolate(zeros({1, 3, 4, 5}), UpsampleOptions().size(2).mode(kTrilinear)),
                  "interpolate: Got 4D input, but trilinear mode needs 5D input");
  // Sizes that come out non-positive are reported by the op, with both sizes.
  EXPECT_ERROR_EQ(F::interpolate(x, UpsampleOptions().scale_factor(0.1)),
                  "upsample_nearest3d: Input and output sizes should be greater than 0, but got input (D: 3, H: 4, "
                  "W: 5) output (D: 0, H: 0, W: 0)");
  EXPECT_ERROR_CONTAINS(F::interpolate(x, UpsampleOptions().scale_factor(vt::kInf)),
                        "interpolate: scale_factor inf gives no valid output size");
  EXPECT_ERROR_CONTAINS(nn::UpsampleImpl(UpsampleOptions().size(-2)).forward(x), "output (D: -2, H: -2, W: -2)");
}

TEST(PoolModuleErrors, ModulesReportTheOpErrorsAtForward) {
  EXPECT_ERROR_EQ(nn::MaxPool3dImpl(nn::MaxPool3dOptions(2).padding(2)).forward(zeros({1, 1, 4, 4, 4})),
                  "max_pool3d: pad should be at most half of kernel size, but got pad=2 and kernel_size=2");
  EXPECT_ERROR_EQ(
      nn::AvgPool3dImpl(2).forward(zeros({4, 4})),
      "avg_pool3d: non-empty 4D or 5D (batch mode) tensor expected for input, but got input of size [4, 4]");
}
