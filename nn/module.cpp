#include "voxgrad/nn/module.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>

#include "voxgrad/autograd/clear_grad.h"
#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"

namespace voxgrad::nn {
namespace {

// Whether a and b are objects of the same most-derived class (typeid of plain references: clang warns
// that typeid(*p) evaluates p's operator*).
bool same_dynamic_type(const Module& a, const Module& b) { return typeid(a) == typeid(b); }

// "app::detail::MyNet<3ul>" -> "MyNet<3ul>": drops the scopes outside template and function
// argument lists (a class local to a function is "f(int)::Local" -> "Local").
std::string strip_namespaces(const std::string& full) {
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i + 1 < full.size(); ++i) {
    if (full[i] == '<' || full[i] == '(')
      ++depth;
    else if (full[i] == '>' || full[i] == ')')
      --depth;
    else if (depth == 0 && full[i] == ':' && full[i + 1] == ':')
      start = i + 2;
  }
  return full.substr(start);
}

std::string demangle(const char* mangled) {
  int status = 0;
  char* out = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string result = (status == 0 && out != nullptr) ? out : mangled;
  std::free(out);
  return result;
}

// PyTorch's _addindent: indents every line but the first.
std::string add_indent(const std::string& text, int spaces) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\n') out.append(static_cast<std::size_t>(spaces), ' ');
  }
  return out;
}

std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

// A fresh copy of `t`'s values (contiguous, own storage, outside any graph).
Tensor copy_of(const Tensor& t) { return t.detach().clone(); }

// The tensor registered as the `kind` (parameter, buffer) `name` of `module` must be defined.
void check_registered_tensor(const Tensor& t, const char* op, const std::string& module, const char* kind,
                             const std::string& name) {
  VOXGRAD_CHECK(t.defined(), "{}: {}: {} '{}' is an undefined tensor", op, module, kind, name);
}

// A module registered as the child `name` of `parent`: not null and not the parent itself.
void check_new_child(const std::shared_ptr<Module>& child, const Module& parent, const char* op,
                     const std::string& name) {
  VOXGRAD_CHECK(child != nullptr, "{}: {}: module '{}' is null", op, parent.name(), name);
  VOXGRAD_CHECK(child.get() != &parent, "{}: {}: a module cannot be its own child ('{}')", op, parent.name(), name);
}

// clone: the copy's reset() may only register the `kind` (parameter, buffer, child) `name` if the original has it.
void check_in_original(bool ok, const char* op, const std::string& module, const char* kind, const std::string& name) {
  VOXGRAD_CHECK(ok, "{}: {}'s reset() registered {} '{}', which the original does not have", op, module, kind, name);
}

// clone: an entry shared in the original must be shared in the copy too.
void check_sharing_kept(bool ok, const char* op, const std::string& module, const char* kind, const std::string& name) {
  VOXGRAD_CHECK(ok,
                "{}: {} '{}' of {} is shared with another place in the original, but {}'s reset() created a separate "
                "one; share it inside reset()",
                op, kind, name, module, module);
}

}  // namespace

Module::Module(std::string name) : name_(std::move(name)) {}

std::string Module::name() const {
  if (!name_.empty()) return name_;
  // A holder's module class "NetImpl" prints as "Net", the name its users write.
  std::string name = strip_namespaces(demangle(typeid(*this).name()));
  constexpr std::string_view kImpl = "Impl";
  if (name.size() > kImpl.size() && name.ends_with(kImpl)) name.resize(name.size() - kImpl.size());
  return name;
}

std::string detail::type_name(const std::type_info& type) {
  if (type == typeid(void)) return "void";
  std::string name = demangle(type.name());
  for (std::size_t at; (at = name.find("voxgrad::")) != std::string::npos;) name.erase(at, 9);
  return name;
}

Tensor detail::single_tensor_input(const Module& module, const AnyValues& inputs, const char* hook) {
  if (inputs.size() != 1 || !inputs[0].holds<Tensor>()) {
    std::vector<std::string> types;
    for (const AnyValue& v : inputs) types.push_back(v.type_name());
    throw Error(
        fmt::format("{}: a {} written for one Tensor met a call with ({}); write it as taking "
                    "(Module&, const AnyValues&{}) instead",
                    module.name(), hook, fmt::join(types, ", "),
                    std::string_view(hook) == "forward hook" ? ", const AnyValue&" : ""));
  }
  return inputs[0].get<Tensor>();
}

// --- registration -------------------------------------------------------------------------------

bool Module::has_name(const std::string& name) const {
  return parameters_.contains(name) || buffers_.contains(name) || children_.contains(name);
}

void Module::check_new_name(const std::string& name, const char* op) const {
  VOXGRAD_CHECK(!name.empty(), "{}: {}: the name must not be empty", op, this->name());
  VOXGRAD_CHECK(name.find('.') == std::string::npos, "{}: {}: the name '{}' must not contain '.'", op, this->name(),
                name);
  if (!has_name(name)) return;
  const char* kind = parameters_.contains(name) ? "parameter" : buffers_.contains(name) ? "buffer" : "child module";
  throw Error(fmt::format("{}: {} already has a {} named '{}'", op, this->name(), kind, name));
}

Tensor& Module::register_parameter(std::string name, Tensor tensor, bool requires_grad) {
  const char* op = "register_parameter";
  check_new_name(name, op);
  check_registered_tensor(tensor, op, this->name(), "parameter", name);
  VOXGRAD_CHECK(requires_grad == false || is_floating_point(tensor.dtype()),
                "{}: {}: parameter '{}' has dtype {}; only float32 and float64 tensors can require grad", op,
                this->name(), name, tensor.dtype());
  // A parameter is a leaf, as nn.Parameter(t) is: an op's result is cut from its graph.
  if (!tensor.is_leaf()) tensor = tensor.detach();
  tensor.requires_grad_(requires_grad);
  return *parameters_.insert(std::move(name), std::move(tensor));  // the name was checked to be new
}

Tensor& Module::register_buffer(std::string name, Tensor tensor) {
  const char* op = "register_buffer";
  check_new_name(name, op);
  check_registered_tensor(tensor, op, this->name(), "buffer", name);
  return *buffers_.insert(std::move(name), std::move(tensor));
}

void Module::register_child(std::string name, std::shared_ptr<Module> module) {
  const char* op = "register_module";
  check_new_name(name, op);
  check_new_child(module, *this, op, name);
  children_.insert(std::move(name), std::move(module));
}

void Module::replace_child(const std::string& name, std::shared_ptr<Module> module) {
  const char* op = "replace_module";
  std::shared_ptr<Module>* const slot = children_.find(name);
  VOXGRAD_CHECK(slot != nullptr, "{}: {} has no child module named '{}'", op, this->name(), name);
  check_new_child(module, *this, op, name);
  *slot = std::move(module);
}

// --- traversal ----------------------------------------------------------------------------------

void Module::walk(const std::string& prefix, const std::shared_ptr<Module>& owner, std::vector<WalkEntry>& out,
                  std::vector<const Module*>& seen) const {
  if (std::find(seen.begin(), seen.end(), this) != seen.end()) return;
  seen.push_back(this);
  out.push_back({prefix, this, owner});
  for (const auto& [child_name, child] : children_) child->walk(join_name(prefix, child_name), child, out, seen);
}

NamedTensors Module::named_tensors(bool recurse, bool buffers) const {
  std::vector<WalkEntry> mods;
  if (recurse) {
    std::vector<const Module*> seen;
    walk("", nullptr, mods, seen);
  } else {
    mods.push_back({"", this, nullptr});
  }
  NamedTensors result;
  std::unordered_set<const void*> memo;  // one entry per tensor, as PyTorch's _named_members
  for (const WalkEntry& m : mods) {
    for (const auto& [name, t] : buffers ? m.module->buffers_ : m.module->parameters_) {
      if (!memo.insert(t.impl().get()).second) continue;
      result.emplace_back(join_name(m.name, name), t);
    }
  }
  return result;
}

NamedTensors Module::named_parameters(bool recurse) const { return named_tensors(recurse, false); }

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> result;
  for (auto& [name, t] : named_parameters(recurse)) result.push_back(std::move(t));
  return result;
}

NamedTensors Module::named_buffers(bool recurse) const { return named_tensors(recurse, true); }

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> result;
  for (auto& [name, t] : named_buffers(recurse)) result.push_back(std::move(t));
  return result;
}

NamedModules Module::named_children() const { return {children_.begin(), children_.end()}; }

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> result;
  for (const auto& [name, child] : children_) result.push_back(child);
  return result;
}

NamedModules Module::named_modules(bool include_self) const {
  std::vector<WalkEntry> mods;
  std::vector<const Module*> seen;
  walk("", nullptr, mods, seen);
  NamedModules result;
  if (include_self) {
    // const_pointer_cast: the pointer hands out the object the caller already owns, as `this` does.
    auto self = std::const_pointer_cast<Module>(weak_from_this().lock());
    VOXGRAD_CHECK(self != nullptr,
                  "named_modules: {} is not owned by a std::shared_ptr, so it cannot return itself; create "
                  "it with std::make_shared, or pass include_self = false",
                  name());
    result.emplace_back("", std::move(self));
  }
  for (std::size_t i = 1; i < mods.size(); ++i) result.emplace_back(mods[i].name, mods[i].owner);
  return result;
}

std::vector<std::shared_ptr<Module>> Module::modules(bool include_self) const {
  std::vector<std::shared_ptr<Module>> result;
  for (auto& [name, m] : named_modules(include_self)) result.push_back(std::move(m));
  return result;
}

Module& Module::apply(const std::function<void(Module&)>& fn) {
  std::unordered_set<const Module*> seen;
  // Post-order (children first), each module once; the children are copied before recursing so
  // that `fn` may register new ones.
  std::function<void(Module&)> visit = [&](Module& m) {
    if (!seen.insert(&m).second) return;
    const auto kids = m.children();
    for (const auto& child : kids) visit(*child);
    fn(m);
  };
  visit(*this);
  return *this;
}

std::int64_t Module::num_parameters(bool recurse) const {
  std::int64_t n = 0;
  for (const Tensor& p : parameters(recurse)) n += p.numel();
  return n;
}

// --- state dict ---------------------------------------------------------------------------------

void Module::collect_state(const std::string& prefix, StateDict& out) const {
  for (const auto& [name, t] : parameters_) out.emplace_back(join_name(prefix, name), t.detach());
  for (const auto& [name, t] : buffers_) out.emplace_back(join_name(prefix, name), t.detach());
  for (const auto& [child_name, child] : children_) child->collect_state(join_name(prefix, child_name), out);
}

StateDict Module::state_dict() const {
  // A module that is (indirectly) its own child would recurse forever, as it does in PyTorch.
  std::vector<const Module*> stack;
  std::function<void(const Module&)> check = [&](const Module& m) {
    VOXGRAD_CHECK(std::find(stack.begin(), stack.end(), &m) == stack.end(),
                  "state_dict: {} contains itself as a descendant, so its state dict would be infinite", m.name());
    stack.push_back(&m);
    for (const auto& [n, child] : m.children_) check(*child);
    stack.pop_back();
  };
  check(*this);
  StateDict out;
  collect_state("", out);
  return out;
}

IncompatibleKeys Module::load_state_dict(const StateDict& state_dict, bool strict) {
  const StateDict own = this->state_dict();
  std::unordered_map<std::string, std::size_t> given;  // key -> index into state_dict
  std::vector<std::string> problems;
  std::vector<std::string> duplicates;
  for (std::size_t i = 0; i < state_dict.size(); ++i) {
    const auto& [key, t] = state_dict[i];
    if (!given.emplace(key, i).second && std::find(duplicates.begin(), duplicates.end(), key) == duplicates.end()) {
      duplicates.push_back(key);
    }
    if (!t.defined()) problems.push_back(fmt::format("the entry for {} is an undefined tensor.", key));
  }
  for (const std::string& key : duplicates) {
    problems.push_back(fmt::format("key {} appears more than once in state_dict.", key));
  }

  IncompatibleKeys result;
  std::unordered_set<std::string> expected;
  std::vector<std::pair<Tensor, const Tensor*>> copies;  // (destination, source)
  for (const auto& [key, dst] : own) {
    expected.insert(key);
    const auto it = given.find(key);
    if (it == given.end()) {
      result.missing_keys.push_back(key);
      continue;
    }
    const Tensor& src = state_dict[it->second].second;
    if (!src.defined()) continue;  // already reported
    if (src.sizes() != dst.sizes()) {
      problems.push_back(
          fmt::format("size mismatch for {}: copying a param with shape {} from checkpoint, the shape "
                      "in current model is {}.",
                      key, shape_str(src.sizes()), shape_str(dst.sizes())));
      continue;
    }
    copies.emplace_back(dst, &src);  // copy_ converts to dst's dtype, as PyTorch's param.copy_(input_param)
  }
  for (const auto& [key, t] : state_dict) {
    if (!expected.count(key) &&
        std::find(result.unexpected_keys.begin(), result.unexpected_keys.end(), key) == result.unexpected_keys.end()) {
      result.unexpected_keys.push_back(key);
    }
  }

  if (strict) {
    // PyTorch's order: missing keys, unexpected keys, then per-key problems.
    std::vector<std::string> head;
    auto quoted = [](const std::vector<std::string>& keys) {
      std::string s;
      for (const std::string& k : keys) s += (s.empty() ? "\"" : ", \"") + k + "\"";
      return s;
    };
    if (!result.missing_keys.empty())
      head.push_back("Missing key(s) in state_dict: " + quoted(result.missing_keys) + ".");
    if (!result.unexpected_keys.empty()) {
      head.push_back("Unexpected key(s) in state_dict: " + quoted(result.unexpected_keys) + ".");
    }
    problems.insert(problems.begin(), head.begin(), head.end());
  }
  if (!problems.empty()) {
    std::string msg = fmt::format("load_state_dict: Error(s) in loading state_dict for {}:", name());
    for (const std::string& p : problems) msg += "\n\t" + p;
    throw Error(msg);
  }

  NoGradGuard no_grad;
  for (auto& [dst, src] : copies) dst.copy_(*src);  // dst is a detached handle on the module's storage
  return result;
}

// --- clone and conversion -----------------------------------------------------------------------

struct Module::CloneMemo {
  std::unordered_map<const void*, Tensor> tensors;                     // original (impl) -> copy
  std::unordered_map<const Module*, std::shared_ptr<Module>> modules;  // original -> copy
};

void Module::throw_not_cloneable(const Module& module) {
  throw Error(
      fmt::format("clone: {} does not support clone(); derive it from nn::Cloneable<{}> (or "
                  "nn::Cloneable<{}, Base>) and create its parameters, buffers and submodules in reset()",
                  module.name(), module.name(), module.name()));
}

void Module::check_clonable_without_reset(const Module& module) {
  const char* kind = !module.parameters_.empty() ? "parameter" : !module.buffers_.empty() ? "buffer" : nullptr;
  if (kind == nullptr) return;
  const std::string& entry =
      !module.parameters_.empty() ? module.parameters_.begin()->first : module.buffers_.begin()->first;
  throw Error(
      fmt::format("clone: {} registers {} '{}' but has no reset(); override reset() to create its parameters, "
                  "buffers and submodules (a copy's member handles would otherwise still point at the "
                  "original's tensors)",
                  module.name(), kind, entry));
}

std::shared_ptr<Module> Module::clone_instance() const {
  if (typeid(*this) != typeid(Module)) throw_not_cloneable(*this);
  return std::make_shared<Module>(name_);
}

void Module::clear_registry() {
  parameters_.clear();
  buffers_.clear();
  children_.clear();
}

std::shared_ptr<Module> Module::clone_tree(CloneMemo& memo) const {
  std::shared_ptr<Module> copy = clone_instance();
  VOXGRAD_CHECK(copy != nullptr && same_dynamic_type(*copy, *this), "clone: {}'s clone_instance() must return a new {}",
                name(), name());
  memo.modules[this] = copy;
  clone_into(*copy, memo);
  return copy;
}

void Module::clone_into(Module& copy, CloneMemo& memo) const {
  const char* op = "clone";
  copy.is_training_ = is_training_;
  // The copy gets its own hook lists with the same hooks (as copy.deepcopy in PyTorch); handles
  // returned for the original remove only the original's.
  copy.forward_hooks_ = forward_hooks_ ? std::make_shared<detail::ForwardHooks>(*forward_hooks_) : nullptr;
  // Tensors: an entry the copy's reset() already made is kept (its member handles point at it) and
  // given a copy of the original's data; any other entry gets a new tensor. A tensor seen before
  // maps to the same copy, so sharing is preserved.
  auto tensors = [&](const OrderedDict<std::string, Tensor>& from, OrderedDict<std::string, Tensor>& to,
                     const char* kind) {
    OrderedDict<std::string, Tensor> result;
    for (const auto& [name, t] : from) {
      const Tensor* const made = to.find(name);
      const auto seen = memo.tensors.find(t.impl().get());
      Tensor target;
      if (seen != memo.tensors.end()) {
        target = seen->second;
        check_sharing_kept(made == nullptr || made->is_same(target), op, this->name(), kind, name);
      } else {
        if (made != nullptr) {
          target = *made;
          target.set_data(copy_of(t));
        } else {
          target = copy_of(t);
        }
        if (is_floating_point(target.dtype())) target.requires_grad_(t.requires_grad());
        memo.tensors.emplace(t.impl().get(), target);
      }
      result.insert(name, target);
    }
    for (const auto& [name, t] : to) {
      check_in_original(from.contains(name), op, this->name(), kind, name);
    }
    to = std::move(result);
  };
  tensors(parameters_, copy.parameters_, "parameter");
  tensors(buffers_, copy.buffers_, "buffer");

  OrderedDict<std::string, std::shared_ptr<Module>> children;
  for (const auto& [name, child] : children_) {
    const std::shared_ptr<Module>* const made = copy.children_.find(name);
    const auto seen = memo.modules.find(child.get());
    std::shared_ptr<Module> target;
    if (seen != memo.modules.end()) {
      target = seen->second;
      check_sharing_kept(made == nullptr || *made == target, op, this->name(), "child", name);
    } else if (made != nullptr) {
      target = *made;
      VOXGRAD_CHECK(same_dynamic_type(*target, *child),
                    "{}: {}'s reset() registered child '{}' as a {}, but the original's is a {}", op, this->name(),
                    name, target->name(), child->name());
      memo.modules[child.get()] = target;
      child->clone_into(*target, memo);
    } else {
      target = child->clone_tree(memo);
    }
    children.insert(name, std::move(target));
  }
  for (const auto& [name, child] : copy.children_) {
    check_in_original(children_.contains(name), op, this->name(), "child", name);
  }
  copy.children_ = std::move(children);
}

std::shared_ptr<Module> Module::clone() const {
  NoGradGuard no_grad;
  CloneMemo memo;
  return clone_tree(memo);
}

Module& Module::to(DType dtype) {
  VOXGRAD_CHECK(is_floating_point(dtype), "to: {}: modules can only be converted to float32 or float64, not {}", name(),
                dtype);
  NoGradGuard no_grad;
  auto convert = [dtype](const Tensor& t) {
    if (is_floating_point(t.dtype()) && t.dtype() != dtype) t.set_data(t.detach().to(dtype));
  };
  for (const Tensor& t : parameters()) {
    convert(t);
    if (const Tensor g = t.grad(); g.defined()) convert(g);
  }
  for (const Tensor& t : buffers()) convert(t);
  return *this;
}

// --- training state -----------------------------------------------------------------------------

Tensor Module::forward(const Tensor&) {
  throw Error(
      fmt::format("{}: this module has no single-tensor forward(); call its own forward "
                  "overload, or override Module::forward to use it in a container",
                  name()));
}

void Module::train(bool on) {
  is_training_ = on;
  for (const auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (const Tensor& p : parameters()) clear_grad(p, set_to_none);
}

// --- hooks --------------------------------------------------------------------------------------

Tensor Module::operator()(const Tensor& input) {
  if (!has_forward_hooks()) return forward(input);
  const detail::ForwardFn fn = [](Module& m, AnyValues& in) -> AnyValue {
    return m.forward(detail::single_tensor_input(m, in, "forward pre-hook"));
  };
  return call_forward({AnyValue(input)}, fn).get<Tensor>();
}

AnyValue Module::call_forward(AnyValues inputs, const detail::ForwardFn& forward) {
  if (!has_forward_hooks()) return forward(*this, inputs);
  // A snapshot: hooks that (un)register hooks affect the next call, not this one, as in PyTorch.
  const detail::ForwardHooks hooks = *forward_hooks_;
  for (const auto& [id, hook] : hooks.pre) {
    if (std::optional<AnyValues> replaced = hook(*this, inputs)) inputs = std::move(*replaced);
  }
  AnyValue output = forward(*this, inputs);
  for (const auto& [id, hook] : hooks.post) {
    if (std::optional<AnyValue> replaced = hook(*this, inputs, output)) output = std::move(*replaced);
  }
  return output;
}

namespace {

// Adds `hook` to `list` (first if `prepend`) under a new id and returns the handle removing it; the
// handle holds the registry weakly, so it may outlive the module.
template <class Hook>
HookHandle add_hook(std::shared_ptr<detail::ForwardHooks>& registry,
                    std::vector<std::pair<std::uint64_t, Hook>> detail::ForwardHooks::*list, Hook hook, bool prepend) {
  if (registry == nullptr) registry = std::make_shared<detail::ForwardHooks>();
  const std::uint64_t id = registry->next_id++;
  auto& hooks = (*registry).*list;
  hooks.insert(prepend ? hooks.begin() : hooks.end(), {id, std::move(hook)});
  return HookHandle([weak = std::weak_ptr<detail::ForwardHooks>(registry), list, id] {
    if (const auto r = weak.lock()) std::erase_if((*r).*list, [id](const auto& entry) { return entry.first == id; });
  });
}

}  // namespace

HookHandle Module::add_pre_hook(ForwardPreHook hook, bool prepend) {
  VOXGRAD_CHECK(hook != nullptr, "register_forward_pre_hook: {}: the hook is empty", name());
  return add_hook(forward_hooks_, &detail::ForwardHooks::pre, std::move(hook), prepend);
}

HookHandle Module::add_forward_hook(ForwardHook hook, bool prepend) {
  VOXGRAD_CHECK(hook != nullptr, "register_forward_hook: {}: the hook is empty", name());
  return add_hook(forward_hooks_, &detail::ForwardHooks::post, std::move(hook), prepend);
}

// --- printing -----------------------------------------------------------------------------------

void Module::pretty_print(std::ostream& stream) const {
  std::vector<std::string> lines;
  const std::string extra = extra_repr();
  std::size_t extra_lines = 0;
  if (!extra.empty()) {
    std::istringstream in(extra);
    for (std::string line; std::getline(in, line);) lines.push_back(line), ++extra_lines;
  }
  for (const auto& [child_name, child] : children_) {
    std::ostringstream child_text;
    child->pretty_print(child_text);
    lines.push_back("(" + child_name + "): " + add_indent(child_text.str(), 2));
  }
  stream << name() << '(';
  if (extra_lines == 1 && children_.empty()) {
    stream << lines[0];
  } else if (!lines.empty()) {
    for (const std::string& line : lines) stream << "\n  " << line;
    stream << '\n';
  }
  stream << ')';
}

std::ostream& operator<<(std::ostream& stream, const Module& module) {
  module.pretty_print(stream);
  return stream;
}

}  // namespace voxgrad::nn
