#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "voxgrad/core/dtype.h"
#include "voxgrad/core/ordered_dict.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/any_value.h"
#include "voxgrad/nn/hooks.h"

namespace voxgrad::nn {

class Module;
template <class Derived, class Base>
class Cloneable;

/// Tensors with their (dotted) names, in registration order.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
/// A state dict: named tensors in order, as PyTorch's OrderedDict (modules, optimizers and
/// checkpoints all use this one type).
using StateDict = NamedTensors;
/// Modules with their (dotted) names, in registration order.
using NamedModules = std::vector<std::pair<std::string, std::shared_ptr<Module>>>;

namespace detail {
/// A module holder (nn::ModuleHolder<Impl> or a class made by VOXGRAD_MODULE): what register_module
/// and the containers accept besides std::shared_ptr.
template <class H>
concept ModuleHolderType = requires(const H& h) {
  typename H::ContainedType;
  { h.ptr() } -> std::convertible_to<std::shared_ptr<Module>>;
};
/// A type-erased forward: applies a module to arguments (see nn::AnyModule).
using ForwardFn = std::function<AnyValue(Module&, AnyValues&)>;
}  // namespace detail

/// What a non-strict load_state_dict did not match, as PyTorch's `_IncompatibleKeys`.
struct IncompatibleKeys {
  /// Keys the module expects that the state dict lacks (left unchanged), in state_dict() order.
  std::vector<std::string> missing_keys;
  /// Keys of the state dict the module does not have (ignored), in the dict's order.
  std::vector<std::string> unexpected_keys;
  /// True when both lists are empty.
  bool empty() const { return missing_keys.empty() && unexpected_keys.empty(); }
};

/// Base class of every layer and model, as torch::nn::Module: it owns a registry of parameters,
/// buffers and child modules, and gives PyTorch's dotted names (`down.0.conv.weight`). Create
/// modules through a holder (`nn::Conv3d conv(opts)`, see nn::ModuleHolder and VOXGRAD_MODULE) or
/// with std::make_shared (`std::make_shared<nn::Conv3dImpl>(opts)`), so that modules() can hand out
/// shared pointers to them.
class Module : public std::enable_shared_from_this<Module> {
 public:
  /// A module whose name() is its C++ class name (namespaces stripped).
  Module() = default;
  /// A module with an explicit name() (used in printing and error messages).
  explicit Module(std::string name);
  /// Modules are polymorphic.
  virtual ~Module() = default;

  /// The class name as PyTorch prints it, e.g. "Conv3d".
  virtual std::string name() const;

  // --- registration ---------------------------------------------------------------------------
  /// Registers `tensor` as parameter `name` (a non-leaf is detached first) with requires_grad set
  /// as given, and returns the stored handle. Throws for an empty name, a name containing '.', a
  /// name already used by a parameter, buffer or child, or an undefined tensor.
  Tensor& register_parameter(std::string name, Tensor tensor, bool requires_grad = true);
  /// Registers a buffer (state that is not trained, e.g. running statistics); same name rules.
  Tensor& register_buffer(std::string name, Tensor tensor);
  /// Registers a child module under `name` and returns it; same name rules, and it must not be null.
  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    register_child(std::move(name), module);
    return module;
  }
  /// register_module for a holder (`conv = register_module("conv", nn::Conv3d(opts));`): registers
  /// the module it holds (it must not be empty) and returns the holder.
  template <detail::ModuleHolderType H>
  H register_module(std::string name, H holder) {
    register_child(std::move(name), holder.ptr());
    return holder;
  }
  /// Replaces the child registered as `name` (which must exist) by `module`, keeping its place, and
  /// returns it, as libtorch's replace_module. A member handle to the old child is not updated.
  template <class M>
  std::shared_ptr<M> replace_module(const std::string& name, std::shared_ptr<M> module) {
    replace_child(name, module);
    return module;
  }
  /// replace_module for a holder.
  template <detail::ModuleHolderType H>
  H replace_module(const std::string& name, H holder) {
    replace_child(name, holder.ptr());
    return holder;
  }

  // --- traversal ------------------------------------------------------------------------------
  /// Parameters with dotted names in registration order (depth first); a parameter reachable
  /// through several paths appears once, under the first name.
  NamedTensors named_parameters(bool recurse = true) const;
  /// The tensors of named_parameters().
  std::vector<Tensor> parameters(bool recurse = true) const;
  /// Buffers with dotted names, in the same order and with the same deduplication as parameters.
  NamedTensors named_buffers(bool recurse = true) const;
  /// The tensors of named_buffers().
  std::vector<Tensor> buffers(bool recurse = true) const;
  /// Direct children with their names, in registration order.
  NamedModules named_children() const;
  /// Direct children in registration order.
  std::vector<std::shared_ptr<Module>> children() const;
  /// This module (named "") and all descendants with dotted names, depth first, each module once.
  /// Throws if this module is not owned by a std::shared_ptr and include_self is true.
  NamedModules named_modules(bool include_self = true) const;
  /// The modules of named_modules().
  std::vector<std::shared_ptr<Module>> modules(bool include_self = true) const;
  /// Calls `fn` on every descendant and then on this module (children first, as PyTorch's
  /// Module.apply), each module once even if it is reachable through several paths; returns *this.
  /// Example: `net->apply([](nn::Module& m) { if (auto* c = dynamic_cast<nn::Conv3dImpl*>(&m)) ... });`.
  Module& apply(const std::function<void(Module&)>& fn);
  /// Total number of elements of parameters(recurse) (a shared parameter counts once).
  std::int64_t num_parameters(bool recurse = true) const;

  // --- state ----------------------------------------------------------------------------------
  /// Every parameter and then every buffer of this module, then the same for each child in
  /// registration order, under dotted names, as PyTorch's state_dict(): like PyTorch, a tensor or
  /// module reachable through several paths appears under each of them. The tensors are detached
  /// handles sharing storage with the module's (writing into them writes into the module).
  StateDict state_dict() const;
  /// Copies `state_dict`'s tensors into the module's parameters and buffers in place (under
  /// NoGradGuard), as PyTorch's load_state_dict: each value is copy_'d into the existing tensor, so
  /// it takes that tensor's dtype (a float64 checkpoint loads into a float32 model and the other way
  /// round, rounding as a cast does; an int64 buffer given floats truncates them, as copy_ does; the
  /// module's dtypes never change). Every problem is collected first and reported in one
  /// voxgrad::Error before anything is copied: duplicate or undefined entries, shape mismatches
  /// (always errors, as in PyTorch) and, when `strict`, every missing and every unexpected key.
  /// Without `strict`, the missing and unexpected keys are returned instead of thrown.
  IncompatibleKeys load_state_dict(const StateDict& state_dict, bool strict = true);

  // --- copies and conversions -----------------------------------------------------------------
  /// A deep copy of this module tree: every parameter and buffer is copied (values, dtype and
  /// requires_grad; gradients are not), every submodule is cloned, and tensors or submodules shared
  /// between several places stay shared in the copy (once each). Each module type must support it:
  /// plain nn::Module does, and a subclass does by deriving from nn::Cloneable<Self> (see there);
  /// otherwise throws voxgrad::Error naming the type.
  std::shared_ptr<Module> clone() const;
  /// Converts every floating-point parameter and buffer (and gradient) of the tree to `dtype` in
  /// place, as PyTorch's module.to(dtype): the handles a module holds (e.g. conv->weight) see the
  /// new dtype, and parameters stay leaves with their requires_grad. int64 buffers are left alone.
  /// `dtype` must be float32 or float64. Returns *this.
  Module& to(DType dtype);

  // --- construction -----------------------------------------------------------------------------
  /// Creates the module's parameters, buffers and submodules and points its member handles at them
  /// (constructors usually call it; clone() calls it on the copy, see nn::Cloneable). The default
  /// creates nothing, which suits modules without such state: stateless layers, layers with only
  /// options, and containers, whose children live only in the registry.
  virtual void reset() {}

  // --- forward --------------------------------------------------------------------------------
  /// Applies the module to one tensor. Layers override it, and containers such as Sequential call
  /// it; the base throws voxgrad::Error naming the module (for models whose forward differs).
  /// Calling forward() directly skips the forward hooks, as `m.forward(x)` does in PyTorch; call
  /// the module instead (`(*m)(x)`, `holder(x)`, or through a Sequential) to run them.
  virtual Tensor forward(const Tensor& input);
  /// forward(input) with the forward pre-hooks and hooks around it, as PyTorch's `module(input)`.
  Tensor operator()(const Tensor& input);
  /// Runs `forward` (this module's forward, type-erased) on `inputs` with the hooks around it, as
  /// PyTorch's Module.__call__: the pre-hooks in order, each seeing the inputs the previous one left
  /// (and may replace); then forward; then the forward hooks in order, each seeing the final inputs
  /// and the output the previous one left (and may replace). The hooks are those registered when
  /// the call starts. Holders, nn::AnyModule and Sequential call through it.
  AnyValue call_forward(AnyValues inputs, const detail::ForwardFn& forward);

  // --- hooks ----------------------------------------------------------------------------------
  /// Registers `hook` to run before every hooked call of this module (see call_forward), as
  /// PyTorch's register_forward_pre_hook; `prepend` puts it before the hooks already registered.
  /// The hook is callable as (Module&, const AnyValues& inputs) or, for a module called with one
  /// tensor, (Module&, const Tensor& input), and returns void (keep), std::optional (empty: keep) or
  /// the new input(s). Returns the handle that removes it. Hooks are copied by clone().
  template <class F>
  HookHandle register_forward_pre_hook(F&& hook, bool prepend = false) {
    return add_pre_hook(detail::make_pre_hook(std::forward<F>(hook)), prepend);
  }
  /// Registers `hook` to run after every hooked call of this module, as PyTorch's
  /// register_forward_hook; callable as (Module&, const AnyValues& inputs, const AnyValue& output) or
  /// (Module&, const Tensor& input, const Tensor& output), returning void (keep), std::optional
  /// (empty: keep) or the new output. Returns the handle that removes it.
  template <class F>
  HookHandle register_forward_hook(F&& hook, bool prepend = false) {
    return add_forward_hook(detail::make_forward_hook(std::forward<F>(hook)), prepend);
  }
  /// True if any forward pre-hook or forward hook is registered (calls then go through call_forward).
  bool has_forward_hooks() const {
    return forward_hooks_ != nullptr && !(forward_hooks_->pre.empty() && forward_hooks_->post.empty());
  }

  // --- training state -------------------------------------------------------------------------
  /// Sets training mode on this module and every descendant.
  virtual void train(bool on = true);
  /// train(false).
  void eval() { train(false); }
  /// True in training mode (the default).
  bool is_training() const { return is_training_; }
  /// Clears the gradient of every parameter: with set_to_none (the default, as PyTorch 2.x; PyTorch
  /// 1.13 defaulted to False) the grad becomes undefined, which frees it and lets the next backward
  /// write instead of add; with set_to_none = false it is filled with zeros in place (a grad that
  /// is itself part of a graph, from create_graph, is replaced by detached zeros, as PyTorch's
  /// detach_). Optimizer::zero_grad does the same for its parameters.
  void zero_grad(bool set_to_none = true);

  // --- printing -------------------------------------------------------------------------------
  /// The options shown inside the parentheses, as PyTorch's extra_repr ("" by default).
  virtual std::string extra_repr() const { return {}; }
  /// Writes the module as PyTorch's repr: `Name(extra)` for a leaf, otherwise `Name(` then the
  /// extra_repr line and one `(child): ...` line per child, indented by two spaces, then `)`.
  virtual void pretty_print(std::ostream& stream) const;

 protected:
  /// Clone hook: a new module of this module's dynamic type and configuration whose registry holds
  /// what its constructor (or reset()) creates; clone() then copies every parameter, buffer and
  /// child into it. The base supports only plain nn::Module (an empty Module with the same name) and
  /// throws for anything else; nn::Cloneable<Derived> overrides it.
  virtual std::shared_ptr<Module> clone_instance() const;

 private:
  template <class Derived, class Base>
  friend class Cloneable;
  struct CloneMemo;
  // Copies this module's registry into `copy` (a fresh instance of the same type), recursively.
  void clone_into(Module& copy, CloneMemo& memo) const;
  std::shared_ptr<Module> clone_tree(CloneMemo& memo) const;
  // Empties the registry of a copy-constructed module (the copy shares the original's tensors).
  void clear_registry();
  // The error for a type that cannot be cloned (not a Cloneable of its own dynamic type).
  [[noreturn]] static void throw_not_cloneable(const Module& module);
  // Throws unless `module`, whose type has no reset() of its own, registers no parameter or buffer
  // itself (its member handles would still point at the original's tensors in a copy).
  static void check_clonable_without_reset(const Module& module);
  void collect_state(const std::string& prefix, StateDict& out) const;
  void register_child(std::string name, std::shared_ptr<Module> module);
  void replace_child(const std::string& name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name, const char* op) const;
  bool has_name(const std::string& name) const;
  // One module reached by walk(): its dotted name, itself, and the pointer its parent holds
  // (null for the module the walk started from).
  struct WalkEntry {
    std::string name;
    const Module* module;
    std::shared_ptr<Module> owner;
  };
  // Depth-first walk, each module once (a module reachable twice keeps its first name).
  void walk(const std::string& prefix, const std::shared_ptr<Module>& owner, std::vector<WalkEntry>& out,
            std::vector<const Module*>& seen) const;
  NamedTensors named_tensors(bool recurse, bool buffers) const;
  HookHandle add_pre_hook(ForwardPreHook hook, bool prepend);
  HookHandle add_forward_hook(ForwardHook hook, bool prepend);

  std::string name_;  // empty: derived from the dynamic type
  // Insertion order with O(1) lookup by name; the references register_* return stay valid as more
  // entries are added.
  OrderedDict<std::string, Tensor> parameters_;
  OrderedDict<std::string, Tensor> buffers_;
  OrderedDict<std::string, std::shared_ptr<Module>> children_;
  bool is_training_ = true;
  std::shared_ptr<detail::ForwardHooks> forward_hooks_;  // null until a hook is registered
};

/// Makes `Derived` (a subclass of `Base`, itself nn::Module or a subclass) clonable, as libtorch's
/// torch::nn::Cloneable: `struct Net : nn::Cloneable<Net> { Net() { reset(); } void reset() override {...} };`.
/// Derived must be copy-constructible. A module that registers parameters or buffers, or keeps
/// member handles to its submodules, overrides reset() to create all of them and point its member
/// handles at them (the constructor usually calls it); a module without such state (a stateless
/// layer, a container whose children live only in the registry) needs no reset().
/// clone() copy-constructs Derived (copying plain options), empties the copy's registry, calls its
/// reset() if Derived (or a base below Module) has one, and then overwrites what reset() made with
/// copies of this module's tensors and clones of its children (entries reset() did not make are
/// added). Without a reset(), a module that registers a parameter or buffer itself is refused with a
/// voxgrad::Error, since its member handles would keep pointing at the original's tensors.
template <class Derived, class Base = Module>
class Cloneable : public Base {
 public:
  using Base::Base;

  /// Module::clone() with the derived type.
  std::shared_ptr<Derived> clone() const { return std::static_pointer_cast<Derived>(Module::clone()); }

 protected:
  /// Copy-constructs Derived, clears its registry and calls its reset().
  std::shared_ptr<Module> clone_instance() const override {
    static_assert(std::is_base_of_v<Cloneable, Derived>, "nn::Cloneable<Derived>: Derived must derive from it");
    check_dynamic_type(typeid(*this) == typeid(Derived));
    // Module::reset() found by name lookup means that no class between Module and Derived has one.
    constexpr bool own_reset = !std::is_same_v<decltype(&Derived::reset), void (Module::*)()>;
    if constexpr (!own_reset) Module::check_clonable_without_reset(*this);
    auto copy = std::make_shared<Derived>(static_cast<const Derived&>(*this));
    copy->clear_registry();
    if constexpr (own_reset) copy->reset();
    return copy;
  }

 private:
  void check_dynamic_type(bool ok) const {
    if (!ok) Module::throw_not_cloneable(*this);
  }
};

/// Prints module.pretty_print() (the PyTorch-style tree).
std::ostream& operator<<(std::ostream& stream, const Module& module);

}  // namespace voxgrad::nn
