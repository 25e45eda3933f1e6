#pragma once
// Internal: the checks of optimizer options, and the problems Optimizer and the LR schedulers report
// when loading a state dict.

#include <string>
#include <vector>

#include "voxgrad/core/shape.h"

namespace voxgrad::optim::detail {

/// "\"{key}\" is an undefined tensor"
std::string undefined_entry(const std::string& key);
/// "duplicate key \"{key}\""
std::string duplicate_key(const std::string& key);
/// "missing key \"{key}\""
std::string missing_key(const std::string& key);
/// "unexpected key \"{key}\""
std::string unexpected_key(const std::string& key);
/// "\"{key}\" must hold one value, but has shape {sizes}"
std::string not_one_value(const std::string& key, IntArrayRef sizes);

/// Throws "{op}: invalid {what}: {value}" unless `ok` (what: "learning rate", "weight_decay value", ...).
void check_hyper(bool ok, const char* op, const char* what, double value);

/// Throws "{options}: unknown hyper-parameter \"{name}\"".
[[noreturn]] void throw_unknown_hyper(const std::string& options, const std::string& name);

/// Throws "{name}: error(s) in loading the state dict: {problems joined by "; "}" if there are problems.
void throw_if_problems(const std::string& name, const std::vector<std::string>& problems);

}  // namespace voxgrad::optim::detail
