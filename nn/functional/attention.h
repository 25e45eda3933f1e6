#pragma once
// F::multi_head_attention_forward: scaled dot-product attention over several heads, with PyTorch's
// projections, masks, extra key/value positions and weight averaging.

#include <tuple>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/options/attention.h"

namespace voxgrad::nn::functional {

/// Multi-head attention as torch.nn.functional.multi_head_attention_forward (PyTorch 1.13): query (L, N, E),
/// key (S, N, kdim), value (S, N, vdim), or unbatched (L, E), (S, kdim), (S, vdim). Per head h:
/// softmax(q_h·k_hᵀ / √(E / num_heads) + mask)·v_h, the heads concatenated and projected by
/// out_proj. Returns the output (L, N, E) (unbatched: (L, E)) and, with need_weights, the attention
/// weights after dropout: (N, L, S′) averaged over the heads or (N, num_heads, L, S′) (S′ counts the bias_k
/// and zero positions); else an undefined tensor.
///
/// Masks: voxgrad has no bool dtype, so an int64 mask of 0/1 plays PyTorch's bool mask (1: not attended,
/// −inf in the scores) and a float mask of the query's dtype is added to the scores. An int64
/// key_padding_mask with an int64 attn_mask masks where either is 1, with a float attn_mask it fills −inf
/// where it is 1, as PyTorch; a float key_padding_mask is always added to the scores (PyTorch 1.13 adds it
/// when alone, counts its non-zeros as masked next to a bool attn_mask, and refuses it next to a float one).
/// Query, key and value given as one tensor (self-attention), or key and value as one, share one matrix
/// product of the packed projection, as PyTorch's batched path does (PyTorch's unbatched path projects
/// them apart: the same values up to the GEMM's rounding).
std::tuple<Tensor, Tensor> multi_head_attention_forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                        const MultiheadAttentionForwardFuncOptions& options);

}  // namespace voxgrad::nn::functional
