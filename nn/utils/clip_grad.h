#pragma once

#include <limits>
#include <vector>

#include "voxgrad/core/tensor.h"

namespace voxgrad::nn::utils {

/// Scales the gradients of `parameters` in place so that their total norm (the norm of the vector
/// of every gradient's norm, i.e. of all gradient elements together) is at most `max_norm`, as
/// torch.nn.utils.clip_grad_norm_: each gradient is multiplied by min(1, max_norm / (total + 1e-6)).
/// Returns the total norm before clipping (0 if no parameter has a gradient). norm_type is p > 0 or
/// infinity (the largest |g|). With error_if_nonfinite, a NaN or infinite total norm throws
/// voxgrad::Error and leaves the gradients alone. Norms are accumulated in float64.
double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
/// clip_grad_norm_ of one parameter.
double clip_grad_norm_(const Tensor& parameter, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

/// Clamps every gradient element of `parameters` into [−clip_value, clip_value] in place, as
/// torch.nn.utils.clip_grad_value_ (parameters without a gradient are skipped).
void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value);
/// clip_grad_value_ of one parameter.
void clip_grad_value_(const Tensor& parameter, double clip_value);

}  // namespace voxgrad::nn::utils
