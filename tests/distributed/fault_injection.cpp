// A 2-rank DDP training loop in which the last rank fails in the middle of step 2, the way given on
// the command line; tests/distributed/expect_job_failure.cmake checks that the whole job then stops
// within a bounded time with a message saying why.
//   throw: an exception escapes main on the failing rank (std::terminate -> MPI_Abort)
//   exit:  the failing rank calls std::exit(3) without finalizing (mpirun stops the job)
//   exit0: the same with exit status 0 (mpirun still notices a rank that never finalized)
//   stall: the failing rank stops taking part in collectives (the others' watchdog aborts the job)
//   caught: as throw, but main catches the exception outside the InitGuard's scope (the guard aborts)
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <voxgrad/voxgrad.h>

#include "unet3d/unet.h"
#include "unet3d/volumes.h"

using namespace voxgrad;

namespace {

int train(const std::string& mode) {
  distributed::InitGuard dist;
  set_num_threads(1);
  const int rank = distributed::rank();
  const bool failing = rank == distributed::world_size() - 1;
  manual_seed(3);
  auto model = std::make_shared<unet3d::UNet3d>(2);
  distributed::DistributedDataParallel ddp(model);
  optim::Adam opt(model->parameters());
  for (int step = 0; step < 4; ++step) {
    const unet3d::Sample b = unet3d::make_batch(1, static_cast<std::uint64_t>(step * 8 + rank), 1, 8, 0.1);
    opt.zero_grad();
    const Tensor loss = nn::functional::mse_loss(ddp.forward(b.noisy), b.clean);
    if (failing && step == 2) {
      if (mode == "throw" || mode == "caught") throw Error("fault_injection: injected failure in step 2");
      if (mode == "exit" || mode == "exit0") {
        std::cerr << "fault_injection: rank " << rank << " exits in step 2\n";
        std::exit(mode == "exit" ? 3 : 0);
      }
      std::cerr << "fault_injection: rank " << rank << " stalls in step 2\n";
      std::this_thread::sleep_for(std::chrono::minutes(10));
    }
    loss.backward();
    opt.step();
    if (distributed::is_main_process()) std::cout << "step " << step << " loss " << loss.item<double>() << std::endl;
  }
  std::cout << "rank " << rank << " finished all steps (the failure was not noticed)" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string modes[] = {"throw", "exit", "exit0", "stall", "caught"};
  if (argc != 2 || std::find(std::begin(modes), std::end(modes), argv[1]) == std::end(modes)) {
    std::cerr << "usage: fault_injection throw|exit|exit0|stall|caught\n";
    return 2;
  }
  const std::string mode = argv[1];
  if (mode != "caught") return train(mode);
  try {
    return train(mode);
  } catch (const std::exception& e) {
    std::cerr << "fault_injection: caught " << e.what() << " (this line must not appear)\n";
    return 1;
  }
}
