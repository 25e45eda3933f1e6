// nn::Module: the parameter/buffer/child registry, dotted names, training state, zero_grad and printing.
#include <sstream>

#include "test_util.h"

namespace {

using namespace voxgrad;
using voxgrad::testing::values;

std::vector<std::string> names_of(const nn::NamedTensors& items) {
  std::vector<std::string> out;
  for (const auto& [name, t] : items) out.push_back(name);
  return out;
}

std::vector<std::string> names_of(const nn::NamedModules& items) {
  std::vector<std::string> out;
  for (const auto& [name, m] : items) out.push_back(name);
  return out;
}

std::string repr(const nn::Module& m) {
  std::ostringstream s;
  s << m;
  return s.str();
}

// A leaf with two parameters and a buffer.
struct Affine : nn::Module {
  Affine() {
    weight = register_parameter("weight", ones({3}));
    bias = register_parameter("bias", zeros({3}));
    count = register_buffer("count", zeros({1}));
  }
  Tensor forward(const Tensor& x) { return x * weight + bias; }
  Tensor weight, bias, count;
};

// A module with options shown in its repr and one child.
struct Block : nn::Module {
  explicit Block(std::int64_t channels) : channels_(channels) {
    conv =
        register_module("conv", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(channels, channels, 3).padding(1)));
  }
  std::string extra_repr() const override { return fmt::format("ch={}", channels_); }
  std::shared_ptr<nn::Conv3dImpl> conv;

 private:
  std::int64_t channels_;
};

// down (a plain Module holding Blocks "0" and "1"), then up.
struct Net : nn::Module {
  Net() {
    down = register_module("down", std::make_shared<nn::Module>());
    down->register_module("0", std::make_shared<Block>(2));
    down->register_module("1", std::make_shared<Block>(2));
    up =
        register_module("up", std::make_shared<nn::ConvTranspose3dImpl>(nn::ConvTranspose3dOptions(2, 1, 2).stride(2)));
  }
  std::shared_ptr<nn::Module> down;
  std::shared_ptr<nn::ConvTranspose3dImpl> up;
};

struct Empty : nn::Module {};

// --- registration ---------------------------------------------------------------------------------

TEST(Module, RegisterParameterReturnsTheStoredLeafRequiringGrad) {
  nn::Module m;
  Tensor w = ones({2, 3});
  Tensor& stored = m.register_parameter("w", w);
  EXPECT_TRUE(stored.is_same(w));
  EXPECT_TRUE(stored.requires_grad());
  EXPECT_TRUE(stored.is_leaf());
  Tensor& frozen = m.register_parameter("frozen", ones({2}), /*requires_grad=*/false);
  EXPECT_FALSE(frozen.requires_grad());
  ASSERT_EQ(m.named_parameters().size(), 2u);
  EXPECT_TRUE(m.named_parameters()[0].second.is_same(w));
}

TEST(Module, ReturnedReferencesStayValidAsMoreAreRegistered) {
  nn::Module m;
  Tensor& first = m.register_parameter("p0", zeros({1}));
  for (int i = 1; i < 100; ++i) m.register_parameter(fmt::format("p{}", i), zeros({1}));
  EXPECT_TRUE(first.is_same(m.named_parameters()[0].second));
  EXPECT_EQ(first.sizes(), Shape({1}));
}

TEST(Module, ParameterFromAnOpResultIsDetachedIntoALeaf) {
  Tensor a = ones({2}).requires_grad_();
  Tensor b = a * 2.0;
  ASSERT_FALSE(b.is_leaf());
  nn::Module m;
  Tensor& p = m.register_parameter("p", b);
  EXPECT_TRUE(p.is_leaf());
  EXPECT_TRUE(p.requires_grad());
  EXPECT_EQ(values(p), std::vector<double>({2.0, 2.0}));
}

TEST(Module, RegisterBufferAndModuleReturnWhatTheyRegistered) {
  nn::Module m;
  Tensor t = zeros({4});
  EXPECT_TRUE(m.register_buffer("running", t).is_same(t));
  EXPECT_FALSE(t.requires_grad());
  auto child = std::make_shared<Affine>();
  std::shared_ptr<Affine> returned = m.register_module("child", child);
  EXPECT_EQ(returned, child);
  EXPECT_TRUE(returned->weight.is_same(child->weight));
}

TEST(Module, EmptyNameIsRejectedNamingTheModule) {
  Affine m;
  EXPECT_ERROR_CONTAINS(m.register_parameter("", ones({1})), "register_parameter: Affine: the name must not be empty");
  EXPECT_ERROR_CONTAINS(m.register_buffer("", ones({1})), "register_buffer: Affine: the name must not be empty");
  EXPECT_ERROR_CONTAINS(m.register_module("", std::make_shared<Empty>()),
                        "register_module: Affine: the name must not be empty");
}

TEST(Module, NameWithADotIsRejected) {
  Affine m;
  EXPECT_ERROR_CONTAINS(m.register_parameter("a.b", ones({1})), "Affine: the name 'a.b' must not contain '.'");
  EXPECT_ERROR_CONTAINS(m.register_buffer("a.b", ones({1})), "the name 'a.b' must not contain '.'");
  EXPECT_ERROR_CONTAINS(m.register_module("a.b", std::make_shared<Empty>()), "the name 'a.b' must not contain '.'");
}

TEST(Module, TakenNameIsRejectedWhateverKindHoldsIt) {
  Affine m;
  m.register_module("child", std::make_shared<Empty>());
  EXPECT_ERROR_CONTAINS(m.register_parameter("weight", ones({1})),
                        "register_parameter: Affine already has a parameter named 'weight'");
  EXPECT_ERROR_CONTAINS(m.register_parameter("count", ones({1})), "Affine already has a buffer named 'count'");
  EXPECT_ERROR_CONTAINS(m.register_buffer("bias", ones({1})),
                        "register_buffer: Affine already has a parameter named 'bias'");
  EXPECT_ERROR_CONTAINS(m.register_module("weight", std::make_shared<Empty>()),
                        "register_module: Affine already has a parameter named 'weight'");
  EXPECT_ERROR_CONTAINS(m.register_parameter("child", ones({1})), "Affine already has a child module named 'child'");
  EXPECT_EQ(m.named_parameters().size(), 2u);  // nothing was added by the failed calls
}

TEST(Module, NullModuleUndefinedTensorAndSelfAsChildAreRejected) {
  auto m = std::make_shared<Affine>();
  EXPECT_ERROR_CONTAINS(m->register_module("x", std::shared_ptr<Empty>()),
                        "register_module: Affine: module 'x' is null");
  EXPECT_ERROR_CONTAINS(m->register_parameter("x", Tensor()), "parameter 'x' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(m->register_buffer("x", Tensor()), "buffer 'x' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(m->register_module("self", m), "a module cannot be its own child");
  EXPECT_ERROR_CONTAINS(m->register_parameter("idx", zeros({2}, kInt64)), "only float32 and float64");
  EXPECT_NO_THROW(m->register_parameter("idx", zeros({2}, kInt64), /*requires_grad=*/false));
}

TEST(Module, NameIsTheClassNameWithoutNamespaces) {
  EXPECT_EQ(Affine().name(), "Affine");
  EXPECT_EQ(nn::Module().name(), "Module");
  EXPECT_EQ(nn::Module("Custom").name(), "Custom");
  EXPECT_EQ(nn::Conv3dImpl(nn::Conv3dOptions(1, 1, 1)).name(), "Conv3d");
  EXPECT_EQ(nn::ConvTranspose2dImpl(nn::ConvTranspose2dOptions(1, 1, 1)).name(), "ConvTranspose2d");
  EXPECT_EQ(nn::Conv3d(nn::Conv3dOptions(1, 1, 1))->name(), "Conv3d");  // through the holder
}

// --- traversal ------------------------------------------------------------------------------------

TEST(Module, NamedParametersUseDottedNamesInRegistrationOrder) {
  auto net = std::make_shared<Net>();
  EXPECT_EQ(names_of(net->named_parameters()),
            std::vector<std::string>({"down.0.conv.weight", "down.0.conv.bias", "down.1.conv.weight",
                                      "down.1.conv.bias", "up.weight", "up.bias"}));
  EXPECT_EQ(net->parameters().size(), 6u);
  EXPECT_TRUE(net->parameters()[4].is_same(net->up->weight));
  EXPECT_TRUE(net->named_parameters(/*recurse=*/false).empty());
  EXPECT_EQ(names_of(net->down->named_parameters()),
            std::vector<std::string>({"0.conv.weight", "0.conv.bias", "1.conv.weight", "1.conv.bias"}));
}

TEST(Module, NonRecursiveListsOnlyOwnTensors) {
  nn::Module m;
  m.register_parameter("own", zeros({1}));
  m.register_module("child", std::make_shared<Affine>());
  EXPECT_EQ(names_of(m.named_parameters(false)), std::vector<std::string>({"own"}));
  EXPECT_EQ(names_of(m.named_parameters(true)), std::vector<std::string>({"own", "child.weight", "child.bias"}));
  EXPECT_TRUE(m.named_buffers(false).empty());
  EXPECT_EQ(names_of(m.named_buffers()), std::vector<std::string>({"child.count"}));
  EXPECT_EQ(m.buffers().size(), 1u);
}

TEST(Module, ParameterSharedByTwoSubmodulesAppearsOnce) {
  auto a = std::make_shared<Affine>();
  auto b = std::make_shared<nn::Module>();
  b->register_parameter("tied", a->weight);  // the same tensor under a second name
  b->register_parameter("own", zeros({2}));
  nn::Module root;
  root.register_module("a", a);
  root.register_module("b", b);
  EXPECT_EQ(names_of(root.named_parameters()), std::vector<std::string>({"a.weight", "a.bias", "b.own"}));
  EXPECT_EQ(root.parameters().size(), 3u);
}

TEST(Module, SubmoduleRegisteredTwiceIsVisitedOnce) {
  auto shared = std::make_shared<Affine>();
  auto root = std::make_shared<nn::Module>();
  root->register_module("first", shared);
  root->register_module("second", shared);
  EXPECT_EQ(names_of(root->named_parameters()), std::vector<std::string>({"first.weight", "first.bias"}));
  EXPECT_EQ(names_of(root->named_modules()), std::vector<std::string>({"", "first"}));
  EXPECT_EQ(names_of(root->named_children()), std::vector<std::string>({"first", "second"}));
}

TEST(Module, ChildrenAndModulesAreOrderedDepthFirst) {
  auto net = std::make_shared<Net>();
  EXPECT_EQ(names_of(net->named_children()), std::vector<std::string>({"down", "up"}));
  ASSERT_EQ(net->children().size(), 2u);
  EXPECT_EQ(net->children()[1], net->up);
  EXPECT_EQ(names_of(net->named_modules()),
            std::vector<std::string>({"", "down", "down.0", "down.0.conv", "down.1", "down.1.conv", "up"}));
  const auto mods = net->modules();
  ASSERT_EQ(mods.size(), 7u);
  EXPECT_EQ(mods[0].get(), net.get());
  EXPECT_EQ(mods[6], net->up);
  EXPECT_EQ(mods[3]->name(), "Conv3d");
  EXPECT_EQ(net->modules(/*include_self=*/false).size(), 6u);
}

TEST(Module, ModulesOfAStackObjectNeedsIncludeSelfFalse) {
  Net net;  // not owned by a shared_ptr
  EXPECT_ERROR_CONTAINS(net.modules(), "Net is not owned by a std::shared_ptr");
  EXPECT_EQ(net.modules(false).size(), 6u);
}

// --- training state -------------------------------------------------------------------------------

TEST(Module, TrainAndEvalAreRecursive) {
  auto net = std::make_shared<Net>();
  for (const auto& m : net->modules()) EXPECT_TRUE(m->is_training());
  net->eval();
  for (const auto& m : net->modules()) EXPECT_FALSE(m->is_training());
  net->down->train();
  EXPECT_FALSE(net->is_training());
  EXPECT_TRUE(net->down->is_training());
  EXPECT_TRUE(net->down->children()[1]->children()[0]->is_training());
  EXPECT_FALSE(net->up->is_training());
  net->train(true);
  for (const auto& m : net->modules()) EXPECT_TRUE(m->is_training());
}

TEST(Module, ZeroGradSetsEveryGradToUndefined) {
  auto root = std::make_shared<nn::Module>();
  auto a = root->register_module("a", std::make_shared<Affine>());
  auto b = root->register_module("b", std::make_shared<Affine>());
  Tensor x = tensor({1.0, 2.0, 3.0});
  (a->forward(x).sum() + b->forward(x).sum()).backward();
  for (const Tensor& p : root->parameters()) ASSERT_TRUE(p.grad().defined());
  EXPECT_EQ(values(a->weight.grad()), std::vector<double>({1.0, 2.0, 3.0}));
  root->zero_grad();
  for (const Tensor& p : root->parameters()) EXPECT_FALSE(p.grad().defined());
  // Gradients start afresh after zero_grad.
  b->forward(x).sum().backward();
  EXPECT_FALSE(a->weight.grad().defined());
  EXPECT_EQ(values(b->bias.grad()), std::vector<double>({1.0, 1.0, 1.0}));
}

// zero_grad(set_to_none = false), PyTorch 1.13's default: the grads stay allocated and become zero in
// place; one built with create_graph (part of a graph) is replaced by detached zeros.
TEST(Module, ZeroGradWithoutSetToNoneZeroesInPlace) {
  auto a = std::make_shared<Affine>();
  Tensor x = tensor({1.0, 2.0, 3.0});
  a->forward(x).sum().backward();
  const Tensor grad = a->weight.grad();
  a->zero_grad(/*set_to_none=*/false);
  EXPECT_TRUE(a->weight.grad().is_same(grad));
  EXPECT_EQ(values(a->weight.grad()), std::vector<double>({0.0, 0.0, 0.0}));
  EXPECT_EQ(values(a->bias.grad()), std::vector<double>({0.0, 0.0, 0.0}));
  a->forward(x).sum().backward();  // accumulates onto the zeros
  EXPECT_EQ(values(a->weight.grad()), std::vector<double>({1.0, 2.0, 3.0}));
  // A second-order grad: replaced, not zeroed through its graph.
  const Tensor y = (a->forward(x) * a->forward(x)).sum();
  autograd::backward({y}, {}, /*retain_graph=*/false, /*create_graph=*/true);
  ASSERT_TRUE(a->weight.grad().requires_grad());
  a->zero_grad(false);
  EXPECT_FALSE(a->weight.grad().requires_grad());
  EXPECT_EQ(a->weight.grad().grad_fn(), nullptr);
  EXPECT_EQ(values(a->weight.grad()), std::vector<double>({0.0, 0.0, 0.0}));
}

// --- printing -------------------------------------------------------------------------------------

TEST(Module, LeafPrintsNameAndExtraRepr) {
  EXPECT_EQ(repr(Empty()), "Empty()");
  EXPECT_EQ(repr(Affine()), "Affine()");
  EXPECT_EQ(repr(nn::Conv3dImpl(nn::Conv3dOptions(1, 4, 3).padding(1))),
            "Conv3d(1, 4, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1))");
}

TEST(Module, PrintsATreeLikePyTorchRepr) {
  // Checked against print() of the same model built in PyTorch 1.13.
  auto net = std::make_shared<Net>();
  net->register_module("act", std::make_shared<Empty>());
  EXPECT_EQ(repr(*net),
            "Net(\n"
            "  (down): Module(\n"
            "    (0): Block(\n"
            "      ch=2\n"
            "      (conv): Conv3d(2, 2, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1))\n"
            "    )\n"
            "    (1): Block(\n"
            "      ch=2\n"
            "      (conv): Conv3d(2, 2, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1))\n"
            "    )\n"
            "  )\n"
            "  (up): ConvTranspose3d(2, 1, kernel_size=(2, 2, 2), stride=(2, 2, 2))\n"
            "  (act): Empty()\n"
            ")");
}

TEST(Module, MultiLineExtraReprIsIndented) {
  struct Multi : nn::Module {
    std::string extra_repr() const override { return "a=1\nb=2"; }
  };
  EXPECT_EQ(repr(Multi()), "Multi(\n  a=1\n  b=2\n)");
}

TEST(Module, OverriddenPrettyPrintIsUsedForChildren) {
  struct Custom : nn::Module {
    void pretty_print(std::ostream& s) const override { s << "Custom<special>"; }
  };
  nn::Module root("Root");
  root.register_module("c", std::make_shared<Custom>());
  EXPECT_EQ(repr(root), "Root(\n  (c): Custom<special>\n)");
}

}  // namespace

TEST(Module, BaseForwardNamesTheModuleThatHasNone) {
  struct Plain : voxgrad::nn::Module {};
  auto m = std::make_shared<Plain>();
  EXPECT_ERROR_CONTAINS(m->forward(voxgrad::zeros({1})), "Plain: this module has no single-tensor forward()");
  auto up = std::make_shared<voxgrad::nn::ConvTranspose3dImpl>(voxgrad::nn::ConvTranspose3dOptions(2, 1, 2).stride(2));
  std::shared_ptr<voxgrad::nn::Module> as_base = up;
  EXPECT_EQ(as_base->forward(voxgrad::zeros({1, 2, 3, 3, 3})).sizes(), (voxgrad::Shape{1, 1, 6, 6, 6}));
}
