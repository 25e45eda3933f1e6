// The direct conv tiles for AVX2 + FMA (x86-64-v3): 8 float32 lanes, 16 registers, masks held as
// vectors (maskload reads zeros in masked-off lanes and never faults there). Compiled with
// -march=x86-64-v3 (ops/CMakeLists.txt); run only when cpu_isa() says avx2.

#include "voxgrad/ops/detail/direct_kernels.h"

#if defined(__AVX2__) && defined(__FMA__)

#include <immintrin.h>

#include <cstring>

namespace voxgrad::detail::direct::avx2 {

struct Vec {
  static constexpr int kLanes = 8, kRegs = 16;
  static constexpr bool kMaskRegisters = false;
  using Reg = __m256;
  using Mask = __m256i;
  static Mask mask(std::uint32_t bits) {
    const __m256i lane = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(static_cast<int>(bits)), lane), lane);
  }
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg set1(float a) { return _mm256_set1_ps(a); }
  static Reg set2(const float* p) {
    double d;  // the two floats' bits, broadcast from memory as one 64-bit element
    std::memcpy(&d, p, sizeof d);
    return _mm256_castpd_ps(_mm256_set1_pd(d));
  }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg load(Mask m, const float* p) { return _mm256_maskload_ps(p, m); }
  static void store(float* p, Mask m, Reg v) { _mm256_maskstore_ps(p, m, v); }
  static Reg loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void storeu(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  static void stream(float* p, Reg v) { _mm256_stream_ps(p, v); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  // ((l0 + h0) + (l2 + h2)) + ((l1 + h1) + (l3 + h3)), l/h the lower and upper 128-bit halves.
  static float reduce_add(Reg v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  static void interleave(Reg a, Reg b, Reg& lo, Reg& hi) {
    const __m256 l = _mm256_unpacklo_ps(a, b);  // a0 b0 a1 b1 | a4 b4 a5 b5
    const __m256 h = _mm256_unpackhi_ps(a, b);  // a2 b2 a3 b3 | a6 b6 a7 b7
    lo = _mm256_permute2f128_ps(l, h, 0x20);
    hi = _mm256_permute2f128_ps(l, h, 0x31);
  }
  static void deinterleave(Reg a, Reg b, Reg& even, Reg& odd) {
    const __m256 e = _mm256_shuffle_ps(a, b, 0x88);  // a0 a2 b0 b2 | a4 a6 b4 b6
    const __m256 o = _mm256_shuffle_ps(a, b, 0xDD);  // a1 a3 b1 b3 | a5 a7 b5 b7
    even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8));
    odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xD8));
  }
  // An empty asm that claims to change v: the compiler must keep it in a register from here on.
  static Reg pin(Reg v) {
    asm("" : "+x"(v));
    return v;
  }
};

}  // namespace voxgrad::detail::direct::avx2

#define VOXGRAD_ISA avx2
#include "voxgrad/ops/detail/direct_tiles_impl.h"

namespace voxgrad::detail::direct {

const Kernels* avx2_kernels() {
  static constexpr Kernels kernels = avx2::make_kernels("avx2");
  return &kernels;
}

}  // namespace voxgrad::detail::direct

#else  // a compiler or architecture without AVX2

namespace voxgrad::detail::direct {
const Kernels* avx2_kernels() { return nullptr; }
}  // namespace voxgrad::detail::direct

#endif
