#pragma once

#include <array>
#include <cstdint>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// Padding modes for pad() and Conv modules, as in PyTorch.
enum class PaddingMode { Zeros, Reflect, Replicate, Circular };
/// libtorch-style names: kZeros, kReflect, kReplicate, kCircular.
inline constexpr PaddingMode kZeros = PaddingMode::Zeros;
inline constexpr PaddingMode kReflect = PaddingMode::Reflect;      ///< Mirror without the edge.
inline constexpr PaddingMode kReplicate = PaddingMode::Replicate;  ///< Repeat the edge.
inline constexpr PaddingMode kCircular = PaddingMode::Circular;    ///< Wrap around.
/// "zeros", "reflect", "replicate" or "circular".
const char* padding_mode_name(PaddingMode mode);

/// Pads the last 3 dims of a 4-D or 5-D tensor by (before, after) amounts per dim, given as
/// {d_before, d_after, h_before, h_after, w_before, w_after} (note: PyTorch's F.pad lists the last
/// dim first; this takes depth first). Differentiable for every mode.
Tensor pad3d(const Tensor& input, const std::array<std::int64_t, 6>& pads, PaddingMode mode = kZeros);

}  // namespace voxgrad
