#include "voxgrad/autograd/anomaly_mode.h"

namespace voxgrad::autograd {

namespace {
thread_local bool anomaly_enabled = false;
thread_local std::string anomaly_label;
}  // namespace

bool AnomalyMode::is_enabled() { return anomaly_enabled; }
void AnomalyMode::set_enabled(bool enabled) { anomaly_enabled = enabled; }

bool is_anomaly_enabled() { return anomaly_enabled; }

AnomalyLabelGuard::AnomalyLabelGuard(std::string_view label) : prev_size_(anomaly_label.size()) {
  if (label.empty()) return;
  if (!anomaly_label.empty()) anomaly_label.push_back('.');
  anomaly_label.append(label);
}

AnomalyLabelGuard::~AnomalyLabelGuard() { anomaly_label.resize(prev_size_); }

const std::string& current_anomaly_label() { return anomaly_label; }

}  // namespace voxgrad::autograd
