#pragma once

#include <deque>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "voxgrad/core/tensor.h"

namespace voxgrad::nn {

class Module;

/// Tensors with their (dotted) names, in registration order.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
/// A state dict: named tensors in order, as PyTorch's OrderedDict (modules, optimizers and
/// checkpoints all use this one type).
using StateDict = NamedTensors;
/// Modules with their (dotted) names, in registration order.
using NamedModules = std::vector<std::pair<std::string, std::shared_ptr<Module>>>;

/// Base class of every layer and model, as torch::nn::Module: it owns a registry of parameters,
/// buffers and child modules, and gives PyTorch's dotted names (`down.0.conv.weight`). Create
/// modules with std::make_shared so that modules() can hand out shared pointers to them.
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

  // --- forward --------------------------------------------------------------------------------
  /// Applies the module to one tensor. Layers override it, and containers such as Sequential call
  /// it; the base throws voxgrad::Error naming the module (for models whose forward differs).
  virtual Tensor forward(const Tensor& input);

  // --- training state -------------------------------------------------------------------------
  /// Sets training mode on this module and every descendant.
  virtual void train(bool on = true);
  /// train(false).
  void eval() { train(false); }
  /// True in training mode (the default).
  bool is_training() const { return is_training_; }
  /// Sets the grad of every parameter to undefined (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();

  // --- printing -------------------------------------------------------------------------------
  /// The options shown inside the parentheses, as PyTorch's extra_repr ("" by default).
  virtual std::string extra_repr() const { return {}; }
  /// Writes the module as PyTorch's repr: `Name(extra)` for a leaf, otherwise `Name(` then the
  /// extra_repr line and one `(child): ...` line per child, indented by two spaces, then `)`.
  virtual void pretty_print(std::ostream& stream) const;

 private:
  void register_child(std::string name, std::shared_ptr<Module> module);
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

  std::string name_;  // empty: derived from the dynamic type
  // deques keep the references returned by register_* valid as more entries are added.
  std::deque<std::pair<std::string, Tensor>> parameters_;
  std::deque<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool is_training_ = true;
};

/// Prints module.pretty_print() (the PyTorch-style tree).
std::ostream& operator<<(std::ostream& stream, const Module& module);

}  // namespace voxgrad::nn
