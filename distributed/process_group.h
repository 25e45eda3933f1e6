#pragma once

#include <memory>
#include <string>
#include <vector>

#include "voxgrad/core/tensor.h"

namespace voxgrad::distributed {

/// The reduction of all_reduce.
enum class ReduceOp {
  Sum,      ///< Elementwise sum over ranks.
  Average,  ///< Sum divided by the number of ranks.
};

/// A pending collective (PyTorch's Work): the tensors it writes are valid after wait().
class Work {
 public:
  virtual ~Work() = default;
  /// True once the operation has finished (also drives its progress).
  virtual bool is_completed() = 0;
  /// Blocks until the operation has finished. Past the job's timeout it aborts the job with a
  /// message naming the operation (the other ranks are presumed dead or stuck).
  virtual void wait() = 0;
};

/// A group of processes that run collectives together, in the same order on every rank. The seam
/// for other backends (Gloo, NCCL); voxgrad has an MPI one and a single-process one.
/// Tensors must be contiguous, float32 or float64 (all_gather and broadcast also int64), with the same
/// shape and dtype on every rank.
class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  /// This process's rank in the group.
  virtual int rank() const = 0;
  /// Number of processes in the group.
  virtual int size() const = 0;
  /// Backend name ("mpi", "local").
  virtual std::string backend() const = 0;
  /// Reduces `tensor` over the group, in place, without blocking; wait on the result.
  virtual std::shared_ptr<Work> all_reduce_async(Tensor& tensor, ReduceOp op = ReduceOp::Sum) = 0;
  /// Copies rank `root`'s `tensor` into every rank's `tensor`, without blocking.
  virtual std::shared_ptr<Work> broadcast_async(Tensor& tensor, int root = 0) = 0;
  /// Fills `output` (shape [size(), *input.sizes()], contiguous) with every rank's `input`, by rank.
  virtual std::shared_ptr<Work> all_gather_async(Tensor& output, const Tensor& input) = 0;
  /// Starts a barrier; wait() returns once every rank has started it.
  virtual std::shared_ptr<Work> barrier_async() = 0;

  /// all_reduce_async(), waited for.
  void all_reduce(Tensor& tensor, ReduceOp op = ReduceOp::Sum) { all_reduce_async(tensor, op)->wait(); }
  /// broadcast_async(), waited for.
  void broadcast(Tensor& tensor, int root = 0) { broadcast_async(tensor, root)->wait(); }
  /// Every rank's `input`, stacked along a new leading dimension, by rank.
  Tensor all_gather(const Tensor& input);
  /// barrier_async(), waited for.
  void barrier() { barrier_async()->wait(); }
};

/// The process group of all ranks: MPI after init() under a launcher, else a single-process group.
std::shared_ptr<ProcessGroup> default_group();

/// A group of one process: every collective is the identity and completes at once.
std::shared_ptr<ProcessGroup> make_local_group();

}  // namespace voxgrad::distributed
