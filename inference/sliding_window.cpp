// Sliding-window inference: windows are cut from the (virtually padded) input one batch at a time,
// and each prediction is blended into float64 output and weight buffers the size of the result.

#include "voxgrad/inference/sliding_window.h"

#include <algorithm>
#include <cmath>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/join_split.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad::inference {

namespace {

constexpr const char* kOp = "sliding_window_inference";

// The part of one window inside the volume, per spatial dim: the window's voxels
// [window_from, window_from + length) are the volume's [volume_from, volume_from + length).
struct Overlap {
  std::vector<std::int64_t> window_from, volume_from, length;
};

Overlap clip_window(const std::vector<std::int64_t>& start_padded, const std::vector<std::int64_t>& pad_before,
                    const std::vector<std::int64_t>& roi, const std::vector<std::int64_t>& volume) {
  Overlap o;
  for (std::size_t d = 0; d < roi.size(); ++d) {
    const std::int64_t first = start_padded[d] - pad_before[d];  // may be negative
    const std::int64_t lo = std::max<std::int64_t>(first, 0), hi = std::min(first + roi[d], volume[d]);
    o.window_from.push_back(lo - first);
    o.volume_from.push_back(lo);
    o.length.push_back(hi - lo);
  }
  return o;
}

// `t` narrowed along its trailing spatial dims (after `lead` leading dims) to [from, from + length).
Tensor region(Tensor t, std::int64_t lead, const std::vector<std::int64_t>& from,
              const std::vector<std::int64_t>& length) {
  for (std::size_t d = 0; d < from.size(); ++d) t = t.narrow(lead + static_cast<std::int64_t>(d), from[d], length[d]);
  return t;
}

// Window index w (row-major over the per-dim starts, MONAI's meshgrid order) → its start per dim.
std::vector<std::int64_t> window_start(std::int64_t w, const std::vector<std::vector<std::int64_t>>& starts) {
  std::vector<std::int64_t> s(starts.size());
  for (std::size_t d = starts.size(); d-- > 0;) {
    const auto n = static_cast<std::int64_t>(starts[d].size());
    s[d] = starts[d][static_cast<std::size_t>(w % n)];
    w /= n;
  }
  return s;
}

}  // namespace

std::vector<std::int64_t> scan_interval(const std::vector<std::int64_t>& image, const std::vector<std::int64_t>& roi,
                                        double overlap) {
  VOXGRAD_CHECK(image.size() == roi.size(), "{}: image size {} and roi_size {} differ in length", kOp, image, roi);
  VOXGRAD_CHECK(overlap >= 0 && overlap < 1, "{}: overlap must be >= 0 and < 1, but got {}", kOp, overlap);
  std::vector<std::int64_t> out;
  for (std::size_t d = 0; d < roi.size(); ++d) {
    VOXGRAD_CHECK(roi[d] >= 1 && image[d] >= roi[d], "{}: roi_size {} must be positive and fit the image size {}", kOp,
                  roi, image);
    if (roi[d] == image[d]) {
      out.push_back(roi[d]);
    } else {
      const auto interval = static_cast<std::int64_t>(static_cast<double>(roi[d]) * (1 - overlap));
      out.push_back(interval > 0 ? interval : 1);
    }
  }
  return out;
}

std::vector<std::vector<std::int64_t>> window_starts(const std::vector<std::int64_t>& image,
                                                     const std::vector<std::int64_t>& roi,
                                                     const std::vector<std::int64_t>& interval) {
  VOXGRAD_CHECK(image.size() == roi.size() && roi.size() == interval.size(),
                "{}: image size {}, roi_size {} and scan interval {} differ in length", kOp, image, roi, interval);
  std::vector<std::vector<std::int64_t>> starts(roi.size());
  for (std::size_t d = 0; d < roi.size(); ++d) {
    VOXGRAD_CHECK(interval[d] >= 1 && roi[d] >= 1 && image[d] >= roi[d],
                  "{}: scan interval {} and roi_size {} must be positive and roi_size fit the image size {}", kOp,
                  interval, roi, image);
    // The first window reaching the end is the last (MONAI's scan_num); it is shifted back to end at the end.
    for (std::int64_t idx = 0;; ++idx) {
      const std::int64_t s = idx * interval[d];
      starts[d].push_back(s - std::max<std::int64_t>(s + roi[d] - image[d], 0));
      if (s + roi[d] >= image[d]) break;
    }
  }
  return starts;
}

Tensor importance_map(const std::vector<std::int64_t>& roi, BlendMode mode, double sigma_scale) {
  VOXGRAD_CHECK(!roi.empty(), "{}: roi_size is empty", kOp);
  for (const std::int64_t r : roi) VOXGRAD_CHECK(r >= 1, "{}: roi_size {} must be positive", kOp, roi);
  if (mode == BlendMode::Constant) return ones(roi, kFloat64);
  VOXGRAD_CHECK(sigma_scale > 0 && std::isfinite(sigma_scale), "{}: sigma_scale must be positive, but got {}", kOp,
                sigma_scale);
  Tensor map;
  for (std::size_t d = 0; d < roi.size(); ++d) {
    const double sigma = static_cast<double>(roi[d]) * sigma_scale, centre = static_cast<double>(roi[d] - 1) / 2;
    std::vector<double> g(static_cast<std::size_t>(roi[d]));
    for (std::size_t i = 0; i < g.size(); ++i) {
      const double x = static_cast<double>(i) - centre;
      // The centre weighs 1 even when σ² underflows, where the formula gives 0/0 (MONAI's map is NaN).
      g[i] = x == 0 ? 1.0 : std::exp(x * x / (-2 * sigma * sigma));
    }
    const Tensor axis = tensor(g, kFloat64);
    map = d == 0 ? axis : map.unsqueeze(-1) * axis;
  }
  const double floor = std::max(map.min().item<double>(), 1e-3);
  return map.clamp(floor);
}

Tensor sliding_window_inference(const Tensor& inputs, const Predictor& predictor, const SlidingWindowOptions& options) {
  detail::check_defined(inputs, kOp, "inputs");
  VOXGRAD_CHECK(is_floating_point(inputs.dtype()), "{}: expected float32 or float64 inputs, but got {}", kOp,
                inputs.dtype());
  VOXGRAD_CHECK(inputs.dim() >= 3 && inputs.dim() <= 5,
                "{}: expected inputs [B, C, spatial...] with 1 to 3 spatial dims, but got shape {}", kOp,
                shape_str(inputs.sizes()));
  VOXGRAD_CHECK(static_cast<bool>(predictor), "{}: the predictor is empty", kOp);
  const std::int64_t spatial = inputs.dim() - 2, batch = inputs.size(0), channels = inputs.size(1);
  VOXGRAD_CHECK(static_cast<std::int64_t>(options.roi_size().size()) == spatial,
                "{}: roi_size {} must have one entry per spatial dim of inputs {}", kOp, options.roi_size(),
                shape_str(inputs.sizes()));
  VOXGRAD_CHECK(options.sw_batch_size() >= 1, "{}: sw_batch_size must be positive, but got {}", kOp,
                options.sw_batch_size());
  VOXGRAD_CHECK(inputs.numel() > 0, "{}: inputs of shape {} have no voxels", kOp, shape_str(inputs.sizes()));

  std::vector<std::int64_t> volume, roi, image, pad_before;
  for (std::int64_t d = 0; d < spatial; ++d) {
    const std::int64_t n = inputs.size(2 + d), r = options.roi_size()[static_cast<std::size_t>(d)];
    volume.push_back(n);
    roi.push_back(r > 0 ? r : n);  // MONAI's fall_back_tuple
    image.push_back(std::max(n, roi.back()));
    pad_before.push_back((image.back() - n) / 2);
  }
  const std::vector<std::vector<std::int64_t>> starts =
      window_starts(image, roi, scan_interval(image, roi, options.overlap()));
  const Tensor weights = importance_map(roi, options.mode(), options.sigma_scale());
  std::int64_t windows = 1;
  for (const auto& s : starts) windows *= static_cast<std::int64_t>(s.size());

  // The weight every voxel receives is the same for each sample: accumulated once.
  Tensor weight_sum = zeros(volume, kFloat64);
  for (std::int64_t w = 0; w < windows; ++w) {
    const Overlap o = clip_window(window_start(w, starts), pad_before, roi, volume);
    region(weight_sum, 0, o.volume_from, o.length).add_(region(weights, 0, o.window_from, o.length));
  }

  NoGradGuard no_grad;
  const Tensor source = inputs.detach();
  Tensor output;  // [B, C_out, volume...] float64, allocated at the first prediction
  Shape window_shape{channels};
  window_shape.insert(window_shape.end(), roi.begin(), roi.end());
  const std::int64_t total = batch * windows;
  for (std::int64_t first = 0; first < total; first += options.sw_batch_size()) {
    const std::int64_t n = std::min(options.sw_batch_size(), total - first);
    std::vector<Tensor> cut;
    std::vector<Overlap> placed;
    for (std::int64_t g = first; g < first + n; ++g) {
      const Overlap o = clip_window(window_start(g % windows, starts), pad_before, roi, volume);
      Tensor win = full(window_shape, options.cval(), inputs.dtype());
      region(win, 1, o.window_from, o.length).copy_(region(source.select(0, g / windows), 1, o.volume_from, o.length));
      cut.push_back(win);
      placed.push_back(o);
    }
    const Tensor pred = predictor(stack(cut, 0));
    VOXGRAD_CHECK(pred.defined() && pred.dim() == inputs.dim() && pred.size(0) == n &&
                      std::equal(roi.begin(), roi.end(), pred.sizes().begin() + 2),
                  "{}: the predictor must return [{}, C_out, {}] for windows of shape [{}, {}], but returned {}", kOp,
                  n, fmt::join(roi, ", "), n, fmt::join(window_shape, ", "),
                  pred.defined() ? shape_str(pred.sizes()) : std::string("an undefined tensor"));
    VOXGRAD_CHECK(is_floating_point(pred.dtype()), "{}: the predictor returned {}, not a floating-point tensor", kOp,
                  pred.dtype());
    if (!output.defined()) {
      Shape out_shape{batch, pred.size(1)};
      out_shape.insert(out_shape.end(), volume.begin(), volume.end());
      output = zeros(out_shape, kFloat64);
    }
    VOXGRAD_CHECK(pred.size(1) == output.size(1), "{}: the predictor returned {} channels, but earlier {}", kOp,
                  pred.size(1), output.size(1));
    const Tensor weighted = pred.detach().to(kFloat64) * weights;  // [n, C_out, roi...]
    for (std::int64_t i = 0; i < n; ++i) {
      const Overlap& o = placed[static_cast<std::size_t>(i)];
      region(output.select(0, (first + i) / windows), 1, o.volume_from, o.length)
          .add_(region(weighted.select(0, i), 1, o.window_from, o.length));
    }
  }
  return output.div_(weight_sum).to(inputs.dtype());  // the inputs' dtype, as MONAI's convert_to_dst_type
}

}  // namespace voxgrad::inference
