#include "voxgrad/distributed/checkpoint.h"

#include "voxgrad/core/error.h"

namespace voxgrad::distributed {

void save_on_rank(const nn::StateDict& state, const std::string& path, const io::CheckpointMetadata& metadata,
                  int writer, const std::shared_ptr<ProcessGroup>& group) {
  ProcessGroup& g = group ? *group : *default_group();
  VOXGRAD_CHECK(writer >= 0 && writer < g.size(), "distributed::save_on_rank: writer {} is not a rank of a group of {}",
                writer, g.size());
  if (g.rank() == writer) io::save(state, path, metadata);
  g.barrier();
}

bool is_main_process() { return default_group()->rank() == 0; }

}  // namespace voxgrad::distributed
