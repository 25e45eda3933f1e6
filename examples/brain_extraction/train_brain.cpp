// Flagship example: brain extraction on a real T1 MRI. Trains a 3-D U-Net to segment the brain of
// the Colin27 template that Debian's mricron-data ships (ch2.nii.gz, 181×217×181 at 1 mm; the mask is
// ch2bet.nii.gz > 0), from patches of one part of the volume only, and validates by sliding-window
// inference over a held-out slab that no training patch touches.
//
//   ./train_brain --out runs/brain
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
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

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

voxgrad::CheckpointMetadata run_options(const Config& cfg) {
  return {{"seed", std::to_string(cfg.seed)},
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

  try {
    set_num_threads(cfg.threads);
    manual_seed(cfg.seed);
    fs::create_directories(cfg.out);
    const auto start = std::chrono::steady_clock::now();

    // The pair, preprocessed once and cached; the split along x.
    const auto volume =
        brain::preprocessed_pair(cfg.image, cfg.mask, cfg.spacing, static_cast<std::size_t>(cfg.cache_mb) << 20);
    const data::Example full = volume->get(0);
    const Tensor& image = full.at("image");
    const Tensor& native_label = full.at("label_native");
    const brain::Split split = brain::make_split(native_label.size(3), 1.0, cfg.spacing, cfg.patch, cfg.slab_mm);
    std::cout << fmt::format(
        "{}: {} voxels, resampled to {} mm: {}; training patches from x < {} (training grid), held-out slab "
        "x >= {} (x >= {} on the file's grid), margin {:.0f} mm; loaded in {:.1f} s\n",
        cfg.image, shape_str(native_label.sizes()), cfg.spacing, shape_str(image.sizes()), split.train_end,
        split.slab_start, split.native_slab_start, split.margin_mm, seconds_since(start));

    const std::int64_t patches_per_epoch = cfg.steps_per_epoch * cfg.batch_size;
    const auto patches = brain::training_patches(volume, split, cfg.patch, patches_per_epoch);
    if (cfg.bench_loader > 0) {
      bench_loader(brain::training_patches(volume, split, cfg.patch, cfg.bench_loader), cfg);
      return 0;
    }
    data::DataLoader loader(patches, data::DataLoaderOptions(cfg.batch_size).workers(cfg.workers).seed(cfg.seed));

    auto model = std::make_shared<unet3d::UNet3d>(cfg.channels, /*residual=*/false);
    optim::Adam optimizer(model->parameters(), optim::AdamOptions(cfg.lr));
    int first_epoch = 1;
    double best = -1;
    const std::string csv_path = cfg.out + "/loss.csv";
    if (!cfg.resume.empty()) {
      const examples::ResumeState r =
          examples::load_resume_state(cfg.resume, *model, optimizer, kBestKey, run_options(cfg), kFreeOptions);
      first_epoch = r.epoch + 1;
      best = r.best;
      examples::restore_loss_csv(cfg.resume + "/loss.csv", csv_path, r.epoch, kCsvHeader, 4);
      // The best model so far travels with the run (a resume into another --out directory keeps it).
      if (!fs::exists(cfg.out + "/best.safetensors") ||
          !fs::equivalent(cfg.resume + "/best.safetensors", cfg.out + "/best.safetensors")) {
        fs::copy_file(cfg.resume + "/best.safetensors", cfg.out + "/best.safetensors",
                      fs::copy_options::overwrite_existing);
      }
      std::cout << "resumed from " << cfg.resume << " after epoch " << r.epoch << "\n";
    } else {
      std::ofstream(csv_path, std::ios::trunc) << kCsvHeader << "\n";
    }
    std::ofstream csv(csv_path, std::ios::app);
    std::cout << fmt::format("U-Net with {} parameters, patches {}^3, batch {}, {} threads, {} loader workers\n",
                             model->num_parameters(), cfg.patch, cfg.batch_size, cfg.threads, cfg.workers);

    const brain::Inference inference{cfg.patch, cfg.spacing};
    for (int epoch = first_epoch; epoch <= cfg.epochs; ++epoch) {
      const auto epoch_start = std::chrono::steady_clock::now();
      double running = 0;
      std::int64_t step = 0;
      for (auto& group : optimizer.param_groups()) group.options().set_lr(epoch_lr(cfg, epoch));
      // The loader's epoch index makes every patch a function of (seed, epoch, index): a resumed run
      // draws exactly what the uninterrupted one drew.
      data::Epoch batches = loader.epoch(epoch);
      while (auto batch = batches.next()) {
        ++step;
        optimizer.zero_grad();
        const Tensor loss = brain::segmentation_loss(model->forward(batch->data.at("image")), batch->data.at("label"));
        loss.backward();
        optimizer.step();
        const double l = loss.item<double>();
        running = step == 1 ? l : 0.9 * running + 0.1 * l;
        examples::progress(epoch, cfg.epochs, step, cfg.steps_per_epoch,
                           fmt::format("loss {:.4f}  {:.2f} steps/s", running,
                                       static_cast<double>(step) / seconds_since(epoch_start)));
        csv << fmt::format("{},{},{:.6f},\n", epoch, step, l);
      }
      const double dice = inference.heldout_dice(*model, full, split);
      std::cout << fmt::format("  | held-out Dice {:.4f}  ({:.0f} s)\n", dice, seconds_since(start));
      csv << fmt::format("{},{},,{:.6f}\n", epoch, cfg.steps_per_epoch, dice);
      csv.flush();
      if (dice > best) {
        best = dice;
        save(model->state_dict(), cfg.out + "/best.safetensors");
      }
      save(model->state_dict(), cfg.out + "/last.safetensors");
      examples::save_resume_state(cfg.out + "/resume.safetensors", *model, optimizer, epoch, kBestKey, best,
                                  run_options(cfg));
    }
    const double train_secs = seconds_since(start);

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
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
