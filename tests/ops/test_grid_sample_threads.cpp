// grid_sample on 1, 2 and 3 threads, and its two input-gradient paths, bit for bit.

#include <voxgrad/ops/grid_sample.h>
#include <voxgrad/voxgrad.h>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "grid_sample_util.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::testing::grid;
using voxgrad::testing::expect_bitwise_equal;
using voxgrad::testing::RestoreTwoThreads;

// With more than one channel the input gradient is scattered by (sample, slab) tasks whose number
// follows the thread count (4 per thread), and every dx element must still add its terms in grid
// order: the 5-D batch of two is cut into 2, 4 and 6 slabs at 1, 2 and 3 threads. The one-channel
// volume takes the per-sample sweep.
TEST(GridSampleThreads, OneTwoAndThreeThreadsGiveBitIdenticalResultsAndGradients) {
  RestoreTwoThreads restore;
  manual_seed(43);
  const Tensor x5 = randn({2, 6, 9, 10, 11}), g5 = rand({2, 12, 13, 14, 3}) * 2.6 - 1.3;
  const Tensor x4 = randn({3, 8, 40, 50}), g4 = rand({3, 45, 47, 2}) * 2.6 - 1.3;
  const Tensor x1 = randn({1, 1, 20, 21, 22}), g1 = rand({1, 16, 17, 18, 3}) * 2.6 - 1.3;
  for (const Config& cfg : all_configs()) {
    SCOPED_TRACE(cfg.str());
    std::vector<Tensor> results[3];
    for (int t = 0; t < 3; ++t) {
      set_num_threads(t + 1);
      const Tensor xa = x5.clone().requires_grad_(), ga = g5.clone().requires_grad_();
      const Tensor xb = x4.clone().requires_grad_(), gb = g4.clone().requires_grad_();
      const Tensor xc = x1.clone().requires_grad_(), gc = g1.clone().requires_grad_();
      const Tensor ya = sample(xa, ga, cfg), yb = sample(xb, gb, cfg), yc = sample(xc, gc, cfg);
      ((ya * ya).sum() + (yb * yb).sum() + (yc * yc).sum()).backward();
      results[t] = {ya, yb, yc, xa.grad(), ga.grad(), xb.grad(), gb.grad(), xc.grad(), gc.grad()};
    }
    for (int t = 1; t < 3; ++t) {
      for (std::size_t i = 0; i < results[0].size(); ++i) {
        expect_bitwise_equal(results[t][i], results[0][i],
                             std::to_string(t + 1) + " threads, result " + std::to_string(i));
      }
    }
  }
}

// The two input-gradient paths (one channel: a sweep per sample; more: slabs) give the same bits: a
// three-channel input's gradient (and output) is its channels' one-channel gradients (and outputs),
// for grids reaching past every edge and holding NaN and infinite coordinates.
TEST(GridSampleThreads, ThreeChannelInputGradientIsItsChannelsOneChannelGradientsBitForBit) {
  manual_seed(44);
  const std::vector<std::pair<Shape, Shape>> shapes{{{1, 3, 9, 10, 11}, {1, 12, 13, 14, 3}},
                                                    {{2, 3, 17, 19}, {2, 21, 23, 2}}};
  for (const auto& [xs, gs] : shapes) {
    const Tensor x = randn(xs);
    Tensor g = rand(gs) * 2.6 - 1.3;
    float* gp = g.data_ptr<float>();
    gp[5] = std::numeric_limits<float>::quiet_NaN();
    gp[17] = std::numeric_limits<float>::infinity();
    gp[g.numel() - 4] = -std::numeric_limits<float>::infinity();
    const Tensor dy = randn(sample(x, g, all_configs()[0]).sizes());
    for (const Config& cfg : all_configs()) {
      SCOPED_TRACE(cfg.str() + " x " + shape_str(xs));
      const Tensor xa = x.clone().requires_grad_();
      const Tensor ya = sample(xa, g, cfg);
      ya.backward(dy);
      for (std::int64_t c = 0; c < 3; ++c) {
        const Tensor xc = x.slice(1, c, c + 1).contiguous().requires_grad_();
        const Tensor yc = sample(xc, g, cfg);
        yc.backward(dy.slice(1, c, c + 1).contiguous());
        expect_bitwise_equal(ya.slice(1, c, c + 1).contiguous(), yc, "output channel " + std::to_string(c));
        expect_bitwise_equal(xa.grad().slice(1, c, c + 1).contiguous(), xc.grad(), "channel " + std::to_string(c));
      }
    }
  }
}

}  // namespace
