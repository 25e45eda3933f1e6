#pragma once

#include <string_view>
#include <vector>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// Einstein summation, as torch.einsum: `equation` gives each operand's dims a letter (a–z, A–Z; spaces ignored),
/// operands separated by commas, optionally followed by "->" and the output's letters. The result multiplies the
/// operands elementwise over every letter and sums out the letters the output does not name:
/// einsum("ij,jk->ik", {a, b}) is a matrix product, einsum("ii", {a}) a trace, einsum("bij,bkj->bik", …) batched.
/// - A letter repeated within one operand takes its diagonal ("ii->i").
/// - Without "->" the output is the letters that occur exactly once, A–Z before a–z (torch's order), after the
///   ellipsis dims.
/// - "..." stands for the dims no letter names, aligned from the right across operands and broadcast; without
///   "->" they lead the output, with "->" they are summed out unless the output has "...".
/// - A letter's size must agree across operands, or be 1 there (it broadcasts).
/// Operands are contracted left to right, two at a time, each pair as a batched matrix product (torch's order
/// without opt_einsum); every step is differentiable. float32 operands with a float64 one are promoted to
/// float64, where torch 1.13 raises. Errors name the equation, the operand and the sizes.
Tensor einsum(std::string_view equation, const std::vector<Tensor>& operands);

}  // namespace voxgrad
