// ReduceLROnPlateau's state dict: PyTorch's keys with the options, loading them (checked as the
// constructor checks them), and the state dicts PyTorch itself writes. Its lrs against PyTorch are in
// test_schedulers.cpp; its fixture state dicts in test_schedulers_cyclic_chained.cpp.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "optim/scheduler_util.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::testing;

// =================================================================================================
// ReduceLROnPlateau's state dict
// =================================================================================================

TEST(ReduceLROnPlateau, StateDictHoldsTheOptionsUnderPyTorchsKeys) {
  Groups s({0.1, 0.2});
  optim::ReduceLROnPlateau sched(*s.opt, optim::ReduceLROnPlateauOptions()
                                             .mode(optim::ReduceLROnPlateauOptions::Max)
                                             .threshold_mode(optim::ReduceLROnPlateauOptions::Abs)
                                             .factor(0.5)
                                             .patience(3)
                                             .threshold(0.01)
                                             .cooldown(2)
                                             .min_lr({0.001, 0.002})
                                             .eps(1e-7));
  sched.step(1.0);
  const nn::StateDict d = sched.state_dict();
  EXPECT_EQ(keys(d), (std::vector<std::string>{"factor", "min_lrs", "patience", "cooldown", "cooldown_counter", "mode",
                                               "threshold", "threshold_mode", "best", "num_bad_epochs", "mode_worse",
                                               "eps", "last_epoch", "_last_lr"}));
  const FlatState f = flat(d);
  EXPECT_EQ(f.at("factor").second, std::vector<double>{0.5});
  EXPECT_EQ(f.at("min_lrs"), std::make_pair(true, std::vector<double>{0.001, 0.002}));
  EXPECT_EQ(f.at("patience").second, std::vector<double>{3});
  EXPECT_EQ(f.at("cooldown").second, std::vector<double>{2});
  EXPECT_EQ(f.at("mode").second, std::vector<double>{1});
  EXPECT_EQ(f.at("threshold").second, std::vector<double>{0.01});
  EXPECT_EQ(f.at("threshold_mode").second, std::vector<double>{1});
  EXPECT_EQ(f.at("best").second, std::vector<double>{1.0});
  EXPECT_EQ(f.at("mode_worse").second, std::vector<double>{-INFINITY});
  EXPECT_EQ(f.at("eps").second, std::vector<double>{1e-7});
}

TEST(ReduceLROnPlateau, LoadingRestoresTheOptions) {
  Groups a({0.1});
  const auto opts = optim::ReduceLROnPlateauOptions()
                        .mode(optim::ReduceLROnPlateauOptions::Max)
                        .threshold_mode(optim::ReduceLROnPlateauOptions::Abs)
                        .factor(0.5)
                        .patience(1)
                        .threshold(0.05)
                        .cooldown(1)
                        .min_lr({0.02})
                        .eps(1e-6);
  optim::ReduceLROnPlateau sa(*a.opt, opts);
  for (double m : {0.1, 0.2, 0.2}) sa.step(m);
  Groups b({0.1});
  optim::ReduceLROnPlateau sb(*b.opt);  // the defaults: min, rel, factor 0.1, patience 10, ...
  b.opt->load_state_dict(a.opt->state_dict());
  sb.load_state_dict(sa.state_dict());
  EXPECT_EQ(sb.options().mode(), optim::ReduceLROnPlateauOptions::Max);
  EXPECT_EQ(sb.options().threshold_mode(), optim::ReduceLROnPlateauOptions::Abs);
  EXPECT_EQ(sb.options().factor(), 0.5);
  EXPECT_EQ(sb.options().patience(), 1);
  EXPECT_EQ(sb.options().cooldown(), 1);
  EXPECT_EQ(sb.options().min_lr(), std::vector<double>{0.02});
  EXPECT_EQ(flat(sb.state_dict()), flat(sa.state_dict()));
  for (double m : {0.21, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3}) {
    sa.step(m);
    sb.step(m);
    EXPECT_EQ(a.lrs(), b.lrs());
    EXPECT_EQ(sa.best(), sb.best());
  }
  EXPECT_EQ(b.lrs(), std::vector<double>{0.02});
}

TEST(ReduceLROnPlateau, AStateDictWithoutTheOptionsKeepsTheConstructorsOptions) {
  // As saved before the options were: progress only.
  Groups a({0.1});
  optim::ReduceLROnPlateau sa(*a.opt, optim::ReduceLROnPlateauOptions().patience(1));
  for (double m : {1.0, 0.5, 0.6}) sa.step(m);
  nn::StateDict progress;
  for (const auto& [k, v] : sa.state_dict()) {
    if (k == "best" || k == "num_bad_epochs" || k == "cooldown_counter" || k == "last_epoch" || k == "_last_lr")
      progress.emplace_back(k, v);
  }
  Groups b({0.1});
  optim::ReduceLROnPlateau sb(*b.opt, optim::ReduceLROnPlateauOptions().patience(2).factor(0.5));
  sb.load_state_dict(progress);
  EXPECT_EQ(sb.options().patience(), 2);
  EXPECT_EQ(sb.options().factor(), 0.5);
  EXPECT_EQ(sb.best(), 0.5);
  EXPECT_EQ(sb.num_bad_epochs(), 1);
  EXPECT_EQ(sb.last_epoch(), 3);
  sb.step(0.6);
  EXPECT_EQ(b.lrs(), std::vector<double>{0.1});  // bad epoch 2 is within patience 2
  sb.step(0.6);
  EXPECT_EQ(b.lrs(), std::vector<double>{0.05});
}

TEST(ReduceLROnPlateau, LoadStateDictRefusesBadOptionsBeforeChangingAnything) {
  Groups s({0.1, 0.2});
  optim::ReduceLROnPlateau sched(*s.opt, optim::ReduceLROnPlateauOptions().patience(2));
  sched.step(1.0);
  const nn::StateDict good = sched.state_dict();
  const auto before = flat(good);
  nn::StateDict bad = with(with(with(good, "factor", 1.0), "patience", -1), "cooldown", 0.5);
  bad = with(with(bad, "mode", 2), "threshold_mode", 3);
  bad = without(bad, "min_lrs");
  bad.emplace_back("min_lrs", tensor({0.1, 0.2, 0.3}, kFloat64));
  EXPECT_ERROR_EQ(sched.load_state_dict(bad),
                  "ReduceLROnPlateau: error(s) in loading the state dict: \"min_lrs\" must have shape [2] (one value "
                  "per parameter group), but has shape [3]; \"factor\" must be < 1.0, but is 1; \"patience\" must be "
                  "a whole number of at least 0, but is -1; \"cooldown\" must be a whole number of at least 0, but is "
                  "0.5; \"mode\" must be 0 (min) or 1 (max), but is 2; \"threshold_mode\" must be 0 (rel) or 1 (abs), "
                  "but is 3");
  EXPECT_ERROR_EQ(sched.load_state_dict(with(good, "mode_worse", -INFINITY)),
                  "ReduceLROnPlateau: error(s) in loading the state dict: \"mode_worse\" must be inf for mode 0 (min), "
                  "but is -inf");
  EXPECT_ERROR_EQ(sched.load_state_dict(with(good, "factor", std::nan(""))),
                  "ReduceLROnPlateau: error(s) in loading the state dict: \"factor\" must be < 1.0, but is nan");
  // Some options but not all: the missing ones are reported (a state dict has all of them or none).
  EXPECT_ERROR_EQ(sched.load_state_dict(without(without(good, "eps"), "threshold")),
                  "ReduceLROnPlateau: error(s) in loading the state dict: missing key \"threshold\"; missing key "
                  "\"eps\"");
  EXPECT_EQ(flat(sched.state_dict()), before);
  EXPECT_EQ(sched.options().patience(), 2);
}

TEST(ReduceLROnPlateau, LoadsAStateDictAsPyTorchWritesIt) {
  // PyTorch 1.13 has "verbose" in its __dict__, and sets "_last_lr" in step() only.
  Groups a({0.1, 0.2});
  optim::ReduceLROnPlateau sa(*a.opt, optim::ReduceLROnPlateauOptions().patience(0).factor(0.5));
  const nn::StateDict fresh = without(sa.state_dict(), "_last_lr");
  Groups b({0.3, 0.4});
  optim::ReduceLROnPlateau sb(*b.opt, optim::ReduceLROnPlateauOptions().patience(3));
  sb.load_state_dict(with(fresh, "verbose", 0));
  EXPECT_EQ(sb.get_last_lr(), (std::vector<double>{0.3, 0.4}));  // the groups' lrs stand
  EXPECT_EQ(sb.options().patience(), 0);
  EXPECT_EQ(keys(sb.state_dict()), keys(sa.state_dict()));  // "verbose" is not kept
  sb.step(1.0);
  sb.step(2.0);  // a bad epoch beyond patience 0: halved
  EXPECT_EQ(b.lrs(), (std::vector<double>{0.15, 0.2}));
  const auto before = flat(sb.state_dict());
  EXPECT_ERROR_EQ(sb.load_state_dict(with(fresh, "verbose", 2)),
                  "ReduceLROnPlateau: error(s) in loading the state dict: \"verbose\" must be 0 or 1, but is 2");
  EXPECT_EQ(flat(sb.state_dict()), before);
}

}  // namespace
