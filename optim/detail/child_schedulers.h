#pragma once
// Internal: the state dicts of the schedulers that hold others (SequentialLR, ChainedScheduler): each
// child's entries under "_schedulers.<i>.", as PyTorch's list under "_schedulers".

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "voxgrad/nn/module.h"

namespace voxgrad::optim {
class LRScheduler;
}

namespace voxgrad::optim::detail {

/// Appends every child's state dict to `dict`, each key prefixed "_schedulers.<i>.".
void append_children(nn::StateDict& dict, const std::vector<std::shared_ptr<LRScheduler>>& schedulers);

/// Splits `dict` into the entries "_schedulers.<i>.<key>" of the children i < n (as "<key>", one dict per
/// child) and every other entry (into `own`, for the holder to read).
std::vector<nn::StateDict> split_children(const nn::StateDict& dict, std::size_t n, nn::StateDict& own);

/// Loads children[i] into schedulers[i], each validating its own entries; if one refuses, restores
/// every child as it was and throws "{name}: error(s) in loading the state dict of a child scheduler:
/// {its message}".
void load_children(const std::string& name, const std::vector<std::shared_ptr<LRScheduler>>& schedulers,
                   const std::vector<nn::StateDict>& children);

}  // namespace voxgrad::optim::detail
