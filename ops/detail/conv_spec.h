#pragma once
// Internal: one convolution call as its caller made it, and the one place that validates it.
//
// conv1d … conv3d and conv_transpose1d … conv_transpose3d (functional and ops forms) all describe
// their call as a ConvSpec: the op's name and rank for messages, and the hyper-parameters lifted to
// three dims (a 1-D or 2-D call's leading dims get stride 1, padding 0, dilation 1, kernel 1, size 1,
// so they pass through unchanged). check_conv() validates the call against the caller's own shapes,
// so messages show what the caller passed, and returns the conv3d-form geometry the kernels run.
// Every conv error message is written once, here.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "voxgrad/core/shape.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/ops/detail/conv_geometry.h"

namespace voxgrad::detail {

/// A convolution call (see the file comment).
struct ConvSpec {
  const char* op = "conv3d";  ///< "conv2d", "conv_transpose3d", or a module's class name
  int rank = 3;               ///< spatial dims as the caller gave them: 1, 2 or 3
  bool transposed = false;
  bool same = false;  ///< padding='same': the padding follows from the kernel (stride 1 only)
  Dims stride{1, 1, 1}, padding{0, 0, 0}, dilation{1, 1, 1}, output_padding{0, 0, 0};
  std::int64_t groups = 1;
};

/// D per-dim values as the last D of three, `fill` before them.
template <std::size_t D>
Dims lift(const std::array<std::int64_t, D>& values, std::int64_t fill) {
  Dims r;
  r.fill(fill);
  for (std::size_t i = 0; i < D; ++i) r[3 - D + i] = values[i];
  return r;
}

/// The last `rank` values as PyTorch prints a tuple: "(2, 2)", "(3,)".
std::string tuple_str(const Dims& d, int rank);

/// Checks the hyper-parameters alone: groups > 0; per dim stride > 0, padding ≥ 0, dilation > 0;
/// output_padding ≥ 0 and smaller than its stride or its dilation; 'same' only at stride 1.
/// Module constructors call it for their options, with s.op their class name.
void check_conv_hyper_parameters(const ConvSpec& s);

/// Checks that every kernel size is positive (module options, output_size).
void check_conv_kernel_size(const char* op, int rank, const Dims& kernel_size);

/// Checks that a rank-D convolution's input shape has D + 1 (unbatched) or D + 2 (batched) dims.
void check_conv_input_rank(const char* op, int rank, IntArrayRef input_sizes);

/// The error for negative padding, shared by pad3d: "<op>: negative padding is not supported (got
/// <shown>)".
[[noreturn]] void throw_negative_padding(const char* op, const std::string& shown);

/// What check_conv() found: the conv3d-form geometry (conv_geometry.h), whether the input was
/// batched, and for 'same' with an odd total padding the planes to drop at the front of each dim
/// (the padding is then rounded up on both sides instead of adding the odd zero at the end).
struct ConvPlan {
  ConvGeometry geometry;
  bool batched = true;
  Dims trim{};
  Dims result{};  ///< spatial size of the result, lifted
};

/// Validates every argument of the call — shapes, dtypes, groups, bias, the output size in
/// overflow-checked int64 — before anything is allocated.
ConvPlan check_conv(const ConvSpec& s, const Tensor& input, const Tensor& weight, const Tensor& bias);

/// The geometry of conv3d_weight_grad(input, grad_output, kernel_size, …), validated.
ConvGeometry check_conv_weight_grad(const ConvSpec& s, const Tensor& input, const Tensor& grad_output,
                                    const Dims& kernel_size);

/// The output_padding (lifted) that makes a transposed convolution of an input of `input_sizes`
/// produce `output_size` (rank spatial sizes, or a full shape), validated.
Dims conv_transpose_output_padding(const ConvSpec& s, IntArrayRef input_sizes, IntArrayRef output_size,
                                   const Dims& kernel_size);

/// The one entry point of every convolution: validates (check_conv), lifts the caller's tensors to
/// 5-D, computes with autograd recorded, and returns the result in the caller's rank.
Tensor convolution(const ConvSpec& s, const Tensor& input, const Tensor& weight, const Tensor& bias);

/// `t` with 3 − rank size-1 dims inserted at `spatial_start`, and its inverse.
Tensor lift_spatial(const Tensor& t, int rank, std::int64_t spatial_start);
Tensor drop_spatial(const Tensor& t, int rank, std::int64_t spatial_start);

}  // namespace voxgrad::detail
