// Flagship example: trains a 3-D U-Net to denoise procedurally generated volumes.
//
//   ./train_unet --epochs 6 --size 32 --out runs/unet
//   mpirun -np 2 ./train_unet --threads 1 --out runs/unet2   (data-parallel, docs/distributed.md)
//
// Under mpirun each rank trains on its own --batch-size volumes per step (the effective batch is
// world size x batch size) and gradients are averaged by DistributedDataParallel; rank 0 alone
// prints and writes files, and every rank resumes from the same resume.safetensors.
//
// Writes into --out: best.safetensors and last.safetensors (the model), resume.safetensors (everything
// --resume needs), loss.csv (the loss curve) and slices.png (middle slices: clean | noisy | denoised).
//
// Resuming is bit-exact: `--epochs 2` gives the same files as `--epochs 1` followed by `--resume
// <out> --epochs 2`, and a run killed at any moment continues from its last completed epoch as if it
// had never stopped (tests/examples/test_train_unet_resume.cpp). What makes it so:
//  - resume.safetensors holds the model, the optimizer's whole state (moments, step counts, learning
//    rates), the epoch and the best validation loss, and is written in one atomic save() after the
//    other files of the epoch, so it is the commit point: a crash leaves the previous epoch's
//    complete state, never a mix of two epochs;
//  - batches are indexed by the global step (make_batch is a pure function of seed and index), and
//    the process-wide generator is re-seeded from (seed, epoch) at the start of each epoch, so no
//    random stream depends on how many epochs this process has run;
//  - the options that shape the run (seed, size, batch size, steps per epoch, noise, channels, lr,
//    validation volumes) are stored in the file's metadata and a resume with different ones is
//    refused;
//  - loss.csv is rewritten on resume with only the rows of the completed epochs, so rows from an
//    interrupted epoch never appear twice.
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include <voxgrad/voxgrad.h>

#include "common/training.h"
#include "png.h"
#include "unet.h"
#include "volumes.h"

using namespace voxgrad;
namespace fs = std::filesystem;

namespace {

struct Config {
  int epochs = 6;
  std::int64_t batch_size = 4;
  std::int64_t size = 32;
  std::int64_t channels = 8;
  double lr = 2e-3;
  int threads = 2;
  std::uint64_t seed = 0;
  std::string out = "runs/unet";
  std::string resume;
  std::int64_t steps_per_epoch = 50;
  std::int64_t val_volumes = 8;
  double noise = 0.15;
};

constexpr const char* kCsvHeader = "epoch,step,train_loss,val_loss,val_psnr_noisy,val_psnr_denoised";
constexpr const char* kBestKey = "best_val_loss";
constexpr const char* kFreeOptions = "--epochs, --threads and --out";

// Held-out volumes come from another stream than the training ones.
constexpr std::uint64_t kValidationStream = 0x5A17;

struct Validation {
  double loss, psnr_noisy, psnr_denoised;
};

Validation validate(unet3d::UNet3d& model, const Config& cfg) {
  NoGradGuard no_grad;
  model.eval();
  double loss = 0, noisy = 0, denoised = 0;
  for (std::int64_t i = 0; i < cfg.val_volumes; ++i) {
    const unet3d::Sample s =
        unet3d::make_batch(kValidationStream + cfg.seed, static_cast<std::uint64_t>(i), 1, cfg.size, cfg.noise);
    const Tensor out = model.forward(s.noisy);
    loss += nn::functional::mse_loss(out, s.clean).item<double>();
    noisy += unet3d::psnr(s.noisy, s.clean);
    denoised += unet3d::psnr(out, s.clean);
  }
  model.train();
  const auto n = static_cast<double>(cfg.val_volumes);
  return {loss / n, noisy / n, denoised / n};
}

// The options that shape the run (everything except --epochs, --threads, --out and --resume), as
// the resume file's metadata; the number of ranks sets the effective batch, so it is one of them.
CheckpointMetadata run_options(const Config& cfg, int world) {
  return {{"seed", std::to_string(cfg.seed)},
          {"world_size", std::to_string(world)},
          {"size", std::to_string(cfg.size)},
          {"batch_size", std::to_string(cfg.batch_size)},
          {"steps_per_epoch", std::to_string(cfg.steps_per_epoch)},
          {"channels", std::to_string(cfg.channels)},
          {"val_volumes", std::to_string(cfg.val_volumes)},
          {"noise", fmt::format("{}", cfg.noise)},
          {"lr", fmt::format("{}", cfg.lr)}};
}

// The process-wide generator's seed for an epoch: a function of --seed and the epoch only, so a
// resumed run draws what the uninterrupted one drew (the U-Net uses no randomness while training
// today; dropout or augmentation added later would).
std::uint64_t epoch_seed(std::uint64_t seed, int epoch) {
  return (seed + 1) * 0x9E3779B97F4A7C15ULL ^ static_cast<std::uint64_t>(epoch) * 0xBF58476D1CE4E5B9ULL;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"Train a 3-D U-Net denoiser on procedurally generated volumes"};
  app.add_option("--epochs", cfg.epochs, "Training epochs")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", cfg.batch_size, "Volumes per step")->check(CLI::PositiveNumber);
  app.add_option("--size", cfg.size, "Edge length of the cubic volumes (any size, odd included)")
      ->check(CLI::Range(4, 256));
  app.add_option("--channels", cfg.channels, "Channels of the first U-Net level")->check(CLI::PositiveNumber);
  app.add_option("--lr", cfg.lr, "Adam learning rate")->check(CLI::PositiveNumber);
  app.add_option("--threads", cfg.threads, "Worker threads")->check(CLI::PositiveNumber);
  app.add_option("--seed", cfg.seed, "Seed for initialisation and data");
  app.add_option("--out", cfg.out, "Output directory");
  app.add_option("--resume", cfg.resume, "Directory of an earlier run to continue");
  app.add_option("--steps-per-epoch", cfg.steps_per_epoch, "Training steps per epoch")->check(CLI::PositiveNumber);
  app.add_option("--noise", cfg.noise, "Standard deviation of the added noise")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

#ifdef VOXGRAD_HAS_DISTRIBUTED
  distributed::InitGuard dist;  // under mpirun/srun: one rank per process; otherwise world size 1
  const int rank = distributed::rank(), world = distributed::world_size();
#else
  const int rank = 0, world = 1;
#endif
  const bool main_rank = rank == 0;  // prints and writes files
  set_num_threads(cfg.threads);
  manual_seed(cfg.seed);
  fs::create_directories(cfg.out);

  auto model = std::make_shared<unet3d::UNet3d>(cfg.channels);
  std::shared_ptr<nn::Module> trained = model;  // what the training step calls
#ifdef VOXGRAD_HAS_DISTRIBUTED
  if (world > 1) trained = std::make_shared<distributed::DistributedDataParallel>(model);
#endif
  optim::Adam optimizer(model->parameters(), optim::AdamOptions(cfg.lr));
  int first_epoch = 1;
  double best_loss = 1e300;
  if (!cfg.resume.empty()) {
    // Model, optimizer and progress are restored exactly; the data stream is indexed by step, so
    // the run continues as if it had never stopped.
    try {
      const examples::ResumeState r =
          examples::load_resume_state(cfg.resume, *model, optimizer, kBestKey, run_options(cfg, world), kFreeOptions);
      first_epoch = r.epoch + 1;
      best_loss = r.best;
    } catch (const Error& e) {
      std::cerr << e.what() << "\n";
      return 1;
    }
    if (main_rank) std::cout << "resumed from " << cfg.resume << " after epoch " << first_epoch - 1 << "\n";
  }
  if (main_rank) {
    std::cout << fmt::format("U-Net with {} parameters, volumes {}^3, batch {}, {} threads", model->num_parameters(),
                             cfg.size, cfg.batch_size, cfg.threads)
              << (world > 1 ? fmt::format(", {} ranks (effective batch {})\n", world, world * cfg.batch_size) : "\n");
  }

  const Validation before = validate(*model, cfg);
  if (main_rank) std::cout << fmt::format("held-out PSNR of the noisy input: {:.2f} dB\n", before.psnr_noisy);
  const std::string csv_path = cfg.out + "/loss.csv";
  if (!main_rank) {
    // Only rank 0 writes loss.csv.
  } else if (cfg.resume.empty()) {
    std::ofstream(csv_path, std::ios::trunc) << kCsvHeader << "\n";
  } else {
    try {
      examples::restore_loss_csv(cfg.resume + "/loss.csv", csv_path, first_epoch - 1, kCsvHeader, 6);
    } catch (const std::exception& e) {
      std::cerr << e.what() << "\n";
      return 1;
    }
  }
  std::ofstream csv;  // left closed on the other ranks: writes to it do nothing
  if (main_rank) csv.open(csv_path, std::ios::app);

  const auto start = std::chrono::steady_clock::now();
  for (int epoch = first_epoch; epoch <= cfg.epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    double running = 0;
    manual_seed(epoch_seed(cfg.seed, epoch));
    for (std::int64_t step = 1; step <= cfg.steps_per_epoch; ++step) {
      // Each rank takes its own slice of the global step's world * batch_size volumes.
      const auto index =
          static_cast<std::uint64_t>((((epoch - 1) * cfg.steps_per_epoch + step - 1) * world + rank) * cfg.batch_size);
      const unet3d::Sample batch = unet3d::make_batch(cfg.seed, index, cfg.batch_size, cfg.size, cfg.noise);
      optimizer.zero_grad();
      const Tensor loss = nn::functional::mse_loss(trained->forward(batch.noisy), batch.clean);
      loss.backward();
      optimizer.step();
      const double l = loss.item<double>();
      running = step == 1 ? l : 0.9 * running + 0.1 * l;
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
      if (main_rank)
        examples::progress(epoch, cfg.epochs, step, cfg.steps_per_epoch,
                           fmt::format("loss {:.5f}  {:.2f} steps/s", running, static_cast<double>(step) / secs));
      csv << fmt::format("{},{},{:.6f},,,\n", epoch, step, l);
    }
    const Validation v = validate(*model, cfg);
    if (main_rank)
      std::cout << fmt::format("  | val loss {:.5f}  PSNR {:.2f} dB -> {:.2f} dB ({:+.2f} dB)\n", v.loss, v.psnr_noisy,
                               v.psnr_denoised, v.psnr_denoised - v.psnr_noisy);
    csv << fmt::format("{},{},,{:.6f},{:.4f},{:.4f}\n", epoch, cfg.steps_per_epoch, v.loss, v.psnr_noisy,
                       v.psnr_denoised);
    csv.flush();
    // resume.safetensors last: it is the commit point. A crash before it leaves the previous epoch's
    // state, and redoing the epoch rewrites loss.csv's rows, best and last with identical bytes.
    // Every rank holds the same model and validation result; rank 0 writes.
    if (v.loss < best_loss) {
      best_loss = v.loss;
      if (main_rank) save(model->state_dict(), cfg.out + "/best.safetensors");
    }
    if (main_rank) {
      save(model->state_dict(), cfg.out + "/last.safetensors");
      examples::save_resume_state(cfg.out + "/resume.safetensors", *model, optimizer, epoch, kBestKey, best_loss,
                                  run_options(cfg, world));
    }
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (!main_rank) return 0;

  // Middle slices of a held-out volume: clean | noisy | denoised.
  {
    NoGradGuard no_grad;
    model->eval();
    const unet3d::Sample s = unet3d::make_batch(kValidationStream + cfg.seed, 0, 1, cfg.size, cfg.noise);
    const Tensor out = model->forward(s.noisy);
    const std::int64_t mid = cfg.size / 2;
    unet3d::write_slices_png(cfg.out + "/slices.png",
                             {s.clean.select(2, mid), s.noisy.select(2, mid), out.select(2, mid)}, 4);
  }
  const Validation after = validate(*model, cfg);
  std::cout << fmt::format("trained {} epochs in {:.1f} s; held-out PSNR {:.2f} dB -> {:.2f} dB ({:+.2f} dB)\n",
                           cfg.epochs, total, after.psnr_noisy, after.psnr_denoised,
                           after.psnr_denoised - after.psnr_noisy);
  std::cout << "wrote " << cfg.out << "/{best,last,resume}.safetensors, loss.csv, slices.png\n";
  return 0;
}
