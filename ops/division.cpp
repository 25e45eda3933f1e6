#include "voxgrad/ops/division.h"

#include <cmath>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/checks.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/elementwise_kernels.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"

namespace voxgrad {

namespace {

enum class Rounding { kTrunc, kFloor };

// torch's div_floor_floating: the quotient from fmod, so that a / b rounding up to an integer does not floor
// one too high; the nearest integer to it where the division was inexact; a signed zero where it is 0.
template <typename T>
T floor_quotient(T a, T b) {
  if (b == 0) return a / b;
  const T mod = std::fmod(a, b);
  T div = (a - mod) / b;
  if (mod != 0 && (b < 0) != (mod < 0)) div -= T(1);
  if (div == 0) return std::copysign(T(0), a / b);
  T floordiv = std::floor(div);
  if (div - floordiv > T(0.5)) floordiv += T(1);
  return floordiv;
}

// Python's %: fmod moved into b's sign (torch's remainder kernel).
template <typename T>
T python_remainder(T a, T b) {
  T mod = std::fmod(a, b);
  if (mod != 0 && (b < 0) != (mod < 0)) mod += b;
  return mod;
}

Rounding parse_rounding(std::string_view mode) {
  if (mode == "trunc") return Rounding::kTrunc;
  if (mode == "floor") return Rounding::kFloor;
  throw Error(fmt::format("div: expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{}'", mode));
}

// The rounded quotient of promoted operands: piecewise constant, so its gradient is zero for both.
Tensor rounded_div(const Tensor& x, const Tensor& y, Rounding mode, const char* name) {
  Tensor out = mode == Rounding::kTrunc
                   ? detail::binary_kernel(x, y, name, [](auto p, auto q) { return std::trunc(p / q); })
                   : detail::binary_kernel(x, y, name, [](auto p, auto q) { return floor_quotient(p, q); });
  autograd::record("DivBackward", x, y, out, {}, [sa = x.sizes(), sb = y.sizes()](const autograd::BackwardCtx& c) {
    std::vector<Tensor> g(2);
    if (c.needs_input_grad(0)) g[0] = zeros(sa, c.grad().dtype());
    if (c.needs_input_grad(1)) g[1] = zeros(sb, c.grad().dtype());
    return g;
  });
  return out;
}

// fmod (kTrunc) or remainder (kFloor) of promoted operands: a − q·b with q the rounded quotient, so the
// gradients are grad and −grad · q (PyTorch's, with q from div's rounding mode).
Tensor modulo(const Tensor& a, const Tensor& b, Rounding mode, const char* name, const char* node) {
  auto [x, y] = detail::promote(a, b, name);
  Tensor out = mode == Rounding::kTrunc
                   ? detail::binary_kernel(x, y, name, [](auto p, auto q) { return std::fmod(p, q); })
                   : detail::binary_kernel(x, y, name, [](auto p, auto q) { return python_remainder(p, q); });
  // b's gradient reads both operands; a's reads neither.
  const bool b_grad = y.requires_grad();
  autograd::record(
      node, x, y, out,
      {autograd::save_for_backward(b_grad ? x : Tensor()), autograd::save_for_backward(b_grad ? y : Tensor())},
      [mode, name, sa = x.sizes(), sb = y.sizes()](const autograd::BackwardCtx& c) {
        std::vector<Tensor> g(2);
        if (c.needs_input_grad(0)) g[0] = c.grad().sum_to_size(sa);
        if (c.needs_input_grad(1)) {
          g[1] = (-c.grad() * rounded_div(c.saved[0], c.saved[1], mode, name)).sum_to_size(sb);
        }
        return g;
      });
  return out;
}

// b as a 0-d tensor of a's dtype (a Python number does not promote a tensor in torch), a checked first.
Tensor number_like(const Tensor& a, double b, const char* name) {
  detail::check_defined(a, name, "self");
  detail::check_floating(a, name);
  return full({}, b, a.dtype());
}

}  // namespace

Tensor div(const Tensor& a, const Tensor& b, std::optional<std::string_view> rounding_mode) {
  if (!rounding_mode) return div(a, b);
  const Rounding mode = parse_rounding(*rounding_mode);
  auto [x, y] = detail::promote(a, b, "div");
  return rounded_div(x, y, mode, "div");
}

Tensor div(const Tensor& a, double b, std::optional<std::string_view> rounding_mode) {
  return div(a, number_like(a, b, "div"), rounding_mode);
}

Tensor floor_divide(const Tensor& a, const Tensor& b) {
  auto [x, y] = detail::promote(a, b, "floor_divide");
  return rounded_div(x, y, Rounding::kFloor, "floor_divide");
}

Tensor floor_divide(const Tensor& a, double b) { return floor_divide(a, number_like(a, b, "floor_divide")); }

Tensor fmod(const Tensor& a, const Tensor& b) { return modulo(a, b, Rounding::kTrunc, "fmod", "FmodBackward"); }

Tensor fmod(const Tensor& a, double b) { return fmod(a, number_like(a, b, "fmod")); }

Tensor remainder(const Tensor& a, const Tensor& b) {
  return modulo(a, b, Rounding::kFloor, "remainder", "RemainderBackward");
}

Tensor remainder(const Tensor& a, double b) { return remainder(a, number_like(a, b, "remainder")); }

}  // namespace voxgrad
