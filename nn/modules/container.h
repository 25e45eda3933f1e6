#pragma once

#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "voxgrad/core/error.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/any_module.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"

namespace voxgrad::nn {

namespace detail {
/// Throws "{container}::at: module {entry} is a {module.name()}, not the requested type".
[[noreturn]] void throw_wrong_module_type(const char* container, const std::string& entry, const Module& module);

/// What the containers accept as a module: a holder, a std::shared_ptr to a module, or a module
/// value (an rvalue, moved into a new std::shared_ptr).
template <class M>
concept ModuleArg = ModuleHolderType<std::decay_t<M>> || requires(const std::decay_t<M>& p) {
  { p.get() } -> std::convertible_to<const Module*>;
  typename std::decay_t<M>::element_type;
} ||(std::derived_from<std::decay_t<M>, Module> && !std::is_lvalue_reference_v<M>);

/// The module of a ModuleArg as a std::shared_ptr (a module value is moved into a new one).
template <ModuleArg M>
std::shared_ptr<Module> module_ptr(M&& module) {
  using T = std::decay_t<M>;
  if constexpr (ModuleHolderType<T>) {
    return module.ptr();
  } else if constexpr (std::derived_from<T, Module>) {
    return std::make_shared<T>(std::forward<M>(module));
  } else {
    return module;
  }
}

/// `module` (the entry `entry` of a container) as an M, or as the holder M; throws naming both
/// types if it is something else.
template <class M>
auto cast_module(const std::shared_ptr<Module>& module, const char* container, const std::string& entry) {
  if constexpr (ModuleHolderType<M>) {
    return M(cast_module<typename M::ContainedType>(module, container, entry));
  } else {
    auto m = std::dynamic_pointer_cast<M>(module);
    if (m == nullptr) throw_wrong_module_type(container, entry, *module);
    return m;
  }
}
}  // namespace detail

/// Modules applied one after another, as torch::nn::Sequential; its children are named "0", "1", …
/// (PyTorch's names, so `net.0.weight` in a state dict) unless given names:
/// `nn::Sequential seq(nn::Conv3d(nn::Conv3dOptions(1, 8, 3)), nn::ReLU());` (holders,
/// std::shared_ptrs and module values are all accepted). Each module is held with its forward
/// type-erased (nn::AnyModule), so the first may take several arguments:
/// `seq->forward(x, output_size)` with a ConvTranspose3d first; each later one gets the previous
/// one's output. Modules are called with their forward hooks, as PyTorch's Sequential does.
class SequentialImpl : public Cloneable<SequentialImpl> {
 public:
  /// An empty Sequential (its forward returns the input).
  SequentialImpl() = default;
  /// The modules in order, named "0", "1", …; throws for a null module. Modules given as
  /// std::shared_ptr<nn::Module> are called through the virtual forward(const Tensor&).
  SequentialImpl(std::initializer_list<std::shared_ptr<Module>> modules);
  /// The modules in order, named "0", "1", ….
  explicit SequentialImpl(const std::vector<std::shared_ptr<Module>>& modules);
  /// Named modules in order, as PyTorch's Sequential(OrderedDict(...)): `Sequential(NamedModules{{"conv", c}})`.
  explicit SequentialImpl(const NamedModules& modules);
  /// The modules in order, named "0", "1", …, each a holder, a std::shared_ptr or a module value.
  template <detail::ModuleArg... Ms>
  requires(sizeof...(Ms) > 0) explicit SequentialImpl(Ms&&... modules) { (push_back(std::forward<Ms>(modules)), ...); }

  /// Appends `module` named after its position ("0", "1", …) and returns it.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    return push_back(std::to_string(size()), std::move(module));
  }
  /// Appends `module` under `name` (PyTorch's add_module) and returns it.
  template <class M>
  std::shared_ptr<M> push_back(std::string name, std::shared_ptr<M> module) {
    if (module == nullptr) register_module(std::move(name), module);  // throws the registry's "is null" error
    append(std::move(name), AnyModule(module));
    return module;
  }
  /// Appends the module of `holder` and returns the holder.
  template <detail::ModuleHolderType H>
  H push_back(H holder) {
    return push_back(std::to_string(size()), std::move(holder));
  }
  /// Appends the module of `holder` under `name` and returns the holder.
  template <detail::ModuleHolderType H>
  H push_back(std::string name, H holder) {
    append(std::move(name), AnyModule(holder));
    return holder;
  }
  /// Moves a module value into a new std::shared_ptr, appends it and returns the pointer.
  template <class M>
  requires std::derived_from<std::decay_t<M>, Module> &&
      (!std::is_lvalue_reference_v<M>)std::shared_ptr<std::decay_t<M>> push_back(M&& module) {
    return push_back(std::make_shared<std::decay_t<M>>(std::forward<M>(module)));
  }
  /// Appends an AnyModule (its module and type-erased forward).
  void push_back(const AnyModule& module) { append(std::to_string(size()), module); }
  /// Number of modules.
  std::size_t size() const { return named_children().size(); }
  /// True if there are no modules.
  bool is_empty() const { return size() == 0; }
  /// The module at `index`; throws if out of range.
  std::shared_ptr<Module> operator[](std::size_t index) const;
  /// The module at `index` as an M (a module type or its holder); throws if out of range or of another type.
  template <class M>
  auto at(std::size_t index) const {
    return detail::cast_module<M>((*this)[index], "Sequential", std::to_string(index));
  }
  /// Feeds `input` through every module in order.
  Tensor forward(const Tensor& input) override;
  /// Feeds `args` to the first module and each output to the next; returns the last output as an R.
  template <class R = Tensor, class... Args>
  R forward(Args&&... args) {
    return any_forward(detail::pack_args(std::forward<Args>(args)...)).template get<R>();
  }
  /// forward with type-erased arguments and result.
  AnyValue any_forward(AnyValues args);

 private:
  void append(std::string name, const AnyModule& module);
  // The type-erased forward of each child added by push_back, by name (the children themselves live
  // in the registry, so that clone() and replace_module keep working); a child registered otherwise
  // is called through the virtual forward(const Tensor&).
  std::unordered_map<std::string, detail::ForwardFn> forwards_;
};
VOXGRAD_MODULE(Sequential);

/// A list of modules registered as children "0", "1", … with no forward of its own, as
/// torch::nn::ModuleList: for a variable number of layers the owner iterates over.
class ModuleListImpl : public Cloneable<ModuleListImpl> {
 public:
  /// An empty list.
  ModuleListImpl() = default;
  /// The modules in order; throws for a null module.
  ModuleListImpl(std::initializer_list<std::shared_ptr<Module>> modules);
  /// The modules in order.
  explicit ModuleListImpl(const std::vector<std::shared_ptr<Module>>& modules);
  /// The modules in order, each a holder, a std::shared_ptr or a module value:
  /// `nn::ModuleList blocks(nn::Conv3d(...), nn::Conv3d(...));`.
  template <detail::ModuleArg... Ms>
  requires(sizeof...(Ms) > 0) explicit ModuleListImpl(Ms&&... modules) {
    (append(detail::module_ptr(std::forward<Ms>(modules))), ...);
  }

  /// Appends `module` as child "<size()>" and returns it.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    append(module);
    return module;
  }
  /// Appends the module of `holder` and returns the holder.
  template <detail::ModuleHolderType H>
  H push_back(H holder) {
    append(holder.ptr());
    return holder;
  }
  /// Appends every module of `modules`.
  void extend(const std::vector<std::shared_ptr<Module>>& modules);
  /// Number of modules.
  std::size_t size() const { return named_children().size(); }
  /// True if there are no modules.
  bool is_empty() const { return size() == 0; }
  /// The module at `index`; throws if out of range.
  std::shared_ptr<Module> operator[](std::size_t index) const;
  /// The module at `index` as an M (a module type or its holder); throws if out of range or of another type.
  template <class M>
  auto at(std::size_t index) const {
    return detail::cast_module<M>((*this)[index], "ModuleList", std::to_string(index));
  }

 private:
  void append(std::shared_ptr<Module> module);
};

/// Modules by name, in insertion order, as torch::nn::ModuleDict; no forward of its own.
class ModuleDictImpl : public Cloneable<ModuleDictImpl> {
 public:
  /// An empty dict.
  ModuleDictImpl() = default;
  /// The named modules in order; names follow register_module's rules (non-empty, no '.', unique).
  explicit ModuleDictImpl(const NamedModules& modules);

  /// Adds `module` under `key`, or replaces the module already there (keeping its place), as
  /// PyTorch's `dict[key] = module`; returns it.
  template <class M>
  std::shared_ptr<M> insert(const std::string& key, std::shared_ptr<M> module) {
    set(key, module);
    return module;
  }
  /// insert() of the module of `holder`; returns the holder.
  template <detail::ModuleHolderType H>
  H insert(const std::string& key, H holder) {
    set(key, holder.ptr());
    return holder;
  }
  /// insert() for each entry, in order.
  void update(const NamedModules& modules);
  /// True if `key` is present.
  bool contains(const std::string& key) const;
  /// The module under `key`; throws naming the key if absent.
  std::shared_ptr<Module> operator[](const std::string& key) const;
  /// The module under `key` as an M (a module type or its holder); throws if absent or of another type.
  template <class M>
  auto at(const std::string& key) const {
    return detail::cast_module<M>((*this)[key], "ModuleDict", "'" + key + "'");
  }
  /// Keys in insertion order.
  std::vector<std::string> keys() const;
  /// Modules in insertion order.
  std::vector<std::shared_ptr<Module>> values() const { return children(); }
  /// (key, module) pairs in insertion order.
  NamedModules items() const { return named_children(); }
  /// Number of entries.
  std::size_t size() const { return named_children().size(); }
  /// True if there are no entries.
  bool is_empty() const { return size() == 0; }

 private:
  void set(const std::string& key, std::shared_ptr<Module> module);
};

VOXGRAD_MODULE(ModuleList);
VOXGRAD_MODULE(ModuleDict);

}  // namespace voxgrad::nn
