#include "voxgrad/ops/detail/winograd.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <vector>

#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/direct_kernels.h"
#include "voxgrad/ops/detail/direct_layout.h"
#include "voxgrad/ops/detail/winograd_kernels.h"

namespace voxgrad::detail {

using direct::Kernels;
using winograd::TileRow;
using winograd::Transforms;

namespace {

// On unless VOXGRAD_NO_WINOGRAD is set (to anything), read once.
std::atomic<bool>& winograd_enabled() {
  static std::atomic<bool> enabled{std::getenv("VOXGRAD_NO_WINOGRAD") == nullptr};
  return enabled;
}

constexpr std::int64_t kXi = 64;                            // transformed positions of a tile
constexpr std::int64_t kPadBudget = std::int64_t{8} << 20;  // bytes of padded input at a time (Round)
constexpr std::int64_t kTaps = 27;

// G (4 × 3): the weight's transform along one dim.
constexpr double kG[4][3] = {{1.0, 0.0, 0.0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0.0, 0.0, 1.0}};

const Transforms* active_transforms() {
  return widest_kernels(winograd::avx512::transforms(), winograd::avx2::transforms(),
                        static_cast<const Transforms*>(nullptr));
}

// The tiles of g's output (2³ outputs each, the last ones along a dim partly outside it), taken in
// blocks of T in order (td, th, tw) within a sample, T a multiple of the lanes, so that a block's
// transformed inputs and sums (64 · (Cin + Cout) floats a tile) fill at most 3/4 of L2, in whole
// forward tiles (nv vectors) where that fits, and at most two of them.
struct Blocking {
  Dims tiles{};
  std::int64_t T = 0;
  /// Floats from one ξ's rows of a block to the next's for `channels` channels: channels · T, plus a
  /// cache line, so that a transform's 64 stores (one per ξ) do not all fall in one L1 set, as they
  /// would a multiple of 4 KiB apart. The line is also the slack output_row reads into (up to 7 sums
  /// past a row's last tile).
  std::int64_t xi_stride(std::int64_t channels) const { return channels * T + 16; }
  /// The padded input's rows per plane (2·tiles + 2 along H) and slots per parity of a row (tiles + 1
  /// along W): what a tile row reads from −padding.
  std::int64_t padded_rows() const { return 2 * tiles[1] + 2; }
  std::int64_t padded_slots() const { return tiles[2] + 1; }

  Blocking(const Kernels& k, const ConvGeometry& g) {
    for (std::size_t i = 0; i < 3; ++i) tiles[i] = (g.out[i] + 1) / 2;
    const std::int64_t lanes = k.lanes, tile = std::int64_t{k.nv} * lanes;
    const std::int64_t fit =
        cache_sizes().l2 * 3 / 4 / (kXi * (g.Cin + g.Cout) * static_cast<std::int64_t>(sizeof(float)));
    T = fit >= tile ? std::min(fit / tile, std::int64_t{2}) * tile : std::max(lanes, fit / lanes * lanes);
  }

  // f(row, offset) for the tiles [t0, t0 + len) of a slab of whole tile planes as runs along W within
  // one tile row (td counted from the slab's first plane), `offset` the run's first tile from t0.
  template <typename F>
  void for_rows(std::int64_t t0, std::int64_t len, F&& f) const {
    const std::int64_t TW = tiles[2], TH = tiles[1];
    for (std::int64_t t = t0, end = t0 + len; t < end;) {
      const std::int64_t tw = t % TW, tw1 = std::min(TW, tw + (end - t));
      f(TileRow{t / (TH * TW), t / TW % TH, tw, tw1}, t - t0);
      t += tw1 - tw;
    }
  }
};

// One round of the forward map: samples [n0, n0 + ns) and their tile planes [td0, td1) along D, padded
// together and then run block by block in one parallel loop. Rounds are whole samples, as many as
// keep their padded copy within kPadBudget bytes (a 16³ sample has only about 11 blocks, too few to
// keep the threads evenly busy alone), or, where one sample's copy exceeds it, slabs of one sample's
// tile planes that stay within it: the copy does not grow with the batch, nor with the volume.
struct Round {
  std::int64_t n0, ns, td0, td1;
};

std::vector<Round> rounds(const ConvGeometry& g, const Blocking& b) {
  const Dims& t = b.tiles;
  // Two padded planes (one tile plane) of one sample.
  const std::int64_t plane_bytes =
      g.Cin * 2 * b.padded_rows() * 2 * b.padded_slots() * static_cast<std::int64_t>(sizeof(float));
  const std::int64_t sample_bytes = plane_bytes * (t[0] + 1);
  std::vector<Round> r;
  if (sample_bytes <= kPadBudget) {
    const std::int64_t group = std::clamp<std::int64_t>(kPadBudget / sample_bytes, 1, g.N);
    for (std::int64_t n0 = 0; n0 < g.N; n0 += group) r.push_back({n0, std::min(group, g.N - n0), 0, t[0]});
    return r;
  }
  const std::int64_t slab = std::max<std::int64_t>(1, kPadBudget / plane_bytes - 1);
  for (std::int64_t n = 0; n < g.N; ++n) {
    for (std::int64_t td0 = 0; td0 < t[0]; td0 += slab) r.push_back({n, 1, td0, std::min(t[0], td0 + slab)});
  }
  return r;
}

// Weights are transformed in chunks of this many 3³ kernels, each step a loop over the chunk.
constexpr std::int64_t kPairChunk = 32;

// The transformed weights (G g Gᵀ along each dim, in double, rounded once) packed for the forward
// tiles: per ξ, blocks of mr output channels as [input channel][mr], zeros past Cout, so that each ξ is
// one group of a pointwise convolution over a block's tiles: wpk[((ξ·blocks + co / mr)·Cin + ci)·mr +
// co % mr] for the kernel w + 27·(co·Cin + ci).
void transform_weights(const float* w, std::int64_t Cout, std::int64_t Cin, std::int64_t mr, float* wpk) {
  const std::int64_t pairs = Cout * Cin, blocks = (Cout + mr - 1) / mr;
  parallel_for(0, (pairs + kPairChunk - 1) / kPairChunk, 1, [&](std::int64_t c0, std::int64_t c1) {
    double g[kTaps][kPairChunk], tw[3][3][4][kPairChunk], th[3][4][4][kPairChunk];
    for (std::int64_t chunk = c0; chunk < c1; ++chunk) {
      const std::int64_t p0 = chunk * kPairChunk, n = std::min(kPairChunk, pairs - p0);
      std::int64_t dst[kPairChunk];  // each kernel's place within a ξ's packed weights
      for (std::int64_t q = 0; q < n; ++q) {
        const std::int64_t co = (p0 + q) / Cin, ci = (p0 + q) % Cin;
        dst[q] = (co / mr * Cin + ci) * mr + co % mr;
      }
      for (std::int64_t q = 0; q < n; ++q) {
        for (int k = 0; k < kTaps; ++k) g[k][q] = w[(p0 + q) * kTaps + k];
      }
      for (int d = 0; d < 3; ++d) {
        for (int h = 0; h < 3; ++h) {
          const double* r0 = g[(d * 3 + h) * 3];
          const double* r1 = g[(d * 3 + h) * 3 + 1];
          const double* r2 = g[(d * 3 + h) * 3 + 2];
          for (int c = 0; c < 4; ++c) {
            for (std::int64_t q = 0; q < n; ++q)
              tw[d][h][c][q] = kG[c][0] * r0[q] + kG[c][1] * r1[q] + kG[c][2] * r2[q];
          }
        }
      }
      for (int d = 0; d < 3; ++d) {
        for (int b = 0; b < 4; ++b) {
          for (int c = 0; c < 4; ++c) {
            for (std::int64_t q = 0; q < n; ++q) {
              th[d][b][c][q] = kG[b][0] * tw[d][0][c][q] + kG[b][1] * tw[d][1][c][q] + kG[b][2] * tw[d][2][c][q];
            }
          }
        }
      }
      for (int a = 0; a < 4; ++a) {
        for (int b = 0; b < 4; ++b) {
          for (int c = 0; c < 4; ++c) {
            float* out = wpk + ((a * 4 + b) * 4 + c) * blocks * Cin * mr;
            for (std::int64_t q = 0; q < n; ++q) {
              out[dst[q]] =
                  static_cast<float>(kG[a][0] * th[0][b][c][q] + kG[a][1] * th[1][b][c][q] + kG[a][2] * th[2][b][c][q]);
            }
          }
        }
      }
    }
  });
}

// A copy of a batch of `volumes` volumes of `dims` laid out for the transforms (winograd_kernels.h):
// planes × rows of 2·wq floats, row (pd, ph) holding source row (pd − front[0], ph − front[1]) split by
// parity, slot q of parity r holding column 2q + r − front[2], and zeros wherever that lies outside the
// source (what falls past `planes`, `rows` or the slots is dropped).
class PaddedBatch {
 public:
  PaddedBatch(const Kernels& k, const float* src, std::int64_t volumes, const Dims& dims, const Dims& front,
              std::int64_t planes, std::int64_t rows, std::int64_t wq)
      : planes_(planes), rows_(rows), wq_(wq), buffer_(volumes * planes * rows * 2 * wq) {
    const std::int64_t rs = 2 * wq, V = volume(dims);
    // The rows that hold source rows: [lo, hi) of each plane.
    const std::int64_t lo = std::clamp<std::int64_t>(front[1], 0, rows),
                       hi = std::clamp<std::int64_t>(front[1] + dims[1], lo, rows);
    float* dst = buffer_.get();
    parallel_for(0, volumes * planes, 4, [&](std::int64_t e0, std::int64_t e1) {
      for (std::int64_t e = e0; e < e1; ++e) {
        const std::int64_t vi = e / planes, d = e % planes - front[0];
        float* plane = dst + e * rows * rs;
        if (d < 0 || d >= dims[0] || hi == lo) {
          std::fill(plane, plane + rows * rs, 0.0f);
          continue;
        }
        std::fill(plane, plane + lo * rs, 0.0f);
        k.pad_rows(src + vi * V + (d * dims[1] + lo - front[1]) * dims[2], dims[2], plane + lo * rs, rs, hi - lo, wq, 2,
                   front[2]);
        std::fill(plane + hi * rs, plane + rows * rs, 0.0f);
      }
    });
  }
  /// Volume vi's first value.
  const float* volume_at(std::int64_t vi) const { return buffer_.get() + vi * planes_ * plane_stride(); }
  std::int64_t plane_stride() const { return rows_ * row_stride(); }
  std::int64_t row_stride() const { return 2 * wq_; }
  std::int64_t half() const { return wq_; }

 private:
  std::int64_t planes_, rows_, wq_;
  direct::Workspace buffer_;
};

// Writes a block's transformed inputs: vin[ξ·xi_stride(Cin) + ci·T + t − t0] for tiles [t0, t0 + len)
// of sample m of xp (samples of x padded for their tiles). Channel by channel, so that the rows one tile
// row reads are in L1 for the next, which shares half of them.
void transform_inputs(const Transforms& tf, const Blocking& b, const PaddedBatch& xp, std::int64_t m, std::int64_t Cin,
                      std::int64_t t0, std::int64_t len, float* vin) {
  for (std::int64_t ci = 0; ci < Cin; ++ci) {
    b.for_rows(t0, len, [&](const TileRow& r, std::int64_t off) {
      tf.input_row(xp.volume_at(m * Cin + ci), xp.plane_stride(), xp.row_stride(), xp.half(), r, vin + ci * b.T + off,
                   b.xi_stride(Cin));
    });
  }
}

// Round r's samples of x padded for their tiles: per sample, the 2·(td1 − td0) + 2 planes from
// 2·td0 − padding, and 2·tiles + 2 rows and columns from −padding, rows split by parity.
PaddedBatch padded_input(const Kernels& k, const float* x, const Round& r, const ConvGeometry& g, const Blocking& b) {
  return PaddedBatch(k, x + r.n0 * g.Cin * g.vol_size(), r.ns * g.Cin, g.vol,
                     {g.padding[0] - 2 * r.td0, g.padding[1], g.padding[2]}, 2 * (r.td1 - r.td0) + 2, b.padded_rows(),
                     b.padded_slots());
}

}  // namespace

bool set_winograd_enabled(bool enabled) { return winograd_enabled().exchange(enabled); }

bool suits_winograd(const ConvGeometry& g) {
  if (!winograd_enabled().load(std::memory_order_relaxed) || !direct_conv_available() ||
      active_transforms() == nullptr || !g.within_direct_range()) {
    return false;
  }
  for (std::size_t i = 0; i < 3; ++i) {
    if (g.kernel[i] != 3 || g.stride[i] != 1 || g.dilation[i] != 1) return false;
  }
  return g.groups == 1 && std::min(g.Cin, g.Cout) >= kWinogradMinChannels &&
         std::max(g.Cin, g.Cout) >= kWinogradMinWider && g.out[2] >= kWinogradMinWidth && g.N > 0 && g.vol_size() > 0 &&
         g.out_size() > 0;
}

void winograd_conv3d(const float* x, const float* w, const float* bias, float* y, const ConvGeometry& g) {
  const Kernels& kern = *direct::active_kernels();
  const Transforms& tf = *active_transforms();
  const std::int64_t Cin = g.Cin, Cout = g.Cout, mr = kern.mr, Vo = g.out_size();
  const Blocking b(kern, g);
  const std::int64_t wblocks = (Cout + mr - 1) / mr;
  std::vector<float> wpk(static_cast<std::size_t>(kXi * wblocks * Cin * mr), 0.0f);
  transform_weights(w, Cout, Cin, mr, wpk.data());
  std::vector<std::int64_t> koff(static_cast<std::size_t>(Cin));
  for (std::int64_t ci = 0; ci < Cin; ++ci) koff[static_cast<std::size_t>(ci)] = ci * b.T;
  for (const Round& round : rounds(g, b)) {
    const PaddedBatch xp = padded_input(kern, x, round, g, b);
    const std::int64_t slab_tiles = (round.td1 - round.td0) * b.tiles[1] * b.tiles[2];
    const std::int64_t per = (slab_tiles + b.T - 1) / b.T;  // blocks per sample
    parallel_for(0, round.ns * per, 1, [&](std::int64_t b0, std::int64_t b1) {
      const direct::Workspace vin(kXi * b.xi_stride(Cin)), sums(kXi * b.xi_stride(Cout));
      for (std::int64_t e = b0; e < b1; ++e) {
        const std::int64_t m = e / per, t0 = e % per * b.T, len = std::min(b.T, slab_tiles - t0);
        transform_inputs(tf, b, xp, m, Cin, t0, len, vin.get());
        const direct::RowVectors vec = direct::row_vectors(kern.lanes, 1, 1, len, 0, 0, 0, 0);
        const direct::TileSplit split(vec.count, kern.nv);
        for (std::int64_t xi = 0; xi < kXi; ++xi) {
          for (std::int64_t s = 0; s < split.tiles; ++s) {
            kern.forward_vectors(vec, split.begin(s), split.end(s) - split.begin(s), vin.get() + xi * b.xi_stride(Cin),
                                 sums.get() + xi * b.xi_stride(Cout), b.T, Cout, wpk.data() + xi * wblocks * Cin * mr,
                                 Cin, koff.data(), nullptr, nullptr, false);
          }
        }
        float* yn = y + (round.n0 + m) * Cout * Vo;
        for (std::int64_t co = 0; co < Cout; ++co) {
          b.for_rows(t0, len, [&](TileRow r, std::int64_t off) {
            r.td += round.td0;
            tf.output_row(sums.get() + co * b.T + off, b.xi_stride(Cout), bias != nullptr ? bias[co] : 0.0f,
                          yn + co * Vo, g.out.data(), r);
          });
        }
      }
    });
  }
}

}  // namespace voxgrad::detail
