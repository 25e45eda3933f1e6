#pragma once

#include <concepts>
#include <cstddef>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/any_value.h"
#include "voxgrad/nn/module.h"

namespace voxgrad::nn {

namespace detail {

/// The parameter types of one forward overload.
template <class... Ps>
struct ArgList {};

template <class F>
struct MemberArgs;
template <class R, class C, class... Ps>
struct MemberArgs<R (C::*)(Ps...)> {
  using type = ArgList<std::decay_t<Ps>...>;
};
template <class R, class C, class... Ps>
struct MemberArgs<R (C::*)(Ps...) const> : MemberArgs<R (C::*)(Ps...)> {};
template <class R, class C, class... Ps>
struct MemberArgs<R (C::*)(Ps...) noexcept> : MemberArgs<R (C::*)(Ps...)> {};
template <class R, class C, class... Ps>
struct MemberArgs<R (C::*)(Ps...) const noexcept> : MemberArgs<R (C::*)(Ps...)> {};

/// True if M has exactly one non-template forward (its address can be taken).
template <class M>
concept SingleForward = requires {
  &M::forward;
};
/// True if `m.forward(ts...)` compiles.
template <class M, class... Ts>
concept ForwardTakes = requires(M& m, const Ts&... ts) {
  m.forward(ts...);
};

template <class M, class... Ts>
using KeepIfTakes = std::conditional_t<ForwardTakes<M, Ts...>, std::tuple<ArgList<Ts...>>, std::tuple<>>;

/// The forward signatures a type-erased call can reach: M's forward if it is a single function
/// (any parameter types), otherwise those of the common shapes (Tensor), (Tensor, Tensor),
/// (Tensor, IntArrayRef) and (Tensor, Tensor, Tensor) that M's overloads accept (e.g.
/// ConvTranspose3d's forward(input) and forward(input, output_size), a loss's (input, target)).
template <class M>
struct ForwardSignatures {
  using type =
      decltype(std::tuple_cat(KeepIfTakes<M, Tensor>{}, KeepIfTakes<M, Tensor, Tensor>{},
                              KeepIfTakes<M, Tensor, IntArrayRef>{}, KeepIfTakes<M, Tensor, Tensor, Tensor>{}));
};
template <SingleForward M>
struct ForwardSignatures<M> {
  using type = std::tuple<typename MemberArgs<decltype(&M::forward)>::type>;
};

/// "(Tensor, IntArrayRef)".
template <class... Ps>
std::string signature_str(ArgList<Ps...>) {
  std::string s;
  ((s += (s.empty() ? "" : ", ") + type_name(typeid(Ps))), ...);
  return "(" + s + ")";
}

/// Calls m.forward with `args` converted to Ps if they match (count and types; see
/// AnyValue::holds) and stores the result in `out`; returns false if they do not match.
template <class M, class... Ps>
bool try_forward(M& m, AnyValues& args, AnyValue& out, ArgList<Ps...>) {
  if (args.size() != sizeof...(Ps)) return false;
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    if (!(args[I].template holds<Ps>() && ...)) return false;
    using R = decltype(m.forward(args[I].template get<Ps>()...));
    if constexpr (std::is_void_v<R>) {
      m.forward(args[I].template get<Ps>()...);
      out = AnyValue();
    } else {
      out = AnyValue(m.forward(args[I].template get<Ps>()...));
    }
    return true;
  }
  (std::index_sequence_for<Ps...>{});
}

/// Throws: no forward of `module` takes `args`; lists the types given and the signatures accepted.
[[noreturn]] void throw_no_forward(const Module& module, const AnyValues& args, const std::vector<std::string>& sigs);

/// The type-erased forward of module type M: applies a Module (of dynamic type M) to AnyValues by
/// the first signature of ForwardSignatures<M> that matches them. A module of another type (a
/// child replaced by replace_module) is called through the virtual forward(const Tensor&).
template <class M>
ForwardFn make_forward() {
  return [](Module& module, AnyValues& args) -> AnyValue {
    AnyValue out;
    auto* m = dynamic_cast<M*>(&module);
    if (m == nullptr) {
      if (args.size() == 1 && args[0].holds<Tensor>()) return module.forward(args[0].get<Tensor>());
      throw_no_forward(module, args, {"(Tensor)"});
    }
    using Sigs = typename ForwardSignatures<M>::type;
    const bool called = std::apply([&](auto... sig) { return (try_forward(*m, args, out, sig) || ...); }, Sigs{});
    if (!called) {
      std::vector<std::string> sigs;
      std::apply([&](auto... sig) { (sigs.push_back(signature_str(sig)), ...); }, Sigs{});
      throw_no_forward(module, args, sigs);
    }
    return out;
  };
}

/// Packs call arguments as AnyValues (decayed copies; a Tensor copy is a handle).
template <class... Args>
AnyValues pack_args(Args&&... args) {
  AnyValues packed;
  packed.reserve(sizeof...(Args));
  (packed.emplace_back(std::forward<Args>(args)), ...);
  return packed;
}

}  // namespace detail

/// Any module with its forward type-erased, as libtorch's AnyModule: what nn::Sequential holds, so
/// that it can call a module whose forward takes more than one argument (ConvTranspose3d with an
/// output_size, a loss with a target, a user module's forward(x, skip)). Built from a holder, a
/// std::shared_ptr<M> or a module value; forward(args...) calls M's forward with the hooks run.
/// The forward reached is M's own when it has a single one (any parameter types); for an
/// overloaded or template forward, the overloads taking (Tensor), (Tensor, Tensor),
/// (Tensor, IntArrayRef) or (Tensor, Tensor, Tensor). Arguments match a parameter type exactly or
/// by AnyValue's conversions (a std::vector<int64_t> passes as IntArrayRef, an int as int64_t or double).
class AnyModule {
 public:
  /// An empty AnyModule.
  AnyModule() = default;
  /// Holds `module` (not null) with M's forward.
  template <class M>
  requires std::derived_from<M, Module>
  explicit AnyModule(std::shared_ptr<M> module) : module_(std::move(module)), forward_(detail::make_forward<M>()) {
    VOXGRAD_CHECK(module_ != nullptr, "AnyModule: the module is null");
  }
  /// Holds the module of `holder` (which must not be empty).
  template <detail::ModuleHolderType H>
  explicit AnyModule(const H& holder) : AnyModule(holder.ptr()) {}
  /// Moves a module value into a new std::shared_ptr and holds it.
  template <class M>
  requires std::derived_from<std::decay_t<M>, Module> &&(!std::is_lvalue_reference_v<M>)explicit AnyModule(M&& module)
      : AnyModule(std::make_shared<std::decay_t<M>>(std::forward<M>(module))) {}

  /// Calls the module's forward with `args` (hooks run) and returns its result as an R (throws
  /// naming both types if it is something else).
  template <class R = Tensor, class... Args>
  R forward(Args&&... args) {
    return any_forward(detail::pack_args(std::forward<Args>(args)...)).template get<R>();
  }
  /// Calls the module's forward with type-erased arguments (hooks run) and returns its result.
  AnyValue any_forward(AnyValues args) const {
    VOXGRAD_CHECK(module_ != nullptr, "AnyModule::forward: the AnyModule is empty");
    return module_->call_forward(std::move(args), forward_);
  }
  /// A deep copy (Module::clone()) of the module with the same forward, as libtorch's AnyModule::clone;
  /// an empty AnyModule for an empty one.
  AnyModule clone() const {
    AnyModule copy;
    if (module_ == nullptr) return copy;
    copy.module_ = module_->clone();
    copy.forward_ = forward_;
    return copy;
  }
  /// The module (null when empty).
  const std::shared_ptr<Module>& ptr() const { return module_; }
  /// The module as an M; throws if empty or of another type.
  template <class M>
  std::shared_ptr<M> ptr() const {
    auto m = std::dynamic_pointer_cast<M>(module_);
    VOXGRAD_CHECK(m != nullptr, "AnyModule::ptr: the module is {}, not a {}", module_ ? module_->name() : "empty",
                  detail::type_name(typeid(M)));
    return m;
  }
  /// The type-erased forward (applies to a module of the held type).
  const detail::ForwardFn& forward_fn() const { return forward_; }
  /// True if no module is held.
  bool is_empty() const { return module_ == nullptr; }

 private:
  std::shared_ptr<Module> module_;
  detail::ForwardFn forward_;
};

}  // namespace voxgrad::nn
