#include "voxgrad/nn/modules/attention.h"

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/nn/functional/attention.h"
#include "voxgrad/nn/init.h"

namespace voxgrad::nn {

MultiheadAttentionImpl::MultiheadAttentionImpl(const MultiheadAttentionOptions& options) : options_(options) {
  const std::int64_t e = options_.embed_dim();
  const std::int64_t h = options_.num_heads();
  VOXGRAD_CHECK(e > 0 && h > 0,
                "MultiheadAttention: embed_dim and num_heads must be positive (got embed_dim={}, num_heads={})", e, h);
  VOXGRAD_CHECK(e % h == 0,
                "MultiheadAttention: embed_dim must be divisible by num_heads (got embed_dim={}, "
                "num_heads={})",
                e, h);
  VOXGRAD_CHECK(options_.kdim() > 0 && options_.vdim() > 0,
                "MultiheadAttention: kdim and vdim must be positive (got kdim={}, vdim={})", options_.kdim(),
                options_.vdim());
  VOXGRAD_CHECK(options_.dropout() >= 0.0 && options_.dropout() <= 1.0,
                "MultiheadAttention: dropout must be a probability in [0, 1], but got {}", options_.dropout());
  reset();
}

bool MultiheadAttentionImpl::same_embed_dim() const {
  return options_.kdim() == options_.embed_dim() && options_.vdim() == options_.embed_dim();
}

void MultiheadAttentionImpl::reset() {
  const std::int64_t e = options_.embed_dim();
  head_dim = e / options_.num_heads();
  // Registered in PyTorch's order, so named_parameters() lists the same names in the same order.
  if (same_embed_dim()) {
    in_proj_weight = register_parameter("in_proj_weight", voxgrad::empty({3 * e, e}));
  } else {
    q_proj_weight = register_parameter("q_proj_weight", voxgrad::empty({e, e}));
    k_proj_weight = register_parameter("k_proj_weight", voxgrad::empty({e, options_.kdim()}));
    v_proj_weight = register_parameter("v_proj_weight", voxgrad::empty({e, options_.vdim()}));
  }
  if (options_.bias()) in_proj_bias = register_parameter("in_proj_bias", voxgrad::empty({3 * e}));
  out_proj = register_module("out_proj", Linear(LinearOptions(e, e).bias(options_.bias())));
  if (options_.add_bias_kv()) {
    bias_k = register_parameter("bias_k", voxgrad::empty({1, 1, e}));
    bias_v = register_parameter("bias_v", voxgrad::empty({1, 1, e}));
  }
  reset_parameters();
}

void MultiheadAttentionImpl::reset_parameters() {
  NoGradGuard no_grad;
  for (Tensor* w : {&in_proj_weight, &q_proj_weight, &k_proj_weight, &v_proj_weight}) {
    if (w->defined()) init::xavier_uniform_(*w);
  }
  if (in_proj_bias.defined()) {
    init::zeros_(in_proj_bias);
    init::zeros_(out_proj->bias);
  }
  if (bias_k.defined()) init::xavier_normal_(bias_k);
  if (bias_v.defined()) init::xavier_normal_(bias_v);
}

std::tuple<Tensor, Tensor> MultiheadAttentionImpl::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                           const Tensor& key_padding_mask, bool need_weights,
                                                           const Tensor& attn_mask, bool average_attn_weights) {
  const bool same = same_embed_dim();
  auto options = functional::MultiheadAttentionForwardFuncOptions(
                     options_.embed_dim(), options_.num_heads(), in_proj_weight, in_proj_bias, bias_k, bias_v,
                     options_.add_zero_attn(), options_.dropout(), out_proj->weight, out_proj->bias)
                     .training(is_training())
                     .key_padding_mask(key_padding_mask)
                     .need_weights(need_weights)
                     .attn_mask(attn_mask)
                     .average_attn_weights(average_attn_weights);
  if (!same) {
    options.use_separate_proj_weight(true)
        .q_proj_weight(q_proj_weight)
        .k_proj_weight(k_proj_weight)
        .v_proj_weight(v_proj_weight);
  }
  if (!options_.batch_first() || query.dim() != 3) {
    return functional::multi_head_attention_forward(query, key, value, options);
  }
  // (N, seq, E) in and out: the inputs transposed, one view for a tensor passed twice, so that the
  // shared projections of self- and encoder-decoder attention still apply.
  const Tensor q = query.transpose(0, 1);
  const Tensor k = key.is_same(query) ? q : key.transpose(0, 1);
  const Tensor v = value.is_same(key) ? k : value.transpose(0, 1);
  auto [out, weights] = functional::multi_head_attention_forward(q, k, v, options);
  return {out.transpose(0, 1), weights};
}

}  // namespace voxgrad::nn
