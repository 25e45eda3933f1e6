#pragma once
// Sliding-window inference over volumes too large for one forward pass, with the semantics of
// MONAI's monai.inferers.sliding_window_inference.

#include <cstdint>
#include <functional>
#include <vector>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"

namespace voxgrad::inference {

/// How overlapping windows are blended, as MONAI's BlendMode.
enum class BlendMode {
  Constant,  ///< Every voxel of a window weighs 1: a plain average of the overlapping predictions.
  Gaussian,  ///< A separable Gaussian centred on the window, σ = sigma_scale · window size per dim.
};

/// Options of sliding_window_inference (MONAI's names and defaults).
struct SlidingWindowOptions {
  /// Options with the window size, one entry per spatial dim (MONAI's roi_size); an entry <= 0
  /// means that dim's full image size.
  SlidingWindowOptions(std::vector<std::int64_t> roi_size) : roi_size_(std::move(roi_size)) {}  // NOLINT
  /// The window size per spatial dim (<= 0: the image size).
  VOXGRAD_ARG(std::vector<std::int64_t>, roi_size);
  /// How many windows go through the predictor in one call (windows of different batch samples mix).
  VOXGRAD_ARG(std::int64_t, sw_batch_size) = 1;
  /// Fraction of a window its neighbour overlaps, in [0, 1); one value for every dim (MONAI also
  /// takes one per dim).
  VOXGRAD_ARG(double, overlap) = 0.25;
  /// Constant or Gaussian blending.
  VOXGRAD_ARG(BlendMode, mode) = BlendMode::Constant;
  /// σ of the Gaussian as a fraction of the window size (> 0).
  VOXGRAD_ARG(double, sigma_scale) = 0.125;
  /// The value voxels outside the volume read as (a window larger than the volume).
  VOXGRAD_ARG(double, cval) = 0.0;
};

/// The model: a batch of windows [n, C, roi...] → predictions [n, C_out, roi...].
using Predictor = std::function<Tensor(const Tensor&)>;

/// Predicts `inputs` [B, C, spatial...] (1 to 3 spatial dims) window by window, as MONAI:
///  - a dim smaller than its window is padded with `cval`, half before and half after (MONAI's
///    symmetric constant padding), and the result is cropped back;
///  - along each dim windows start every scan_interval() voxels, the last one aligned to the end
///    (window_starts());
///  - the B·(windows per sample) windows go through `predictor` sw_batch_size at a time (no graph is
///    recorded); each prediction, times the blending weights (importance_map()), is added into an
///    output buffer and the weights into a weight buffer; the result is output / weight.
/// Memory is the output and weight buffers (float64, the size of the result) plus one batch of
/// windows, never all windows at once. Returns [B, C_out, spatial...] in the inputs' dtype (as MONAI).
/// Throws (naming the argument and values) for bad inputs or options, and for predictions whose
/// batch or spatial size differs from the windows' or whose channels change between calls.
Tensor sliding_window_inference(const Tensor& inputs, const Predictor& predictor, const SlidingWindowOptions& options);

/// MONAI's _get_scan_interval: per dim, the window size if it equals the image size, else
/// max(1, floor(window · (1 − overlap))). `image` is the padded size (at least the window).
std::vector<std::int64_t> scan_interval(const std::vector<std::int64_t>& image, const std::vector<std::int64_t>& roi,
                                        double overlap);

/// MONAI's dense_patch_slices per dim: starts 0, interval, 2·interval, ... up to the first window
/// that reaches the end, which is moved back to end exactly at the image's end.
std::vector<std::vector<std::int64_t>> window_starts(const std::vector<std::int64_t>& image,
                                                     const std::vector<std::int64_t>& roi,
                                                     const std::vector<std::int64_t>& interval);

/// MONAI's compute_importance_map: ones (Constant), or the product over dims of
/// exp(−x² / (2σ²)) at x = i − (roi − 1)/2 with σ = sigma_scale · roi (Gaussian), clamped below at
/// max(its minimum, 1e-3). A float64 tensor of shape `roi`. Where σ² underflows to 0 the centre
/// keeps weight 1 and the rest the floor (MONAI's map is NaN there: 0/0 at the centre).
Tensor importance_map(const std::vector<std::int64_t>& roi, BlendMode mode, double sigma_scale = 0.125);

}  // namespace voxgrad::inference
