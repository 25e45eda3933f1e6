#include "voxgrad/ops/detail/direct_conv.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/ops/detail/direct_tiles.h"

namespace voxgrad::detail {

namespace {
std::atomic<bool> g_direct_enabled{true};
}  // namespace

bool set_direct_conv_enabled(bool enabled) { return g_direct_enabled.exchange(enabled); }

#if defined(__AVX512F__)

using namespace direct;

namespace {

constexpr int kBlock = 256;  // weight gradient: vectors per position block (its dY rows stay in L2;
                             // 64 and 128 measured 1–3% slower on the forward+backward cases)

// The fraction of (output row, tap row) pairs along one dim that read padding.
double padding_share(std::int64_t out, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d,
                     std::int64_t in) {
  std::int64_t outside = 0;
  for (std::int64_t o = 0; o < out; ++o) {
    for (std::int64_t t = 0; t < k; ++t) {
      const std::int64_t i = o * s - p + t * d;
      outside += i < 0 || i >= in;
    }
  }
  return static_cast<double>(outside) / static_cast<double>(out * k);
}

}  // namespace

bool direct_conv_available() { return g_direct_enabled.load(std::memory_order_relaxed); }

void direct_conv3d(const float* x, const float* w, const float* bias, float* y, const ConvGeometry& c) {
  const PaddedLayout L = forward_layout(c);
  const std::int64_t G = c.groups, cin_g = c.cin_g(), cout_g = c.cout_g();
  const std::int64_t KD = c.kernel[0], KH = c.kernel[1], KW = c.kernel[2], KT = KD * KH * KW, K = cin_g * KT;
  const std::int64_t Vo = c.out_size();
  // Pairs ordered [kd][kh][channel][kw] (pair p), so that tap rows reading only padding can be
  // skipped as whole runs; w's own order is [channel][kd][kh][kw] (index q).
  const std::vector<std::int64_t> taps = tap_offsets(c, L);
  std::vector<std::int64_t> koff(static_cast<std::size_t>(K)), order(static_cast<std::size_t>(K));
  for (std::int64_t kd = 0, p = 0; kd < KD; ++kd) {
    for (std::int64_t kh = 0; kh < KH; ++kh) {
      for (std::int64_t ci = 0; ci < cin_g; ++ci) {
        for (std::int64_t kw = 0; kw < KW; ++kw, ++p) {
          const std::int64_t t = (kd * KH + kh) * KW + kw;
          koff[static_cast<std::size_t>(p)] = ci * L.channel + taps[static_cast<std::size_t>(t)];
          order[static_cast<std::size_t>(p)] = ci * KT + t;
        }
      }
    }
  }
  // Weights packed per group and block of kMR output channels as [p][kMR] (zeros past cout_g).
  const std::int64_t blocks = (cout_g + kMR - 1) / kMR;
  std::vector<float> wpk(static_cast<std::size_t>(G * blocks * K * kMR), 0.0f);
  for (std::int64_t g = 0; g < G; ++g) {
    for (std::int64_t co = 0; co < cout_g; ++co) {
      const float* src = w + (g * cout_g + co) * K;
      float* dst = wpk.data() + ((g * blocks + co / kMR) * K) * kMR + co % kMR;
      for (std::int64_t p = 0; p < K; ++p) dst[p * kMR] = src[order[static_cast<std::size_t>(p)]];
    }
  }
  // Skipping tap rows that read only padding pays when they are a fair share of the work (small
  // volumes, wide kernels); runs shorter than 8 pairs cost more in loop overhead than they skip.
  const std::int64_t per = cin_g * KW;  // pairs per tap row
  const bool skip_padding = per >= 8 && c.out[0] <= 4096 && c.out[1] <= 4096 && KD * KH <= kMaxSpans &&
                            padding_share(c.out[0], KD, c.stride[0], c.padding[0], c.dilation[0], c.vol[0]) +
                                    padding_share(c.out[1], KH, c.stride[1], c.padding[1], c.dilation[1], c.vol[1]) >=
                                0.05;
  const RowVectors vec = forward_vectors_of(c, L);
  const std::int64_t tv = tile_vectors(cout_g), tiles = (vec.count + tv - 1) / tv;
  Workspace xp(reads_in_place(c.vol, L) ? 1 : c.Cin * L.channel);
  for (std::int64_t n = 0; n < c.N; ++n) {
    const float* xs = padded_sample(x, xp.get(), c.Cin, c.vol, L, n);
    parallel_for(0, G * tiles, 1, [&](std::int64_t t0, std::int64_t t1) {
      for (std::int64_t task = t0; task < t1; ++task) {
        const std::int64_t g = task / tiles, v0 = (task % tiles) * tv;
        forward_vectors(vec, v0, std::min(tv, vec.count - v0), xs + g * cin_g * L.channel,
                        y + (n * c.Cout + g * cout_g) * Vo, Vo, cout_g, wpk.data() + g * blocks * K * kMR, K,
                        koff.data(), bias != nullptr ? bias + g * cout_g : nullptr, skip_padding ? &c : nullptr, per);
      }
    });
  }
}

void direct_conv3d_weight_grad(const float* x, const float* dy, float* dw, const ConvGeometry& c) {
  const PaddedLayout L = forward_layout(c);
  const std::int64_t G = c.groups, cin_g = c.cin_g(), cout_g = c.cout_g();
  const std::int64_t KT = c.kernel_volume(), K = cin_g * KT;
  const std::int64_t Vo = c.out_size();
  // Offsets of the (input channel, tap) pairs of one group, in weight order.
  const std::vector<std::int64_t> taps = tap_offsets(c, L);
  std::vector<std::int64_t> koff(static_cast<std::size_t>(K));
  for (std::int64_t ci = 0; ci < cin_g; ++ci) {
    for (std::int64_t t = 0; t < KT; ++t) {
      koff[static_cast<std::size_t>(ci * KT + t)] = ci * L.channel + taps[static_cast<std::size_t>(t)];
    }
  }
  const std::int64_t co_blocks = (cout_g + kMC - 1) / kMC;
  const RowVectors vec = forward_vectors_of(c, L);
  const std::int64_t pos_blocks = (vec.count + kBlock - 1) / kBlock;
  std::fill(dw, dw + c.Cout * K, 0.0f);
  Workspace xp(reads_in_place(c.vol, L) ? 1 : c.Cin * L.channel);
  // Each task owns the dW rows of one (group, block of output channels) and adds the samples'
  // position blocks in order: the sums do not depend on how tasks are spread over threads.
  for (std::int64_t n = 0; n < c.N; ++n) {
    const float* xs = padded_sample(x, xp.get(), c.Cin, c.vol, L, n);
    parallel_for(0, G * co_blocks, 1, [&](std::int64_t t0, std::int64_t t1) {
      std::int64_t xo[kBlock], yo[kBlock];
      __mmask16 mk[kBlock];
      for (std::int64_t task = t0; task < t1; ++task) {
        const std::int64_t g = task / co_blocks, blk = task % co_blocks;
        const int mc = static_cast<int>(std::min<std::int64_t>(kMC, cout_g - blk * kMC));
        const float* dyb = dy + (n * c.Cout + g * cout_g + blk * kMC) * Vo;
        const float* xg = xs + g * cin_g * L.channel;
        float* dwb = dw + (g * cout_g + blk * kMC) * K;
        for (std::int64_t pb = 0; pb < pos_blocks; ++pb) {
          const std::int64_t v0 = pb * kBlock, nv = std::min<std::int64_t>(kBlock, vec.count - v0);
          vec.get(v0, nv, xo, yo, mk);
          for (std::int64_t k0 = 0; k0 < K; k0 += kNK) {
            const int nk = static_cast<int>(std::min<std::int64_t>(kNK, K - k0));
            weight_tile_for(mc, nk)(dyb, Vo, xg, koff.data() + k0, xo, yo, mk, nv, dwb + k0, K);
          }
        }
      }
    });
  }
}

#else  // no AVX-512: the im2col path serves every shape

bool direct_conv_available() { return false; }
void direct_conv3d(const float*, const float*, const float*, float*, const ConvGeometry&) {}
void direct_conv3d_weight_grad(const float*, const float*, float*, const ConvGeometry&) {}
void direct_conv3d_adjoint(const float*, const float*, const float*, float*, const ConvGeometry&) {}
bool direct_adjoint_reads(const ConvGeometry&, Dims&, Dims&) { return false; }

#endif

}  // namespace voxgrad::detail
