#pragma once
// Internal (AVX-512 builds only): the padded input layout the direct conv kernels read, and the
// output positions they walk in 16-lane vectors.
//
// Each sample is copied once into a zero-padded layout in which every output row's inputs are
// contiguous: rows of the padded volume are split into `sw` phases (columns r, r + sw, r + 2·sw, …
// for r = 0 … sw − 1, each phase Wq long), so a run of 16 output positions along W reads 16
// consecutive floats for every kernel tap, whatever the stride.

#if defined(__AVX512F__)

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns inside its own AVX-512 headers (intrinsics built on _mm512_undefined_ps) wherever
// they are inlined: a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "voxgrad/ops/detail/conv_geometry.h"

namespace voxgrad::detail::direct {

constexpr int kLanes = 16;

/// The mask of lanes 0 … n − 1 (none for n ≤ 0, all 16 for n ≥ 16).
inline __mmask16 first_lanes(std::int64_t n) {
  return static_cast<__mmask16>(n <= 0 ? 0u : n >= kLanes ? 0xFFFFu : (1u << n) - 1u);
}

/// One sample's padded input: per channel Dp × Hp rows of `row` floats, each row sw phases of Wq
/// floats. Padded position p along a dim holds input index p − origin (zero outside the input).
struct PaddedLayout {
  std::int64_t Dp = 1, Hp = 1, Wq = 1, sw = 1;
  std::int64_t row = 1, plane = 1, channel = 1;
  Dims origin{};

  /// Fills row, plane and channel from Dp, Hp, Wq and sw.
  void finish() {
    row = sw * Wq;
    plane = Hp * row;
    channel = Dp * plane;
  }
};

/// The layout of the forward map's input: extents (out − 1)·stride + (kernel − 1)·dilation + 1, origin
/// = padding, phases = stride along W.
PaddedLayout forward_layout(const ConvGeometry& g);

/// Offset of every tap (kd, kh, kw), in kernel order, from an output position's base in layout L.
std::vector<std::int64_t> tap_offsets(const ConvGeometry& g, const PaddedLayout& L);

/// True when sample n of a volume (channels × vol) is already laid out as L (no padding, one phase,
/// nothing cropped): the kernels then read it in place.
bool reads_in_place(const Dims& vol, const PaddedLayout& L);

/// Sample n of x (channels × vol per sample) in layout L: x itself when it already is, else a copy
/// in xp (channels · L.channel floats), made in parallel tasks of whole planes.
const float* padded_sample(const float* x, float* xp, std::int64_t channels, const Dims& vol, const PaddedLayout& L,
                           std::int64_t n);

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

/// Output positions as 16-lane vectors: rows (md, mh) of `width` positions, ceil(width / 16) vectors
/// each. A row's first input and output sit at md·x_d + mh·x_h and md·y_d + mh·y_h.
struct RowVectors {
  std::int64_t per_row = 0, rows_h = 1, width = 0, count = 0;
  std::int64_t x_d = 0, x_h = 0, y_d = 0, y_h = 0;

  RowVectors(std::int64_t rows_d, std::int64_t rows_h_, std::int64_t width_, std::int64_t xd, std::int64_t xh,
             std::int64_t yd, std::int64_t yh)
      : per_row((width_ + kLanes - 1) / kLanes), rows_h(rows_h_), width(width_), x_d(xd), x_h(xh), y_d(yd), y_h(yh) {
    count = rows_d * rows_h * per_row;
  }
  /// The input and output offsets and the lanes of vectors v0 … v0 + nv − 1, and optionally their
  /// output rows (one division for the first, then stepping).
  void get(std::int64_t v0, std::int64_t nv, std::int64_t* xo, std::int64_t* yo, __mmask16* mk,
           std::int64_t* rd = nullptr, std::int64_t* rh = nullptr) const {
    const std::int64_t r = v0 / per_row;
    std::int64_t j = v0 % per_row, md = r / rows_h, mh = r % rows_h;
    for (std::int64_t i = 0; i < nv; ++i) {
      const std::int64_t w0 = j * kLanes;
      xo[i] = md * x_d + mh * x_h + w0;
      yo[i] = md * y_d + mh * y_h + w0;
      mk[i] = first_lanes(width - w0);
      if (rd != nullptr) {
        rd[i] = md;
        rh[i] = mh;
      }
      if (++j == per_row) {
        j = 0;
        if (++mh == rows_h) {
          mh = 0;
          ++md;
        }
      }
    }
  }
};

/// The output vectors of the forward map of g over layout L.
RowVectors forward_vectors_of(const ConvGeometry& g, const PaddedLayout& L);

}  // namespace voxgrad::detail::direct

#endif  // __AVX512F__
