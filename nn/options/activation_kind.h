#pragma once
// The activations some layers take by name (Transformer layers' feed-forward, RNN's non-linearity), as
// libtorch's torch::kReLU, torch::kGELU and torch::kTanh.

namespace voxgrad::nn {

/// An activation named in a layer's options.
enum class ActivationKind { ReLU, GELU, Tanh };
inline constexpr ActivationKind kReLU = ActivationKind::ReLU;  ///< max(x, 0).
inline constexpr ActivationKind kGELU = ActivationKind::GELU;  ///< x·Φ(x) (exact, erf).
inline constexpr ActivationKind kTanh = ActivationKind::Tanh;  ///< tanh(x).

/// "kReLU", "kGELU" or "kTanh", for messages.
constexpr const char* activation_kind_name(ActivationKind kind) {
  return kind == ActivationKind::ReLU ? "kReLU" : kind == ActivationKind::GELU ? "kGELU" : "kTanh";
}

}  // namespace voxgrad::nn
