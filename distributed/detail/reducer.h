#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "voxgrad/autograd/hooks.h"
#include "voxgrad/distributed/data_parallel.h"
#include "voxgrad/distributed/process_group.h"

namespace voxgrad::distributed {

/// The gradient synchroniser behind DistributedDataParallel (PyTorch's Reducer): owns the buckets,
/// the post-accumulate-grad hooks that fill them and the callback that finishes a backward pass.
class Reducer {
 public:
  /// Buckets `params` (named, in registration order) with about `bucket_bytes` bytes per bucket.
  Reducer(std::vector<std::pair<std::string, Tensor>> params, std::shared_ptr<ProcessGroup> group,
          std::int64_t bucket_bytes, bool find_unused);
  ~Reducer();
  Reducer(const Reducer&) = delete;
  Reducer& operator=(const Reducer&) = delete;

  /// Arms the hooks for the backward of `outputs` (after a forward that synchronises).
  void prepare(const std::vector<Tensor>& outputs);
  /// Bucket contents by parameter name.
  std::vector<std::vector<std::string>> bucket_names() const;
  /// Launch record of the last synchronised pass.
  const std::vector<BucketLaunch>& launches() const { return launches_; }

 private:
  struct Bucket {
    std::vector<std::size_t> params;    // indices into params_
    std::vector<std::int64_t> offsets;  // element offset of each in flat
    Tensor flat;                        // contiguous, one dtype
    std::size_t pending = 0;            // gradients still to arrive in this pass
    std::shared_ptr<Work> work;         // the all-reduce in flight
  };

  void on_grad_ready(std::size_t param);
  void mark_ready(std::size_t param, const Tensor& grad);
  void launch_ready_buckets();
  void wait_launched();
  void finalize();
  void reset_pass();

  std::vector<std::pair<std::string, Tensor>> params_;
  std::shared_ptr<ProcessGroup> group_;
  bool find_unused_;
  std::vector<Bucket> buckets_;
  std::vector<std::pair<std::size_t, std::size_t>> where_;  // param -> (bucket, slot)
  std::vector<char> ready_;
  std::vector<char> used_;  // got a gradient in this pass on this rank
  std::size_t ready_count_ = 0;
  std::size_t next_bucket_ = 0;  // buckets launch strictly in index order, the same on every rank
  bool armed_ = false;
  bool callback_queued_ = false;
  std::vector<BucketLaunch> launches_;
  std::vector<autograd::RemovableHandle> hooks_;
};

}  // namespace voxgrad::distributed
