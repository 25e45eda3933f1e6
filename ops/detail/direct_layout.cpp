#include "voxgrad/ops/detail/direct_layout.h"

#include <algorithm>
#include <numeric>

#include "voxgrad/core/detail/allocator.h"
#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/ops/detail/lane_sums.h"

namespace voxgrad::detail::direct {

namespace {

// d[q] = src[q·S − a] for q in [lo, hi): with S a constant, the compiler vectorises the strided read
// (a plain copy for S = 1, a de-interleave for S = 2).
template <std::int64_t S>
void copy_phase(float* __restrict d, const float* __restrict src, std::int64_t lo, std::int64_t hi, std::int64_t a) {
  for (std::int64_t q = lo; q < hi; ++q) d[q] = src[q * S - a];
}

void copy_phase(float* d, const float* src, std::int64_t lo, std::int64_t hi, std::int64_t a, std::int64_t sw) {
  if (sw == 1) return copy_phase<1>(d, src, lo, hi, a);
  if (sw == 2) return copy_phase<2>(d, src, lo, hi, a);
  for (std::int64_t q = lo; q < hi; ++q) d[q] = src[q * sw - a];
}

// Phase r of a padded row: slot q holds input column q·sw − a (a = origin − r), inside the input for
// q in [lo, hi). The same for every row, so computed once per layout (the divisions cost more than a
// short row's copy).
struct PhaseRange {
  std::int64_t lo, hi, a;
};

PhaseRange phase_range(const PaddedLayout& L, std::int64_t W, std::int64_t r) {
  const std::int64_t a = L.origin[2] - r;
  const InsideRange q = inside_range(a, L.sw, W, L.Wq);
  return {q.lo, q.hi, a};
}

constexpr std::int64_t kMaxPhases = 8;  // phases whose ranges are computed once per call

// The phase ranges of L for rows of W inputs, in ranges[0 … min(sw, kMaxPhases)).
void phase_ranges(const PaddedLayout& L, std::int64_t W, PhaseRange* ranges) {
  for (std::int64_t r = 0; r < std::min(L.sw, kMaxPhases); ++r) ranges[r] = phase_range(L, W, r);
}

// Zeros padded rows [r0, r1) of one channel's plane at dst.
void zero_rows(float* dst, std::int64_t r0, std::int64_t r1, const PaddedLayout& L) {
  if (!L.interleaved) return std::fill(dst + r0 * L.row, dst + r1 * L.row, 0.0f);
  for (std::int64_t r = r0; r < r1; ++r) std::fill(dst + r * L.row, dst + r * L.row + L.row_length(), 0.0f);
}

// Writes padded plane ip of one channel (src: its D × H × W inputs) to dst: L.Hp rows of
// L.row_length() floats, L.row apart. The rows inside the input go to pad_rows when given (a kernel
// of the CPU's vectors), else to plain loops.
void pad_plane(const float* src, float* dst, std::int64_t ip, const Dims& vol, const PaddedLayout& L,
               const PhaseRange* ranges, PadRows pad_rows) {
  const std::int64_t D = vol[0], H = vol[1], W = vol[2], sw = L.sw, id = ip - L.origin[0];
  if (pad_rows != nullptr) {
    // Padded rows [lo, hi) hold input rows lo − origin … hi − 1 − origin; the others are zero.
    const bool inside = id >= 0 && id < D;
    const std::int64_t lo = inside ? std::clamp(L.origin[1], std::int64_t{0}, L.Hp) : L.Hp;
    const std::int64_t hi = inside ? std::clamp(L.origin[1] + H, lo, L.Hp) : L.Hp;
    zero_rows(dst, 0, lo, L);
    if (hi > lo) {
      pad_rows(src + (id * H + lo - L.origin[1]) * W, W, dst + lo * L.row, L.row, hi - lo, L.Wq, sw, L.origin[2]);
    }
    zero_rows(dst, hi, L.Hp, L);
    return;
  }
  for (std::int64_t jp = 0; jp < L.Hp; ++jp, dst += L.row) {
    const std::int64_t ih = jp - L.origin[1];
    if (id < 0 || id >= D || ih < 0 || ih >= H) {
      std::fill(dst, dst + L.row_length(), 0.0f);
      continue;
    }
    const float* row = src + (id * H + ih) * W;
    for (std::int64_t r = 0; r < sw; ++r) {
      const PhaseRange q = r < kMaxPhases ? ranges[r] : phase_range(L, W, r);
      float* d = dst + r * L.Wq;
      std::fill(d, d + q.lo, 0.0f);
      copy_phase(d, row, q.lo, q.hi, q.a, sw);
      std::fill(d + q.hi, d + L.Wq, 0.0f);
    }
  }
}

}  // namespace

InsideRange inside_range(std::int64_t a, std::int64_t s, std::int64_t n, std::int64_t limit) {
  // q·s ≥ a and q·s ≤ n − 1 + a.
  const std::int64_t lo = std::min(limit, a <= 0 ? 0 : (a + s - 1) / s);
  const std::int64_t hi = n - 1 + a < 0 ? 0 : (n - 1 + a) / s + 1;
  return {lo, std::clamp(hi, lo, limit)};
}

PaddedLayout forward_layout(const ConvGeometry& g, bool spread, bool interleave, bool tap_pairs) {
  auto extent = [&](std::size_t i) { return (g.out[i] - 1) * g.stride[i] + (g.kernel[i] - 1) * g.dilation[i] + 1; };
  PaddedLayout L;
  L.Dp = extent(0);
  L.Hp = extent(1);
  L.sw = tap_pairs ? 1 : g.stride[2];
  L.Wq = (extent(2) + L.sw - 1) / L.sw;
  L.origin = g.padding;
  if (spread) {
    // Tap pairs read an input that needs no padding in place, whatever the outputs (0 below: never
    // copied only to spread): T1's adjoint map (64 outputs, bench/README) took 1.12 ms so, 1.27 ms from
    // an interleaved copy and 1.34 ms from a spread planar one on AVX-512; 2.12 and 2.59 ms on AVX2.
    finish_spread(L, g.vol, tap_pairs ? 0 : g.cout_g(), interleave ? g.Cin : 0);
  } else {
    L.finish(false);
  }
  return L;
}

void finish_spread(PaddedLayout& L, const Dims& vol, std::int64_t outputs, std::int64_t channels) {
  L.finish(false);
  if (!reads_in_place(vol, L) || outputs >= 16) L.finish(true);
  if (channels > 1 && L.sw == 1 && L.Wq <= kMaxInterleavedRow && !reads_in_place(vol, L)) {
    L.finish_interleaved(channels);
  }
}

std::vector<std::int64_t> tap_offsets(const ConvGeometry& g, const PaddedLayout& L) {
  std::vector<std::int64_t> off;
  off.reserve(static_cast<std::size_t>(g.kernel_volume()));
  for (std::int64_t kd = 0; kd < g.kernel[0]; ++kd) {
    for (std::int64_t kh = 0; kh < g.kernel[1]; ++kh) {
      for (std::int64_t kw = 0; kw < g.kernel[2]; ++kw) {
        const std::int64_t wd = kw * g.dilation[2];
        off.push_back(kd * g.dilation[0] * L.plane + kh * g.dilation[1] * L.row + (wd % L.sw) * L.Wq + wd / L.sw);
      }
    }
  }
  return off;
}

bool reads_in_place(const Dims& vol, const PaddedLayout& L) {
  return !L.interleaved && L.origin == Dims{0, 0, 0} && L.sw == 1 && L.Dp == vol[0] && L.Hp == vol[1] &&
         L.Wq == vol[2] && L.channel == L.Dp * L.plane;
}

const float* padded_sample(const float* x, float* xp, std::int64_t channels, const Dims& vol, const PaddedLayout& L,
                           std::int64_t n, double* channel_sums) {
  const float* xs = x + n * channels * volume(vol);
  const std::int64_t D = vol[0], plane = vol[1] * vol[2];
  // A plane's sum, taken from the input plane just padded (in L1 or L2); whole planes, so columns and
  // rows that the layout crops count too.
  std::vector<double> plane_sums(channel_sums != nullptr ? static_cast<std::size_t>(channels * D) : 0);
  const auto sum_plane = [&](std::int64_t ch, std::int64_t id) {
    Sum32 s;
    add_values(s, xs + (ch * D + id) * plane, plane);
    plane_sums[static_cast<std::size_t>(ch * D + id)] = s.total();
  };
  const bool copy = !reads_in_place(vol, L);
  if (copy) {
    const std::int64_t grain = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(L.Hp * L.row_length(), 1));
    // Plane pl of the copy is padded plane pl % Dp of channel pl / Dp; interleaved, plane pl / channels
    // of channel pl % channels, so that a task writes whole runs of rows.
    const Kernels* k = active_kernels();
    const PadRows pad_rows = k != nullptr && L.sw <= 2 ? k->pad_rows : nullptr;
    parallel_for(0, channels * L.Dp, grain, [&](std::int64_t p0, std::int64_t p1) {
      PhaseRange ranges[kMaxPhases];
      phase_ranges(L, vol[2], ranges);
      for (std::int64_t pl = p0; pl < p1; ++pl) {
        const std::int64_t ch = L.interleaved ? pl % channels : pl / L.Dp;
        const std::int64_t ip = L.interleaved ? pl / channels : pl % L.Dp, id = ip - L.origin[0];
        pad_plane(xs + ch * volume(vol), xp + ch * L.channel + ip * L.plane, ip, vol, L, ranges, pad_rows);
        if (channel_sums != nullptr && id >= 0 && id < D) sum_plane(ch, id);
      }
    });
  }
  if (channel_sums != nullptr) {
    // The planes the copy did not take (all of them when x is read in place, else those it crops).
    const std::int64_t lo = copy ? std::clamp(-L.origin[0], std::int64_t{0}, D) : D;
    const std::int64_t hi = copy ? std::clamp(L.Dp - L.origin[0], lo, D) : D;
    if (lo > 0 || hi < D) {
      parallel_for(0, channels * D, std::max<std::int64_t>(1, kElementwiseGrain / std::max<std::int64_t>(plane, 1)),
                   [&](std::int64_t p0, std::int64_t p1) {
                     for (std::int64_t pl = p0; pl < p1; ++pl) {
                       if (pl % D < lo || pl % D >= hi) sum_plane(pl / D, pl % D);
                     }
                   });
    }
    for (std::int64_t ch = 0; ch < channels; ++ch) {
      for (std::int64_t id = 0; id < D; ++id) channel_sums[ch] += plane_sums[static_cast<std::size_t>(ch * D + id)];
    }
  }
  return copy ? xp : xs;
}

void pack_tile_weights(const float* w, std::int64_t G, std::int64_t g_stride, std::int64_t cout_g,
                       std::int64_t co_stride, const std::int64_t* col, std::int64_t K, std::int64_t mr, float* dst,
                       std::int64_t taps) {
  const std::int64_t blocks = (cout_g + mr - 1) / mr, per_block = K * mr;
  // Blocks per task: about 64 Ki floats (a few tens of µs), so that small weights take one task.
  const std::int64_t grain = std::max<std::int64_t>(1, (std::int64_t{1} << 16) / std::max<std::int64_t>(per_block, 1));
  parallel_for(0, G * blocks, grain, [&](std::int64_t t0, std::int64_t t1) {
    const float* rows[kMaxTile];
    for (std::int64_t t = t0; t < t1; ++t) {
      const std::int64_t g = t / blocks, co0 = t % blocks * mr, nco = std::min(mr, cout_g - co0);
      for (std::int64_t i = 0; i < nco; ++i) rows[i] = w + g * g_stride + (co0 + i) * co_stride;
      for (std::int64_t p = 0; p < K; ++p) {
        const std::int64_t c = col[p];
        float* d = dst + t * per_block + p / taps * mr * taps + p % taps;
        for (std::int64_t i = 0; i < nco; ++i) d[i * taps] = rows[i][c];
        for (std::int64_t i = nco; i < mr; ++i) d[i * taps] = 0.0f;
      }
    }
  });
}

ChannelBlocks::ChannelBlocks(const Kernels& k, std::int64_t channels)
    : I(static_cast<int>(std::min<std::int64_t>(k.cv_imax, (channels + k.lanes - 1) / k.lanes))),
      ob(std::int64_t{I} * k.lanes),
      blocks((channels + ob - 1) / ob) {}

Workspace::Workspace(std::int64_t floats) {
  ptr_ = static_cast<float*>(allocate(static_cast<std::size_t>(floats) * sizeof(float), false, raw_, capacity_));
}

Workspace::~Workspace() { deallocate(raw_, capacity_); }

RowVectors forward_vectors_of(const ConvGeometry& g, const PaddedLayout& L, std::int64_t lanes) {
  // A stride only matters with more than one output along its dim (and may be huge otherwise).
  RowVectors v = row_vectors(lanes, g.out[0], g.out[1], g.out[2], g.out[0] > 1 ? g.stride[0] * L.plane : 0,
                             g.out[1] > 1 ? g.stride[1] * L.row : 0, g.out[1] * g.out[2], g.out[2]);
  v.x_w = g.out[2] > 1 ? g.stride[2] / L.sw : 1;  // a phase per stride step: 1; tap pairs: 2
  return v;
}

RowVectors row_vectors(std::int64_t lanes, std::int64_t rows_d, std::int64_t rows_h, std::int64_t width,
                       std::int64_t x_d, std::int64_t x_h, std::int64_t y_d, std::int64_t y_h) {
  RowVectors v;
  v.lanes = lanes;
  v.per_row = (width + lanes - 1) / lanes;
  v.rows_h = rows_h;
  v.width = width;
  v.count = rows_d * rows_h * v.per_row;
  v.x_d = x_d;
  v.x_h = x_h;
  v.y_d = y_d;
  v.y_h = y_h;
  return v;
}

std::uint32_t first_lanes(std::int64_t n, std::int64_t lanes) {
  return n <= 0 ? 0u : n >= lanes ? (std::uint32_t{1} << lanes) - 1u : (std::uint32_t{1} << n) - 1u;
}

bool pack_rows(RowVectors& vec, const Kernels& kern, std::int64_t outputs) {
  const std::int64_t W = vec.width, lanes = vec.lanes;
  if (!kern.packs_rows || outputs <= 2 || vec.x_w != 1 || W <= 0 || W % lanes == 0 || std::gcd(W, lanes) + W < lanes ||
      vec.y_h != W || vec.y_d != vec.rows_h * W) {
    return false;
  }
  const std::int64_t rows = vec.per_row == 0 ? 0 : vec.count / vec.per_row;
  vec.packed = true;
  vec.positions = rows * W;
  vec.count = (vec.positions + lanes - 1) / lanes;
  return true;
}

void packed_vectors_get(const RowVectors& vec, std::int64_t v0, std::int64_t nv, PackedVectors& out) {
  const std::int64_t W = vec.width, lanes = vec.lanes;
  out.rows = 0;
  for (std::int64_t i = 0; i < nv; ++i) {
    const std::int64_t P = (v0 + i) * lanes, r = P / W, w0 = P % W;
    const std::int64_t md = r / vec.rows_h, mh = r % vec.rows_h;
    out.xo[i] = md * vec.x_d + mh * vec.x_h + w0;
    out.yo[i] = P;
    out.rd[out.rows] = md;
    out.rh[out.rows++] = mh;
    const std::int64_t n = std::min(lanes, vec.positions - P), n1 = std::min(n, W - w0);
    out.mk[i] = first_lanes(n1, lanes);
    out.mk2[i] = 0;
    out.xo2[i] = out.xo[i];
    if (n > n1) {
      const std::int64_t r2 = r + 1, md2 = r2 / vec.rows_h, mh2 = r2 % vec.rows_h;
      out.xo2[i] = md2 * vec.x_d + mh2 * vec.x_h - n1;
      out.mk2[i] = first_lanes(n, lanes) & ~first_lanes(n1, lanes);
      out.rd[out.rows] = md2;
      out.rh[out.rows++] = mh2;
    }
  }
}

void row_vectors_get(const RowVectors& vec, std::int64_t v0, std::int64_t nv, std::int64_t* xo, std::int64_t* yo,
                     std::uint32_t* mk, std::int64_t* rd, std::int64_t* rh) {
  for (std::int64_t i = 0; i < nv; ++i) {
    const std::int64_t v = v0 + i, k = v / vec.per_row, r = vec.order != nullptr ? vec.order[k] : k;
    const std::int64_t md = r / vec.rows_h, mh = r % vec.rows_h, w0 = v % vec.per_row * vec.lanes;
    xo[i] = md * vec.x_d + mh * vec.x_h + w0 * vec.x_w;
    yo[i] = md * vec.y_d + mh * vec.y_h + w0;
    mk[i] = first_lanes(vec.width - w0, vec.lanes);
    if (rd != nullptr) {
      rd[i] = md;
      rh[i] = mh;
    }
  }
}

namespace {

// Bit t: tap t along one dim reads inside [0, n) from output o.
std::uint64_t inside_taps(std::int64_t o, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d,
                          std::int64_t n) {
  std::uint64_t m = 0;
  for (std::int64_t t = 0; t < k; ++t) {
    const std::int64_t i = o * s - p + t * d;
    if (i >= 0 && i < n) m |= std::uint64_t{1} << t;
  }
  return m;
}

}  // namespace

void TileList::make(RowVectors& vec, std::int64_t most, const SkipRows* skip) {
  begin.clear();
  order.clear();
  vec.order = nullptr;
  const auto split = [&](std::int64_t v0, std::int64_t v1) {
    const TileSplit ts(v1 - v0, most);
    for (std::int64_t t = 0; t < ts.tiles; ++t) begin.push_back(v0 + ts.begin(t));
  };
  if (skip == nullptr || vec.packed || vec.count == 0) {
    split(0, vec.count);
    begin.push_back(vec.count);
    return;
  }
  // Grouped along H only: the rows of one plane stay together, so whole tiles already share their tap rows along
  // D but where they cross a plane, and the groups stay large (the D × H groups of a 6³ volume included tiles of
  // one row, which ran slower than the products they left out).
  const std::int64_t rows = vec.count / vec.per_row, rows_h = vec.rows_h;
  std::vector<std::uint64_t> hk(static_cast<std::size_t>(rows_h));
  for (std::size_t i = 0; i < hk.size(); ++i) {
    hk[i] = inside_taps(static_cast<std::int64_t>(i), skip->kernel[1], skip->stride[1], skip->padding[1],
                        skip->dilation[1], skip->vol[1]);
  }
  // The classes in ascending order, each with its rows in their own order (a stable sort by class).
  std::vector<std::uint64_t> classes(hk);
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  order.reserve(static_cast<std::size_t>(rows));
  for (const std::uint64_t cls : classes) {
    const auto r0 = static_cast<std::int64_t>(order.size());
    for (std::int64_t r = 0; r < rows; ++r) {
      if (hk[static_cast<std::size_t>(r % rows_h)] == cls) order.push_back(r);
    }
    split(r0 * vec.per_row, static_cast<std::int64_t>(order.size()) * vec.per_row);
  }
  begin.push_back(vec.count);
  vec.order = order.data();
}

const Kernels* active_kernels() {
  return widest_kernels(avx512_kernels(), avx2_kernels(), static_cast<const Kernels*>(nullptr));
}

namespace {

// The widest set up to cpu_isa() whose vectors of per_lane · lanes positions fill at least
// min_tenths / 10 of rows of `width` positions.
const Kernels* row_kernels(std::int64_t width, std::int64_t per_lane, std::int64_t min_tenths) {
  for (const Kernels* k = active_kernels(); k != nullptr; k = k == avx512_kernels() ? avx2_kernels() : nullptr) {
    const std::int64_t span = per_lane * k->lanes;
    if (width * 10 >= (width + span - 1) / span * span * min_tenths) return k;
  }
  return nullptr;
}

}  // namespace

const Kernels* forward_kernels(const ConvGeometry& g) { return row_kernels(g.out[2], 1, 7); }

const Kernels* tap_pair_kernels(const ConvGeometry& g) {
  if (g.stride[2] != 2 || g.dilation[2] != 1 || g.kernel[2] % 2 != 0) return nullptr;
  return row_kernels(2 * g.out[2], 1, 7);  // two lanes per position
}

const Kernels* adjoint_kernels(const ConvGeometry& g) {
  return g.stride[2] == 1 ? row_kernels(g.vol[2], 1, 7) : row_kernels(g.vol[2], 2, 5);
}

const Kernels& fitting_or_widest(const Kernels* fitting) { return fitting != nullptr ? *fitting : *active_kernels(); }

}  // namespace voxgrad::detail::direct
