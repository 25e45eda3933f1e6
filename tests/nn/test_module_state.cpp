// nn::Module state: state_dict / load_state_dict (strict report, non-strict), clone (deep, sharing kept),
// apply, to(dtype) and num_parameters.
#include <set>
#include <sstream>

#include "test_util.h"

namespace {

using namespace voxgrad;
using voxgrad::testing::expect_close;
using voxgrad::testing::values;

std::vector<std::string> keys_of(const nn::StateDict& dict) {
  std::vector<std::string> out;
  for (const auto& [name, t] : dict) out.push_back(name);
  return out;
}

// A cloneable leaf with a parameter, a frozen parameter, a float buffer and an int64 buffer.
struct Scale : nn::Cloneable<Scale> {
  explicit Scale(std::int64_t n) : n_(n) { reset(); }
  void reset() override {
    weight = register_parameter("weight", full({n_}, 2.0));
    frozen = register_parameter("frozen", ones({n_}), /*requires_grad=*/false);
    running = register_buffer("running", zeros({n_}));
    steps = register_buffer("steps", zeros({1}, kInt64));
  }
  Tensor forward(const Tensor& x) override { return x * weight + frozen; }
  std::int64_t n_;
  Tensor weight, frozen, running, steps;
};

// Encoder/decoder pair built in reset(), the decoder's weight tied to the encoder's (stored once).
struct Tied : nn::Cloneable<Tied> {
  Tied() { reset(); }
  void reset() {
    enc = register_module("enc", std::make_shared<Scale>(3));
    dec = register_module("dec", std::make_shared<nn::Module>("Dec"));
    dec->register_parameter("weight", enc->weight);  // the same tensor under a second name
    dec->register_parameter("bias", zeros({3}));
  }
  std::shared_ptr<Scale> enc;
  std::shared_ptr<nn::Module> dec;
};

// Not derived from Cloneable.
struct Plain : nn::Module {
  Plain() { register_parameter("w", zeros({2})); }
};

// --- state_dict -----------------------------------------------------------------------------------

TEST(StateDict, ListsParametersThenBuffersPerModuleUnderDottedNames) {
  auto root = std::make_shared<nn::Module>("Root");
  root->register_parameter("own", zeros({1}));
  root->register_module("a", std::make_shared<Scale>(2));
  auto conv = root->register_module("conv", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(1, 2, 3)));
  // PyTorch's order: a module's parameters, then its buffers, then each child.
  EXPECT_EQ(keys_of(root->state_dict()), std::vector<std::string>({"own", "a.weight", "a.frozen", "a.running",
                                                                   "a.steps", "conv.weight", "conv.bias"}));
  EXPECT_EQ(root->state_dict()[5].second.sizes(), (Shape{2, 1, 3, 3, 3}));
}

TEST(StateDict, TensorsAreDetachedButShareStorage) {
  auto m = std::make_shared<Scale>(3);
  const nn::StateDict sd = m->state_dict();
  Tensor w = sd[0].second;
  EXPECT_FALSE(w.requires_grad());
  EXPECT_TRUE(w.is_leaf());
  EXPECT_FALSE(w.is_same(m->weight));
  w.fill_(7.0);  // writes through to the module, as in PyTorch
  EXPECT_EQ(values(m->weight), std::vector<double>({7.0, 7.0, 7.0}));
}

TEST(StateDict, SharedTensorsAndModulesAppearUnderEveryName) {
  auto tied = std::make_shared<Tied>();
  EXPECT_EQ(keys_of(tied->state_dict()), std::vector<std::string>({"enc.weight", "enc.frozen", "enc.running",
                                                                   "enc.steps", "dec.weight", "dec.bias"}));
  // parameters() lists the tied tensor once; state_dict (like PyTorch's) lists every path.
  EXPECT_EQ(tied->parameters().size(), 3u);
  auto root = std::make_shared<nn::Module>();
  auto shared = std::make_shared<Scale>(1);
  root->register_module("first", shared);
  root->register_module("second", shared);
  EXPECT_EQ(root->state_dict().size(), 8u);
}

TEST(StateDict, RoundTripRestoresEveryValue) {
  manual_seed(1);
  auto a = std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2, 3, 3));
  auto b = std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2, 3, 3));
  ASSERT_NE(values(a->weight), values(b->weight));
  Tensor b_weight = b->weight;
  const nn::IncompatibleKeys r = b->load_state_dict(a->state_dict());
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(values(b->weight), values(a->weight));
  EXPECT_EQ(values(b->bias), values(a->bias));
  // In place: the handles stay the same leaves requiring grad.
  EXPECT_TRUE(b->weight.is_same(b_weight));
  EXPECT_TRUE(b->weight.requires_grad());
  EXPECT_TRUE(b->weight.is_leaf());
  // And the values are copies: changing a afterwards does not change b.
  {
    NoGradGuard g;
    a->weight.fill_(0.0);
  }
  EXPECT_NE(values(b->weight), values(a->weight));
  Tensor x = randn({1, 2, 4, 4, 4});
  EXPECT_EQ(b->forward(x).sizes(), (Shape{1, 3, 2, 2, 2}));
}

TEST(StateDict, LoadsBuffersIncludingInt64) {
  auto a = std::make_shared<Scale>(2);
  a->running.fill_(3.0);
  a->steps.fill_(11.0);
  auto b = std::make_shared<Scale>(2);
  b->load_state_dict(a->state_dict());
  EXPECT_EQ(values(b->running), std::vector<double>({3.0, 3.0}));
  EXPECT_EQ(b->steps.item<std::int64_t>(), 11);
}

TEST(StateDict, StrictReportsEveryProblemInOneError) {
  auto m = std::make_shared<Scale>(3);
  nn::StateDict sd = m->state_dict();
  // weight: wrong shape; frozen: missing; running: float64 (converted, not an error); steps: fine;
  // plus two unknown keys.
  sd[0].second = zeros({4});
  sd.erase(sd.begin() + 1);
  sd[1].second = zeros({3}, kFloat64);
  sd.emplace_back("extra", zeros({1}));
  sd.emplace_back("more.weight", zeros({1}));
  const Tensor before = m->weight.clone();
  EXPECT_ERROR_EQ(m->load_state_dict(sd),
                  "load_state_dict: Error(s) in loading state_dict for Scale:\n"
                  "\tMissing key(s) in state_dict: \"frozen\".\n"
                  "\tUnexpected key(s) in state_dict: \"extra\", \"more.weight\".\n"
                  "\tsize mismatch for weight: copying a param with shape [4] from checkpoint, the shape in "
                  "current model is [3].");
  // Nothing was copied, not even the entries that matched.
  expect_close(m->weight, before, 0.0);
  EXPECT_EQ(values(m->running), std::vector<double>({0.0, 0.0, 0.0}));
}

TEST(StateDict, DuplicateAndUndefinedEntriesAreReported) {
  auto m = std::make_shared<Scale>(1);
  nn::StateDict sd = m->state_dict();
  sd.push_back(sd[0]);
  sd[1].second = Tensor();
  EXPECT_ERROR_CONTAINS(m->load_state_dict(sd), "the entry for frozen is an undefined tensor.");
  EXPECT_ERROR_CONTAINS(m->load_state_dict(sd), "key weight appears more than once in state_dict.");
  EXPECT_ERROR_CONTAINS(m->load_state_dict(sd, /*strict=*/false), "key weight appears more than once");
}

TEST(StateDict, NonStrictLoadsWhatMatchesAndReturnsTheRest) {
  auto m = std::make_shared<Scale>(2);
  nn::StateDict sd;
  sd.emplace_back("weight", full({2}, 5.0, kFloat64));  // converted, as PyTorch's copy_
  sd.emplace_back("unknown", zeros({3}));
  sd.emplace_back("steps", full({1}, 4.0, kInt64));
  const nn::IncompatibleKeys r = m->load_state_dict(sd, /*strict=*/false);
  EXPECT_EQ(r.missing_keys, std::vector<std::string>({"frozen", "running"}));
  EXPECT_EQ(r.unexpected_keys, std::vector<std::string>({"unknown"}));
  EXPECT_FALSE(r.empty());
  EXPECT_EQ(m->weight.dtype(), kFloat32);
  EXPECT_EQ(values(m->weight), std::vector<double>({5.0, 5.0}));
  EXPECT_EQ(m->steps.item<std::int64_t>(), 4);
  // A shape mismatch is an error even when not strict (as in PyTorch), and loads nothing.
  sd[0].second = zeros({3});
  sd[2].second = full({1}, 9.0, kInt64);
  EXPECT_ERROR_CONTAINS(m->load_state_dict(sd, false), "size mismatch for weight");
  EXPECT_EQ(m->steps.item<std::int64_t>(), 4);
}

// PyTorch's load_state_dict copy_s each value into the existing tensor, so a float64 checkpoint loads
// into a float32 model (rounded to nearest, as a cast) and a float32 one into a float64 model (exact),
// strict or not; the module's tensors keep their dtype, identity and requires_grad.
TEST(StateDict, StrictLoadConvertsFloat64ToFloat32AsACast) {
  auto m = std::make_shared<Scale>(3);
  const Tensor weight_handle = m->weight;
  const std::vector<double> w{0.1, -1.0 / 3.0, 1e-40};  // 1e-40 is a float32 denormal
  nn::StateDict sd = m->state_dict();
  sd[0].second = tensor(w, kFloat64);
  sd[2].second = tensor(std::vector<double>{1.0 + 1e-12, 2.5, 3e38}, kFloat64);
  sd[3].second = full({1}, 7.9, kFloat64);  // into the int64 buffer: truncated, as copy_ does
  m->load_state_dict(sd);
  EXPECT_EQ(m->weight.dtype(), kFloat32);
  EXPECT_TRUE(m->weight.is_same(weight_handle));
  EXPECT_TRUE(m->weight.is_leaf());
  EXPECT_TRUE(m->weight.requires_grad());
  const float* p = m->weight.data_ptr<float>();
  EXPECT_EQ(p[0], static_cast<float>(0.1));
  EXPECT_EQ(p[1], static_cast<float>(-1.0 / 3.0));
  EXPECT_EQ(p[2], static_cast<float>(1e-40));
  const float* r = m->running.data_ptr<float>();
  EXPECT_EQ(r[0], 1.0f);
  EXPECT_EQ(r[1], 2.5f);
  EXPECT_EQ(r[2], static_cast<float>(3e38));
  EXPECT_EQ(m->steps.item<std::int64_t>(), 7);
}

TEST(StateDict, StrictLoadConvertsFloat32ToFloat64Exactly) {
  auto m = std::make_shared<Scale>(2);
  m->to(kFloat64);
  nn::StateDict sd = m->state_dict();
  sd[0].second = tensor(std::vector<double>{0.1, 1.0 / 3.0}, kFloat32);
  m->load_state_dict(sd);
  EXPECT_EQ(m->weight.dtype(), kFloat64);
  const double* p = m->weight.data_ptr<double>();
  EXPECT_EQ(p[0], static_cast<double>(0.1f));  // the float32 value, widened exactly (not 0.1)
  EXPECT_EQ(p[1], static_cast<double>(static_cast<float>(1.0 / 3.0)));
  // A whole float32 model into a float64 one and back: the round trip is exact.
  auto conv32 = std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2, 3, 3));
  auto conv64 = std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2, 3, 3));
  conv64->to(kFloat64);
  conv64->load_state_dict(conv32->state_dict());
  auto back = std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2, 3, 3));
  back->load_state_dict(conv64->state_dict());
  expect_close(back->weight, conv32->weight, 0.0);
  expect_close(back->bias, conv32->bias, 0.0);
}

TEST(StateDict, StrictLoadStillRefusesShapesAndKeysWithClearMessages) {
  auto m = std::make_shared<nn::LinearImpl>(3, 2);
  nn::StateDict sd = m->state_dict();
  sd[0].second = zeros({2, 4}, kFloat64);  // a dtype change does not hide the shape mismatch
  EXPECT_ERROR_EQ(m->load_state_dict(sd),
                  "load_state_dict: Error(s) in loading state_dict for Linear:\n"
                  "\tsize mismatch for weight: copying a param with shape [2, 4] from checkpoint, the shape in "
                  "current model is [2, 3].");
  nn::StateDict missing = m->state_dict();
  missing.pop_back();
  missing.emplace_back("bias_", zeros({2}));
  EXPECT_ERROR_EQ(m->load_state_dict(missing),
                  "load_state_dict: Error(s) in loading state_dict for Linear:\n"
                  "\tMissing key(s) in state_dict: \"bias\".\n"
                  "\tUnexpected key(s) in state_dict: \"bias_\".");
}

TEST(StateDict, LoadWorksWithGradModeOnAndLeavesNoGraph) {
  auto m = std::make_shared<Scale>(2);
  nn::StateDict sd = m->state_dict();
  sd[0].second = full({2}, 1.5).requires_grad_();
  ASSERT_TRUE(GradMode::is_enabled());
  m->load_state_dict(sd);
  EXPECT_TRUE(m->weight.is_leaf());
  EXPECT_EQ(m->weight.grad_fn(), nullptr);
  EXPECT_EQ(values(m->weight), std::vector<double>({1.5, 1.5}));
}

// --- clone ----------------------------------------------------------------------------------------

TEST(Clone, CopiesValuesIntoIndependentTensors) {
  manual_seed(2);
  auto conv = std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2, 4, 3).stride(2).bias(false));
  std::shared_ptr<nn::Conv3dImpl> copy = conv->clone();
  ASSERT_NE(copy, conv);
  EXPECT_EQ(copy->options().stride()[0], 2);
  EXPECT_FALSE(copy->bias.defined());
  EXPECT_FALSE(copy->weight.is_same(conv->weight));
  EXPECT_EQ(values(copy->weight), values(conv->weight));
  // The member handle is the registered parameter.
  ASSERT_EQ(copy->parameters().size(), 1u);
  EXPECT_TRUE(copy->parameters()[0].is_same(copy->weight));
  EXPECT_TRUE(copy->weight.requires_grad());
  EXPECT_TRUE(copy->weight.is_leaf());
  // Independent: changing one leaves the other.
  {
    NoGradGuard g;
    copy->weight.fill_(1.0);
  }
  EXPECT_NE(values(conv->weight), values(copy->weight));
  Tensor x = randn({1, 2, 5, 5, 5});
  EXPECT_EQ(copy->forward(x).sizes(), (Shape{1, 4, 2, 2, 2}));
}

TEST(Clone, KeepsRequiresGradBuffersAndTrainingState) {
  auto m = std::make_shared<Scale>(2);
  m->running.fill_(4.0);
  m->steps.fill_(3.0);
  m->weight.requires_grad_(false);
  m->eval();
  auto copy = m->clone();
  EXPECT_FALSE(copy->weight.requires_grad());
  EXPECT_FALSE(copy->frozen.requires_grad());
  EXPECT_EQ(values(copy->running), std::vector<double>({4.0, 4.0}));
  EXPECT_EQ(copy->steps.item<std::int64_t>(), 3);
  EXPECT_FALSE(copy->running.is_same(m->running));
  EXPECT_FALSE(copy->is_training());
  EXPECT_EQ(keys_of(copy->state_dict()), keys_of(m->state_dict()));
}

TEST(Clone, ParameterSharedBetweenSubmodulesStaysSharedInTheClone) {
  auto tied = std::make_shared<Tied>();
  {
    NoGradGuard g;
    tied->enc->weight.copy_(tensor({1.0, 2.0, 3.0}));
  }
  std::shared_ptr<Tied> copy = tied->clone();
  Tensor enc_w = copy->enc->weight;
  const Tensor dec_w = copy->dec->named_parameters()[0].second;
  EXPECT_TRUE(enc_w.is_same(dec_w));               // still one tensor
  EXPECT_FALSE(enc_w.is_same(tied->enc->weight));  // but not the original's
  EXPECT_EQ(values(dec_w), std::vector<double>({1.0, 2.0, 3.0}));
  EXPECT_EQ(copy->parameters().size(), 3u);
  EXPECT_EQ(copy->num_parameters(), tied->num_parameters());
  // Updating the clone's shared tensor is seen through both of its names, not in the original.
  {
    NoGradGuard g;
    enc_w.fill_(0.5);
  }
  EXPECT_EQ(values(dec_w), std::vector<double>({0.5, 0.5, 0.5}));
  EXPECT_EQ(values(tied->enc->weight), std::vector<double>({1.0, 2.0, 3.0}));
}

TEST(Clone, SharingAddedAfterConstructionToPlainModulesIsKept) {
  auto a = std::make_shared<nn::Conv1dImpl>(nn::Conv1dOptions(1, 1, 2));
  auto holder = std::make_shared<nn::Module>("Holder");
  holder->register_parameter("tied", a->weight);
  auto root = std::make_shared<nn::Module>("Root");
  root->register_module("a", a);
  root->register_module("holder", holder);
  root->register_module("again", a);  // a module registered twice
  auto copy = root->clone();
  EXPECT_EQ(copy->name(), "Root");
  const auto kids = copy->named_children();
  ASSERT_EQ(kids.size(), 3u);
  EXPECT_EQ(kids[0].second, kids[2].second);
  EXPECT_NE(kids[0].second, a);
  auto a_copy = std::dynamic_pointer_cast<nn::Conv1dImpl>(kids[0].second);
  ASSERT_NE(a_copy, nullptr);
  EXPECT_TRUE(kids[1].second->named_parameters()[0].second.is_same(a_copy->weight));
  EXPECT_EQ(keys_of(copy->state_dict()), keys_of(root->state_dict()));
}

TEST(Clone, DeepCopiesNestedModulesWithTheirOwnCloneables) {
  manual_seed(3);
  auto root = std::make_shared<nn::Module>();
  auto inner = root->register_module("inner", std::make_shared<nn::Module>());
  inner->register_module("conv",
                         std::make_shared<nn::ConvTranspose3dImpl>(nn::ConvTranspose3dOptions(2, 1, 2).stride(2)));
  auto copy = root->clone();
  const nn::StateDict a = root->state_dict(), b = copy->state_dict();
  ASSERT_EQ(keys_of(a), keys_of(b));
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(values(a[i].second), values(b[i].second));
    EXPECT_NE(a[i].second.raw_data_ptr(), b[i].second.raw_data_ptr());
  }
  Tensor x = randn({1, 2, 3, 3, 3});
  auto conv_a = root->modules()[2], conv_b = copy->modules()[2];
  expect_close(conv_a->forward(x), conv_b->forward(x), 0.0);
}

TEST(Clone, ModuleThatIsNotCloneableNamesTheFix) {
  auto p = std::make_shared<Plain>();
  EXPECT_ERROR_CONTAINS(p->clone(), "clone: Plain does not support clone(); derive it from nn::Cloneable<Plain>");
  // Also when it is only a descendant.
  nn::Module root;
  root.register_module("p", p);
  EXPECT_ERROR_CONTAINS(root.clone(), "clone: Plain does not support clone()");
  // A subclass of a cloneable layer would be sliced to its base: refused too.
  struct MyConv : nn::Conv3dImpl {
    MyConv() : nn::Conv3dImpl(nn::Conv3dOptions(1, 1, 1)) {}
  };
  EXPECT_ERROR_CONTAINS(std::make_shared<MyConv>()->clone(), "clone: MyConv does not support clone()");
}

TEST(Clone, EntriesAddedAfterConstructionAreCopiedToo) {
  auto m = std::make_shared<Scale>(2);
  m->register_parameter("extra", full({1}, 9.0));
  m->register_module("child", std::make_shared<nn::LinearImpl>(2, 1));
  auto copy = m->clone();
  EXPECT_EQ(keys_of(copy->state_dict()), keys_of(m->state_dict()));
  EXPECT_EQ(values(copy->named_parameters()[2].second), std::vector<double>({9.0}));
  EXPECT_TRUE(copy->named_parameters()[0].second.is_same(copy->weight));
}

TEST(Clone, AResetThatBuildsSomethingElseIsReported) {
  // reset() must rebuild the same structure; here it depends on a flag the copy does not share.
  struct Odd : nn::Cloneable<Odd> {
    Odd() { reset(); }
    void reset() {
      register_parameter(first_ ? "a" : "b", zeros({1}));
      first_ = false;
    }
    bool first_ = true;
  };
  auto odd = std::make_shared<Odd>();  // holds "a"
  odd->first_ = true;                  // copied into the clone, whose reset() then registers "a" too
  EXPECT_NO_THROW(odd->clone());
  odd->first_ = false;  // now the copy's reset() registers "b", which the original does not have
  EXPECT_ERROR_CONTAINS(odd->clone(),
                        "clone: Odd's reset() registered parameter 'b', which the original does not have");
}

TEST(Clone, AModuleWithoutStateNeedsNoReset) {
  // Options only, and children that live only in the registry (as the containers'): no reset().
  struct Scaled : nn::Cloneable<Scaled> {
    explicit Scaled(double k) : k_(k) {}
    Tensor forward(const Tensor& x) override { return x * k_; }
    double k_;
  };
  auto m = std::make_shared<Scaled>(3.0);
  m->register_module("inner", std::make_shared<nn::LinearImpl>(2, 1));
  std::shared_ptr<Scaled> copy = m->clone();
  EXPECT_EQ(copy->k_, 3.0);
  EXPECT_EQ(keys_of(copy->state_dict()), keys_of(m->state_dict()));
  EXPECT_NE(copy->named_children()[0].second, m->named_children()[0].second);
  EXPECT_FALSE(copy->parameters()[0].is_same(m->parameters()[0]));
  // Built-in layers without state, and containers, have no reset() of their own either.
  auto relu = std::make_shared<nn::ReLUImpl>()->clone();
  EXPECT_EQ(relu->name(), "ReLU");
}

TEST(Clone, AModuleThatRegistersTensorsWithoutAResetIsRefused) {
  // Its member handle would keep pointing at the original's tensor in the copy.
  struct Handles : nn::Cloneable<Handles> {
    Handles() { w = register_parameter("w", zeros({1})); }
    Tensor w;
  };
  EXPECT_ERROR_CONTAINS(std::make_shared<Handles>()->clone(),
                        "clone: Handles registers parameter 'w' but has no reset()");
  struct Buffers : nn::Cloneable<Buffers> {
    Buffers() { register_buffer("count", zeros({1}, kInt64)); }
  };
  EXPECT_ERROR_CONTAINS(std::make_shared<Buffers>()->clone(),
                        "clone: Buffers registers buffer 'count' but has no reset()");
}

TEST(Clone, CloneOfAFloat64ModuleStaysFloat64) {
  auto conv = std::make_shared<nn::Conv2dImpl>(nn::Conv2dOptions(1, 2, 3));
  conv->to(kFloat64);
  auto copy = conv->clone();
  EXPECT_EQ(copy->weight.dtype(), kFloat64);
  EXPECT_EQ(copy->bias.dtype(), kFloat64);
  EXPECT_EQ(values(copy->weight), values(conv->weight));
}

// --- apply, to, num_parameters ----------------------------------------------------------------------

TEST(Apply, VisitsChildrenFirstEachModuleOnce) {
  auto root = std::make_shared<nn::Module>("Root");
  auto a = root->register_module("a", std::make_shared<nn::Module>("A"));
  a->register_module("leaf", std::make_shared<nn::Module>("Leaf"));
  auto b = root->register_module("b", std::make_shared<nn::Module>("B"));
  root->register_module("a_again", a);
  std::vector<std::string> order;
  nn::Module& r = root->apply([&](nn::Module& m) { order.push_back(m.name()); });
  EXPECT_EQ(&r, root.get());
  EXPECT_EQ(order, std::vector<std::string>({"Leaf", "A", "B", "Root"}));
}

TEST(Apply, CanReinitialiseEveryConv) {
  auto root = std::make_shared<nn::Module>();
  root->register_module("c1", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(1, 2, 3)));
  root->register_module("c2", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2, 2, 3)));
  root->apply([](nn::Module& m) {
    if (auto* conv = dynamic_cast<nn::Conv3dImpl*>(&m)) {
      NoGradGuard g;
      conv->weight.fill_(0.25);
      conv->bias.zero_();
    }
  });
  for (const auto& [name, p] : root->named_parameters()) {
    for (double v : values(p)) EXPECT_EQ(v, name.ends_with("weight") ? 0.25 : 0.0) << name;
  }
}

TEST(ModuleTo, ConvertsParametersBuffersAndGradsInPlace) {
  auto m = std::make_shared<Scale>(2);
  (m->forward(ones({2})).sum()).backward();
  ASSERT_TRUE(m->weight.grad().defined());
  const Tensor handle = m->weight;
  nn::Module& r = m->to(kFloat64);
  EXPECT_EQ(&r, m.get());
  EXPECT_TRUE(handle.is_same(m->weight));
  EXPECT_EQ(m->weight.dtype(), kFloat64);
  EXPECT_EQ(m->frozen.dtype(), kFloat64);
  EXPECT_EQ(m->running.dtype(), kFloat64);
  EXPECT_EQ(m->weight.grad().dtype(), kFloat64);
  EXPECT_EQ(m->steps.dtype(), kInt64);  // integer buffers are left alone
  EXPECT_TRUE(m->weight.requires_grad());
  EXPECT_TRUE(m->weight.is_leaf());
  EXPECT_FALSE(m->frozen.requires_grad());
  EXPECT_EQ(values(m->weight), std::vector<double>({2.0, 2.0}));
  EXPECT_EQ(m->state_dict()[0].second.dtype(), kFloat64);
  EXPECT_ERROR_CONTAINS(m->to(kInt64), "to: Scale: modules can only be converted to float32 or float64, not int64");
  m->to(kFloat32);
  EXPECT_EQ(m->weight.dtype(), kFloat32);
}

TEST(ModuleTo, Float64ConvPassesGradcheckThroughItsParameters) {
  manual_seed(4);
  auto conv = std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2, 2, 2).padding(1));
  conv->to(kFloat64);
  Tensor x = randn({1, 2, 3, 3, 3}, kFloat64).requires_grad_();
  EXPECT_TRUE(autograd::gradcheck([&](const std::vector<Tensor>& in) { return conv->forward(in[0]).pow(2.0).sum(); },
                                  {x, conv->weight, conv->bias}));
}

TEST(NumParameters, CountsEveryElementOnce) {
  auto conv = std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(4, 8, 3));
  EXPECT_EQ(conv->num_parameters(), 8 * 4 * 27 + 8);
  auto tied = std::make_shared<Tied>();
  EXPECT_EQ(tied->num_parameters(), 3 + 3 + 3);  // enc.weight (shared with dec.weight), enc.frozen, dec.bias
  EXPECT_EQ(tied->num_parameters(/*recurse=*/false), 0);
  EXPECT_EQ(nn::Module().num_parameters(), 0);
}

}  // namespace
