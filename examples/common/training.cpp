#include "training.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include <unistd.h>

namespace examples {

using voxgrad::Error;

void progress(int epoch, int epochs, std::int64_t step, std::int64_t steps, const std::string& status) {
  // Redrawn in place on a terminal; into a file or a pipe (a CI log), only the epoch's last state.
  static const bool terminal = isatty(STDOUT_FILENO) != 0;
  if (!terminal && step != steps) return;
  constexpr int kWidth = 28;
  const int filled = static_cast<int>(kWidth * step / steps);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::cout << fmt::format("{}epoch {}/{} [{}] {:3d}/{}  {}", terminal ? "\r" : "", epoch, epochs, bar, step, steps,
                           status)
            << std::flush;
}

void save_resume_state(const std::string& path, const voxgrad::nn::Module& model,
                       const voxgrad::optim::Optimizer& optimizer, int epoch, const std::string& best_key, double best,
                       const voxgrad::CheckpointMetadata& run_options) {
  voxgrad::nn::StateDict state;
  for (auto& [name, t] : model.state_dict()) state.emplace_back("model." + name, t);
  for (auto& [name, t] : optimizer.state_dict()) state.emplace_back("optimizer." + name, t);
  state.emplace_back("epoch", voxgrad::full({}, epoch, voxgrad::kInt64));
  state.emplace_back(best_key, voxgrad::full({}, best, voxgrad::kFloat64));
  voxgrad::save(state, path, run_options);
}

ResumeState load_resume_state(const std::string& dir, voxgrad::nn::Module& model, voxgrad::optim::Optimizer& optimizer,
                              const std::string& best_key, const voxgrad::CheckpointMetadata& run_options,
                              const std::string& free_options) {
  const std::string path = dir + "/resume.safetensors";
  if (!std::filesystem::exists(path)) {
    throw Error(fmt::format("--resume: '{}' does not exist (no epoch of that run completed?)", path));
  }
  const voxgrad::Checkpoint ckpt = voxgrad::load_checkpoint(path);
  for (const auto& [key, value] : run_options) {
    const auto it = ckpt.metadata.find(key);
    const std::string saved = it == ckpt.metadata.end() ? "(missing)" : it->second;
    if (saved != value) {
      throw Error(
          fmt::format("--resume: '{}' was trained with {} = {}, but this run has {} = {}; resume with the "
                      "same options (only {} may change)",
                      path, key, saved, key, value, free_options));
    }
  }
  voxgrad::nn::StateDict model_state, optimizer_state;
  ResumeState out;
  bool has_epoch = false, has_best = false;
  for (const auto& [name, t] : ckpt.state) {
    if (name.rfind("model.", 0) == 0) {
      model_state.emplace_back(name.substr(6), t);
    } else if (name.rfind("optimizer.", 0) == 0) {
      optimizer_state.emplace_back(name.substr(10), t);
    } else if (name == "epoch") {
      out.epoch = static_cast<int>(t.item<std::int64_t>());
      has_epoch = true;
    } else if (name == best_key) {
      out.best = t.item<double>();
      has_best = true;
    } else {
      throw Error(fmt::format("--resume: '{}' holds an unexpected entry '{}'", path, name));
    }
  }
  if (!has_epoch || !has_best) {
    throw Error(fmt::format("--resume: '{}' lacks the epoch or {} entry", path, best_key));
  }
  model.load_state_dict(model_state, /*strict=*/true);
  optimizer.load_state_dict(optimizer_state);
  return out;
}

void restore_loss_csv(const std::string& from_csv, const std::string& out_csv, int epoch, const std::string& header,
                      int columns) {
  std::vector<std::string> keep;
  {
    std::ifstream in(from_csv);
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
      if (first) {
        first = false;
        continue;  // the header, written below
      }
      const std::size_t comma = line.find(',');
      if (comma == std::string::npos || std::count(line.begin(), line.end(), ',') != columns - 1) continue;
      int row_epoch = 0;
      std::istringstream(line.substr(0, comma)) >> row_epoch;
      if (row_epoch >= 1 && row_epoch <= epoch) keep.push_back(line);
    }
  }
  const std::string tmp = out_csv + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << header << "\n";
    for (const std::string& line : keep) out << line << "\n";
    out.flush();
    if (!out) throw Error(fmt::format("--resume: cannot write '{}'", tmp));
  }
  std::filesystem::rename(tmp, out_csv);
}

}  // namespace examples
