// conv3d / conv_transpose3d against reference values computed by PyTorch 1.13.
//
// Every tests/fixtures/conv/*.json (written by tests/fixtures/generate_conv_fixtures.py) holds one
// case: the op, its parameters, input / weight / bias / grad_output, and PyTorch's output and the
// three gradients. Each file is one parameterized test: run voxgrad's op forward, then backward with
// the same grad_output, and compare all four results — float64 to 1e-10 (absolute plus relative),
// float32 to 1e-4 relative (1e-5 absolute). Torch is never needed to run these tests.

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include <voxgrad/ops/conv.h>  // not (yet) in voxgrad.h
#include <voxgrad/voxgrad.h>
#include "test_util.h"

#ifndef VOXGRAD_FIXTURE_DIR
#error "VOXGRAD_FIXTURE_DIR must be defined (tests/CMakeLists.txt sets it)"
#endif

namespace {

using namespace voxgrad;
using nlohmann::json;

const std::filesystem::path kConvFixtureDir = std::filesystem::path(VOXGRAD_FIXTURE_DIR) / "conv";

/// Every *.json in the fixture directory, sorted; empty (never throws) when the directory is missing,
/// so test registration cannot crash — FixtureDirectory.HasAtLeast30Cases then fails instead.
std::vector<std::string> list_fixtures() {
  std::vector<std::string> files;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(kConvFixtureDir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json") files.push_back(it->path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

json load_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return json::parse(in);
}

/// A tensor of `dtype` from {"shape": [...], "data": [...]}; undefined for null.
Tensor tensor_from_json(const json& j, DType dtype) {
  if (j.is_null()) return {};
  const Shape shape = j.at("shape").get<Shape>();
  const std::vector<double> data = j.at("data").get<std::vector<double>>();
  std::int64_t numel = 1;
  for (std::int64_t s : shape) numel *= s;
  if (static_cast<std::int64_t>(data.size()) != numel) {
    throw std::runtime_error("fixture tensor has " + std::to_string(data.size()) + " values for shape " +
                             shape_str(shape));
  }
  if (dtype == kFloat64) return from_blob<double>(data.data(), shape);
  // The generator wrote texts that read back as a double which rounds to the exact float32 value.
  std::vector<float> f(data.begin(), data.end());
  return from_blob<float>(f.data(), shape);
}

std::array<std::int64_t, 3> triple(const json& j) { return j.get<std::array<std::int64_t, 3>>(); }

/// Compares `got` with the reference element-wise (|got - ref| <= atol + rtol |ref|) and reports the
/// number of mismatches, the worst one and the first few, instead of one failure per element.
void compare(const std::string& what, const Tensor& got, const Tensor& ref, double atol, double rtol) {
  ASSERT_TRUE(got.defined()) << what << ": voxgrad returned an undefined tensor";
  ASSERT_EQ(got.sizes(), ref.sizes()) << what << ": shape " << shape_str(got.sizes()) << " vs torch's "
                                      << shape_str(ref.sizes());
  EXPECT_EQ(got.dtype(), ref.dtype()) << what << ": dtype";
  const std::vector<double> a = voxgrad::testing::values(got), b = voxgrad::testing::values(ref);
  std::int64_t bad = 0;
  std::size_t worst = 0;
  double worst_excess = -1.0;
  std::ostringstream first;
  first << std::setprecision(17);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double err = std::abs(a[i] - b[i]);
    const double tol = atol + rtol * std::abs(b[i]);
    if (!(err <= tol)) {  // also catches NaN
      if (bad < 5) first << "\n  [" << i << "] voxgrad " << a[i] << " torch " << b[i] << " |diff| " << err;
      ++bad;
      if (!(err - tol <= worst_excess)) {
        worst_excess = err - tol;
        worst = i;
      }
    }
  }
  if (bad > 0) {
    ADD_FAILURE() << std::setprecision(17) << what << ": " << bad << " of " << a.size()
                  << " elements differ from torch (atol " << atol << ", rtol " << rtol << "); worst at [" << worst
                  << "]: voxgrad " << a[worst] << " torch " << b[worst] << first.str();
  }
}

class ConvFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(ConvFixture, MatchesTorch) {
  const json c = load_json(GetParam());
  const std::string op = c.at("op").get<std::string>();
  const std::string dtype_str = c.at("dtype").get<std::string>();
  ASSERT_TRUE(op == "conv3d" || op == "conv_transpose3d") << op;
  ASSERT_TRUE(dtype_str == "float64" || dtype_str == "float32") << dtype_str;
  const DType dt = dtype_str == "float64" ? kFloat64 : kFloat32;
  const double atol = dt == kFloat64 ? 1e-10 : 1e-5;
  const double rtol = dt == kFloat64 ? 1e-10 : 1e-4;

  const auto stride = triple(c.at("stride")), padding = triple(c.at("padding"));
  const auto dilation = triple(c.at("dilation")), output_padding = triple(c.at("output_padding"));
  const std::int64_t groups = c.at("groups").get<std::int64_t>();
  const bool has_bias = c.at("bias").get<bool>();

  const json& t = c.at("tensors");
  const Tensor x = tensor_from_json(t.at("input"), dt).requires_grad_();
  const Tensor w = tensor_from_json(t.at("weight"), dt).requires_grad_();
  Tensor b = tensor_from_json(t.at("bias"), dt);
  ASSERT_EQ(b.defined(), has_bias);
  if (has_bias) b.requires_grad_();
  const Tensor gy = tensor_from_json(t.at("grad_output"), dt);
  const Tensor y_ref = tensor_from_json(t.at("output"), dt);
  const Tensor gx_ref = tensor_from_json(t.at("grad_input"), dt);
  const Tensor gw_ref = tensor_from_json(t.at("grad_weight"), dt);
  const Tensor gb_ref = tensor_from_json(t.at("grad_bias"), dt);
  ASSERT_EQ(gb_ref.defined(), has_bias);

  SCOPED_TRACE(op + " " + dtype_str + " input " + shape_str(x.sizes()) + " weight " + shape_str(w.sizes()) +
               " stride " + c.at("stride").dump() + " padding " + c.at("padding").dump() + " dilation " +
               c.at("dilation").dump() + " output_padding " + c.at("output_padding").dump() + " groups " +
               std::to_string(groups) + (has_bias ? " bias" : " no bias"));

  const Tensor y = op == "conv3d" ? conv3d(x, w, b, stride, padding, dilation, groups)
                                  : conv_transpose3d(x, w, b, stride, padding, output_padding, groups, dilation);
  compare("output", y, y_ref, atol, rtol);

  std::vector<Tensor> leaves{x, w};
  if (has_bias) leaves.push_back(b);
  const std::vector<Tensor> grads = autograd::grad({y}, leaves, {gy});
  ASSERT_EQ(grads.size(), leaves.size());
  compare("grad_input", grads[0], gx_ref, atol, rtol);
  compare("grad_weight", grads[1], gw_ref, atol, rtol);
  if (has_bias) compare("grad_bias", grads[2], gb_ref, atol, rtol);
}

/// The file stem ("c3_k1_s2_issue63314"), made a valid test name.
std::string case_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string s = std::filesystem::path(info.param).stem().string();
  for (char& ch : s) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(PyTorch, ConvFixture, ::testing::ValuesIn(list_fixtures()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ConvFixture);

// A missing or emptied fixture directory must fail loudly, not leave the suite vacuous.
TEST(ConvFixtureDirectory, HasAtLeast30CasesOfEveryKind) {
  const std::vector<std::string> files = list_fixtures();
  ASSERT_GE(files.size(), 30u) << "expected at least 30 fixtures in " << kConvFixtureDir.string()
                               << " (regenerate with tests/fixtures/generate_conv_fixtures.py)";
  std::map<std::string, int> kinds;
  for (const std::string& f : files) {
    const json c = load_json(f);
    ++kinds[c.at("op").get<std::string>() + "/" + c.at("dtype").get<std::string>()];
  }
  for (const char* kind :
       {"conv3d/float64", "conv3d/float32", "conv_transpose3d/float64", "conv_transpose3d/float32"}) {
    EXPECT_GE(kinds[kind], 3) << "too few " << kind << " fixtures";
  }
}

}  // namespace
