// The one-pass SGD, RMSprop and Adagrad updates (optim/detail/update_kernels.h) against PyTorch 1.13's
// _single_tensor_sgd, _single_tensor_rmsprop and _single_tensor_adagrad statement by statement, each
// statement a pass of the library's ops and pointwise.h's updates: the same bits for every combination
// of options, float32 and float64, on tensors of several parallel tasks (at two threads) with ±0, ±inf,
// NaN and huge values among them, on views (strided, offset, transposed, expanded) of every operand and
// with a gradient that is the parameter itself or overlaps it; the versions; the errors, which leave
// the parameter and the optimizer's state alone. The PyTorch fixtures (test_optimizers.cpp) check
// whole optimizers against torch.optim bit for bit.

#include <voxgrad/voxgrad.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "optim/special_values.h"
#include "test_util.h"
#include "voxgrad/optim/detail/pointwise.h"
#include "voxgrad/optim/detail/update_kernels.h"

namespace {

using namespace voxgrad;
namespace od = voxgrad::optim::detail;
namespace vt = voxgrad::testing;

// ---- the statements, one pass each -------------------------------------------------------------------

void sgd_reference(Tensor& p, const Tensor& grad, Tensor* buf, bool first, const od::SgdHyper& h) {
  Tensor d = h.maximize ? -grad : grad;
  if (h.weight_decay != 0.0) d = od::add_scaled(d, p, h.weight_decay);
  if (buf != nullptr) {
    if (first) {
      buf->copy_(d);  // PyTorch: buf = clone(d)
    } else {
      od::add_scaled_(buf->mul_(h.momentum), d, 1.0 - h.dampening);
    }
    d = h.nesterov ? od::add_scaled(d, *buf, h.momentum) : *buf;
  }
  od::add_scaled_(p, d, -h.lr);
}

void rmsprop_reference(Tensor& p, const Tensor& g, Tensor& square_avg, Tensor* buf, Tensor* grad_avg,
                       const od::RmspropHyper& h) {
  Tensor grad = h.maximize ? -g : g;
  if (h.weight_decay != 0.0) grad = od::add_scaled(grad, p, h.weight_decay);
  od::addcmul_(square_avg.mul_(h.alpha), grad, grad, 1.0 - h.alpha);
  Tensor avg;
  if (grad_avg != nullptr) {
    od::add_scaled_(grad_avg->mul_(h.alpha), grad, 1.0 - h.alpha);
    Tensor centred = square_avg.clone();
    od::addcmul_(centred, *grad_avg, *grad_avg, -1.0);
    avg = centred.sqrt();
  } else {
    avg = square_avg.sqrt();
  }
  avg.add_(h.eps);
  if (buf != nullptr) {
    od::addcdiv_(buf->mul_(h.momentum), grad, avg, 1.0);
    od::add_scaled_(p, *buf, -h.lr);
  } else {
    od::addcdiv_(p, grad, avg, -h.lr);
  }
}

void adagrad_reference(Tensor& p, const Tensor& g, Tensor& sum, const od::AdagradHyper& h) {
  Tensor grad = h.maximize ? -g : g;
  if (h.weight_decay != 0.0) grad = od::add_scaled(grad, p, h.weight_decay);
  od::addcmul_(sum, grad, grad, 1.0);
  od::addcdiv_(p, grad, sum.sqrt().add_(h.eps), -h.clr);
}

// ---- one update with its options, both ways ---------------------------------------------------------

// Operand 0 is the parameter, 1 the gradient, the rest the optimizer's state; `nonneg` operands hold
// sums of squares. step counts from 1.
using Operands = std::vector<Tensor>;
struct Update {
  std::string what;
  int operands;
  std::vector<int> nonneg;
  std::function<void(Operands&, int)> kernel, reference;
};

od::SgdHyper sgd_hyper(bool maximize, double wd, double momentum, double dampening, bool nesterov) {
  return {0.03, momentum, dampening, wd, nesterov, maximize};
}

Update sgd(const od::SgdHyper& h) {
  const bool momentum = h.momentum != 0.0;
  return {
      "SGD momentum " + std::to_string(h.momentum) + " dampening " + std::to_string(h.dampening) + " nesterov " +
          std::to_string(h.nesterov) + " wd " + std::to_string(h.weight_decay) + " maximize " +
          std::to_string(h.maximize),
      momentum ? 3 : 2,
      {},
      [h, momentum](Operands& o, int step) { od::sgd_step_(o[0], o[1], momentum ? &o[2] : nullptr, step == 1, h); },
      [h, momentum](Operands& o, int step) { sgd_reference(o[0], o[1], momentum ? &o[2] : nullptr, step == 1, h); }};
}

Update rmsprop(const od::RmspropHyper& h) {
  // Operands: param, grad, square_avg, then momentum_buffer and grad_avg where the options have them.
  const bool momentum = h.momentum > 0.0;
  const int ga = momentum ? 4 : 3;
  return {"RMSprop momentum " + std::to_string(h.momentum) + " centered " + std::to_string(h.centered) + " wd " +
              std::to_string(h.weight_decay) + " maximize " + std::to_string(h.maximize),
          3 + (momentum ? 1 : 0) + (h.centered ? 1 : 0),
          {2},
          [h, momentum, ga](Operands& o, int) {
            od::rmsprop_step_(o[0], o[1], o[2], momentum ? &o[3] : nullptr, h.centered ? &o[ga] : nullptr, h);
          },
          [h, momentum, ga](Operands& o, int) {
            rmsprop_reference(o[0], o[1], o[2], momentum ? &o[3] : nullptr, h.centered ? &o[ga] : nullptr, h);
          }};
}

Update adagrad(const od::AdagradHyper& h) {
  return {"Adagrad wd " + std::to_string(h.weight_decay) + " maximize " + std::to_string(h.maximize),
          3,
          {2},
          [h](Operands& o, int) { od::adagrad_step_(o[0], o[1], o[2], h); },
          [h](Operands& o, int) { adagrad_reference(o[0], o[1], o[2], h); }};
}

// Every combination of each optimizer's options that changes its statements.
std::vector<Update> every_update() {
  std::vector<Update> all;
  for (bool maximize : {false, true}) {
    for (double wd : {0.0, 0.05}) {
      all.push_back(sgd(sgd_hyper(maximize, wd, 0.0, 0.0, false)));
      all.push_back(sgd(sgd_hyper(maximize, wd, 0.9, 0.0, false)));
      all.push_back(sgd(sgd_hyper(maximize, wd, 0.9, 0.0, true)));
      all.push_back(sgd(sgd_hyper(maximize, wd, 0.8, 0.85, false)));  // float(1 − 0.85) ≠ 1 − 0.85f
      for (double momentum : {0.0, 0.85}) {
        for (bool centered : {false, true})
          all.push_back(rmsprop({1e-2, 0.95, 1e-7, wd, momentum, centered, maximize}));
      }
      all.push_back(adagrad({0.04, 1e-9, wd, maximize}));
    }
  }
  return all;
}

// Runs two steps of both forms from the same start on the operands `view` makes of fresh bases, and
// compares every base after each.
template <typename View>
void expect_same_updates(const Update& u, const Shape& base_shape, DType dt, View view, const std::string& how) {
  std::vector<Tensor> bases[2];
  for (auto& b : bases) {
    for (int t = 0; t < u.operands; ++t) {
      b.push_back(vt::special_values(base_shape, dt, 60 + static_cast<std::uint64_t>(t), t));
      for (int n : u.nonneg) {
        if (n == t) b.back() = b.back().abs();
      }
    }
  }
  Operands ops[2];
  for (int r = 0; r < 2; ++r) {
    for (int t = 0; t < u.operands; ++t) ops[r].push_back(view(bases[r][static_cast<std::size_t>(t)], t));
  }
  for (int step = 1; step <= 2; ++step) {
    u.kernel(ops[0], step);
    u.reference(ops[1], step);
    for (int t = 0; t < u.operands; ++t) {
      EXPECT_TRUE(vt::same_bits_any_nan(bases[0][static_cast<std::size_t>(t)], bases[1][static_cast<std::size_t>(t)]))
          << u.what << ", " << how << ", " << dtype_name(dt) << ", step " << step << ": operand " << t;
    }
  }
}

TEST(UpdateKernels, OnePassGivesTheStatementByStatementBitsForEveryOption) {
  for (const Update& u : every_update()) {
    for (DType dt : {kFloat32, kFloat64}) {
      // 70 001 elements: several parallel tasks and a partial last vector.
      expect_same_updates(
          u, {70001}, dt, [](const Tensor& b, int) { return b; }, "contiguous");
    }
  }
}

TEST(UpdateKernels, ViewsOfEveryOperandGiveTheSameBits) {
  const std::vector<Update> updates = {sgd(sgd_hyper(true, 0.05, 0.9, 0.0, true)),
                                       rmsprop({1e-2, 0.9, 1e-6, 0.05, 0.8, true, true}),
                                       adagrad({0.04, 1e-9, 0.05, true})};
  for (const Update& u : updates) {
    for (DType dt : {kFloat32, kFloat64}) {
      for (int strided = 0; strided < u.operands; ++strided) {
        // One operand at a time as an offset stride-2 slice, the others contiguous.
        expect_same_updates(
            u, {2 * 9001 + 1}, dt,
            [strided](const Tensor& b, int t) {
              return t == strided ? b.slice(0, 1, b.size(0), 2) : b.slice(0, 0, 9001);
            },
            "operand " + std::to_string(strided) + " strided");
      }
      expect_same_updates(
          u, {150, 170}, dt, [](const Tensor& b, int) { return b.t(); }, "transposed");
    }
    // An expanded gradient (one row broadcast, as a sum's gradient is).
    manual_seed(2);
    const Tensor row = randn({1, 30});
    Operands ops[2];
    for (int r = 0; r < 2; ++r) {
      manual_seed(3);
      for (int t = 0; t < u.operands; ++t) ops[r].push_back(t == 1 ? row.expand({40, 30}) : randn({40, 30}).abs());
    }
    for (int step = 1; step <= 2; ++step) {
      u.kernel(ops[0], step);
      u.reference(ops[1], step);
      for (int t = 0; t < u.operands; ++t) {
        EXPECT_TRUE(vt::same_bits_any_nan(ops[0][static_cast<std::size_t>(t)], ops[1][static_cast<std::size_t>(t)]))
            << u.what << ", expanded gradient, step " << step << ": operand " << t;
      }
    }
  }
}

// A gradient that is the parameter: the statements read it, element by element, before they write the
// parameter. One that overlaps the parameter at an offset is read whole before the parameter is
// written, as its copy would be.
TEST(UpdateKernels, AGradientThatIsOrOverlapsTheParameterIsReadBeforeTheParameterIsWritten) {
  for (const Update& u : every_update()) {
    // The gradient of parameter element i is the storage's element i + shift.
    for (int shift : {0, 1, -1}) {
      const std::int64_t n = 50001, half = 25000;
      Operands ops[2];
      Tensor params[2];
      for (int r = 0; r < 2; ++r) {
        manual_seed(4);
        params[r] = randn({n});
        ops[r].push_back(shift == 0 ? params[r] : params[r].slice(0, shift < 0 ? 1 : 0, half + (shift < 0 ? 1 : 0)));
        ops[r].push_back(shift == 0 ? params[r] : params[r].slice(0, shift > 0 ? 1 : 0, half + (shift > 0 ? 1 : 0)));
        for (int t = 2; t < u.operands; ++t) ops[r].push_back(randn({shift != 0 ? half : n}).abs());
      }
      u.kernel(ops[0], 2);
      ops[1][1] = ops[1][1].clone();  // the reference reads a copy taken before the update
      u.reference(ops[1], 2);
      const std::string what =
          u.what + (shift != 0 ? ", a view shifted by " + std::to_string(shift) : ", the parameter itself");
      EXPECT_TRUE(vt::same_bits_any_nan(params[0], params[1])) << what;
      for (int t = 2; t < u.operands; ++t) {
        EXPECT_TRUE(vt::same_bits_any_nan(ops[0][static_cast<std::size_t>(t)], ops[1][static_cast<std::size_t>(t)]))
            << what << ": operand " << t;
      }
    }
  }
}

TEST(UpdateKernels, InPlaceOperandsGetTheirVersionsBumpedAndViewsWrittenBack) {
  for (const Update& u : {sgd(sgd_hyper(false, 0.0, 0.9, 0.0, false)),
                          rmsprop({1e-2, 0.9, 1e-6, 0.0, 0.8, true, false}), adagrad({0.04, 1e-9, 0.0, false})}) {
    std::vector<Tensor> bases;
    Operands ops;
    for (int t = 0; t < u.operands; ++t) {
      bases.push_back(t == 1 ? randn({20}) : zeros({20}));
      ops.push_back(bases.back().slice(0, 0, 20, 2));
    }
    std::vector<std::uint32_t> before;
    for (const Tensor& t : ops) before.push_back(t.version());
    u.kernel(ops, 2);
    EXPECT_EQ(ops[1].version(), before[1]) << u.what;
    for (std::size_t t = 0; t < ops.size(); ++t) {
      if (t == 1) continue;
      EXPECT_GT(ops[t].version(), before[t]) << u.what << ": operand " << t;
      // Every state written back into its strided view, and nothing between its elements.
      EXPECT_GT(ops[t].abs().min().item<double>(), 0.0) << u.what << ": operand " << t;
      EXPECT_EQ(bases[t].slice(0, 1, 20, 2).abs().max().item<double>(), 0.0) << u.what << ": operand " << t;
    }
  }
}

TEST(UpdateKernels, ErrorsNameTheOptimizerAndTheOperandAndChangeNothing) {
  manual_seed(8);
  Tensor p = randn({2, 3}), buf = randn({2, 3}), sq = randn({2, 3}).abs();
  const Tensor p0 = p.clone(), buf0 = buf.clone(), sq0 = sq.clone();
  const std::uint32_t versions[3] = {p.version(), buf.version(), sq.version()};
  EXPECT_ERROR_EQ(od::sgd_step_(p, randn({3, 2}), &buf, false, sgd_hyper(false, 0.1, 0.9, 0.0, true)),
                  "SGD: expected grad of shape [2, 3] and dtype float32 (as the parameter), but got shape [3, 2] and "
                  "dtype float32");
  Tensor buf64 = zeros({2, 3}, kFloat64);
  EXPECT_ERROR_EQ(od::sgd_step_(p, randn({2, 3}), &buf64, false, sgd_hyper(false, 0.0, 0.9, 0.0, false)),
                  "SGD: expected momentum_buffer of shape [2, 3] and dtype float32 (as the parameter), but got shape "
                  "[2, 3] and dtype float64");
  Tensor ga = randn({6});
  EXPECT_ERROR_EQ(od::rmsprop_step_(p, randn({2, 3}), sq, &buf, &ga, {1e-2, 0.99, 1e-8, 0.0, 0.9, true, false}),
                  "RMSprop: expected grad_avg of shape [2, 3] and dtype float32 (as the parameter), but got shape "
                  "[6] and dtype float32");
  Tensor sum = randn({2}).abs();
  EXPECT_ERROR_EQ(od::adagrad_step_(p, randn({2, 3}), sum, {0.1, 1e-10, 0.0, false}),
                  "Adagrad: expected sum of shape [2, 3] and dtype float32 (as the parameter), but got shape [2] and "
                  "dtype float32");
  Tensor p64 = randn({2, 3}, kFloat64);
  EXPECT_ERROR_EQ(od::adagrad_step_(p64, randn({2, 3}, kFloat64), sq, {0.1, 1e-10, 0.0, false}),
                  "Adagrad: expected sum of shape [2, 3] and dtype float64 (as the parameter), but got shape [2, 3] "
                  "and dtype float32");
  EXPECT_TRUE(vt::bit_identical(p, p0));
  EXPECT_TRUE(vt::bit_identical(buf, buf0));
  EXPECT_TRUE(vt::bit_identical(sq, sq0));
  EXPECT_EQ(p.version(), versions[0]);
  EXPECT_EQ(buf.version(), versions[1]);
  EXPECT_EQ(sq.version(), versions[2]);
}

// Through the optimizers: a parameter given other data (set_data) no longer matches its gradient or
// state; the step throws and leaves the parameter, its state and the step count alone.
// Through the optimizers: a parameter given other data (set_data) no longer matches its gradient or
// state. The step throws before it changes anything, for any parameter: no state made, no step counted,
// no parameter updated, also not the ones before the one that does not match.
TEST(UpdateKernels, AFailedStepChangesNoParameterAndNoState) {
  const auto check = [](auto make_optimizer, const std::string& message, bool step_first) {
    Tensor a = full({3}, 2.0).requires_grad_(), w = ones({4}).requires_grad_();
    auto opt = make_optimizer(std::vector<Tensor>{a, w});
    if (step_first) {
      a.set_grad(full({3}, 0.5));
      w.set_grad(full({4}, 0.5));
      opt.step();
    }
    const Tensor a0 = a.detach().clone(), w0 = w.detach().clone();
    const auto snapshot = [&opt](const Tensor& param) {
      std::vector<std::pair<std::string, Tensor>> copy;
      for (const auto& [key, value] : opt.state(param)) copy.emplace_back(key, value.clone());
      return copy;
    };
    const auto state_a = snapshot(a), state_w = snapshot(w);
    a.set_grad(full({3}, 0.25));
    w.set_grad(full({4}, 0.25));
    w.set_data(ones({5}));
    if (step_first) w.set_grad(full({5}, 0.25));  // the state no longer matches
    EXPECT_ERROR_EQ(opt.step(), message);
    EXPECT_TRUE(vt::bit_identical(a.detach(), a0)) << message;
    EXPECT_TRUE(vt::bit_identical(w.detach(), ones({5}))) << message;
    for (const auto& [param, before] : {std::pair{a, state_a}, std::pair{w, state_w}}) {
      const auto after = opt.state(param);
      ASSERT_EQ(after.size(), before.size()) << message;
      for (std::size_t k = 0; k < after.size(); ++k) {
        EXPECT_EQ(after[k].first, before[k].first);
        EXPECT_TRUE(vt::bit_identical(after[k].second, before[k].second)) << message << ": " << after[k].first;
      }
    }
  };
  const auto sgd_opt = [](std::vector<Tensor> ps) { return optim::SGD(ps, optim::SGDOptions(0.1).momentum(0.9)); };
  const auto rms_opt = [](std::vector<Tensor> ps) {
    return optim::RMSprop(ps, optim::RMSpropOptions(0.1).momentum(0.9).centered(true));
  };
  const auto ada_opt = [](std::vector<Tensor> ps) { return optim::Adagrad(ps, optim::AdagradOptions(0.1)); };
  const auto adam_opt = [](std::vector<Tensor> ps) { return optim::Adam(ps, optim::AdamOptions(0.1).amsgrad(true)); };
  const auto adamw_opt = [](std::vector<Tensor> ps) { return optim::AdamW(ps, optim::AdamWOptions(0.1)); };
  const std::string grad =
      " expected grad of shape [5] and dtype float32 (as the parameter), but got shape [4] and "
      "dtype float32";
  check(sgd_opt, "SGD:" + grad, false);
  check(rms_opt, "RMSprop:" + grad, false);
  check(ada_opt, "Adagrad:" + grad, false);
  check(adam_opt, "Adam:" + grad, false);
  check(adamw_opt, "AdamW:" + grad, false);
  const auto state = [](const char* op, const char* name) {
    return std::string(op) + ": expected " + name +
           " of shape [5] and dtype float32 (as the parameter), but got shape [4] and dtype float32";
  };
  check(sgd_opt, state("SGD", "momentum_buffer"), true);
  check(rms_opt, state("RMSprop", "square_avg"), true);
  check(ada_opt, state("Adagrad", "sum"), true);
  check(adam_opt, state("Adam", "exp_avg"), true);
  check(adamw_opt, state("AdamW", "exp_avg"), true);
}

// State the step does not read (a momentum buffer after momentum was switched off) is not checked: the
// step runs on a parameter given other data, as PyTorch's would. Such state survives a checkpoint:
// state_dict() saves the stale buffer as it is, and load_state_dict takes it back (its shape is checked
// only where the loaded options make the step read it).
TEST(UpdateKernels, StateTheStepDoesNotReadIsNotCheckedAndRoundTrips) {
  Tensor w = ones({4}).requires_grad_();
  optim::SGD opt({w}, optim::SGDOptions(0.1).momentum(0.9));
  w.set_grad(ones({4}));
  opt.step();
  static_cast<optim::SGDOptions&>(opt.param_groups()[0].options()).momentum(0.0);
  w.set_data(ones({5}));
  w.set_grad(ones({5}));
  opt.step();
  EXPECT_TRUE(vt::bit_identical(w.detach(), full({5}, 0.9)));
  const nn::StateDict saved = opt.state_dict();

  Tensor w2 = ones({5}).requires_grad_();
  optim::SGD loaded({w2}, optim::SGDOptions(0.1).momentum(0.3));
  loaded.load_state_dict(saved);
  const nn::StateDict again = loaded.state_dict();
  ASSERT_EQ(again.size(), saved.size());
  for (std::size_t i = 0; i < saved.size(); ++i) {
    EXPECT_EQ(again[i].first, saved[i].first);
    EXPECT_TRUE(vt::bit_identical(again[i].second, saved[i].second)) << saved[i].first;
  }
  w2.set_grad(ones({5}));
  loaded.step();  // momentum 0 as loaded: the buffer is not read
  EXPECT_TRUE(vt::bit_identical(w2.detach(), full({5}, 0.9)));

  // With momentum on again the step reads the buffer: its shape is checked, in a step and in a load
  // (which then changes nothing).
  static_cast<optim::SGDOptions&>(opt.param_groups()[0].options()).momentum(0.5);
  EXPECT_ERROR_EQ(opt.step(),
                  "SGD: expected momentum_buffer of shape [5] and dtype float32 (as the parameter), but "
                  "got shape [4] and dtype float32");
  nn::StateDict with_momentum = saved;
  for (auto& [key, value] : with_momentum) {
    if (key == "param_groups.0.momentum") value = scalar_tensor(0.5, kFloat64);
  }
  optim::SGD target({w2}, optim::SGDOptions(0.2));
  EXPECT_ERROR_EQ(target.load_state_dict(with_momentum),
                  "SGD: error(s) in loading the state dict: \"state.0.momentum_buffer\" has shape [4], but "
                  "parameter 0 has shape [5]");
  EXPECT_EQ(target.state_dict().size(), optim::SGD({w2}, optim::SGDOptions(0.2)).state_dict().size());
  EXPECT_EQ(target.param_groups()[0].options().get_lr(), 0.2);
}

}  // namespace
