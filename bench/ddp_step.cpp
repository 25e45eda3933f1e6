// Data-parallel U-Net step throughput and how much of the gradient all-reduce backward hides.
//
//   ./voxgrad_bench_ddp --threads 2                               # 1 rank x 2 threads
//   mpirun -np 2 ./voxgrad_bench_ddp --threads 1                  # 2 ranks x 1 thread
//   options: --steps 10 --size 32 --channels 8 --batch 4 --bucket-mb 25
//
// The global batch (--batch, default 4) is split evenly over the ranks. Prints, on rank 0:
//  - training steps per second (forward + backward + Adam, the median of --steps timed steps);
//  - backward alone (inside no_sync: no communication), backward with the bucketed all-reduce, and
//    one blocking all-reduce of all gradients by itself; hidden = 1 - (sync - alone) / all-reduce.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <voxgrad/voxgrad.h>

#include "unet3d/unet.h"
#include "unet3d/volumes.h"

using namespace voxgrad;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, steps = 10;
  double bucket_mb = 25.0;
  std::int64_t size = 32, channels = 8, batch = 4;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const long v = std::strtol(argv[i + 1], nullptr, 10);
    if (k == "--threads")
      threads = static_cast<int>(v);
    else if (k == "--steps")
      steps = static_cast<int>(v);
    else if (k == "--size")
      size = v;
    else if (k == "--channels")
      channels = v;
    else if (k == "--batch")
      batch = v;
    else if (k == "--bucket-mb")
      bucket_mb = std::strtod(argv[i + 1], nullptr);
  }
  distributed::InitGuard dist;
  set_num_threads(threads);
  const int rank = distributed::rank(), world = distributed::world_size();
  if (batch % world != 0) {
    if (rank == 0) std::cerr << "--batch must be a multiple of the number of ranks\n";
    return 2;
  }
  const std::int64_t per_rank = batch / world;
  manual_seed(1);
  auto model = std::make_shared<unet3d::UNet3d>(channels);
  distributed::DistributedDataParallel ddp(model,
                                           distributed::DistributedDataParallelOptions().bucket_cap_mb(bucket_mb));
  optim::Adam opt(model->parameters());
  const unet3d::Sample b = unet3d::make_batch(3, static_cast<std::uint64_t>(rank * per_rank), per_rank, size, 0.1);
  auto group = ddp.process_group();

  std::vector<double> step_s, alone_s, sync_s, reduce_s;
  for (int s = 0; s <= steps; ++s) {  // step 0 warms up
    group->barrier();
    auto t = Clock::now();
    opt.zero_grad();
    nn::functional::mse_loss(ddp.forward(b.noisy), b.clean).backward();
    opt.step();
    if (s > 0) step_s.push_back(seconds_since(t));

    // Backward alone (no communication) vs with the all-reduce, on the same forward.
    opt.zero_grad();
    Tensor loss;
    {
      auto no_sync = ddp.no_sync();
      loss = nn::functional::mse_loss(ddp.forward(b.noisy), b.clean);
      group->barrier();
      t = Clock::now();
      loss.backward();
      if (s > 0) alone_s.push_back(seconds_since(t));
    }
    opt.zero_grad();
    loss = nn::functional::mse_loss(ddp.forward(b.noisy), b.clean);
    group->barrier();
    t = Clock::now();
    loss.backward();
    if (s > 0) sync_s.push_back(seconds_since(t));

    // The same bytes in one blocking all-reduce.
    std::vector<Tensor> flat;
    for (const Tensor& p : model->parameters()) flat.push_back(p.grad().reshape({-1}));
    Tensor all = cat(flat, 0).contiguous();
    group->barrier();
    t = Clock::now();
    group->all_reduce(all, distributed::ReduceOp::Average);
    if (s > 0) reduce_s.push_back(seconds_since(t));
  }
  if (rank == 0) {
    const double alone = median(alone_s), sync = median(sync_s), reduce = median(reduce_s);
    std::cout << fmt::format(
        "{} rank(s) x {} thread(s), U-Net base {} on {}^3, global batch {}: {:.2f} steps/s ({:.1f} ms/step)\n"
        "backward alone {:.1f} ms, backward + all-reduce {:.1f} ms, all-reduce of {} parameters alone {:.2f} ms",
        world, threads, channels, size, batch, 1.0 / median(step_s), 1e3 * median(step_s), 1e3 * alone, 1e3 * sync,
        model->num_parameters(), 1e3 * reduce);
    if (world > 1 && reduce > 0) {
      std::cout << fmt::format(", hidden {:.0f}%", 100.0 * std::clamp(1.0 - (sync - alone) / reduce, 0.0, 1.0));
    }
    std::cout << "\n";
  }
  return 0;
}
