// LambdaLR, MultiplicativeLR, ConstantLR, PolynomialLR and CosineAnnealingWarmRestarts beyond the
// PyTorch fixture (whose cases tests/optim/test_schedulers.cpp runs): argument checks, state dicts
// (keys, resuming, refusing bad values before anything changes) and use inside SequentialLR.

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "optim/scheduler_util.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::testing;

using MakeScheduler = std::function<std::unique_ptr<optim::LRScheduler>(optim::Optimizer&, double)>;

// Every entry's values, in order (the state dicts hold float64 tensors).
std::vector<std::vector<double>> values(const nn::StateDict& d) {
  std::vector<std::vector<double>> v;
  for (const auto& [name, t] : d) {
    const Tensor c = t.contiguous();
    v.emplace_back(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  }
  return v;
}

TEST(LambdaPolyRestartSchedulers, InvalidArgumentsNameTheSchedulerTheArgumentAndTheValue) {
  Groups s({0.1, 0.2});
  const optim::LRLambda one = [](std::int64_t) { return 1.0; };
  EXPECT_ERROR_EQ(optim::LambdaLR(*s.opt, std::vector<optim::LRLambda>{one, one, one}),
                  "LambdaLR: Expected 2 lr_lambdas, but got 3");
  EXPECT_ERROR_EQ(optim::LambdaLR(*s.opt, optim::LRLambda()), "LambdaLR: lr_lambda is an empty std::function");
  EXPECT_ERROR_EQ(optim::LambdaLR(*s.opt, std::vector<optim::LRLambda>{one, nullptr}),
                  "LambdaLR: lr_lambdas[1] is an empty std::function");
  EXPECT_ERROR_EQ(optim::MultiplicativeLR(*s.opt, std::vector<optim::LRLambda>{one}),
                  "MultiplicativeLR: Expected 2 lr_lambdas, but got 1");
  EXPECT_ERROR_EQ(optim::MultiplicativeLR(*s.opt, optim::LRLambda()),
                  "MultiplicativeLR: lr_lambda is an empty std::function");
  EXPECT_ERROR_EQ(optim::ConstantLR(*s.opt, optim::ConstantLROptions().factor(1.5)),
                  "ConstantLR: Constant multiplicative factor expected to be between 0 and 1, but got factor=1.5");
  EXPECT_ERROR_EQ(optim::ConstantLR(*s.opt, optim::ConstantLROptions().factor(-0.25)),
                  "ConstantLR: Constant multiplicative factor expected to be between 0 and 1, but got factor=-0.25");
  EXPECT_ERROR_EQ(optim::ConstantLR(*s.opt, optim::ConstantLROptions().factor(std::nan(""))),
                  "ConstantLR: Constant multiplicative factor expected to be between 0 and 1, but got factor=nan");
  EXPECT_ERROR_EQ(optim::ConstantLR(*s.opt, optim::ConstantLROptions().total_iters(-1)),
                  "ConstantLR: total_iters must be non-negative, but got -1");
  EXPECT_ERROR_EQ(optim::ConstantLR(*s.opt, optim::ConstantLROptions().factor(0.0).total_iters(4)),
                  "ConstantLR: factor=0 with total_iters=4 divides by zero at epoch 4 (the lr times 1/factor; "
                  "PyTorch raises ZeroDivisionError there)");
  EXPECT_ERROR_EQ(optim::PolynomialLR(*s.opt, optim::PolynomialLROptions().total_iters(0)),
                  "PolynomialLR: total_iters must be positive, but got 0");
  EXPECT_ERROR_EQ(optim::PolynomialLR(*s.opt, optim::PolynomialLROptions().power(-0.5)),
                  "PolynomialLR: power must be non-negative, but got -0.5");
  EXPECT_ERROR_EQ(optim::CosineAnnealingWarmRestarts(*s.opt, 0),
                  "CosineAnnealingWarmRestarts: Expected positive integer T_0, but got 0");
  EXPECT_ERROR_EQ(optim::CosineAnnealingWarmRestarts(*s.opt, 5, 0),
                  "CosineAnnealingWarmRestarts: Expected integer T_mult >= 1, but got 0");
}

TEST(LambdaPolyRestartSchedulers, RefusedConstructorsLeaveTheGroupsAlone) {
  // As in PyTorch, which checks these arguments before recording each group's initial_lr (PolynomialLR's
  // arguments PyTorch does not check).
  Groups s({0.1, 0.2});
  EXPECT_THROW(optim::LambdaLR(*s.opt, std::vector<optim::LRLambda>{lr_lambda_by_name("inverse")}), Error);
  EXPECT_THROW(optim::MultiplicativeLR(*s.opt, optim::LRLambda()), Error);
  EXPECT_THROW(optim::ConstantLR(*s.opt, optim::ConstantLROptions().factor(2.0)), Error);
  EXPECT_THROW(optim::CosineAnnealingWarmRestarts(*s.opt, -3), Error);
  EXPECT_THROW(optim::PolynomialLR(*s.opt, optim::PolynomialLROptions().power(-1.0)), Error);
  for (const auto& g : s.opt->param_groups()) EXPECT_FALSE(g.initial_lr().has_value());
  EXPECT_EQ(s.lrs(), (std::vector<double>{0.1, 0.2}));
}

TEST(LambdaLR, OneFunctionForAllGroupsOrOnePerGroup) {
  Groups s({0.5, 0.25});
  optim::LambdaLR one(*s.opt, [](std::int64_t e) { return static_cast<double>(e / 2); });  // Python's e // 2
  EXPECT_EQ(s.lrs(), (std::vector<double>{0.0, 0.0}));
  one.step();
  one.step();
  EXPECT_EQ(s.lrs(), (std::vector<double>{0.5, 0.25}));
  Groups t({0.5, 0.25});
  optim::LambdaLR per_group(
      *t.opt, std::vector<optim::LRLambda>{[](std::int64_t e) { return 2.0 * e; }, [](std::int64_t) { return 0.5; }});
  per_group.step();
  EXPECT_EQ(per_group.get_last_lr(), (std::vector<double>{1.0, 0.125}));
  EXPECT_EQ(per_group.base_lrs(), (std::vector<double>{0.5, 0.25}));
}

TEST(LambdaLR, OneStatefulFunctionSeesEveryGroupsCallsAsPyTorchs) {
  // PyTorch's [lr_lambda] * len(param_groups) calls the one object for group 0, then group 1: a
  // counting callable gives [1, 2] at construction and [3, 4] after a step.
  Groups s({1.0, 1.0});
  optim::LambdaLR sched(*s.opt, [n = 0](std::int64_t) mutable { return static_cast<double>(++n); });
  EXPECT_EQ(s.lrs(), (std::vector<double>{1.0, 2.0}));
  sched.step();
  EXPECT_EQ(s.lrs(), (std::vector<double>{3.0, 4.0}));
  Groups t({1.0, 1.0});
  optim::MultiplicativeLR mult(*t.opt, [n = 0](std::int64_t) mutable { return static_cast<double>(++n); });
  mult.step();
  EXPECT_EQ(t.lrs(), (std::vector<double>{1.0, 2.0}));
}

TEST(MultiplicativeLR, MultipliesTheCurrentLrFromEpochOne) {
  Groups s({0.8});
  optim::MultiplicativeLR sched(*s.opt, [](std::int64_t e) { return e == 2 ? 0.25 : 0.5; });
  std::vector<double> seen{s.lrs()[0]};
  for (int e = 1; e <= 3; ++e) {
    sched.step();
    seen.push_back(s.lrs()[0]);
  }
  EXPECT_EQ(seen, (std::vector<double>{0.8, 0.4, 0.1, 0.05}));
}

TEST(ConstantLR, ZeroFactorAndZeroTotalItersKeepsTheLrAtZeroAsPyTorch) {
  // PyTorch: factor at epoch 0, then never back (epoch total_iters = 0 is epoch 0).
  Groups s({0.1});
  optim::ConstantLR sched(*s.opt, optim::ConstantLROptions().factor(0.0).total_iters(0));
  for (int e = 0; e < 4; ++e) {
    EXPECT_EQ(s.lrs()[0], 0.0) << "epoch " << e;
    sched.step();
  }
}

TEST(ConstantLR, LoadRefusesAZeroFactorWithTotalItersAsTheConstructorDoes) {
  Groups s({0.1});
  optim::ConstantLR sched(*s.opt, optim::ConstantLROptions().factor(0.5).total_iters(2));
  const nn::StateDict before = sched.state_dict();
  EXPECT_ERROR_EQ(sched.load_state_dict(with(before, "factor", 0.0)),
                  "ConstantLR: error(s) in loading the state dict: factor=0 with total_iters=2 divides by zero at "
                  "epoch 2 (the lr times 1/factor; PyTorch raises ZeroDivisionError there)");
  EXPECT_EQ(values(sched.state_dict()), values(before));
  // With total_iters 0 there is no warm-up to end (PyTorch runs it): accepted, and the epochs after
  // leave the group's lr (0.1 · 0.5 from the construction) as it is.
  sched.load_state_dict(with(with(before, "factor", 0.0), "total_iters", 0));
  sched.step();
  EXPECT_EQ(sched.get_last_lr(), (std::vector<double>{0.05}));
}

TEST(PolynomialLR, RecursiveFormStaysNearTheClosedForm) {
  Groups s({0.01, 0.3});
  optim::PolynomialLR sched(*s.opt, optim::PolynomialLROptions().total_iters(250).power(0.9));
  for (int e = 1; e <= 260; ++e) {
    sched.step();
    for (std::size_t g = 0; g < 2; ++g) {
      const double base = g == 0 ? 0.01 : 0.3;
      const double closed = base * std::pow(1.0 - std::min(e, 250) / 250.0, 0.9);
      EXPECT_NEAR(sched.get_last_lr()[g], closed, 1e-13 * base) << "epoch " << e;
    }
  }
  EXPECT_EQ(sched.get_last_lr(), (std::vector<double>{0.0, 0.0}));
}

TEST(CosineAnnealingWarmRestarts, TCurAndTiAsPyTorchStepsThem) {
  Groups s({1.0});
  optim::CosineAnnealingWarmRestarts sched(*s.opt, 2, 2, 0.0);
  std::vector<std::int64_t> t_cur{sched.T_cur()}, t_i{sched.T_i()};
  for (int e = 1; e <= 8; ++e) {
    sched.step();
    t_cur.push_back(sched.T_cur());
    t_i.push_back(sched.T_i());
    if (sched.T_cur() == 0) {
      EXPECT_EQ(s.lrs()[0], 1.0) << "restart at epoch " << e;
    }
  }
  EXPECT_EQ(t_cur, (std::vector<std::int64_t>{0, 1, 0, 1, 2, 3, 0, 1, 2}));
  EXPECT_EQ(t_i, (std::vector<std::int64_t>{2, 2, 4, 4, 4, 4, 8, 8, 8}));
}

// A port of PyTorch's CosineAnnealingWarmRestarts(opt, 10, eta_min=1e-5) written (opt, 10, 1e-5) would
// pass eta_min as T_mult: a floating third argument does not compile.
static_assert(!std::is_constructible_v<optim::CosineAnnealingWarmRestarts, optim::Optimizer&, std::int64_t, double>);
static_assert(!std::is_constructible_v<optim::CosineAnnealingWarmRestarts, optim::Optimizer&, int, float, double>);
static_assert(!std::is_constructible_v<optim::CosineAnnealingWarmRestarts, optim::Optimizer&, double>);
static_assert(!std::is_constructible_v<optim::CosineAnnealingWarmRestarts, optim::Optimizer&, double, int>);
static_assert(std::is_constructible_v<optim::CosineAnnealingWarmRestarts, optim::Optimizer&, int, int, double>);
static_assert(std::is_constructible_v<optim::CosineAnnealingWarmRestarts, optim::Optimizer&, std::int64_t>);

TEST(CosineAnnealingWarmRestarts, ACycleLengthPastInt64ThrowsAndChangesNothing) {
  Groups s({1.0});
  optim::CosineAnnealingWarmRestarts sched(*s.opt, 3, 2);
  nn::StateDict state = sched.state_dict();
  state = with(with(with(with(state, "T_i", 0x1p61), "T_cur", 0x1p61), "T_mult", 4), "last_epoch", 9);
  sched.load_state_dict(state);
  const std::vector<double> lrs = s.lrs();
  EXPECT_ERROR_EQ(sched.step(),
                  "CosineAnnealingWarmRestarts: the next cycle's length T_i * T_mult = 2305843009213693952 * 4 "
                  "overflows int64");
  EXPECT_EQ(values(sched.state_dict()), values(state));
  EXPECT_EQ(sched.last_epoch(), 9);
  EXPECT_EQ(s.lrs(), lrs);
}

TEST(LambdaPolyRestartSchedulers, StateDictKeysArePyTorchNames) {
  Groups s({0.1});
  const std::vector<std::string> common{"base_lrs", "last_epoch", "_step_count", "_last_lr"};
  optim::LambdaLR lambda(*s.opt, lr_lambda_by_name("inverse"));
  EXPECT_EQ(keys(lambda.state_dict()), common);
  optim::MultiplicativeLR mult(*s.opt, lr_lambda_by_name("const_0.95"));
  EXPECT_EQ(keys(mult.state_dict()), common);
  auto with_keys = [&](std::vector<std::string> extra) {
    std::vector<std::string> k = common;
    k.insert(k.end(), extra.begin(), extra.end());
    return k;
  };
  optim::ConstantLR constant(*s.opt);
  EXPECT_EQ(keys(constant.state_dict()), with_keys({"factor", "total_iters"}));
  optim::PolynomialLR poly(*s.opt);
  EXPECT_EQ(keys(poly.state_dict()), with_keys({"total_iters", "power"}));
  optim::CosineAnnealingWarmRestarts restarts(*s.opt, 3, 2, 0.01);
  EXPECT_EQ(keys(restarts.state_dict()), with_keys({"T_0", "T_i", "T_mult", "eta_min", "T_cur"}));
  for (int i = 0; i < 4; ++i) restarts.step();  // T_i = 6, T_cur = 1
  const auto v = values(restarts.state_dict());
  EXPECT_EQ(v[4], std::vector<double>{3.0});
  EXPECT_EQ(v[5], std::vector<double>{6.0});
  EXPECT_EQ(v[6], std::vector<double>{2.0});
  EXPECT_EQ(v[7], std::vector<double>{0.01});
  EXPECT_EQ(v[8], std::vector<double>{1.0});
}

// Runs `make(·, 1)` on two groups for `saved_at` epochs, saves optimizer and scheduler, builds a fresh
// pair on other lrs with `make(·, 2)` (other settings), loads both and checks that the next 20 epochs
// give the same lrs.
void expect_resume(const std::string& what, const MakeScheduler& make, int saved_at) {
  SCOPED_TRACE(what);
  Groups a({0.1, 0.05});
  auto sa = make(*a.opt, 1);
  for (int i = 0; i < saved_at; ++i) sa->step();
  const nn::StateDict opt_state = a.opt->state_dict(), sched_state = sa->state_dict();
  Groups b({0.7, 0.3});
  auto sb = make(*b.opt, 2);
  b.opt->load_state_dict(opt_state);
  sb->load_state_dict(sched_state);
  EXPECT_EQ(sb->last_epoch(), saved_at);
  EXPECT_EQ(sb->base_lrs(), (std::vector<double>{0.1, 0.05}));
  for (int i = 1; i <= 20; ++i) {
    sa->step();
    sb->step();
    EXPECT_EQ(sa->get_last_lr(), sb->get_last_lr()) << "epoch " << saved_at + i;
    EXPECT_EQ(a.lrs(), b.lrs()) << "epoch " << saved_at + i;
  }
}

TEST(LambdaPolyRestartSchedulers, StateDictResumesTheSchedule) {
  // The lambdas are not saved: both schedulers are built with the same ones.
  expect_resume(
      "LambdaLR",
      [](optim::Optimizer& o, double) { return std::make_unique<optim::LambdaLR>(o, lr_lambda_by_name("pow_0.9")); },
      5);
  expect_resume(
      "MultiplicativeLR",
      [](optim::Optimizer& o, double) {
        return std::make_unique<optim::MultiplicativeLR>(
            o, std::vector<optim::LRLambda>{lr_lambda_by_name("half_every_3"), lr_lambda_by_name("inverse")});
      },
      4);
  expect_resume(
      "ConstantLR",
      [](optim::Optimizer& o, double k) {
        return std::make_unique<optim::ConstantLR>(
            o, optim::ConstantLROptions().factor(0.25 * k).total_iters(static_cast<std::int64_t>(7 * k)));
      },
      3);
  expect_resume(
      "PolynomialLR",
      [](optim::Optimizer& o, double k) {
        return std::make_unique<optim::PolynomialLR>(
            o, optim::PolynomialLROptions().total_iters(static_cast<std::int64_t>(12 * k)).power(0.9 * k));
      },
      5);
  // Saved inside the second cycle (T_i = 6, T_cur = 2), loaded into T_0 = 5, T_mult = 1.
  expect_resume(
      "CosineAnnealingWarmRestarts",
      [](optim::Optimizer& o, double k) {
        return std::make_unique<optim::CosineAnnealingWarmRestarts>(o, static_cast<std::int64_t>(k * 2 + 1),
                                                                    static_cast<std::int64_t>(3 - k), 0.001 / k);
      },
      5);
}

// Loading `bad` (a state dict of `sched` with refused values) throws `message` and changes nothing.
void expect_refused(optim::LRScheduler& sched, const nn::StateDict& bad, const std::string& message) {
  const nn::StateDict before = sched.state_dict();
  EXPECT_ERROR_EQ(sched.load_state_dict(bad), message);
  EXPECT_EQ(keys(sched.state_dict()), keys(before));
  EXPECT_EQ(values(sched.state_dict()), values(before));
}

TEST(LambdaPolyRestartSchedulers, LoadStateDictRefusesBadValuesBeforeChangingAnything) {
  Groups s({0.1});
  optim::ConstantLR constant(*s.opt, optim::ConstantLROptions().factor(0.5).total_iters(3));
  constant.step();
  expect_refused(constant, with(with(with(constant.state_dict(), "last_epoch", 7), "factor", 1.5), "total_iters", -1),
                 "ConstantLR: error(s) in loading the state dict: \"factor\" must be in [0, 1], but is 1.5; "
                 "\"total_iters\" must be a whole number of at least 0, but is -1");
  optim::PolynomialLR poly(*s.opt, optim::PolynomialLROptions().total_iters(4));
  expect_refused(poly, with(with(poly.state_dict(), "total_iters", 0), "power", -2),
                 "PolynomialLR: error(s) in loading the state dict: \"total_iters\" must be a whole number of at "
                 "least 1, but is 0; \"power\" must be non-negative, but is -2");
  optim::CosineAnnealingWarmRestarts restarts(*s.opt, 3, 2);
  for (int i = 0; i < 4; ++i) restarts.step();
  expect_refused(restarts, with(with(with(restarts.state_dict(), "T_0", 0), "T_mult", 1.5), "T_cur", -1),
                 "CosineAnnealingWarmRestarts: error(s) in loading the state dict: \"T_0\" must be a whole number of "
                 "at least 1, but is 0; \"T_mult\" must be a whole number of at least 1, but is 1.5; \"T_cur\" must "
                 "be a whole number of at least 0, but is -1");
  expect_refused(restarts, with(restarts.state_dict(), "T_i", 0),
                 "CosineAnnealingWarmRestarts: error(s) in loading the state dict: \"T_i\" must be a whole number of "
                 "at least 1, but is 0");
  EXPECT_EQ(restarts.T_i(), 6);
  EXPECT_EQ(restarts.T_cur(), 1);
  // PyTorch's "lr_lambdas" entry has no counterpart (a std::function is not saved).
  optim::LambdaLR lambda(*s.opt, lr_lambda_by_name("inverse"));
  nn::StateDict extra = lambda.state_dict();
  extra.emplace_back("lr_lambdas", scalar_tensor(0.0, kFloat64));
  expect_refused(lambda, with(extra, "_step_count", -2),
                 "LambdaLR: error(s) in loading the state dict: \"_step_count\" must be a whole number of at least 0, "
                 "but is -2; unexpected key \"lr_lambdas\"");
  optim::MultiplicativeLR mult(*s.opt, lr_lambda_by_name("const_0.95"));
  expect_refused(mult, with(mult.state_dict(), "last_epoch", 0.5),
                 "MultiplicativeLR: error(s) in loading the state dict: \"last_epoch\" must be a whole number of at "
                 "least -1, but is 0.5");
}

TEST(SequentialLR, ResumesWithTheNewSchedulers) {
  auto build = [](Groups& g, double f) {
    std::vector<std::shared_ptr<optim::LRScheduler>> children{
        std::make_shared<optim::ConstantLR>(*g.opt, optim::ConstantLROptions().factor(f).total_iters(2)),
        std::make_shared<optim::CosineAnnealingWarmRestarts>(*g.opt, 3, 2, 0.001),
        std::make_shared<optim::PolynomialLR>(*g.opt, optim::PolynomialLROptions().total_iters(6).power(0.9)),
        std::make_shared<optim::MultiplicativeLR>(*g.opt, lr_lambda_by_name("const_0.95"))};
    return std::make_unique<optim::SequentialLR>(*g.opt, children, std::vector<std::int64_t>{3, 12, 20});
  };
  Groups a({0.1, 0.02});
  auto sa = build(a, 0.1);
  for (int i = 0; i < 8; ++i) sa->step();  // inside the warm restarts' second cycle
  const nn::StateDict saved = sa->state_dict();
  Groups b({0.1, 0.02});
  auto sb = build(b, 0.5);
  b.opt->load_state_dict(a.opt->state_dict());
  sb->load_state_dict(saved);
  for (int e = 9; e <= 30; ++e) {
    sa->step();
    sb->step();
    EXPECT_EQ(sa->get_last_lr(), sb->get_last_lr()) << "epoch " << e;
    EXPECT_EQ(a.lrs(), b.lrs()) << "epoch " << e;
  }
}

}  // namespace
