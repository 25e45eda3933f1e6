#include "voxgrad/nn/functional/upsampling.h"

#include <array>
#include <cmath>
#include <string>

#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/pool.h"
#include "voxgrad/ops/upsample.h"

namespace voxgrad {

const char* interpolate_mode_name(InterpolateMode mode) {
  switch (mode) {
    case InterpolateMode::Nearest: return "nearest";
    case InterpolateMode::Linear: return "linear";
    case InterpolateMode::Bilinear: return "bilinear";
    case InterpolateMode::Trilinear: return "trilinear";
    case InterpolateMode::Area: return "area";
  }
  return "?";
}

namespace nn::functional {
namespace {

// The size or scale_factor `got` (described as `what` ... `name` in `example` format) has neither 1 nor 3 entries.
[[noreturn]] void throw_spatial_mismatch(const char* op, const Shape& in_spatial, const char* what,
                                         const std::string& got, const char* name, const char* example) {
  throw Error(
      fmt::format("{}: Input and {} must have the same number of spatial dimensions, but got input with "
                  "spatial dimensions of {} and {}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                  "format and {} in {} format.",
                  op, what, shape_str(in_spatial), got, name, example));
}

}  // namespace

Tensor interpolate(const Tensor& input, const InterpolateFuncOptions& options) {
  const char* op = "interpolate";
  voxgrad::detail::check_defined(input, op, "input");
  const InterpolateMode mode = options.mode();
  const bool linear = mode == kLinear || mode == kBilinear || mode == kTrilinear;
  VOXGRAD_CHECK(linear || !options.align_corners().has_value(),
                "{}: align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | "
                "trilinear",
                op);
  VOXGRAD_CHECK(input.dim() >= 3 && input.dim() <= 5,
                "{}: Input Error: Only 3D, 4D and 5D input Tensors supported (got {}D) for the modes: nearest | "
                "linear | bilinear | trilinear | area (got {})",
                op, input.dim(), interpolate_mode_name(mode));
  // The linear modes each need their own rank: linear 3-D, bilinear 4-D, trilinear 5-D.
  const std::int64_t needed = mode == kLinear ? 3 : mode == kBilinear ? 4 : 5;
  VOXGRAD_CHECK(!linear || input.dim() == needed, "{}: Got {}D input, but {} mode needs {}D input", op, input.dim(),
                interpolate_mode_name(mode), needed);
  const auto& size = options.size();
  const auto& scale = options.scale_factor();
  VOXGRAD_CHECK(size.has_value() != scale.has_value(), "{}: {} size or scale_factor should be defined", op,
                size ? "only one of" : "either");
  const std::size_t K = static_cast<std::size_t>(input.dim() - 2);
  const Shape in_spatial(input.sizes().begin() + 2, input.sizes().end());

  // The K spatial dims are the last K of three; the leading ones (size 1, unchanged, no scale) make
  // every mode a 3-D resampling of an (N, C, 1, ..., spatial) view.
  std::array<std::int64_t, 3> out{1, 1, 1};
  std::array<std::optional<double>, 3> scales;
  const std::size_t lead = 3 - K;
  if (size) {
    if (size->size() != 1 && size->size() != K) {
      throw_spatial_mismatch(op, in_spatial, "output", "output size of " + shape_str(*size), "output size",
                             "(o1, o2, ...,oK)");
    }
    VOXGRAD_CHECK(!options.recompute_scale_factor().value_or(false),
                  "{}: recompute_scale_factor is not meaningful with an explicit size.", op);
    for (std::size_t i = 0; i < K; ++i) out[lead + i] = (*size)[size->size() == 1 ? 0 : i];
  } else {
    if (scale->size() != 1 && scale->size() != K) {
      throw_spatial_mismatch(op, in_spatial, "scale_factor",
                             fmt::format("scale_factor of shape [{}]", fmt::join(*scale, ", ")), "scale_factor",
                             "(s1, s2, ...,sK)");
    }
    // Area resamples with the output size only (PyTorch's adaptive_avg_pool path).
    const bool recompute = options.recompute_scale_factor().value_or(false) || mode == kArea;
    for (std::size_t i = 0; i < K; ++i) {
      const double f = (*scale)[scale->size() == 1 ? 0 : i];
      const double product = static_cast<double>(in_spatial[i]) * f;
      // floor(in · factor), as PyTorch; a factor that gives no finite int64 size is an error here.
      VOXGRAD_CHECK(std::isfinite(product) && std::abs(product) < 9.2e18,
                    "{}: scale_factor {} gives no valid output size for an input of spatial size {}", op, f,
                    shape_str(in_spatial));
      out[lead + i] = static_cast<std::int64_t>(std::floor(product));
      if (!recompute) scales[lead + i] = f;
    }
  }
  Shape lifted{input.size(0), input.size(1), 1, 1, 1};
  for (std::size_t i = 0; i < K; ++i) lifted[2 + lead + i] = in_spatial[i];
  const Tensor x = K == 3 ? input : input.reshape(lifted);
  Tensor y;
  if (mode == kNearest) {
    y = upsample_nearest3d(x, {out[0], out[1], out[2]}, scales[0], scales[1], scales[2]);
  } else if (mode == kArea) {
    y = adaptive_avg_pool3d(x, {out[0], out[1], out[2]});
  } else {
    y = upsample_trilinear3d(x, {out[0], out[1], out[2]}, options.align_corners().value_or(false), scales[0], scales[1],
                             scales[2]);
  }
  if (K == 3) return y;
  Shape result{input.size(0), input.size(1)};
  for (std::size_t i = 0; i < K; ++i) result.push_back(out[lead + i]);
  return y.reshape(result);
}

}  // namespace nn::functional
}  // namespace voxgrad
