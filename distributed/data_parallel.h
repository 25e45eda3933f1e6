#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "voxgrad/distributed/process_group.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/module.h"

namespace voxgrad::distributed {

/// Options of DistributedDataParallel (PyTorch's constructor arguments of the same names).
struct DistributedDataParallelOptions {
  /// Gradients are all-reduced in buckets of about this many MiB (a bucket holds whole parameters of
  /// one dtype; a parameter larger than the cap gets a bucket of its own).
  VOXGRAD_ARG(double, bucket_cap_mb) = 25.0;
  /// Find, after each forward, the parameters the loss cannot reach and treat their gradient as zero
  /// (costs a graph traversal per step). Without it, a parameter that gets no gradient is an error.
  VOXGRAD_ARG(bool, find_unused_parameters) = false;
  /// Copy rank 0's buffers (e.g. BatchNorm running statistics) to every rank before each forward.
  VOXGRAD_ARG(bool, broadcast_buffers) = true;
  /// The group to train over; null means default_group().
  VOXGRAD_ARG(std::shared_ptr<ProcessGroup>, process_group);
};

/// What happened to one bucket in the last synchronised backward pass (for tests and tuning).
struct BucketLaunch {
  std::int64_t bucket = 0;        ///< Bucket index (0 = the last-registered parameters).
  std::int64_t params_ready = 0;  ///< Parameters whose gradient had arrived when it was launched.
  std::int64_t params_total = 0;  ///< Parameters taking part in the pass.
  std::int64_t bytes = 0;         ///< Size of the bucket.
};

class Reducer;

/// Data-parallel training, as PyTorch's DistributedDataParallel: wraps a module whose replicas on every
/// rank of the group see different data, and makes backward() leave every rank with the gradients
/// averaged over the ranks, so each optimizer step is identical everywhere.
///
/// - Construction checks that every rank has the same parameter names, shapes and dtypes (an error
///   names the first difference and the ranks involved, on every rank) and copies rank 0's parameters
///   and buffers to all ranks.
/// - During backward, gradients are copied into buckets (in reverse order of registration, about the
///   order backward produces them) and each bucket's all-reduce starts as soon as its last gradient has
///   been accumulated, overlapping the communication with the rest of backward. Buckets are launched
///   in index order on every rank, and each is one MPI all-reduce of a fixed layout, so results do not
///   depend on timing. backward() returns once every bucket has been reduced and averaged.
/// - no_sync() skips the communication for gradient accumulation over micro-batches.
/// - The wrapped module's forward is called through forward(); state_dict() names entries
///   "module.<name>", as in PyTorch; save `module()->state_dict()` for a checkpoint that loads into a
///   plain model.
class DistributedDataParallel : public nn::Module {
 public:
  /// Wraps `module` (collective: every rank of the group must construct it).
  explicit DistributedDataParallel(std::shared_ptr<nn::Module> module,
                                   DistributedDataParallelOptions options = DistributedDataParallelOptions());
  ~DistributedDataParallel() override;

  /// The wrapped module.
  const std::shared_ptr<nn::Module>& module() const { return module_; }
  /// The group gradients are averaged over.
  const std::shared_ptr<ProcessGroup>& process_group() const { return group_; }
  /// Runs the wrapped module's forward and prepares the next backward to synchronise gradients.
  Tensor forward(const Tensor& input) override;
  /// For a module whose forward takes other arguments: call before its forward (broadcasts buffers)...
  void pre_forward();
  /// ...and after it with its outputs (arms the gradient hooks; finds unused parameters if asked).
  void post_forward(const std::vector<Tensor>& outputs);

  /// While a NoSyncGuard lives, backward passes only accumulate local gradients; the first backward
  /// after it synchronises the sum of all of them (PyTorch's `with ddp.no_sync():`).
  class NoSyncGuard {
   public:
    /// Disables synchronisation of `ddp` until destruction.
    explicit NoSyncGuard(DistributedDataParallel& ddp);
    ~NoSyncGuard();
    NoSyncGuard(const NoSyncGuard&) = delete;
    NoSyncGuard& operator=(const NoSyncGuard&) = delete;

   private:
    DistributedDataParallel& ddp_;
    bool previous_;
  };
  /// A guard that disables gradient synchronisation while it lives.
  [[nodiscard]] NoSyncGuard no_sync() { return NoSyncGuard(*this); }

  /// The buckets' parameter names, bucket by bucket (fixed at construction).
  std::vector<std::vector<std::string>> bucket_parameter_names() const;
  /// The launches of the last synchronised backward pass, in launch order.
  std::vector<BucketLaunch> last_bucket_launches() const;

 private:
  std::shared_ptr<nn::Module> module_;
  std::shared_ptr<ProcessGroup> group_;
  DistributedDataParallelOptions options_;
  std::unique_ptr<Reducer> reducer_;
  bool sync_ = true;
};

}  // namespace voxgrad::distributed
