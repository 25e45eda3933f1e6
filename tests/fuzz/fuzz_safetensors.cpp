// libFuzzer target for the safetensors reader (io/checkpoint.h): the fuzzer's bytes are a whole
// in-memory checkpoint image given to load_from_bytes().
//
// Allowed outcomes: voxgrad::Error, or a checkpoint that is consistent with the image: every
// tensor a contiguous float32/float64/int64 leaf with its own storage whose bytes are exactly the
// image's bytes at its data_offsets... which we check the strong way: save_to_bytes() of what was
// loaded must load again to the same names, dtypes, shapes, bytes and metadata (a loaded
// checkpoint is always savable), and the loaded tensors together hold exactly the image's data
// section. Anything else -- a crash, an out-of-bounds read (ASan), undefined behaviour (UBSan), an
// allocation beyond -malloc_limit_mb, another exception type -- is reported by libFuzzer.
// Run: scripts/fuzz.sh; reproduce: build/h_fuzz/tests/fuzz/fuzz_safetensors FILE.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <voxgrad/voxgrad.h>

namespace {

using namespace voxgrad;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_safetensors: %s\n", what.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

std::size_t nbytes(const Tensor& t) { return static_cast<std::size_t>(t.numel()) * element_size(t.dtype()); }

void check_same(const Checkpoint& a, const Checkpoint& b) {
  if (a.state.size() != b.state.size()) fail("round trip changed the number of tensors");
  if (a.metadata != b.metadata) fail("round trip changed the metadata");
  for (std::size_t i = 0; i < a.state.size(); ++i) {
    const auto& [na, ta] = a.state[i];
    const auto& [nb, tb] = b.state[i];
    if (na != nb) fail("round trip changed the name '" + na + "'");
    if (ta.dtype() != tb.dtype() || ta.sizes() != tb.sizes()) fail("round trip changed tensor '" + na + "'");
    if (nbytes(ta) > 0 && std::memcmp(ta.raw_data_ptr(), tb.raw_data_ptr(), nbytes(ta)) != 0) {
      fail("round trip changed the bytes of '" + na + "'");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Checkpoint loaded;
  try {
    loaded = load_from_bytes(data, size, "fuzz");
  } catch (const Error&) {
    return 0;
  } catch (const std::exception& e) {
    fail(std::string("load_from_bytes threw a non-voxgrad exception: ") + e.what());
  } catch (...) {
    fail("load_from_bytes threw an unknown exception");
  }

  // What loaded is consistent with the image: contiguous leaves, data sections tiled in order.
  std::uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | data[i];
  const std::uint8_t* section = data + 8 + header;
  std::size_t offset = 0;
  for (const auto& [name, t] : loaded.state) {
    if (!t.defined() || !t.is_contiguous() || t.requires_grad()) fail("tensor '" + name + "' is not a plain leaf");
    if (t.dtype() != kFloat32 && t.dtype() != kFloat64 && t.dtype() != kInt64) fail("bad dtype for '" + name + "'");
    const std::size_t n = nbytes(t);
    if (n > size - 8 - header - offset) fail("tensor '" + name + "' extends beyond the image");
    if (n > 0 && std::memcmp(t.raw_data_ptr(), section + offset, n) != 0) {
      fail("tensor '" + name + "' does not hold its bytes of the data section");
    }
    offset += n;
  }
  if (offset != size - 8 - header) fail("the tensors do not cover the data section");

  // A loaded checkpoint can be saved, and the saved image loads to the same thing.
  try {
    const std::vector<std::uint8_t> again = save_to_bytes(loaded.state, loaded.metadata);
    check_same(loaded, load_from_bytes(again.data(), again.size(), "round trip"));
  } catch (const std::exception& e) {
    fail(std::string("saving or reloading a loaded checkpoint threw: ") + e.what());
  }
  return 0;
}
