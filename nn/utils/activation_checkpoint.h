#pragma once
// Activation checkpointing, as torch.utils.checkpoint: keep a segment's inputs instead of its
// intermediate activations, and run its forward again during backward.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "voxgrad/core/tensor.h"

namespace voxgrad::nn {
class Module;
class Sequential;
class SequentialImpl;
}  // namespace voxgrad::nn

namespace voxgrad::nn::utils {

/// A segment to checkpoint: tensors in, tensors out.
using CheckpointFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

/// Runs `fn(inputs)` without recording its graph and saves only `inputs` (version-checked like any
/// saved tensor). During backward, `fn` runs again with grad mode on, from the same state of the
/// global generator (so dropout draws the same mask; the generator is restored afterwards), and
/// its graph is backpropagated at once: gradients flow to `inputs` and accumulate into the grad()
/// of every leaf `fn` uses (its module's parameters). Gradients equal those of the plain run.
///
/// The segment is recorded when grad mode is on and an input or one of `parameters` requires grad:
/// pass the parameters `fn` uses, so that a first segment whose input needs no gradient still trains
/// them (PyTorch's reentrant checkpoint silently gives such parameters no gradient). `fn` must be
/// deterministic apart from the global generator, and must not modify its inputs in place.
/// Segments nest: a checkpoint inside `fn` records its node when the outer segment is recomputed,
/// and is recomputed in turn when the outer segment's backward reaches it.
/// Not supported, with an error: autograd::grad() through a checkpoint (use backward(), as in
/// PyTorch's reentrant variant) and create_graph=true (double backward).
std::vector<Tensor> checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs,
                               const std::vector<Tensor>& parameters = {});

/// checkpoint() of a single-tensor function.
Tensor checkpoint(const std::function<Tensor(const Tensor&)>& fn, const Tensor& input,
                  const std::vector<Tensor>& parameters = {});

/// checkpoint() of `module->forward(input)`, passing the module's parameters.
Tensor checkpoint(const std::shared_ptr<Module>& module, const Tensor& input);

/// As torch.utils.checkpoint.checkpoint_sequential: splits `sequential`'s modules into `segments`
/// runs of (nearly) equal length and checkpoints each but the last, which runs normally (its
/// activations are needed at once by backward). Throws unless 1 <= segments <= number of modules.
Tensor checkpoint_sequential(const SequentialImpl& sequential, std::int64_t segments, const Tensor& input);
/// checkpoint_sequential() of the module a holder holds.
Tensor checkpoint_sequential(const Sequential& sequential, std::int64_t segments, const Tensor& input);

}  // namespace voxgrad::nn::utils
