#pragma once
// What the training examples share: the progress bar, and the resume file that makes --resume
// bit-exact (model, optimizer state, epoch and best score in one atomically written checkpoint whose
// metadata records the options that shape the run), and the loss.csv restored to completed epochs.

#include <string>

#include <voxgrad/voxgrad.h>

namespace examples {

/// Redraws "\repoch {epoch}/{epochs} [####....] {step}/{steps}  {status}" on the terminal; when stdout
/// is not a terminal (a file, a pipe), writes only the epoch's last step, without the carriage return.
void progress(int epoch, int epochs, std::int64_t step, std::int64_t steps, const std::string& status);

/// What a resumed run continues from.
struct ResumeState {
  int epoch = 0;    ///< the last completed epoch
  double best = 0;  ///< the best validation score so far
};

/// Writes everything a resumed run needs into `path` in one save(): model.<name>, optimizer.<key>,
/// epoch and `best_key`, with `run_options` as metadata.
void save_resume_state(const std::string& path, const voxgrad::nn::Module& model,
                       const voxgrad::optim::Optimizer& optimizer, int epoch, const std::string& best_key, double best,
                       const voxgrad::CheckpointMetadata& run_options);

/// Loads `dir`/resume.safetensors into `model` and `optimizer`; an Error if it is missing, was written
/// with other `run_options` (the message names the option and says that only `free_options` may
/// change), or lacks an entry.
ResumeState load_resume_state(const std::string& dir, voxgrad::nn::Module& model, voxgrad::optim::Optimizer& optimizer,
                              const std::string& best_key, const voxgrad::CheckpointMetadata& run_options,
                              const std::string& free_options);

/// Writes `out_csv` as `header` and the rows of epochs 1..epoch of `from_csv` (rows "epoch,..." with
/// exactly `columns` fields; those of an epoch that did not complete are dropped). `from_csv` may be
/// `out_csv`: the file is written aside and renamed over.
void restore_loss_csv(const std::string& from_csv, const std::string& out_csv, int epoch, const std::string& header,
                      int columns);

}  // namespace examples
