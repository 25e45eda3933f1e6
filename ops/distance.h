#pragma once
// Distances between every pair of rows of two batches of matrices (torch.cdist).

#include <optional>
#include <string_view>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// The p-norm distance ‖x1[..., i, :] − x2[..., j, :]‖_p of every pair of rows, as torch.cdist: x1 is
/// [..., P, M], x2 [..., R, M] (one float dtype; the batch dims broadcast), the result [..., P, R]. p ≥ 0
/// (0 counts the differing elements, inf takes the largest difference).
///
/// compute_mode as PyTorch's: "use_mm_for_euclid_dist_if_necessary" (the default) computes p = 2 as
/// sqrt(clamp(‖a‖² − 2 a·b + ‖b‖², 0)) with a matrix product when P > 25 or R > 25,
/// "use_mm_for_euclid_dist" always, "donot_use_mm_for_euclid_dist" never. Otherwise each distance sums
/// its terms in order, one rounding per operation, as ATen's direct kernel: the same bits for p ≠ 2, and
/// within an ulp for p = 2 (ATen's loop fuses some of its multiply-adds). Differentiable in both, twice
/// too: the direct path's gradient is a kernel of its own, and under create_graph it is built from
/// differentiable ops instead, which hold B·P·R·M elements (PyTorch 1.13 has no double backward there).
/// A zero distance gets a zero gradient, on both paths.
Tensor cdist(const Tensor& x1, const Tensor& x2, double p = 2.0,
             std::optional<std::string_view> compute_mode = std::nullopt);

}  // namespace voxgrad
