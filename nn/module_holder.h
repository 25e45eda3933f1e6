#pragma once

#include <concepts>
#include <cstddef>
#include <memory>
#include <ostream>
#include <type_traits>
#include <utility>

#include "voxgrad/core/error.h"
#include "voxgrad/nn/any_module.h"
#include "voxgrad/nn/module.h"

namespace voxgrad::nn {

namespace detail {
/// Throws: a holder of `impl` (the readable name of its module type) is empty.
[[noreturn]] void throw_empty_holder(const std::string& impl);
}  // namespace detail

/// A shared handle to a module of type Impl, as libtorch's ModuleHolder: `nn::Conv3d` holds an
/// `nn::Conv3dImpl`. Copies share the module (reference semantics, like the std::shared_ptr it
/// wraps); `->` reaches the module's members (`conv->weight`, `conv->forward(x)`), and calling the
/// holder (`conv(x)`) runs forward with the module's forward hooks, as PyTorch's `conv(x)`. Build
/// one with Impl's constructor arguments (`nn::Conv3d conv(nn::Conv3dOptions(1, 8, 3))`), with no
/// arguments if Impl has a default constructor (`nn::ReLU relu;`), empty (`nn::Conv3d conv{nullptr}`,
/// for a member assigned later), or from a std::shared_ptr to an Impl. Declare holders with
/// VOXGRAD_MODULE rather than using this template directly.
template <class Impl>
class ModuleHolder {
  static_assert(std::derived_from<Impl, Module>, "ModuleHolder<Impl>: Impl must derive from nn::Module");

 public:
  /// The module type held.
  using ContainedType = Impl;

  /// A new Impl built by its default constructor.
  ModuleHolder() requires std::is_default_constructible_v<Impl> : impl_(std::make_shared<Impl>()) {}
  /// An empty holder (assign a module to it before use).
  ModuleHolder(std::nullptr_t) {}  // NOLINT: implicit, as libtorch's
  /// A new Impl built from `head, tail...` (one argument that is itself a holder of Impl, a
  /// pointer to one, or nullptr selects the constructors above instead).
  template <class Head, class... Tail>
  requires((sizeof...(Tail) > 0 || (!std::is_same_v<std::decay_t<Head>, std::nullptr_t> &&
                                    !std::is_base_of_v<ModuleHolder, std::decay_t<Head>> &&
                                    !std::is_convertible_v<Head, std::shared_ptr<Impl>>)) &&
           std::is_constructible_v<Impl, Head, Tail...>) explicit ModuleHolder(Head&& head, Tail&&... tail)
      : impl_(std::make_shared<Impl>(std::forward<Head>(head), std::forward<Tail>(tail)...)) {}
  /// Holds `module` (shares it).
  template <class M>
  requires std::derived_from<M, Impl> ModuleHolder(std::shared_ptr<M> module)
      : impl_(std::move(module)) {}  // NOLINT: implicit, as libtorch's

  /// The module; throws if the holder is empty.
  Impl* operator->() const { return get(); }
  /// The module; throws if the holder is empty.
  Impl& operator*() const { return *get(); }
  /// The module; throws if the holder is empty.
  Impl* get() const {
    if (impl_ == nullptr) detail::throw_empty_holder(detail::type_name(typeid(Impl)));
    return impl_.get();
  }
  /// The shared pointer to the module (null if empty).
  const std::shared_ptr<Impl>& ptr() const { return impl_; }
  /// The module as a std::shared_ptr<T> of a base (e.g. nn::Module), for APIs that take one.
  template <class T>
  requires std::convertible_to<std::shared_ptr<Impl>, std::shared_ptr<T>>
  operator std::shared_ptr<T>() const {  // NOLINT: implicit, so a holder passes where a pointer is expected
    return impl_;
  }
  /// True if the holder is empty.
  bool is_empty() const { return impl_ == nullptr; }
  /// True if the holder holds a module.
  explicit operator bool() const { return impl_ != nullptr; }

  /// Calls the module's forward with `args`, with its forward pre-hooks and hooks around it (see
  /// Module::call_forward); without hooks it is exactly `(*this)->forward(args...)`.
  template <class... Args>
  auto operator()(Args&&... args) -> decltype(std::declval<Impl&>().forward(std::forward<Args>(args)...)) {
    using R = decltype(std::declval<Impl&>().forward(std::forward<Args>(args)...));
    Impl& m = **this;
    if (!m.has_forward_hooks()) return m.forward(std::forward<Args>(args)...);
    const detail::ForwardFn fn = [](Module& module, AnyValues& in) -> AnyValue {
      AnyValue out;
      const detail::ArgList<std::decay_t<Args>...> sig;
      if (!detail::try_forward(static_cast<Impl&>(module), in, out, sig)) {
        detail::throw_no_forward(module, in, {detail::signature_str(sig)});
      }
      return out;
    };
    AnyValue out = m.call_forward(detail::pack_args(std::forward<Args>(args)...), fn);
    if constexpr (!std::is_void_v<R>) return out.template get<std::decay_t<R>>();
  }

 private:
  std::shared_ptr<Impl> impl_;
};

/// Prints the module (or "<empty holder>").
template <class Impl>
std::ostream& operator<<(std::ostream& stream, const ModuleHolder<Impl>& holder) {
  if (holder.is_empty()) return stream << "<empty holder>";
  return stream << *holder;
}

}  // namespace voxgrad::nn

/// Declares `Name`, the holder of the module class `NameImpl`, as libtorch's TORCH_MODULE:
/// `struct NetImpl : nn::Module { ... }; VOXGRAD_MODULE(Net);` then `Net net(args...);
/// net->forward(x); net(x);` and `register_module("net", Net(args...))`. Every built-in module has
/// one (nn::Conv3d holds nn::Conv3dImpl, nn::ReLU holds nn::ReLUImpl, ...). Use it in the namespace
/// of NameImpl.
#define VOXGRAD_MODULE(Name)                                     \
  class Name : public ::voxgrad::nn::ModuleHolder<Name##Impl> {  \
   public:                                                       \
    using ::voxgrad::nn::ModuleHolder<Name##Impl>::ModuleHolder; \
    using Impl = Name##Impl;                                     \
  }
