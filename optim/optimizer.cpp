#include "voxgrad/optim/optimizer.h"

#include "voxgrad/autograd/clear_grad.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <typeinfo>
#include <utility>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/optim/detail/checks.h"
#include "voxgrad/optim/detail/in_place.h"

namespace voxgrad::optim {

namespace detail {
std::string undefined_entry(const std::string& key) { return fmt::format("\"{}\" is an undefined tensor", key); }
std::string duplicate_key(const std::string& key) { return fmt::format("duplicate key \"{}\"", key); }
std::string missing_key(const std::string& key) { return fmt::format("missing key \"{}\"", key); }
std::string unexpected_key(const std::string& key) { return fmt::format("unexpected key \"{}\"", key); }
std::string not_one_value(const std::string& key, IntArrayRef sizes) {
  return fmt::format("\"{}\" must hold one value, but has shape {}", key, shape_str(sizes));
}
void check_hyper(bool ok, const char* op, const char* what, double value) {
  VOXGRAD_CHECK(ok, "{}: invalid {}: {}", op, what, value);
}
void throw_unknown_hyper(const std::string& options, const std::string& name) {
  throw Error(fmt::format("{}: unknown hyper-parameter \"{}\"", options, name));
}
void throw_if_problems(const std::string& name, const std::vector<std::string>& problems) {
  if (!problems.empty()) {
    throw Error(fmt::format("{}: error(s) in loading the state dict: {}", name, fmt::join(problems, "; ")));
  }
}
}  // namespace detail

namespace {

// Parses a non-negative decimal index ("12"); nullopt for anything else.
std::optional<std::size_t> parse_index(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::size_t value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  return value;
}

// Splits "prefix.<index>.<rest>" into (index, rest); rest may contain dots.
std::optional<std::pair<std::size_t, std::string>> split_indexed(const std::string& key, std::string_view prefix) {
  if (key.size() <= prefix.size() || key.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  const std::string_view tail = std::string_view(key).substr(prefix.size());
  const std::size_t dot = tail.find('.');
  if (dot == std::string_view::npos || dot + 1 == tail.size()) return std::nullopt;
  const auto index = parse_index(tail.substr(0, dot));
  if (!index) return std::nullopt;
  return std::make_pair(*index, std::string(tail.substr(dot + 1)));
}

}  // namespace

// =================================================================================================
// OptimizerParamGroup
// =================================================================================================

OptimizerParamGroup::OptimizerParamGroup(std::vector<Tensor> params) : params_(std::move(params)) {}

OptimizerParamGroup::OptimizerParamGroup(const OptimizerParamGroup& other)
    : params_(other.params_),
      options_(other.options_ ? other.options_->clone() : nullptr),
      initial_lr_(other.initial_lr_) {}

OptimizerParamGroup& OptimizerParamGroup::operator=(const OptimizerParamGroup& other) {
  if (this != &other) {
    params_ = other.params_;
    options_ = other.options_ ? other.options_->clone() : nullptr;
    initial_lr_ = other.initial_lr_;
  }
  return *this;
}

OptimizerOptions& OptimizerParamGroup::options() {
  return const_cast<OptimizerOptions&>(std::as_const(*this).options());
}

const OptimizerOptions& OptimizerParamGroup::options() const {
  VOXGRAD_CHECK(options_ != nullptr, "OptimizerParamGroup: the group has no options (add it to an optimizer first)");
  return *options_;
}

// =================================================================================================
// Optimizer
// =================================================================================================

Optimizer::Optimizer(std::unique_ptr<OptimizerOptions> defaults) : defaults_(std::move(defaults)) {}

void Optimizer::add_param_group(const OptimizerParamGroup& group) {
  const std::string n = name();
  const std::size_t g = param_groups_.size();
  VOXGRAD_CHECK(!group.params().empty(), "{}: optimizer got an empty parameter list (parameter group {})", n, g);
  std::set<const TensorImpl*> existing;
  for (const OptimizerParamGroup& other : param_groups_) {
    for (const Tensor& p : other.params()) existing.insert(p.impl().get());
  }
  std::set<const TensorImpl*> in_group;
  for (std::size_t i = 0; i < group.params().size(); ++i) {
    const Tensor& p = group.params()[i];
    VOXGRAD_CHECK(p.defined(), "{}: parameter {} of parameter group {} is an undefined tensor", n, i, g);
    VOXGRAD_CHECK(is_floating_point(p.dtype()),
                  "{}: can only optimize float32 or float64 tensors, but parameter {} of parameter group {} is {}", n,
                  i, g, p.dtype());
    VOXGRAD_CHECK(p.is_leaf(), "{}: can't optimize a non-leaf Tensor (parameter {} of parameter group {})", n, i, g);
    VOXGRAD_CHECK(!existing.count(p.impl().get()),
                  "{}: some parameters appear in more than one parameter group (parameter {} of group {})", n, i, g);
    VOXGRAD_CHECK(in_group.insert(p.impl().get()).second, "{}: parameter group {} contains parameter {} twice", n, g,
                  i);
  }
  OptimizerParamGroup added(group.params());
  if (group.has_options()) {
    const OptimizerOptions& o = group.options();
    const OptimizerOptions& defaults = *defaults_;
    VOXGRAD_CHECK(typeid(o) == typeid(defaults), "{}: parameter group {} has {}, but {} expects {}", n, g, o.name(), n,
                  defaults.name());
    added.set_options(o.clone());
  } else {
    added.set_options(defaults_->clone());
  }
  check_options(added.options());
  param_groups_.push_back(std::move(added));
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (OptimizerParamGroup& group : param_groups_) {
    for (const Tensor& p : group.params()) clear_grad(p, set_to_none);
  }
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> all;
  for (const OptimizerParamGroup& group : param_groups_) {
    all.insert(all.end(), group.params().begin(), group.params().end());
  }
  return all;
}

std::size_t Optimizer::size() const {
  std::size_t n = 0;
  for (const OptimizerParamGroup& group : param_groups_) n += group.params().size();
  return n;
}

const ParamState& Optimizer::state(const Tensor& param) const {
  VOXGRAD_CHECK(param.defined(), "{}: state() of an undefined tensor", name());
  bool found = false;
  for (const OptimizerParamGroup& group : param_groups_) {
    for (const Tensor& p : group.params()) found = found || p.is_same(param);
  }
  VOXGRAD_CHECK(found, "{}: state(): the tensor is not a parameter of this optimizer", name());
  static const ParamState kEmpty;
  const auto it = state_.find(param.impl().get());
  return it == state_.end() ? kEmpty : it->second;
}

ParamState& Optimizer::mutable_state(const Tensor& param) { return state_[param.impl().get()]; }

Tensor Optimizer::evaluate_closure(const LossClosure& closure) {
  if (!closure) return Tensor();
  AutoGradMode enable(true);
  return closure();
}

void Optimizer::check_step_operands() const {
  const std::string op = name();
  const std::vector<std::string> required = required_state_names();
  for (const OptimizerParamGroup& group : param_groups_) {
    for (const Tensor& p : group.params()) {
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      detail::check_like(p, grad, op.c_str(), "grad", "the parameter");
      const auto it = state_.find(p.impl().get());
      if (it == state_.end() || it->second.empty()) continue;
      for (const std::string& key : required) {
        const bool present =
            std::any_of(it->second.begin(), it->second.end(), [&](const auto& entry) { return entry.first == key; });
        VOXGRAD_CHECK(present, "{}: corrupted optimizer state (a parameter of shape {} has state without {})", op,
                      shape_str(p.sizes()), key);
      }
      for (const auto& [key, value] : it->second) {
        if (key != "step" && uses_state(group.options(), key)) {
          detail::check_like(p, value, op.c_str(), key.c_str(), "the parameter");
        }
      }
    }
  }
}

bool Optimizer::uses_state(const OptimizerOptions& /*options*/, const std::string& /*key*/) const { return true; }

Tensor* find_state(ParamState& state, const std::string& key) {
  for (auto& [k, v] : state) {
    if (k == key) return &v;
  }
  return nullptr;
}

nn::StateDict Optimizer::state_dict() const {
  nn::StateDict dict;
  std::int64_t index = 0;
  for (const OptimizerParamGroup& group : param_groups_) {
    for (const Tensor& p : group.params()) {
      const auto it = state_.find(p.impl().get());
      if (it != state_.end()) {
        for (const auto& [key, value] : it->second) {
          dict.emplace_back(fmt::format("state.{}.{}", index, key), value.detach().clone());
        }
      }
      ++index;
    }
  }
  index = 0;
  for (std::size_t g = 0; g < param_groups_.size(); ++g) {
    const OptimizerParamGroup& group = param_groups_[g];
    for (const auto& [key, value] : group.options().hyper_parameters()) {
      dict.emplace_back(fmt::format("param_groups.{}.{}", g, key), scalar_tensor(value, kFloat64));
    }
    Tensor ids = empty({static_cast<std::int64_t>(group.params().size())}, kInt64);
    auto* pid = ids.data_ptr<std::int64_t>();
    for (std::size_t i = 0; i < group.params().size(); ++i) pid[i] = index++;
    dict.emplace_back(fmt::format("param_groups.{}.params", g), ids);
  }
  return dict;
}

void Optimizer::load_state_dict(const nn::StateDict& state_dict) {
  const std::string n = name();
  const std::vector<Tensor> params = parameters();
  const std::vector<std::string> names = state_names();
  std::vector<std::string> problems;

  // New options per group (applied only if everything validates).
  std::vector<std::unique_ptr<OptimizerOptions>> new_options;
  std::vector<std::set<std::string>> seen_hp(param_groups_.size());
  std::vector<bool> seen_ids(param_groups_.size(), false);
  for (const OptimizerParamGroup& group : param_groups_) new_options.push_back(group.options().clone());
  // New per-parameter state, by parameter index, in the dict's order.
  std::map<std::size_t, ParamState> new_state;
  std::set<std::string> keys;

  for (const auto& [key, value] : state_dict) {
    if (!keys.insert(key).second) {
      problems.push_back(detail::duplicate_key(key));
      continue;
    }
    if (!value.defined()) {
      problems.push_back(detail::undefined_entry(key));
      continue;
    }
    if (auto st = split_indexed(key, "state.")) {
      const auto& [i, sname] = *st;
      if (i >= params.size()) {
        problems.push_back(fmt::format("\"{}\": parameter index {} is out of range (the optimizer has {} parameters)",
                                       key, i, params.size()));
        continue;
      }
      if (std::find(names.begin(), names.end(), sname) == names.end()) {
        problems.push_back(fmt::format("unexpected key \"{}\" ({} keeps {})", key, n, fmt::join(names, ", ")));
        continue;
      }
      const Tensor& p = params[i];
      Tensor copy;
      if (sname == "step") {
        if (value.numel() != 1 || value.dim() != 0) {
          problems.push_back(
              fmt::format("\"{}\" must be a 0-d tensor, but has shape {}", key, shape_str(value.sizes())));
          continue;
        }
        copy = value.detach().to(kFloat64).clone();
      } else {
        // The shape is checked below, once the loaded options say whether the step reads this entry.
        if (!is_floating_point(value.dtype())) {
          problems.push_back(fmt::format("\"{}\" must be a floating-point tensor, but is {}", key, value.dtype()));
          continue;
        }
        copy = value.detach().to(p.dtype()).clone();
      }
      new_state[i].emplace_back(sname, copy);
      continue;
    }
    if (auto pg = split_indexed(key, "param_groups.")) {
      const auto& [g, hp] = *pg;
      if (g >= param_groups_.size()) {
        problems.push_back(fmt::format("\"{}\": the optimizer has {} parameter group(s)", key, param_groups_.size()));
        continue;
      }
      if (hp == "params") {
        seen_ids[g] = true;
        const std::size_t expected = param_groups_[g].params().size();
        if (value.dim() != 1 || static_cast<std::size_t>(value.numel()) != expected) {
          problems.push_back(fmt::format(
              "\"{}\": the loaded parameter group {} has shape {}, but the optimizer's group {} has {} parameters", key,
              g, shape_str(value.sizes()), g, expected));
        }
        continue;
      }
      bool known = false;
      for (const auto& [hp_name, unused] : new_options[g]->hyper_parameters()) known = known || hp_name == hp;
      if (!known || value.numel() != 1) {
        problems.push_back(known ? detail::not_one_value(key, value.sizes()) : detail::unexpected_key(key));
        continue;
      }
      new_options[g]->set_hyper_parameter(hp, value.to(kFloat64).item<double>());
      seen_hp[g].insert(hp);
      continue;
    }
    problems.push_back(detail::unexpected_key(key));
  }

  for (std::size_t g = 0; g < param_groups_.size(); ++g) {
    const auto group_key = [g](const std::string& hp) { return fmt::format("param_groups.{}.{}", g, hp); };
    if (!seen_ids[g]) problems.push_back(detail::missing_key(group_key("params")));
    for (const auto& [hp, unused] : new_options[g]->hyper_parameters()) {
      if (!seen_hp[g].count(hp)) problems.push_back(detail::missing_key(group_key(hp)));
    }
    if (problems.empty()) {
      try {
        check_options(*new_options[g]);
      } catch (const Error& e) {
        problems.push_back(fmt::format("parameter group {}: {}", g, e.what()));
      }
    }
  }
  // A state tensor the step reads has its parameter's shape. One it does not read (a momentum buffer
  // kept after momentum was switched off, as PyTorch keeps it) may have another: the parameter may have
  // been given other data since, and state_dict() saved the entry as it was.
  std::vector<std::size_t> group_of;
  for (std::size_t g = 0; g < param_groups_.size(); ++g)
    group_of.resize(group_of.size() + param_groups_[g].params().size(), g);
  for (const auto& [i, st] : new_state) {
    for (const auto& [key, value] : st) {
      if (key != "step" && value.sizes() != params[i].sizes() && uses_state(*new_options[group_of[i]], key)) {
        problems.push_back(fmt::format("\"state.{}.{}\" has shape {}, but parameter {} has shape {}", i, key,
                                       shape_str(value.sizes()), i, shape_str(params[i].sizes())));
      }
    }
  }
  for (const auto& [i, st] : new_state) {
    for (const std::string& required : required_state_names()) {
      bool has = false;
      for (const auto& [k, v] : st) has = has || k == required;
      if (!has) problems.push_back(detail::missing_key(fmt::format("state.{}.{}", i, required)));
    }
  }

  detail::throw_if_problems(n, problems);

  for (std::size_t g = 0; g < param_groups_.size(); ++g) param_groups_[g].set_options(std::move(new_options[g]));
  // Each parameter's state in state_names() order, whatever the dict's order (a checkpoint file may
  // sort its keys), so that state_dict() comes out the same as before saving.
  for (auto& [i, st] : new_state) {
    std::stable_sort(st.begin(), st.end(), [&](const auto& a, const auto& b) {
      return std::find(names.begin(), names.end(), a.first) < std::find(names.begin(), names.end(), b.first);
    });
  }
  state_.clear();
  for (auto& [i, st] : new_state) state_[params[i].impl().get()] = std::move(st);
}

std::vector<std::string> Optimizer::required_state_names() const {
  const std::vector<std::string> names = state_names();
  if (std::find(names.begin(), names.end(), "step") != names.end()) return {"step"};
  return {};
}

}  // namespace voxgrad::optim
