#pragma once
// Internal: the checks of optimizer options, and the problems Optimizer and the LR schedulers report
// when loading a state dict.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "voxgrad/core/shape.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/module.h"

namespace voxgrad::optim {
class Optimizer;
}

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

// Reading a scheduler's state dict (defined in optim/lr_scheduler.cpp): entries are taken out of the
// map as they are read, so what remains at the end is unexpected.

/// A 1-D float64 tensor of `v`.
Tensor vector_tensor(const std::vector<double>& v);
/// `dict` as name → tensor; duplicates and undefined tensors go to `problems`.
std::map<std::string, Tensor> index_dict(const nn::StateDict& dict, std::vector<std::string>& problems);
/// Takes the one-element entry `key` out of `m`, or records a problem.
std::optional<double> take_scalar(std::map<std::string, Tensor>& m, const std::string& key,
                                  std::vector<std::string>& problems);
/// Takes the 1-D entry `key` of `n` values out of `m`, or records a problem.
std::optional<std::vector<double>> take_vector(std::map<std::string, Tensor>& m, const std::string& key, std::size_t n,
                                               std::vector<std::string>& problems);
/// Adds every entry left in `rest` as unexpected, then throw_if_problems(name, problems).
void report(const std::string& name, std::map<std::string, Tensor>& rest, std::vector<std::string>& problems);
/// Throws unless `optimizer` still has `expected` parameter groups.
void check_group_count(const std::string& name, const Optimizer& optimizer, std::size_t expected);
/// The integer nearest to `v` (counts stored as float64).
std::int64_t as_count(double v);
/// Empty when `v` (entry `key`) is a whole number of at least `min` (and well inside int64), else
/// the problem, for the list load_state_dict reports.
std::string count_problem(const std::string& key, double v, std::int64_t min);
/// Adds count_problem(key, *v, min) to `problems` when `v` was read and is not such a count.
void check_count(const std::string& key, const std::optional<double>& v, std::int64_t min,
                 std::vector<std::string>& problems);

}  // namespace voxgrad::optim::detail
