#pragma once

#include <any>
#include <cstdint>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/core/tensor.h"

namespace voxgrad::nn {

namespace detail {
/// A readable name of a C++ type for error messages: demangled, voxgrad:: namespaces dropped, e.g.
/// "Tensor", "IntArrayRef", "std::vector<long, std::allocator<long> >".
std::string type_name(const std::type_info& type);
}  // namespace detail

/// One argument or result of a type-erased forward, as libtorch's AnyValue: any copyable value
/// (a Tensor, an IntArrayRef, a std::vector<int64_t>, a double ...). Used by nn::AnyModule,
/// nn::Sequential and the module forward hooks, whose callers do not know the module's types.
class AnyValue {
 public:
  /// An empty value (what a forward returning void gives).
  AnyValue() = default;
  /// Holds a copy of `value` (decayed: a `const Tensor&` is held as a Tensor).
  template <class T, class = std::enable_if_t<!std::is_same_v<std::decay_t<T>, AnyValue>>>
  AnyValue(T&& value) : value_(std::forward<T>(value)) {}  // NOLINT: implicit, as libtorch's

  /// True if no value is held.
  bool is_empty() const { return !value_.has_value(); }
  /// The type held (typeid(void) when empty).
  const std::type_info& type_info() const { return value_.type(); }
  /// The readable name of the type held ("void" when empty).
  std::string type_name() const { return detail::type_name(value_.type()); }

  /// True if get<T>() would succeed: the value is a T, or converts to one without loss of meaning
  /// (a std::vector<int64_t> to IntArrayRef, an int to int64_t, an integer or float to double).
  template <class T>
  bool holds() const {
    if (value_.type() == typeid(T)) return true;
    if constexpr (std::is_same_v<T, IntArrayRef>) return value_.type() == typeid(std::vector<std::int64_t>);
    if constexpr (std::is_same_v<T, std::int64_t>) return value_.type() == typeid(int);
    if constexpr (std::is_same_v<T, double>) {
      return value_.type() == typeid(int) || value_.type() == typeid(std::int64_t) || value_.type() == typeid(float);
    }
    return false;
  }
  /// The value as a T (see holds()); throws voxgrad::Error naming both types otherwise. An
  /// IntArrayRef taken from a held std::vector is a view of it: it lives as long as this AnyValue.
  template <class T>
  T get() const {
    if (const T* exact = std::any_cast<T>(&value_)) return *exact;
    if constexpr (std::is_same_v<T, IntArrayRef>) {
      if (const auto* v = std::any_cast<std::vector<std::int64_t>>(&value_)) return IntArrayRef(*v);
    }
    if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>) {
      if (const auto* i = std::any_cast<int>(&value_)) return static_cast<T>(*i);
    }
    if constexpr (std::is_same_v<T, double>) {
      if (const auto* i = std::any_cast<std::int64_t>(&value_)) return static_cast<double>(*i);
      if (const auto* f = std::any_cast<float>(&value_)) return static_cast<double>(*f);
    }
    throw Error(
        fmt::format("AnyValue::get: asked for a {}, but the value is a {}", detail::type_name(typeid(T)), type_name()));
  }

 private:
  std::any value_;
};

/// The arguments of a type-erased forward call, in order.
using AnyValues = std::vector<AnyValue>;

}  // namespace voxgrad::nn
