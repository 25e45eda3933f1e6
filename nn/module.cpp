#include "voxgrad/nn/module.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <typeinfo>
#include <unordered_set>

#include "voxgrad/core/error.h"

namespace voxgrad::nn {
namespace {

// "app::detail::MyNet<3ul>" -> "MyNet<3ul>": drops the scopes outside template and function
// argument lists (a class local to a function is "f(int)::Local" -> "Local").
std::string strip_namespaces(const std::string& full) {
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i + 1 < full.size(); ++i) {
    if (full[i] == '<' || full[i] == '(') ++depth;
    else if (full[i] == '>' || full[i] == ')') --depth;
    else if (depth == 0 && full[i] == ':' && full[i + 1] == ':') start = i + 2;
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

}  // namespace

Module::Module(std::string name) : name_(std::move(name)) {}

std::string Module::name() const {
  if (!name_.empty()) return name_;
  return strip_namespaces(demangle(typeid(*this).name()));
}

// --- registration -------------------------------------------------------------------------------

bool Module::has_name(const std::string& name) const {
  auto same = [&](const auto& entry) { return entry.first == name; };
  return std::any_of(parameters_.begin(), parameters_.end(), same) ||
         std::any_of(buffers_.begin(), buffers_.end(), same) ||
         std::any_of(children_.begin(), children_.end(), same);
}

void Module::check_new_name(const std::string& name, const char* op) const {
  VOXGRAD_CHECK(!name.empty(), "{}: {}: the name must not be empty", op, this->name());
  VOXGRAD_CHECK(name.find('.') == std::string::npos, "{}: {}: the name '{}' must not contain '.'", op,
                this->name(), name);
  if (!has_name(name)) return;
  const char* kind = "child module";
  for (const auto& p : parameters_) {
    if (p.first == name) kind = "parameter";
  }
  for (const auto& b : buffers_) {
    if (b.first == name) kind = "buffer";
  }
  throw Error(fmt::format("{}: {} already has a {} named '{}'", op, this->name(), kind, name));
}

Tensor& Module::register_parameter(std::string name, Tensor tensor, bool requires_grad) {
  const char* op = "register_parameter";
  check_new_name(name, op);
  VOXGRAD_CHECK(tensor.defined(), "{}: {}: parameter '{}' is an undefined tensor", op, this->name(), name);
  VOXGRAD_CHECK(requires_grad == false || is_floating_point(tensor.dtype()),
                "{}: {}: parameter '{}' has dtype {}; only float32 and float64 tensors can require grad", op,
                this->name(), name, tensor.dtype());
  // A parameter is a leaf, as nn.Parameter(t) is: an op's result is cut from its graph.
  if (!tensor.is_leaf()) tensor = tensor.detach();
  tensor.requires_grad_(requires_grad);
  parameters_.emplace_back(std::move(name), std::move(tensor));
  return parameters_.back().second;
}

Tensor& Module::register_buffer(std::string name, Tensor tensor) {
  const char* op = "register_buffer";
  check_new_name(name, op);
  VOXGRAD_CHECK(tensor.defined(), "{}: {}: buffer '{}' is an undefined tensor", op, this->name(), name);
  buffers_.emplace_back(std::move(name), std::move(tensor));
  return buffers_.back().second;
}

void Module::register_child(std::string name, std::shared_ptr<Module> module) {
  const char* op = "register_module";
  check_new_name(name, op);
  VOXGRAD_CHECK(module != nullptr, "{}: {}: module '{}' is null", op, this->name(), name);
  VOXGRAD_CHECK(module.get() != this, "{}: {}: a module cannot be its own child ('{}')", op, this->name(),
                name);
  children_.emplace_back(std::move(name), std::move(module));
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

// --- training state -----------------------------------------------------------------------------

Tensor Module::forward(const Tensor&) {
  throw Error(fmt::format("{}: this module has no single-tensor forward(); call its own forward "
                          "overload, or override Module::forward to use it in a container",
                          name()));
}

void Module::train(bool on) {
  is_training_ = on;
  for (const auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (const Tensor& p : parameters()) p.set_grad({});
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
