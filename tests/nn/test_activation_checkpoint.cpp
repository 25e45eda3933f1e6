// Activation checkpointing: gradients equal to the plain run (float64, bitwise), dropout masks
// replayed, parameters trained even when the input needs no gradient, and the errors.

#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace voxgrad {
namespace {

namespace F = nn::functional;
using testing::expect_bitwise_equal;

// A small 3-D block with a random op: conv -> GroupNorm -> ReLU -> dropout -> conv.
std::shared_ptr<nn::SequentialImpl> make_block() {
  manual_seed(21);
  auto seq = std::make_shared<nn::SequentialImpl>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2, 4, 3).padding(1)),
      std::make_shared<nn::GroupNormImpl>(nn::GroupNormOptions(2, 4)), std::make_shared<nn::ReLUImpl>(),
      std::make_shared<nn::DropoutImpl>(0.3), std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(4, 2, 3).padding(1)),
      std::make_shared<nn::TanhImpl>()});
  seq->to(kFloat64);
  return seq;
}

struct StepResult {
  Tensor out, input_grad;
  std::vector<Tensor> param_grads;
  double next_draw;  // the generator after the step
};

StepResult train_step(const std::function<Tensor(nn::SequentialImpl&, const Tensor&)>& forward,
                      bool input_requires_grad = true) {
  auto seq = make_block();
  manual_seed(5);
  Tensor x = randn({2, 2, 4, 5, 3}, kFloat64);
  if (input_requires_grad) x.requires_grad_();
  Tensor h = x * 1.0;  // a non-leaf input, as inside a network
  Tensor y = forward(*seq, h);
  (y * y).sum().backward();
  StepResult r{y.detach(), input_requires_grad ? x.grad() : Tensor(), {}, rand({1}, kFloat64).item<double>()};
  for (const Tensor& p : seq->parameters()) r.param_grads.push_back(p.grad());
  return r;
}

void expect_same(const StepResult& a, const StepResult& b, const std::string& what) {
  expect_bitwise_equal(a.out, b.out, what + " output");
  if (a.input_grad.defined() || b.input_grad.defined()) expect_bitwise_equal(a.input_grad, b.input_grad, what + " dx");
  ASSERT_EQ(a.param_grads.size(), b.param_grads.size());
  for (std::size_t i = 0; i < a.param_grads.size(); ++i) {
    ASSERT_TRUE(b.param_grads[i].defined()) << what << " parameter " << i << " got no gradient";
    expect_bitwise_equal(a.param_grads[i], b.param_grads[i], what + " parameter " + std::to_string(i));
  }
  EXPECT_EQ(a.next_draw, b.next_draw) << what << ": the generator must end where the plain run leaves it";
}

TEST(Checkpoint, GradientsEqualThePlainRunBitwise) {
  const StepResult plain = train_step([](nn::SequentialImpl& s, const Tensor& x) { return s.forward(x); });
  const StepResult whole = train_step([](nn::SequentialImpl& s, const Tensor& x) {
    return nn::utils::checkpoint([&s](const Tensor& t) { return s.forward(t); }, x, s.parameters());
  });
  expect_same(plain, whole, "checkpoint");
  for (std::int64_t segments : {1, 2, 3, 6}) {
    const StepResult seq = train_step([segments](nn::SequentialImpl& s, const Tensor& x) {
      return nn::utils::checkpoint_sequential(s, segments, x);
    });
    expect_same(plain, seq, "checkpoint_sequential " + std::to_string(segments));
  }
}

TEST(Checkpoint, ParametersTrainWhenTheInputNeedsNoGradient) {
  const StepResult plain = train_step([](nn::SequentialImpl& s, const Tensor& x) { return s.forward(x); }, false);
  const StepResult ckpt = train_step(
      [](nn::SequentialImpl& s, const Tensor& x) {
        return nn::utils::checkpoint(std::static_pointer_cast<nn::Module>(s.shared_from_this()), x);
      },
      false);
  expect_same(plain, ckpt, "checkpoint(module)");
}

TEST(Checkpoint, NestedSegmentsMatchThePlainRun) {
  // A checkpoint inside a checkpointed segment (as the example U-Net's decoder levels use): the inner
  // segment records its node only while the outer one is recomputed, and is recomputed in turn when
  // the outer segment's backward reaches it. The inner segment holds the dropout, so its mask is
  // replayed twice, from the generator state each level saved.
  auto run = [](nn::SequentialImpl& s, std::size_t begin, std::size_t end, Tensor h) {
    for (std::size_t i = begin; i < end; ++i) h = s[i]->forward(h);
    return h;
  };
  const StepResult plain = train_step([](nn::SequentialImpl& s, const Tensor& x) { return s.forward(x); });
  const StepResult nested = train_step([&run](nn::SequentialImpl& s, const Tensor& x) {
    auto outer = [&s, &run](const Tensor& t) {
      std::vector<Tensor> inner_params;
      for (std::size_t i = 0; i < 4; ++i) {
        for (const Tensor& p : s[i]->parameters()) inner_params.push_back(p);
      }
      const Tensor h = nn::utils::checkpoint([&s, &run](const Tensor& u) { return run(s, 0, 4, u); }, t, inner_params);
      return run(s, 4, s.size(), h);
    };
    return nn::utils::checkpoint(outer, x, s.parameters());
  });
  expect_same(plain, nested, "nested checkpoint");
}

TEST(Checkpoint, MultipleInputsAndOutputsMatchThePlainRun) {
  // (gradcheck differentiates with autograd::grad, which checkpoint refuses, as PyTorch's reentrant
  // variant; the plain run's gradients, themselves gradchecked op by op, are the reference.)
  auto segment = [](const std::vector<Tensor>& in) {
    Tensor h = (in[0] * in[1]).tanh();
    return std::vector<Tensor>{h.sum({1}), h * in[0]};
  };
  std::vector<std::vector<Tensor>> grads;
  for (const bool ckpt : {false, true}) {
    manual_seed(8);
    Tensor a = randn({3, 4}, kFloat64).requires_grad_();
    Tensor b = randn({4}, kFloat64).requires_grad_();
    const std::vector<Tensor> out = ckpt ? nn::utils::checkpoint(segment, {a, b}) : segment({a, b});
    autograd::backward(out, {randn({3}, kFloat64), randn({3, 4}, kFloat64)});
    grads.push_back({a.grad(), b.grad()});
  }
  expect_bitwise_equal(grads[0][0], grads[1][0], "da");
  expect_bitwise_equal(grads[0][1], grads[1][1], "db");
}

TEST(Checkpoint, RecordsNothingWithoutGrad) {
  Tensor x = ones({2}, kFloat64);
  EXPECT_FALSE(nn::utils::checkpoint([](const Tensor& t) { return t * 2.0; }, x).requires_grad());
  Tensor w = ones({2}, kFloat64).requires_grad_();
  NoGradGuard no_grad;
  EXPECT_FALSE(nn::utils::checkpoint([](const Tensor& t) { return t * 2.0; }, w).requires_grad());
}

TEST(Checkpoint, SavedInputModifiedInPlaceIsCaught) {
  Tensor w = ones({2}, kFloat64).requires_grad_();
  Tensor h = w * 1.0;
  Tensor y = nn::utils::checkpoint([](const Tensor& t) { return t.exp(); }, h);
  h.add_(1.0);
  EXPECT_ERROR_CONTAINS(y.sum().backward(), "CheckpointBackward");
}

TEST(Checkpoint, GradAndCreateGraphAreErrors) {
  Tensor w = ones({2}, kFloat64).requires_grad_();
  Tensor y = nn::utils::checkpoint([](const Tensor& t) { return t.exp(); }, w);
  EXPECT_ERROR_CONTAINS(autograd::grad({y.sum()}, {w}), "checkpoint: autograd::grad() cannot run through");
  Tensor z = nn::utils::checkpoint([](const Tensor& t) { return t.exp(); }, w);
  EXPECT_ERROR_CONTAINS(z.sum().backward({}, true, true), "create_graph=true");
}

TEST(Checkpoint, BadArgumentsAreErrors) {
  nn::Sequential seq{nn::ReLU(), nn::Tanh()};
  const Tensor x = ones({2});
  EXPECT_ERROR_CONTAINS(nn::utils::checkpoint_sequential(seq, 0, x),
                        "checkpoint_sequential: segments must be between 1 and the number of modules (2), but got 0");
  EXPECT_ERROR_CONTAINS(nn::utils::checkpoint_sequential(seq, 3, x), "but got 3");
  EXPECT_ERROR_CONTAINS(nn::utils::checkpoint(std::shared_ptr<nn::Module>(), x), "checkpoint: the module is null");
  EXPECT_ERROR_CONTAINS(nn::utils::checkpoint(nn::utils::CheckpointFn(), {x}), "checkpoint: the function is empty");
}

}  // namespace
}  // namespace voxgrad
