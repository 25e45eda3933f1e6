#pragma once
// Internal: exact distance transforms and surface voxels of binary masks on a grid of any rank, for
// the surface-distance metrics (scipy.ndimage's distance_transform_edt / distance_transform_cdt and
// binary_erosion, as MONAI uses them).

#include <cstdint>
#include <vector>

#include "voxgrad/core/shape.h"
#include "voxgrad/metrics/surface_distance.h"

namespace voxgrad::metrics::detail {

/// The distance from every voxel of a row-major grid of `sizes` to the nearest voxel where
/// `feature` is nonzero (0 on the features), in float64: Euclidean with `spacing` (one value per
/// axis) as scipy's distance_transform_edt(~feature, sampling=spacing), or chessboard / taxicab in
/// voxel steps as distance_transform_cdt (`spacing` unused). inf everywhere without a feature
/// (scipy's cdt gives -1 there). Exact: one separable pass per axis (Felzenszwalb–Huttenlocher lower
/// envelopes of parabolas for Euclidean, Meijster et al.'s for chessboard, two sweeps for taxicab),
/// lines in parallel; each voxel's value depends on nothing else, so any thread count gives the same
/// bits. The Euclidean square sums add the axes in order, as scipy does.
std::vector<double> distance_transform(const std::vector<std::uint8_t>& feature, const Shape& sizes,
                                       const std::vector<double>& spacing, DistanceMetric metric);

/// The surface of a mask on a row-major grid of `sizes`: mask XOR binary_erosion(mask) with scipy's
/// default cross structuring element (the 2·rank face neighbours) and border_value 0, i.e. the voxels
/// of the mask with a face neighbour outside it or outside the grid (MONAI's get_mask_edges).
std::vector<std::uint8_t> mask_edges(const std::vector<std::uint8_t>& mask, const Shape& sizes);

}  // namespace voxgrad::metrics::detail
