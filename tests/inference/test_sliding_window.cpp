// Sliding-window inference: MONAI's window placement (scan interval, the last window aligned to the
// end), its importance maps, exact reconstruction by an identity model, agreement of a fully
// convolutional model with whole-volume inference wherever every window sees a voxel's full
// receptive field, the window-batch bound on memory, and the errors.

#include <cmath>

#include "test_util.h"

namespace voxgrad {
namespace {

using inference::BlendMode;
using inference::SlidingWindowOptions;
using Starts = std::vector<std::vector<std::int64_t>>;

Starts starts_1d(std::int64_t image, std::int64_t roi, double overlap) {
  return inference::window_starts({image}, {roi}, inference::scan_interval({image}, {roi}, overlap));
}

TEST(SlidingWindow, WindowPlacementFollowsMonai) {
  // interval = floor(roi · (1 − overlap)); windows at multiples of it until one reaches the end,
  // which is moved back to end exactly at the end (MONAI's _get_scan_interval, dense_patch_slices).
  EXPECT_EQ(starts_1d(10, 4, 0.25), (Starts{{0, 3, 6}}));       // interval 3; 6 + 4 = 10 reaches the end
  EXPECT_EQ(starts_1d(11, 4, 0.25), (Starts{{0, 3, 6, 7}}));    // 9 + 4 > 11: moved back to 7
  EXPECT_EQ(starts_1d(12, 5, 0.5), (Starts{{0, 2, 4, 6, 7}}));  // interval floor(2.5) = 2
  EXPECT_EQ(starts_1d(8, 4, 0.0), (Starts{{0, 4}}));
  EXPECT_EQ(starts_1d(7, 7, 0.25), (Starts{{0}}));          // roi == image: interval = roi
  EXPECT_EQ(starts_1d(5, 2, 0.9), (Starts{{0, 1, 2, 3}}));  // floor(0.2) = 0 → interval 1
  EXPECT_EQ(inference::scan_interval({96, 40, 64}, {64, 40, 32}, 0.25), (std::vector<std::int64_t>{48, 40, 24}));
  EXPECT_EQ(inference::window_starts({96, 40, 64}, {64, 40, 32}, {48, 40, 24}), (Starts{{0, 32}, {0}, {0, 24, 32}}));
}

TEST(SlidingWindow, ImportanceMapsAreMonais) {
  testing::expect_values(inference::importance_map({2, 3}, BlendMode::Constant), {2, 3}, {1, 1, 1, 1, 1, 1});
  const Tensor g = inference::importance_map({4, 5, 6}, BlendMode::Gaussian, 0.125);
  ASSERT_EQ(g.sizes(), (Shape{4, 5, 6}));
  // exp(−x²/(2σ²)) per dim, x = i − (roi − 1)/2, σ = 0.125·roi; clamped below at max(min, 1e-3).
  const auto axis = [](std::int64_t i, std::int64_t roi) {
    const double x = static_cast<double>(i) - static_cast<double>(roi - 1) / 2, s = 0.125 * static_cast<double>(roi);
    return std::exp(-x * x / (2 * s * s));
  };
  for (const auto& [i, j, k] : {std::tuple{0, 0, 0}, std::tuple{1, 2, 3}, std::tuple{2, 4, 1}, std::tuple{3, 1, 5}}) {
    const double want = std::max(axis(i, 4) * axis(j, 5) * axis(k, 6), 1e-3);
    EXPECT_NEAR(g.select(0, i).select(0, j).select(0, k).item<double>(), want, 1e-15) << i << j << k;
  }
  EXPECT_EQ(g.min().item<double>(), 1e-3) << "the corners fall below 1e-3 and are clamped";
  EXPECT_EQ(g.select(0, 1).select(0, 2).select(0, 2).item<double>(),
            g.select(0, 2).select(0, 2).select(0, 3).item<double>())
      << "symmetric";
  // σ² underflowing to 0: the centre keeps weight 1 (MONAI's formula gives 0/0 there), the rest the floor.
  testing::expect_values(inference::importance_map({5}, BlendMode::Gaussian, 1e-170), {5}, {1e-3, 1e-3, 1, 1e-3, 1e-3});
}

TEST(SlidingWindow, AnIdentityModelReconstructsTheVolumeExactly) {
  manual_seed(21);
  const Tensor x = randn({2, 3, 13, 9, 11});
  for (const BlendMode mode : {BlendMode::Constant, BlendMode::Gaussian}) {
    for (const double overlap : {0.0, 0.25, 0.5, 0.8}) {
      for (const std::int64_t sw : {1, 3, 64}) {
        // The second roi is larger than the volume along H and W: padded with cval, cropped back.
        for (const auto& roi : {std::vector<std::int64_t>{5, 4, 6}, std::vector<std::int64_t>{6, 12, -1}}) {
          const auto opts = SlidingWindowOptions(roi).overlap(overlap).sw_batch_size(sw).mode(mode).cval(7.0);
          const Tensor y = inference::sliding_window_inference(
              x, [](const Tensor& w) { return w; }, opts);
          testing::expect_bitwise_equal(y, x, fmt::format("overlap {} sw {} roi {}", overlap, sw, roi));
        }
      }
    }
  }
}

// A predictor whose output depends on where a voxel sits in its window (x · (1 + index along D)), so
// that windows disagree and the blending weights and the padding's placement show in the result.
Tensor scale_by_window_depth(const Tensor& w) {
  const Tensor depth = arange(1.0, static_cast<double>(w.size(2)) + 1.0, 1.0, w.dtype()).view({1, 1, -1, 1, 1});
  return w * depth;
}

TEST(SlidingWindow, WindowsThatDisagreeAreBlendedByHand) {
  // 9 voxels along D, windows of 4 with overlap 0.5: interval 2, starts 0, 2, 4 and 5 (moved back).
  manual_seed(23);
  const Tensor x = randn({1, 1, 9, 1, 1}, kFloat64) + 3.0;
  const auto ratio = [&](const SlidingWindowOptions& o) {
    return testing::values(inference::sliding_window_inference(x, scale_by_window_depth, o).div(x));
  };
  // Constant blending: the plain mean of the factors (1 + the voxel's index) of the windows covering it.
  const std::vector<double> constant = ratio(SlidingWindowOptions({4, 1, 1}).overlap(0.5));
  const std::vector<double> want{1, 2, 2, 3, 2, 7.0 / 3, 2.5, 3.5, 4};
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(constant[i], want[i], 1e-12) << "voxel " << i;
  // Gaussian blending: weights exp(−x²/(2σ²)), x = i − 1.5, σ = 0.125 · 4, per window position.
  const auto g = [](int i) { return std::exp(-(i - 1.5) * (i - 1.5) / (2 * 0.5 * 0.5)); };
  const std::vector<std::vector<int>> covering{{0}, {1}, {2, 0}, {3, 1}, {2, 0}, {3, 1, 0}, {2, 1}, {3, 2}, {3}};
  const std::vector<double> gaussian = ratio(SlidingWindowOptions({4, 1, 1}).overlap(0.5).mode(BlendMode::Gaussian));
  for (std::size_t v = 0; v < covering.size(); ++v) {
    double num = 0, den = 0;
    for (const int i : covering[v]) {
      num += g(i) * (1 + i);
      den += g(i);
    }
    EXPECT_NEAR(gaussian[v], num / den, 1e-12) << "voxel " << v;
  }
  // A window larger than the volume: 3 voxels in a window of 6 are padded by 1 before and 2 after
  // (MONAI's floor(diff / 2) first), so voxel i sits at window index i + 1.
  const Tensor small = x.narrow(2, 0, 3);
  const std::vector<double> padded = testing::values(
      inference::sliding_window_inference(small, scale_by_window_depth, SlidingWindowOptions({6, 1, 1})).div(small));
  EXPECT_EQ(padded, (std::vector<double>{2, 3, 4}));
}

TEST(SlidingWindow, TheResultHasTheInputsDtype) {
  // As MONAI's convert_to_dst_type(output, inputs), whatever the predictor returns.
  const Tensor x64 = full({1, 1, 6, 6, 6}, 0.5, kFloat64), x32 = full({1, 1, 6, 6, 6}, 0.5, kFloat32);
  const auto opts = SlidingWindowOptions({4, 4, 4});
  const Tensor a = inference::sliding_window_inference(
      x64, [](const Tensor& w) { return w.to(kFloat32); }, opts);
  const Tensor b = inference::sliding_window_inference(
      x32, [](const Tensor& w) { return w.to(kFloat64); }, opts);
  EXPECT_EQ(a.dtype(), kFloat64);
  EXPECT_EQ(b.dtype(), kFloat32);
  testing::expect_bitwise_equal(a, x64, "float64 inputs, float32 predictions");
  testing::expect_bitwise_equal(b, x32, "float32 inputs, float64 predictions");
}

TEST(SlidingWindow, PredictorCallsAreBoundedByTheWindowBatch) {
  const Tensor x = zeros({3, 1, 10, 11, 12});
  std::vector<std::int64_t> batches;
  const auto opts = SlidingWindowOptions({4, 4, 12}).sw_batch_size(5);
  const Tensor y = inference::sliding_window_inference(
      x,
      [&](const Tensor& w) {
        batches.push_back(w.size(0));
        EXPECT_EQ(w.sizes(), (Shape{w.size(0), 1, 4, 4, 12}));
        EXPECT_FALSE(GradMode::is_enabled()) << "no graph is recorded";
        return cat({w, w + 1.0}, 1);  // two output channels
      },
      opts);
  // Per sample: starts {0, 3, 6} × {0, 3, 6, 7} × {0} = 12 windows; 3 samples → 36 windows in batches of 5.
  EXPECT_EQ(batches, (std::vector<std::int64_t>{5, 5, 5, 5, 5, 5, 5, 1}));
  ASSERT_EQ(y.sizes(), (Shape{3, 2, 10, 11, 12}));
  EXPECT_EQ(y.select(1, 1).min().item<double>(), 1.0);
}

TEST(SlidingWindow, AFullyConvolutionalModelAgreesWithWholeVolumeInference) {
  // Two 3×3×3 convolutions with zero padding: receptive radius 2. A window's prediction is exact at
  // a voxel whose 2-neighbourhood lies inside the window, or runs over an edge the window shares with
  // the volume (zero padding there is the same as whole-volume inference's).
  manual_seed(22);
  const Tensor w1 = randn({4, 2, 3, 3, 3}) * 0.3, b1 = randn({4}) * 0.1;
  const Tensor w2 = randn({3, 4, 3, 3, 3}) * 0.3, b2 = randn({3}) * 0.1;
  const auto model = [&](const Tensor& t) { return conv3d(conv3d(t, w1, b1, 1, 1).relu(), w2, b2, 1, 1); };
  const Tensor x = randn({1, 2, 14, 12, 10});
  const Tensor whole = model(x);
  const std::vector<std::int64_t> volume{14, 12, 10}, roi{8, 8, 8};
  constexpr std::int64_t r = 2;
  for (const BlendMode mode : {BlendMode::Constant, BlendMode::Gaussian}) {
    const auto opts = SlidingWindowOptions(roi).overlap(0.5).sw_batch_size(4).mode(mode);
    const Tensor y = inference::sliding_window_inference(x, model, opts);
    ASSERT_EQ(y.sizes(), whole.sizes());
    const Starts starts = inference::window_starts(volume, roi, inference::scan_interval(volume, roi, 0.5));
    // A voxel is exact along dim d in every window covering it.
    const auto exact = [&](std::size_t d, std::int64_t p) {
      for (const std::int64_t s : starts[d]) {
        if (p < s || p >= s + roi[d]) continue;
        const bool before = p - s >= r || s == 0, after = s + roi[d] - 1 - p >= r || s + roi[d] == volume[d];
        if (!before || !after) return false;
      }
      return true;
    };
    const std::vector<double> got = testing::values(y), want = testing::values(whole);
    std::int64_t checked = 0, index = 0;
    for (std::int64_t c = 0; c < 3; ++c) {
      for (std::int64_t i = 0; i < 14; ++i) {
        for (std::int64_t j = 0; j < 12; ++j) {
          for (std::int64_t k = 0; k < 10; ++k, ++index) {
            if (!exact(0, i) || !exact(1, j) || !exact(2, k)) continue;
            ++checked;
            ASSERT_NEAR(got[static_cast<std::size_t>(index)], want[static_cast<std::size_t>(index)], 1e-5)
                << "voxel " << c << " " << i << " " << j << " " << k;
          }
        }
      }
    }
    EXPECT_GT(checked, 3 * 14 * 12 * 10 / 5) << "a fair share of the voxels is compared";
  }
}

TEST(SlidingWindow, ErrorsNameTheArgumentAndValues) {
  const auto id = [](const Tensor& w) { return w; };
  const Tensor x = zeros({1, 1, 8, 8, 8});
  EXPECT_ERROR_CONTAINS(
      inference::sliding_window_inference(x, id, SlidingWindowOptions({4, 4})),
      "sliding_window_inference: roi_size [4, 4] must have one entry per spatial dim of inputs [1, 1, 8, 8, 8]");
  EXPECT_ERROR_CONTAINS(inference::sliding_window_inference(x, id, SlidingWindowOptions({4, 4, 4}).overlap(1.0)),
                        "sliding_window_inference: overlap must be >= 0 and < 1, but got 1");
  EXPECT_ERROR_CONTAINS(inference::sliding_window_inference(x, id, SlidingWindowOptions({4, 4, 4}).sw_batch_size(0)),
                        "sliding_window_inference: sw_batch_size must be positive, but got 0");
  EXPECT_ERROR_CONTAINS(inference::sliding_window_inference(
                            x, id, SlidingWindowOptions({4, 4, 4}).mode(BlendMode::Gaussian).sigma_scale(0)),
                        "sliding_window_inference: sigma_scale must be positive, but got 0");
  EXPECT_ERROR_CONTAINS(inference::sliding_window_inference(zeros({8, 8}), id, SlidingWindowOptions({4})),
                        "expected inputs [B, C, spatial...] with 1 to 3 spatial dims, but got shape [8, 8]");
  EXPECT_ERROR_CONTAINS(inference::sliding_window_inference(zeros({1, 1, 8}, kInt64), id, SlidingWindowOptions({4})),
                        "expected float32 or float64 inputs, but got int64");
  EXPECT_ERROR_CONTAINS(inference::sliding_window_inference(
                            x, [](const Tensor& w) { return w.narrow(2, 0, 3); }, SlidingWindowOptions({4, 4, 4})),
                        "sliding_window_inference: the predictor must return [1, C_out, 4, 4, 4] for windows of shape "
                        "[1, 1, 4, 4, 4], but returned [1, 1, 3, 4, 4]");
  int calls = 0;
  EXPECT_ERROR_CONTAINS(inference::sliding_window_inference(
                            x,
                            [&](const Tensor& w) {
                              return ++calls == 1 ? w : cat({w, w}, 1);
                            },
                            SlidingWindowOptions({4, 4, 4})),
                        "sliding_window_inference: the predictor returned 2 channels, but earlier 1");
  EXPECT_ERROR_CONTAINS(inference::sliding_window_inference(x, inference::Predictor(), SlidingWindowOptions({4, 4, 4})),
                        "sliding_window_inference: the predictor is empty");
}

}  // namespace
}  // namespace voxgrad
