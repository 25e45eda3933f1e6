// The MPI backend of ProcessGroup: non-blocking MPI collectives (MPI_Iallreduce, MPI_Ibcast,
// MPI_Iallgather, MPI_Ibarrier) whose wait() polls MPI_Test under the process-wide MPI lock, so that
// waiting also drives progress, and gives up after the job's timeout by aborting the whole job.
#include <thread>

#include "voxgrad/core/error.h"
#include "voxgrad/core/tensor_impl.h"
#include "voxgrad/distributed/detail/mpi.h"
#include "voxgrad/distributed/environment.h"

namespace voxgrad::distributed::detail {

namespace {

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::Float32: return MPI_FLOAT;
    case DType::Float64: return MPI_DOUBLE;
    case DType::Int64: return MPI_INT64_T;
  }
  return MPI_DATATYPE_NULL;
}

void check_tensor(const Tensor& t, const char* op, bool floating_only) {
  VOXGRAD_CHECK(t.defined(), "ProcessGroup::{}: the tensor is undefined", op);
  VOXGRAD_CHECK(t.is_contiguous(), "ProcessGroup::{}: the tensor (shape {}) must be contiguous", op,
                shape_str(t.sizes()));
  VOXGRAD_CHECK(!floating_only || t.dtype() != kInt64,
                "ProcessGroup::{}: the tensor must be float32 or float64, not {}", op, t.dtype());
}

class MpiWork final : public Work {
 public:
  // `keep` holds the buffers alive until completion; `divide` (> 1) averages a sum on completion.
  MpiWork(MPI_Request request, std::string what, std::vector<Tensor> keep, std::chrono::milliseconds timeout,
          int divide = 1)
      : request_(request), what_(std::move(what)), keep_(std::move(keep)), timeout_(timeout), divide_(divide) {}

  ~MpiWork() override {
    // Never leave a request behind: an unwaited Work still completes (the buffers must stay valid).
    if (!done_ && !std::uncaught_exceptions()) wait();
  }

  bool is_completed() override {
    if (done_) return true;
    int flag = 0;
    {
      std::lock_guard<std::mutex> lock(mpi_mutex());
      check_mpi(MPI_Test(&request_, &flag, MPI_STATUS_IGNORE), what_.c_str());
    }
    if (flag) finish();
    return done_;
  }

  void wait() override {
    const auto start = std::chrono::steady_clock::now();
    auto pause = std::chrono::microseconds(20);
    while (!is_completed()) {
      if (std::chrono::steady_clock::now() - start > timeout_) {
        abort_job(fmt::format("{} did not complete within {:.1f} s (another rank failed, exited or is not calling "
                              "the same collectives; raise the limit with VOXGRAD_DIST_TIMEOUT=<seconds>)",
                              what_, std::chrono::duration<double>(timeout_).count())
                      .c_str());
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
  }

 private:
  void finish() {
    done_ = true;
    if (divide_ > 1) keep_[0].div_(static_cast<double>(divide_));
  }

  MPI_Request request_;
  std::string what_;
  std::vector<Tensor> keep_;
  std::chrono::milliseconds timeout_;
  int divide_;
  bool done_ = false;
};

class MpiProcessGroup final : public ProcessGroup {
 public:
  MpiProcessGroup(MPI_Comm comm, std::chrono::milliseconds timeout) : comm_(comm), timeout_(timeout) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  std::shared_ptr<Work> all_reduce_async(Tensor& tensor, ReduceOp op) override {
    check_tensor(tensor, "all_reduce", true);
    MPI_Request req;
    {
      std::lock_guard<std::mutex> lock(mpi_mutex());
      check_mpi(MPI_Iallreduce(MPI_IN_PLACE, tensor.raw_data_ptr(), static_cast<int>(tensor.numel()),
                               mpi_type(tensor.dtype()), MPI_SUM, comm_, &req),
                "MPI_Iallreduce");
    }
    return std::make_shared<MpiWork>(req, describe("all_reduce", tensor), std::vector<Tensor>{tensor}, timeout_,
                                     op == ReduceOp::Average ? size_ : 1);
  }

  std::shared_ptr<Work> broadcast_async(Tensor& tensor, int root) override {
    check_tensor(tensor, "broadcast", false);
    VOXGRAD_CHECK(root >= 0 && root < size_, "ProcessGroup::broadcast: root {} is not a rank of a group of {}", root,
                  size_);
    MPI_Request req;
    {
      std::lock_guard<std::mutex> lock(mpi_mutex());
      check_mpi(MPI_Ibcast(tensor.raw_data_ptr(), static_cast<int>(tensor.numel()), mpi_type(tensor.dtype()), root,
                           comm_, &req),
                "MPI_Ibcast");
    }
    return std::make_shared<MpiWork>(req, describe("broadcast", tensor), std::vector<Tensor>{tensor}, timeout_);
  }

  std::shared_ptr<Work> all_gather_async(Tensor& output, const Tensor& input) override {
    check_tensor(input, "all_gather", false);
    check_tensor(output, "all_gather", false);
    Shape expected{size_};
    expected.insert(expected.end(), input.sizes().begin(), input.sizes().end());
    VOXGRAD_CHECK(output.sizes() == expected && output.dtype() == input.dtype(),
                  "ProcessGroup::all_gather: output must have shape {} and dtype {}, got {} and {}",
                  shape_str(expected), input.dtype(), shape_str(output.sizes()), output.dtype());
    MPI_Request req;
    {
      std::lock_guard<std::mutex> lock(mpi_mutex());
      const int n = static_cast<int>(input.numel());
      check_mpi(MPI_Iallgather(input.raw_data_ptr(), n, mpi_type(input.dtype()), output.raw_data_ptr(), n,
                               mpi_type(input.dtype()), comm_, &req),
                "MPI_Iallgather");
    }
    return std::make_shared<MpiWork>(req, describe("all_gather", input), std::vector<Tensor>{output, input}, timeout_);
  }

  std::shared_ptr<Work> barrier_async() override {
    MPI_Request req;
    {
      std::lock_guard<std::mutex> lock(mpi_mutex());
      check_mpi(MPI_Ibarrier(comm_, &req), "MPI_Ibarrier");
    }
    return std::make_shared<MpiWork>(req, fmt::format("rank {}: barrier", rank_), std::vector<Tensor>{}, timeout_);
  }

 private:
  std::string describe(const char* op, const Tensor& t) const {
    return fmt::format("rank {}: {} of a {} tensor of shape {}", rank_, op, t.dtype(), shape_str(t.sizes()));
  }

  MPI_Comm comm_;
  std::chrono::milliseconds timeout_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

std::shared_ptr<ProcessGroup> make_mpi_group(MPI_Comm comm, std::chrono::milliseconds timeout) {
  return std::make_shared<MpiProcessGroup>(comm, timeout);
}

}  // namespace voxgrad::distributed::detail
