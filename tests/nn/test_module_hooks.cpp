// Module forward pre-hooks and forward hooks, with PyTorch's semantics (torch.nn.Module.__call__):
// order, prepend, replacing inputs and outputs, removal by handle, which calls run them, clone.
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using namespace voxgrad;
using voxgrad::testing::expect_close;

using Log = std::vector<std::string>;

TEST(ForwardHooks, RunInRegistrationOrderAroundForward) {
  nn::Linear lin(3, 2);
  Log log;
  auto pre = [&log](std::string tag) {
    return [&log, tag](nn::Module& m, const Tensor&) { log.push_back(tag + ":" + m.name()); };
  };
  auto post = [&log](std::string tag) {
    return [&log, tag](nn::Module&, const Tensor&, const Tensor&) { log.push_back(tag); };
  };
  lin->register_forward_pre_hook(pre("pre1"));
  lin->register_forward_hook(post("post1"));
  lin->register_forward_pre_hook(pre("pre2"));
  lin->register_forward_hook(post("post2"));
  lin->register_forward_pre_hook(pre("pre0"), /*prepend=*/true);
  lin->register_forward_hook(post("post0"), /*prepend=*/true);
  const Tensor x = randn({4, 3});
  const Tensor y = lin(x);
  expect_close(y, lin->forward(x), 0.0);  // hooks that return nothing change nothing
  EXPECT_EQ(log, Log({"pre0:Linear", "pre1:Linear", "pre2:Linear", "post0", "post1", "post2"}));
}

TEST(ForwardHooks, PreHookReplacesInputsAndForwardHookSeesThem) {
  nn::ReLU relu;
  const Tensor x = tensor(std::vector<double>{-1, 2, -3, 4}, kFloat64);
  Tensor seen_input, seen_output;
  relu->register_forward_pre_hook([](nn::Module&, const Tensor& in) { return in * -1.0; });
  relu->register_forward_pre_hook([](nn::Module&, const Tensor& in) { return in + 10.0; });  // sees -x
  relu->register_forward_hook([&](nn::Module&, const Tensor& in, const Tensor& out) {
    seen_input = in;
    seen_output = out;
  });
  const Tensor y = relu(x);
  voxgrad::testing::expect_values(seen_input, {4}, {11, 8, 13, 6});
  voxgrad::testing::expect_values(seen_output, {4}, {11, 8, 13, 6});
  voxgrad::testing::expect_values(y, {4}, {11, 8, 13, 6});
}

TEST(ForwardHooks, ForwardHookReplacesOutputAndTheNextSeesIt) {
  nn::Identity id;
  id->register_forward_hook([](nn::Module&, const Tensor&, const Tensor& out) { return out * 3.0; });
  id->register_forward_hook([](nn::Module&, const Tensor&, const Tensor& out) -> std::optional<Tensor> {
    if (out.sum().item<double>() > 100) return std::nullopt;  // keep
    return out + 1.0;
  });
  voxgrad::testing::expect_values(id(tensor(std::vector<double>{1, 2}, kFloat64)), {2}, {4, 7});
  voxgrad::testing::expect_values(id(tensor(std::vector<double>{100, 2}, kFloat64)), {2}, {300, 6});
}

TEST(ForwardHooks, ReplacedOutputStaysDifferentiable) {
  nn::Linear lin(nn::LinearOptions(2, 1).bias(false));
  lin->to(kFloat64);
  lin->register_forward_hook([](nn::Module&, const Tensor&, const Tensor& out) { return out * out; });
  const Tensor x = tensor(std::vector<double>{1, 2}, kFloat64).reshape({1, 2});
  lin(x).sum().backward();
  // d(w·x)²/dw = 2 (w·x) x
  const double wx = (lin->weight.detach() * x).sum().item<double>();
  voxgrad::testing::expect_values(lin->weight.grad(), {1, 2}, {2 * wx * 1, 2 * wx * 2});
}

TEST(ForwardHooks, HandlesRemoveThem) {
  nn::Identity id;
  int pre_calls = 0, post_calls = 0;
  nn::HookHandle a = id->register_forward_pre_hook([&](nn::Module&, const Tensor&) { ++pre_calls; });
  nn::HookHandle b = id->register_forward_hook([&](nn::Module&, const Tensor&, const Tensor&) { ++post_calls; });
  EXPECT_TRUE(id->has_forward_hooks());
  const Tensor x = zeros({1});
  id(x);
  a.remove();
  id(x);
  EXPECT_EQ(pre_calls, 1);
  EXPECT_EQ(post_calls, 2);
  a.remove();  // twice is harmless
  b.remove();
  EXPECT_FALSE(id->has_forward_hooks());
  id(x);
  EXPECT_EQ(post_calls, 2);
  // A handle may outlive its module.
  nn::HookHandle orphan;
  {
    nn::ReLU relu;
    orphan = relu->register_forward_hook([](nn::Module&, const Tensor&, const Tensor&) {});
  }
  orphan.remove();
  nn::HookHandle().remove();
}

TEST(ForwardHooks, RunOnCallsNotOnDirectForward) {
  nn::ReLU relu;
  int calls = 0;
  relu->register_forward_hook([&](nn::Module&, const Tensor&, const Tensor&) { ++calls; });
  const Tensor x = randn({3});
  relu->forward(x);  // as `m.forward(x)` in PyTorch: no hooks
  EXPECT_EQ(calls, 0);
  relu(x);     // the holder's call
  (*relu)(x);  // Module::operator()
  std::shared_ptr<nn::Module> base = relu;
  (*base)(x);
  nn::Sequential seq(relu, nn::Identity());  // Sequential calls its children with hooks
  seq->forward(x);
  nn::AnyModule any(relu);
  any.forward(x);
  EXPECT_EQ(calls, 5);
}

TEST(ForwardHooks, HooksAddedDuringACallApplyToTheNext) {
  nn::Identity id;
  int inner = 0;
  nn::HookHandle self;
  self = id->register_forward_hook([&](nn::Module& m, const Tensor&, const Tensor&) {
    m.register_forward_hook([&](nn::Module&, const Tensor&, const Tensor&) { ++inner; });
    self.remove();  // removing itself mid-call is fine
  });
  id(zeros({1}));
  EXPECT_EQ(inner, 0);
  id(zeros({1}));
  EXPECT_EQ(inner, 1);
}

TEST(ForwardHooks, GeneralFormSeesEveryArgument) {
  manual_seed(4);
  nn::ConvTranspose3d up(nn::ConvTranspose3dOptions(1, 1, 3).stride(2).padding(1));
  // The pre-hook asks for an 8³ output instead of the 6³ the caller wanted.
  up->register_forward_pre_hook([](nn::Module&, const nn::AnyValues& in) {
    EXPECT_EQ(in.size(), 2u);
    return nn::AnyValues{in[0], std::vector<std::int64_t>{8, 8, 8}};
  });
  std::string seen;
  up->register_forward_hook([&](nn::Module& m, const nn::AnyValues& in, const nn::AnyValue& out) {
    seen = m.name() + " " + in[1].type_name() + " -> " + shape_str(out.get<Tensor>().sizes());
  });
  const Tensor x = randn({1, 1, 4, 4, 4});
  EXPECT_EQ(up(x, std::vector<std::int64_t>{7, 7, 7}).sizes(), Shape({1, 1, 8, 8, 8}));
  EXPECT_EQ(seen, "ConvTranspose3d std::vector<long, std::allocator<long> > -> [1, 1, 8, 8, 8]");
  // The same through a Sequential.
  nn::Sequential seq(up);
  EXPECT_EQ(seq->forward(x, std::vector<std::int64_t>{7, 7, 7}).sizes(), Shape({1, 1, 8, 8, 8}));
}

TEST(ForwardHooks, TensorFormOnOtherArgumentsIsAnError) {
  nn::MSELoss loss;
  loss->register_forward_pre_hook([](nn::Module&, const Tensor&) {});
  const Tensor x = randn({3});
  EXPECT_ERROR_EQ(loss(x, x),
                  "MSELoss: a forward pre-hook written for one Tensor met a call with (Tensor, Tensor); write it as "
                  "taking (Module&, const AnyValues&) instead");
  nn::MSELoss loss2;
  loss2->register_forward_hook([](nn::Module&, const Tensor&, const Tensor&) {});
  EXPECT_ERROR_EQ(loss2(x, x),
                  "MSELoss: a forward hook written for one Tensor met a call with (Tensor, Tensor); write it as taking "
                  "(Module&, const AnyValues&, const AnyValue&) instead");
  // A pre-hook that changes the inputs into something forward does not take.
  nn::ReLU relu;
  relu->register_forward_pre_hook([](nn::Module&, const nn::AnyValues&) { return nn::AnyValues{1.5}; });
  EXPECT_ERROR_EQ(relu(x), "ReLU: forward called with (double), but it takes (Tensor)");
  EXPECT_ERROR_EQ(nn::Module().register_forward_hook(nn::ForwardHook()),
                  "register_forward_hook: Module: the hook is empty");
}

TEST(ForwardHooks, CloneCopiesHooksIntoItsOwnList) {
  auto lin = std::make_shared<nn::LinearImpl>(2, 2);
  int calls = 0;
  nn::HookHandle h = lin->register_forward_hook([&](nn::Module&, const Tensor&, const Tensor&) { ++calls; });
  std::shared_ptr<nn::LinearImpl> copy = lin->clone();
  const Tensor x = randn({1, 2});
  (*copy)(x);
  EXPECT_EQ(calls, 1);
  h.remove();  // removes the original's hook only
  (*lin)(x);
  (*copy)(x);
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(lin->has_forward_hooks());
  EXPECT_TRUE(copy->has_forward_hooks());
}

}  // namespace
