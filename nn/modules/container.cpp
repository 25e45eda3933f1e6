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

// --- Sequential ---------------------------------------------------------------------------------

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules) push_back(m);
}

Sequential::Sequential(const std::vector<std::shared_ptr<Module>>& modules) {
  for (const auto& m : modules) push_back(m);
}

Sequential::Sequential(const NamedModules& modules) {
  for (const auto& [name, m] : modules) push_back(name, m);
}

void Sequential::append(std::string name, std::shared_ptr<Module> module) {
  register_module(std::move(name), std::move(module));
}

std::shared_ptr<Module> Sequential::operator[](std::size_t index) const {
  return child_at(*this, "Sequential[]", index);
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (const auto& [name, m] : named_children()) x = m->forward(x);
  return x;
}

// --- ModuleList ---------------------------------------------------------------------------------

ModuleList::ModuleList(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules) append(m);
}

ModuleList::ModuleList(const std::vector<std::shared_ptr<Module>>& modules) { extend(modules); }

void ModuleList::append(std::shared_ptr<Module> module) { register_module(std::to_string(size()), std::move(module)); }

void ModuleList::extend(const std::vector<std::shared_ptr<Module>>& modules) {
  for (const auto& m : modules) append(m);
}

std::shared_ptr<Module> ModuleList::operator[](std::size_t index) const {
  return child_at(*this, "ModuleList[]", index);
}

// --- ModuleDict ---------------------------------------------------------------------------------

ModuleDict::ModuleDict(const NamedModules& modules) { update(modules); }

void ModuleDict::set(const std::string& key, std::shared_ptr<Module> module) {
  if (contains(key)) {
    replace_module(key, std::move(module));
  } else {
    register_module(key, std::move(module));
  }
}

void ModuleDict::update(const NamedModules& modules) {
  for (const auto& [key, m] : modules) set(key, m);
}

bool ModuleDict::contains(const std::string& key) const {
  const NamedModules kids = named_children();
  return std::any_of(kids.begin(), kids.end(), [&](const auto& e) { return e.first == key; });
}

std::shared_ptr<Module> ModuleDict::operator[](const std::string& key) const {
  for (const auto& [name, m] : named_children()) {
    if (name == key) return m;
  }
  throw Error(fmt::format("ModuleDict[]: no module named '{}' (keys: {})", key, fmt::join(keys(), ", ")));
}

std::vector<std::string> ModuleDict::keys() const {
  std::vector<std::string> out;
  for (const auto& [name, m] : named_children()) out.push_back(name);
  return out;
}

}  // namespace voxgrad::nn
