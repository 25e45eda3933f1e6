// Module holders (nn::Conv3d holds an nn::Conv3dImpl, VOXGRAD_MODULE for a user's module), AnyModule and
// Sequential with modules taken directly and forwards of more than one argument.
#include <sstream>

#include "test_util.h"

namespace {

using namespace voxgrad;
using voxgrad::testing::expect_close;
using voxgrad::testing::values;

Tensor randn64(const Shape& sizes, std::uint64_t seed) {
  manual_seed(seed);
  return randn(sizes, kFloat64);
}

// A holder of every built-in module kind: its module is the Impl, `->` and `*` reach it, printing and
// name() are the Impl's, and calling the holder equals calling forward on the module.
template <class H>
void expect_holder(H holder, const std::string& name, const Tensor& x) {
  static_assert(std::is_same_v<typename H::ContainedType, typename H::Impl>);
  static_assert(std::is_convertible_v<H, std::shared_ptr<nn::Module>>);
  ASSERT_FALSE(holder.is_empty()) << name;
  EXPECT_EQ(holder->name(), name);
  EXPECT_EQ(holder.get(), holder.ptr().get());
  EXPECT_EQ(&*holder, holder.get());
  std::ostringstream via_holder, via_module;
  via_holder << holder;
  via_module << *holder;
  EXPECT_EQ(via_holder.str(), via_module.str()) << name;
  if (!x.defined()) return;
  holder->to(x.dtype());
  holder->eval();
  expect_close(holder(x), holder->forward(x));
  const H copy = holder;  // copies share the module
  EXPECT_EQ(copy.get(), holder.get());
}

TEST(ModuleHolder, EveryBuiltInModuleHasOne) {
  const Tensor x5 = randn64({2, 4, 4, 4, 4}, 1);
  const Tensor x4 = randn64({2, 4, 6, 6}, 2);
  const Tensor x3 = randn64({2, 4, 7}, 3);
  expect_holder(nn::ReLU(), "ReLU", x5);
  expect_holder(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)), "LeakyReLU", x5);
  expect_holder(nn::Sigmoid(), "Sigmoid", x5);
  expect_holder(nn::Tanh(), "Tanh", x5);
  expect_holder(nn::GELU(), "GELU", x5);
  expect_holder(nn::SiLU(), "SiLU", x5);
  expect_holder(nn::Dropout(nn::DropoutOptions(0.3)), "Dropout", x5);
  expect_holder(nn::Linear(4, 3), "Linear", x5);
  expect_holder(nn::Linear(nn::LinearOptions(4, 3).bias(false)), "Linear", x5);
  expect_holder(nn::Identity(), "Identity", x5);
  expect_holder(nn::Flatten(), "Flatten", x5);
  expect_holder(nn::BatchNorm3d(nn::BatchNorm3dOptions(4)), "BatchNorm3d", x5);
  expect_holder(nn::InstanceNorm3d(nn::InstanceNorm3dOptions(4)), "InstanceNorm3d", x5);
  expect_holder(nn::GroupNorm(2, 4), "GroupNorm", x5);
  expect_holder(nn::MaxPool3d(nn::MaxPool3dOptions(2)), "MaxPool3d", x5);
  expect_holder(nn::AvgPool3d(nn::AvgPool3dOptions(2)), "AvgPool3d", x5);
  expect_holder(nn::Upsample(nn::UpsampleOptions().scale_factor(std::vector<double>{2, 2, 2})), "Upsample", x5);
  expect_holder(nn::Conv1d(nn::Conv1dOptions(4, 2, 3)), "Conv1d", x3);
  expect_holder(nn::Conv2d(nn::Conv2dOptions(4, 2, 3)), "Conv2d", x4);
  expect_holder(nn::Conv3d(nn::Conv3dOptions(4, 2, 3)), "Conv3d", x5);
  expect_holder(nn::ConvTranspose1d(nn::ConvTranspose1dOptions(4, 2, 3)), "ConvTranspose1d", x3);
  expect_holder(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(4, 2, 3)), "ConvTranspose2d", x4);
  expect_holder(nn::ConvTranspose3d(nn::ConvTranspose3dOptions(4, 2, 3)), "ConvTranspose3d", x5);
  expect_holder(nn::Sequential(nn::Conv3d(nn::Conv3dOptions(4, 2, 1)), nn::ReLU()), "Sequential", x5);
  expect_holder(nn::ModuleList(), "ModuleList", Tensor());
  expect_holder(nn::ModuleDict(), "ModuleDict", Tensor());

  // Losses take (input, target): the holder forwards both.
  const Tensor target = randn64({2, 4, 4, 4, 4}, 4);
  const auto expect_loss = [&](auto loss, const std::string& name, const Tensor& input, const Tensor& t) {
    expect_holder(loss, name, Tensor());
    expect_close(loss(input, t), loss->forward(input, t));
  };
  const Tensor probs = x5.sigmoid();
  const Tensor labels = tensor(std::vector<double>{1, 0}, kFloat64).to(kInt64);
  const Tensor logits = randn64({2, 3}, 5);
  expect_loss(nn::MSELoss(), "MSELoss", x5, target);
  expect_loss(nn::L1Loss(), "L1Loss", x5, target);
  expect_loss(nn::SmoothL1Loss(), "SmoothL1Loss", x5, target);
  expect_loss(nn::BCELoss(), "BCELoss", probs, target.sigmoid());
  expect_loss(nn::BCEWithLogitsLoss(), "BCEWithLogitsLoss", x5, target.sigmoid());
  expect_loss(nn::NLLLoss(), "NLLLoss", logits, labels);
  expect_loss(nn::CrossEntropyLoss(), "CrossEntropyLoss", logits, labels);
}

TEST(ModuleHolder, ConvHolderWorksAsInLibtorch) {
  nn::Conv3d conv(nn::Conv3dOptions(1, 8, 3));
  const Tensor x = randn({2, 1, 5, 5, 5});
  EXPECT_EQ(conv->forward(x).sizes(), Shape({2, 8, 3, 3, 3}));
  EXPECT_EQ(conv->weight.sizes(), Shape({8, 1, 3, 3, 3}));
  EXPECT_EQ(conv->options().out_channels(), 8);
  // The std::make_shared spelling makes the same module type, and converts to the holder.
  std::shared_ptr<nn::Conv3dImpl> made = std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(1, 8, 3));
  nn::Conv3d held = made;
  EXPECT_EQ(held.get(), made.get());
  std::shared_ptr<nn::Module> as_module = conv;
  EXPECT_EQ(as_module.get(), conv.get());
}

TEST(ModuleHolder, EmptyHolderThrowsOnAccess) {
  nn::Conv3d conv{nullptr};
  EXPECT_TRUE(conv.is_empty());
  EXPECT_FALSE(static_cast<bool>(conv));
  EXPECT_ERROR_EQ(conv->forward(Tensor()),
                  "ModuleHolder: accessing an empty holder of nn::ConvImpl<3ul> (built from nullptr); assign a "
                  "module to it first, e.g. with register_module");
  std::ostringstream printed;
  printed << conv;
  EXPECT_EQ(printed.str(), "<empty holder>");
  conv = nn::Conv3d(nn::Conv3dOptions(1, 1, 1));
  EXPECT_FALSE(conv.is_empty());
  nn::Module parent;
  EXPECT_ERROR_CONTAINS(parent.register_module("c", nn::Conv3d(nullptr)),
                        "register_module: Module: module 'c' is null");
}

// A user's module with a holder, registering holders as its children, libtorch style.
struct DownImpl : nn::Cloneable<DownImpl> {
  explicit DownImpl(std::int64_t c) : c_(c) { reset(); }
  void reset() override {
    conv = register_module("conv", nn::Conv3d(nn::Conv3dOptions(c_, c_, 3).padding(1)));
    norm = register_module("norm", nn::GroupNorm(1, c_));
    act = register_module("act", std::make_shared<nn::ReLUImpl>());  // a shared_ptr child, too
  }
  Tensor forward(const Tensor& x) override { return act->forward(norm(conv(x))); }
  std::int64_t c_;
  nn::Conv3d conv{nullptr};
  nn::GroupNorm norm{nullptr};
  std::shared_ptr<nn::ReLUImpl> act;
};
VOXGRAD_MODULE(Down);

TEST(ModuleHolder, MacroGivesAUserModuleAHolder) {
  Down down(2);
  EXPECT_EQ(down->name(), "Down");  // "DownImpl" prints as the holder's name
  const std::vector<std::string> names = [&] {
    std::vector<std::string> out;
    for (const auto& [n, t] : down->named_parameters()) out.push_back(n);
    return out;
  }();
  EXPECT_EQ(names, std::vector<std::string>({"conv.weight", "conv.bias", "norm.weight", "norm.bias"}));
  // The member holder and the registered child are one module.
  EXPECT_EQ(down->named_children()[0].second.get(), down->conv.get());
  const Tensor x = randn({1, 2, 4, 4, 4});
  expect_close(down(x), down->act->forward(down->norm->forward(down->conv->forward(x))), 0.0);
  // clone() of the Impl gives a deep copy whose holders point at the copy's children.
  std::shared_ptr<DownImpl> copy = down->clone();
  EXPECT_NE(copy->conv.get(), down->conv.get());
  EXPECT_EQ(copy->named_children()[0].second.get(), copy->conv.get());
  expect_close((*copy)(x), down(x), 0.0);
  // A default-constructible Impl gives a default-constructible holder.
  nn::ReLU relu;
  EXPECT_FALSE(relu.is_empty());
  static_assert(!std::is_default_constructible_v<nn::Conv3d>);
  static_assert(std::is_default_constructible_v<nn::Sequential>);
}

// --- Sequential with modules taken directly ----------------------------------------------------------

TEST(SequentialHolder, TakesHoldersSharedPtrsAndValues) {
  manual_seed(7);
  nn::Linear first(3, 4);
  nn::Sequential seq(first, nn::ReLU(), std::make_shared<nn::LinearImpl>(4, 2), nn::TanhImpl());
  ASSERT_EQ(seq->size(), 4u);
  EXPECT_EQ(seq->named_children()[0].second.get(), first.get());  // a holder is shared, not copied
  std::vector<std::string> names;
  for (const auto& [n, m] : seq->named_children()) names.push_back(n + ":" + m->name());
  EXPECT_EQ(names, std::vector<std::string>({"0:Linear", "1:ReLU", "2:Linear", "3:Tanh"}));
  const Tensor x = randn({5, 3});
  const Tensor expected = seq->at<nn::LinearImpl>(2)->forward(first->forward(x).relu()).tanh();
  expect_close(seq->forward(x), expected, 0.0);
  expect_close(seq(x), expected, 0.0);
  // push_back of a holder returns the holder; at<Holder> gives a holder.
  nn::Sigmoid sig = seq->push_back(nn::Sigmoid());
  EXPECT_EQ(seq->at<nn::Sigmoid>(4).get(), sig.get());
  nn::Linear second = seq->at<nn::Linear>(2);
  EXPECT_EQ(second->options().out_features(), 2);
  EXPECT_ERROR_CONTAINS(seq->at<nn::Conv3d>(0), "Sequential::at: module 0 is a Linear, not the requested type");
  nn::Identity named = seq->push_back("last", nn::Identity());
  EXPECT_EQ(seq->named_children().back().second.get(), named.get());
  EXPECT_EQ(seq->named_children().back().first, "last");
  // The old spelling still works.
  auto old = std::make_shared<nn::SequentialImpl>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::LinearImpl>(3, 4), std::make_shared<nn::ReLUImpl>()});
  EXPECT_EQ(old->forward(x).sizes(), Shape({5, 4}));
}

// A module whose forward takes a tensor and a scale.
struct ScaleImpl : nn::Cloneable<ScaleImpl> {
  Tensor forward(const Tensor& x, double scale) { return x * scale; }
};
VOXGRAD_MODULE(Scale);

// A module whose forward takes two tensors (a decoder stage with a skip connection).
struct JoinImpl : nn::Cloneable<JoinImpl> {
  Tensor forward(const Tensor& x, const Tensor& skip) { return x + skip; }
};
VOXGRAD_MODULE(Join);

TEST(SequentialHolder, FirstModuleMayTakeSeveralArguments) {
  manual_seed(3);
  nn::ConvTranspose3d up(nn::ConvTranspose3dOptions(2, 3, 3).stride(2).padding(1));
  nn::Sequential seq(up, nn::ReLU());
  const Tensor x = randn({1, 2, 4, 4, 4});
  // Without output_size the output is 7³; with it, 8³, as ConvTranspose3d::forward(x, output_size).
  EXPECT_EQ(seq->forward(x).sizes(), Shape({1, 3, 7, 7, 7}));
  const std::vector<std::int64_t> size{8, 8, 8};
  const Tensor y = seq->forward(x, size);
  expect_close(y, up->forward(x, size).relu(), 0.0);
  expect_close(seq->forward(x, IntArrayRef(size)), y, 0.0);
  expect_close(seq(x, size), y, 0.0);
  // Nested Sequentials pass the extra argument on to the first module.
  nn::Sequential outer(seq, nn::Sigmoid());
  expect_close(outer->forward(x, size), y.sigmoid(), 0.0);
  // A clone keeps the type-erased forwards.
  std::shared_ptr<nn::SequentialImpl> copy = seq->clone();
  expect_close(copy->forward(x, size), y, 0.0);

  // User modules: any single forward signature is reachable; an int passes as a double.
  nn::Sequential scaled{Scale(), nn::ReLU()};
  expect_close(scaled->forward(x, 2), (x * 2.0).relu(), 0.0);
  nn::Sequential joined{Join(), nn::Tanh()};
  const Tensor skip = randn({1, 2, 4, 4, 4});
  expect_close(joined->forward(x, skip), (x + skip).tanh(), 0.0);
  // A loss module first: (input, target) -> loss.
  nn::Sequential loss{nn::MSELoss()};
  expect_close(loss->forward(x, skip), nn::functional::mse_loss(x, skip), 0.0);
}

TEST(SequentialHolder, WrongArgumentsNameTheSignatures) {
  nn::Sequential seq(nn::ConvTranspose3d(nn::ConvTranspose3dOptions(2, 3, 3)), nn::ReLU());
  const Tensor x = randn({1, 2, 4, 4, 4});
  EXPECT_ERROR_EQ(seq->forward(x, 2.5),
                  "ConvTranspose3d: forward called with (Tensor, double), but it takes (Tensor) or (Tensor, "
                  "IntArrayRef)");
  EXPECT_ERROR_EQ(nn::Sequential(Join())->forward(x),
                  "Join: forward called with (Tensor), but it takes (Tensor, Tensor)");
  // A later module gets one value; a forward that needs two says so.
  EXPECT_ERROR_EQ(nn::Sequential(nn::ReLU(), Join())->forward(x),
                  "Join: forward called with (Tensor), but it takes (Tensor, Tensor)");
  // Added as std::shared_ptr<nn::Module>, a module is reached only through forward(const Tensor&).
  auto erased = std::make_shared<nn::SequentialImpl>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::ConvTranspose3dImpl>(nn::ConvTranspose3dOptions(2, 3, 3))});
  EXPECT_ERROR_EQ(erased->forward(x, std::vector<std::int64_t>{6, 6, 6}),
                  "ConvTranspose3d: forward called with (Tensor, std::vector<long, std::allocator<long> >), but it "
                  "takes (Tensor)");
  EXPECT_ERROR_EQ(nn::Sequential()->forward(x, x),
                  "Sequential::forward: an empty Sequential returns its one input, but got 2 inputs");
  EXPECT_ERROR_EQ(seq->forward<std::vector<Tensor>>(x),
                  "AnyValue::get: asked for a std::vector<Tensor, std::allocator<Tensor> >, but the value is a Tensor");
}

TEST(ModuleListHolder, TakesHoldersSharedPtrsAndValues) {
  nn::Linear lin(2, 3);
  nn::ModuleList list(lin, std::make_shared<nn::ReLUImpl>(), nn::SigmoidImpl());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].get(), lin.get());
  EXPECT_EQ(list->at<nn::Linear>(0).get(), lin.get());
  EXPECT_EQ((*list)[2]->name(), "Sigmoid");
  nn::Tanh tanh = list->push_back(nn::Tanh());
  EXPECT_EQ((*list)[3].get(), tanh.get());
  nn::ModuleDict dict;
  nn::GELU gelu = dict->insert("act", nn::GELU());
  EXPECT_EQ(dict->at<nn::GELU>("act").get(), gelu.get());
  EXPECT_ERROR_CONTAINS(dict->at<nn::ReLU>("act"), "ModuleDict::at: module 'act' is a GELU, not the requested type");
}

TEST(AnyModule, CallsTheHeldModulesForward) {
  nn::AnyModule any(nn::ConvTranspose3d(nn::ConvTranspose3dOptions(1, 1, 2).stride(2)));
  const Tensor x = randn({1, 1, 3, 3, 3});
  EXPECT_EQ(any.forward(x).sizes(), Shape({1, 1, 6, 6, 6}));
  EXPECT_EQ(any.forward(x, std::vector<std::int64_t>{7, 7, 7}).sizes(), Shape({1, 1, 7, 7, 7}));
  EXPECT_EQ(any.ptr<nn::ConvTranspose3dImpl>()->options().out_channels(), 1);
  EXPECT_ERROR_CONTAINS(any.ptr<nn::LinearImpl>(),
                        "AnyModule::ptr: the module is ConvTranspose3d, not a nn::LinearImpl");
  nn::AnyModule from_value(nn::ReLUImpl{});
  expect_close(from_value.forward(x), x.relu(), 0.0);
  nn::AnyModule empty;
  EXPECT_TRUE(empty.is_empty());
  EXPECT_ERROR_EQ(empty.forward(x), "AnyModule::forward: the AnyModule is empty");
  EXPECT_ERROR_EQ(nn::AnyModule(std::shared_ptr<nn::ReLUImpl>()), "AnyModule: the module is null");
}

TEST(AnyValue, ConvertsOnlyWithoutLossOfMeaning) {
  const nn::AnyValue v(std::vector<std::int64_t>{1, 2});
  EXPECT_TRUE(v.holds<IntArrayRef>());
  EXPECT_EQ(v.get<IntArrayRef>(), IntArrayRef({1, 2}));
  EXPECT_EQ(nn::AnyValue(3).get<double>(), 3.0);
  EXPECT_EQ(nn::AnyValue(3).get<std::int64_t>(), 3);
  EXPECT_FALSE(nn::AnyValue(3.5).holds<std::int64_t>());
  EXPECT_ERROR_EQ(nn::AnyValue(3.5).get<std::int64_t>(), "AnyValue::get: asked for a long, but the value is a double");
  EXPECT_TRUE(nn::AnyValue().is_empty());
  EXPECT_EQ(nn::AnyValue().type_name(), "void");
}

}  // namespace
