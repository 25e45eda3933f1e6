// Flagship example: brain extraction on a real T1 MRI. Trains a 3-D U-Net to segment the brain of
// the Colin27 template that Debian's mricron-data ships (ch2.nii.gz, 181×217×181 at 1 mm; the mask is
// ch2bet.nii.gz > 0), from patches of one part of the volume only, and validates by sliding-window
// inference over a held-out slab that no training patch touches.
//
//   ./train_brain --out runs/brain
//   mpirun -np 2 ./train_brain --threads 1 --out runs/brain2   (data-parallel, docs/distributed.md)
//
// The volume is resampled to --spacing mm (2 by default: 91×109×91) for training and inference; the
// predicted probabilities are resampled back onto the file's 1 mm grid (trilinear) and thresholded at
// 0.5, and Dice is measured there, against the original mask. The held-out slab is the subject's right
// lateral part, x voxels >= 124 of the file (world x >= +34 mm); training patches come from x voxels
// < 2 * train_end - 1, a margin of more than half a patch away (printed at start).
//
// Writes into --out: loss.csv (training loss per step, held-out Dice per epoch), best.safetensors (the
// model of the best held-out Dice), last.safetensors, resume.safetensors (for --resume, bit-exact as in
// train_unet), mask.nii.gz (the predicted brain mask on the input's grid with its affine) and
// slices.png (axial, coronal and sagittal slices with the predicted mask outlined in red and the start
// of the held-out slab in cyan).
//
// Under mpirun each rank trains on its own --batch-size patches per step, DistributedDataParallel
// averages the gradients, and the effective batch is world size x batch size: an epoch then has
// world size x steps x batch patches, and rank r takes patches r, r + world, r + 2 world, ...
// (DistributedSampler), so the ranks' shards are disjoint and step k of all ranks together trains on
// the patches a single process with batch world x batch would take at its step k. The learning rate is
// not scaled. Every rank validates (the replicas are identical, so they compute the same Dice, and no
// rank waits for another); rank 0 alone prints and writes files, and every rank resumes from the same
// resume.safetensors (the number of ranks is one of its run options). One process runs exactly as
// without MPI.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include <voxgrad/voxgrad.h>

#include "brain_data.h"
#include "common/training.h"
#include "inference.h"
#include "overlay_png.h"
#include "unet3d/unet.h"

using namespace voxgrad;
namespace fs = std::filesystem;

namespace {

struct Config {
  std::string image = "/usr/share/mricron/templates/ch2.nii.gz";
  std::string mask = "/usr/share/mricron/templates/ch2bet.nii.gz";
  std::string out = "runs/brain";
  std::string resume;
  int epochs = 24;
  std::int64_t steps_per_epoch = 50;
  std::int64_t batch_size = 4;
  std::int64_t patch = 24;
  std::int64_t channels = 8;
  double spacing = 2.0;
  double lr = 1e-3;
  int decay_epochs = 24;
  double slab_mm = 124;
  int threads = 2;
  std::int64_t workers = 1;
  std::uint64_t seed = 0;
  std::int64_t cache_mb = 512;
  std::int64_t bench_loader = 0;
};

constexpr const char* kCsvHeader = "epoch,step,train_loss,heldout_dice";
constexpr const char* kBestKey = "best_heldout_dice";
constexpr const char* kFreeOptions = "--epochs, --threads, --workers, --cache-mb and --out";

// The options that shape the run, as the resume file's metadata; the number of ranks sets the
// effective batch and the patches of an epoch, so it is one of them.
voxgrad::CheckpointMetadata run_options(const Config& cfg, int world) {
  return {{"seed", std::to_string(cfg.seed)},
          {"world_size", std::to_string(world)},
          {"steps_per_epoch", std::to_string(cfg.steps_per_epoch)},
          {"batch_size", std::to_string(cfg.batch_size)},
          {"patch", std::to_string(cfg.patch)},
          {"channels", std::to_string(cfg.channels)},
          {"spacing", fmt::format("{}", cfg.spacing)},
          {"lr", fmt::format("{}", cfg.lr)},
          {"decay_epochs", std::to_string(cfg.decay_epochs)},
          {"slab_mm", fmt::format("{}", cfg.slab_mm)},
          {"image", cfg.image},
          {"mask", cfg.mask}};
}

// Cosine decay from lr to lr / 20 over decay_epochs epochs, then constant: a pure function of the
// epoch, so a resumed run (and a run extended with a larger --epochs) follows the same schedule.
double epoch_lr(const Config& cfg, int epoch) {
  const double t = std::min(1.0, static_cast<double>(epoch - 1) / cfg.decay_epochs);
  const double floor = cfg.lr / 20;
  return floor + (cfg.lr - floor) * 0.5 * (1 + std::cos(M_PI * t));
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Patches per second the loader delivers with 0, 1 and 2 workers (the cache already warm).
void bench_loader(const std::shared_ptr<const data::Dataset>& patches, const Config& cfg) {
  for (const std::int64_t workers : {0, 1, 2}) {
    data::DataLoader loader(patches, data::DataLoaderOptions(cfg.batch_size).workers(workers).seed(cfg.seed));
    const auto start = std::chrono::steady_clock::now();
    std::int64_t n = 0;
    data::Epoch epoch = loader.epoch(0);
    while (auto batch = epoch.next()) n += batch->data.at("image").size(0);
    std::cout << fmt::format("data loader, {} worker(s): {} patches of {}^3 in {:.2f} s = {:.1f} patches/s\n", workers,
                             n, cfg.patch, seconds_since(start), static_cast<double>(n) / seconds_since(start));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"Train a 3-D U-Net to extract the brain from a T1 MRI (Colin27 from mricron-data by default)"};
  app.add_option("--image", cfg.image, "T1 volume (.nii or .nii.gz)");
  app.add_option("--mask", cfg.mask, "Brain-extracted volume or mask on the same grid (brain = value > 0)");
  app.add_option("--out", cfg.out, "Output directory");
  app.add_option("--resume", cfg.resume, "Directory of an earlier run to continue");
  app.add_option("--epochs", cfg.epochs, "Training epochs")->check(CLI::PositiveNumber);
  app.add_option("--steps-per-epoch", cfg.steps_per_epoch, "Training steps per epoch")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", cfg.batch_size, "Patches per step")->check(CLI::PositiveNumber);
  app.add_option("--patch", cfg.patch, "Edge of the cubic training patches and inference windows, in voxels")
      ->check(CLI::Range(4, 128));
  app.add_option("--channels", cfg.channels, "Channels of the first U-Net level")->check(CLI::PositiveNumber);
  app.add_option("--spacing", cfg.spacing, "Voxel size in mm of the grid the network works on")
      ->check(CLI::PositiveNumber);
  app.add_option("--lr", cfg.lr, "Adam learning rate of the first epoch")->check(CLI::PositiveNumber);
  app.add_option("--decay-epochs", cfg.decay_epochs, "Epochs of the cosine decay of the learning rate to lr / 20")
      ->check(CLI::PositiveNumber);
  app.add_option("--slab-mm", cfg.slab_mm, "The held-out slab starts this many mm into the x axis")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", cfg.threads, "Threads for the tensor kernels")->check(CLI::PositiveNumber);
  app.add_option("--workers", cfg.workers, "Data-loader worker threads (0: load on the training thread)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", cfg.seed, "Seed for initialisation, patch sampling and augmentation");
  app.add_option("--cache-mb", cfg.cache_mb, "Memory bound of the decoded-volume cache")->check(CLI::PositiveNumber);
  app.add_option("--bench-loader", cfg.bench_loader,
                 "Only measure the data loader: this many patches with 0, 1 and 2 workers, then exit")
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);

#ifdef VOXGRAD_HAS_DISTRIBUTED
  distributed::InitGuard dist;  // under mpirun/srun: one rank per process; otherwise world size 1
  const int rank = distributed::rank(), world = distributed::world_size();
#else
  const int rank = 0, world = 1;
#endif
  const bool main_rank = rank == 0;  // prints and writes files
  try {
    set_num_threads(cfg.threads);
    manual_seed(cfg.seed);
    if (main_rank) fs::create_directories(cfg.out);
    const auto start = std::chrono::steady_clock::now();

    // The pair, preprocessed once and cached; the split along x.
    const auto volume =
        brain::preprocessed_pair(cfg.image, cfg.mask, cfg.spacing, static_cast<std::size_t>(cfg.cache_mb) << 20);
    const data::Example full = volume->get(0);
    const Tensor& image = full.at("image");
    const Tensor& native_label = full.at("label_native");
    const brain::Split split = brain::make_split(native_label.size(3), 1.0, cfg.spacing, cfg.patch, cfg.slab_mm);
    if (main_rank)
      std::cout << fmt::format(
          "{}: {} voxels, resampled to {} mm: {}; training patches from x < {} (training grid), held-out slab "
          "x >= {} (x >= {} on the file's grid), margin {:.0f} mm; loaded in {:.1f} s\n",
          cfg.image, shape_str(native_label.sizes()), cfg.spacing, shape_str(image.sizes()), split.train_end,
          split.slab_start, split.native_slab_start, split.margin_mm, seconds_since(start));

    // All ranks' patches of an epoch: patch i is a function of (seed, epoch, i) whichever rank builds it.
    const std::int64_t patches_per_epoch = world * cfg.steps_per_epoch * cfg.batch_size;
    const auto patches = brain::training_patches(volume, split, cfg.patch, patches_per_epoch);
    if (cfg.bench_loader > 0) {
      if (main_rank) bench_loader(brain::training_patches(volume, split, cfg.patch, cfg.bench_loader), cfg);
      return 0;
    }
    data::DataLoader loader(patches, data::DataLoaderOptions(cfg.batch_size).workers(cfg.workers).seed(cfg.seed));

    auto model = std::make_shared<unet3d::UNet3d>(cfg.channels, /*residual=*/false);
    std::shared_ptr<nn::Module> trained = model;  // what the training step calls
#ifdef VOXGRAD_HAS_DISTRIBUTED
    // This rank's patches: r, r + world, ... of the epoch's, in order (no shuffle: the patches are
    // random already), so the k-th batch of all ranks together is patches [k, k + 1) x world x batch.
    std::optional<distributed::DistributedSampler> sampler;
    if (world > 1) {
      trained = std::make_shared<distributed::DistributedDataParallel>(model);
      sampler.emplace(patches_per_epoch, distributed::DistributedSamplerOptions().shuffle(false));
    }
#endif
    // This rank's batches of an epoch: all of them in one process.
    const auto epoch_batches = [&](int epoch) {
#ifdef VOXGRAD_HAS_DISTRIBUTED
      if (sampler) {
        sampler->set_epoch(epoch);
        return loader.epoch(epoch, sampler->indices());
      }
#endif
      return loader.epoch(epoch);
    };
    optim::Adam optimizer(model->parameters(), optim::AdamOptions(cfg.lr));
    int first_epoch = 1;
    double best = -1;
    const std::string csv_path = cfg.out + "/loss.csv";
    if (!cfg.resume.empty()) {
      // Every rank loads the same file; rank 0 alone restores loss.csv and the best model.
      const examples::ResumeState r =
          examples::load_resume_state(cfg.resume, *model, optimizer, kBestKey, run_options(cfg, world), kFreeOptions);
      first_epoch = r.epoch + 1;
      best = r.best;
      if (main_rank) examples::restore_loss_csv(cfg.resume + "/loss.csv", csv_path, r.epoch, kCsvHeader, 4);
      // The best model so far travels with the run (a resume into another --out directory keeps it).
      if (main_rank && (!fs::exists(cfg.out + "/best.safetensors") ||
                        !fs::equivalent(cfg.resume + "/best.safetensors", cfg.out + "/best.safetensors"))) {
        fs::copy_file(cfg.resume + "/best.safetensors", cfg.out + "/best.safetensors",
                      fs::copy_options::overwrite_existing);
      }
      if (main_rank) std::cout << "resumed from " << cfg.resume << " after epoch " << r.epoch << "\n";
    } else if (main_rank) {
      std::ofstream(csv_path, std::ios::trunc) << kCsvHeader << "\n";
    }
    std::ofstream csv;  // left closed on the other ranks: writes to it do nothing
    if (main_rank) csv.open(csv_path, std::ios::app);
    if (main_rank) {
      std::cout << fmt::format("U-Net with {} parameters, patches {}^3, batch {}, {} threads, {} loader workers",
                               model->num_parameters(), cfg.patch, cfg.batch_size, cfg.threads, cfg.workers)
                << (world > 1 ? fmt::format(", {} ranks (effective batch {})\n", world, world * cfg.batch_size) : "\n");
    }

    const brain::Inference inference{cfg.patch, cfg.spacing};
    for (int epoch = first_epoch; epoch <= cfg.epochs; ++epoch) {
      const auto epoch_start = std::chrono::steady_clock::now();
      double running = 0;
      std::int64_t step = 0;
      for (auto& group : optimizer.param_groups()) group.options().set_lr(epoch_lr(cfg, epoch));
      // The loader's epoch index makes every patch a function of (seed, epoch, index): a resumed run
      // draws exactly what the uninterrupted one drew.
      data::Epoch batches = epoch_batches(epoch);
      while (auto batch = batches.next()) {
        ++step;
        optimizer.zero_grad();
        const Tensor loss =
            brain::segmentation_loss(trained->forward(batch->data.at("image")), batch->data.at("label"));
        loss.backward();
        optimizer.step();
        double l = loss.item<double>();
#ifdef VOXGRAD_HAS_DISTRIBUTED
        if (world > 1) {
          // The loss of the effective batch (the mean of the ranks' losses, whose gradient DDP applied),
          // for the progress and loss.csv. Every rank takes part in this all-reduce at every step.
          Tensor mean = voxgrad::full({}, l, kFloat64);
          distributed::default_group()->all_reduce(mean, distributed::ReduceOp::Average);
          l = mean.item<double>();
        }
#endif
        running = step == 1 ? l : 0.9 * running + 0.1 * l;
        if (main_rank)
          examples::progress(epoch, cfg.epochs, step, cfg.steps_per_epoch,
                             fmt::format("loss {:.4f}  {:.2f} steps/s", running,
                                         static_cast<double>(step) / seconds_since(epoch_start)));
        csv << fmt::format("{},{},{:.6f},\n", epoch, step, l);
      }
      // Every rank validates: the replicas are bitwise equal, so each gets the same Dice and takes the
      // same branch below, and none waits for rank 0 in a collective (sliding-window inference over
      // the slab can outlast the collective timeout).
      const double dice = inference.heldout_dice(*model, full, split);
      if (main_rank) std::cout << fmt::format("  | held-out Dice {:.4f}  ({:.0f} s)\n", dice, seconds_since(start));
      csv << fmt::format("{},{},,{:.6f}\n", epoch, cfg.steps_per_epoch, dice);
      csv.flush();
      // resume.safetensors last: it is the commit point of the epoch.
      if (dice > best) {
        best = dice;
        if (main_rank) save(model->state_dict(), cfg.out + "/best.safetensors");
      }
      if (main_rank) {
        save(model->state_dict(), cfg.out + "/last.safetensors");
        examples::save_resume_state(cfg.out + "/resume.safetensors", *model, optimizer, epoch, kBestKey, best,
                                    run_options(cfg, world));
      }
    }
    const double train_secs = seconds_since(start);
    if (!main_rank) return 0;

    // The best model over the whole volume: the mask on the file's grid, its NIfTI and the picture.
    model->load_state_dict(load(cfg.out + "/best.safetensors"), /*strict=*/true);
    const Tensor mask = inference.native_mask(*model, full);
    const double heldout =
        brain::dice(mask.narrow(3, split.native_slab_start, mask.size(3) - split.native_slab_start),
                    native_label.narrow(3, split.native_slab_start, mask.size(3) - split.native_slab_start));
    const double whole = brain::dice(mask, native_label);
    brain::write_mask(cfg.out + "/mask.nii.gz", mask, cfg.image);
    const std::array<std::int64_t, 3> centre = {mask.size(1) / 2, mask.size(2) / 2, mask.size(3) * 2 / 3};
    brain::write_outline_png(cfg.out + "/slices.png", full.at("image_native"), mask, centre, split.native_slab_start,
                             2);
    std::cout << fmt::format(
        "trained {} epochs in {:.1f} s; best held-out Dice {:.4f} (slab x >= {}), whole-volume Dice {:.4f} "
        "(includes the training region); total {:.1f} s\n",
        cfg.epochs, train_secs, heldout, split.native_slab_start, whole, seconds_since(start));
    std::cout << "wrote " << cfg.out << "/{best,last,resume}.safetensors, loss.csv, mask.nii.gz, slices.png\n";
  } catch (const std::exception& e) {
#ifdef VOXGRAD_HAS_DISTRIBUTED
    // An error on one rank alone (rank 0's disk full) would leave the others waiting in the next
    // collective until the timeout: stop every rank now, with the message.
    if (world > 1) distributed::abort_job(fmt::format("error: {}", e.what()).c_str());
#endif
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
