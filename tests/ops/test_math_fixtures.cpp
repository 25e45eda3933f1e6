// The trigonometric and hyperbolic functions (ops/trigonometric.h), division with rounding (ops/division.h),
// nansum/nanmean (ops/reduction.h), logaddexp/logaddexp2, nan_to_num (ops/elementwise_math.h) and rot90
// (ops/reorder.h) against PyTorch 1.13: tests/fixtures/math_extra/math.json, written by
// tests/fixtures/math_extra/generate.py, over the domain edges (±0, ±1, infinities, NaN, overflow, a / b
// rounding up to an integer, slices of NaNs only) and random values, float64 and float32, with gradients for
// a random upstream gradient.
// - division, fmod, remainder, nan_to_num and rot90 are exact: output and gradients bit for bit, signed zeros
//   included;
// - the transcendental functions are the C library's here and SLEEF's in torch's vector loops: within 2 ulps
//   (float64 1e-15, float32 2.4e-7 relative), their gradients within a few more;
// - nansum/nanmean: float32 is summed in float64 here (ops/reduction.h), in float32 by torch.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "json_fixture.h"
#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace {

using namespace voxgrad;
using namespace voxgrad::testing;
using nlohmann::json;

const json& fixture() {
  static const json j = load_fixture("math_extra/math.json");
  return j;
}

using Args = const std::vector<Tensor>&;
using Call = std::function<Tensor(Args, const json&)>;

Tensor unary_call(const std::string& fn, const Tensor& a) {
  static const std::map<std::string, Tensor (*)(const Tensor&)> table = {
      {"sin", &sin},   {"cos", &cos},   {"tan", &tan},     {"asin", &asin},   {"acos", &acos},   {"atan", &atan},
      {"sinh", &sinh}, {"cosh", &cosh}, {"asinh", &asinh}, {"acosh", &acosh}, {"atanh", &atanh},
  };
  return table.at(fn)(a);
}

// The voxgrad call for a case: fn with the stored tensors (args order) and options.
Tensor call(const json& c, Args a) {
  const std::string fn = c["fn"];
  const json& o = c["options"];
  if (fn == "atan2") return atan2(a[0], a[1]);
  if (fn == "logaddexp") return logaddexp(a[0], a[1]);
  if (fn == "logaddexp2") return logaddexp2(a[0], a[1]);
  if (fn == "nan_to_num") {
    const auto number = [&](const char* key) {
      return o.contains(key) ? std::optional<double>(json_number(o[key])) : std::nullopt;
    };
    return nan_to_num(a[0], number("nan"), number("posinf"), number("neginf"));
  }
  if (fn == "rot90") {
    return rot90(a[0], o.value("k", std::int64_t{1}),
                 o.contains("dims") ? o["dims"].get<std::vector<std::int64_t>>() : std::vector<std::int64_t>{0, 1});
  }
  if (fn == "div") {
    const std::string mode = o["rounding_mode"];
    return o.contains("other") ? div(a[0], o["other"].get<double>(), mode) : div(a[0], a[1], mode);
  }
  if (fn == "floor_divide") return floor_divide(a[0], a[1]);
  if (fn == "fmod") return o.contains("other") ? fmod(a[0], o["other"].get<double>()) : fmod(a[0], a[1]);
  if (fn == "remainder") {
    return o.contains("other") ? a[0].remainder(o["other"].get<double>()) : remainder(a[0], a[1]);
  }
  if (fn == "nansum" || fn == "nanmean") {
    const bool keepdim = o.value("keepdim", false);
    std::vector<std::int64_t> dims;
    if (o.contains("dim")) {
      if (o["dim"].is_array()) {
        dims = o["dim"].get<std::vector<std::int64_t>>();
      } else {
        dims = {o["dim"].get<std::int64_t>()};
      }
    }
    if (fn == "nansum") return dims.empty() && !keepdim ? nansum(a[0]) : nansum(a[0], dims, keepdim);
    return dims.empty() && !keepdim ? a[0].nanmean() : a[0].nanmean(dims, keepdim);
  }
  return unary_call(fn, a[0]);
}

bool exact(const std::string& fn) {
  return fn == "div" || fn == "floor_divide" || fn == "fmod" || fn == "remainder" || fn == "nan_to_num" ||
         fn == "rot90";
}

class MathFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(MathFixture, ValuesAndGradientsAreTorchs) {
  const json* found = find_case(fixture(), GetParam());
  ASSERT_NE(found, nullptr);
  const json& c = *found;
  const std::string fn = c["fn"];
  std::vector<Tensor> args;
  for (const json& name : c["args"]) {
    Tensor t = json_tensor(c["inputs"][name.get<std::string>()]);
    args.push_back(fn == "floor_divide" ? t : t.requires_grad_(true));
  }
  const Tensor out = call(c, args);
  const Tensor want = json_tensor(c["output"]);
  const bool f32 = want.dtype() == kFloat32;
  const bool reduction = fn == "nansum" || fn == "nanmean";
  if (exact(fn)) {
    EXPECT_TRUE(same_bits_any_nan(out, want));
  } else {
    expect_close_nan(out, want, 0.0, f32 ? (reduction ? 1e-6 : 2.4e-7) : (reduction ? 1e-14 : 1e-15));
  }
  if (fn == "floor_divide") {
    // torch 1.13 has no derivative for floor_divide; here the gradient is zero, as div(a, b, "floor")'s.
    const Tensor x = args[0].detach().requires_grad_(true);
    floor_divide(x, args[1]).backward(json_tensor(c["grad_output"]));
    EXPECT_TRUE(bit_identical(x.grad(), zeros_like(x)));
    return;
  }
  out.backward(json_tensor(c["grad_output"]));
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string name = c["args"][i];
    SCOPED_TRACE("gradient of " + name);
    const Tensor g = json_tensor(c["grads"][name]);
    ASSERT_TRUE(args[i].grad().defined());
    if (exact(fn)) {
      EXPECT_TRUE(same_bits_any_nan(args[i].grad(), g));
    } else {
      expect_close_nan(args[i].grad(), g, 0.0, f32 ? 1e-6 : 1e-14);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, MathFixture, ::testing::ValuesIn(fixture_case_names(fixture)), name_from_param);

TEST(MathFixtureFile, HoldsEveryOpInBothDtypes) {
  std::map<std::string, int> float32_cases, float64_cases;
  for (const json& c : fixture()["cases"]) {
    const bool f32 = c["output"]["dtype"] == "float32";
    ++(f32 ? float32_cases : float64_cases)[c["fn"].get<std::string>()];
  }
  for (const char* fn :
       {"sin",    "cos",     "tan",       "asin",       "acos",       "atan",         "atan2", "sinh",
        "cosh",   "asinh",   "acosh",     "atanh",      "div",        "floor_divide", "fmod",  "remainder",
        "nansum", "nanmean", "logaddexp", "logaddexp2", "nan_to_num", "rot90"}) {
    EXPECT_GE(float64_cases[fn], 1) << fn;
    EXPECT_GE(float32_cases[fn], 1) << fn;
  }
  EXPECT_EQ(fixture()["torch_version"].get<std::string>().substr(0, 4), "1.13");
}

}  // namespace
