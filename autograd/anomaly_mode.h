#pragma once
// Anomaly detection, as torch.autograd.detect_anomaly: find the op whose backward produced the first
// NaN or infinity, and the part of the model that created it.
//
//   autograd::DetectAnomalyGuard anomaly;              // this thread only; off again at scope end
//   Tensor h;
//   {
//     autograd::AnomalyLabelGuard label("decoder");    // labels nest: "decoder", then "decoder.up1"
//     autograd::AnomalyLabelGuard inner("up1");
//     h = up1->forward(x);                             // its nodes remember "decoder.up1"
//   }
//   loss.backward();  // throws "anomaly: backward of 'LogBackward' (created under label 'loss')
//                     //   returned NaN in its gradient for input 0 (...)"
//
// While anomaly mode is on, every node recorded on the thread stores the current label, and every
// backward run on the thread checks each gradient a node returns (before it flows on) and throws
// voxgrad::Error at the first non-finite one; any other error raised by a node's backward gets the
// node's label appended. When it is off (the default) the only cost is one thread-local flag read
// per recorded op and per backward() call. Labels are kept whether or not anomaly mode is on, but
// only nodes recorded with anomaly mode on store them.

#include <cstddef>
#include <string>
#include <string_view>

namespace voxgrad::autograd {

/// Thread-local switch for anomaly detection (off by default; each thread has its own).
struct AnomalyMode {
  /// True when anomaly detection is on for this thread.
  static bool is_enabled();
  /// Turns anomaly detection on or off for this thread.
  static void set_enabled(bool enabled);
};

/// True when anomaly detection is on for this thread (AnomalyMode::is_enabled()).
bool is_anomaly_enabled();

/// RAII: anomaly detection is `enabled` (default on) on this thread while it lives, then restored.
class DetectAnomalyGuard {
 public:
  /// Sets anomaly mode to `enabled` on this thread, remembering the previous state.
  explicit DetectAnomalyGuard(bool enabled = true) : prev_(AnomalyMode::is_enabled()) {
    AnomalyMode::set_enabled(enabled);
  }
  ~DetectAnomalyGuard() { AnomalyMode::set_enabled(prev_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool prev_;
};

/// RAII: appends `label` to this thread's anomaly label while it lives ("decoder" inside "unet"
/// gives "unet.decoder"); nodes recorded with anomaly mode on store the label and errors show it.
/// Guards must end in reverse order of creation (automatic for scoped objects). An empty label
/// changes nothing.
class AnomalyLabelGuard {
 public:
  /// Pushes `label` onto this thread's label.
  explicit AnomalyLabelGuard(std::string_view label);
  /// Restores the label that was current when this guard was created.
  ~AnomalyLabelGuard();
  AnomalyLabelGuard(const AnomalyLabelGuard&) = delete;
  AnomalyLabelGuard& operator=(const AnomalyLabelGuard&) = delete;

 private:
  std::size_t prev_size_;
};

/// This thread's current label: the labels of the live AnomalyLabelGuards, outermost first, joined
/// by '.'; empty outside any guard.
const std::string& current_anomaly_label();

}  // namespace voxgrad::autograd
