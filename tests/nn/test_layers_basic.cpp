// Basic layers (Linear, ReLU, LeakyReLU, Sigmoid, Tanh, GELU, SiLU, Softplus, Hardtanh, ReLU6, LogSigmoid, Mish,
// Hardswish, Hardsigmoid, Flatten, Identity, Dropout) and
// their functional forms: values and gradients against PyTorch 1.13 (tests/fixtures/nn_basic, written by
// generate.py there), float64 gradchecks, train/eval, initialisation and printing.
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace {

using namespace voxgrad;
namespace F = voxgrad::nn::functional;
using voxgrad::testing::expect_close;
using voxgrad::testing::uniform_leaf;
using voxgrad::testing::values;
using json = nlohmann::json;

const json& fixture() {
  static const json doc = [] {
    const std::string path = std::string(VOXGRAD_FIXTURE_DIR) + "/nn_basic/layers.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path + " (run tests/fixtures/nn_basic/generate.py)");
    return json::parse(in);
  }();
  return doc;
}

Tensor tensor_of(const json& j, DType dtype = kFloat64) {
  Shape shape = j.at("shape").get<Shape>();
  const std::vector<double> data = j.at("data").get<std::vector<double>>();
  return tensor(data, kFloat64).reshape(shape).to(dtype);
}

std::string repr(const nn::Module& m) {
  std::ostringstream s;
  s << m;
  return s.str();
}

std::string expected_repr(const std::string& key) { return fixture().at("reprs").at(key).get<std::string>(); }

// The module each activation case of the fixture applies.
std::shared_ptr<nn::Module> activation_module(const std::string& expr) {
  if (expr == "nn.ReLU()") return std::make_shared<nn::ReLUImpl>();
  if (expr == "nn.LeakyReLU()") return std::make_shared<nn::LeakyReLUImpl>();
  if (expr == "nn.LeakyReLU(negative_slope=0.2)")
    return std::make_shared<nn::LeakyReLUImpl>(nn::LeakyReLUOptions().negative_slope(0.2));
  if (expr == "nn.Sigmoid()") return std::make_shared<nn::SigmoidImpl>();
  if (expr == "nn.Tanh()") return std::make_shared<nn::TanhImpl>();
  if (expr == "nn.GELU()") return std::make_shared<nn::GELUImpl>();
  if (expr == "nn.GELU(approximate='tanh')")
    return std::make_shared<nn::GELUImpl>(nn::GELUOptions().approximate("tanh"));
  if (expr == "nn.SiLU()") return std::make_shared<nn::SiLUImpl>();
  if (expr == "nn.Softplus()") return std::make_shared<nn::SoftplusImpl>();
  if (expr == "nn.Softplus(beta=2.0, threshold=5.0)")
    return std::make_shared<nn::SoftplusImpl>(nn::SoftplusOptions().beta(2.0).threshold(5.0));
  if (expr == "nn.Hardtanh()") return std::make_shared<nn::HardtanhImpl>();
  if (expr == "nn.Hardtanh(min_val=-2.0, max_val=3.0)")
    return std::make_shared<nn::HardtanhImpl>(nn::HardtanhOptions().min_val(-2.0).max_val(3.0));
  if (expr == "nn.ReLU6()") return std::make_shared<nn::ReLU6Impl>();
  if (expr == "nn.LogSigmoid()") return std::make_shared<nn::LogSigmoidImpl>();
  if (expr == "nn.Mish()") return std::make_shared<nn::MishImpl>();
  if (expr == "nn.Hardswish()") return std::make_shared<nn::HardswishImpl>();
  if (expr == "nn.Hardsigmoid()") return std::make_shared<nn::HardsigmoidImpl>();
  return nullptr;
}

// --- activations vs PyTorch -----------------------------------------------------------------------

TEST(Activations, ForwardAndBackwardMatchPyTorch) {
  const json& cases = fixture().at("activations");
  ASSERT_GE(cases.size(), 26u);
  for (const auto& [name, c] : cases.items()) {
    SCOPED_TRACE(name);
    const std::string expr = c.at("module").get<std::string>();
    const bool f32 = c.at("dtype").get<std::string>() == "float32";
    const DType dt = f32 ? kFloat32 : kFloat64;
    // float64: a few ulps (PyTorch's vectorised exp/erf/tanh are SLEEF's 1-ulp versions);
    // float32: the kernels compute in float32 as PyTorch's do.
    const double atol = f32 ? 2e-7 : 1e-15, rtol = f32 ? 2e-6 : 1e-13;
    Tensor x = tensor_of(c.at("input"), dt).requires_grad_();
    ASSERT_EQ(x.dtype(), dt);
    Tensor y;
    if (expr == "torch.erf") {
      y = erf(x);
    } else {
      auto m = activation_module(expr);
      ASSERT_NE(m, nullptr) << expr;
      y = m->forward(x);
    }
    EXPECT_EQ(y.dtype(), dt);
    expect_close(y, tensor_of(c.at("output")), atol, rtol);
    y.backward(tensor_of(c.at("grad_output"), dt));
    expect_close(x.grad(), tensor_of(c.at("grad_input")), atol * 10, rtol * 10);
  }
}

TEST(Activations, FunctionalFormsEqualTheModules) {
  Tensor x = uniform_leaf({3, 5}, -4.0, 4.0, 11);
  expect_close(F::relu(x), nn::ReLUImpl().forward(x), 0.0);
  expect_close(F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.3)),
               nn::LeakyReLUImpl(nn::LeakyReLUOptions().negative_slope(0.3)).forward(x), 0.0);
  expect_close(F::gelu(x), nn::GELUImpl().forward(x), 0.0);
  expect_close(F::gelu(x, F::GELUFuncOptions().approximate("tanh")),
               nn::GELUImpl(nn::GELUOptions().approximate("tanh")).forward(x), 0.0);
  expect_close(F::silu(x), nn::SiLUImpl().forward(x), 0.0);
  expect_close(nn::SigmoidImpl().forward(x), x.sigmoid(), 0.0);
  expect_close(nn::TanhImpl().forward(x), x.tanh(), 0.0);
  expect_close(F::softplus(x, F::SoftplusFuncOptions().beta(0.5)),
               nn::SoftplusImpl(nn::SoftplusOptions().beta(0.5)).forward(x), 0.0);
  expect_close(F::hardtanh(x, F::HardtanhFuncOptions().max_val(2.0)),
               nn::HardtanhImpl(nn::HardtanhOptions().max_val(2.0)).forward(x), 0.0);
  expect_close(F::relu6(x), nn::ReLU6Impl().forward(x), 0.0);
  expect_close(F::logsigmoid(x), nn::LogSigmoidImpl().forward(x), 0.0);
  expect_close(F::mish(x), nn::MishImpl().forward(x), 0.0);
  expect_close(F::hardswish(x), nn::HardswishImpl().forward(x), 0.0);
  expect_close(F::hardsigmoid(x), nn::HardsigmoidImpl().forward(x), 0.0);
  expect_close(F::relu6(x * 3.0), (x * 3.0).clamp(0.0, 6.0), 0.0);
  expect_close(F::logsigmoid(x), x.sigmoid().log(), 1e-15);
  expect_close(F::hardswish(x), x * F::hardsigmoid(x), 1e-15);
  // The closed forms.
  expect_close(F::silu(x), x * x.sigmoid(), 1e-15);
  expect_close(F::gelu(x), x * (erf(x / std::sqrt(2.0)) + 1.0) * 0.5, 1e-15);
}

TEST(Activations, Float64Gradcheck) {
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> fns = {
      {"ReLU", [](const Tensor& x) { return nn::ReLUImpl().forward(x); }},
      {"LeakyReLU",
       [](const Tensor& x) { return nn::LeakyReLUImpl(nn::LeakyReLUOptions().negative_slope(0.2)).forward(x); }},
      {"Sigmoid", [](const Tensor& x) { return nn::SigmoidImpl().forward(x); }},
      {"Tanh", [](const Tensor& x) { return nn::TanhImpl().forward(x); }},
      {"GELU", [](const Tensor& x) { return nn::GELUImpl().forward(x); }},
      {"GELU tanh", [](const Tensor& x) { return nn::GELUImpl(nn::GELUOptions().approximate("tanh")).forward(x); }},
      {"SiLU", [](const Tensor& x) { return nn::SiLUImpl().forward(x); }},
      {"Softplus", [](const Tensor& x) { return nn::SoftplusImpl(nn::SoftplusOptions().beta(1.5)).forward(x); }},
      {"Hardtanh",
       [](const Tensor& x) { return nn::HardtanhImpl(nn::HardtanhOptions().min_val(-2.0).max_val(2.5)).forward(x); }},
      {"ReLU6", [](const Tensor& x) { return nn::ReLU6Impl().forward(x * 3.0); }},
      {"LogSigmoid", [](const Tensor& x) { return nn::LogSigmoidImpl().forward(x); }},
      {"Mish", [](const Tensor& x) { return nn::MishImpl().forward(x); }},
      {"Hardswish", [](const Tensor& x) { return nn::HardswishImpl().forward(x * 2.0); }},
      {"Hardsigmoid", [](const Tensor& x) { return nn::HardsigmoidImpl().forward(x * 2.0); }},
      {"erf", [](const Tensor& x) { return erf(x); }},
      {"Flatten", [](const Tensor& x) { return nn::FlattenImpl().forward(x); }},
      {"Identity", [](const Tensor& x) { return nn::IdentityImpl().forward(x); }},
  };
  for (const auto& [name, fn] : fns) {
    SCOPED_TRACE(name);
    Tensor x = uniform_leaf({2, 3, 4}, -3.0, 3.0, 21);
    const auto& f = fn;  // a structured binding cannot be captured before clang 16
    EXPECT_TRUE(autograd::gradcheck([&](const std::vector<Tensor>& in) { return f(in[0]); }, {x}));
  }
}

TEST(Activations, SmoothOnesHaveCorrectSecondDerivatives) {
  for (const std::string approx : {"none", "tanh"}) {
    Tensor x = uniform_leaf({7}, -3.0, 3.0, 22);
    EXPECT_TRUE(autograd::gradgradcheck(
        [&](const std::vector<Tensor>& in) { return F::gelu(in[0], F::GELUFuncOptions().approximate(approx)); }, {x}))
        << approx;
  }
  Tensor x = uniform_leaf({7}, -3.0, 3.0, 23);
  EXPECT_TRUE(autograd::gradgradcheck([](const std::vector<Tensor>& in) { return F::silu(in[0]); }, {x}));
  EXPECT_TRUE(autograd::gradgradcheck([](const std::vector<Tensor>& in) { return erf(in[0]); }, {x}));
  EXPECT_TRUE(autograd::gradgradcheck([](const std::vector<Tensor>& in) { return F::softplus(in[0]); }, {x}));
  EXPECT_TRUE(autograd::gradgradcheck([](const std::vector<Tensor>& in) { return F::logsigmoid(in[0]); }, {x}));
  EXPECT_TRUE(autograd::gradgradcheck([](const std::vector<Tensor>& in) { return F::mish(in[0]); }, {x}));
  EXPECT_TRUE(autograd::gradgradcheck([](const std::vector<Tensor>& in) { return F::hardswish(in[0]) * in[0]; }, {x}));
}

TEST(Activations, NewOnesAtTheirKinksAndLimitsAreTorchs) {
  // torch 1.13 (ones as the upstream gradient): hardtanh's gradient is 0 on the bounds, hardswish's is
  // a / 3 + ½ from −3 to below 3, 0 below −3 and 1 from 3 on, hardsigmoid's 1/6 (as float32) strictly inside
  // (−3, 3); NaN stays NaN.
  const auto grad_of = [](const std::function<Tensor(const Tensor&)>& f, const std::vector<double>& v) {
    Tensor x = tensor(v, kFloat64).requires_grad_();
    f(x).sum().backward();
    return values(x.grad());
  };
  const std::vector<double> kinks = {-3.0, 3.0, -1.0, 1.0, 6.0, 0.0};
  EXPECT_EQ(grad_of([](const Tensor& x) { return F::hardtanh(x); }, kinks), (std::vector<double>{0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(grad_of([](const Tensor& x) { return F::relu6(x); }, kinks), (std::vector<double>{0, 1, 0, 1, 0, 0}));
  EXPECT_EQ(grad_of([](const Tensor& x) { return F::hardswish(x); }, kinks),
            (std::vector<double>{-0.5, 1.0, -1.0 / 3.0 + 0.5, 1.0 / 3.0 + 0.5, 1.0, 0.5}));
  EXPECT_EQ(grad_of([](const Tensor& x) { return F::hardsigmoid(x); }, kinks),
            (std::vector<double>{0, 0, 1.0F / 6.0F, 1.0F / 6.0F, 0, 1.0F / 6.0F}));
  // Large inputs: softplus is x above the threshold, its gradient 1 (and 0 far below); mish's gradient stays
  // finite where e^x overflows; log_sigmoid does not overflow either way.
  Tensor big = tensor({800.0, -800.0, 30.0}, kFloat64).requires_grad_();
  EXPECT_EQ(values(F::softplus(big)), (std::vector<double>{800.0, 0.0, 30.0}));
  EXPECT_EQ(grad_of([](const Tensor& x) { return F::softplus(x); }, {800.0, -800.0}), (std::vector<double>{1.0, 0.0}));
  EXPECT_EQ(grad_of([](const Tensor& x) { return F::mish(x); }, {800.0}), (std::vector<double>{1.0}));
  EXPECT_EQ(values(F::logsigmoid(tensor({800.0, -800.0}, kFloat64))), (std::vector<double>{-0.0, -800.0}));
  EXPECT_EQ(grad_of([](const Tensor& x) { return F::logsigmoid(x); }, {800.0, -800.0}),
            (std::vector<double>{0.0, 1.0}));
  for (const auto& f : std::vector<std::function<Tensor(const Tensor&)>>{
           [](const Tensor& x) { return F::softplus(x); }, [](const Tensor& x) { return F::hardtanh(x); },
           [](const Tensor& x) { return F::logsigmoid(x); }, [](const Tensor& x) { return F::mish(x); },
           [](const Tensor& x) { return F::hardswish(x); }, [](const Tensor& x) { return F::hardsigmoid(x); }}) {
    EXPECT_TRUE(std::isnan(values(f(tensor({std::nan("")}, kFloat64)))[0]));
  }
  EXPECT_ERROR_EQ(F::mish(zeros({2}, kInt64)), "mish: expected a float32 or float64 tensor, but got int64");
  EXPECT_ERROR_EQ(F::relu6(zeros({2}, kInt64)), "relu6: expected a float32 or float64 tensor, but got int64");
  // Crossed bounds, unchecked as in torch: max_val everywhere, and no gradient.
  Tensor crossed = tensor({-5.0, 0.0, 5.0}, kFloat64).requires_grad_();
  const Tensor h = F::hardtanh(crossed, F::HardtanhFuncOptions().min_val(1.0).max_val(-1.0));
  EXPECT_EQ(values(h), (std::vector<double>{-1.0, -1.0, -1.0}));
  h.sum().backward();
  EXPECT_EQ(values(crossed.grad()), (std::vector<double>{0.0, 0.0, 0.0}));
  EXPECT_ERROR_EQ(F::logsigmoid(Tensor()), "log_sigmoid: argument 'self' is an undefined tensor");
}

TEST(Activations, ErfKnownValuesAndLimits) {
  voxgrad::testing::expect_values(erf(tensor({0.0, 0.5, -1.0, 30.0, -30.0}, kFloat64)), {5},
                                  {0.0, std::erf(0.5), std::erf(-1.0), 1.0, -1.0}, 0.0);
  EXPECT_ERROR_CONTAINS(erf(zeros({2}, kInt64)), "erf");
}

TEST(Activations, BadGeluApproximationIsRejected) {
  EXPECT_ERROR_EQ(nn::GELUImpl(nn::GELUOptions().approximate("fast")),
                  "GELU: approximate must be 'none' or 'tanh', but got 'fast'");
  EXPECT_ERROR_EQ(F::gelu(zeros({1}), F::GELUFuncOptions().approximate("erf")),
                  "gelu: approximate must be 'none' or 'tanh', but got 'erf'");
}

// --- Linear -----------------------------------------------------------------------------------------

TEST(Linear, ForwardAndGradientsMatchPyTorch) {
  const json& cases = fixture().at("linear");
  ASSERT_EQ(cases.size(), 5u);
  for (const auto& [name, c] : cases.items()) {
    SCOPED_TRACE(name);
    const bool has_bias = c.at("bias").get<bool>();
    auto lin = std::make_shared<nn::LinearImpl>(
        nn::LinearOptions(c.at("in_features").get<std::int64_t>(), c.at("out_features").get<std::int64_t>())
            .bias(has_bias));
    lin->to(kFloat64);
    nn::StateDict sd{{"weight", tensor_of(c.at("weight"))}};
    if (has_bias) sd.emplace_back("bias", tensor_of(c.at("bias_value")));
    lin->load_state_dict(sd);
    Tensor x = tensor_of(c.at("input")).requires_grad_();
    Tensor y = lin->forward(x);
    expect_close(y, tensor_of(c.at("output")), 1e-14, 1e-13);
    y.backward(tensor_of(c.at("grad_output")));
    expect_close(x.grad(), tensor_of(c.at("grad_input")), 1e-14, 1e-13);
    expect_close(lin->weight.grad(), tensor_of(c.at("grad_weight")), 1e-14, 1e-13);
    if (has_bias) expect_close(lin->bias.grad(), tensor_of(c.at("grad_bias")), 1e-14, 1e-13);
    EXPECT_EQ(lin->bias.defined(), has_bias);
  }
}

TEST(Linear, Float64GradcheckForInputWeightAndBias) {
  manual_seed(31);
  auto lin = std::make_shared<nn::LinearImpl>(4, 3);
  lin->to(kFloat64);
  Tensor x = uniform_leaf({2, 5, 4}, -1.0, 1.0, 32);
  EXPECT_TRUE(autograd::gradcheck([&](const std::vector<Tensor>& in) { return F::linear(in[0], in[1], in[2]); },
                                  {x, lin->weight, lin->bias}));
  EXPECT_TRUE(
      autograd::gradgradcheck([&](const std::vector<Tensor>& in) { return F::linear(in[0], in[1], in[2]).pow(2.0); },
                              {x, lin->weight, lin->bias}));
  Tensor v = uniform_leaf({4}, -1.0, 1.0, 33);
  EXPECT_TRUE(
      autograd::gradcheck([&](const std::vector<Tensor>& in) { return F::linear(in[0], in[1]); }, {v, lin->weight}));
}

TEST(Linear, ShapesParametersAndEmptyBatches) {
  nn::LinearImpl lin(nn::LinearOptions(6, 2).bias(false));
  EXPECT_EQ(lin.weight.sizes(), (Shape{2, 6}));
  EXPECT_FALSE(lin.bias.defined());
  EXPECT_EQ(lin.named_parameters().size(), 1u);
  EXPECT_EQ(lin.forward(zeros({3, 4, 6})).sizes(), (Shape{3, 4, 2}));
  EXPECT_EQ(lin.forward(zeros({6})).sizes(), (Shape{2}));
  EXPECT_EQ(lin.forward(zeros({0, 6})).sizes(), (Shape{0, 2}));
  nn::LinearImpl with_bias(6, 2);
  ASSERT_EQ(with_bias.named_parameters().size(), 2u);
  EXPECT_EQ(with_bias.named_parameters()[1].first, "bias");
  EXPECT_EQ(with_bias.num_parameters(), 14);
  EXPECT_EQ(with_bias.options().in_features(), 6);
}

TEST(Linear, ErrorsNameTheShapes) {
  nn::LinearImpl lin(5, 3);
  EXPECT_ERROR_EQ(lin.forward(zeros({2, 4})),
                  "linear: input's last dim is 4 but the weight expects in_features=5 (input [2, 4], weight [3, 5])");
  EXPECT_ERROR_CONTAINS(lin.forward(zeros({})), "linear: input must have at least 1 dim");
  EXPECT_ERROR_CONTAINS(F::linear(zeros({2, 5}), zeros({3, 5}), zeros({4})), "linear: bias must have shape [3]");
  EXPECT_ERROR_CONTAINS(F::linear(zeros({2, 5}), zeros({5})), "linear: weight must be 2-D");
  EXPECT_ERROR_CONTAINS(nn::LinearImpl(-1, 3), "Linear: in_features and out_features must be non-negative");
}

TEST(Linear, InitIsUniformWithinOneOverSqrtFanIn) {
  manual_seed(7);
  nn::LinearImpl lin(50, 400);  // bound 1/√50 ≈ 0.1414
  const double bound = 1.0 / std::sqrt(50.0);
  for (const Tensor& t : {lin.weight, lin.bias}) {
    const std::vector<double> v = values(t);
    double lo = 1e9, hi = -1e9, sum = 0, sq = 0;
    for (double e : v) lo = std::min(lo, e), hi = std::max(hi, e), sum += e, sq += e * e;
    const double n = static_cast<double>(v.size());
    EXPECT_GE(lo, -bound);
    EXPECT_LE(hi, bound);
    EXPECT_LT(lo, -0.97 * bound);
    EXPECT_GT(hi, 0.97 * bound);
    // U(−b, b): mean 0, standard deviation b/√3.
    EXPECT_NEAR(sum / n, 0.0, 4 * bound / std::sqrt(3.0 * n));
    EXPECT_NEAR(std::sqrt(sq / n), bound / std::sqrt(3.0), 0.06 * bound);
  }
  // Seeded.
  manual_seed(7);
  EXPECT_EQ(values(nn::LinearImpl(50, 400).weight), values(lin.weight));
}

// --- Flatten and Identity ---------------------------------------------------------------------------

TEST(Flatten, MergesTheRequestedDims) {
  Tensor x = arange(120.0).reshape({2, 3, 4, 5});
  EXPECT_EQ(nn::FlattenImpl().forward(x).sizes(), (Shape{2, 60}));
  EXPECT_EQ(nn::FlattenImpl(nn::FlattenOptions().start_dim(0).end_dim(2)).forward(x).sizes(), (Shape{24, 5}));
  EXPECT_EQ(nn::FlattenImpl(nn::FlattenOptions().start_dim(-2)).forward(x).sizes(), (Shape{2, 3, 20}));
  EXPECT_EQ(values(nn::FlattenImpl().forward(x)), values(x));
  EXPECT_EQ(F::flatten(x, F::FlattenFuncOptions().start_dim(2)).sizes(), (Shape{2, 3, 20}));
}

TEST(Identity, ReturnsTheInputItself) {
  Tensor x = randn({3});
  EXPECT_TRUE(nn::IdentityImpl().forward(x).is_same(x));
}

// --- Dropout ----------------------------------------------------------------------------------------

TEST(Dropout, TrainingZeroesAboutPAndScalesTheRest) {
  manual_seed(41);
  nn::DropoutImpl drop(nn::DropoutOptions(0.3));
  Tensor x = full({100000}, 2.0);
  Tensor y = drop.forward(x);
  std::int64_t zeros_count = 0;
  for (double v : values(y)) {
    if (v == 0.0) {
      ++zeros_count;
    } else {
      EXPECT_NEAR(v, 2.0 / 0.7, 1e-6);
    }
  }
  // Binomial(1e5, 0.3): standard deviation ≈ 145.
  EXPECT_NEAR(static_cast<double>(zeros_count), 30000.0, 800.0);
  // The expectation is preserved.
  EXPECT_NEAR(y.mean().item<double>(), 2.0, 0.02);
}

TEST(Dropout, IsSeededByTheGlobalGenerator) {
  nn::DropoutImpl drop;
  Tensor x = ones({64});
  manual_seed(5);
  const std::vector<double> a = values(drop.forward(x));
  manual_seed(5);
  EXPECT_EQ(values(drop.forward(x)), a);
  EXPECT_NE(values(drop.forward(x)), a);  // the generator moved on
}

TEST(Dropout, EvalModeAndPZeroReturnTheInput) {
  auto drop = std::make_shared<nn::DropoutImpl>(0.5);
  Tensor x = randn({10});
  drop->eval();
  EXPECT_TRUE(drop->forward(x).is_same(x));
  drop->train();
  EXPECT_FALSE(drop->forward(x).is_same(x));
  EXPECT_TRUE(nn::DropoutImpl(0.0).forward(x).is_same(x));
  EXPECT_TRUE(F::dropout(x, F::DropoutFuncOptions().training(false)).is_same(x));
}

TEST(Dropout, PEqualToOneGivesZerosAndZeroGradient) {
  Tensor x = uniform_leaf({5}, -1.0, 1.0, 42);
  Tensor y = nn::DropoutImpl(1.0).forward(x);
  EXPECT_EQ(values(y), std::vector<double>(5, 0.0));
  y.sum().backward();
  EXPECT_EQ(values(x.grad()), std::vector<double>(5, 0.0));
}

TEST(Dropout, GradientFlowsThroughTheKeptElementsOnly) {
  Tensor x = uniform_leaf({200}, 1.0, 2.0, 43);
  manual_seed(44);
  Tensor y = F::dropout(x, F::DropoutFuncOptions().p(0.4));
  y.sum().backward();
  const std::vector<double> out = values(y), g = values(x.grad());
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_DOUBLE_EQ(g[i], out[i] == 0.0 ? 0.0 : 1.0 / 0.6) << i;
  // With the mask fixed by re-seeding inside, dropout is linear and passes gradcheck.
  Tensor z = uniform_leaf({3, 4}, -1.0, 1.0, 45);
  EXPECT_TRUE(autograd::gradcheck(
      [](const std::vector<Tensor>& in) {
        manual_seed(46);
        return F::dropout(in[0], F::DropoutFuncOptions().p(0.5));
      },
      {z}));
}

TEST(Dropout, ProbabilityOutsideZeroOneIsRejected) {
  EXPECT_ERROR_EQ(nn::DropoutImpl(1.5), "Dropout: dropout probability has to be between 0 and 1, but got 1.5");
  EXPECT_ERROR_EQ(nn::DropoutImpl(-0.1), "Dropout: dropout probability has to be between 0 and 1, but got -0.1");
  EXPECT_ERROR_CONTAINS(nn::DropoutImpl(std::nan("")), "dropout probability has to be between 0 and 1");
  EXPECT_ERROR_EQ(F::dropout(ones({2}), F::DropoutFuncOptions().p(2.0)),
                  "dropout: dropout probability has to be between 0 and 1, but got 2");
}

// --- printing and cloning ---------------------------------------------------------------------------

TEST(LayerRepr, MatchesPyTorch) {
  EXPECT_EQ(repr(nn::LinearImpl(3, 4)), expected_repr("linear"));
  EXPECT_EQ(repr(nn::LinearImpl(nn::LinearOptions(3, 4).bias(false))), expected_repr("linear_no_bias"));
  EXPECT_EQ(repr(nn::ReLUImpl()), expected_repr("relu"));
  EXPECT_EQ(repr(nn::LeakyReLUImpl()), expected_repr("leaky_relu"));
  EXPECT_EQ(repr(nn::LeakyReLUImpl(nn::LeakyReLUOptions().negative_slope(1.0))), expected_repr("leaky_relu_1"));
  EXPECT_EQ(repr(nn::SigmoidImpl()), expected_repr("sigmoid"));
  EXPECT_EQ(repr(nn::TanhImpl()), expected_repr("tanh"));
  EXPECT_EQ(repr(nn::GELUImpl()), expected_repr("gelu"));
  EXPECT_EQ(repr(nn::GELUImpl(nn::GELUOptions().approximate("tanh"))), expected_repr("gelu_tanh"));
  EXPECT_EQ(repr(nn::SoftplusImpl()), expected_repr("softplus"));
  EXPECT_EQ(repr(nn::SoftplusImpl(nn::SoftplusOptions().beta(2.0).threshold(5.0))), expected_repr("softplus_beta"));
  EXPECT_EQ(repr(nn::HardtanhImpl()), expected_repr("hardtanh"));
  EXPECT_EQ(repr(nn::HardtanhImpl(nn::HardtanhOptions().min_val(-2.0).max_val(3.0))), expected_repr("hardtanh_bounds"));
  EXPECT_EQ(repr(nn::ReLU6Impl()), expected_repr("relu6"));
  EXPECT_EQ(repr(nn::LogSigmoidImpl()), expected_repr("logsigmoid"));
  EXPECT_EQ(repr(nn::MishImpl()), expected_repr("mish"));
  EXPECT_EQ(repr(nn::HardswishImpl()), expected_repr("hardswish"));
  EXPECT_EQ(repr(nn::HardsigmoidImpl()), expected_repr("hardsigmoid"));
  EXPECT_ERROR_EQ(nn::HardtanhImpl(nn::HardtanhOptions().min_val(1.0).max_val(1.0)),
                  "Hardtanh: max_val (1) must be greater than min_val (1)");
  EXPECT_EQ(repr(nn::SiLUImpl()), expected_repr("silu"));
  EXPECT_EQ(repr(nn::FlattenImpl()), expected_repr("flatten"));
  EXPECT_EQ(repr(nn::FlattenImpl(nn::FlattenOptions().start_dim(0).end_dim(2))), expected_repr("flatten_0_2"));
  EXPECT_EQ(repr(nn::IdentityImpl()), expected_repr("identity"));
  EXPECT_EQ(repr(nn::DropoutImpl()), expected_repr("dropout"));
  EXPECT_EQ(repr(nn::DropoutImpl(0.25)), expected_repr("dropout_0_25"));
  // Spot-check that the fixture holds what PyTorch prints.
  EXPECT_EQ(expected_repr("linear"), "Linear(in_features=3, out_features=4, bias=True)");
}

TEST(LayerClone, EveryLayerClonesWithItsOptions) {
  manual_seed(51);
  auto lin = std::make_shared<nn::LinearImpl>(3, 2);
  auto lin2 = lin->clone();
  EXPECT_EQ(values(lin2->weight), values(lin->weight));
  EXPECT_FALSE(lin2->weight.is_same(lin->weight));
  EXPECT_EQ(repr(*lin2), repr(*lin));
  EXPECT_EQ(std::make_shared<nn::LeakyReLUImpl>(nn::LeakyReLUOptions().negative_slope(0.3))
                ->clone()
                ->options()
                .negative_slope(),
            0.3);
  EXPECT_EQ(std::make_shared<nn::DropoutImpl>(0.2)->clone()->options().p(), 0.2);
  EXPECT_EQ(std::make_shared<nn::GELUImpl>(nn::GELUOptions().approximate("tanh"))->clone()->options().approximate(),
            "tanh");
  EXPECT_EQ(std::make_shared<nn::FlattenImpl>(nn::FlattenOptions().start_dim(2))->clone()->options().start_dim(), 2);
  for (const std::shared_ptr<nn::Module>& m : std::vector<std::shared_ptr<nn::Module>>{
           std::make_shared<nn::ReLUImpl>(), std::make_shared<nn::SigmoidImpl>(), std::make_shared<nn::TanhImpl>(),
           std::make_shared<nn::SiLUImpl>(), std::make_shared<nn::IdentityImpl>()}) {
    auto c = m->clone();
    EXPECT_NE(c, m);
    EXPECT_EQ(c->name(), m->name());
  }
}

}  // namespace
