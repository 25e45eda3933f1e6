#pragma once
// Internal: option checks that an nn module and its functional form share.

namespace voxgrad::nn::detail {

/// Throws "{op}: dropout probability has to be between 0 and 1, but got {p}" unless 0 <= p <= 1.
void check_dropout_probability(double p, const char* op);

}  // namespace voxgrad::nn::detail
