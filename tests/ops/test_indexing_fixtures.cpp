// Indexing (index, index_put), masked_fill, index_select, gather, scatter_add, flip, roll,
// argmax/argmin, norm and where with scalars against PyTorch 1.13: tests/fixtures/indexing/indexing.json,
// written by tests/fixtures/indexing/generate.py. Each case names an op applied to the stored inputs;
// the output and the gradient of every differentiable input (for the stored upstream gradient) must
// match PyTorch's. Masks are stored as float64 0/1, voxgrad's boolean masks.

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "json_fixture.h"
#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace {

using namespace voxgrad;
using namespace voxgrad::indexing;
using nlohmann::json;
namespace vt = voxgrad::testing;

using V = const std::vector<Tensor>&;
using Op = std::function<Tensor(V)>;

constexpr double kInf = std::numeric_limits<double>::infinity();

// The voxgrad op of every fixture case, by name (the Python lambdas in generate.py).
const std::map<std::string, Op>& ops() {
  static const std::map<std::string, Op> table = {
      {"index_basic_issue_example",
       [](V a) {
         return a[0].index({Slice(), 0, Slice(0, 8, 2), None, Ellipsis});
       }},
      {"index_negative_int_and_step",
       [](V a) {
         return a[0].index({-1, Slice(1, None, 3)});
       }},
      {"index_none_bounds_clamped",
       [](V a) {
         return a[0].index({Slice(None, 4), Slice(-3, 100)});
       }},
      {"index_ellipsis_middle",
       [](V a) {
         return a[0].index({1, Ellipsis, -2});
       }},
      {"index_true_and_int",
       [](V a) {
         return a[0].index({true, 1});
       }},
      {"index_false", [](V a) { return a[0].index({false}); }},
      {"index_long_1d_repeats_negative", [](V a) { return a[0].index({a[1]}); }},
      {"index_long_2d_on_dim1",
       [](V a) {
         return a[0].index({Slice(), a[1]});
       }},
      {"index_two_adjacent",
       [](V a) {
         return a[0].index({Slice(), a[1], a[2]});
       }},
      {"index_two_separated",
       [](V a) {
         return a[0].index({a[1], Slice(), a[2]});
       }},
      {"index_broadcast_indices",
       [](V a) {
         return a[0].index({a[1], a[2]});
       }},
      {"index_int_and_tensor_separated",
       [](V a) {
         return a[0].index({1, Slice(), a[1]});
       }},
      {"index_slice_then_tensor_with_none",
       [](V a) {
         return a[0].index({Slice(1), None, a[1], Slice(None, None, 2)});
       }},
      {"index_mask_full", [](V a) { return a[0].index({a[1]}); }},
      {"index_mask_leading_dims", [](V a) { return a[0].index({a[1]}); }},
      {"index_mask_after_ellipsis",
       [](V a) {
         return a[0].index({Ellipsis, a[1]});
       }},
      {"index_mask_and_long",
       [](V a) {
         return a[0].index({Slice(), a[1], a[2]});
       }},
      {"index_put_basic_slices",
       [](V a) {
         return index_put(a[0], {Slice(1, 3), Ellipsis, Slice(None, None, 2)}, a[1]);
       }},
      {"index_put_int_broadcast_row", [](V a) { return a[0].index_put({-2}, a[1]); }},
      {"index_put_long", [](V a) { return a[0].index_put({a[1]}, a[2]); }},
      {"index_put_long_broadcast", [](V a) { return index_put(a[0], {a[1]}, a[2]); }},
      {"index_put_accumulate_repeats", [](V a) { return a[0].index_put({a[1]}, a[2], true); }},
      {"index_put_mask_scalar_tensor", [](V a) { return a[0].index_put({a[1]}, a[2]); }},
      {"index_put_slice_and_long",
       [](V a) {
         return a[0].index_put({Slice(), a[1]}, a[2]);
       }},
      {"masked_fill_broadcast_mask", [](V a) { return a[0].masked_fill(a[1], -2.5); }},
      {"masked_fill_tensor_value", [](V a) { return masked_fill(a[0], a[1], a[2]); }},
      {"index_select_dim1", [](V a) { return a[0].index_select(1, a[1]); }},
      {"index_select_dim0", [](V a) { return index_select(a[0], 0, a[1]); }},
      {"gather_dim1", [](V a) { return a[0].gather(1, a[1]); }},
      {"gather_dim0_smaller_index", [](V a) { return gather(a[0], 0, a[1]); }},
      {"gather_last_dim", [](V a) { return a[0].gather(-1, a[1]); }},
      {"scatter_add_dim1", [](V a) { return a[0].scatter_add(1, a[1], a[2]); }},
      {"scatter_add_dim0", [](V a) { return scatter_add(a[0], 0, a[1], a[2]); }},
      {"flip_dims_0_2",
       [](V a) {
         return a[0].flip({0, 2});
       }},
      {"flip_last", [](V a) { return flip(a[0], -1); }},
      {"roll_two_dims",
       [](V a) {
         return a[0].roll({2, -1}, {0, 2});
       }},
      {"roll_flattened", [](V a) { return a[0].roll(7); }},
      {"roll_repeated_dim",
       [](V a) {
         return roll(a[0], {2, 3}, {1, 1});
       }},
      {"roll_large_negative", [](V a) { return a[0].roll(-13, 2); }},
      {"argmax_dim1_ties_nan", [](V a) { return a[0].argmax(1); }},
      {"argmin_dim0_keepdim", [](V a) { return argmin(a[0], 0, true); }},
      {"argmax_flat", [](V a) { return a[0].argmax(); }},
      {"argmin_flat_keepdim", [](V a) { return a[0].argmin(std::nullopt, true); }},
      {"argmax_nan_flat", [](V a) { return argmax(a[0]); }},
      {"norm_2_all", [](V a) { return a[0].norm(); }},
      {"norm_1_dims",
       [](V a) {
         return a[0].norm(1, {0, 2});
       }},
      {"norm_inf_dim_keepdim", [](V a) { return norm(a[0], kInf, 1, true); }},
      {"norm_neg_inf_dim", [](V a) { return a[0].norm(-kInf, -1); }},
      {"norm_3_dims",
       [](V a) {
         return a[0].norm(3, {1, 2});
       }},
      {"norm_half", [](V a) { return a[0].norm(0.5, 1); }},
      {"norm_1p5_with_zeros", [](V a) { return a[0].norm(1.5, 1); }},
      {"norm_0", [](V a) { return a[0].norm(0, 1); }},
      {"norm_2_zero_row", [](V a) { return a[0].norm(2, 1); }},
      {"norm_inf_ties", [](V a) { return a[0].norm(kInf, 1); }},
      {"norm_neg1", [](V a) { return a[0].norm(-1, 1, true); }},
      {"where_tensor_scalar", [](V a) { return where(a[0], a[1], 0.5); }},
      {"where_scalar_tensor", [](V a) { return where(a[0], -1.5, a[1]); }},
      {"where_scalars_float32", [](V a) { return where(a[0], 1.25, -2.0); }},
  };
  return table;
}

const json& fixture() {
  static const json f = vt::load_fixture("indexing/indexing.json");
  return f;
}

class IndexingFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(IndexingFixture, OutputAndGradientsMatchPyTorch) {
  const json* found = nullptr;
  for (const json& c : fixture().at("cases")) {
    if (c.at("name") == GetParam()) found = &c;
  }
  ASSERT_NE(found, nullptr);
  const json& c = *found;
  const auto op = ops().find(GetParam());
  ASSERT_NE(op, ops().end()) << "no voxgrad op for this case";
  std::vector<Tensor> inputs, wrt;
  for (std::size_t i = 0; i < c.at("inputs").size(); ++i) {
    Tensor t = vt::json_tensor(c.at("inputs")[i]);
    if (c.at("differentiable")[i].get<bool>()) {
      t.requires_grad_();
      wrt.push_back(t);
    }
    inputs.push_back(t);
  }
  const Tensor y = op->second(inputs);
  const Tensor want = vt::json_tensor(c.at("output"));
  ASSERT_EQ(y.dtype(), want.dtype());
  vt::expect_close(y, want, 1e-12, 1e-12);
  if (c.at("grad_output").is_null()) {
    EXPECT_FALSE(y.requires_grad());
    return;
  }
  const std::vector<Tensor> g =
      autograd::grad({y}, wrt, {vt::json_tensor(c.at("grad_output"))}, std::nullopt, false, true);
  std::size_t k = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!c.at("differentiable")[i].get<bool>()) continue;
    SCOPED_TRACE("gradient of input " + std::to_string(i));
    const Tensor& got = g[k++];
    // PyTorch returns no gradient (None) where it is identically zero (the 0-"norm").
    if (c.at("grads")[i].is_null()) {
      if (got.defined()) vt::expect_close(got, zeros_like(inputs[i]), 0.0);
      continue;
    }
    vt::expect_close(got, vt::json_tensor(c.at("grads")[i]), 1e-12, 1e-12);
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, IndexingFixture, ::testing::ValuesIn(vt::fixture_case_names(fixture)),
                         vt::name_from_param);

TEST(IndexingFixture, EveryOpHasACaseAndTheFileIsFromTorch113) {
  EXPECT_EQ(fixture().at("torch_version").get<std::string>().substr(0, 4), "1.13");
  EXPECT_EQ(fixture().at("cases").size(), ops().size());
}

}  // namespace
