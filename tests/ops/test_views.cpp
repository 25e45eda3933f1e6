// Every public op that takes tensors, run with each tensor argument passed as a view (views_harness.h)
// and compared with the same op on contiguous copies holding the same values: the output and the
// gradients w.r.t. every differentiable argument.
//
// One table (cases()) covers elementwise ops with broadcasting, where/clamp/comparisons, reductions,
// shape ops, linalg, softmax, pooling, upsampling, pad3d, conv (ops and nn::functional 1-D/2-D/3-D,
// transposed, conv3d_weight_grad), activations, losses and normalization. test_views_state.cpp covers
// the in-place ops, the *_like factories, optimizer steps and gradient clipping with viewed parameters
// and gradients, gradcheck, checkpoints and printing.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest-spi.h>

#include "views_harness.h"

namespace {

using namespace voxgrad::testing::views;

std::vector<OpCase> cases() {
  using V = const std::vector<Tensor>&;
  std::vector<OpCase> t;
  auto op = [&](std::string name, std::vector<ArgSpec> args, Fn fn, double tol = 1e-12) {
    t.push_back({std::move(name), std::move(args), std::move(fn), tol});
  };
  const Shape s3{3, 4, 5};

  // --- elementwise, unary -------------------------------------------------------------------------
  op("neg", {arg(s3)}, [](V a) { return neg(a[0]); });
  op("operator- (unary)", {arg(s3)}, [](V a) { return -a[0]; });
  op("exp", {arg(s3)}, [](V a) { return exp(a[0]); });
  op("log", {pos(s3)}, [](V a) { return log(a[0]); });
  op("sqrt", {pos(s3)}, [](V a) { return sqrt(a[0]); });
  op("abs", {arg(s3)}, [](V a) { return abs(a[0]); });
  op("sign", {arg(s3)}, [](V a) { return sign(a[0]); });
  op("relu", {arg(s3)}, [](V a) { return relu(a[0]); });
  op("leaky_relu", {arg(s3)}, [](V a) { return leaky_relu(a[0], 0.2); });
  op("sigmoid", {arg(s3)}, [](V a) { return sigmoid(a[0]); });
  op("tanh", {arg(s3)}, [](V a) { return tanh(a[0]); });
  op("erf", {arg(s3)}, [](V a) { return erf(a[0]); });
  op("log1p", {pos(s3)}, [](V a) { return log1p(a[0]); });
  op("expm1", {arg(s3)}, [](V a) { return expm1(a[0]); });
  op("sin", {arg(s3)}, [](V a) { return sin(a[0]); });
  op("cos", {arg(s3)}, [](V a) { return cos(a[0]); });
  op("tan/atan/sinh/cosh/asinh", {arg(s3)},
     [](V a) { return tan(a[0]) + a[0].atan() * 2.0 + sinh(a[0]) * 4.0 + a[0].cosh() * 8.0 + asinh(a[0]) * 16.0; });
  op("asin/acos/atanh", {arg(s3)},
     [](V a) { return asin(a[0] * 0.9) + (a[0] * 0.9).acos() * 2.0 + atanh(a[0] * 0.9); });
  op("acosh", {pos(s3)}, [](V a) { return acosh(a[0] + 0.6); });
  op("reciprocal", {pos(s3)}, [](V a) { return reciprocal(a[0]); });
  op("rsqrt", {pos(s3)}, [](V a) { return rsqrt(a[0]); });
  op("floor/ceil/round/trunc", {arg(s3)}, [](V a) {
    return floor(a[0] * 3.0) + ceil(a[0] * 3.0) * 2.0 + round(a[0] * 3.0) * 4.0 + trunc(a[0] * 3.0) * 8.0 + a[0];
  });
  op("isnan/isinf/isfinite", {fixed(s3)}, [](V a) { return isnan(a[0]) + isinf(a[0]) * 2.0 + isfinite(a[0]) * 4.0; });
  op("log2/log10/exp2/square", {pos(s3)},
     [](V a) { return log2(a[0]) + a[0].log10() * 2.0 + exp2(a[0]) - square(a[0]); });
  op("round(decimals)", {arg(s3)}, [](V a) { return round(a[0], 1) + a[0].round(-1) * 2.0 + a[0]; });
  op("any/all", {fixed(s3, Kind::kMask)}, [](V a) {
    return cat({any(a[0], 1).flatten(), all(a[0], -1).flatten(), any(a[0]).reshape({1}), all(a[0]).reshape({1})});
  });
  op("diagonal", {arg({4, 3, 5})}, [](V a) { return diagonal(a[0], 1, 0, 2) * 1.0 + a[0].diagonal(-1, 2, 0) * 2.0; });
  op("einsum matmul", {arg({3, 4}), arg({4, 5})}, [](V a) { return einsum("ij,jk->ik", a); });
  op("einsum batched, ellipsis", {arg({2, 3, 4}), arg({4, 3})}, [](V a) { return einsum("...ij,jk->...ik", a); });
  op("einsum diagonal and trace", {arg({4, 4}), arg({4})},
     [](V a) { return einsum("ii->i", {a[0]}) * 1.0 + einsum("ii,j->j", a); });
  op("repeat/tile", {arg({2, 3})}, [](V a) { return repeat(a[0], {2, 1, 2}) + a[0].tile({2, 1, 2}) * 2.0; });
  op("tril/triu", {arg(s3)}, [](V a) { return tril(a[0], 1) + a[0].triu(-1) * 2.0; });
  op("dot/outer", {arg({4}), arg({4})}, [](V a) { return outer(a[0], a[1]) + dot(a[0], a[1]); });
  op("einsum three operands", {arg({2, 3}), arg({3, 4}), arg({2, 4})}, [](V a) { return einsum("ij,jk,ik->k", a); });
  op("gelu", {arg(s3)}, [](V a) { return gelu(a[0]); });
  op("softplus/log_sigmoid/mish", {arg(s3)},
     [](V a) { return softplus(a[0], 2.0, 1.0) + log_sigmoid(a[0]) * 2.0 + mish(a[0]) * 4.0; });
  op("hardtanh/relu6/hardswish/hardsigmoid", {arg(s3)}, [](V a) {
    return hardtanh(a[0], -0.5, 0.5) + relu6(a[0] * 8.0) * 2.0 + hardswish(a[0] * 4.0) * 4.0 + hardsigmoid(a[0] * 4.0);
  });
  op("gelu tanh", {arg(s3)}, [](V a) { return gelu(a[0], "tanh"); });
  op("silu", {arg(s3)}, [](V a) { return silu(a[0]); });
  op("clamp(min, max)", {arg(s3)}, [](V a) { return clamp(a[0], -0.3, 0.4); });
  op("clamp(min)", {arg(s3)}, [](V a) { return a[0].clamp(0.1); });
  op("clamp(max)", {arg(s3)}, [](V a) { return a[0].clamp(std::nullopt, -0.2); });
  op("clamp(tensor min, max)", {arg(s3), arg({4, 5}), arg({3, 1, 5})},
     [](V a) { return clamp(a[0], a[1] * 0.5 - 0.5, a[2] * 0.5 + 0.5); });
  op("clamp(tensor min)", {arg(s3), arg({5})}, [](V a) { return a[0].clamp(a[1]); });
  op("pow(tensor, double)", {pos(s3)}, [](V a) { return pow(a[0], 2.5); });
  op("pow(double, tensor)", {arg(s3)}, [](V a) { return pow(1.7, a[0]); });
  op("add(tensor, double)", {arg(s3)}, [](V a) { return add(a[0], 1.25); });
  op("sub(tensor, double)", {arg(s3)}, [](V a) { return sub(a[0], 1.25); });
  op("rsub", {arg(s3)}, [](V a) { return rsub(a[0], 1.25); });
  op("mul(tensor, double)", {arg(s3)}, [](V a) { return mul(a[0], -3.0); });
  op("div(tensor, double)", {arg(s3)}, [](V a) { return div(a[0], 4.0); });
  op("rdiv", {pos(s3)}, [](V a) { return rdiv(a[0], 2.0); });
  op("scalar operators", {pos(s3)}, [](V a) { return (2.0 - a[0]) * 3.0 + 1.0 / a[0] - a[0] / 2.0 + (a[0] + 1.0); });
  op("Tensor methods (unary)", {pos(s3)}, [](V a) {
    return a[0].exp() + a[0].log() + a[0].sqrt() + a[0].abs() + a[0].relu() + a[0].leaky_relu(0.1) + a[0].sigmoid() +
           a[0].tanh() + a[0].neg() + a[0].pow(1.5) + a[0].sign();
  });

  // --- elementwise, binary with broadcasting ------------------------------------------------------
  const Shape bl{3, 1, 5}, br{4, 5};
  op("add (broadcast)", {arg(bl), arg(br)}, [](V a) { return add(a[0], a[1]); });
  op("add alpha", {arg(s3), arg(br)}, [](V a) { return add(a[0], a[1], 0.5); });
  op("sub alpha", {arg(bl), arg(s3)}, [](V a) { return sub(a[0], a[1], -2.0); });
  op("mul (broadcast)", {arg(bl), arg(br)}, [](V a) { return mul(a[0], a[1]); });
  op("div (broadcast)", {arg(bl), pos(br)}, [](V a) { return div(a[0], a[1]); });
  op("pow(tensor, tensor)", {pos(bl), arg(br)}, [](V a) { return pow(a[0], a[1]); });
  op("Tensor::add/sub/mul/div", {arg(s3), pos(br)},
     [](V a) { return a[0].add(a[1], 2.0).mul(a[1]).sub(a[1], 0.5).div(a[1]); });
  op("binary operators", {arg(bl), pos(br)}, [](V a) { return (a[0] + a[1]) * (a[0] - a[1]) / a[1] + a[0] * a[1]; });
  op("where (broadcast)", {mask({3, 4, 1}), arg(s3), arg(br)}, [](V a) { return where(a[0], a[1], a[2]); });
  op("maximum (broadcast)", {arg(bl), arg(br)}, [](V a) { return maximum(a[0], a[1]); });
  op("logaddexp/logaddexp2 (broadcast)", {arg(bl), arg(br)},
     [](V a) { return logaddexp(a[0], a[1]) + logaddexp2(a[1], a[0]); });
  op("nan_to_num", {arg(s3)}, [](V a) { return nan_to_num(a[0], 0.5) + nan_to_num(a[0].log(), 0.5) * 2.0; });
  op("minimum (broadcast)", {arg(s3), arg(br)}, [](V a) { return minimum(a[0], a[1]); });
  op("xlogy (broadcast)", {arg(bl), pos(br)}, [](V a) { return xlogy(a[0], a[1]); });
  op("xlog1py/hypot/copysign (broadcast)", {arg(bl), pos(br)},
     [](V a) { return xlog1py(a[0], a[1]) + hypot(a[0], a[1]) * 2.0 + copysign(a[1], a[0]) * 4.0; });
  op("erfc/erfinv/sinc/frac", {unit(s3)},
     [](V a) { return erfc(a[0]) + erfinv(a[0] * 0.9) * 2.0 + sinc(a[0]) * 4.0 + frac(a[0] * 3.0) * 8.0; });
  op("lgamma/digamma/polygamma", {pos(s3)},
     [](V a) { return lgamma(a[0] + 0.5) + digamma(a[0] + 0.5) * 2.0 + polygamma(2, a[0] + 0.5) * 4.0; });
  op("logit/deg2rad/rad2deg", {pos(s3)}, [](V a) {
    const Tensor p = a[0] / (a[0] + 1.0);
    return logit(p) + logit(p, 0.2) * 2.0 + deg2rad(a[0]) * 4.0 + rad2deg(a[0]) * 8.0;
  });
  op("atan2 (broadcast)", {arg(bl), arg(br)}, [](V a) { return atan2(a[0], a[1]) + a[1].atan2(a[0]) * 2.0; });
  op("fmod/remainder (broadcast)", {arg(bl), pos(br)},
     [](V a) { return fmod(a[0] * 3.0, a[1]) + (a[0] * 3.0).remainder(a[1]) * 2.0; });
  op("div rounding modes", {arg(bl), pos(br)}, [](V a) {
    return div(a[0] * 3.0, a[1], "floor") * a[1] + a[0].div(a[1], "trunc") * a[0] + floor_divide(a[0], a[1]);
  });
  op("fmod/remainder (number)", {arg(s3)}, [](V a) { return fmod(a[0], 0.3) + a[0].remainder(-0.3) * 2.0; });
  op("logical_not/and/or/xor", {fixed(bl, Kind::kMask), fixed(br, Kind::kMask)}, [](V a) {
    return logical_and(a[0], a[1]) + logical_or(a[0], a[1]) * 2.0 + logical_xor(a[0], a[1]) * 4.0 +
           logical_not(a[0]) * 8.0;
  });

  op("eq/ne/lt/le/gt/ge (tensor)", {arg(bl), arg(br)}, [](V a) {
    return eq(a[0], a[1]) + 2 * ne(a[0], a[1]) + 4 * lt(a[0], a[1]) + 8 * le(a[0], a[1]) + 16 * gt(a[0], a[1]) +
           32 * ge(a[0], a[1]);
  });
  op("eq/ne/lt/le/gt/ge (double)", {fixed(s3, Kind::kMask)}, [](V a) {
    return a[0].eq(1.0) + 2 * a[0].ne(0.0) + 4 * a[0].lt(0.5) + 8 * a[0].le(1.0) + 16 * a[0].gt(0.5) +
           32 * a[0].ge(0.0);
  });
  op("comparisons (Tensor methods)", {arg(s3), arg(br)}, [](V a) {
    return a[0].eq(a[1]) + a[0].ne(a[1]) * 2 + a[0].lt(a[1]) * 4 + a[0].le(a[1]) * 8 + a[0].gt(a[1]) * 16 +
           a[0].ge(a[1]) * 32;
  });

  // --- reductions ---------------------------------------------------------------------------------
  op("sum", {arg(s3)}, [](V a) { return sum(a[0]); });
  op("sum(dims)", {arg(s3)}, [](V a) { return sum(a[0], {1}); });
  op("sum(dims, keepdim)", {arg(s3)}, [](V a) { return a[0].sum({0, 2}, true); });
  op("mean", {arg(s3)}, [](V a) { return mean(a[0]); });
  op("mean(dims)", {arg(s3)}, [](V a) { return a[0].mean({2}); });
  op("nansum/nanmean", {arg(s3)}, [](V a) {
    return cat({nansum(a[0]).reshape({1}), a[0].nansum({1}).flatten(), nanmean(a[0], {0, 2}, true).flatten()});
  });
  op("kthvalue/median/nanmedian (dim)", {distinct(s3)}, [](V a) {
    return cat({std::get<0>(kthvalue(a[0], 2, 1)).flatten(), std::get<0>(a[0].median(0, true)).flatten(),
                std::get<0>(nanmedian(a[0], -1)).flatten(), std::get<1>(median(a[0], 2)).to(a[0].dtype()).flatten()});
  });
  op("median/nanmedian", {distinct(s3)}, [](V a) {
    return cat({median(a[0]).reshape({1}), a[0].nanmedian().reshape({1})});
  });
  op("quantile/nanquantile", {distinct(s3), fixed({3}, Kind::kUnit)}, [](V a) {
    return cat({quantile(a[0], a[1], 1).flatten(), a[0].quantile(0.3, std::nullopt, true, "nearest").flatten(),
                nanquantile(a[0], a[1], -1, false, "midpoint").flatten()});
  });
  op("max", {distinct(s3)}, [](V a) { return max(a[0]); });
  op("min", {distinct(s3)}, [](V a) { return a[0].min(); });
  op("max(dim) values", {distinct(s3)}, [](V a) { return std::get<0>(max(a[0], 1)); });
  op("max(dim) indices", {distinct(s3)}, [](V a) { return std::get<1>(a[0].max(2, true)).to(kFloat64); });
  op("min(dim, keepdim) values", {distinct(s3)}, [](V a) { return std::get<0>(min(a[0], 0, true)); });
  op("min(dim) indices", {distinct(s3)}, [](V a) { return std::get<1>(a[0].min(1)).to(kFloat64); });
  op("var", {arg(s3)}, [](V a) { return var(a[0]); });
  op("var(dims, correction, keepdim)", {arg(s3)}, [](V a) { return a[0].var({0, 2}, 0, true); });
  op("sum_to_size", {arg(s3)}, [](V a) { return sum_to_size(a[0], {1, 4, 1}); });

  // --- shape ops ----------------------------------------------------------------------------------
  op("view (split a dim)", {arg({3, 4, 6})}, [](V a) { return a[0].view({3, 4, 2, 3}) * 1.0; });
  op("reshape", {arg(s3)}, [](V a) { return a[0].reshape({5, -1}) * 1.0; });
  op("flatten", {arg(s3)}, [](V a) { return a[0].flatten() * 1.0; });
  op("flatten(1)", {arg({2, 3, 4, 5})}, [](V a) { return flatten(a[0], 1, 2) * 1.0; });
  op("permute", {arg(s3)}, [](V a) { return a[0].permute({2, 0, 1}) * 1.0; });
  op("transpose", {arg(s3)}, [](V a) { return a[0].transpose(0, 2) * 1.0; });
  op("movedim", {arg(s3)}, [](V a) { return movedim(a[0], {0, 2}, {2, 1}) * 1.0; });
  op("split/chunk/unbind", {arg(s3)}, [](V a) {
    const std::vector<Tensor> s = split(a[0], 2, 1), w = a[0].split({2, 3}, 2), c = chunk(a[0], 2, 0);
    const std::vector<Tensor> u = unbind(a[0], 1);
    return s[0].sum() * 2.0 + s[1].pow(2.0).sum() + w[1].exp().sum() + c[1].sum() * 3.0 + (u[3] * u[0]).sum();
  });
  op("meshgrid", {arg({3}), arg({4})}, [](V a) {
    const std::vector<Tensor> g = meshgrid({a[0], a[1]}, "xy");
    return g[0] * g[1] + g[1];
  });
  op("t", {arg({3, 4})}, [](V a) { return a[0].t() * 1.0; });
  op("squeeze", {arg({3, 1, 5})}, [](V a) { return a[0].squeeze() * 1.0; });
  op("squeeze(dim)", {arg({3, 1, 5})}, [](V a) { return squeeze(a[0], 1) * 1.0; });
  op("unsqueeze", {arg(s3)}, [](V a) { return a[0].unsqueeze(1) * 1.0; });
  op("narrow", {arg(s3)}, [](V a) { return a[0].narrow(2, 1, 3) * 1.0; });
  op("slice", {arg(s3)}, [](V a) { return a[0].slice(1, 1, std::nullopt, 2) * 1.0; });
  op("select", {arg(s3)}, [](V a) { return a[0].select(1, 2) * 1.0; });
  op("expand", {arg({3, 1, 5})}, [](V a) { return a[0].expand({2, 3, 4, 5}) * 1.0; });
  op("expand_as", {arg({3, 1, 5}), fixed(s3)}, [](V a) { return a[0].expand_as(a[1]) * 1.0; });
  op("cat", {arg(s3), arg({3, 2, 5})}, [](V a) { return cat({a[0], a[1]}, 1); });
  op("stack", {arg(s3), arg(s3)}, [](V a) { return stack({a[0], a[1]}, 2); });
  op("contiguous", {arg(s3)}, [](V a) { return a[0].contiguous(); });
  op("clone", {arg(s3)}, [](V a) { return a[0].clone(); });
  op("to(float32)", {arg(s3)}, [](V a) { return a[0].to(kFloat32); });
  op("detach", {arg(s3)}, [](V a) { return a[0].detach() * 1.0; });

  // --- indexing, gather/scatter, flip/roll (ops/indexing.h, ops/gather_scatter.h, ops/reorder.h) ---
  op("index (basic: a view)", {arg(s3)}, [](V a) {
    return a[0].index({Slice(1), -1, None, Slice(None, None, 2)}) * 1.0;
  });
  op("index (int64 tensor)", {arg(s3), classes({2, 3}, 4)}, [](V a) { return a[0].index({Slice(), a[1]}); });
  op("index (separated tensors)", {arg(s3), classes({2}, 3), classes({2}, 5)}, [](V a) {
    return a[0].index({a[1], Slice(), a[2]});
  });
  op("index (mask)", {arg(s3), mask({4, 5})}, [](V a) { return index(a[0], {Slice(), a[1]}); });
  op("index_put", {arg(s3), classes({2}, 4), arg({2, 5})}, [](V a) { return index_put(a[0], {Slice(), a[1]}, a[2]); });
  op("index_put accumulate", {arg(s3), classes({3}, 4), arg({3, 1})}, [](V a) {
    return a[0].index_put({Slice(), a[1]}, a[2], true);
  });
  op("index_put (slices)", {arg(s3), arg({4, 1})}, [](V a) { return index_put(a[0], {1}, a[1]); });
  op("masked_fill", {arg(s3), mask({4, 5})}, [](V a) { return a[0].masked_fill(a[1], -0.5); });
  op("masked_fill (tensor value)", {arg(s3), mask({4, 1}), arg({2})},
     [](V a) { return masked_fill(a[0], a[1], a[2].sum()); });
  op("index_select", {arg(s3), classes({6}, 4)}, [](V a) { return index_select(a[0], 1, a[1]); });
  op("gather", {arg(s3), classes({3, 2, 5}, 4)}, [](V a) { return a[0].gather(1, a[1]); });
  op("scatter_add", {arg(s3), classes({3, 6, 5}, 4), arg({3, 6, 5})},
     [](V a) { return scatter_add(a[0], 1, a[1], a[2]); });
  op("take_along_dim", {arg(s3), classes({1, 4, 7}, 5)}, [](V a) {
    return cat({take_along_dim(a[0], a[1], 2).flatten(), take_along_dim(a[0], a[1].flatten().narrow(0, 0, 9))});
  });
  op("masked_select/masked_scatter", {arg(s3), mask({4, 5}), arg({7, 9})}, [](V a) {
    return cat({masked_select(a[0], a[1]), masked_scatter(a[0], a[1], a[2]).flatten()});
  });
  op("cummax/cummin/logcumsumexp", {distinct(s3)}, [](V a) {
    return cat({std::get<0>(cummax(a[0], 1)).flatten(), std::get<0>(cummin(a[0], 0)).flatten(),
                logcumsumexp(a[0], 2).flatten(), std::get<1>(cummax(a[0], -1)).to(kFloat64).flatten()});
  });
  op("diff (prepend, append)", {arg(s3), arg({3, 1, 5}), arg({3, 2, 5})}, [](V a) {
    return cat({diff(a[0], 2, 1, a[1], a[2]).flatten(), diff(a[0]).flatten()});
  });
  op("flip", {arg(s3)}, [](V a) { return a[0].flip({0, 2}); });
  op("rot90", {arg(s3)}, [](V a) {
    return cat({rot90(a[0], 1, {0, 2}).flatten(), rot90(a[0], 2).flatten(), rot90(a[0], -1, {2, 1}).flatten()});
  });
  op("roll", {arg(s3)}, [](V a) { return roll(a[0], {1, -2}, {1, 2}); });
  op("roll (flattened)", {arg(s3)}, [](V a) { return a[0].roll(-7); });
  op("argmax(dim)", {distinct(s3)}, [](V a) { return a[0].argmax(1).to(kFloat64); });
  op("argmin (flattened)", {distinct(s3)}, [](V a) { return argmin(a[0]).to(kFloat64); });
  op("norm", {arg(s3)}, [](V a) { return a[0].norm(); });
  op("norm(1, dims, keepdim)", {arg(s3)}, [](V a) { return a[0].norm(1, {0, 2}, true); });
  op("norm(inf, dim)", {distinct(s3)}, [](V a) { return norm(a[0], std::numeric_limits<double>::infinity(), 1); });
  op("norm(3, dims)", {arg(s3)}, [](V a) { return a[0].norm(3, {1, 2}); });
  op("where(cond, tensor, scalar)", {mask({4, 1}), arg(s3)}, [](V a) { return where(a[0], a[1], 0.5); });
  op("where(cond, scalar, tensor)", {mask({4, 5}), arg(bl)},
     [](V a) { return a[1].where(a[0], -1.0) + where(a[0], 2.0, a[1]); });

  // --- linalg, softmax ----------------------------------------------------------------------------
  op("linalg_cross/cross (broadcast)", {arg({3, 1, 5}), arg({3, 4, 5})},
     [](V a) { return linalg_cross(a[0], a[1], 0) + cross(a[1], a[0]); });
  op("cdist (both paths)", {arg({2, 1, 4, 3}), arg({3, 27, 3})}, [](V a) {
    return cat({cdist(a[0], a[1]).flatten(), cdist(a[1], a[0], 1.5).flatten()});
  });
  op("trace/diag/diag_embed", {arg({4, 5}), arg({3, 2})}, [](V a) {
    return cat({trace(a[0]).reshape({1}), diag(a[0], 1), diag(a[1].flatten(), -1).flatten(),
                diag_embed(a[1], 1, 0, 2).flatten()});
  });
  op("matmul 1-D · 1-D", {arg({5}), arg({5})}, [](V a) { return matmul(a[0], a[1]); });
  op("matmul 2-D · 1-D", {arg({3, 5}), arg({5})}, [](V a) { return matmul(a[0], a[1]); });
  op("matmul 1-D · 2-D", {arg({3}), arg({3, 5})}, [](V a) { return matmul(a[0], a[1]); });
  op("matmul 2-D · 2-D", {arg({3, 4}), arg({4, 5})}, [](V a) { return a[0].matmul(a[1]); });
  op("matmul batched, broadcast", {arg({2, 3, 4}), arg({4, 5})}, [](V a) { return matmul(a[0], a[1]); });
  op("matmul batched 4-D", {arg({2, 1, 3, 4}), arg({3, 4, 2})}, [](V a) { return matmul(a[0], a[1]); });
  op("mm", {arg({3, 4}), arg({4, 5})}, [](V a) { return mm(a[0], a[1]); });
  op("bmm", {arg({2, 3, 4}), arg({2, 4, 5})}, [](V a) { return bmm(a[0], a[1]); });
  op("softmax", {arg(s3)}, [](V a) { return softmax(a[0], 1); });
  op("log_softmax", {arg(s3)}, [](V a) { return log_softmax(a[0], -1); });

  // --- pooling, upsampling, padding ---------------------------------------------------------------
  const Shape v5{2, 2, 4, 5, 6};
  op("max_pool3d", {distinct(v5)}, [](V a) { return max_pool3d(a[0], 2); });
  op("max_pool3d stride/padding/dilation/ceil", {distinct(v5)}, [](V a) {
    return max_pool3d(a[0], {3, 2, 3}, ExpandingArray<3>({2, 1, 2}), {1, 1, 1}, {1, 2, 1}, true);
  });
  op("max_pool3d_with_indices indices", {distinct(v5)},
     [](V a) { return std::get<1>(max_pool3d_with_indices(a[0], 2)).to(kFloat64); });
  op("max_pool3d unbatched", {distinct({2, 4, 5, 6})}, [](V a) { return max_pool3d(a[0], {2, 3, 2}); });
  op("avg_pool3d", {arg(v5)}, [](V a) { return avg_pool3d(a[0], 2); });
  op("avg_pool3d padding, count_include_pad=false", {arg(v5)},
     [](V a) { return avg_pool3d(a[0], 3, ExpandingArray<3>(2), 1, true, false); });
  op("avg_pool3d divisor_override", {arg(v5)},
     [](V a) { return avg_pool3d(a[0], 2, std::nullopt, 0, false, true, 5); });
  op("F::max_pool3d", {distinct(v5)},
     [](V a) { return F::max_pool3d(a[0], F::MaxPool3dFuncOptions(2).stride(1).padding(1)); });
  op("F::avg_pool3d", {arg(v5)}, [](V a) { return F::avg_pool3d(a[0], F::AvgPool3dFuncOptions(3).stride(2)); });
  op("upsample_nearest3d", {arg(v5)}, [](V a) { return upsample_nearest3d(a[0], {7, 10, 9}); });
  op("upsample_trilinear3d", {arg(v5)}, [](V a) { return upsample_trilinear3d(a[0], {7, 10, 9}, false); });
  op("upsample_trilinear3d align_corners", {arg(v5)}, [](V a) { return upsample_trilinear3d(a[0], {6, 3, 11}, true); });
  op("F::interpolate nearest", {arg(v5)},
     [](V a) { return F::interpolate(a[0], F::InterpolateFuncOptions().scale_factor(2.0)); });
  op("F::interpolate trilinear", {arg(v5)}, [](V a) {
    return F::interpolate(a[0], F::InterpolateFuncOptions().size({5, 7, 3}).mode(kTrilinear).align_corners(false));
  });
  op("adaptive_avg_pool3d", {arg(v5)}, [](V a) { return adaptive_avg_pool3d(a[0], {2, 3, 4}); });
  op("adaptive_max_pool3d", {distinct(v5)}, [](V a) { return adaptive_max_pool3d(a[0], {3, 2, 5}); });
  op("F::interpolate linear align_corners", {arg({2, 3, 5})}, [](V a) {
    return F::interpolate(a[0], F::InterpolateFuncOptions().size(std::int64_t{9}).mode(kLinear).align_corners(true));
  });
  op("F::interpolate bilinear", {arg({2, 3, 4, 5})},
     [](V a) { return F::interpolate(a[0], F::InterpolateFuncOptions().scale_factor(1.5).mode(kBilinear)); });
  op("F::interpolate area", {arg(v5)}, [](V a) {
    return F::interpolate(a[0], F::InterpolateFuncOptions().size({2, 2, 3}).mode(kArea));
  });
  op("F::interpolate nearest 2-D", {arg({2, 3, 4, 5})}, [](V a) {
    return F::interpolate(a[0], F::InterpolateFuncOptions().size({7, 3}));
  });
  for (PaddingMode mode : {kZeros, kReflect, kReplicate, kCircular}) {
    op(std::string("pad3d ") + padding_mode_name(mode), {arg(v5)}, [mode](V a) {
      return pad3d(a[0], {1, 2, 0, 3, 2, 1}, mode);
    });
  }

  // --- convolutions -------------------------------------------------------------------------------
  op("conv3d", {arg({2, 4, 4, 5, 6}), arg({6, 2, 2, 3, 2}), arg({6})}, [](V a) {
    return conv3d(a[0], a[1], a[2], {1, 2, 1}, {1, 0, 1}, {2, 1, 1}, 2);
  });
  op("conv_transpose3d", {arg({2, 4, 3, 4, 5}), arg({4, 3, 2, 3, 2}), arg({6})}, [](V a) {
    return conv_transpose3d(a[0], a[1], a[2], {2, 1, 2}, {1, 0, 0}, {1, 0, 1}, 2, {1, 2, 1});
  });
  op("conv3d_weight_grad", {arg({2, 4, 4, 5, 6}), arg({2, 6, 3, 2, 5})}, [](V a) {
    return conv3d_weight_grad(a[0], a[1], {2, 3, 2}, {1, 2, 1}, {0, 0, 0}, {1, 1, 1}, 2);
  });
  op("F::conv1d", {arg({2, 4, 9}), arg({6, 2, 3}), arg({6})},
     [](V a) { return F::conv1d(a[0], a[1], F::Conv1dFuncOptions().bias(a[2]).stride(2).padding(1).groups(2)); });
  op("F::conv2d", {arg({2, 3, 6, 7}), arg({4, 3, 3, 2}), arg({4})}, [](V a) {
    return F::conv2d(a[0], a[1], F::Conv2dFuncOptions().bias(a[2]).dilation({2, 1}));
  });
  op("F::conv3d kSame", {arg({2, 3, 4, 5, 6}), arg({4, 3, 2, 3, 3}), arg({4})},
     [](V a) { return F::conv3d(a[0], a[1], F::Conv3dFuncOptions().bias(a[2]).padding(kSame)); });
  op("F::conv_transpose1d", {arg({2, 4, 6}), arg({4, 3, 3}), arg({3})}, [](V a) {
    return F::conv_transpose1d(a[0], a[1], F::ConvTranspose1dFuncOptions().bias(a[2]).stride(2).output_padding(1));
  });
  op("F::conv_transpose2d", {arg({2, 4, 5, 4}), arg({4, 2, 3, 2}), arg({4})}, [](V a) {
    return F::conv_transpose2d(a[0], a[1], F::ConvTranspose2dFuncOptions().bias(a[2]).groups(2).padding({1, 0}));
  });
  op("F::conv_transpose3d", {arg({1, 2, 3, 4, 5}), arg({2, 3, 2, 2, 2}), arg({3})},
     [](V a) { return F::conv_transpose3d(a[0], a[1], F::ConvTranspose3dFuncOptions().bias(a[2]).stride(2)); });
  op("F::linear", {arg({4, 3}), arg({5, 3}), arg({5})}, [](V a) { return F::linear(a[0], a[1], a[2]); });
  op("F::linear batched", {arg({2, 4, 3}), arg({5, 3})}, [](V a) { return F::linear(a[0], a[1]); });
  op("F::embedding", {classes({3, 4}, 6), arg({6, 5})}, [](V a) {
    const Tensor plain = F::embedding(a[0], a[1]);
    return cat({plain.flatten(),
                F::embedding(a[0], a[1], F::EmbeddingFuncOptions().padding_idx(2).scale_grad_by_freq(true)).flatten()});
  });
  // Query, key, value, the packed projection and its bias, the output projection and its bias, a float
  // attn_mask, an int64 key_padding_mask, bias_k and bias_v; the zero position keeps every row unmasked.
  op("F::multi_head_attention_forward",
     {arg({3, 2, 4}), arg({5, 2, 4}), arg({5, 2, 4}), arg({12, 4}), arg({12}), arg({4, 4}), arg({4}), fixed({3, 5}),
      classes({2, 5}, 2), arg({1, 1, 4}), arg({1, 1, 4})},
     [](V a) {
       const auto options =
           F::MultiheadAttentionForwardFuncOptions(4, 2, a[3], a[4], a[9], a[10], true, 0.0, a[5], a[6])
               .attn_mask(a[7])
               .key_padding_mask(a[8]);
       const auto [out, weights] = F::multi_head_attention_forward(a[0], a[1], a[2], options);
       return cat({out.flatten(), weights.flatten()});
     });

  // --- nn::functional activations -----------------------------------------------------------------
  op("F::relu", {arg(s3)}, [](V a) { return F::relu(a[0]); });
  op("F::leaky_relu", {arg(s3)},
     [](V a) { return F::leaky_relu(a[0], F::LeakyReLUFuncOptions().negative_slope(0.3)); });
  op("F::gelu", {arg(s3)}, [](V a) { return F::gelu(a[0], F::GELUFuncOptions().approximate("tanh")); });
  op("F::silu", {arg(s3)}, [](V a) { return F::silu(a[0]); });
  op("elu", {arg(s3)}, [](V a) { return elu(a[0], 0.7); });
  op("F::elu", {arg(s3)}, [](V a) { return F::elu(a[0], F::ELUFuncOptions().alpha(1.3)); });
  op("F::prelu per channel", {arg({2, 4, 3}), pos({4})}, [](V a) { return F::prelu(a[0], a[1]); });
  op("F::prelu shared", {arg({2, 4, 3}), pos({1})}, [](V a) { return F::prelu(a[0], a[1]); });
  op("F::softmax", {arg(s3)}, [](V a) { return F::softmax(a[0], 1); });
  op("F::cosine_similarity", {arg(bl), arg(s3)}, [](V a) { return F::cosine_similarity(a[0], a[1]); });
  op("F::pairwise_distance", {arg(s3), arg({5})},
     [](V a) { return F::pairwise_distance(a[0], a[1], F::PairwiseDistanceFuncOptions().p(3.0)); });
  op("F::normalize", {arg(s3)}, [](V a) { return F::normalize(a[0], F::NormalizeFuncOptions().p(1.0).dim(2)); });
  op("F::log_softmax", {arg(s3)}, [](V a) { return F::log_softmax(a[0], -1); });
  op("F::dropout3d train (same seed)", {arg({2, 3, 2, 3, 2})}, [](V a) {
    manual_seed(78);
    return F::dropout3d(a[0], F::Dropout3dFuncOptions().p(0.4));
  });
  op("F::dropout3d unbatched (same seed)", {arg({3, 2, 3, 2})}, [](V a) {
    manual_seed(79);
    return F::dropout3d(a[0], F::Dropout3dFuncOptions().p(0.4));
  });
  op("F::flatten", {arg({2, 3, 4, 5})}, [](V a) { return F::flatten(a[0]) * 1.0; });
  op("F::dropout eval", {arg(s3)}, [](V a) { return F::dropout(a[0], F::DropoutFuncOptions().training(false)) * 1.0; });
  op("F::dropout train (same seed)", {arg(s3)}, [](V a) {
    manual_seed(77);
    return F::dropout(a[0], F::DropoutFuncOptions().p(0.3));
  });

  // --- losses -------------------------------------------------------------------------------------
  for (Reduction red : {kMean, kSum, kNone}) {
    const std::string r = reduction_name(red);
    op("mse_loss " + r, {arg(s3), arg(s3)},
       [red](V a) { return F::mse_loss(a[0], a[1], F::MSELossFuncOptions().reduction(red)); });
    op("l1_loss " + r, {arg(s3), arg(s3)},
       [red](V a) { return F::l1_loss(a[0], a[1], F::L1LossFuncOptions().reduction(red)); });
    op("smooth_l1_loss " + r, {arg(s3), arg(s3)},
       [red](V a) { return F::smooth_l1_loss(a[0], a[1], F::SmoothL1LossFuncOptions().reduction(red).beta(0.5)); });
    op("binary_cross_entropy " + r, {unit(s3), unit(s3), pos(s3)}, [red](V a) {
      return F::binary_cross_entropy(a[0], a[1], F::BinaryCrossEntropyFuncOptions().reduction(red).weight(a[2]));
    });
    op("binary_cross_entropy_with_logits " + r, {arg(s3), unit(s3), pos({4, 5}), pos({5})}, [red](V a) {
      return F::binary_cross_entropy_with_logits(
          a[0], a[1], F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(red).weight(a[2]).pos_weight(a[3]));
    });
    op("multilabel_margin_loss " + r, {arg({6, 4}), classes({6, 4}, 4)},
       [red](V a) { return F::multilabel_margin_loss(a[0], a[1], red); });
    op("nll_loss " + r, {arg({6, 4}), classes({6}, 4), pos({4})},
       [red](V a) { return F::nll_loss(a[0], a[1], F::NLLLossFuncOptions().reduction(red).weight(a[2])); });
    op("nll_loss (N, C, d) " + r, {arg({2, 4, 5}), classes({2, 5}, 4)},
       [red](V a) { return F::nll_loss(a[0], a[1], F::NLLLossFuncOptions().reduction(red)); });
    op("cross_entropy " + r, {arg({6, 4}), classes({6}, 4), pos({4})}, [red](V a) {
      return F::cross_entropy(a[0], a[1],
                              F::CrossEntropyFuncOptions().reduction(red).weight(a[2]).label_smoothing(0.1));
    });
    op("cross_entropy probabilities " + r, {arg({2, 4, 3}), unit({2, 4, 3})},
       [red](V a) { return F::cross_entropy(a[0], a[1], F::CrossEntropyFuncOptions().reduction(red)); });
  }

  // --- normalization ------------------------------------------------------------------------------
  const Shape n5{3, 4, 2, 3, 2};
  op("batch_norm training", {arg(n5), arg({4}), arg({4})},
     [](V a) { return F::batch_norm(a[0], {}, {}, F::BatchNormFuncOptions().weight(a[1]).bias(a[2]).training(true)); });
  op("batch_norm eval", {arg(n5), fixed({4}), fixed({4}, Kind::kPositive), arg({4}), arg({4})},
     [](V a) { return F::batch_norm(a[0], a[1], a[2], F::BatchNormFuncOptions().weight(a[3]).bias(a[4])); });
  op("batch_norm (N, C)", {arg({5, 4}), arg({4})},
     [](V a) { return F::batch_norm(a[0], {}, {}, F::BatchNormFuncOptions().weight(a[1]).training(true)); });
  op("instance_norm", {arg(n5), arg({4}), arg({4})},
     [](V a) { return F::instance_norm(a[0], F::InstanceNormFuncOptions().weight(a[1]).bias(a[2])); });
  op("instance_norm running stats", {arg(n5), fixed({4}), fixed({4}, Kind::kPositive)}, [](V a) {
    return F::instance_norm(a[0],
                            F::InstanceNormFuncOptions().running_mean(a[1]).running_var(a[2]).use_input_stats(false));
  });
  op("layer_norm", {arg({3, 4, 5}), arg({4, 5}), arg({4, 5})}, [](V a) {
    return F::layer_norm(a[0], F::LayerNormFuncOptions({4, 5}).weight(a[1]).bias(a[2]));
  });
  op("layer_norm no affine", {arg({3, 4, 5})}, [](V a) { return F::layer_norm(a[0], F::LayerNormFuncOptions({5})); });
  op("group_norm", {arg(n5), arg({4}), arg({4})},
     [](V a) { return F::group_norm(a[0], F::GroupNormFuncOptions(2).weight(a[1]).bias(a[2])); });
  return t;
}

TEST(Views, EveryOpMatchesContiguousCopies) {
  const std::vector<OpCase> table = cases();
  std::uint64_t seed = 1000;
  int runs = 0;
  for (const OpCase& c : table) {
    const Coverage cov = check_case(c, ++seed);
    // Every case passed each argument (of a size that allows it) as a strided and an expanded view.
    EXPECT_GE(cov.strided, static_cast<int>(c.args.size())) << c.name;
    EXPECT_GE(cov.expanded, static_cast<int>(c.args.size())) << c.name;
    runs += cov.strided + cov.expanded + cov.permuted + cov.offset;
  }
  std::cout << "[ views    ] " << table.size() << " op cases, " << runs << " runs with a view argument\n";
  EXPECT_GE(table.size(), 150u);
}

// The harness itself: an op that reads its argument's storage as if it were contiguous (the class
// of bug fixed in 55cc1a1 for conv's bias) must be caught.
void run_storage_as_contiguous_case() {
  const OpCase bad{"reads storage as contiguous", {arg({3, 4})}, [](const std::vector<Tensor>& a) {
                     const Tensor& x = a[0];
                     // Ignores strides: element i is read at p[i], clamped to the last element the
                     // view can reach so that the read stays inside the storage.
                     const double* p = x.data_ptr<double>();
                     std::int64_t reach = 1;
                     for (std::int64_t d = 0; d < x.dim(); ++d) reach += (x.size(d) - 1) * x.stride(d);
                     std::vector<double> v(static_cast<std::size_t>(x.numel()));
                     for (std::size_t i = 0; i < v.size(); ++i) {
                       v[i] = p[std::min(static_cast<std::int64_t>(i), reach - 1)];
                     }
                     return from_blob(v.data(), x.sizes(), kFloat64) + x * 0.0;
                   }};
  check_case(bad, 7);
}

TEST(Views, HarnessCatchesAnOpThatIgnoresStrides) {
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    run_storage_as_contiguous_case();
  }
  // Every run gives a wrong output: strided and expanded along each of the two dims, permuted, and
  // the offset window (read contiguously from its first element).
  int wrong_output = 0;
  for (int i = 0; i < failures.size(); ++i) {
    wrong_output += std::string(failures.GetTestPartResult(i).message()).find("output") != std::string::npos;
  }
  EXPECT_EQ(wrong_output, 6) << "strided and expanded along both dims, permuted, offset";
}

// With nothing to sum (an empty input or weight and a non-empty output) the output is the bias
// alone, read through its strides.
TEST(Views, Conv3dWithNothingToSumReadsANonContiguousBias) {
  const Tensor expanded = full({1}, 5.0, kFloat64).expand({4});
  const Tensor strided = tensor({10, 11, 12, 13, 14, 15, 16, 17}, kFloat64).slice(0, std::nullopt, std::nullopt, 2);
  const Tensor x = zeros({1, 0, 2, 2, 2}, kFloat64), w = zeros({4, 0, 1, 1, 1}, kFloat64);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(values(conv3d(x, w, expanded).mean({0, 2, 3, 4})), (std::vector<double>{5, 5, 5, 5}));
    EXPECT_EQ(values(conv3d(x, w, strided).mean({0, 2, 3, 4})), (std::vector<double>{10, 12, 14, 16}));
  }
}

}  // namespace
