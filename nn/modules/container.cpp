#include "voxgrad/nn/modules/container.h"

#include <algorithm>

namespace voxgrad::nn {

void detail::throw_wrong_module_type(const char* container, const std::string& entry, const Module& module) {
  throw Error(fmt::format("{}::at: module {} is a {}, not the requested type", container, entry, module.name()));
}

namespace {

std::shared_ptr<Module> child_at(const Module& m, const char* op, std::size_t index) {
  const NamedModules kids = m.named_children();
  VOXGRAD_CHECK(index < kids.size(), "{}: index {} is out of range for a {} of size {}", op, index, m.name(),
                kids.size());
  return kids[index].second;
}

}  // namespace

// --- SequentialImpl ---------------------------------------------------------------------------------

SequentialImpl::SequentialImpl(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules) push_back(m);
}

SequentialImpl::SequentialImpl(const std::vector<std::shared_ptr<Module>>& modules) {
  for (const auto& m : modules) push_back(m);
}

SequentialImpl::SequentialImpl(const NamedModules& modules) {
  for (const auto& [name, m] : modules) push_back(name, m);
}

void SequentialImpl::append(std::string name, const AnyModule& module) {
  register_module(name, module.ptr());
  forwards_[name] = module.forward_fn();
}

std::shared_ptr<Module> SequentialImpl::operator[](std::size_t index) const {
  return child_at(*this, "Sequential[]", index);
}

Tensor SequentialImpl::forward(const Tensor& input) { return any_forward({AnyValue(input)}).get<Tensor>(); }

AnyValue SequentialImpl::any_forward(AnyValues args) {
  const NamedModules kids = named_children();
  if (kids.empty()) {
    VOXGRAD_CHECK(args.size() == 1, "Sequential::forward: an empty Sequential returns its one input, but got {} inputs",
                  args.size());
    return std::move(args[0]);
  }
  static const detail::ForwardFn virtual_forward = detail::make_forward<Module>();
  auto forward_of = [&](const std::string& name) -> const detail::ForwardFn& {
    const auto it = forwards_.find(name);
    return it == forwards_.end() ? virtual_forward : it->second;
  };
  AnyValue x = kids[0].second->call_forward(std::move(args), forward_of(kids[0].first));
  for (std::size_t i = 1; i < kids.size(); ++i) {
    x = kids[i].second->call_forward({std::move(x)}, forward_of(kids[i].first));
  }
  return x;
}

// --- ModuleListImpl ---------------------------------------------------------------------------------

ModuleListImpl::ModuleListImpl(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules) append(m);
}

ModuleListImpl::ModuleListImpl(const std::vector<std::shared_ptr<Module>>& modules) { extend(modules); }

void ModuleListImpl::append(std::shared_ptr<Module> module) {
  register_module(std::to_string(size()), std::move(module));
}

void ModuleListImpl::extend(const std::vector<std::shared_ptr<Module>>& modules) {
  for (const auto& m : modules) append(m);
}

std::shared_ptr<Module> ModuleListImpl::operator[](std::size_t index) const {
  return child_at(*this, "ModuleList[]", index);
}

// --- ModuleDictImpl ---------------------------------------------------------------------------------

ModuleDictImpl::ModuleDictImpl(const NamedModules& modules) { update(modules); }

void ModuleDictImpl::set(const std::string& key, std::shared_ptr<Module> module) {
  if (contains(key)) {
    replace_module(key, std::move(module));
  } else {
    register_module(key, std::move(module));
  }
}

void ModuleDictImpl::update(const NamedModules& modules) {
  for (const auto& [key, m] : modules) set(key, m);
}

bool ModuleDictImpl::contains(const std::string& key) const {
  const NamedModules kids = named_children();
  return std::any_of(kids.begin(), kids.end(), [&](const auto& e) { return e.first == key; });
}

std::shared_ptr<Module> ModuleDictImpl::operator[](const std::string& key) const {
  for (const auto& [name, m] : named_children()) {
    if (name == key) return m;
  }
  throw Error(fmt::format("ModuleDict[]: no module named '{}' (keys: {})", key, fmt::join(keys(), ", ")));
}

std::vector<std::string> ModuleDictImpl::keys() const {
  std::vector<std::string> out;
  for (const auto& [name, m] : named_children()) out.push_back(name);
  return out;
}

}  // namespace voxgrad::nn
