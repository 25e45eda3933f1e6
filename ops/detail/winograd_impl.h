// Internal: the transforms of winograd_kernels.h as one template, compiled per instruction set by
// winograd_<isa>.cpp after defining VOXGRAD_ISA (the namespace). Both sets have AVX2, so the transforms
// work on 8-lane vectors of tiles along W (__m256): kStep tiles a step, every value read as a whole
// vector from the parity-split copies (no shuffles on the way in), sums in a fixed order.
// Everything here has internal linkage or an ISA-qualified name (ops.isa_objects_share_no_symbols).

#include <immintrin.h>

#include <cstdint>

#include "voxgrad/ops/detail/winograd_kernels.h"

#ifndef VOXGRAD_ISA
#error "define VOXGRAD_ISA before including winograd_impl.h"
#endif

namespace voxgrad::detail::winograd::VOXGRAD_ISA {

namespace {

constexpr int kStep = 8;  // tiles per step: one vector
using V = __m256;

inline __attribute__((always_inline)) V load(const float* p) { return _mm256_loadu_ps(p); }
inline __attribute__((always_inline)) void store(float* p, V v) { _mm256_storeu_ps(p, v); }
inline __attribute__((always_inline)) V add(V a, V b) { return _mm256_add_ps(a, b); }
inline __attribute__((always_inline)) V sub(V a, V b) { return _mm256_sub_ps(a, b); }

// Asks for the lines a step stores to (64 of them, xs apart) before it computes: they are rarely in L1,
// and a store that misses L1 holds up every store behind it until its line arrives.
inline __attribute__((always_inline)) void prefetch_tiles(float* dst, std::int64_t xs) {
  for (int xi = 0; xi < 64; ++xi) __builtin_prefetch(dst + xi * xs, 1, 3);
}

// Stores v[ξ] (kStep tiles, the first nt of them kept) at dst + ξ·xs.
inline __attribute__((always_inline)) void store_tiles(const V* v, int nt, float* dst, std::int64_t xs) {
  if (nt == kStep) {
    for (int xi = 0; xi < 64; ++xi) store(dst + xi * xs, v[xi]);
  } else {
    alignas(32) float tmp[kStep];
    for (int xi = 0; xi < 64; ++xi) {
      _mm256_store_ps(tmp, v[xi]);
      for (int k = 0; k < nt; ++k) dst[xi * xs + k] = tmp[k];
    }
  }
}

// Bᵀ d B for kStep tiles, their rows' even columns at base + i·ps + j·rs (tile k's at + k and + k + 1),
// odd ones `half` further: v[ξ].
inline __attribute__((always_inline)) void input_step(const float* base, std::int64_t ps, std::int64_t rs,
                                                      std::int64_t half, V* v) {
  V w[4][4][4];  // [d][h][c]: Bᵀ along W of input row (d, h)
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      const float* x = base + i * ps + j * rs;
      const V e0 = load(x), e1 = load(x + 1), o0 = load(x + half), o1 = load(x + half + 1);
      w[i][j][0] = sub(e0, e1);
      w[i][j][1] = add(o0, e1);
      w[i][j][2] = sub(e1, o0);
      w[i][j][3] = sub(o0, o1);
    }
  }
  V t[4][4][4];  // [a][h][c]: Bᵀ along D
  for (int j = 0; j < 4; ++j) {
    for (int c = 0; c < 4; ++c) {
      t[0][j][c] = sub(w[0][j][c], w[2][j][c]);
      t[1][j][c] = add(w[1][j][c], w[2][j][c]);
      t[2][j][c] = sub(w[2][j][c], w[1][j][c]);
      t[3][j][c] = sub(w[1][j][c], w[3][j][c]);
    }
  }
  for (int a = 0; a < 4; ++a) {  // Bᵀ along H
    for (int c = 0; c < 4; ++c) {
      v[(a * 4 + 0) * 4 + c] = sub(t[a][0][c], t[a][2][c]);
      v[(a * 4 + 1) * 4 + c] = add(t[a][1][c], t[a][2][c]);
      v[(a * 4 + 2) * 4 + c] = sub(t[a][2][c], t[a][1][c]);
      v[(a * 4 + 3) * 4 + c] = sub(t[a][1][c], t[a][3][c]);
    }
  }
}

// A step of nt < kStep tiles: its rows' `cols` values per parity (from base, rows rs, planes ps apart)
// into a zero-padded local copy of 2·kStep floats a parity, rows and planes packed.
template <int D, int H>
void stage(const float* base, std::int64_t ps, std::int64_t rs, std::int64_t half, std::int64_t cols,
           float (*dst)[H][4 * kStep]) {
  for (int i = 0; i < D; ++i) {
    for (int j = 0; j < H; ++j) {
      const float* s = base + i * ps + j * rs;
      for (int c = 0; c < 2 * kStep; ++c) {
        dst[i][j][c] = c < cols ? s[c] : 0.0f;
        dst[i][j][2 * kStep + c] = c < cols ? s[half + c] : 0.0f;
      }
    }
  }
}

void input_row(const float* plane, std::int64_t ps, std::int64_t rs, std::int64_t half, const TileRow& r, float* dst,
               std::int64_t xs) {
  const float* base = plane + 2 * r.td * ps + 2 * r.th * rs;
  V v[64];
  for (std::int64_t k0 = r.tw0; k0 < r.tw1; k0 += kStep) {
    const int nt = static_cast<int>(r.tw1 - k0 < kStep ? r.tw1 - k0 : kStep);
    prefetch_tiles(dst + (k0 - r.tw0), xs);
    if (nt == kStep) {
      input_step(base + k0, ps, rs, half, v);
    } else {
      float local[4][4][4 * kStep];
      stage<4, 4>(base + k0, ps, rs, half, nt + 1, local);
      input_step(&local[0][0][0], 4 * 4 * kStep, 4 * kStep, 2 * kStep, v);
    }
    store_tiles(v, nt, dst + (k0 - r.tw0), xs);
  }
}

// Aᵀ m A + bias for kStep tiles, m[ξ·ms + k]: y[i][j] holds outputs (i, j, ·) of the tiles, their two
// columns side by side (2·kStep floats). Along D and H on vectors of tiles, then along W.
inline __attribute__((always_inline)) void output_step(const float* m, std::int64_t ms, float bias,
                                                       float (*y)[2][2 * kStep]) {
  V t[2][4][4];  // [i][b][c]: Aᵀ along D
  for (int b = 0; b < 4; ++b) {
    for (int c = 0; c < 4; ++c) {
      const float* p = m + (b * 4 + c) * ms;
      const V m0 = load(p), m1 = load(p + 16 * ms), m2 = load(p + 32 * ms), m3 = load(p + 48 * ms);
      t[0][b][c] = add(add(m0, m1), m2);
      t[1][b][c] = sub(sub(m1, m2), m3);
    }
  }
  const V vb = _mm256_set1_ps(bias);
  for (int i = 0; i < 2; ++i) {
    V u[2][4];  // along H
    for (int c = 0; c < 4; ++c) {
      u[0][c] = add(add(t[i][0][c], t[i][1][c]), t[i][2][c]);
      u[1][c] = sub(sub(t[i][1][c], t[i][2][c]), t[i][3][c]);
    }
    for (int j = 0; j < 2; ++j) {  // along W, plus the bias; then the two columns interleaved
      const V even = add(add(add(u[j][0], u[j][1]), u[j][2]), vb);
      const V odd = add(sub(sub(u[j][1], u[j][2]), u[j][3]), vb);
      const V lo = _mm256_unpacklo_ps(even, odd), hi = _mm256_unpackhi_ps(even, odd);
      store(y[i][j], _mm256_permute2f128_ps(lo, hi, 0x20));
      store(y[i][j] + kStep, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
  }
}

void output_row(const float* m, std::int64_t ms, float bias, float* plane, const std::int64_t* out, const TileRow& r) {
  alignas(32) float y[2][2][2 * kStep];
  for (std::int64_t k0 = r.tw0; k0 < r.tw1; k0 += kStep) {
    // m holds at least kStep values from k0 in every row (the caller's buffers have that slack); the
    // tiles past tw1 are computed and dropped.
    output_step(m + (k0 - r.tw0), ms, bias, y);
    const std::int64_t nt = r.tw1 - k0 < kStep ? r.tw1 - k0 : kStep, w0 = 2 * k0;
    const std::int64_t n = out[2] - w0 < 2 * nt ? out[2] - w0 : 2 * nt;  // the step's outputs inside the row
    for (int i = 0; i < 2; ++i) {
      const std::int64_t od = 2 * r.td + i;
      if (od >= out[0]) continue;
      for (int j = 0; j < 2; ++j) {
        const std::int64_t oh = 2 * r.th + j;
        if (oh >= out[1]) continue;
        float* row = plane + (od * out[1] + oh) * out[2] + w0;
        if (n == 2 * kStep) {
          store(row, load(y[i][j]));
          store(row + kStep, load(y[i][j] + kStep));
        } else {
          for (std::int64_t c = 0; c < n; ++c) row[c] = y[i][j][c];
        }
      }
    }
  }
}

#define VOXGRAD_WINOGRAD_STR2(x) #x
#define VOXGRAD_WINOGRAD_STR(x) VOXGRAD_WINOGRAD_STR2(x)
constexpr Transforms kTransforms{VOXGRAD_WINOGRAD_STR(VOXGRAD_ISA), &input_row, &output_row};
#undef VOXGRAD_WINOGRAD_STR
#undef VOXGRAD_WINOGRAD_STR2

}  // namespace

const Transforms* transforms() { return &kTransforms; }

}  // namespace voxgrad::detail::winograd::VOXGRAD_ISA
