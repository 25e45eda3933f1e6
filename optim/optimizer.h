#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/module.h"

namespace voxgrad {
struct TensorImpl;
}

namespace voxgrad::optim {

/// The hyper-parameters of one optimizer (defaults, or one parameter group's), as
/// torch::optim::OptimizerOptions. Concrete options derive from OptimizerCloneableOptions.
class OptimizerOptions {
 public:
  /// Options are polymorphic.
  virtual ~OptimizerOptions() = default;
  /// A deep copy of the same dynamic type.
  virtual std::unique_ptr<OptimizerOptions> clone() const = 0;
  /// The learning rate (what LR schedulers read).
  virtual double get_lr() const = 0;
  /// Sets the learning rate (what LR schedulers write).
  virtual void set_lr(double lr) = 0;
  /// Every hyper-parameter by its PyTorch name, booleans as 0/1 and tuples as `name.0`, `name.1`
  /// (e.g. "lr", "betas.0", "amsgrad"): the `param_groups.<g>.<name>` entries of a state dict.
  virtual std::vector<std::pair<std::string, double>> hyper_parameters() const = 0;
  /// Sets one hyper-parameter by a name hyper_parameters() lists; throws voxgrad::Error otherwise.
  virtual void set_hyper_parameter(const std::string& name, double value) = 0;
  /// The options' class name for messages, e.g. "AdamOptions".
  virtual std::string name() const = 0;
};

/// CRTP base that gives an options class its clone().
template <class Derived>
class OptimizerCloneableOptions : public OptimizerOptions {
 public:
  /// A copy of the derived options.
  std::unique_ptr<OptimizerOptions> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
};

/// A list of parameters with, optionally, its own options that replace the optimizer's defaults
/// for this group (as torch::optim::OptimizerParamGroup):
/// `Adam({{encoder->parameters(), AdamOptions(1e-4)}, {decoder->parameters()}}, AdamOptions(1e-3))`.
class OptimizerParamGroup {
 public:
  /// A group that takes the optimizer's defaults.
  OptimizerParamGroup(std::vector<Tensor> params);  // NOLINT(google-explicit-constructor)
  /// A group with its own options (of the optimizer's options type, e.g. AdamOptions for Adam).
  template <class O>
  requires std::derived_from<O, OptimizerOptions> OptimizerParamGroup(std::vector<Tensor> params, const O& options)
      : params_(std::move(params)), options_(options.clone()) {}
  /// Deep copy (the options are cloned).
  OptimizerParamGroup(const OptimizerParamGroup& other);
  /// Deep copy assignment.
  OptimizerParamGroup& operator=(const OptimizerParamGroup& other);
  OptimizerParamGroup(OptimizerParamGroup&&) noexcept = default;
  OptimizerParamGroup& operator=(OptimizerParamGroup&&) noexcept = default;
  ~OptimizerParamGroup() = default;

  std::vector<Tensor>& params() { return params_; }
  const std::vector<Tensor>& params() const { return params_; }
  /// False until the group has options (an optimizer fills in its defaults when the group is added).
  bool has_options() const { return options_ != nullptr; }
  /// The group's options; throws voxgrad::Error if it has none.
  OptimizerOptions& options();
  /// The group's options; throws voxgrad::Error if it has none.
  const OptimizerOptions& options() const;
  /// Replaces the group's options.
  void set_options(std::unique_ptr<OptimizerOptions> options) { options_ = std::move(options); }
  /// The lr the first LR scheduler attached to this group found (PyTorch's group["initial_lr"]):
  /// the base lr of every scheduler created later on the same optimizer (e.g. after a warm-up
  /// scheduler has already scaled the lr). Not part of the optimizer's state dict (the schedulers
  /// save their base lrs).
  const std::optional<double>& initial_lr() const { return initial_lr_; }
  /// Sets or clears initial_lr().
  void set_initial_lr(std::optional<double> lr) { initial_lr_ = lr; }

 private:
  std::vector<Tensor> params_;
  std::unique_ptr<OptimizerOptions> options_;
  std::optional<double> initial_lr_;
};

/// Per-parameter state of an optimizer: named tensors in creation order ("step", "exp_avg", ...).
using ParamState = nn::StateDict;

/// The entry `key` of `state`, or nullptr (the pointer is valid until the state grows).
Tensor* find_state(ParamState& state, const std::string& key);

/// Base class of the optimizers, as torch::optim::Optimizer: parameter groups, per-parameter state,
/// zero_grad, and a state dict that makes training resume bit-exactly.
///
/// The state dict is an nn::StateDict of tensors only (so a checkpoint can hold it):
///   `state.<i>.<name>`         per-parameter state of parameter i (numbered across groups, in
///                              order, as PyTorch), e.g. `state.3.exp_avg`; `step` is a 0-d float64;
///   `param_groups.<g>.<name>`  each hyper-parameter as a 0-d float64, e.g. `param_groups.0.lr`;
///   `param_groups.<g>.params`  the indices of the group's parameters (1-D int64).
class Optimizer {
 public:
  /// A function that re-evaluates the model and returns the loss (for step(closure)).
  using LossClosure = std::function<Tensor()>;

  /// Optimizers are polymorphic.
  virtual ~Optimizer() = default;
  /// Not copyable (state is keyed by parameter identity).
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// Performs one update of every parameter that has a gradient. With a closure, calls it first
  /// (grad mode on) and returns its loss; otherwise returns an undefined tensor.
  virtual Tensor step(const LossClosure& closure = nullptr) = 0;

  /// Clears the gradients of every parameter: sets them to undefined (set_to_none, the default as
  /// in PyTorch 2) or, with set_to_none = false, fills them with zeros (detaching them first).
  void zero_grad(bool set_to_none = true);

  /// Adds a group of parameters; without options it takes a copy of the defaults. Throws for an
  /// empty group, a parameter that is not a floating-point leaf, a parameter already in a group, or
  /// options of another optimizer's type or with invalid values.
  void add_param_group(const OptimizerParamGroup& group);

  /// The parameter groups (their options may be changed, e.g. the lr).
  std::vector<OptimizerParamGroup>& param_groups() { return param_groups_; }
  /// The parameter groups.
  const std::vector<OptimizerParamGroup>& param_groups() const { return param_groups_; }
  /// The default options given at construction.
  const OptimizerOptions& defaults() const { return *defaults_; }
  /// The default options given at construction (changes affect groups added later).
  OptimizerOptions& defaults() { return *defaults_; }
  /// Every parameter of every group, in order (the numbering of the state dict).
  std::vector<Tensor> parameters() const;
  /// Number of parameters over all groups.
  std::size_t size() const;

  /// The state of one parameter (empty before its first update); throws if `param` is not optimized
  /// by this optimizer.
  const ParamState& state(const Tensor& param) const;

  /// A copy of the whole state (hyper-parameters and per-parameter state), in the layout described
  /// above. The tensors are copies: later steps do not change a dict already taken.
  nn::StateDict state_dict() const;
  /// Restores a state_dict() taken from an optimizer of the same type with groups of the same sizes.
  /// Everything is validated before anything changes; every problem (missing, unexpected, or
  /// mis-shaped entries, group size mismatches) is reported in one voxgrad::Error. A state tensor
  /// must have its parameter's shape where the loaded options make the step read it (uses_state); one
  /// it does not read is taken as saved (an SGD momentum buffer kept after momentum was switched off
  /// and the parameter given other data, as PyTorch keeps it). Floating-point state is converted to
  /// its parameter's dtype ("step" stays float64); the tensors are copied.
  void load_state_dict(const nn::StateDict& state_dict);

 protected:
  /// Stores the defaults; the derived constructor then calls add_param_group for each group (so
  /// that its check_options override is used).
  explicit Optimizer(std::unique_ptr<OptimizerOptions> defaults);

  /// The optimizer's name for messages ("Adam").
  virtual std::string name() const = 0;
  /// Throws voxgrad::Error if `options` hold an invalid value (called for defaults and each group).
  virtual void check_options(const OptimizerOptions& options) const = 0;
  /// The per-parameter state names this optimizer uses; every name but "step" holds a tensor of the
  /// parameter's shape (while its step reads it), "step" a 0-d float64. load_state_dict accepts only
  /// these.
  virtual std::vector<std::string> state_names() const = 0;
  /// The state names every parameter with any state must have (the ones its step() reads
  /// unconditionally); load_state_dict reports the missing ones. By default "step", if a state name.
  virtual std::vector<std::string> required_state_names() const;

  /// The mutable state of `param` (created empty on first use).
  ParamState& mutable_state(const Tensor& param);
  /// Calls the closure (if any) with grad mode on and returns its loss.
  static Tensor evaluate_closure(const LossClosure& closure);
  /// Throws, before a step changes anything, unless every parameter with a gradient has a gradient and
  /// the state tensors its step will read (uses_state) of its own shape and dtype (a parameter given
  /// other data with set_data, say), and, once it has state, every required_state_names() entry: a step
  /// then updates all parameters or none.
  void check_step_operands() const;
  /// Whether a step with `options` reads the state entry `key` (SGD without momentum does not read
  /// its momentum_buffer). By default every entry.
  virtual bool uses_state(const OptimizerOptions& options, const std::string& key) const;

 private:
  std::unique_ptr<OptimizerOptions> defaults_;
  std::vector<OptimizerParamGroup> param_groups_;
  std::unordered_map<const TensorImpl*, ParamState> state_;
};

}  // namespace voxgrad::optim
