// The LR schedulers against the learning rates PyTorch 1.13 prints (tests/fixtures/optim/schedulers.json,
// from tests/fixtures/optim/generate.py): the recursive forms are evaluated as PyTorch does, so the lrs
// must match bit for bit. LambdaLR, MultiplicativeLR, ConstantLR, PolynomialLR and
// CosineAnnealingWarmRestarts beyond the fixture: tests/optim/test_schedulers_lambda_poly_restarts.cpp;
// CyclicLR, ChainedScheduler and ReduceLROnPlateau's state dict: tests/optim/test_schedulers_cyclic_chained.cpp.

#include <cmath>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "json_fixture.h"
#include "optim/scheduler_util.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::testing;
using nlohmann::json;

const json& fixture() {
  static const json j = load_fixture("optim/schedulers.json");
  return j;
}

std::unique_ptr<optim::LRScheduler> make_scheduler(const std::string& kind, const json& o, optim::Optimizer& opt) {
  if (kind == "StepLR") return std::make_unique<optim::StepLR>(opt, o["step_size"], o.value("gamma", 0.1));
  if (kind == "CosineAnnealingLR")
    return std::make_unique<optim::CosineAnnealingLR>(opt, o["T_max"], o.value("eta_min", 0.0));
  if (kind == "MultiStepLR") return std::make_unique<optim::MultiStepLR>(opt, o["milestones"], o.value("gamma", 0.1));
  if (kind == "ExponentialLR") return std::make_unique<optim::ExponentialLR>(opt, o["gamma"]);
  if (kind == "LinearLR") {
    optim::LinearLROptions l;
    if (o.contains("start_factor")) l.start_factor(o["start_factor"]);
    if (o.contains("end_factor")) l.end_factor(o["end_factor"]);
    if (o.contains("total_iters")) l.total_iters(o["total_iters"]);
    return std::make_unique<optim::LinearLR>(opt, l);
  }
  if (kind == "LambdaLR" || kind == "MultiplicativeLR") {
    // One lambda name for every group, or a list of one per group.
    const json& f = o["lr_lambda"];
    if (f.is_string()) {
      if (kind == "LambdaLR") return std::make_unique<optim::LambdaLR>(opt, lr_lambda_by_name(f));
      return std::make_unique<optim::MultiplicativeLR>(opt, lr_lambda_by_name(f));
    }
    std::vector<optim::LRLambda> fs;
    for (const json& n : f) fs.push_back(lr_lambda_by_name(n));
    if (kind == "LambdaLR") return std::make_unique<optim::LambdaLR>(opt, fs);
    return std::make_unique<optim::MultiplicativeLR>(opt, fs);
  }
  if (kind == "ConstantLR") {
    optim::ConstantLROptions c;
    if (o.contains("factor")) c.factor(o["factor"]);
    if (o.contains("total_iters")) c.total_iters(o["total_iters"]);
    return std::make_unique<optim::ConstantLR>(opt, c);
  }
  if (kind == "PolynomialLR") {
    optim::PolynomialLROptions p;
    if (o.contains("total_iters")) p.total_iters(o["total_iters"]);
    if (o.contains("power")) p.power(o["power"]);
    return std::make_unique<optim::PolynomialLR>(opt, p);
  }
  if (kind == "CosineAnnealingWarmRestarts") {
    return std::make_unique<optim::CosineAnnealingWarmRestarts>(opt, o["T_0"], o.value("T_mult", std::int64_t{1}),
                                                                o.value("eta_min", 0.0));
  }
  ADD_FAILURE() << "unknown scheduler " << kind;
  return nullptr;
}

std::unique_ptr<optim::LRScheduler> make_epoch_scheduler(const json& c, optim::Optimizer& opt) {
  return make_scheduler(c["scheduler"], c["options"], opt);
}

optim::OneCycleLROptions one_cycle_options(const json& o) {
  optim::OneCycleLROptions r(o["max_lr"].is_array() ? o["max_lr"].get<std::vector<double>>()
                                                    : std::vector<double>{o["max_lr"].get<double>()});
  if (o.contains("total_steps")) r.total_steps(o["total_steps"].get<std::int64_t>());
  if (o.contains("epochs")) r.epochs(o["epochs"].get<std::int64_t>());
  if (o.contains("steps_per_epoch")) r.steps_per_epoch(o["steps_per_epoch"].get<std::int64_t>());
  if (o.contains("pct_start")) r.pct_start(o["pct_start"]);
  if (o.contains("anneal_strategy"))
    r.anneal_strategy(o["anneal_strategy"] == "linear" ? optim::OneCycleLROptions::Linear
                                                       : optim::OneCycleLROptions::Cos);
  if (o.contains("three_phase")) r.three_phase(o["three_phase"]);
  if (o.contains("cycle_momentum")) r.cycle_momentum(o["cycle_momentum"]);
  if (o.contains("div_factor")) r.div_factor(o["div_factor"]);
  if (o.contains("final_div_factor")) r.final_div_factor(o["final_div_factor"]);
  if (o.contains("base_momentum")) r.base_momentum({o["base_momentum"].get<double>()});
  if (o.contains("max_momentum")) r.max_momentum({o["max_momentum"].get<double>()});
  return r;
}

void check_one_cycle_case(const json& c) {
  CycleGroups s(c["optimizer"], c["lrs"].get<std::vector<double>>());
  optim::OneCycleLR sched(*s.opt, one_cycle_options(c["options"]));
  const auto& expected = c["expected"];
  const auto& momentum = c["momentum"];
  EXPECT_EQ(sched.get_last_lr(), expected[0].get<std::vector<double>>());
  EXPECT_EQ(s.momenta(), momentum[0].get<std::vector<double>>());
  for (int e = 1; e <= c["epochs"].get<int>(); ++e) {
    s.opt->step();
    sched.step();
    EXPECT_EQ(sched.get_last_lr(), expected[e].get<std::vector<double>>()) << "step " << e;
    EXPECT_EQ(s.momenta(), momentum[e].get<std::vector<double>>()) << "step " << e;
  }
  sched.step();  // step total_steps is still allowed, as in PyTorch
  EXPECT_ERROR_EQ(sched.step(), "OneCycleLR: " + c["error"].get<std::string>());
}

void check_sequential_case(const json& c) {
  Groups s(c["lrs"].get<std::vector<double>>());
  std::vector<std::shared_ptr<optim::LRScheduler>> children;
  for (const json& k : c["children"]) children.push_back(make_scheduler(k["scheduler"], k["options"], *s.opt));
  optim::SequentialLR sched(*s.opt, children, c["milestones"].get<std::vector<std::int64_t>>());
  const auto& expected = c["expected"];
  EXPECT_EQ(sched.get_last_lr(), expected[0].get<std::vector<double>>());
  EXPECT_EQ(s.lrs(), sched.get_last_lr());
  for (int e = 1; e <= c["epochs"].get<int>(); ++e) {
    s.opt->step();
    sched.step();
    EXPECT_EQ(sched.get_last_lr(), expected[e].get<std::vector<double>>()) << "epoch " << e;
    EXPECT_EQ(s.lrs(), sched.get_last_lr());
  }
}

class SchedulerFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(SchedulerFixture, LearningRatesMatchPyTorchBitForBit) {
  const json* found = find_case(fixture(), GetParam());
  ASSERT_NE(found, nullptr);
  const json& c = *found;
  if (c["scheduler"] == "OneCycleLR") return check_one_cycle_case(c);
  if (c["scheduler"] == "SequentialLR") return check_sequential_case(c);
  Groups s(c["lrs"].get<std::vector<double>>());
  const auto& expected = c["expected"];
  if (c["scheduler"] == "ReduceLROnPlateau") {
    optim::ReduceLROnPlateau sched(*s.opt, plateau_options(c["options"]));
    const auto metrics = c["metrics"].get<std::vector<double>>();
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      sched.step(metrics[i]);
      EXPECT_EQ(s.lrs(), expected[i].get<std::vector<double>>()) << "after metric " << i;
      EXPECT_EQ(sched.get_last_lr(), s.lrs());
    }
    return;
  }
  auto sched = make_epoch_scheduler(c, *s.opt);
  EXPECT_EQ(sched->get_last_lr(), expected[0].get<std::vector<double>>());
  EXPECT_EQ(sched->last_epoch(), 0);
  for (int e = 1; e <= c["epochs"].get<int>(); ++e) {
    s.opt->step();
    sched->step();
    EXPECT_EQ(sched->get_last_lr(), expected[e].get<std::vector<double>>()) << "epoch " << e;
    EXPECT_EQ(s.lrs(), sched->get_last_lr());
  }
}

// The cases of every scheduler but CyclicLR and ChainedScheduler (tests/optim/test_schedulers_cyclic_chained.cpp
// runs those). No cases (an unreadable file) instantiate nothing; SchedulerFixtureFile.HasEveryScheduler reports
// the problem.
std::vector<std::string> case_names() {
  std::vector<std::string> names;
  try {
    for (const json& c : fixture()["cases"]) {
      if (c["scheduler"] != "CyclicLR" && c["scheduler"] != "ChainedScheduler") names.push_back(c["name"]);
    }
  } catch (const std::exception&) {
  }
  return names;
}

INSTANTIATE_TEST_SUITE_P(PyTorch, SchedulerFixture, ::testing::ValuesIn(case_names()), name_from_param);

TEST(SchedulerFixtureFile, HasEveryScheduler) {
  std::map<std::string, int> n;
  for (const json& c : fixture()["cases"]) ++n[c["scheduler"].get<std::string>()];
  const std::map<std::string, int> least{{"StepLR", 2},
                                         {"CosineAnnealingLR", 3},
                                         {"ReduceLROnPlateau", 5},
                                         {"MultiStepLR", 2},
                                         {"ExponentialLR", 1},
                                         {"LinearLR", 3},
                                         {"OneCycleLR", 4},
                                         {"SequentialLR", 6},
                                         {"LambdaLR", 2},
                                         {"MultiplicativeLR", 2},
                                         {"ConstantLR", 4},
                                         {"PolynomialLR", 3},
                                         {"CosineAnnealingWarmRestarts", 3}};
  for (const auto& [scheduler, count] : least) EXPECT_GE(n[scheduler], count) << scheduler;
}

TEST(CosineAnnealingLR, RecursiveFormEqualsTheClosedForm) {
  Groups s({0.1, 0.02});
  optim::CosineAnnealingLR sched(*s.opt, 50, 1e-4);
  for (int e = 1; e <= 150; ++e) {
    sched.step();
    for (std::size_t g = 0; g < 2; ++g) {
      const double base = g == 0 ? 0.1 : 0.02;
      const double closed = 1e-4 + (base - 1e-4) * (1 + std::cos(std::numbers::pi * e / 50)) / 2;
      EXPECT_NEAR(sched.get_last_lr()[g], closed, 1e-15) << "epoch " << e;
    }
  }
}

TEST(StepLR, DecaysEveryStepSizeEpochs) {
  Groups s({1.0});
  optim::StepLR sched(*s.opt, 2, 0.5);
  std::vector<double> seen;
  for (int e = 0; e < 6; ++e) {
    seen.push_back(sched.get_last_lr()[0]);
    sched.step();
  }
  EXPECT_EQ(seen, (std::vector<double>{1.0, 1.0, 0.5, 0.5, 0.25, 0.25}));
  EXPECT_EQ(sched.base_lrs(), std::vector<double>{1.0});
}

TEST(LRScheduler, StateDictResumesTheSchedule) {
  Groups a({0.1, 0.05});
  optim::CosineAnnealingLR sched_a(*a.opt, 7, 0.001);
  for (int i = 0; i < 4; ++i) sched_a.step();
  const nn::StateDict opt_state = a.opt->state_dict();
  const nn::StateDict sched_state = sched_a.state_dict();
  std::vector<std::string> keys;
  for (const auto& [k, v] : sched_state) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"base_lrs", "last_epoch", "_step_count", "_last_lr", "T_max", "eta_min"}));

  Groups b({0.3, 0.3});
  b.opt->load_state_dict(opt_state);
  optim::CosineAnnealingLR sched_b(*b.opt, 99, 0.0);
  sched_b.load_state_dict(sched_state);
  EXPECT_EQ(sched_b.last_epoch(), 4);
  EXPECT_EQ(sched_b.base_lrs(), (std::vector<double>{0.1, 0.05}));
  for (int i = 0; i < 20; ++i) {
    sched_a.step();
    sched_b.step();
    EXPECT_EQ(sched_a.get_last_lr(), sched_b.get_last_lr());
    EXPECT_EQ(a.lrs(), b.lrs());
  }
}

TEST(LRScheduler, LoadStateDictReportsProblems) {
  Groups s({0.1});
  optim::StepLR sched(*s.opt, 3);
  nn::StateDict d = sched.state_dict();
  d.erase(d.begin());  // base_lrs
  d.emplace_back("verbose", scalar_tensor(0.0, kFloat64));
  EXPECT_ERROR_CONTAINS(sched.load_state_dict(d),
                        "StepLR: error(s) in loading the state dict: missing key \"base_lrs\"");
  EXPECT_ERROR_CONTAINS(sched.load_state_dict(d), "unexpected key \"verbose\"");
  Groups two({0.1, 0.2});
  optim::StepLR other(*two.opt, 3);
  EXPECT_ERROR_CONTAINS(other.load_state_dict(sched.state_dict()),
                        "\"base_lrs\" must have shape [2] (one value per parameter group), but has shape [1]");
}

TEST(LRScheduler, LoadStateDictValidatesTheValuesAndKeepsMilestones) {
  Groups s({0.1});
  // MultiStepLR: the saved milestones as saved (they were once re-sorted entry by entry, [7, 8] into
  // [2, 5] giving [5, 8]).
  optim::MultiStepLR saved(*s.opt, {7, 8}, 0.5);
  Groups t({0.1});
  optim::MultiStepLR loaded(*t.opt, {2, 5}, 0.5);
  loaded.load_state_dict(saved.state_dict());
  for (int e = 1; e <= 9; ++e) {
    saved.step();
    loaded.step();
    EXPECT_EQ(loaded.get_last_lr(), saved.get_last_lr()) << "epoch " << e;
  }
  // Values a constructor refuses are reported, and nothing changes.
  const auto with = [](nn::StateDict d, const std::string& key, double value) {
    for (auto& [k, v] : d) {
      if (k == key) v = scalar_tensor(value, kFloat64);
    }
    return d;
  };
  optim::StepLR step(*s.opt, 3);
  EXPECT_ERROR_CONTAINS(step.load_state_dict(with(step.state_dict(), "step_size", 0)),
                        "\"step_size\" must be a whole number of at least 1, but is 0");
  EXPECT_ERROR_CONTAINS(step.load_state_dict(with(step.state_dict(), "last_epoch", std::nan(""))),
                        "\"last_epoch\" must be a whole number of at least -1, but is nan");
  optim::CosineAnnealingLR cosine(*s.opt, 5);
  EXPECT_ERROR_CONTAINS(cosine.load_state_dict(with(cosine.state_dict(), "T_max", 2.5)),
                        "\"T_max\" must be a whole number of at least 1, but is 2.5");
  EXPECT_ERROR_CONTAINS(loaded.load_state_dict(with(loaded.state_dict(), "milestones.1", -3)),
                        "\"milestones.1\" must be a whole number of at least 0, but is -3");
  optim::LinearLR linear(*s.opt, optim::LinearLROptions());
  EXPECT_ERROR_CONTAINS(linear.load_state_dict(with(linear.state_dict(), "start_factor", 0)),
                        "\"start_factor\" must be in (0, 1], but is 0");
  EXPECT_ERROR_CONTAINS(linear.load_state_dict(with(linear.state_dict(), "total_iters", 0)),
                        "\"total_iters\" must be a whole number of at least 1, but is 0");
  EXPECT_EQ(step.last_epoch(), 0);
  CycleGroups c("sgd", {0.1});
  optim::OneCycleLR cycle(*c.opt, optim::OneCycleLROptions(1.0).total_steps(9));
  EXPECT_ERROR_CONTAINS(cycle.load_state_dict(with(cycle.state_dict(), "total_steps", 0)),
                        "\"total_steps\" must be a whole number of at least 1, but is 0");
  EXPECT_ERROR_CONTAINS(cycle.load_state_dict(with(cycle.state_dict(), "pct_start", 1.5)),
                        "\"pct_start\" must be in [0, 1], but is 1.5");
  optim::ReduceLROnPlateau plateau(*s.opt);
  EXPECT_ERROR_CONTAINS(plateau.load_state_dict(with(plateau.state_dict(), "num_bad_epochs", 1e300)),
                        "\"num_bad_epochs\" must be a whole number of at least 0, but is 1e+300");
}

TEST(LRScheduler, InvalidArgumentsAndChangedGroups) {
  Groups s({0.1});
  EXPECT_ERROR_EQ(optim::StepLR(*s.opt, 0), "StepLR: step_size must be positive (got 0)");
  EXPECT_ERROR_EQ(optim::CosineAnnealingLR(*s.opt, 0), "CosineAnnealingLR: T_max must be positive (got 0)");
  optim::StepLR sched(*s.opt, 2);
  s.opt->add_param_group(optim::OptimizerParamGroup({zeros({1}).requires_grad_()}));
  EXPECT_ERROR_EQ(sched.step(), "StepLR: the optimizer has 2 parameter group(s), but the scheduler was created for 1");
}

TEST(ReduceLROnPlateau, ReducesAfterPatienceAndRespectsCooldownAndMinLr) {
  Groups s({1.0});
  optim::ReduceLROnPlateau sched(*s.opt,
                                 optim::ReduceLROnPlateauOptions().patience(1).cooldown(1).factor(0.5).min_lr({0.3}));
  EXPECT_EQ(sched.best(), INFINITY);
  sched.step(1.0);  // best
  sched.step(1.0);  // bad 1
  EXPECT_EQ(s.lrs()[0], 1.0);
  sched.step(1.0);  // bad 2 > patience: reduce, cooldown 1
  EXPECT_EQ(s.lrs()[0], 0.5);
  EXPECT_EQ(sched.cooldown_counter(), 1);
  sched.step(1.0);  // in cooldown: not counted
  EXPECT_EQ(sched.num_bad_epochs(), 0);
  sched.step(1.0);
  sched.step(1.0);  // reduce to max(0.25, 0.3)
  EXPECT_EQ(s.lrs()[0], 0.3);
  EXPECT_EQ(sched.last_epoch(), 6);
}

TEST(ReduceLROnPlateau, StateDictRoundTrip) {
  Groups a({0.1});
  optim::ReduceLROnPlateau sa(*a.opt, optim::ReduceLROnPlateauOptions().patience(1));
  for (double m : {1.0, 0.5, 0.6, 0.6}) sa.step(m);
  Groups b({0.1});
  b.opt->load_state_dict(a.opt->state_dict());
  optim::ReduceLROnPlateau sb(*b.opt, optim::ReduceLROnPlateauOptions().patience(1));
  sb.load_state_dict(sa.state_dict());
  EXPECT_EQ(sb.best(), 0.5);
  for (double m : {0.6, 0.6, 0.4, 0.45, 0.45, 0.45}) {
    sa.step(m);
    sb.step(m);
    EXPECT_EQ(a.lrs(), b.lrs());
    EXPECT_EQ(sa.num_bad_epochs(), sb.num_bad_epochs());
  }
}

// Runs `make`'s scheduler 5 epochs, saves optimizer and scheduler, builds a fresh pair from other
// settings (as in PyTorch, both are built before loading: building a scheduler sets the lrs), loads both and checks
// that the next `more` epochs give the same lrs (and momenta).
template <class Make>
void expect_resume(const std::string& kind, Make make, int more) {
  CycleGroups a(kind, {0.1, 0.05});
  auto sa = make(*a.opt, 0.5);
  for (int i = 0; i < 5; ++i) sa->step();
  const nn::StateDict opt_state = a.opt->state_dict(), sched_state = sa->state_dict();
  CycleGroups b(kind, {0.7, 0.7});
  auto sb = make(*b.opt, 0.9);
  b.opt->load_state_dict(opt_state);
  sb->load_state_dict(sched_state);
  for (int i = 0; i < more; ++i) {
    sa->step();
    sb->step();
    EXPECT_EQ(sa->get_last_lr(), sb->get_last_lr()) << "epoch " << i;
    EXPECT_EQ(a.momenta(), b.momenta()) << "epoch " << i;
  }
}

TEST(LRScheduler, NewSchedulersResumeFromTheirStateDict) {
  expect_resume(
      "sgd",
      [](optim::Optimizer& o, double g) {
        return std::make_unique<optim::MultiStepLR>(o, std::vector<std::int64_t>{3, 6, 6}, g);
      },
      8);
  expect_resume(
      "sgd", [](optim::Optimizer& o, double g) { return std::make_unique<optim::ExponentialLR>(o, g); }, 8);
  expect_resume(
      "sgd",
      [](optim::Optimizer& o, double f) {
        return std::make_unique<optim::LinearLR>(o, optim::LinearLROptions().start_factor(f * 0.2).total_iters(8));
      },
      6);
  for (const std::string kind : {"sgd", "adam"}) {
    expect_resume(
        kind,
        [](optim::Optimizer& o, double f) {
          return std::make_unique<optim::OneCycleLR>(
              o, optim::OneCycleLROptions({f, f * 2}).total_steps(f < 0.6 ? 14 : 40).three_phase(f < 0.6));
        },
        9);
  }
}

TEST(SequentialLR, StateDictResumesChildrenAndReportsProblems) {
  auto build = [](Groups& g, double f) {
    std::vector<std::shared_ptr<optim::LRScheduler>> children{
        std::make_shared<optim::LinearLR>(*g.opt, optim::LinearLROptions().start_factor(f).total_iters(3)),
        std::make_shared<optim::CosineAnnealingLR>(*g.opt, 6)};
    return std::make_unique<optim::SequentialLR>(*g.opt, children, std::vector<std::int64_t>{3});
  };
  Groups a({0.1});
  auto sa = build(a, 0.1);
  for (int i = 0; i < 5; ++i) sa->step();
  const nn::StateDict saved = sa->state_dict();
  EXPECT_EQ(saved[0].first, "last_epoch");
  EXPECT_EQ(saved[3].first, "_schedulers.0.base_lrs");
  Groups b({0.1});
  auto sb = build(b, 0.5);
  b.opt->load_state_dict(a.opt->state_dict());
  sb->load_state_dict(saved);
  EXPECT_EQ(sb->last_epoch(), 5);
  for (int i = 0; i < 6; ++i) {
    sa->step();
    sb->step();
    EXPECT_EQ(sa->get_last_lr(), sb->get_last_lr());
  }
  nn::StateDict bad = saved;
  bad.emplace_back("_schedulers.1.verbose", scalar_tensor(0.0, kFloat64));
  const nn::StateDict before = sb->state_dict();
  EXPECT_ERROR_CONTAINS(sb->load_state_dict(bad),
                        "CosineAnnealingLR: error(s) in loading the state dict: "
                        "unexpected key \"verbose\"");
  EXPECT_EQ(sb->state_dict()[3].second.item<double>(), before[3].second.item<double>());
  nn::StateDict nan_epoch = saved;
  for (auto& [k, v] : nan_epoch) {
    if (k == "last_epoch") v = scalar_tensor(std::nan(""), kFloat64);
  }
  EXPECT_ERROR_CONTAINS(sb->load_state_dict(nan_epoch),
                        "\"last_epoch\" must be a whole number of at least 0, but is nan");
}

TEST(SequentialLR, AChildThatThrowsLeavesTheEpochAsItWas) {
  // The second child's restart at milestone 2 calls its lr_lambda(0), which throws while `fail` is set:
  // SequentialLR, the child and the lrs stay at epoch 1; the next step restarts it as usual.
  Groups g({0.1});
  bool fail = false;
  auto first = std::make_shared<optim::StepLR>(*g.opt, 1, 0.5);
  auto second = std::make_shared<optim::LambdaLR>(*g.opt, [&fail](std::int64_t e) {
    VOXGRAD_CHECK(!fail, "lr_lambda: failing at epoch {}", e);
    return 2.0;
  });
  optim::SequentialLR seq(*g.opt, {first, second}, {2});
  seq.step();
  const std::vector<double> lrs = g.lrs();
  fail = true;
  EXPECT_ERROR_EQ(seq.step(), "lr_lambda: failing at epoch 0");
  EXPECT_EQ(seq.last_epoch(), 1);
  EXPECT_EQ(second->last_epoch(), -1);
  EXPECT_EQ(g.lrs(), lrs);
  fail = false;
  seq.step();
  EXPECT_EQ(seq.last_epoch(), 2);
  EXPECT_EQ(second->last_epoch(), 0);
  EXPECT_EQ(g.lrs(), (std::vector<double>{0.2}));
}

TEST(SequentialLR, InvalidArguments) {
  Groups s({0.1}), other({0.1});
  auto lin = std::make_shared<optim::LinearLR>(*s.opt);
  auto foreign = std::make_shared<optim::ExponentialLR>(*other.opt, 0.9);
  EXPECT_ERROR_EQ(optim::SequentialLR(*s.opt, {lin, foreign}, {2}),
                  "SequentialLR: Sequential Schedulers expects all schedulers to belong to the same optimizer, but "
                  "got schedulers at index 1 to be different than the optimizer passed in.");
  EXPECT_ERROR_EQ(optim::SequentialLR(*s.opt, {lin}, {2}),
                  "SequentialLR: Sequential Schedulers expects number of schedulers provided to be one more than the "
                  "number of milestone points, but got number of schedulers 1 and the number of milestones to be "
                  "equal to 1");
}

TEST(NewSchedulers, InvalidArguments) {
  Groups s({0.1});
  EXPECT_ERROR_EQ(optim::LinearLR(*s.opt, optim::LinearLROptions().start_factor(0.0)),
                  "LinearLR: Starting multiplicative factor expected to be greater than 0 and less or equal to 1, "
                  "but got start_factor=0");
  EXPECT_ERROR_EQ(optim::LinearLR(*s.opt, optim::LinearLROptions().end_factor(1.5)),
                  "LinearLR: Ending multiplicative factor expected to be between 0 and 1, but got end_factor=1.5");
  EXPECT_ERROR_EQ(optim::LinearLR(*s.opt, optim::LinearLROptions().total_iters(0)),
                  "LinearLR: total_iters must be positive, but got 0");
  EXPECT_ERROR_EQ(optim::MultiStepLR(*s.opt, {3, -1}),
                  "MultiStepLR: milestones must be non-negative epochs, but got -1");
  EXPECT_ERROR_EQ(optim::OneCycleLR(*s.opt, optim::OneCycleLROptions(1.0)),
                  "OneCycleLR: You must define either total_steps OR (epochs AND steps_per_epoch)");
  EXPECT_ERROR_EQ(optim::OneCycleLR(*s.opt, optim::OneCycleLROptions(1.0).total_steps(0)),
                  "OneCycleLR: Expected positive integer total_steps, but got 0");
  EXPECT_ERROR_EQ(optim::OneCycleLR(*s.opt, optim::OneCycleLROptions(1.0).epochs(2).steps_per_epoch(-3)),
                  "OneCycleLR: Expected positive integer steps_per_epoch, but got -3");
  EXPECT_ERROR_EQ(optim::OneCycleLR(*s.opt, optim::OneCycleLROptions(1.0).total_steps(9).pct_start(1.5)),
                  "OneCycleLR: Expected float between 0 and 1 pct_start, but got 1.5");
  EXPECT_ERROR_EQ(optim::OneCycleLR(*s.opt, optim::OneCycleLROptions({1.0, 2.0}).total_steps(9)),
                  "OneCycleLR: expected 1 values for max_lr, got 2");
  // A phase of no steps (PyTorch divides by zero): pct_start · total_steps = 1 at the first step, or
  // pct_start 1 at the last; and zero div factors.
  EXPECT_ERROR_EQ(optim::OneCycleLR(*s.opt, optim::OneCycleLROptions(1.0).total_steps(10).pct_start(0.1)),
                  "OneCycleLR: phase 1 of the schedule has no steps at step 0 (pct_start 0.1, total_steps 10)");
  EXPECT_ERROR_EQ(
      optim::OneCycleLR(*s.opt, optim::OneCycleLROptions(1.0).total_steps(20).pct_start(0.05).three_phase(true)),
      "OneCycleLR: phase 1 of the schedule has no steps at step 0 (pct_start 0.05, total_steps 20)");
  {
    CycleGroups t("sgd", {0.1});
    optim::OneCycleLR full(*t.opt, optim::OneCycleLROptions(1.0).total_steps(4).pct_start(1.0));
    for (int i = 0; i < 3; ++i) full.step();
    EXPECT_ERROR_EQ(full.step(),
                    "OneCycleLR: phase 2 of the schedule has no steps at step 4 (pct_start 1, total_steps 4)");
    EXPECT_EQ(full.last_epoch(), 3);  // the step that cannot be taken is not counted
    // The constructor's rule holds for a loaded state too, before anything changes.
    const nn::StateDict before = full.state_dict();
    nn::StateDict bad = before;
    for (auto& [key, value] : bad) {
      if (key == "pct_start") value = scalar_tensor(0.1, kFloat64);
      if (key == "total_steps") value = scalar_tensor(10.0, kFloat64);
    }
    EXPECT_ERROR_EQ(full.load_state_dict(bad),
                    "OneCycleLR: error(s) in loading the state dict: phase 1 of the schedule has no steps at step 0 "
                    "(pct_start 0.1, total_steps 10)");
    EXPECT_EQ(full.state_dict()[0].second.item<double>(), before[0].second.item<double>());
    EXPECT_EQ(full.total_steps(), 4);
  }
  EXPECT_ERROR_EQ(optim::OneCycleLR(*s.opt, optim::OneCycleLROptions(1.0).total_steps(9).div_factor(0)),
                  "OneCycleLR: div_factor and final_div_factor must not be 0, but got 0 and 10000");
  {
    // Refused before the groups' lrs and momentum change (initial_lr is recorded first, as PyTorch's
    // setdefault does).
    CycleGroups t("sgd", {0.1});
    EXPECT_THROW(optim::OneCycleLR(*t.opt, optim::OneCycleLROptions(1.0).total_steps(10).pct_start(0.1)), Error);
    EXPECT_EQ(t.opt->param_groups()[0].options().get_lr(), 0.1);
    EXPECT_EQ(static_cast<const optim::SGDOptions&>(t.opt->param_groups()[0].options()).momentum(), 0.9);
  }
  CycleGroups ada("adagrad", {0.1});
  EXPECT_ERROR_EQ(optim::OneCycleLR(*ada.opt, optim::OneCycleLROptions(1.0).total_steps(9)),
                  "OneCycleLR: optimizer must support momentum with `cycle_momentum` option enabled (AdagradOptions "
                  "has neither momentum nor betas)");
}

TEST(LRScheduler, LaterSchedulersStartFromTheInitialLr) {
  // As PyTorch's group["initial_lr"]: the warm-up scaled the lr, the second scheduler's base is the original.
  Groups s({0.4});
  optim::LinearLR warm(*s.opt, optim::LinearLROptions().start_factor(0.25));
  EXPECT_EQ(s.lrs()[0], 0.1);
  optim::CosineAnnealingLR cos(*s.opt, 10);
  EXPECT_EQ(cos.base_lrs(), std::vector<double>{0.4});
}

TEST(ReduceLROnPlateau, InvalidOptions) {
  Groups s({0.1, 0.2});
  EXPECT_ERROR_EQ(optim::ReduceLROnPlateau(*s.opt, optim::ReduceLROnPlateauOptions().factor(1.0)),
                  "ReduceLROnPlateau: factor should be < 1.0 (got 1)");
  EXPECT_ERROR_EQ(optim::ReduceLROnPlateau(*s.opt, optim::ReduceLROnPlateauOptions().min_lr({0.1, 0.2, 0.3})),
                  "ReduceLROnPlateau: expected 2 min_lrs (or one), got 3");
  EXPECT_ERROR_EQ(optim::ReduceLROnPlateau(*s.opt, optim::ReduceLROnPlateauOptions().patience(-1)),
                  "ReduceLROnPlateau: patience must be non-negative (got -1)");
}

}  // namespace
