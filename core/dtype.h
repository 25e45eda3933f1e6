#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string_view>

#include <fmt/format.h>

namespace voxgrad {

/// Element type of a tensor: float32 and float64 for math, int64 for indices and class labels.
enum class DType : std::uint8_t { Float32, Float64, Int64 };

/// libtorch-style constants: kFloat32 (== kFloat), kFloat64 (== kDouble), kInt64 (== kLong).
inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kDouble = DType::Float64;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kLong = DType::Int64;

/// Size in bytes of one element of `dtype`.
constexpr std::size_t element_size(DType dtype) { return dtype == DType::Float32 ? 4 : 8; }

/// "float32", "float64" or "int64".
constexpr std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
  }
  return "unknown";
}

/// True for float32 and float64.
constexpr bool is_floating_point(DType dtype) { return dtype != DType::Int64; }

/// The dtype two operands are computed in (float64 wins over float32, floats win over int64).
constexpr DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::Float64 || b == DType::Float64) return DType::Float64;
  return DType::Float32;
}

/// Maps a C++ element type to its DType.
template <typename T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = DType::Float32;
};
template <>
struct dtype_of<double> {
  static constexpr DType value = DType::Float64;
};
template <>
struct dtype_of<std::int64_t> {
  static constexpr DType value = DType::Int64;
};

/// Prints the dtype name.
inline std::ostream& operator<<(std::ostream& os, DType dtype) { return os << dtype_name(dtype); }

}  // namespace voxgrad

template <>
struct fmt::formatter<voxgrad::DType> : fmt::formatter<std::string_view> {
  auto format(voxgrad::DType d, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(voxgrad::dtype_name(d), ctx);
  }
};
