#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "voxgrad/core/error.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/module.h"

namespace voxgrad::nn {

namespace detail {
/// Throws "{container}::at: module {entry} is a {module.name()}, not the requested type".
[[noreturn]] void throw_wrong_module_type(const char* container, const std::string& entry, const Module& module);
}  // namespace detail

/// Modules applied one after another, as torch::nn::Sequential; its children are named "0", "1", …
/// (PyTorch's names, so `net.0.weight` in a state dict) unless given names. Example:
/// `auto mlp = std::make_shared<nn::Sequential>({std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::ReLU>()});`
class Sequential : public Cloneable<Sequential> {
 public:
  /// An empty Sequential (its forward returns the input).
  Sequential() = default;
  /// The modules in order, named "0", "1", …; throws for a null module.
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  /// The modules in order, named "0", "1", ….
  explicit Sequential(const std::vector<std::shared_ptr<Module>>& modules);
  /// Named modules in order, as PyTorch's Sequential(OrderedDict(...)): `Sequential(NamedModules{{"conv", c}})`.
  explicit Sequential(const NamedModules& modules);

  /// Appends `module` named after its position ("0", "1", …) and returns it.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    append(std::to_string(size()), module);
    return module;
  }
  /// Appends `module` under `name` (PyTorch's add_module) and returns it.
  template <class M>
  std::shared_ptr<M> push_back(std::string name, std::shared_ptr<M> module) {
    append(std::move(name), module);
    return module;
  }
  /// Number of modules.
  std::size_t size() const { return named_children().size(); }
  /// True if there are no modules.
  bool is_empty() const { return size() == 0; }
  /// The module at `index`; throws if out of range.
  std::shared_ptr<Module> operator[](std::size_t index) const;
  /// The module at `index` as an M; throws if out of range or of another type.
  template <class M>
  std::shared_ptr<M> at(std::size_t index) const {
    auto m = std::dynamic_pointer_cast<M>((*this)[index]);
    if (m == nullptr) detail::throw_wrong_module_type("Sequential", std::to_string(index), *(*this)[index]);
    return m;
  }
  /// Feeds `input` through every module's forward(const Tensor&) in order.
  Tensor forward(const Tensor& input) override;

 private:
  void append(std::string name, std::shared_ptr<Module> module);
};

/// A list of modules registered as children "0", "1", … with no forward of its own, as
/// torch::nn::ModuleList: for a variable number of layers the owner iterates over.
class ModuleList : public Cloneable<ModuleList> {
 public:
  /// An empty list.
  ModuleList() = default;
  /// The modules in order; throws for a null module.
  ModuleList(std::initializer_list<std::shared_ptr<Module>> modules);
  /// The modules in order.
  explicit ModuleList(const std::vector<std::shared_ptr<Module>>& modules);

  /// Appends `module` as child "<size()>" and returns it.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    append(module);
    return module;
  }
  /// Appends every module of `modules`.
  void extend(const std::vector<std::shared_ptr<Module>>& modules);
  /// Number of modules.
  std::size_t size() const { return named_children().size(); }
  /// True if there are no modules.
  bool is_empty() const { return size() == 0; }
  /// The module at `index`; throws if out of range.
  std::shared_ptr<Module> operator[](std::size_t index) const;
  /// The module at `index` as an M; throws if out of range or of another type.
  template <class M>
  std::shared_ptr<M> at(std::size_t index) const {
    auto m = std::dynamic_pointer_cast<M>((*this)[index]);
    if (m == nullptr) detail::throw_wrong_module_type("ModuleList", std::to_string(index), *(*this)[index]);
    return m;
  }

 private:
  void append(std::shared_ptr<Module> module);
};

/// Modules by name, in insertion order, as torch::nn::ModuleDict; no forward of its own.
class ModuleDict : public Cloneable<ModuleDict> {
 public:
  /// An empty dict.
  ModuleDict() = default;
  /// The named modules in order; names follow register_module's rules (non-empty, no '.', unique).
  explicit ModuleDict(const NamedModules& modules);

  /// Adds `module` under `key`, or replaces the module already there (keeping its place), as
  /// PyTorch's `dict[key] = module`; returns it.
  template <class M>
  std::shared_ptr<M> insert(const std::string& key, std::shared_ptr<M> module) {
    set(key, module);
    return module;
  }
  /// insert() for each entry, in order.
  void update(const NamedModules& modules);
  /// True if `key` is present.
  bool contains(const std::string& key) const;
  /// The module under `key`; throws naming the key if absent.
  std::shared_ptr<Module> operator[](const std::string& key) const;
  /// The module under `key` as an M; throws if absent or of another type.
  template <class M>
  std::shared_ptr<M> at(const std::string& key) const {
    auto m = std::dynamic_pointer_cast<M>((*this)[key]);
    if (m == nullptr) detail::throw_wrong_module_type("ModuleDict", "'" + key + "'", *(*this)[key]);
    return m;
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

}  // namespace voxgrad::nn
