// Anomaly mode: DetectAnomalyGuard, AnomalyLabelGuard, and the engine's NaN/Inf check after each
// node's backward (torch.autograd.detect_anomaly's semantics: backward outputs are checked).

#include <latch>
#include <limits>
#include <thread>

#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace voxgrad {
namespace {

using autograd::AnomalyLabelGuard;
using autograd::current_anomaly_label;
using autograd::DetectAnomalyGuard;
using autograd::is_anomaly_enabled;
using testing::expect_values;
using testing::values;

/// A 1-D float64 leaf that requires grad.
Tensor leaf(std::initializer_list<double> v) { return tensor(v, kFloat64).requires_grad_(); }

// --- the switch and the guards ----------------------------------------------------------------

TEST(AnomalyMode, IsOffByDefaultAndTheGuardRestoresThePreviousState) {
  EXPECT_FALSE(is_anomaly_enabled());
  {
    DetectAnomalyGuard on;
    EXPECT_TRUE(is_anomaly_enabled());
    EXPECT_TRUE(autograd::AnomalyMode::is_enabled());
    {
      DetectAnomalyGuard off(false);
      EXPECT_FALSE(is_anomaly_enabled());
      DetectAnomalyGuard on_again;
      EXPECT_TRUE(is_anomaly_enabled());
    }
    EXPECT_TRUE(is_anomaly_enabled());
  }
  EXPECT_FALSE(is_anomaly_enabled());
}

TEST(AnomalyMode, GuardRestoresTheStateEvenWhenBackwardThrows) {
  Tensor x = leaf({0.0});
  try {
    DetectAnomalyGuard on;
    x.sqrt().sum().backward();  // d sqrt(x)/dx = 1 / (2 sqrt(0)) = Inf
    ADD_FAILURE() << "expected an anomaly error";
  } catch (const Error&) {
  }
  EXPECT_FALSE(is_anomaly_enabled());
}

TEST(AnomalyMode, LabelsNestWithDotsAndEndInReverseOrder) {
  EXPECT_EQ(current_anomaly_label(), "");
  {
    AnomalyLabelGuard outer("decoder");
    EXPECT_EQ(current_anomaly_label(), "decoder");
    {
      AnomalyLabelGuard inner("up1");
      EXPECT_EQ(current_anomaly_label(), "decoder.up1");
      AnomalyLabelGuard empty("");  // adds nothing
      EXPECT_EQ(current_anomaly_label(), "decoder.up1");
    }
    EXPECT_EQ(current_anomaly_label(), "decoder");
    AnomalyLabelGuard dotted("head.conv");  // a dotted label is taken as it is
    EXPECT_EQ(current_anomaly_label(), "decoder.head.conv");
  }
  EXPECT_EQ(current_anomaly_label(), "");
}

// --- labels on nodes ----------------------------------------------------------------------------

TEST(AnomalyMode, NodesRecordTheLabelTheyWereCreatedUnder) {
  DetectAnomalyGuard anomaly;
  Tensor x = leaf({1.0, 2.0});
  Tensor a, b, c;
  {
    AnomalyLabelGuard outer("decoder");
    a = x * 2.0;
    {
      AnomalyLabelGuard inner("up1");
      b = a.exp();
    }
    c = b + a;
  }
  Tensor d = c.sum();
  EXPECT_EQ(a.grad_fn()->label(), "decoder");
  EXPECT_EQ(b.grad_fn()->name(), "ExpBackward");
  EXPECT_EQ(b.grad_fn()->label(), "decoder.up1");
  EXPECT_EQ(c.grad_fn()->label(), "decoder");
  EXPECT_EQ(d.grad_fn()->label(), "");
}

TEST(AnomalyMode, NoLabelIsRecordedWhileAnomalyModeIsOff) {
  AnomalyLabelGuard label("encoder");
  Tensor x = leaf({1.0});
  Tensor off = x * 2.0;
  EXPECT_EQ(off.grad_fn()->label(), "");
  DetectAnomalyGuard anomaly;
  Tensor on = x * 2.0;
  EXPECT_EQ(on.grad_fn()->label(), "encoder");
}

// --- the backward check -----------------------------------------------------------------------

TEST(AnomalyMode, NaNGradientNamesTheOpTheInputAndTheLabel) {
  // loss = sum(0 * log(x)): dloss/dlog = 0, and LogBackward computes 0 / x, which is 0 / 0 = NaN
  // at x = 0. The NaN is caught where it is produced and never reaches x.grad().
  DetectAnomalyGuard anomaly;
  Tensor x = leaf({1.0, 0.0, 2.0});
  Tensor loss;
  {
    AnomalyLabelGuard label("loss");
    loss = (x.log() * 0.0).sum();
  }
  EXPECT_ERROR_EQ(loss.backward(),
                  "anomaly: backward of 'LogBackward' (created under label 'loss') returned NaN in "
                  "its gradient for input 0 (shape [3], 1 of 3 elements non-finite, the first at "
                  "flat index 1)");
  EXPECT_FALSE(x.grad().defined());
}

TEST(AnomalyMode, InfiniteGradientIsReportedWithItsSign) {
  // d sqrt(x)/dx = 1 / (2 sqrt(x)) is +Inf at 0; d log(x)/dx = 1/x is -Inf at -0.0.
  DetectAnomalyGuard anomaly;
  Tensor x = tensor({4.0, 0.0, 0.0, 1.0}, kFloat32).view({2, 2}).requires_grad_();
  EXPECT_ERROR_EQ(x.sqrt().sum().backward(),
                  "anomaly: backward of 'SqrtBackward' (created with no label) returned Inf in its "
                  "gradient for input 0 (shape [2, 2], 2 of 4 elements non-finite, the first at flat "
                  "index 1)");
  Tensor z = leaf({-0.0});
  EXPECT_ERROR_CONTAINS(z.log().sum().backward(), "'LogBackward' (created with no label) returned -Inf");
}

TEST(AnomalyMode, NamesWhichInputOfATwoInputOpGotTheBadGradient) {
  // q = a / b: dq/da = 1/b (not needed: a is a constant), dq/db = -a/b^2 = -Inf at b = 0.
  DetectAnomalyGuard anomaly;
  AnomalyLabelGuard label("ratio");
  Tensor a = tensor({1.0, 3.0}, kFloat64);
  Tensor b = leaf({2.0, 0.0});
  EXPECT_ERROR_EQ((a / b).sum().backward(),
                  "anomaly: backward of 'DivBackward' (created under label 'ratio') returned -Inf in "
                  "its gradient for input 1 (shape [2], 1 of 2 elements non-finite, the first at flat "
                  "index 1)");
}

TEST(AnomalyMode, FiniteGradientsAreUnchanged) {
  // sum(x^2 + e^x): 2x + e^x, the same with anomaly mode on or off.
  Tensor x = leaf({0.0, 1.0});
  {
    DetectAnomalyGuard anomaly;
    AnomalyLabelGuard label("model");
    (x * x + x.exp()).sum().backward();
  }
  testing::expect_close(x.grad(), tensor({1.0, 2.0 + std::exp(1.0)}, kFloat64), 1e-15);
}

TEST(AnomalyMode, OffMeansNoCheckAndTheNaNFlowsThrough) {
  Tensor x = leaf({1.0, 0.0});
  (x.log() * 0.0).sum().backward();
  const std::vector<double> g = values(x.grad());
  EXPECT_EQ(g[0], 0.0);
  EXPECT_TRUE(std::isnan(g[1]));
}

TEST(AnomalyMode, TheCheckFollowsTheModeAtBackwardTime) {
  // As in PyTorch: the check runs when backward runs with anomaly mode on, whatever the mode was
  // during forward (only the label needs anomaly mode during forward).
  Tensor x = leaf({0.0});
  Tensor recorded_off = x.sqrt().sum();
  {
    DetectAnomalyGuard anomaly;
    EXPECT_ERROR_CONTAINS(recorded_off.backward(), "'SqrtBackward' (created with no label) returned Inf");
  }
  Tensor recorded_on;
  {
    DetectAnomalyGuard anomaly;
    AnomalyLabelGuard label("head");
    recorded_on = x.sqrt().sum();
  }
  EXPECT_EQ(recorded_on.grad_fn()->next_edges()[0].fn->label(), "head");
  recorded_on.backward();  // anomaly mode off now: no check
  EXPECT_TRUE(std::isinf(values(x.grad())[0]));
}

TEST(AnomalyMode, AutogradGradIsCheckedToo) {
  DetectAnomalyGuard anomaly;
  Tensor x = leaf({0.0, 1.0});
  Tensor y;
  {
    AnomalyLabelGuard label("features");
    y = x.sqrt();
  }
  EXPECT_ERROR_CONTAINS(autograd::grad({y.sum()}, {x}),
                        "anomaly: backward of 'SqrtBackward' (created under label 'features') returned Inf");
}

TEST(AnomalyMode, ChecksTheBackwardOfAConvolutionInsideAModule) {
  // A realistic case: a Conv3d fed with sqrt of data whose first depth slice is zero. Forward is
  // finite (sqrt(0) = 0) and so are the loss's and the conv's backward; SqrtBackward, under the
  // "encoder.stem" label, divides by 2 sqrt(0) on those 16 voxels.
  manual_seed(1);
  auto conv = std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(1, 2, 3).padding(1));
  Tensor x = rand({1, 1, 4, 4, 4}).detach();
  x.narrow(2, 0, 1).fill_(0.0);
  x.requires_grad_();
  DetectAnomalyGuard anomaly;
  Tensor y;
  {
    AnomalyLabelGuard outer("encoder");
    AnomalyLabelGuard inner("stem");
    y = conv->forward(x.sqrt());
  }
  EXPECT_EQ(y.grad_fn()->label(), "encoder.stem");
  try {
    y.pow(2.0).mean().backward();
    ADD_FAILURE() << "expected an anomaly error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("anomaly: backward of 'SqrtBackward' (created under label 'encoder.stem') returned ", 0), 0u)
        << msg;
    EXPECT_NE(msg.find("in its gradient for input 0 (shape [1, 1, 4, 4, 4], 16 of 64 elements non-finite, the "
                       "first at flat index 0)"),
              std::string::npos)
        << msg;
  }
  EXPECT_FALSE(x.grad().defined());
}

TEST(AnomalyMode, OtherBackwardErrorsGetTheNodeAndItsLabel) {
  // The in-place check's error gains the label of the node whose saved tensor changed.
  DetectAnomalyGuard anomaly;
  Tensor x = leaf({0.5, 1.0});
  Tensor y;
  {
    AnomalyLabelGuard label("attention");
    y = x.exp();
  }
  {
    NoGradGuard no_grad;
    y.mul_(2.0);
  }
  EXPECT_ERROR_CONTAINS(y.sum().backward(),
                        "[anomaly: raised by the backward of 'ExpBackward', created under label 'attention']");
}

TEST(AnomalyMode, ModeAndLabelAreThreadLocal) {
  // The main thread turns anomaly mode on with a label; a worker running at the same time sees it
  // off, records no label and lets its NaN flow; the worker's own guard does not reach back.
  DetectAnomalyGuard anomaly;
  AnomalyLabelGuard label("main");
  std::latch main_checked(1), worker_on(1), worker_done(1);
  bool worker_saw_on = true, worker_threw = false, worker_grad_nan = false;
  std::string worker_label = "unset", worker_current = "unset";
  std::thread worker([&] {
    worker_saw_on = is_anomaly_enabled();
    worker_current = current_anomaly_label();
    Tensor x = leaf({0.0});
    Tensor y = (x.log() * 0.0).sum();
    worker_label = y.grad_fn()->label();
    try {
      y.backward();
      worker_grad_nan = std::isnan(values(x.grad())[0]);
    } catch (const Error&) {
      worker_threw = true;
    }
    DetectAnomalyGuard worker_off(false);
    AnomalyLabelGuard worker_label_guard("worker");
    worker_on.count_down();
    main_checked.wait();
    worker_done.count_down();
  });
  worker_on.wait();
  EXPECT_TRUE(is_anomaly_enabled());  // the worker's DetectAnomalyGuard(false) is its own
  EXPECT_EQ(current_anomaly_label(), "main");
  main_checked.count_down();
  worker_done.wait();
  worker.join();
  EXPECT_FALSE(worker_saw_on);
  EXPECT_EQ(worker_current, "");
  EXPECT_EQ(worker_label, "");
  EXPECT_FALSE(worker_threw);
  EXPECT_TRUE(worker_grad_nan);
  // And the main thread still checks.
  Tensor x = leaf({0.0});
  EXPECT_ERROR_CONTAINS(x.sqrt().sum().backward(), "(created under label 'main') returned Inf");
}

}  // namespace
}  // namespace voxgrad
