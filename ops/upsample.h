#pragma once

#include <optional>

#include "voxgrad/core/shape.h"
#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// Nearest-neighbour 3-D resampling as torch::upsample_nearest3d: input (N, C, D, H, W), float32 or
/// float64, to (N, C, output_size[0..2]). Along each dim the source of output index o is
/// min(floor(o·scale), in − 1) with scale = 1 / scales_x when that is given and positive, else
/// in / out; like PyTorch 1.13 the product is rounded to float32 before the floor. Differentiable
/// twice (the backward scatter-adds into the sources; its own gradient is the gather again). The
/// backward is the exact adjoint even where PyTorch's is not (an unchanged size with a scale factor,
/// which PyTorch's forward resamples but its backward treats as a copy).
/// Parallel over N·C; results do not depend on the thread count.
Tensor upsample_nearest3d(const Tensor& input, IntArrayRef output_size, std::optional<double> scales_d = std::nullopt,
                          std::optional<double> scales_h = std::nullopt, std::optional<double> scales_w = std::nullopt);

/// Trilinear 3-D resampling as torch::upsample_trilinear3d: input (N, C, D, H, W) to
/// (N, C, output_size[0..2]). With align_corners the corner samples of input and output coincide
/// (source o·(in − 1)/(out − 1)); otherwise the source is (o + ½)·scale − ½, clamped at 0, with
/// scale = 1 / scales_x when given, else in / out; as in PyTorch, a dim whose size is unchanged is
/// copied even when a scale factor is given. Each output mixes the two nearest sources per dim (the
/// last one twice at the border). Differentiable twice (the backward is the exact adjoint, a
/// race-free scatter per (n, c) plane).
Tensor upsample_trilinear3d(const Tensor& input, IntArrayRef output_size, bool align_corners,
                            std::optional<double> scales_d = std::nullopt,
                            std::optional<double> scales_h = std::nullopt,
                            std::optional<double> scales_w = std::nullopt);

}  // namespace voxgrad
