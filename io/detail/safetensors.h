#pragma once
// Internal: the safetensors format itself, shared by the checkpoint API in io/checkpoint.cpp.
// Building and parsing the JSON header (io/safetensors.cpp), the dtype names, and the byte layout
// of a whole image, read or written through a caller-supplied function so that the same code serves
// files and memory. Not installed.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/io/checkpoint.h"
#include "voxgrad/io/detail/context.h"

// The safetensors layout, and what a reader checks (each violation is a voxgrad::Error naming the
// file and the values):
//
//   bytes [0, 8)          N, the header length, unsigned little-endian
//   bytes [8, 8 + N)      the header: a UTF-8 JSON object, padded with spaces
//   bytes [8 + N, size)   the data section; each tensor's bytes lie at [8 + N + begin, 8 + N + end)
//
//  1. the file has at least the 8 length bytes;
//  2. N <= 100 MB (the reference limit) and 8 + N <= file size, so the header is read with one
//     allocation bounded by the file;
//  3. the header starts with '{' and is valid JSON (nlohmann checks the UTF-8; a NUL byte, which
//     nlohmann would take for the end, is refused) holding one object;
//     no object repeats a key (duplicate tensor names, fields or metadata keys);
//  4. `__metadata__`, if present, is an object whose values are strings;
//  5. every other entry is an object with exactly the fields dtype, shape and data_offsets;
//  6. dtype is "F32", "F64" or "I64" (other safetensors dtypes are named as unsupported);
//  7. shape is a list of at most 64 integers in [0, 2^63), whose element count (and whose
//     strides, which count zero-sized dims as 1) fit int64, as does its byte size;
//  8. data_offsets is [begin, end] with integers begin <= end <= the data section's size, and
//     end - begin equals element count * element size;
//  9. sorted by offset, the tensors cover the data section exactly: no overlap, no gap, nothing
//     after the last tensor (the safetensors spec forbids holes, so they are corruption).
// Only then is any tensor allocated: every allocation is bounded by the bytes the file really has.
// The parse keeps no more than one entry's JSON at a time (entries are converted and dropped as they
// complete) and refuses nesting the format never uses, so memory stays proportional to the header.

namespace voxgrad::io::detail {

// Tensors are written and read as the host's bytes; the format is little-endian.
static_assert(std::endian::native == std::endian::little,
              "voxgrad's safetensors reader and writer assume a little-endian host");

// The reserved top-level key of the header's metadata object.
inline constexpr std::string_view kMetadataKey = "__metadata__";

// --- dtypes ---------------------------------------------------------------------------------------

// The safetensors name of a voxgrad dtype: "F32", "F64" or "I64".
const char* safetensors_dtype(DType dtype);

// --- header parsing ---------------------------------------------------------------------------

// One tensor as the header describes it, validated against the data section.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin;
  std::uint64_t end;
};

struct Header {
  std::vector<Entry> entries;  // in data order
  CheckpointMetadata metadata;
};

// Parses and validates the header text against a data section of `data_size` bytes (rules 3-9
// above); returns the entries in data order.
Header parse_header(const Context& ctx, std::string_view text, std::uint64_t data_size);

// --- reading ----------------------------------------------------------------------------------

// Reads a whole image through read_at(offset, size, destination), which the caller bounds by `total`.
template <typename ReadAt>
Checkpoint read_image(const Context& ctx, std::uint64_t total, bool with_tensors, ReadAt read_at) {
  if (total < 8) {
    ctx.fail(
        "file is too short: {} bytes, but a safetensors file starts with an 8-byte header length "
        "(truncated file?)",
        total);
  }
  unsigned char prefix[8];
  read_at(0, 8, prefix);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | prefix[i];
  if (n > kMaxCheckpointHeaderBytes) {
    ctx.fail("header length {} exceeds the limit of {} bytes (corrupted file?)", n, kMaxCheckpointHeaderBytes);
  }
  if (n > total - 8) {
    ctx.fail("header length {} exceeds the {} bytes that follow the length field (truncated file?)", n, total - 8);
  }
  std::string text(n, '\0');
  read_at(8, n, text.data());
  Header header = parse_header(ctx, text, total - 8 - n);

  Checkpoint out;
  out.metadata = std::move(header.metadata);
  if (!with_tensors) return out;
  out.state.reserve(header.entries.size());
  for (Entry& e : header.entries) {
    Tensor t;
    try {
      t = empty(e.shape, e.dtype);
    } catch (const Error& error) {  // e.g. larger than the machine's memory
      ctx.fail("cannot allocate tensor '{}': {}", e.name, error.what());
    }
    if (e.end > e.begin) read_at(8 + n + e.begin, e.end - e.begin, t.raw_data_ptr());
    out.state.emplace_back(std::move(e.name), std::move(t));
  }
  return out;
}

// --- writing ----------------------------------------------------------------------------------

// What save writes: the padded header and each tensor's byte count, validated before any I/O.
struct SavePlan {
  std::string header;
  std::vector<std::uint64_t> nbytes;
  std::uint64_t total = 0;
};

// Validates `state` and `metadata` for saving (names, dims, UTF-8, header size) and builds the
// header; does no I/O.
SavePlan plan_save(const Context& ctx, const nn::StateDict& state, const CheckpointMetadata& metadata);

// Streams the image through write(pointer, size).
template <typename Write>
void write_image(const SavePlan& plan, const nn::StateDict& state, Write write) {
  unsigned char prefix[8];
  std::uint64_t n = plan.header.size();
  for (unsigned char& byte : prefix) {
    byte = static_cast<unsigned char>(n & 0xff);
    n >>= 8;
  }
  write(prefix, 8);
  write(plan.header.data(), plan.header.size());
  for (std::size_t i = 0; i < state.size(); ++i) {
    if (plan.nbytes[i] == 0) continue;
    const Tensor c = state[i].second.detach().contiguous();  // one tensor's copy at a time
    write(c.raw_data_ptr(), plan.nbytes[i]);
  }
}

}  // namespace voxgrad::io::detail
