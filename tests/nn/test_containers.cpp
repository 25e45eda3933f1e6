// Containers: Sequential (children "0", "1", …, forward chains), ModuleList, ModuleDict; dotted names,
// printing against PyTorch 1.13's repr (tests/fixtures/nn_basic/layers.json), state dicts and clone.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace {

using namespace voxgrad;
using voxgrad::testing::expect_close;
using voxgrad::testing::values;

std::string repr(const nn::Module& m) {
  std::ostringstream s;
  s << m;
  return s.str();
}

std::string expected_repr(const std::string& key) {
  static const nlohmann::json doc = [] {
    std::ifstream in(std::string(VOXGRAD_FIXTURE_DIR) + "/nn_basic/layers.json");
    return nlohmann::json::parse(in);
  }();
  return doc.at("reprs").at(key).get<std::string>();
}

template <class Items>
std::vector<std::string> names_of(const Items& items) {
  std::vector<std::string> out;
  for (const auto& [name, x] : items) out.push_back(name);
  return out;
}

// A block with a conv child, as in a U-Net stage.
struct Block : nn::Cloneable<Block> {
  explicit Block(std::int64_t c) : c_(c) { reset(); }
  void reset() override {
    conv = register_module("conv", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(c_, c_, 3).padding(1)));
    act = register_module("act", std::make_shared<nn::ReLUImpl>());
  }
  Tensor forward(const Tensor& x) override { return act->forward(conv->forward(x)); }
  std::int64_t c_;
  std::shared_ptr<nn::Conv3dImpl> conv;
  std::shared_ptr<nn::ReLUImpl> act;
};

// --- Sequential -------------------------------------------------------------------------------------

TEST(Sequential, ChildrenAreNamedByPosition) {
  auto seq = std::make_shared<nn::SequentialImpl>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::LinearImpl>(3, 4), std::make_shared<nn::ReLUImpl>(),
      std::make_shared<nn::LinearImpl>(4, 1)});
  EXPECT_EQ(names_of(seq->named_children()), std::vector<std::string>({"0", "1", "2"}));
  EXPECT_EQ(names_of(seq->named_parameters()), std::vector<std::string>({"0.weight", "0.bias", "2.weight", "2.bias"}));
  EXPECT_EQ(names_of(seq->state_dict()), std::vector<std::string>({"0.weight", "0.bias", "2.weight", "2.bias"}));
  EXPECT_EQ(seq->size(), 3u);
  EXPECT_FALSE(seq->is_empty());
  auto sig = seq->push_back(std::make_shared<nn::SigmoidImpl>());
  EXPECT_EQ(seq->named_children().back().first, "3");
  EXPECT_EQ((*seq)[3], sig);
  EXPECT_EQ(seq->at<nn::LinearImpl>(2)->options().in_features(), 4);
  EXPECT_EQ(seq->name(), "Sequential");
}

TEST(Sequential, ForwardChainsEveryModule) {
  manual_seed(1);
  auto l1 = std::make_shared<nn::LinearImpl>(3, 5);
  auto l2 = std::make_shared<nn::LinearImpl>(5, 2);
  nn::SequentialImpl seq({l1, std::make_shared<nn::TanhImpl>(), l2, std::make_shared<nn::SigmoidImpl>()});
  Tensor x = randn({4, 3});
  expect_close(seq.forward(x), l2->forward(l1->forward(x).tanh()).sigmoid(), 0.0);
  // Gradients reach every parameter.
  seq.forward(x).sum().backward();
  for (const Tensor& p : seq.parameters()) EXPECT_TRUE(p.grad().defined());
  // An empty Sequential is the identity, as in PyTorch.
  EXPECT_TRUE(nn::SequentialImpl().forward(x).is_same(x));
}

TEST(Sequential, AModuleListedTwiceRunsTwice) {
  auto relu_lin = std::make_shared<nn::LinearImpl>(2, 2);
  nn::SequentialImpl seq({relu_lin, relu_lin});
  Tensor x = randn({1, 2});
  expect_close(seq.forward(x), relu_lin->forward(relu_lin->forward(x)), 0.0);
  EXPECT_EQ(seq.size(), 2u);
  EXPECT_EQ(seq.parameters().size(), 2u);
  EXPECT_EQ(seq.state_dict().size(), 4u);
}

TEST(Sequential, NamedConstructionAndPushBack) {
  auto conv = std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(1, 2, 3));
  nn::SequentialImpl seq(nn::NamedModules{{"conv", conv}, {"act", std::make_shared<nn::GELUImpl>()}});
  seq.push_back("flat", std::make_shared<nn::FlattenImpl>());
  EXPECT_EQ(names_of(seq.named_children()), std::vector<std::string>({"conv", "act", "flat"}));
  EXPECT_EQ(seq.forward(zeros({2, 1, 4, 4, 4})).sizes(), (Shape{2, 16}));
  seq.push_back(std::make_shared<nn::IdentityImpl>());
  EXPECT_EQ(seq.named_children().back().first, "3");  // PyTorch's append: str(len(self))
  EXPECT_ERROR_CONTAINS(seq.push_back("conv", std::make_shared<nn::ReLUImpl>()),
                        "register_module: Sequential already has a child module named 'conv'");
}

TEST(Sequential, ErrorsNameTheProblem) {
  nn::SequentialImpl seq({std::make_shared<nn::ReLUImpl>()});
  EXPECT_ERROR_EQ(seq[1], "Sequential[]: index 1 is out of range for a Sequential of size 1");
  EXPECT_ERROR_CONTAINS(seq.at<nn::LinearImpl>(0), "Sequential::at: module 0 is a ReLU, not the requested type");
  EXPECT_ERROR_CONTAINS(nn::SequentialImpl({std::shared_ptr<nn::Module>()}),
                        "register_module: Sequential: module '0' is null");
  // A child without a single-tensor forward says so.
  nn::SequentialImpl bad({std::make_shared<nn::ModuleListImpl>()});
  EXPECT_ERROR_CONTAINS(bad.forward(zeros({1})), "ModuleList: this module has no single-tensor forward()");
}

TEST(Sequential, NestedModulesGiveDottedNames) {
  // A model whose stages live in a Sequential named "down": `down.0.conv.weight` as in PyTorch.
  struct Net : nn::Cloneable<Net> {
    Net() { reset(); }
    void reset() override {
      down = register_module("down", std::make_shared<nn::SequentialImpl>());
      down->push_back(std::make_shared<Block>(2));
      down->push_back(std::make_shared<Block>(2));
      head = register_module("head", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2, 1, 1)));
    }
    Tensor forward(const Tensor& x) override { return head->forward(down->forward(x)); }
    std::shared_ptr<nn::SequentialImpl> down;
    std::shared_ptr<nn::Conv3dImpl> head;
  };
  auto net = std::make_shared<Net>();
  EXPECT_EQ(names_of(net->named_parameters()),
            std::vector<std::string>({"down.0.conv.weight", "down.0.conv.bias", "down.1.conv.weight",
                                      "down.1.conv.bias", "head.weight", "head.bias"}));
  EXPECT_EQ(names_of(net->named_modules()), std::vector<std::string>({"", "down", "down.0", "down.0.conv", "down.0.act",
                                                                      "down.1", "down.1.conv", "down.1.act", "head"}));
  EXPECT_EQ(net->forward(randn({1, 2, 3, 3, 3})).sizes(), (Shape{1, 1, 3, 3, 3}));
  // The clone has the same names and values, and its own tensors.
  auto copy = net->clone();
  EXPECT_EQ(names_of(copy->state_dict()), names_of(net->state_dict()));
  EXPECT_FALSE(copy->down->at<Block>(1)->conv->weight.is_same(net->down->at<Block>(1)->conv->weight));
  Tensor x = randn({1, 2, 3, 3, 3});
  expect_close(copy->forward(x), net->forward(x), 0.0);
}

TEST(Sequential, CloneKeepsASharedLayerShared) {
  auto shared = std::make_shared<nn::LinearImpl>(3, 3);
  auto seq = std::make_shared<nn::SequentialImpl>(
      std::initializer_list<std::shared_ptr<nn::Module>>{shared, std::make_shared<nn::ReLUImpl>(), shared});
  auto copy = seq->clone();
  ASSERT_EQ(copy->size(), 3u);
  EXPECT_EQ((*copy)[0], (*copy)[2]);
  EXPECT_NE((*copy)[0], shared);
  EXPECT_EQ(copy->parameters().size(), 2u);
  Tensor x = randn({2, 3});
  expect_close(copy->forward(x), seq->forward(x), 0.0);
  copy->push_back(std::make_shared<nn::TanhImpl>());  // the clone is a working Sequential
  EXPECT_EQ(copy->named_children().back().first, "3");
  EXPECT_EQ(seq->size(), 3u);
}

// --- ModuleList ---------------------------------------------------------------------------------------

TEST(ModuleList, HoldsModulesByIndexWithoutAForward) {
  nn::ModuleListImpl list({std::make_shared<nn::LinearImpl>(2, 3), std::make_shared<nn::LinearImpl>(3, 4)});
  list.push_back(std::make_shared<nn::ReLUImpl>());
  list.extend({std::make_shared<nn::TanhImpl>(), std::make_shared<nn::LinearImpl>(4, 1)});
  EXPECT_EQ(list.size(), 5u);
  EXPECT_EQ(names_of(list.named_children()), std::vector<std::string>({"0", "1", "2", "3", "4"}));
  EXPECT_EQ(names_of(list.named_parameters()),
            std::vector<std::string>({"0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"}));
  // The owner iterates.
  Tensor x = randn({5, 2});
  for (const auto& m : list.children()) x = m->forward(x);
  EXPECT_EQ(x.sizes(), (Shape{5, 1}));
  EXPECT_EQ(list.at<nn::LinearImpl>(1)->options().out_features(), 4);
  EXPECT_ERROR_CONTAINS(list[5], "ModuleList[]: index 5 is out of range for a ModuleList of size 5");
  EXPECT_ERROR_CONTAINS(list.forward(x), "ModuleList: this module has no single-tensor forward()");
  EXPECT_TRUE(nn::ModuleListImpl().is_empty());
}

// --- ModuleDict ---------------------------------------------------------------------------------------

TEST(ModuleDict, KeepsInsertionOrderAndReplacesInPlace) {
  nn::ModuleDictImpl dict(
      nn::NamedModules{{"enc", std::make_shared<nn::LinearImpl>(4, 2)}, {"act", std::make_shared<nn::ReLUImpl>()}});
  dict.insert("dec", std::make_shared<nn::LinearImpl>(2, 4));
  EXPECT_EQ(dict.keys(), std::vector<std::string>({"enc", "act", "dec"}));
  EXPECT_TRUE(dict.contains("act"));
  EXPECT_FALSE(dict.contains("missing"));
  auto gelu = dict.insert("act", std::make_shared<nn::GELUImpl>());  // replaces, keeping the place
  EXPECT_EQ(dict.keys(), std::vector<std::string>({"enc", "act", "dec"}));
  EXPECT_EQ(dict["act"], gelu);
  EXPECT_EQ(dict.at<nn::GELUImpl>("act"), gelu);
  EXPECT_EQ(dict.size(), 3u);
  EXPECT_EQ(dict.values().size(), 3u);
  EXPECT_EQ(names_of(dict.items()), dict.keys());
  EXPECT_EQ(names_of(dict.state_dict()),
            std::vector<std::string>({"enc.weight", "enc.bias", "dec.weight", "dec.bias"}));
  dict.update(nn::NamedModules{{"extra", std::make_shared<nn::IdentityImpl>()}});
  EXPECT_EQ(dict.keys().back(), "extra");
  EXPECT_ERROR_EQ(dict["nope"], "ModuleDict[]: no module named 'nope' (keys: enc, act, dec, extra)");
  EXPECT_ERROR_CONTAINS(dict.at<nn::LinearImpl>("act"),
                        "ModuleDict::at: module 'act' is a GELU, not the requested type");
  EXPECT_ERROR_CONTAINS(dict.insert("a.b", std::make_shared<nn::ReLUImpl>()), "the name 'a.b' must not contain '.'");
  EXPECT_ERROR_CONTAINS(dict.forward(zeros({1})), "ModuleDict: this module has no single-tensor forward()");
  auto copy = std::make_shared<nn::ModuleDictImpl>(dict.items())->clone();
  EXPECT_EQ(copy->keys(), dict.keys());
  EXPECT_NE((*copy)["enc"], dict["enc"]);
}

TEST(ReplaceModule, SwapsAChildKeepingItsPlace) {
  nn::SequentialImpl seq({std::make_shared<nn::ReLUImpl>(), std::make_shared<nn::TanhImpl>()});
  auto silu = seq.replace_module("0", std::make_shared<nn::SiLUImpl>());
  EXPECT_EQ(seq[0], silu);
  EXPECT_EQ(names_of(seq.named_children()), std::vector<std::string>({"0", "1"}));
  EXPECT_ERROR_EQ(seq.replace_module("7", std::make_shared<nn::ReLUImpl>()),
                  "replace_module: Sequential has no child module named '7'");
}

// --- printing -----------------------------------------------------------------------------------------

TEST(ContainerRepr, MatchesPyTorch) {
  EXPECT_EQ(repr(nn::SequentialImpl()), expected_repr("sequential_empty"));
  EXPECT_EQ(repr(nn::ModuleListImpl()), expected_repr("module_list_empty"));
  EXPECT_EQ(repr(nn::ModuleDictImpl()), expected_repr("module_dict_empty"));
  nn::SequentialImpl mlp({std::make_shared<nn::LinearImpl>(3, 4), std::make_shared<nn::ReLUImpl>(),
                          std::make_shared<nn::LinearImpl>(4, 1), std::make_shared<nn::SigmoidImpl>()});
  EXPECT_EQ(repr(mlp), expected_repr("mlp"));

  // The same model as reprs() in generate.py.
  auto block = std::make_shared<nn::SequentialImpl>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(1, 4, 3).padding(1)), std::make_shared<nn::GELUImpl>(),
      std::make_shared<nn::DropoutImpl>(0.1)});
  auto down = std::make_shared<nn::ModuleListImpl>(std::initializer_list<std::shared_ptr<nn::Module>>{
      block, std::make_shared<nn::SequentialImpl>(std::initializer_list<std::shared_ptr<nn::Module>>{
                 std::make_shared<nn::FlattenImpl>(),
                 std::make_shared<nn::LinearImpl>(nn::LinearOptions(8, 2).bias(false))})});
  auto heads = std::make_shared<nn::ModuleDictImpl>(
      nn::NamedModules{{"cls", std::make_shared<nn::LinearImpl>(2, 3)},
                       {"act", std::make_shared<nn::LeakyReLUImpl>(nn::LeakyReLUOptions().negative_slope(0.2))}});
  nn::SequentialImpl net;
  net.push_back("down", down);
  net.push_back("heads", heads);
  net.push_back("out", std::make_shared<nn::IdentityImpl>());
  EXPECT_EQ(repr(net), expected_repr("nested"));
  EXPECT_TRUE(expected_repr("nested").starts_with("Sequential(\n  (down): ModuleList(\n    (0): Sequential("));
}

}  // namespace
