#pragma once

#include <utility>

/// Declares a builder-style option, as libtorch's TORCH_ARG: a private member `name_` of type T
/// (initialise it after the macro: `VOXGRAD_ARG(int64_t, groups) = 1;`), a chaining setter
/// `name(value)` that returns *this, and getters `name()`.
#define VOXGRAD_ARG(T, name)                               \
 public:                                                   \
  auto name(T new_##name)->decltype(*this) {               \
    this->name##_ = std::move(new_##name);                 \
    return *this;                                          \
  }                                                        \
  const T& name() const noexcept { return this->name##_; } \
  T& name() noexcept { return this->name##_; }             \
                                                           \
 private:                                                  \
  T name##_
