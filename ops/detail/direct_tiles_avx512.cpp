// The direct conv tiles for AVX-512 (x86-64-v4): 16 float32 lanes, 32 registers, mask registers.
// Compiled with -march=x86-64-v4 (ops/CMakeLists.txt); run only when cpu_isa() says avx512.

#include "voxgrad/ops/detail/direct_kernels.h"

#if defined(__AVX512F__)

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns inside its own AVX-512 headers (intrinsics built on _mm512_undefined_ps) wherever
// they are inlined: a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstring>

namespace voxgrad::detail::direct::avx512 {

struct Vec {
  static constexpr int kLanes = 16, kRegs = 32;
  static constexpr bool kMaskRegisters = true;
  using Reg = __m512;
  using Mask = __mmask16;
  static Mask mask(std::uint32_t bits) { return static_cast<Mask>(bits); }
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg set1(float a) { return _mm512_set1_ps(a); }
  static Reg set2(const float* p) {
    double d;  // the two floats' bits, broadcast from memory as one 64-bit element
    std::memcpy(&d, p, sizeof d);
    return _mm512_castpd_ps(_mm512_set1_pd(d));
  }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static Reg load(Mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, Mask m, Reg v) { _mm512_mask_storeu_ps(p, m, v); }
  static Reg loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  static void stream(float* p, Reg v) { _mm512_stream_ps(p, v); }
  static Reg load_or(Reg a, Mask m, const float* p) { return _mm512_mask_loadu_ps(a, m, p); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static float reduce_add(Reg v) { return _mm512_reduce_add_ps(v); }
  static void interleave(Reg a, Reg b, Reg& lo, Reg& hi) {
    lo = _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), b);
    hi = _mm512_permutex2var_ps(a, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), b);
  }
  static void deinterleave(Reg a, Reg b, Reg& even, Reg& odd) {
    even = _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
    odd = _mm512_permutex2var_ps(a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
  }
  // An empty asm that claims to change v: the compiler must keep it in a register from here on.
  static Reg pin(Reg v) {
    asm("" : "+v"(v));
    return v;
  }
};

}  // namespace voxgrad::detail::direct::avx512

#define VOXGRAD_ISA avx512
#include "voxgrad/ops/detail/direct_tiles_impl.h"

namespace voxgrad::detail::direct {

const Kernels* avx512_kernels() {
  static constexpr Kernels kernels = avx512::make_kernels("avx512");
  return &kernels;
}

}  // namespace voxgrad::detail::direct

#else  // a compiler or architecture without AVX-512

namespace voxgrad::detail::direct {
const Kernels* avx512_kernels() { return nullptr; }
}  // namespace voxgrad::detail::direct

#endif
