#pragma once

#include <string>

#include "voxgrad/distributed/process_group.h"
#include "voxgrad/io/checkpoint.h"

namespace voxgrad::distributed {

/// Saves `state` from one rank only (`writer`, default 0; voxgrad::save writes atomically: a temporary
/// file renamed over the target), then waits at a barrier so that on return every rank may read the
/// file (on a shared file system). Collective: every rank of `group` (null: default_group()) calls it.
/// Resuming needs nothing special: every rank loads the same file.
void save_on_rank(const nn::StateDict& state, const std::string& path, const io::CheckpointMetadata& metadata = {},
                  int writer = 0, const std::shared_ptr<ProcessGroup>& group = nullptr);

/// True on the rank that writes files and prints progress (rank 0 of the default group).
bool is_main_process();

}  // namespace voxgrad::distributed
