// CyclicLR, ChainedScheduler and ReduceLROnPlateau's state dict: against PyTorch 1.13 (the lrs, the
// momenta and the state dicts of tests/fixtures/optim/schedulers.json, bit for bit; the state dicts
// PyTorch wrote, loaded into schedulers built otherwise, resume as PyTorch's do), then the argument
// checks, the state-dict checks and what a throwing step leaves.

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
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

const json* find_case(const std::string& name) {
  for (const json& c : fixture()["cases"]) {
    if (c["name"] == name) return &c;
  }
  return nullptr;
}

optim::CyclicLROptions cyclic_options(const json& o) {
  optim::CyclicLROptions r(per_group(o["base_lr"]), per_group(o["max_lr"]));
  if (o.contains("step_size_up")) r.step_size_up(o["step_size_up"].get<std::int64_t>());
  if (o.contains("step_size_down")) r.step_size_down(o["step_size_down"].get<std::int64_t>());
  if (o.contains("mode")) {
    const std::string m = o["mode"];
    r.mode(m == "triangular2" ? optim::CyclicLROptions::Triangular2
           : m == "exp_range" ? optim::CyclicLROptions::ExpRange
                              : optim::CyclicLROptions::Triangular);
  }
  if (o.contains("gamma")) r.gamma(o["gamma"]);
  if (o.contains("scale_fn")) r.scale_fn(scale_fn_by_name(o["scale_fn"]));
  if (o.contains("scale_mode")) {
    r.scale_mode(o["scale_mode"] == "iterations" ? optim::CyclicLROptions::Iterations : optim::CyclicLROptions::Cycle);
  }
  if (o.contains("cycle_momentum")) r.cycle_momentum(o["cycle_momentum"]);
  if (o.contains("base_momentum")) r.base_momentum(per_group(o["base_momentum"]));
  if (o.contains("max_momentum")) r.max_momentum(per_group(o["max_momentum"]));
  if (o.contains("last_epoch")) r.last_epoch(o["last_epoch"].get<std::int64_t>());
  return r;
}

// The schedulers a ChainedScheduler case chains (the kinds generate.py uses).
std::shared_ptr<optim::LRScheduler> make_child(const json& k, optim::Optimizer& opt) {
  const std::string kind = k["scheduler"];
  const json& o = k["options"];
  if (kind == "ConstantLR") {
    return std::make_shared<optim::ConstantLR>(
        opt, optim::ConstantLROptions().factor(o["factor"]).total_iters(o["total_iters"].get<std::int64_t>()));
  }
  if (kind == "ExponentialLR") return std::make_shared<optim::ExponentialLR>(opt, o["gamma"]);
  if (kind == "LinearLR") {
    return std::make_shared<optim::LinearLR>(
        opt,
        optim::LinearLROptions().start_factor(o["start_factor"]).total_iters(o["total_iters"].get<std::int64_t>()));
  }
  if (kind == "CosineAnnealingLR") return std::make_shared<optim::CosineAnnealingLR>(opt, o["T_max"]);
  if (kind == "MultiStepLR") return std::make_shared<optim::MultiStepLR>(opt, o["milestones"], o["gamma"]);
  if (kind == "LambdaLR") return std::make_shared<optim::LambdaLR>(opt, lr_lambda_by_name(o["lr_lambda"]));
  if (kind == "PolynomialLR") {
    return std::make_shared<optim::PolynomialLR>(
        opt, optim::PolynomialLROptions().total_iters(o["total_iters"].get<std::int64_t>()).power(o["power"]));
  }
  if (kind == "CosineAnnealingWarmRestarts") {
    return std::make_shared<optim::CosineAnnealingWarmRestarts>(opt, o["T_0"].get<std::int64_t>(),
                                                                o["T_mult"].get<std::int64_t>(), o["eta_min"]);
  }
  if (kind == "CyclicLR") return std::make_shared<optim::CyclicLR>(opt, cyclic_options(o));
  if (kind == "StepLR") return std::make_shared<optim::StepLR>(opt, o["step_size"], o["gamma"]);
  ADD_FAILURE() << "unknown scheduler " << kind;
  return nullptr;
}

std::unique_ptr<optim::ChainedScheduler> make_chain(const json& children, optim::Optimizer& opt) {
  std::vector<std::shared_ptr<optim::LRScheduler>> made;
  for (const json& k : children) made.push_back(make_child(k, opt));
  return std::make_unique<optim::ChainedScheduler>(made);
}

void check_cyclic_case(const json& c) {
  const auto lrs = c["lrs"].get<std::vector<double>>();
  CycleGroups s(c["optimizer"], lrs);
  s.momentum_key = "momentum";  // the fixture's: CyclicLR sets no other (Adam's β1 stays)
  if (c.contains("error")) {
    EXPECT_ERROR_CONTAINS(optim::CyclicLR(*s.opt, cyclic_options(c["options"])),
                          "CyclicLR: " + c["error"].get<std::string>());
    return;
  }
  if (!c["initial_lr"].is_null()) {
    const auto initial = c["initial_lr"].get<std::vector<double>>();
    for (std::size_t g = 0; g < initial.size(); ++g) s.opt->param_groups()[g].set_initial_lr(initial[g]);
  }
  optim::CyclicLR sched(*s.opt, cyclic_options(c["options"]));
  const json& expected = c["expected"];
  const json& momentum = c["momentum"];
  EXPECT_EQ(sched.get_last_lr(), expected[0].get<std::vector<double>>());
  EXPECT_EQ(s.momenta(), momentum[0].get<std::vector<double>>());
  for (int e = 1; e <= c["epochs"].get<int>(); ++e) {
    s.opt->step();
    sched.step();
    EXPECT_EQ(sched.get_last_lr(), expected[e].get<std::vector<double>>()) << "step " << e;
    EXPECT_EQ(s.lrs(), sched.get_last_lr()) << "step " << e;
    EXPECT_EQ(s.momenta(), momentum[e].get<std::vector<double>>()) << "step " << e;
  }
  EXPECT_EQ(flat(sched.state_dict()), flat(state_from_fixture(c["state_dict"])));
  if (!c.contains("resume_options")) return;
  // PyTorch's state dict (as the fixture writes it), loaded into a CyclicLR built otherwise.
  CycleGroups t(c["optimizer"], std::vector<double>(lrs.size(), 0.5));
  t.momentum_key = "momentum";
  optim::CyclicLR loaded(*t.opt, cyclic_options(c["resume_options"]));
  t.opt->load_state_dict(s.opt->state_dict());
  loaded.load_state_dict(state_from_fixture(c["state_dict"]));
  for (std::size_t i = 0; i < c["resumed"].size(); ++i) {
    t.opt->step();
    loaded.step();
    EXPECT_EQ(loaded.get_last_lr(), c["resumed"][i].get<std::vector<double>>()) << "resumed step " << i;
    EXPECT_EQ(t.momenta(), c["resumed_momentum"][i].get<std::vector<double>>()) << "resumed step " << i;
  }
}

void check_chained_case(const json& c) {
  const auto lrs = c["lrs"].get<std::vector<double>>();
  Groups s(lrs);
  auto sched = make_chain(c["children"], *s.opt);
  const json& expected = c["expected"];
  EXPECT_EQ(sched->get_last_lr(), expected[0].get<std::vector<double>>());
  for (int e = 1; e <= c["epochs"].get<int>(); ++e) {
    s.opt->step();
    sched->step();
    EXPECT_EQ(sched->get_last_lr(), expected[e].get<std::vector<double>>()) << "epoch " << e;
    EXPECT_EQ(s.lrs(), sched->get_last_lr()) << "epoch " << e;
  }
  FlatState ours = flat(sched->state_dict()), theirs = flat(state_from_fixture(c["state_dict"]));
  for (std::size_t i = 0; i < c["children"].size(); ++i) {
    // PyTorch 1.13's CosineAnnealingWarmRestarts.step() never counts its steps (its _step_count stays 0);
    // voxgrad's counts them as every scheduler's does (only warnings read it in PyTorch).
    const std::string count = fmt::format("_schedulers.{}._step_count", i);
    if (c["children"][i]["scheduler"] == "CosineAnnealingWarmRestarts" && theirs.count(count)) {
      EXPECT_EQ(theirs[count].second, std::vector<double>{0.0});
      theirs[count] = ours[count];
    }
  }
  EXPECT_EQ(ours, theirs);
  if (!c.contains("resume_children")) return;
  Groups t(std::vector<double>(lrs.size(), 0.5));
  auto loaded = make_chain(c["resume_children"], *t.opt);
  t.opt->load_state_dict(s.opt->state_dict());
  loaded->load_state_dict(state_from_fixture(c["state_dict"]));
  for (std::size_t i = 0; i < c["resumed"].size(); ++i) {
    t.opt->step();
    loaded->step();
    EXPECT_EQ(loaded->get_last_lr(), c["resumed"][i].get<std::vector<double>>()) << "resumed epoch " << i;
  }
}

void check_plateau_state_case(const json& c) {
  const auto lrs = c["lrs"].get<std::vector<double>>();
  Groups s(lrs);
  optim::ReduceLROnPlateau sched(*s.opt, plateau_options(c["options"]));
  for (const json& m : c["metrics"]) sched.step(m.get<double>());
  EXPECT_EQ(s.lrs(), c["expected"].back().get<std::vector<double>>());
  EXPECT_EQ(flat(sched.state_dict()), flat(state_from_fixture(c["state_dict"])));
  Groups t(std::vector<double>(lrs.size(), 0.5));
  optim::ReduceLROnPlateau loaded(*t.opt, plateau_options(c["resume_options"]));
  t.opt->load_state_dict(s.opt->state_dict());
  loaded.load_state_dict(state_from_fixture(c["state_dict"]));
  for (std::size_t i = 0; i < c["resume_metrics"].size(); ++i) {
    loaded.step(c["resume_metrics"][i].get<double>());
    EXPECT_EQ(t.lrs(), c["resumed"][i].get<std::vector<double>>()) << "resumed metric " << i;
  }
}

class CyclicChainedFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(CyclicChainedFixture, MatchesPyTorchBitForBit) {
  const json* c = find_case(GetParam());
  ASSERT_NE(c, nullptr);
  if ((*c)["scheduler"] == "CyclicLR") return check_cyclic_case(*c);
  if ((*c)["scheduler"] == "ChainedScheduler") return check_chained_case(*c);
  check_plateau_state_case(*c);
}

// The CyclicLR and ChainedScheduler cases, and the ReduceLROnPlateau cases with a state dict (their lrs
// test_schedulers.cpp checks too). An unreadable file instantiates nothing; HasTheirCases reports it.
std::vector<std::string> case_names() {
  std::vector<std::string> names;
  try {
    for (const json& c : fixture()["cases"]) {
      if (c["scheduler"] == "CyclicLR" || c["scheduler"] == "ChainedScheduler" || c.contains("state_dict"))
        names.push_back(c["name"]);
    }
  } catch (const std::exception&) {
  }
  return names;
}

INSTANTIATE_TEST_SUITE_P(PyTorch, CyclicChainedFixture, ::testing::ValuesIn(case_names()), name_from_param);

TEST(CyclicChainedFixtureFile, HasTheirCases) {
  std::map<std::string, int> n;
  for (const json& c : fixture()["cases"]) {
    if (c.contains("state_dict")) ++n[c["scheduler"].get<std::string>() + " state"];
    if (c.contains("resumed")) ++n[c["scheduler"].get<std::string>() + " resumed"];
    if (c.contains("error")) ++n[c["scheduler"].get<std::string>() + " error"];
  }
  const std::map<std::string, int> least{{"CyclicLR state", 11},          {"CyclicLR resumed", 4},
                                         {"CyclicLR error", 1},           {"ChainedScheduler state", 5},
                                         {"ChainedScheduler resumed", 3}, {"ReduceLROnPlateau state", 2},
                                         {"ReduceLROnPlateau resumed", 2}};
  for (const auto& [what, count] : least) EXPECT_GE(n[what], count) << what;
}

// =================================================================================================
// CyclicLR
// =================================================================================================

// Each group's lr, momentum and initial_lr.
struct GroupState {
  std::vector<double> lrs, momenta;
  std::vector<std::optional<double>> initial;
  explicit GroupState(const CycleGroups& s) : lrs(s.lrs()), momenta(s.momenta()) {
    for (const auto& g : s.opt->param_groups()) initial.push_back(g.initial_lr());
  }
  bool operator==(const GroupState&) const = default;
};

TEST(CyclicLR, InvalidArgumentsNameTheArgumentAndTheValueAndLeaveTheGroupsAlone) {
  CycleGroups s("sgd", {0.1, 0.2});
  const GroupState before(s);
  using O = optim::CyclicLROptions;
  EXPECT_ERROR_EQ(optim::CyclicLR(*s.opt, O({0.1, 0.2, 0.3}, {1.0})), "CyclicLR: expected 2 values for base_lr, got 3");
  EXPECT_ERROR_EQ(optim::CyclicLR(*s.opt, O({0.1}, {1.0, 2.0, 3.0})), "CyclicLR: expected 2 values for max_lr, got 3");
  EXPECT_ERROR_EQ(optim::CyclicLR(*s.opt, O(0.1, 1.0).step_size_up(0)),
                  "CyclicLR: step_size_up must be positive (PyTorch divides by zero at 0), but got 0");
  EXPECT_ERROR_EQ(optim::CyclicLR(*s.opt, O(0.1, 1.0).step_size_down(-1)),
                  "CyclicLR: step_size_down must be non-negative, but got -1");
  EXPECT_ERROR_EQ(optim::CyclicLR(*s.opt, O(0.1, 1.0).base_momentum({0.8, 0.7, 0.6})),
                  "CyclicLR: expected 2 values for base_momentum, got 3");
  EXPECT_ERROR_EQ(optim::CyclicLR(*s.opt, O(0.1, 1.0).max_momentum({0.9, 0.9, 0.9})),
                  "CyclicLR: expected 2 values for max_momentum, got 3");
  EXPECT_ERROR_EQ(optim::CyclicLR(*s.opt, O(0.1, 1.0).last_epoch(-2)),
                  "CyclicLR: last_epoch must be at least -1 and below 2^62, but got -2");
  EXPECT_ERROR_EQ(optim::CyclicLR(*s.opt, O(0.1, 1.0).last_epoch(std::int64_t{1} << 62)),
                  "CyclicLR: last_epoch must be at least -1 and below 2^62, but got 4611686018427387904");
  // 3 is the one value outside the modes that Mode can hold (any other would be undefined behaviour).
  EXPECT_ERROR_EQ(optim::CyclicLR(*s.opt, O(0.1, 1.0).mode(static_cast<O::Mode>(3))),
                  "CyclicLR: mode must be Triangular, Triangular2 or ExpRange, but got 3");
  EXPECT_ERROR_EQ(optim::CyclicLR(*s.opt, O(0.1, 1.0).last_epoch(3)),
                  "CyclicLR: param 'initial_lr' is not specified in param_groups[0] when resuming an optimizer "
                  "(last_epoch 3: a scheduler created earlier on this optimizer sets it, or "
                  "OptimizerParamGroup::set_initial_lr)");
  EXPECT_TRUE(GroupState(s) == before);
  s.opt->param_groups()[0].set_initial_lr(0.05);
  EXPECT_ERROR_CONTAINS(optim::CyclicLR(*s.opt, O(0.1, 1.0).last_epoch(3)), "in param_groups[1] when resuming");
  for (const std::string kind : {"adam", "adagrad"}) {
    CycleGroups t(kind, {0.1});
    const GroupState untouched(t);
    EXPECT_ERROR_EQ(optim::CyclicLR(*t.opt, O(0.01, 0.1)),
                    fmt::format("CyclicLR: optimizer must support momentum with `cycle_momentum` option enabled ({} "
                                "has no momentum; PyTorch 1.13's CyclicLR does not cycle betas: pass "
                                "cycle_momentum(false))",
                                kind == "adam" ? "AdamOptions" : "AdagradOptions"));
    EXPECT_TRUE(GroupState(t) == untouched);
    optim::CyclicLR without_momentum(*t.opt, O(0.01, 0.1).cycle_momentum(false));  // accepted
    EXPECT_EQ(t.lrs(), std::vector<double>{0.01});
  }
}

TEST(CyclicLR, EveryGroupMustHaveAMomentumToCycle) {
  // A group may carry options of its own (here Adam's, without "momentum"): refused before any changes.
  CycleGroups s("sgd", {0.1, 0.2});
  s.opt->param_groups()[1].set_options(std::make_unique<optim::AdamOptions>(0.2));
  const std::vector<double> lrs = s.lrs();
  EXPECT_ERROR_EQ(
      optim::CyclicLR(*s.opt, optim::CyclicLROptions(0.01, 0.1)),
      "CyclicLR: param_groups[1] has no momentum (its options are AdamOptions) with `cycle_momentum` option "
      "enabled");
  EXPECT_EQ(s.lrs(), lrs);
  EXPECT_EQ(s.opt->param_groups()[0].options().hyper_parameters().size(),
            optim::SGDOptions(0.1).hyper_parameters().size());
  EXPECT_FALSE(s.opt->param_groups()[0].initial_lr().has_value());
}

TEST(CyclicLR, SetsTheGroupsToBaseLrAndBaseMomentumAndRecordsInitialLr) {
  CycleGroups s("sgd", {0.7, 0.3});
  optim::CyclicLR sched(*s.opt, optim::CyclicLROptions({0.01, 0.02}, {0.1, 0.2}).base_momentum({0.85, 0.75}));
  EXPECT_EQ(s.lrs(), (std::vector<double>{0.01, 0.02}));
  EXPECT_EQ(s.momenta(), (std::vector<double>{0.9, 0.9}));  // max_momentum at the cycle's start
  EXPECT_EQ(sched.base_lrs(), (std::vector<double>{0.01, 0.02}));
  EXPECT_EQ(*s.opt->param_groups()[1].initial_lr(), 0.02);
  EXPECT_EQ(sched.last_epoch(), 0);
}

TEST(CyclicLR, AScaleFnThatThrowsAtTheInitialStepLeavesTheGroupsAsTheyWere) {
  CycleGroups s("sgd", {0.7, 0.3});
  const GroupState before(s);
  const optim::CyclicScaleFn failing = [](std::int64_t x) -> double {
    VOXGRAD_CHECK(false, "scale_fn: failing at {}", x);
    return 1.0;
  };
  EXPECT_ERROR_EQ(optim::CyclicLR(*s.opt, optim::CyclicLROptions(0.01, 0.1).scale_fn(failing)),
                  "scale_fn: failing at 1");
  EXPECT_TRUE(GroupState(s) == before);
}

TEST(CyclicLR, AStepWhoseScaleFnThrowsChangesNothing) {
  CycleGroups s("sgd", {0.1});
  bool fail = false;
  optim::CyclicLR sched(*s.opt, optim::CyclicLROptions(0.01, 0.1).step_size_up(2).scale_fn([&fail](std::int64_t x) {
    VOXGRAD_CHECK(!fail, "scale_fn: failing at {}", x);
    return 1.0;
  }));
  sched.step();
  const GroupState before(s);
  const auto state = flat(sched.state_dict());
  fail = true;
  EXPECT_ERROR_EQ(sched.step(), "scale_fn: failing at 1");
  EXPECT_TRUE(GroupState(s) == before);
  EXPECT_EQ(flat(sched.state_dict()), state);
  fail = false;
  sched.step();
  EXPECT_EQ(sched.last_epoch(), 2);
  EXPECT_EQ(s.lrs(), std::vector<double>{0.1});
}

TEST(CyclicLR, ExpRangeOverflowThrowsAsPythonAndTriangular2GoesOnPastCycle1024) {
  CycleGroups s("sgd_plain", {0.1});
  optim::CyclicLR grow(*s.opt, optim::CyclicLROptions(0.01, 0.1)
                                   .step_size_up(1)
                                   .mode(optim::CyclicLROptions::ExpRange)
                                   .gamma(2.0)
                                   .cycle_momentum(false));
  nn::StateDict at = with(with(grow.state_dict(), "last_epoch", 1022), "_step_count", 1023);
  grow.load_state_dict(at);
  grow.step();  // the peak of cycle 512: 2 ** 1023 is finite
  EXPECT_EQ(s.lrs(), std::vector<double>{0.01 + (0.1 - 0.01) * 1.0 * 0x1p1023});
  const auto state = flat(grow.state_dict());
  const std::vector<double> lrs = s.lrs(), last = grow.get_last_lr();
  EXPECT_ERROR_EQ(grow.step(), "CyclicLR: gamma ** 1024 overflows (gamma 2; PyTorch raises OverflowError)");
  EXPECT_EQ(grow.last_epoch(), 1023);  // nothing moved
  EXPECT_EQ(flat(grow.state_dict()), state);
  EXPECT_EQ(s.lrs(), lrs);
  EXPECT_EQ(grow.get_last_lr(), last);
  // Triangular2 halves the height every cycle: after cycle 1024 (where Python's 2. ** 1024 raises) the
  // lr is base_lr plus a height too small to change it.
  CycleGroups t("sgd_plain", {0.1});
  optim::CyclicLR halve(*t.opt, optim::CyclicLROptions(0.01, 0.1).step_size_up(1).step_size_down(1).mode(
                                    optim::CyclicLROptions::Triangular2));
  halve.load_state_dict(with(halve.state_dict(), "last_epoch", 2 * 1030));
  halve.step();  // the peak of cycle 1031
  EXPECT_EQ(t.lrs(), std::vector<double>{0.01});
  EXPECT_EQ(t.momenta(), std::vector<double>{0.9});
}

TEST(CyclicLR, StateDictKeysArePyTorchNames) {
  CycleGroups s("sgd", {0.1, 0.2});
  optim::CyclicLR sched(*s.opt, optim::CyclicLROptions(0.01, 0.1));
  EXPECT_EQ(keys(sched.state_dict()),
            (std::vector<std::string>{"base_lrs", "last_epoch", "_step_count", "_last_lr", "max_lrs.0", "max_lrs.1",
                                      "total_size", "step_ratio", "mode", "gamma", "scale_mode", "cycle_momentum",
                                      "base_momentums.0", "base_momentums.1", "max_momentums.0", "max_momentums.1"}));
  CycleGroups t("adam", {0.1});
  optim::CyclicLR plain(*t.opt, optim::CyclicLROptions(0.01, 0.1).cycle_momentum(false));
  EXPECT_EQ(keys(plain.state_dict()),
            (std::vector<std::string>{"base_lrs", "last_epoch", "_step_count", "_last_lr", "max_lrs.0", "total_size",
                                      "step_ratio", "mode", "gamma", "scale_mode", "cycle_momentum"}));
}

TEST(CyclicLR, StateDictRoundTripResumesLrsAndMomenta) {
  auto make = [](optim::Optimizer& o, double k) {
    return std::make_unique<optim::CyclicLR>(
        o, optim::CyclicLROptions({0.01 * k, 0.02}, {0.1, 0.3 * k})
               .step_size_up(static_cast<std::int64_t>(3 * k))
               .step_size_down(static_cast<std::int64_t>(5 * k))
               .mode(k == 1 ? optim::CyclicLROptions::ExpRange : optim::CyclicLROptions::Triangular)
               .gamma(0.98 / k)
               .base_momentum({0.8 / k, 0.7})
               .max_momentum({0.95, 0.9 / k}));
  };
  CycleGroups a("sgd", {0.1, 0.1});
  auto sa = make(*a.opt, 1);
  for (int i = 0; i < 11; ++i) sa->step();
  CycleGroups b("sgd", {0.5, 0.5});
  auto sb = make(*b.opt, 2);
  b.opt->load_state_dict(a.opt->state_dict());
  sb->load_state_dict(sa->state_dict());
  EXPECT_EQ(flat(sb->state_dict()), flat(sa->state_dict()));
  for (int i = 0; i < 30; ++i) {
    sa->step();
    sb->step();
    EXPECT_EQ(sa->get_last_lr(), sb->get_last_lr()) << "step " << i;
    EXPECT_EQ(a.momenta(), b.momenta()) << "step " << i;
  }
}

TEST(CyclicLR, LoadStateDictRefusesBadValuesBeforeChangingAnything) {
  CycleGroups s("sgd", {0.1});
  optim::CyclicLR sched(*s.opt, optim::CyclicLROptions(0.01, 0.1).step_size_up(3));
  sched.step();
  const nn::StateDict before = sched.state_dict();
  const GroupState groups(s);
  nn::StateDict bad = with(with(with(before, "total_size", 0), "step_ratio", 1.5), "mode", 3);
  bad = with(with(with(bad, "scale_mode", 0.5), "last_epoch", 4), "cycle_momentum", 0);
  EXPECT_ERROR_EQ(
      sched.load_state_dict(bad),
      "CyclicLR: error(s) in loading the state dict: \"total_size\" must be finite and at least 1, but is 0; "
      "\"step_ratio\" must be in (0, 1], but is 1.5; \"mode\" must be 0 (triangular), 1 (triangular2) or "
      "2 (exp_range), but is 3; \"scale_mode\" must be 0 (cycle) or 1 (iterations), but is 0.5; "
      "\"cycle_momentum\" is 0, but this CyclicLR was built with cycle_momentum 1 (its momentum entries "
      "would not match)");
  EXPECT_ERROR_CONTAINS(sched.load_state_dict(with(before, "total_size", INFINITY)),
                        "\"total_size\" must be finite and at least 1, but is inf");
  // Below 1 (no constructor makes it) the cycle count of a late epoch would leave int64.
  EXPECT_ERROR_CONTAINS(sched.load_state_dict(with(before, "total_size", 0.5)),
                        "\"total_size\" must be finite and at least 1, but is 0.5");
  EXPECT_ERROR_CONTAINS(sched.load_state_dict(with(before, "step_ratio", 0)),
                        "\"step_ratio\" must be in (0, 1], but is 0");
  EXPECT_ERROR_EQ(sched.load_state_dict(without(before, "max_momentums.0")),
                  "CyclicLR: error(s) in loading the state dict: missing key \"max_momentums.0\"");
  EXPECT_EQ(flat(sched.state_dict()), flat(before));
  EXPECT_TRUE(GroupState(s) == groups);
}

TEST(CyclicLR, ResumesAtLastEpochFromTheGroupsInitialLrAndMomentum) {
  // PyTorch: last_epoch ≠ −1 leaves the lrs and momenta; base_momentums are the groups' momenta (0.9 here,
  // not base_momentum), and the initial step (to last_epoch + 1) uses the groups' initial_lr.
  CycleGroups s("sgd", {0.5});
  s.opt->param_groups()[0].set_initial_lr(0.04);
  optim::CyclicLR sched(*s.opt, optim::CyclicLROptions(0.01, 0.05).step_size_up(2).max_momentum({0.95}).last_epoch(4));
  EXPECT_EQ(sched.last_epoch(), 5);
  EXPECT_EQ(sched.base_lrs(), std::vector<double>{0.01});
  EXPECT_EQ(s.lrs(), std::vector<double>{0.04 + (0.05 - 0.04) * 0.5});
  EXPECT_EQ(s.momenta(), std::vector<double>{0.95 - (0.95 - 0.9) * 0.5});
}

TEST(CyclicLR, RunsInsideSequentialLR) {
  // Restarted at the milestone, it starts its cycle again (at base_lr).
  Groups s({0.1});
  auto warm = std::make_shared<optim::LinearLR>(*s.opt, optim::LinearLROptions().start_factor(0.5).total_iters(2));
  auto cyclic = std::make_shared<optim::CyclicLR>(
      *s.opt, optim::CyclicLROptions(0.02, 0.2).step_size_up(2).cycle_momentum(false));
  optim::SequentialLR seq(*s.opt, {warm, cyclic}, {3});
  std::vector<double> seen;
  for (int e = 0; e < 6; ++e) {
    seen.push_back(s.lrs()[0]);
    seq.step();
  }
  EXPECT_EQ(seen[3], 0.02);
  EXPECT_EQ(seen[4], 0.02 + (0.2 - 0.02) * 0.5);
  EXPECT_EQ(seen[5], 0.02 + (0.2 - 0.02));
}

// =================================================================================================
// ChainedScheduler
// =================================================================================================

TEST(ChainedScheduler, InvalidArguments) {
  Groups s({0.1}), other({0.1});
  auto exp = std::make_shared<optim::ExponentialLR>(*s.opt, 0.9);
  auto foreign = std::make_shared<optim::ExponentialLR>(*other.opt, 0.9);
  EXPECT_ERROR_EQ(optim::ChainedScheduler({}), "ChainedScheduler: expects at least one scheduler");
  EXPECT_ERROR_EQ(optim::ChainedScheduler({nullptr, exp}), "ChainedScheduler: the scheduler at index 0 is null");
  EXPECT_ERROR_EQ(optim::ChainedScheduler({exp, exp, nullptr}), "ChainedScheduler: the scheduler at index 2 is null");
  EXPECT_ERROR_EQ(optim::ChainedScheduler({exp, foreign}),
                  "ChainedScheduler: ChainedScheduler expects all schedulers to belong to the same optimizer, but got "
                  "schedulers at index 0 and 1 to be different");
}

TEST(ChainedScheduler, StepsNothingWhenMadeAndEachSchedulerOncePerStep) {
  Groups s({1.0});
  auto constant = std::make_shared<optim::ConstantLR>(*s.opt, optim::ConstantLROptions().factor(0.5).total_iters(2));
  auto exp = std::make_shared<optim::ExponentialLR>(*s.opt, 0.5);
  optim::ChainedScheduler chain({constant, exp});
  EXPECT_EQ(chain.get_last_lr(), std::vector<double>{0.5});
  EXPECT_EQ(constant->last_epoch(), 0);
  chain.step();
  chain.step();  // ConstantLR's warm-up ends: times 2, then ExponentialLR's 0.5
  EXPECT_EQ(constant->last_epoch(), 2);
  EXPECT_EQ(exp->last_epoch(), 2);
  EXPECT_EQ(chain.get_last_lr(), std::vector<double>{0.25});
}

TEST(ChainedScheduler, AStepInWhichASchedulerThrowsPutsEverythingBack) {
  // OneCycleLR refuses a step past total_steps after ExponentialLR stepped and wrote the lr: both
  // schedulers, the lr and the momentum OneCycleLR sets are as before the step.
  CycleGroups s("sgd", {0.1});
  auto exp = std::make_shared<optim::ExponentialLR>(*s.opt, 0.5);
  auto cycle = std::make_shared<optim::OneCycleLR>(*s.opt, optim::OneCycleLROptions(1.0).total_steps(3));
  optim::ChainedScheduler chain({exp, cycle});
  for (int i = 0; i < 3; ++i) chain.step();
  const GroupState groups(s);
  const auto state = flat(chain.state_dict());
  const std::vector<double> last = chain.get_last_lr();
  EXPECT_ERROR_EQ(chain.step(), "OneCycleLR: Tried to step 5 times. The specified number of total steps is 3");
  EXPECT_TRUE(GroupState(s) == groups);
  EXPECT_EQ(flat(chain.state_dict()), state);
  EXPECT_EQ(exp->last_epoch(), 3);
  EXPECT_EQ(chain.get_last_lr(), last);
}

TEST(ChainedScheduler, AThrowingStepPutsBackTheMomentumACyclicLRBeforeItSet) {
  CycleGroups s("sgd", {0.1});
  auto cyclic = std::make_shared<optim::CyclicLR>(*s.opt, optim::CyclicLROptions(0.01, 0.1).step_size_up(2));
  auto cycle =
      std::make_shared<optim::OneCycleLR>(*s.opt, optim::OneCycleLROptions(1.0).total_steps(2).cycle_momentum(false));
  optim::ChainedScheduler chain({cyclic, cycle});
  for (int i = 0; i < 2; ++i) chain.step();
  const GroupState groups(s);
  const auto state = flat(chain.state_dict());
  EXPECT_ERROR_CONTAINS(chain.step(), "OneCycleLR: Tried to step");
  EXPECT_TRUE(GroupState(s) == groups);  // CyclicLR had moved the lr and the momentum
  EXPECT_EQ(flat(chain.state_dict()), state);
  EXPECT_EQ(cyclic->last_epoch(), 2);
}

TEST(ChainedScheduler, StateDictKeysAndLoadingProblems) {
  Groups s({0.1, 0.2});
  auto build = [](Groups& g, double f) {
    return std::make_unique<optim::ChainedScheduler>(std::vector<std::shared_ptr<optim::LRScheduler>>{
        std::make_shared<optim::LinearLR>(*g.opt, optim::LinearLROptions().start_factor(f).total_iters(4)),
        std::make_shared<optim::ExponentialLR>(*g.opt, 0.9)});
  };
  auto chain = build(s, 0.25);
  for (int i = 0; i < 3; ++i) chain->step();
  const nn::StateDict saved = chain->state_dict();
  EXPECT_EQ(keys(saved),
            (std::vector<std::string>{"_last_lr", "_schedulers.0.base_lrs", "_schedulers.0.last_epoch",
                                      "_schedulers.0._step_count", "_schedulers.0._last_lr",
                                      "_schedulers.0.start_factor", "_schedulers.0.end_factor",
                                      "_schedulers.0.total_iters", "_schedulers.1.base_lrs", "_schedulers.1.last_epoch",
                                      "_schedulers.1._step_count", "_schedulers.1._last_lr", "_schedulers.1.gamma"}));
  Groups t({0.1, 0.2});
  auto other = build(t, 0.5);
  const auto before = flat(other->state_dict());
  nn::StateDict bad = saved;
  bad.emplace_back("last_epoch", scalar_tensor(3.0, kFloat64));  // PyTorch's ChainedScheduler has none
  bad.emplace_back("_schedulers.2.gamma", scalar_tensor(0.5, kFloat64));
  bad.emplace_back("_schedulers.1x.gamma", scalar_tensor(0.5, kFloat64));  // an index of digits only
  bad.emplace_back("_schedulers.+1.gamma", scalar_tensor(0.5, kFloat64));
  EXPECT_ERROR_EQ(other->load_state_dict(bad),
                  "ChainedScheduler: error(s) in loading the state dict: unexpected key \"_schedulers.+1.gamma\"; "
                  "unexpected key \"_schedulers.1x.gamma\"; unexpected key \"_schedulers.2.gamma\"; unexpected key "
                  "\"last_epoch\"");
  nn::StateDict short_last = without(saved, "_last_lr");
  short_last.emplace_back("_last_lr", tensor({0.1}, kFloat64));
  EXPECT_ERROR_EQ(other->load_state_dict(short_last),
                  "ChainedScheduler: error(s) in loading the state dict: \"_last_lr\" must have shape [2] (one value "
                  "per parameter group), but has shape [1]");
  // The second child refuses its entry: the first, already loaded, is put back.
  EXPECT_ERROR_EQ(other->load_state_dict(with(saved, "_schedulers.1.last_epoch", -5)),
                  "ChainedScheduler: error(s) in loading the state dict of a child scheduler: ExponentialLR: error(s) "
                  "in loading the state dict: \"last_epoch\" must be a whole number of at least -1, but is -5");
  EXPECT_EQ(flat(other->state_dict()), before);
  other->load_state_dict(saved);
  EXPECT_EQ(flat(other->state_dict()), flat(saved));
}

}  // namespace
