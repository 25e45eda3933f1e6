// StepLR, CosineAnnealingLR and ReduceLROnPlateau against the learning rates PyTorch 1.13 prints
// (tests/fixtures/optim/schedulers.json, from tests/fixtures/optim/generate.py): the recursive
// forms are evaluated as PyTorch does, so the lrs must match bit for bit.

#include <cmath>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "json_fixture.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::testing;
using nlohmann::json;

const json& fixture() {
  static const json j = load_fixture("optim/schedulers.json");
  return j;
}

/// An SGD optimizer with one single-parameter group per lr.
struct Groups {
  std::vector<Tensor> params;
  std::unique_ptr<optim::SGD> opt;
  explicit Groups(const std::vector<double>& lrs) {
    std::vector<optim::OptimizerParamGroup> groups;
    for (double lr : lrs) {
      params.push_back(zeros({1}).requires_grad_());
      groups.emplace_back(std::vector<Tensor>{params.back()}, optim::SGDOptions(lr));
    }
    opt = std::make_unique<optim::SGD>(groups, optim::SGDOptions(lrs[0]));
  }
  std::vector<double> lrs() const {
    std::vector<double> v;
    for (const auto& g : opt->param_groups()) v.push_back(g.options().get_lr());
    return v;
  }
};

std::unique_ptr<optim::LRScheduler> make_epoch_scheduler(const json& c, optim::Optimizer& opt) {
  const json& o = c["options"];
  if (c["scheduler"] == "StepLR") return std::make_unique<optim::StepLR>(opt, o["step_size"], o["gamma"]);
  return std::make_unique<optim::CosineAnnealingLR>(opt, o["T_max"], o["eta_min"]);
}

optim::ReduceLROnPlateauOptions plateau_options(const json& o) {
  optim::ReduceLROnPlateauOptions r;
  if (o.contains("mode"))
    r.mode(o["mode"] == "max" ? optim::ReduceLROnPlateauOptions::Max : optim::ReduceLROnPlateauOptions::Min);
  if (o.contains("threshold_mode"))
    r.threshold_mode(o["threshold_mode"] == "abs" ? optim::ReduceLROnPlateauOptions::Abs
                                                  : optim::ReduceLROnPlateauOptions::Rel);
  if (o.contains("factor")) r.factor(o["factor"]);
  if (o.contains("patience")) r.patience(o["patience"]);
  if (o.contains("threshold")) r.threshold(o["threshold"]);
  if (o.contains("cooldown")) r.cooldown(o["cooldown"]);
  if (o.contains("eps")) r.eps(o["eps"]);
  if (o.contains("min_lr")) {
    r.min_lr(o["min_lr"].is_array() ? o["min_lr"].get<std::vector<double>>()
                                    : std::vector<double>{o["min_lr"].get<double>()});
  }
  return r;
}

class SchedulerFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(SchedulerFixture, LearningRatesMatchPyTorchBitForBit) {
  const json* found = nullptr;
  for (const json& c : fixture()["cases"]) {
    if (c["name"] == GetParam()) found = &c;
  }
  ASSERT_NE(found, nullptr);
  const json& c = *found;
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

// No cases (an unreadable file) instantiate nothing; SchedulerFixtureFile.HasEveryScheduler reports the problem.
INSTANTIATE_TEST_SUITE_P(PyTorch, SchedulerFixture, ::testing::ValuesIn(fixture_case_names(fixture)), name_from_param);

TEST(SchedulerFixtureFile, HasEveryScheduler) {
  std::map<std::string, int> n;
  for (const json& c : fixture()["cases"]) ++n[c["scheduler"].get<std::string>()];
  EXPECT_GE(n["StepLR"], 2);
  EXPECT_GE(n["CosineAnnealingLR"], 3);
  EXPECT_GE(n["ReduceLROnPlateau"], 5);
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
