#include "voxgrad/nn/functional/attention.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "voxgrad/core/detail/checks.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/nn/functional/activation.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/indexing.h"
#include "voxgrad/ops/join_split.h"
#include "voxgrad/ops/linalg.h"
#include "voxgrad/ops/reduction.h"
#include "voxgrad/ops/repeat.h"
#include "voxgrad/ops/softmax.h"

namespace voxgrad::nn::functional {

namespace {

constexpr const char* kOp = "multi_head_attention_forward";
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string shape_or_undefined(const Tensor& t) { return t.defined() ? shape_str(t.sizes()) : "undefined"; }

void check_shape(const Tensor& t, const Shape& expected, const char* name) {
  VOXGRAD_CHECK(t.defined() && t.sizes() == expected, "{}: expected {} of shape {}, but got {}", kOp, name,
                shape_str(expected), shape_or_undefined(t));
}

void check_mask_dtype(const Tensor& mask, DType dtype, const char* name) {
  VOXGRAD_CHECK(mask.dtype() == kInt64 || mask.dtype() == dtype,
                "{}: expected {} to be an int64 0/1 mask or a float mask of the query's dtype {}, but got {}", kOp,
                name, dtype, mask.dtype());
  if (mask.dtype() != kInt64) return;
  const Tensor c = mask.contiguous();
  const std::int64_t* p = c.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < c.numel(); ++i) {
    VOXGRAD_CHECK(p[i] == 0 || p[i] == 1,
                  "{}: an int64 {} must hold only 0 and 1 (PyTorch's bool mask), but element {} of its shape {} is {}",
                  kOp, name, i, shape_str(mask.sizes()), p[i]);
  }
}

// One more source position that every query may attend: a 0 (allowed) appended along the last dim.
Tensor allow_one_more(const Tensor& mask) {
  if (!mask.defined()) return mask;
  Shape shape = mask.sizes();
  shape.back() = 1;
  return voxgrad::cat({mask, zeros(shape, mask.dtype())}, -1);
}

// PyTorch's conversion of a bool mask: 0 where allowed, −inf where the int64 mask holds 1.
Tensor additive(const Tensor& mask, DType dtype) {
  if (!mask.defined() || mask.dtype() != kInt64) return mask;
  return voxgrad::masked_fill(zeros(mask.sizes(), dtype), mask, -kInf);
}

// Rank checks of PyTorch's _mha_shape_check; returns whether the input is batched.
bool check_ranks(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& key_padding_mask,
                 const Tensor& attn_mask, std::int64_t num_heads) {
  const std::int64_t rank = query.dim();
  VOXGRAD_CHECK(rank == 2 || rank == 3,
                "{}: query should be an unbatched 2-D or batched 3-D tensor, but got a {}-D query of shape {}", kOp,
                rank, shape_str(query.sizes()));
  const char* kind = rank == 3 ? "batched (3-D)" : "unbatched (2-D)";
  VOXGRAD_CHECK(key.dim() == rank && value.dim() == rank,
                "{}: for a {} query, expected key and value to be {}-D, but got shapes {} and {}", kOp, kind, rank,
                shape_str(key.sizes()), shape_str(value.sizes()));
  if (key_padding_mask.defined()) {
    VOXGRAD_CHECK(key_padding_mask.dim() == rank - 1,
                  "{}: for a {} query, expected key_padding_mask to be {}-D, but got shape {}", kOp, kind, rank - 1,
                  shape_str(key_padding_mask.sizes()));
  }
  if (attn_mask.defined()) {
    VOXGRAD_CHECK(attn_mask.dim() == 2 || attn_mask.dim() == 3,
                  "{}: expected attn_mask to be 2-D or 3-D, but got shape {}", kOp, shape_str(attn_mask.sizes()));
    if (rank == 2 && attn_mask.dim() == 3) {
      check_shape(attn_mask, {num_heads, query.size(0), key.size(0)}, "a 3-D attn_mask (unbatched query)");
    }
  }
  return rank == 3;
}

// The tensors in the options: each of the query's dtype; the output projection (E, E) and (E); without
// separate projections, key and value of E features (the packed weight's).
void check_parameters(const MultiheadAttentionForwardFuncOptions& o, DType dtype, std::int64_t embed_dim,
                      const Tensor& key, const Tensor& value) {
  const std::pair<const char*, const Tensor*> named[] = {{"in_proj_weight", &o.in_proj_weight()},
                                                         {"in_proj_bias", &o.in_proj_bias()},
                                                         {"q_proj_weight", &o.q_proj_weight()},
                                                         {"k_proj_weight", &o.k_proj_weight()},
                                                         {"v_proj_weight", &o.v_proj_weight()},
                                                         {"bias_k", &o.bias_k()},
                                                         {"bias_v", &o.bias_v()},
                                                         {"out_proj_weight", &o.out_proj_weight()},
                                                         {"out_proj_bias", &o.out_proj_bias()},
                                                         {"static_k", &o.static_k()},
                                                         {"static_v", &o.static_v()}};
  for (const auto& [name, t] : named) {
    VOXGRAD_CHECK(!t->defined() || t->dtype() == dtype, "{}: expected {} of the query's dtype {}, but got {}", kOp,
                  name, dtype, t->dtype());
  }
  check_shape(o.out_proj_weight(), {embed_dim, embed_dim}, "out_proj_weight");
  if (o.out_proj_bias().defined()) check_shape(o.out_proj_bias(), {embed_dim}, "out_proj_bias");
  if (!o.use_separate_proj_weight()) {
    VOXGRAD_CHECK(key.size(-1) == embed_dim && value.size(-1) == embed_dim,
                  "{}: expected key and value of embed_dim {} features (other sizes need use_separate_proj_weight), "
                  "but got key {} and value {}",
                  kOp, embed_dim, shape_str(key.sizes()), shape_str(value.sizes()));
  }
}

struct Projected {
  Tensor q, k, v;
};

// The input projections (PyTorch's _in_projection_packed / _in_projection), each (seq, N, E).
Projected project(const Tensor& query, const Tensor& key, const Tensor& value,
                  const MultiheadAttentionForwardFuncOptions& o, std::int64_t embed_dim) {
  const Tensor& b = o.in_proj_bias();
  if (b.defined()) check_shape(b, {3 * embed_dim}, "in_proj_bias");
  const std::vector<Tensor> bs = b.defined() ? voxgrad::chunk(b, 3) : std::vector<Tensor>(3);
  if (o.use_separate_proj_weight()) {
    check_shape(o.q_proj_weight(), {embed_dim, embed_dim}, "q_proj_weight");
    check_shape(o.k_proj_weight(), {embed_dim, key.size(-1)}, "k_proj_weight");
    check_shape(o.v_proj_weight(), {embed_dim, value.size(-1)}, "v_proj_weight");
    return {linear(query, o.q_proj_weight(), bs[0]), linear(key, o.k_proj_weight(), bs[1]),
            linear(value, o.v_proj_weight(), bs[2])};
  }
  check_shape(o.in_proj_weight(), {3 * embed_dim, embed_dim}, "in_proj_weight (or use_separate_proj_weight)");
  const Tensor& w = o.in_proj_weight();
  if (key.is_same(value)) {
    if (query.is_same(key)) {  // self-attention: one product for q, k and v
      const std::vector<Tensor> qkv = voxgrad::chunk(linear(query, w, b), 3, -1);
      return {qkv[0], qkv[1], qkv[2]};
    }
    // Encoder-decoder attention: one product for k and v.
    const std::vector<Tensor> ws = voxgrad::split(w, {embed_dim, 2 * embed_dim});
    const std::vector<Tensor> bqkv =
        b.defined() ? voxgrad::split(b, {embed_dim, 2 * embed_dim}) : std::vector<Tensor>(2);
    const std::vector<Tensor> kv = voxgrad::chunk(linear(key, ws[1], bqkv[1]), 2, -1);
    return {linear(query, ws[0], bqkv[0]), kv[0], kv[1]};
  }
  const std::vector<Tensor> ws = voxgrad::chunk(w, 3);
  return {linear(query, ws[0], bs[0]), linear(key, ws[1], bs[1]), linear(value, ws[2], bs[2])};
}

// (seq, N, E) → (N·H, seq, E / H), the heads of a sample next to each other (index n·H + h); or the
// static tensor given for it, checked.
Tensor heads(const Tensor& x, const Tensor& given, std::int64_t batch_heads, std::int64_t head_dim, const char* name) {
  if (given.defined()) {
    VOXGRAD_CHECK(given.dim() == 3 && given.size(0) == batch_heads && given.size(2) == head_dim,
                  "{}: expected {} of shape ({}, S, {}), but got {}", kOp, name, batch_heads, head_dim,
                  shape_str(given.sizes()));
    return given;
  }
  return x.contiguous().view({x.size(0), batch_heads, head_dim}).transpose(0, 1);
}

}  // namespace

std::tuple<Tensor, Tensor> multi_head_attention_forward(const Tensor& query_in, const Tensor& key_in,
                                                        const Tensor& value_in,
                                                        const MultiheadAttentionForwardFuncOptions& o) {
  voxgrad::detail::check_defined(query_in, kOp, "query");
  voxgrad::detail::check_defined(key_in, kOp, "key");
  voxgrad::detail::check_defined(value_in, kOp, "value");
  voxgrad::detail::check_defined(o.out_proj_weight(), kOp, "out_proj_weight");
  if (!is_floating_point(query_in.dtype())) voxgrad::detail::throw_not_floating(query_in.dtype(), kOp, "query");
  VOXGRAD_CHECK(key_in.dtype() == query_in.dtype() && value_in.dtype() == query_in.dtype(),
                "{}: expected query, key and value of one dtype, but got {}, {} and {}", kOp, query_in.dtype(),
                key_in.dtype(), value_in.dtype());
  const std::int64_t num_heads = o.num_heads();
  VOXGRAD_CHECK(num_heads > 0, "{}: num_heads must be positive, but got {}", kOp, num_heads);
  VOXGRAD_CHECK(o.dropout_p() >= 0.0 && o.dropout_p() <= 1.0,
                "{}: dropout_p must be a probability in [0, 1], but got {}", kOp, o.dropout_p());
  Tensor key_padding_mask = o.key_padding_mask();
  Tensor attn_mask = o.attn_mask();
  const bool batched = check_ranks(query_in, key_in, value_in, key_padding_mask, attn_mask, num_heads);
  // Unbatched inputs run as a batch of one (views that keep the inputs' identities apart as given).
  const auto batch_of = [&](const Tensor& t, const Tensor& like, const Tensor& same) {
    return t.is_same(like) ? same : t.unsqueeze(1);
  };
  Tensor query = batched ? query_in : query_in.unsqueeze(1);
  Tensor key = batched ? key_in : batch_of(key_in, query_in, query);
  Tensor value = batched ? value_in : batch_of(value_in, key_in, key);
  if (!batched && key_padding_mask.defined()) key_padding_mask = key_padding_mask.unsqueeze(0);

  const std::int64_t tgt_len = query.size(0);
  const std::int64_t batch = query.size(1);
  const std::int64_t embed_dim = query.size(2);
  VOXGRAD_CHECK(embed_dim == o.embed_dim_to_check(), "{}: was expecting embedding dimension of {}, but got {}", kOp,
                o.embed_dim_to_check(), embed_dim);
  const std::int64_t head_dim = embed_dim / num_heads;
  VOXGRAD_CHECK(head_dim * num_heads == embed_dim, "{}: embed_dim {} not divisible by num_heads {}", kOp, embed_dim,
                num_heads);
  if (o.use_separate_proj_weight()) {
    VOXGRAD_CHECK(key.size(0) == value.size(0) && key.size(1) == value.size(1),
                  "{}: key's sequence and batch dims must match value's, but got key {} and value {}", kOp,
                  shape_str(key.sizes()), shape_str(value.sizes()));
  } else {
    VOXGRAD_CHECK(key.sizes() == value.sizes(), "{}: key shape {} does not match value shape {}", kOp,
                  shape_str(key.sizes()), shape_str(value.sizes()));
  }
  VOXGRAD_CHECK(key.size(1) == batch, "{}: expected key and value with the query's batch size {}, but got key {}", kOp,
                batch, shape_str(key.sizes()));
  const DType dtype = query.dtype();
  check_parameters(o, dtype, embed_dim, key, value);
  Projected p = project(query, key, value, o, embed_dim);

  if (attn_mask.defined()) {
    check_mask_dtype(attn_mask, dtype, "attn_mask");
    const std::int64_t src_len = key.size(0);
    if (attn_mask.dim() == 2) {
      VOXGRAD_CHECK(attn_mask.sizes() == Shape({tgt_len, src_len}),
                    "{}: the shape of the 2-D attn_mask is {}, but should be ({}, {})", kOp,
                    shape_str(attn_mask.sizes()), tgt_len, src_len);
      attn_mask = attn_mask.unsqueeze(0);
    } else {
      VOXGRAD_CHECK(attn_mask.sizes() == Shape({batch * num_heads, tgt_len, src_len}),
                    "{}: the shape of the 3-D attn_mask is {}, but should be ({}, {}, {})", kOp,
                    shape_str(attn_mask.sizes()), batch * num_heads, tgt_len, src_len);
    }
  }
  if (key_padding_mask.defined()) check_mask_dtype(key_padding_mask, dtype, "key_padding_mask");

  VOXGRAD_CHECK(o.bias_k().defined() == o.bias_v().defined(),
                "{}: bias_k and bias_v must be given together, but got {} and {}", kOp,
                o.bias_k().defined() ? "bias_k" : "no bias_k", o.bias_v().defined() ? "bias_v" : "no bias_v");
  if (o.bias_k().defined()) {
    VOXGRAD_CHECK(!o.static_k().defined() && !o.static_v().defined(),
                  "{}: bias_k and bias_v cannot be used with static_k or static_v", kOp);
    check_shape(o.bias_k(), {1, 1, embed_dim}, "bias_k");
    check_shape(o.bias_v(), {1, 1, embed_dim}, "bias_v");
    p.k = voxgrad::cat({p.k, voxgrad::repeat(o.bias_k(), {1, batch, 1})});
    p.v = voxgrad::cat({p.v, voxgrad::repeat(o.bias_v(), {1, batch, 1})});
    attn_mask = allow_one_more(attn_mask);
    key_padding_mask = allow_one_more(key_padding_mask);
  }

  const std::int64_t batch_heads = batch * num_heads;
  Tensor q = heads(p.q, Tensor(), batch_heads, head_dim, "query");
  Tensor k = heads(p.k, o.static_k(), batch_heads, head_dim, "static_k");
  Tensor v = heads(p.v, o.static_v(), batch_heads, head_dim, "static_v");
  if (o.add_zero_attn()) {
    k = voxgrad::cat({k, zeros({batch_heads, 1, head_dim}, dtype)}, 1);
    v = voxgrad::cat({v, zeros({batch_heads, 1, head_dim}, dtype)}, 1);
    attn_mask = allow_one_more(attn_mask);
    key_padding_mask = allow_one_more(key_padding_mask);
  }
  const std::int64_t src_len = k.size(1);
  VOXGRAD_CHECK(v.size(1) == src_len,
                "{}: keys and values must have one source length, but got {} keys and {} values (static_k, static_v)",
                kOp, src_len, v.size(1));

  // Merge the key padding mask into the attention mask, then make it additive.
  if (key_padding_mask.defined()) {
    VOXGRAD_CHECK(key_padding_mask.sizes() == Shape({batch, src_len}),
                  "{}: expecting key_padding_mask shape of ({}, {}), but got {}", kOp, batch, src_len,
                  shape_str(key_padding_mask.sizes()));
    const Tensor per_head = key_padding_mask.view({batch, 1, 1, src_len})
                                .expand({batch, num_heads, 1, src_len})
                                .reshape({batch_heads, 1, src_len});
    if (!attn_mask.defined()) {
      attn_mask = per_head;
    } else if (per_head.dtype() == kInt64) {
      attn_mask = voxgrad::masked_fill(additive(attn_mask, dtype), per_head, -kInf);
    } else {
      attn_mask = additive(attn_mask, dtype) + per_head;
    }
  }
  attn_mask = additive(attn_mask, dtype);

  // Scaled dot-product attention (PyTorch's _scaled_dot_product_attention): the mask is added to the
  // scores as baddbmm does.
  const Tensor scaled = q / std::sqrt(static_cast<double>(head_dim));
  Tensor scores = voxgrad::bmm(scaled, k.transpose(-2, -1));
  if (attn_mask.defined()) scores = attn_mask + scores;
  Tensor weights = voxgrad::softmax(scores, -1);
  const double dropout_p = o.training() ? o.dropout_p() : 0.0;
  if (dropout_p > 0.0) weights = dropout(weights, DropoutFuncOptions().p(dropout_p));
  Tensor out = voxgrad::bmm(weights, v);
  out = out.transpose(0, 1).contiguous().view({tgt_len * batch, embed_dim});
  out = linear(out, o.out_proj_weight(), o.out_proj_bias()).view({tgt_len, batch, embed_dim});
  if (!batched) out = out.squeeze(1);
  if (!o.need_weights()) return {out, Tensor()};
  weights = weights.view({batch, num_heads, tgt_len, src_len});
  if (o.average_attn_weights()) weights = voxgrad::sum(weights, {1}) / static_cast<double>(num_heads);
  if (!batched) weights = weights.squeeze(0);
  return {out, weights};
}

}  // namespace voxgrad::nn::functional
