// libFuzzer target for the NIfTI reader (io/nifti.h): the fuzzer's bytes are a whole uncompressed
// .nii image given to read_nifti_from_bytes(), which runs the same header validation and data-size
// logic as read_nifti() (sizeof_hdr and byte order, magic, dims, datatype/bitpix, vox_offset, the
// voxel count against the bytes present, pixdim, xform codes, sform/qform, scaling).
//
// Allowed outcomes: voxgrad::Error, or a volume consistent with the image: a contiguous
// [C, D, H, W] tensor of the requested dtype whose voxel count the image really holds (at most its
// size in voxels of one byte each), finite positive spacing, a finite affine; and (read with the
// file's own dtype) a volume that write_nifti_to_bytes() can write and that reads back bit-identical.
// Anything else -- a crash, ASan/UBSan report, an allocation beyond -malloc_limit_mb, another
// exception type -- is reported by libFuzzer.
// Run: FUZZ_TARGETS=fuzz_nifti scripts/fuzz.sh; reproduce: build/h_fuzz/tests/fuzz/fuzz_nifti FILE.

#include <cmath>
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
  std::fprintf(stderr, "fuzz_nifti: %s\n", what.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

void check_consistent(const Volume& v, std::size_t size, DType dtype) {
  const Tensor& t = v.data;
  if (!t.defined() || t.dim() != 4 || !t.is_contiguous() || t.dtype() != dtype) fail("bad tensor");
  if (t.numel() < 1 || static_cast<std::uint64_t>(t.numel()) > size) fail("more voxels than bytes in the image");
  for (const double s : v.spacing) {
    if (!std::isfinite(s) || s <= 0) fail("bad spacing");
  }
  for (const auto& row : v.affine) {
    for (const double x : row) {
      if (!std::isfinite(x)) fail("non-finite affine");
    }
  }
}

template <typename Fn>
bool guarded(const char* what, Fn fn) {
  try {
    fn();
    return true;
  } catch (const Error&) {
    return false;
  } catch (const std::exception& e) {
    fail(std::string(what) + " threw a non-voxgrad exception: " + e.what());
  } catch (...) {
    fail(std::string(what) + " threw an unknown exception");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Volume native;
  if (!guarded("read_nifti_from_bytes", [&] {
        native = io::read_nifti_from_bytes(data, size, NiftiReadOptions().native_dtype(true), "fuzz");
      })) {
    return 0;
  }
  check_consistent(native, size, native.data.dtype());
  // The float32 read accepts every image the native read does (only int64 output can refuse values).
  Volume f32;
  if (!guarded("read_nifti_from_bytes (float32)", [&] { f32 = io::read_nifti_from_bytes(data, size, {}, "fuzz"); })) {
    fail("the float32 read refused an image the native read accepted");
  }
  check_consistent(f32, size, kFloat32);

  // What was read can be written, and reads back bit-identical.
  try {
    const std::vector<std::uint8_t> again = io::write_nifti_to_bytes(native);
    const Volume back =
        io::read_nifti_from_bytes(again.data(), again.size(), NiftiReadOptions().native_dtype(true), "again");
    const Tensor a = native.data, b = back.data;
    if (a.sizes() != b.sizes() || a.dtype() != b.dtype()) fail("round trip changed the shape or dtype");
    if (std::memcmp(a.raw_data_ptr(), b.raw_data_ptr(),
                    static_cast<std::size_t>(a.numel()) * element_size(a.dtype())) != 0) {
      fail("round trip changed the voxels");
    }
  } catch (const std::exception& e) {
    fail(std::string("writing or rereading a volume that was read threw: ") + e.what());
  }
  return 0;
}
