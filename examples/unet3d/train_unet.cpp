// Flagship example: trains a 3-D U-Net to denoise procedurally generated volumes.
//
//   ./train_unet --epochs 6 --size 32 --out runs/unet
//
// Writes into --out: best.safetensors (model), last.safetensors, optimizer.safetensors and
// progress.safetensors (for --resume), loss.csv (the loss curve) and slices.png (middle slices: clean | noisy | denoised).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <voxgrad/voxgrad.h>

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

// Held-out volumes come from another stream than the training ones.
constexpr std::uint64_t kValidationStream = 0x5A17;

void progress(int epoch, int epochs, std::int64_t step, std::int64_t steps, double loss, double rate) {
  constexpr int kWidth = 28;
  const int filled = static_cast<int>(kWidth * step / steps);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::cout << fmt::format("\repoch {}/{} [{}] {:3d}/{}  loss {:.5f}  {:.2f} steps/s", epoch, epochs, bar, step,
                           steps, loss, rate)
            << std::flush;
}

struct Validation {
  double loss, psnr_noisy, psnr_denoised;
};

Validation validate(unet3d::UNet3d& model, const Config& cfg) {
  NoGradGuard no_grad;
  model.eval();
  double loss = 0, noisy = 0, denoised = 0;
  for (std::int64_t i = 0; i < cfg.val_volumes; ++i) {
    const unet3d::Sample s = unet3d::make_batch(kValidationStream + cfg.seed, static_cast<std::uint64_t>(i), 1,
                                                cfg.size, cfg.noise);
    const Tensor out = model.forward(s.noisy);
    loss += nn::functional::mse_loss(out, s.clean).item<double>();
    noisy += unet3d::psnr(s.noisy, s.clean);
    denoised += unet3d::psnr(out, s.clean);
  }
  model.train();
  const auto n = static_cast<double>(cfg.val_volumes);
  return {loss / n, noisy / n, denoised / n};
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"Train a 3-D U-Net denoiser on procedurally generated volumes"};
  app.add_option("--epochs", cfg.epochs, "Training epochs")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", cfg.batch_size, "Volumes per step")->check(CLI::PositiveNumber);
  app.add_option("--size", cfg.size, "Edge length of the cubic volumes (any size, odd included)")->check(CLI::Range(4, 256));
  app.add_option("--channels", cfg.channels, "Channels of the first U-Net level")->check(CLI::PositiveNumber);
  app.add_option("--lr", cfg.lr, "Adam learning rate")->check(CLI::PositiveNumber);
  app.add_option("--threads", cfg.threads, "Worker threads")->check(CLI::PositiveNumber);
  app.add_option("--seed", cfg.seed, "Seed for initialisation and data");
  app.add_option("--out", cfg.out, "Output directory");
  app.add_option("--resume", cfg.resume, "Directory of an earlier run to continue");
  app.add_option("--steps-per-epoch", cfg.steps_per_epoch, "Training steps per epoch")->check(CLI::PositiveNumber);
  app.add_option("--noise", cfg.noise, "Standard deviation of the added noise")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  set_num_threads(cfg.threads);
  manual_seed(cfg.seed);
  fs::create_directories(cfg.out);

  auto model = std::make_shared<unet3d::UNet3d>(cfg.channels);
  optim::Adam optimizer(model->parameters(), optim::AdamOptions(cfg.lr));
  int first_epoch = 1;
  double best_loss = 1e300;
  if (!cfg.resume.empty()) {
    // Model, optimizer and progress are restored exactly; the data stream is indexed by step, so
    // the run continues as if it had never stopped.
    model->load_state_dict(load(cfg.resume + "/last.safetensors"));
    optimizer.load_state_dict(load(cfg.resume + "/optimizer.safetensors"));
    for (const auto& [name, t] : load(cfg.resume + "/progress.safetensors")) {
      if (name == "epoch") first_epoch = static_cast<int>(t.item<std::int64_t>()) + 1;
      if (name == "best_val_loss") best_loss = t.item<double>();
    }
    std::cout << "resumed from " << cfg.resume << " after epoch " << first_epoch - 1 << "\n";
  }
  std::cout << fmt::format("U-Net with {} parameters, volumes {}^3, batch {}, {} threads\n",
                           model->num_parameters(), cfg.size, cfg.batch_size, cfg.threads);

  const Validation before = validate(*model, cfg);
  std::cout << fmt::format("held-out PSNR of the noisy input: {:.2f} dB\n", before.psnr_noisy);
  std::ofstream csv(cfg.out + "/loss.csv", cfg.resume.empty() ? std::ios::trunc : std::ios::app);
  if (cfg.resume.empty()) csv << "epoch,step,train_loss,val_loss,val_psnr_noisy,val_psnr_denoised\n";

  const auto start = std::chrono::steady_clock::now();
  for (int epoch = first_epoch; epoch <= cfg.epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    double running = 0;
    for (std::int64_t step = 1; step <= cfg.steps_per_epoch; ++step) {
      const auto index = static_cast<std::uint64_t>(((epoch - 1) * cfg.steps_per_epoch + step - 1) * cfg.batch_size);
      const unet3d::Sample batch = unet3d::make_batch(cfg.seed, index, cfg.batch_size, cfg.size, cfg.noise);
      optimizer.zero_grad();
      const Tensor loss = nn::functional::mse_loss(model->forward(batch.noisy), batch.clean);
      loss.backward();
      optimizer.step();
      const double l = loss.item<double>();
      running = step == 1 ? l : 0.9 * running + 0.1 * l;
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
      progress(epoch, cfg.epochs, step, cfg.steps_per_epoch, running, static_cast<double>(step) / secs);
      csv << fmt::format("{},{},{:.6f},,,\n", epoch, step, l);
    }
    const Validation v = validate(*model, cfg);
    std::cout << fmt::format("  | val loss {:.5f}  PSNR {:.2f} dB -> {:.2f} dB ({:+.2f} dB)\n", v.loss,
                             v.psnr_noisy, v.psnr_denoised, v.psnr_denoised - v.psnr_noisy);
    csv << fmt::format("{},{},,{:.6f},{:.4f},{:.4f}\n", epoch, cfg.steps_per_epoch, v.loss, v.psnr_noisy,
                       v.psnr_denoised);
    csv.flush();
    save(model->state_dict(), cfg.out + "/last.safetensors");
    save(optimizer.state_dict(), cfg.out + "/optimizer.safetensors");
    if (v.loss < best_loss) {
      best_loss = v.loss;
      save(model->state_dict(), cfg.out + "/best.safetensors");
    }
    save({{"epoch", full({}, epoch, kInt64)}, {"best_val_loss", full({}, best_loss, kFloat64)}},
         cfg.out + "/progress.safetensors");
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

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
  std::cout << "wrote " << cfg.out << "/{best,last,optimizer,progress}.safetensors, loss.csv, slices.png\n";
  return 0;
}
