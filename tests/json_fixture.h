#pragma once
// Reading the PyTorch fixtures written by tests/fixtures/optim/generate.py (nlohmann-json).

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <voxgrad/voxgrad.h>

#ifndef VOXGRAD_FIXTURE_DIR
#error "VOXGRAD_FIXTURE_DIR must be defined (tests/CMakeLists.txt sets it)"
#endif

namespace voxgrad::testing {

/// The parsed JSON file `relative` (e.g. "optim/optimizers.json") under tests/fixtures.
inline nlohmann::json load_fixture(const std::string& relative) {
  const std::filesystem::path path = std::filesystem::path(VOXGRAD_FIXTURE_DIR) / relative;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open fixture " + path.string());
  return nlohmann::json::parse(in);
}

/// A number that the generator may have written as "nan", "inf" or "-inf".
inline double json_number(const nlohmann::json& v) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
    throw std::runtime_error("bad number in fixture: " + s);
  }
  return v.get<double>();
}

/// A tensor from {"dtype", "shape", "data"}; undefined for null. `dtype` overrides the stored dtype.
inline Tensor json_tensor(const nlohmann::json& j, std::optional<DType> dtype = std::nullopt) {
  if (j.is_null()) return Tensor();
  Shape shape = j.at("shape").get<Shape>();
  const std::string stored = j.at("dtype").get<std::string>();
  const nlohmann::json& data = j.at("data");
  if (stored == "int64") {
    std::vector<std::int64_t> v;
    for (const auto& x : data) v.push_back(x.get<std::int64_t>());
    Tensor t = from_blob(v.data(), {static_cast<std::int64_t>(v.size())}).reshape(shape);
    return dtype ? t.to(*dtype) : t;
  }
  std::vector<double> v;
  for (const auto& x : data) v.push_back(json_number(x));
  const DType want = dtype ? *dtype : (stored == "float32" ? kFloat32 : kFloat64);
  return from_blob(v.data(), {static_cast<std::int64_t>(v.size())}).reshape(shape).to(want).contiguous();
}

/// The "name" of every case in fixture()["cases"], the parameters of INSTANTIATE_TEST_SUITE_P. Empty
/// when the file cannot be read or parsed: test registration must not crash, and a plain TEST of the
/// same file reports the problem.
template <typename Fixture>
std::vector<std::string> fixture_case_names(const Fixture& fixture) {
  std::vector<std::string> names;
  try {
    for (const nlohmann::json& c : fixture()["cases"]) names.push_back(c["name"]);
  } catch (const std::exception&) {
  }
  return names;
}

/// INSTANTIATE_TEST_SUITE_P's name generator for fixture_case_names: each test is named after its case.
inline std::string name_from_param(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

/// Compares an op's result with a PyTorch fixture tensor of the same dtype: float64 to 1e-12 (absolute
/// plus relative: a few ulps of exp/log/sqrt and other summation orders), float32 to 1e-5.
inline void expect_matches_fixture(const Tensor& got, const Tensor& ref) {
  ASSERT_EQ(got.dtype(), ref.dtype());
  const double tol = ref.dtype() == kFloat64 ? 1e-12 : 1e-5;
  const Tensor a = got.detach().to(kFloat64).contiguous(), b = ref.detach().to(kFloat64).contiguous();
  ASSERT_EQ(a.sizes(), b.sizes());
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    const double x = a.data_ptr<double>()[i], y = b.data_ptr<double>()[i];
    if (std::isnan(x) && std::isnan(y)) continue;
    EXPECT_LE(std::abs(x - y), tol + tol * std::abs(y)) << "at flat index " << i << ": " << x << " vs " << y;
  }
}

inline void expect_fixture_parameter_grads(const nn::Module& module, const nlohmann::json& c) {
  for (const auto& [name, p] : module.named_parameters()) {
    SCOPED_TRACE(name);
    expect_matches_fixture(p.grad(), json_tensor(c.at("grads").at("param:" + name)));
  }
}

/// The case named `name` in fixture["cases"], or null when it has none.
inline const nlohmann::json* find_case(const nlohmann::json& fixture, const std::string& name) {
  for (const nlohmann::json& c : fixture["cases"]) {
    if (c["name"] == name) return &c;
  }
  return nullptr;
}

/// For a PyTorch module fixture case: checks that `module`'s named_parameters() are the case's "param_order" (PyTorch's
/// names and order) and copies the case's "params" values into them.
inline void set_fixture_parameters(nn::Module& module, const nlohmann::json& c) {
  const auto params = module.named_parameters();
  std::vector<std::string> names;
  for (const auto& [name, p] : params) names.push_back(name);
  EXPECT_EQ(names, c.at("param_order").get<std::vector<std::string>>());
  NoGradGuard no_grad;
  for (const auto& [name, p] : params) {
    Tensor target = p;
    target.copy_(json_tensor(c.at("params").at(name)));
  }
}

/// Compares every parameter's gradient with the case's "grads" entry "param:<name>" (expect_matches_fixture).
inline void expect_fixture_parameter_grads(const nn::Module& module, const nlohmann::json& c);

/// NaN-aware |got − want| <= atol + rtol·|want|, element by element (want NaN: got NaN too; want ±inf: got
/// the same infinity).
inline void expect_close_nan(const Tensor& got, const Tensor& want, double atol, double rtol) {
  ASSERT_EQ(got.sizes(), want.sizes());
  const Tensor g = got.detach().to(kFloat64).contiguous(), w = want.detach().to(kFloat64).contiguous();
  const double* pg = g.data_ptr<double>();
  const double* pw = w.data_ptr<double>();
  for (std::int64_t i = 0; i < g.numel(); ++i) {
    if (std::isnan(pw[i])) {
      EXPECT_TRUE(std::isnan(pg[i])) << "at flat index " << i << ": got " << pg[i] << ", expected NaN";
    } else if (std::isinf(pw[i])) {
      EXPECT_EQ(pg[i], pw[i]) << "at flat index " << i;
    } else {
      EXPECT_NEAR(pg[i], pw[i], atol + rtol * std::abs(pw[i])) << "at flat index " << i;
    }
  }
}

}  // namespace voxgrad::testing
