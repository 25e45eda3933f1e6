#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "voxgrad/nn/module.h"

/// Checkpoints in the safetensors format (https://github.com/huggingface/safetensors), the format
/// the PyTorch and Hugging Face world shares: an 8-byte little-endian header length N, N bytes of
/// UTF-8 JSON (`{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...,
/// "__metadata__": {"key": "value"}}`, padded with spaces to a multiple of 8), then the tensors'
/// raw little-endian bytes, each contiguous, one after the other. voxgrad reads and writes F32, F64
/// and I64 (float32, float64, int64).
///
/// Every reader validates the whole header against the file before it allocates or reads any tensor
/// data: a truncated or corrupted file gives a voxgrad::Error naming the file and the problem, never
/// an out-of-bounds read or an allocation larger than the file.
///
/// The names live in voxgrad::io and are also declared in voxgrad, so `voxgrad::save(state, path)`
/// works as torch::save does.
namespace voxgrad::io {

/// Free-form string metadata stored in the header's `__metadata__` object.
using CheckpointMetadata = std::map<std::string, std::string>;

/// Everything a safetensors file holds: its tensors, in the order of their data in the file, and
/// its metadata.
struct Checkpoint {
  nn::StateDict state;          ///< Named tensors in data order (the order they were saved in).
  CheckpointMetadata metadata;  ///< The `__metadata__` entries (empty if the file has none).
};

/// The largest header readers accept (and save writes), in bytes: 100 MB, as the reference
/// implementation.
inline constexpr std::uint64_t kMaxCheckpointHeaderBytes = 100'000'000;
/// The most dimensions a tensor in a checkpoint may have.
inline constexpr std::size_t kMaxCheckpointTensorDims = 64;

/// Writes `state` to `path` as safetensors, tensors in the state dict's order (non-contiguous ones
/// are written contiguous; grad and requires_grad are not stored), `metadata` as `__metadata__`.
/// Atomic: the bytes go to a new temporary file in the same directory, which is flushed and synced,
/// then renamed over `path`, and the directory is synced; a crash or error leaves either the old
/// file or the new one, never a mix (a crash may leave a stray `.<name>.tmp-*` file behind). Throws
/// voxgrad::Error naming the path for an undefined tensor, a repeated or reserved (`__metadata__`)
/// name, a name or metadata string that is not UTF-8, a tensor with more than 64 dims, or any I/O
/// failure.
void save(const nn::StateDict& state, const std::string& path, const CheckpointMetadata& metadata = {});

/// Reads the tensors of a safetensors file, in the order of their data in the file (so the order
/// given to save() round-trips). Each tensor is a contiguous float32, float64 or int64 leaf with its
/// own storage. Throws voxgrad::Error naming the file and the problem for a file that is missing,
/// truncated or violates the format (see the rules in io/detail/safetensors.h).
nn::StateDict load(const std::string& path);

/// Reads only the header of a safetensors file (validated as by load()) and returns its metadata.
CheckpointMetadata load_metadata(const std::string& path);

/// Reads tensors and metadata in one pass.
Checkpoint load_checkpoint(const std::string& path);

/// The bytes save() would write for `state` and `metadata` (for in-memory use and tests).
std::vector<std::uint8_t> save_to_bytes(const nn::StateDict& state, const CheckpointMetadata& metadata = {});

/// Parses a safetensors image held in memory with the same validation as load() (a fuzzer's entry
/// point); `source` names the image in error messages.
Checkpoint load_from_bytes(const std::uint8_t* data, std::size_t size, const std::string& source = "<memory>");

}  // namespace voxgrad::io

namespace voxgrad {

using io::Checkpoint;
using io::CheckpointMetadata;
using io::kMaxCheckpointHeaderBytes;
using io::kMaxCheckpointTensorDims;
using io::load;
using io::load_checkpoint;
using io::load_from_bytes;
using io::load_metadata;
using io::save;
using io::save_to_bytes;

}  // namespace voxgrad
