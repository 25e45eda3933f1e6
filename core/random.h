#pragma once

#include <cstdint>

namespace voxgrad {

/// Seeds the global generator used by rand, randn, randint and nn::init; sequences are reproducible.
void manual_seed(std::uint64_t seed);

/// The global generator: a counter-based stream, so draws are the same on every platform.
class Generator {
 public:
  /// A generator starting from `seed`.
  explicit Generator(std::uint64_t seed = 0x5eed) { seed_(seed); }
  /// Restarts the stream from `seed`.
  void seed_(std::uint64_t seed) { state_ = seed; }
  /// Next 64 random bits (SplitMix64).
  std::uint64_t next_u64() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform double in [0, 1) with 53 random bits.
  double next_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  /// Uniform float in [0, 1) with 24 random bits (never rounds up to 1).
  float next_float() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }
  /// Standard normal (Box-Muller on two uniforms).
  double next_normal();

 private:
  std::uint64_t state_ = 0;
};

/// The process-wide generator (not thread-safe: seed and draw from one thread, as in PyTorch scripts).
Generator& default_generator();

}  // namespace voxgrad
