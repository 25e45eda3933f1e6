#pragma once
// Internal: the padded input layout the direct conv kernels read, and the output positions they walk
// in vectors.
//
// Each sample is copied once into a zero-padded layout in which every output row's inputs are
// contiguous: rows of the padded volume are split into `sw` phases (columns r, r + sw, r + 2·sw, …
// for r = 0 … sw − 1, each phase Wq long), so a run of output positions along W reads consecutive
// floats for every kernel tap, whatever the stride.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "voxgrad/ops/detail/conv_geometry.h"
#include "voxgrad/ops/detail/direct_kernels.h"

namespace voxgrad::detail::direct {

/// One sample's padded input: per channel Dp × Hp rows of sw phases of Wq floats each. Padded
/// position p along a dim holds input index p − origin (zero outside the input). Two arrangements:
/// - planar: each channel's rows one after another (`row` = sw·Wq floats apart, planes `plane` apart),
///   channels `channel` = Dp·plane floats apart, or a cache line more when spread;
/// - interleaved: for each padded (d, h) the rows of every channel follow each other (`channel` = sw·Wq
///   floats apart), then the next h (`row` = channels·sw·Wq floats on, a cache line more when that is a
///   multiple of 4 KiB), then the next d (`plane` = Hp·row).
/// A forward tile reads one tap row of every input channel in turn: interleaved, that is one run of
/// memory that the hardware prefetchers follow; planar, it jumps a channel's size from row to row.
struct PaddedLayout {
  std::int64_t Dp = 1, Hp = 1, Wq = 1, sw = 1;
  std::int64_t row = 1, plane = 1, channel = 1;
  Dims origin{};
  bool interleaved = false;

  /// Floats of one channel's padded row (its sw phases).
  std::int64_t row_length() const { return sw * Wq; }

  /// Fills row, plane and channel from Dp, Hp, Wq and sw, planar. With `spread`, a channel whose size
  /// is a multiple of 4 KiB gets one cache line more: a forward tile reads the same position of every
  /// input channel in turn, and at such a stride all of them fall into one L1 set (8 ways) and evict
  /// each other. (The weight tile reads nk = 3 pairs of x, mostly taps of one channel, at a time, and
  /// its dY from a contiguous packed block: the weight map alone does not spread x.)
  void finish(bool spread = true) {
    interleaved = false;
    row = row_length();
    plane = Hp * row;
    channel = Dp * plane;
    if (spread && channel >= 1024 && channel % 1024 == 0) channel += 16;
  }

  /// Fills row, plane and channel from Dp, Hp, Wq and sw, interleaved over `channels` channels.
  void finish_interleaved(std::int64_t channels) {
    interleaved = true;
    channel = row_length();
    row = channels * channel;
    if (row >= 1024 && row % 1024 == 0) row += 16;  // rows h and h + 1 of a channel in different L1 sets
    plane = Hp * row;
  }

  /// Floats of one sample's copy of `channels` channels.
  std::int64_t sample_floats(std::int64_t channels) const { return interleaved ? Dp * plane : channels * channel; }
};

/// Finishes L (Dp, Hp, Wq, sw and origin set) for a map with `outputs` output channels per group that
/// reads a volume `vol`, spreading its channels (PaddedLayout::finish) where a copy is made anyway, or
/// where the copy it costs pays: at least 16 outputs per group, each input then serving that many.
/// Then, given the `channels` the copy holds (0: planar only), interleaves them where a forward tile
/// reads faster so: where a copy is made anyway, of more than one channel, in one phase (stride 1
/// along W, or stride 2 in tap pairs), with rows of at most kMaxInterleavedRow floats. There a tile's tap row of one
/// channel is one to three cache lines, and the jumps from channel to channel are what it waits on. Measured on the
/// maps (bench/README): rows of 18 and 34 floats (16³ and 32³) ran 3–10% faster interleaved on AVX-512 and AVX2; rows
/// of 66 (64³) 5–13% slower, their prefetches serving them better; stride 2 no different.
constexpr std::int64_t kMaxInterleavedRow = 40;
void finish_spread(PaddedLayout& L, const Dims& vol, std::int64_t outputs, std::int64_t channels = 0);

/// The positions q in [0, limit) whose index q·s − a lies in [0, n) (s ≥ 1), as [lo, hi) (lo = hi when
/// there are none): along one dim, the outputs whose input at a tap lies inside the volume, or the
/// slots of a padded phase that hold input columns.
struct InsideRange {
  std::int64_t lo, hi;
};
InsideRange inside_range(std::int64_t a, std::int64_t s, std::int64_t n, std::int64_t limit);

/// The layout of the forward map's input: extents (out − 1)·stride + (kernel − 1)·dilation + 1, origin
/// = padding, phases = stride along W, or one phase for `tap_pairs` (the map then runs on
/// tap_pair_kernels' tiles). With `spread`, finished by finish_spread, its channels interleaved where
/// `interleave` allows it and finish_spread's rule says so.
PaddedLayout forward_layout(const ConvGeometry& g, bool spread = true, bool interleave = true, bool tap_pairs = false);

/// The tiles that run g's forward map in tap pairs (ForwardTapPairs, direct_kernels.h): stride 2,
/// dilation 1 and an even kernel along W, on the widest set whose vectors of lanes / 2 positions fill
/// at least 70% of them (as forward_kernels); null when g does not suit them.
const Kernels* tap_pair_kernels(const ConvGeometry& g);

/// Offset of every tap (kd, kh, kw), in kernel order, from an output position's base in layout L.
std::vector<std::int64_t> tap_offsets(const ConvGeometry& g, const PaddedLayout& L);

/// True when sample n of a volume (channels × vol) is already laid out as L (no padding, one phase,
/// nothing cropped, channels not spread): the kernels then read it in place.
bool reads_in_place(const Dims& vol, const PaddedLayout& L);

/// Sample n of x (channels × vol per sample) in layout L: x itself when it already is, else a copy
/// in xp (L.sample_floats(channels) floats), made in parallel tasks of whole planes of a channel. With channel_sums,
/// also adds each channel's sum over the sample to channel_sums[c] (Sum32 per input plane, planes added
/// in order), taken from each plane right after its copy.
const float* padded_sample(const float* x, float* xp, std::int64_t channels, const Dims& vol, const PaddedLayout& L,
                           std::int64_t n, double* channel_sums = nullptr);

/// Weights packed for the forward tiles, as blocks of mr output channels: for group g, block blk and
/// pair p = c·taps + h (h < taps), dst[(((g·blocks + blk)·K / taps + c)·mr + i)·taps + h] =
/// w[g·g_stride + co·co_stride + col[p]] with co = blk·mr + i < cout_g, and 0 past cout_g
/// (blocks = ⌈cout_g / mr⌉; taps = 2 for tap pairs, K then even). Written pair by pair, in parallel
/// tasks of whole blocks.
void pack_tile_weights(const float* w, std::int64_t G, std::int64_t g_stride, std::int64_t cout_g,
                       std::int64_t co_stride, const std::int64_t* col, std::int64_t K, std::int64_t mr, float* dst,
                       std::int64_t taps = 1);

/// A float buffer from the caching allocator, given back on scope exit.
class Workspace {
 public:
  explicit Workspace(std::int64_t floats);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  float* get() const { return ptr_; }

 private:
  float* ptr_ = nullptr;
  void* raw_ = nullptr;
  std::size_t capacity_ = 0;
};

/// `count` vectors in ceil(count / most) tiles whose sizes differ by at most one, tile t being
/// [begin(t), end(t)): a last tile of one or two vectors runs far below a full one's speed
/// (its loads and broadcasts feed fewer FMAs). Which tile a vector falls in does not change its sums.
struct TileSplit {
  std::int64_t count, tiles;
  TileSplit(std::int64_t vectors, std::int64_t most) : count(vectors), tiles((vectors + most - 1) / most) {}
  std::int64_t begin(std::int64_t t) const { return t * count / tiles; }
  std::int64_t end(std::int64_t t) const { return begin(t + 1); }
};

/// Tiles of at most `most` vectors over vec's vectors, their sizes within a run differing by at most one
/// (TileSplit). With `skip` (unpacked vectors only), the rows are first grouped by the tap rows along H
/// they read inside the volume (a stable sort: each group keeps its order, so the rows of a plane stay
/// together), vec.order points at that order, and no tile spans two groups: a tile then skips the tap rows
/// its rows leave out along H, and along D unless it crosses a plane (in a 16³ volume at k3 p1, 7.5% of the
/// nominal products, where tiles of consecutive rows skip 4%). vec must not outlive the list, which is not
/// copied (a copy's vec.order would point into the original).
struct TileList {
  std::vector<std::int64_t> begin;  ///< tiles() + 1 vector indices
  std::vector<std::int64_t> order;  ///< the rows, grouped
  TileList() = default;
  TileList(const TileList&) = delete;
  TileList& operator=(const TileList&) = delete;
  void make(RowVectors& vec, std::int64_t most, const SkipRows* skip);
  std::int64_t tiles() const { return static_cast<std::int64_t>(begin.size()) - 1; }
};

/// The blocks of channels the channel-vector weight tiles take vectors over: I vectors (at most
/// k.cv_imax, no more than the channels fill) of k.lanes channels each, ob = I · lanes channels a
/// block, `blocks` blocks (the last possibly partial).
struct ChannelBlocks {
  int I;
  std::int64_t ob, blocks;
  ChannelBlocks(const Kernels& k, std::int64_t channels);
};

/// The tiles whose vectors run along g's output rows (its forward and lane-wise weight maps): the
/// widest set up to cpu_isa() that uses at least 70% of its lanes on them, or null when none does. On
/// an AVX-512 CPU rows of 8 run on the AVX2 tiles, all 8 lanes used instead of 8 of 16 (twice the
/// im2col path's speed on 8³ layers, bench/README).
const Kernels* forward_kernels(const ConvGeometry& g);

/// The same for g's adjoint map, whose vectors run along the rows of g.vol: one class of positions at
/// stride 1 (70% of the lanes used), the two W classes of stride 2 in pairs (50%, about Wo / 2
/// positions each).
const Kernels* adjoint_kernels(const ConvGeometry& g);

/// *fitting, or the widest set up to cpu_isa() when it is null: a shape the predicates turn away (rows
/// too short for every set) still runs correctly there, with idle lanes.
const Kernels& fitting_or_widest(const Kernels* fitting);

/// The output vectors (of `lanes` positions) of the forward map of g over layout L (x_w = 2 for tap
/// pairs: stride 2 along W in one phase).
RowVectors forward_vectors_of(const ConvGeometry& g, const PaddedLayout& L, std::int64_t lanes);

}  // namespace voxgrad::detail::direct
