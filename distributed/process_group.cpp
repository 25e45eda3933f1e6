#include "voxgrad/distributed/process_group.h"

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"

namespace voxgrad::distributed {

namespace {

class DoneWork final : public Work {
 public:
  bool is_completed() override { return true; }
  void wait() override {}
};

// World size 1: a sum or average over one rank is the tensor itself, a broadcast or barrier is a no-op.
class LocalProcessGroup final : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }
  std::shared_ptr<Work> all_reduce_async(Tensor& tensor, ReduceOp) override {
    VOXGRAD_CHECK(tensor.defined() && tensor.dtype() != kInt64,
                  "ProcessGroup::all_reduce: the tensor must be a defined float32 or float64 tensor");
    return done();
  }
  std::shared_ptr<Work> broadcast_async(Tensor& tensor, int root) override {
    VOXGRAD_CHECK(tensor.defined(), "ProcessGroup::broadcast: the tensor is undefined");
    VOXGRAD_CHECK(root == 0, "ProcessGroup::broadcast: root {} is not a rank of a group of 1", root);
    return done();
  }
  std::shared_ptr<Work> all_gather_async(Tensor& output, const Tensor& input) override {
    VOXGRAD_CHECK(input.defined() && output.defined() && output.numel() == input.numel(),
                  "ProcessGroup::all_gather: output must hold one copy of the input");
    output.view(input.sizes()).copy_(input);
    return done();
  }
  std::shared_ptr<Work> barrier_async() override { return done(); }

 private:
  static std::shared_ptr<Work> done() { return std::make_shared<DoneWork>(); }
};

}  // namespace

Tensor ProcessGroup::all_gather(const Tensor& input) {
  VOXGRAD_CHECK(input.defined(), "ProcessGroup::all_gather: the input is undefined");
  Shape sizes{size()};
  sizes.insert(sizes.end(), input.sizes().begin(), input.sizes().end());
  Tensor out = empty(sizes, input.dtype());
  all_gather_async(out, input.contiguous())->wait();
  return out;
}

std::shared_ptr<ProcessGroup> make_local_group() { return std::make_shared<LocalProcessGroup>(); }

}  // namespace voxgrad::distributed
