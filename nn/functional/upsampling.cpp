#include "voxgrad/nn/functional/upsampling.h"

#include <array>
#include <cmath>
#include <string>

#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/upsample.h"

namespace voxgrad {

const char* interpolate_mode_name(InterpolateMode mode) {
  return mode == InterpolateMode::Nearest ? "nearest" : "trilinear";
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
  VOXGRAD_CHECK(mode != kNearest || !options.align_corners().has_value(),
                "{}: align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | "
                "trilinear",
                op);
  VOXGRAD_CHECK(input.dim() == 5,
                "{}: Got {}D input, but {} mode here resamples 3 spatial dims and needs 5D input (N, C, D, H, W)", op,
                input.dim(), interpolate_mode_name(mode));
  const auto& size = options.size();
  const auto& scale = options.scale_factor();
  VOXGRAD_CHECK(size.has_value() != scale.has_value(), "{}: {} size or scale_factor should be defined", op,
                size ? "only one of" : "either");
  const Shape in_spatial{input.size(2), input.size(3), input.size(4)};

  std::array<std::int64_t, 3> out{};
  std::array<std::optional<double>, 3> scales;
  if (size) {
    if (size->size() != 1 && size->size() != 3) {
      throw_spatial_mismatch(op, in_spatial, "output", "output size of " + shape_str(*size), "output size",
                             "(o1, o2, ...,oK)");
    }
    VOXGRAD_CHECK(!options.recompute_scale_factor().value_or(false),
                  "{}: recompute_scale_factor is not meaningful with an explicit size.", op);
    for (std::size_t i = 0; i < 3; ++i) out[i] = (*size)[size->size() == 1 ? 0 : i];
  } else {
    if (scale->size() != 1 && scale->size() != 3) {
      throw_spatial_mismatch(op, in_spatial, "scale_factor",
                             fmt::format("scale_factor of shape [{}]", fmt::join(*scale, ", ")), "scale_factor",
                             "(s1, s2, ...,sK)");
    }
    const bool recompute = options.recompute_scale_factor().value_or(false);
    for (std::size_t i = 0; i < 3; ++i) {
      const double f = (*scale)[scale->size() == 1 ? 0 : i];
      const double product = static_cast<double>(in_spatial[i]) * f;
      // floor(in · factor), as PyTorch; a factor that gives no finite int64 size is an error here.
      VOXGRAD_CHECK(std::isfinite(product) && std::abs(product) < 9.2e18,
                    "{}: scale_factor {} gives no valid output size for an input of spatial size {}", op, f,
                    shape_str(in_spatial));
      out[i] = static_cast<std::int64_t>(std::floor(product));
      if (!recompute) scales[i] = f;
    }
  }
  if (mode == kNearest) return upsample_nearest3d(input, {out[0], out[1], out[2]}, scales[0], scales[1], scales[2]);
  return upsample_trilinear3d(input, {out[0], out[1], out[2]}, options.align_corners().value_or(false), scales[0],
                              scales[1], scales[2]);
}

}  // namespace nn::functional
}  // namespace voxgrad
