#include "voxgrad/ops/detail/direct_conv.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <vector>

#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/core/threading.h"
#include "voxgrad/ops/detail/direct_layout.h"
#include "voxgrad/ops/detail/direct_weight_cv.h"
#include "voxgrad/ops/detail/direct_weight_xt.h"
#include "voxgrad/ops/detail/lane_sums.h"
#include "voxgrad/ops/detail/pointwise_conv.h"
#include "voxgrad/ops/detail/sample_rounds.h"

namespace voxgrad::detail {

namespace {
std::atomic<bool> g_direct_enabled{true};
}  // namespace

bool set_direct_conv_enabled(bool enabled) { return g_direct_enabled.exchange(enabled); }

using namespace direct;

namespace {

// Weight gradient: vectors per position block. A task runs every pair of its channels over one block
// before the next, so the block's dY rows of its mc channels should stay in L1: half of it (48
// vectors of 16 lanes for 8 channels in 48 KiB).
std::int64_t weight_block(const Kernels& k) {
  const std::int64_t bytes = std::int64_t{k.mc} * k.lanes * std::int64_t{sizeof(float)};
  return std::clamp<std::int64_t>(cache_sizes().l1d / 2 / bytes, 16, kMaxBlock);
}

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

bool direct_conv_available() { return g_direct_enabled.load(std::memory_order_relaxed) && active_kernels() != nullptr; }

std::int64_t direct_lanes() {
  const Kernels* k = active_kernels();
  return k != nullptr ? k->lanes : kMaxLanes;
}

std::int64_t direct_forward_lanes(const ConvGeometry& g) {
  const Kernels* k = forward_kernels(g);
  return k != nullptr ? k->lanes : 0;
}

std::int64_t direct_adjoint_lanes(const ConvGeometry& g) {
  const Kernels* k = adjoint_kernels(g);
  return k != nullptr ? k->lanes : 0;
}

namespace {

// The tiles along c's output rows.
const Kernels& row_tiles(const ConvGeometry& c) { return fitting_or_widest(forward_kernels(c)); }

// The tiles that run c's forward map in tap pairs, or null (direct_forward_tap_pairs).
const Kernels* forward_pairs(const ConvGeometry& c) {
  return direct_conv_available() && c.direct_forward() ? tap_pair_kernels(c) : nullptr;
}

// The forward map's tiles for one geometry and padded layout: weights packed once, then run per
// sample on its padded copy. With `pairs` (the tap-pair tiles, L in one phase), the tiles take the taps
// along W two at a time (ForwardTapPairs); else c's row tiles.
class ForwardRun {
 public:
  ForwardRun(const ConvGeometry& c, const PaddedLayout& L, const float* w, const Kernels* pairs = nullptr)
      : kern_(pairs != nullptr ? *pairs : row_tiles(c)), c_(c), L_(L), taps_(pairs != nullptr ? 2 : 1) {
    const Kernels& kern = kern_;
    const std::int64_t tile_mr = kern.mr, G = c.groups, cin_g = c.cin_g(), cout_g = c.cout_g();
    const std::int64_t KD = c.kernel[0], KH = c.kernel[1], KW = c.kernel[2], KT = KD * KH * KW;
    K_ = cin_g * KT;
    // Pairs ordered [kd][kh][channel][kw] (pair p), so that tap rows reading only padding can be
    // skipped as whole runs; w's own order is [channel][kd][kh][kw] (index q). In tap pairs the tiles
    // read the offsets of the even taps (p / 2 for even p).
    const std::vector<std::int64_t> taps = tap_offsets(c, L);
    koff_.resize(static_cast<std::size_t>(K_ / taps_));
    std::vector<std::int64_t> order(static_cast<std::size_t>(K_));
    for (std::int64_t kd = 0, p = 0; kd < KD; ++kd) {
      for (std::int64_t kh = 0; kh < KH; ++kh) {
        for (std::int64_t ci = 0; ci < cin_g; ++ci) {
          for (std::int64_t kw = 0; kw < KW; ++kw, ++p) {
            const std::int64_t t = (kd * KH + kh) * KW + kw;
            if (p % taps_ == 0)
              koff_[static_cast<std::size_t>(p / taps_)] = ci * L.channel + taps[static_cast<std::size_t>(t)];
            order[static_cast<std::size_t>(p)] = ci * KT + t;
          }
        }
      }
    }
    // Weights packed per group and block of tile_mr output channels as [p][tile_mr] (zeros past
    // cout_g), in tap pairs as [p / 2][tile_mr][2].
    blocks_ = (cout_g + tile_mr - 1) / tile_mr;
    wpk_.resize(static_cast<std::size_t>(G * blocks_ * K_ * tile_mr));
    pack_tile_weights(w, G, cout_g * K_, cout_g, K_, order.data(), K_, tile_mr, wpk_.data(), taps_);
    // Skipping tap rows that read only padding pays when they are a fair share of the work (small
    // volumes, wide kernels); runs shorter than 8 pairs cost more in loop overhead than they skip.
    const std::int64_t per = cin_g * KW / taps_;  // the tiles' pairs per tap row
    skip_padding_ = per >= 8 && c.out[0] <= 4096 && c.out[1] <= 4096 && KD * KH <= kMaxSpans &&
                    padding_share(c.out[0], KD, c.stride[0], c.padding[0], c.dilation[0], c.vol[0]) +
                            padding_share(c.out[1], KH, c.stride[1], c.padding[1], c.dilation[1], c.vol[1]) >=
                        0.05;
    skip_ = SkipRows{{KD, KH},
                     {c.stride[0], c.stride[1]},
                     {c.padding[0], c.padding[1]},
                     {c.dilation[0], c.dilation[1]},
                     {c.vol[0], c.vol[1]},
                     per};
    vec_ = forward_vectors_of(c, L, kern.lanes / taps_);
    // Rows that end in a partial vector run packed where pack_rows takes them (rows of 24 or 12 on
    // AVX-512: a quarter of the lanes idle otherwise).
    if (taps_ == 1) pack_rows(vec_, kern, cout_g);
    tiles_.make(vec_, cout_g <= 2 ? kern.nv_wide : kern.nv, skip_padding_ ? &skip_ : nullptr);
  }
  ForwardRun(const ForwardRun&) = delete;  // vec_ points into tiles_
  ForwardRun& operator=(const ForwardRun&) = delete;

  /// y's sample n from xs, that sample's padded copy.
  void sample(const float* xs, const float* bias, float* y, std::int64_t n) const {
    const std::int64_t cin_g = c_.cin_g(), cout_g = c_.cout_g(), Vo = c_.out_size(), tile_mr = kern_.mr;
    const std::int64_t tiles = tiles_.tiles();
    parallel_for(0, c_.groups * tiles, 1, [&](std::int64_t t0, std::int64_t t1) {
      for (std::int64_t task = t0; task < t1; ++task) {
        const auto t = static_cast<std::size_t>(task % tiles);
        const std::int64_t g = task / tiles, v0 = tiles_.begin[t];
        (taps_ == 2 ? kern_.forward_tap_pairs : kern_.forward_vectors)(
            vec_, v0, tiles_.begin[t + 1] - v0, xs + g * cin_g * L_.channel, y + (n * c_.Cout + g * cout_g) * Vo, Vo,
            cout_g, wpk_.data() + g * blocks_ * K_ * tile_mr, K_ / taps_, koff_.data(),
            bias != nullptr ? bias + g * cout_g : nullptr, skip_padding_ ? &skip_ : nullptr, !L_.interleaved);
      }
    });
  }

 private:
  const Kernels& kern_;
  const ConvGeometry& c_;
  const PaddedLayout L_;
  std::int64_t taps_, K_ = 0, blocks_ = 0;
  TileList tiles_;
  std::vector<std::int64_t> koff_;
  std::vector<float> wpk_;
  bool skip_padding_ = false;
  SkipRows skip_{};
  RowVectors vec_;
};

// Whether WeightRun asks for each next block of dY while a block's tiles run: where a sample's dY
// would not stay in the threads' L2s (read from memory once, its mc rows a channel apart are streams
// the hardware prefetchers do not follow). 1 → 16 channels at 64³: 0.8× the map's time; 1 → 8 at 48³,
// in cache: 1.1× with the requests, so none there.
bool weight_run_prefetches_dy(const ConvGeometry& c) {
  return std::int64_t{sizeof(float)} * c.Cout * c.out_size() >= 2 * get_num_threads() * cache_sizes().l2;
}

// The weight map's tiles for one geometry and padded layout, run per sample; dw must start at zero.
class WeightRun {
 public:
  WeightRun(const Kernels& kern, const ConvGeometry& c, const PaddedLayout& L)
      : kern_(kern), c_(c), L_(L), block_(weight_block(kern)) {
    const std::int64_t cin_g = c.cin_g(), KT = c.kernel_volume();
    K_ = cin_g * KT;
    // Offsets of the (input channel, tap) pairs of one group, in weight order.
    const std::vector<std::int64_t> taps = tap_offsets(c, L);
    koff_.resize(static_cast<std::size_t>(K_));
    for (std::int64_t ci = 0; ci < cin_g; ++ci) {
      for (std::int64_t t = 0; t < KT; ++t) {
        koff_[static_cast<std::size_t>(ci * KT + t)] = ci * L.channel + taps[static_cast<std::size_t>(t)];
      }
    }
    co_blocks_ = (c.cout_g() + kern.mc - 1) / kern.mc;
    vec_ = forward_vectors_of(c, L, kern.lanes);
    pos_blocks_ = (vec_.count + block_ - 1) / block_;
    // With one or two blocks of output channels (8 or 16 on AVX-512) a sample would be one or two
    // tasks, and a thread would wait: the position blocks are then split into parts too, for at least
    // kMinTasks tasks. The parts follow from the shapes alone.
    constexpr std::int64_t kMinTasks = 8;
    const std::int64_t tasks = c.groups * co_blocks_;
    parts_ = std::clamp<std::int64_t>((kMinTasks + tasks - 1) / tasks, 1, pos_blocks_);
    prefetch_dy_ = weight_run_prefetches_dy(c);
  }

  /// Adds sample n's part to dw, from xs (its padded copy) and dy. Each task owns the sums of one
  /// (group, block of output channels, part of the position blocks): it sums lane by lane over its
  /// position blocks in order, then adds the lanes to dW, or with several parts to its own zeroed copy
  /// of dW's entries, which are added to dW part by part in order after all tasks. So the sums do not
  /// depend on how tasks are spread over threads. With db, each task also sums its channels' packed
  /// dY (Sum32, block by block), and the parts' sums are added to db in order.
  void sample(const float* xs, const float* dy, float* dw, std::int64_t n, double* db) const {
    const std::int64_t cin_g = c_.cin_g(), cout_g = c_.cout_g(), Vo = c_.out_size();
    const std::int64_t tile_mc = kern_.mc, tile_nk = kern_.nk, lanes = kern_.lanes;
    const std::int64_t full_groups = K_ / tile_nk, rest = K_ - full_groups * tile_nk;
    const std::int64_t entries = c_.Cout * K_;
    const Workspace part_sums(parts_ > 1 ? parts_ * entries : 1);
    if (parts_ > 1) std::fill(part_sums.get(), part_sums.get() + parts_ * entries, 0.0f);
    std::vector<double> part_db(db != nullptr ? static_cast<std::size_t>(parts_ * c_.Cout) : 0);
    parallel_for(0, c_.groups * co_blocks_ * parts_, 1, [&](std::int64_t t0, std::int64_t t1) {
      std::int64_t xo[kMaxBlock], yo[kMaxBlock], xq[kMaxBlock], yp[kMaxBlock], xn[kMaxBlock], yn[kMaxBlock];
      std::uint32_t mk[kMaxBlock], mp[kMaxBlock], mn[kMaxBlock];
      const std::uint32_t all = first_lanes(lanes, lanes);
      const Workspace sums(tile_mc * K_ * lanes);
      const Workspace packed(tile_mc * block_ * lanes);
      for (std::int64_t task = t0; task < t1; ++task) {
        const std::int64_t part = task % parts_, g = task / parts_ / co_blocks_, blk = task / parts_ % co_blocks_;
        const std::int64_t pb0 = part * pos_blocks_ / parts_, pb1 = (part + 1) * pos_blocks_ / parts_;
        const int mc = static_cast<int>(std::min<std::int64_t>(tile_mc, cout_g - blk * tile_mc));
        const float* dyb = dy + (n * c_.Cout + g * cout_g + blk * tile_mc) * Vo;
        const float* xg = xs + g * cin_g * L_.channel;
        float* acc = sums.get();
        float* dwb = (parts_ > 1 ? part_sums.get() + part * entries : dw) + (g * cout_g + blk * tile_mc) * K_;
        float* acc_rest = acc + full_groups * mc * tile_nk * lanes;  // the last, shorter group of pairs
        const std::int64_t* koff_rest = koff_.data() + full_groups * tile_nk;
        Sum32 bias_sums[kMaxTile];
        std::int64_t next_got = -1;  // the block whose vectors xn/yn/mn hold (got for its dY requests)
        for (std::int64_t pb = pb0; pb < pb1; ++pb) {
          const std::int64_t v0 = pb * block_, nv = std::min<std::int64_t>(block_, vec_.count - v0);
          if (next_got == pb) {
            std::copy_n(xn, nv, xo);
            std::copy_n(yn, nv, yo);
            std::copy_n(mn, nv, mk);
          } else {
            row_vectors_get(vec_, v0, nv, xo, yo, mk);
          }
          // The block's vectors with every lane stay in xo/yo (plain loads); the rows' partial last
          // vectors move to xq/yp/mp (masked loads).
          std::int64_t nf = 0, np = 0;
          for (std::int64_t v = 0; v < nv; ++v) {
            if (mk[v] == all) {
              xo[nf] = xo[v];
              yo[nf++] = yo[v];
            } else {
              xq[np] = xo[v];
              yp[np] = yo[v];
              mp[np++] = mk[v];
            }
          }
          // The block's dY vectors, packed as [channel][vector][lane] (full ones, then partial ones,
          // their missing lanes zero) into one contiguous buffer of at most half of L1d: the tiles read
          // them in order, and dY's own rows, often a power of two apart (sharing L1 sets, evicting
          // each other), are read once per block.
          float* dyf = packed.get();
          float* dyq = dyf + mc * nf * lanes;
          for (std::int64_t i = 0; i < mc; ++i) {
            const float* src = dyb + i * Vo;
            for (std::int64_t v = 0; v < nf; ++v) {
              std::copy(src + yo[v], src + yo[v] + lanes, dyf + (i * nf + v) * lanes);
            }
            for (std::int64_t v = 0; v < np; ++v) {
              float* dst = dyq + (i * np + v) * lanes;
              for (std::int64_t l = 0; l < lanes; ++l) dst[l] = (mp[v] >> l & 1U) != 0 ? src[yp[v] + l] : 0.0f;
            }
            if (db != nullptr) {  // the missing lanes of partial vectors are zero
              add_values(bias_sums[i], dyf + i * nf * lanes, nf * lanes);
              add_values(bias_sums[i], dyq + i * np * lanes, np * lanes);
            }
          }
          // The next block's dY into L2 while this block's tiles run (weight_run_prefetches_dy).
          if (prefetch_dy_ && pb + 1 < pb1) {
            const std::int64_t w0 = v0 + nv, wn = std::min<std::int64_t>(block_, vec_.count - w0);
            row_vectors_get(vec_, w0, wn, xn, yn, mn);
            next_got = pb + 1;
            for (std::int64_t i = 0; i < mc; ++i) {
              const float* src = dyb + i * Vo;
              for (std::int64_t v = 0; v < wn; ++v) {  // the lines of the vector's first and last lanes
                __builtin_prefetch(src + yn[v], 0, 2);
                __builtin_prefetch(src + yn[v] + (31 - __builtin_clz(mn[v] | 1U)), 0, 2);
              }
            }
          }
          // Each set of vectors (full, then partial) runs every full group of pairs in one call, then
          // the shorter last group. The sums start from zero in the first block's first call and
          // end, added to dW, in the last block's last call.
          const bool first = pb == pb0, last = pb + 1 == pb1;
          auto run = [&](const WeightTile(&table)[kMaxTile][kMaxTile], const float* dyp, const std::int64_t* xs_off,
                         const std::uint32_t* masks, std::int64_t count, bool zero, bool end) {
            if (full_groups > 0) {
              table[tile_nk - 1][mc - 1](dyp, count * lanes, xg, koff_.data(), full_groups, xs_off, masks, count, acc,
                                         zero, end ? dwb : nullptr, K_);
            }
            if (rest > 0) {
              table[rest - 1][mc - 1](dyp, count * lanes, xg, koff_rest, 1, xs_off, masks, count, acc_rest, zero,
                                      end ? dwb + full_groups * tile_nk : nullptr, K_);
            }
          };
          if (nf > 0) run(kern_.weight_tiles_full, dyf, xo, nullptr, nf, first, last && np == 0);
          if (np > 0) run(kern_.weight_tiles, dyq, xq, mp, np, first && nf == 0, last);
        }
        if (db != nullptr) {
          for (int i = 0; i < mc; ++i) {
            part_db[static_cast<std::size_t>(part * c_.Cout + g * cout_g + blk * tile_mc + i)] = bias_sums[i].total();
          }
        }
      }
    });
    if (db != nullptr) {
      for (std::int64_t c = 0; c < c_.Cout; ++c) {
        for (std::int64_t part = 0; part < parts_; ++part)
          db[c] += part_db[static_cast<std::size_t>(part * c_.Cout + c)];
      }
    }
    if (parts_ == 1) return;
    parallel_for(0, entries, kElementwiseGrain, [&](std::int64_t e0, std::int64_t e1) {
      add_parts_in_order(part_sums.get() + e0, parts_, entries, e1 - e0, dw + e0, true);
    });
  }

 private:
  const Kernels& kern_;
  const ConvGeometry& c_;
  const PaddedLayout L_;
  std::int64_t block_, K_ = 0, co_blocks_ = 0, pos_blocks_ = 0, parts_ = 1;
  bool prefetch_dy_ = false;
  std::vector<std::int64_t> koff_;
  RowVectors vec_;
};

// Floats of one sample's padded copy (1 when x is read in place): one slot of a workspace.
std::int64_t padded_floats(const ConvGeometry& c, const PaddedLayout& L) {
  return reads_in_place(c.vol, L) ? 1 : L.sample_floats(c.Cin);
}

}  // namespace

void direct_conv3d(const float* x, const float* w, const float* bias, float* y, const ConvGeometry& c, float* x_sums) {
  const Kernels* pairs = forward_pairs(c);
  const PaddedLayout L = forward_layout(c, /*spread=*/true, /*interleave=*/true, pairs != nullptr);
  const ForwardRun run(c, L, w, pairs);
  const std::int64_t slots = sample_slots(c), per = padded_floats(c, L);
  const Workspace xp(slots * per);
  SlotSums sums(x_sums, c.Cin, slots);
  for_each_sample(
      c.N, slots,
      [&](std::int64_t n, std::int64_t s) {
        run.sample(padded_sample(x, xp.get() + s * per, c.Cin, c.vol, L, n, sums.start(s)), bias, y, n);
      },
      [&](std::int64_t, std::int64_t s) { sums.finish(s); });
  sums.store();
}

namespace {

// The tiles that run a weight map the direct kernels serve, in the order they are tried.
enum class WeightTiles { kPointwise, kTransposedInput, kChannelVectors, kLaneWise };

WeightTiles weight_tiles(const ConvGeometry& c) {
  if (suits_pointwise_weight_tiles(c)) return WeightTiles::kPointwise;
  if (direct_weight_transposed_input(c)) return WeightTiles::kTransposedInput;
  if (direct_weight_channel_vectors(c)) return WeightTiles::kChannelVectors;
  return WeightTiles::kLaneWise;
}

}  // namespace

namespace {

// The channel-vector or lane-wise weight map of one geometry, run sample by sample: into dW, or for
// small samples into the sample's slot, added to dW in sample order (sample_rounds.h).
class SampleWeightMap {
 public:
  SampleWeightMap(const ConvGeometry& c, bool channel_vectors, const PaddedLayout& L, float* dw, std::int64_t slots)
      : dw_(dw), small_(small_samples(c)), slots_(small_ ? c.Cout * c.rows() : 0, slots) {
    if (channel_vectors) {
      cv_.emplace(*active_kernels(), c);
    } else {
      lane_.emplace(row_tiles(c), c, L);
    }
  }
  /// Sample n's part, in slot s, from x as it lies (the channel-vector tiles) or xs, its padded copy.
  void sample(const float* x, const float* xs, const float* dy, std::int64_t n, std::int64_t s, double* db) {
    float* out = small_ ? slots_.start(s) : dw_;
    if (cv_) {
      cv_->sample(x, dy, out, n, db);
    } else {
      lane_->sample(xs, dy, out, n, db);
    }
  }
  /// Adds slot s to dW.
  void finish(std::int64_t s) const {
    if (small_) slots_.finish(s, dw_);
  }

 private:
  float* dw_;
  bool small_;
  WeightSlots slots_;
  std::optional<CvWeightRun> cv_;
  std::optional<WeightRun> lane_;
};

}  // namespace

bool direct_weight_prefetches_dy(const ConvGeometry& g) {
  return direct_conv_available() && g.direct_weight() && weight_tiles(g) == WeightTiles::kLaneWise &&
         weight_run_prefetches_dy(g);
}

bool direct_forward_tap_pairs(const ConvGeometry& g) { return forward_pairs(g) != nullptr; }

void direct_conv3d_weight_grad(const float* x, const float* dy, float* dw, const ConvGeometry& c, float* db) {
  const WeightTiles tiles = weight_tiles(c);
  if (tiles == WeightTiles::kPointwise) return pointwise_gradients(x, dy, dw, c, db);  // chunks, no rounds
  std::fill(dw, dw + c.Cout * c.rows(), 0.0f);
  if (tiles == WeightTiles::kTransposedInput) return direct_weight_transposed_input_grad(x, dy, dw, c, db);
  // Unspread for the lane-wise tiles: they read few channels at a time, and the input may then be read
  // in place. The channel-vector tiles read x as it lies.
  const bool channel_vectors = tiles == WeightTiles::kChannelVectors;
  const PaddedLayout L = forward_layout(c, /*spread=*/false);
  const std::int64_t slots = sample_slots(c), per = channel_vectors ? 0 : padded_floats(c, L);
  SampleWeightMap weight(c, channel_vectors, L, dw, slots);
  const Workspace xp(std::max<std::int64_t>(1, slots * per));
  SlotSums sums(db, c.Cout, slots);
  for_each_sample(
      c.N, slots,
      [&](std::int64_t n, std::int64_t s) {
        const float* xs = channel_vectors ? nullptr : padded_sample(x, xp.get() + s * per, c.Cin, c.vol, L, n);
        weight.sample(x, xs, dy, n, s, sums.start(s));
      },
      [&](std::int64_t, std::int64_t s) {
        weight.finish(s);
        sums.finish(s);
      });
  sums.store();
}

void direct_conv3d_and_weight_grad(const float* x, const float* w, float* y, const float* dy, float* dw,
                                   const ConvGeometry& c, float* x_sums) {
  // A pointwise geometry does not come here (direct_forward() is false for it).
  const WeightTiles tiles = weight_tiles(c);
  // The transposed-input weight map makes its own copy of x (transposed), and tap pairs read x in one phase,
  // which the lane-wise weight tiles cannot: then nothing is shared, and each map runs alone (so y has the
  // same bits whether or not dw is asked for).
  const Kernels* pairs = forward_pairs(c);
  if (tiles == WeightTiles::kTransposedInput || (pairs != nullptr && tiles == WeightTiles::kLaneWise)) {
    direct_conv3d(x, w, nullptr, y, c, x_sums);
    direct_conv3d_weight_grad(x, dy, dw, c, nullptr);
    return;
  }
  // The channel-vector weight map reads x as it lies; the lane-wise one shares the padded copy, planar
  // (its tiles read few channels at a time).
  const bool channel_vectors = tiles == WeightTiles::kChannelVectors;
  const PaddedLayout L = forward_layout(c, /*spread=*/true, /*interleave=*/channel_vectors, pairs != nullptr);
  const ForwardRun forward(c, L, w, pairs);
  std::fill(dw, dw + c.Cout * c.rows(), 0.0f);
  const std::int64_t slots = sample_slots(c), per = padded_floats(c, L);
  SampleWeightMap weight(c, channel_vectors, L, dw, slots);
  const Workspace xp(slots * per);
  SlotSums sums(x_sums, c.Cin, slots);
  for_each_sample(
      c.N, slots,
      [&](std::int64_t n, std::int64_t s) {
        const float* xs = padded_sample(x, xp.get() + s * per, c.Cin, c.vol, L, n, sums.start(s));
        forward.sample(xs, nullptr, y, n);
        weight.sample(x, xs, dy, n, s, nullptr);
      },
      [&](std::int64_t, std::int64_t s) {
        weight.finish(s);
        sums.finish(s);
      });
  sums.store();
}

}  // namespace voxgrad::detail
