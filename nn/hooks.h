#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/any_value.h"

namespace voxgrad::nn {

class Module;

/// Removes the hook it was returned for, as PyTorch's RemovableHandle: remove() may be called any
/// number of times, also after the module is gone. Dropping the handle does not remove the hook.
class HookHandle {
 public:
  /// A handle that removes nothing.
  HookHandle() = default;
  /// A handle whose remove() calls `remover` once.
  explicit HookHandle(std::function<void()> remover) : remover_(std::move(remover)) {}
  /// Removes the hook (no-op if it was removed already).
  void remove() {
    if (auto remover = std::exchange(remover_, nullptr)) remover();
  }

 private:
  std::function<void()> remover_;
};

/// A forward pre-hook in its general form: called with the module and its (positional) inputs
/// before forward; a returned value replaces the inputs, std::nullopt keeps them (PyTorch: None).
using ForwardPreHook = std::function<std::optional<AnyValues>(Module&, const AnyValues&)>;
/// A forward hook in its general form: called with the module, the inputs forward received (after
/// the pre-hooks) and its output; a returned value replaces the output, std::nullopt keeps it.
using ForwardHook = std::function<std::optional<AnyValue>(Module&, const AnyValues&, const AnyValue&)>;

namespace detail {

/// A module's forward hooks in call order, each with the id its handle removes.
struct ForwardHooks {
  std::uint64_t next_id = 0;
  std::vector<std::pair<std::uint64_t, ForwardPreHook>> pre;
  std::vector<std::pair<std::uint64_t, ForwardHook>> post;
};

/// The single Tensor in `inputs`; throws (naming `module` and the inputs' types) otherwise: a hook
/// written for one tensor was met by a module called with other arguments.
Tensor single_tensor_input(const Module& module, const AnyValues& inputs, const char* hook);

/// What a hook returned, as the optional the general form returns: void keeps, std::optional<T>
/// keeps when empty, any other value replaces.
template <class To, class R, class Call>
std::optional<To> hook_result(Call&& call) {
  if constexpr (std::is_void_v<R>) {
    call();
    return std::nullopt;
  } else {
    R r = call();
    if constexpr (requires {
                    r.has_value();
                    *r;
                  }) {
      if (!r.has_value()) return std::nullopt;
      return To(std::move(*r));
    } else {
      return To(std::move(r));
    }
  }
}

/// Wraps a pre-hook written as (Module&, const AnyValues&) or (Module&, const Tensor&).
template <class F>
ForwardPreHook make_pre_hook(F&& f) {
  if constexpr (std::is_same_v<std::decay_t<F>, ForwardPreHook>) {
    return std::forward<F>(f);  // kept as is, so that an empty one is reported
  } else if constexpr (std::is_invocable_v<F&, Module&, const AnyValues&>) {
    using R = std::invoke_result_t<F&, Module&, const AnyValues&>;
    return [f = std::forward<F>(f)](Module& m, const AnyValues& in) mutable {
      return hook_result<AnyValues, R>([&]() -> R { return f(m, in); });
    };
  } else {
    static_assert(std::is_invocable_v<F&, Module&, const Tensor&>,
                  "register_forward_pre_hook: the hook must be callable as (nn::Module&, const nn::AnyValues&) or "
                  "(nn::Module&, const Tensor&), returning void, the new input(s) or a std::optional of them");
    using R = std::invoke_result_t<F&, Module&, const Tensor&>;
    return [f = std::forward<F>(f)](Module& m, const AnyValues& in) mutable -> std::optional<AnyValues> {
      const Tensor& x = single_tensor_input(m, in, "forward pre-hook");
      auto replaced = hook_result<Tensor, R>([&]() -> R { return f(m, x); });
      if (!replaced) return std::nullopt;
      return AnyValues{AnyValue(std::move(*replaced))};
    };
  }
}

/// Wraps a forward hook written as (Module&, const AnyValues&, const AnyValue&) or
/// (Module&, const Tensor& input, const Tensor& output).
template <class F>
ForwardHook make_forward_hook(F&& f) {
  if constexpr (std::is_same_v<std::decay_t<F>, ForwardHook>) {
    return std::forward<F>(f);  // kept as is, so that an empty one is reported
  } else if constexpr (std::is_invocable_v<F&, Module&, const AnyValues&, const AnyValue&>) {
    using R = std::invoke_result_t<F&, Module&, const AnyValues&, const AnyValue&>;
    return [f = std::forward<F>(f)](Module& m, const AnyValues& in, const AnyValue& out) mutable {
      return hook_result<AnyValue, R>([&]() -> R { return f(m, in, out); });
    };
  } else {
    static_assert(std::is_invocable_v<F&, Module&, const Tensor&, const Tensor&>,
                  "register_forward_hook: the hook must be callable as (nn::Module&, const nn::AnyValues&, const "
                  "nn::AnyValue&) or (nn::Module&, const Tensor& input, const Tensor& output), returning void, the "
                  "new output or a std::optional of it");
    using R = std::invoke_result_t<F&, Module&, const Tensor&, const Tensor&>;
    return [f = std::forward<F>(f)](Module& m, const AnyValues& in, const AnyValue& out) mutable {
      const Tensor& x = single_tensor_input(m, in, "forward hook");
      const Tensor y = out.get<Tensor>();
      return hook_result<AnyValue, R>([&]() -> R { return f(m, x, y); });
    };
  }
}

}  // namespace detail
}  // namespace voxgrad::nn
