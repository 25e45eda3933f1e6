#include "voxgrad/core/random.h"

#include <cmath>
#include <numbers>

namespace voxgrad {

double Generator::next_normal() {
  // 1 - u keeps the logarithm's argument in (0, 1].
  const double u1 = 1.0 - next_double();
  const double u2 = next_double();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

Generator& default_generator() {
  static Generator gen;
  return gen;
}

void manual_seed(std::uint64_t seed) { default_generator().seed_(seed); }

}  // namespace voxgrad
