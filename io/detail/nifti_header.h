#pragma once
// Internal: the NIfTI-1/NIfTI-2 header, validated (parse_nifti_header) and built (encode_nifti_header),
// shared by io/nifti.cpp's readers and writers and the fuzzer. The struct layouts and the quaternion
// math come from libnifti2 (nifti1.h, nifti2.h, nifti2_io.h), which only the .cpp includes.

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "voxgrad/io/detail/context.h"
#include "voxgrad/io/nifti.h"

namespace voxgrad::io::detail {

// Bytes of a NIfTI-1 and a NIfTI-2 header (the 4 extension-flag bytes that follow are not counted).
inline constexpr std::size_t kNifti1HeaderBytes = 348;
inline constexpr std::size_t kNifti2HeaderBytes = 540;

// What voxgrad uses of a header, in host byte order, after every check below.
struct NiftiHeader {
  int version = 1;                               // 1 or 2
  bool swapped = false;                          // the file's byte order is not the host's
  std::array<std::int64_t, 4> ijkt{1, 1, 1, 1};  // dim[1..4], 1 beyond dim[0]
  NiftiDatatype datatype = NiftiDatatype::Float32;
  std::size_t element_bytes = 4;                // bitpix / 8
  std::array<double, 3> pixdim{1.0, 1.0, 1.0};  // pixdim[1..3] (1 beyond dim[0])
  double qfac = 1.0;                            // pixdim[0] < 0 ? -1 : 1
  std::uint64_t vox_offset = 0;                 // where the voxels start
  std::uint64_t voxels = 0;                     // dim[1] · ... · dim[4]
  std::uint64_t data_bytes = 0;                 // voxels · element_bytes
  bool scaled = false;                          // scl_slope/scl_inter apply (nibabel's rule)
  double scl_slope = 1.0, scl_inter = 0.0;
  int qform_code = 0, sform_code = 0;
  Affine affine = identity_affine();
  AffineSource affine_source = AffineSource::Spacing;
};

// Bytes of the header the first `size` bytes start: 348 or 540 (which one sizeof_hdr, in either
// byte order, says). Throws (naming sizeof_hdr) for anything else or fewer than 348 bytes.
std::size_t nifti_header_bytes(const Context& ctx, const std::uint8_t* data, std::size_t size);

// Parses and validates the header at `data` (size >= nifti_header_bytes()). The checks, each a
// voxgrad::Error naming the field and its value: sizeof_hdr is 348 or 540 in either byte order;
// magic is "n+1" / "n+2" (with NIfTI-2's "\r\n\032\n" signature; "ni1"/"ni2" .hdr/.img pairs and
// Analyze files are refused); 1 <= dim[0] <= 7, dim[1..dim[0]] >= 1 and dims beyond the 4th are 1;
// datatype is one voxgrad reads (complex, RGB, float128, binary named as unsupported) and bitpix is
// its size; voxel count and byte size fit 2^62; vox_offset is an integer >= 352 (NIfTI-1) or 544
// (NIfTI-2); pixdim[1..dim[0]] (at most 3) are finite and > 0; qform_code and sform_code are in
// 0..5; a used sform is finite, a used quaternion finite with b²+c²+d² <= 1 (+1e-6); a valid
// scl_slope comes with a finite scl_inter. The voxel data itself is not looked at.
NiftiHeader parse_nifti_header(const Context& ctx, const std::uint8_t* data, std::size_t size);

// Bytes of one element of `datatype`.
std::size_t nifti_element_bytes(NiftiDatatype datatype);

// The header (plus the 4 zero extension bytes) of a little-endian single file holding a volume of
// `ijkt` voxels of `datatype` with volume's geometry, `version` 1 or 2 (0: 1 unless a dim exceeds
// 32767); its size is the vox_offset (352 or 544).
std::vector<std::uint8_t> encode_nifti_header(const Context& ctx, const Volume& volume,
                                              const std::array<std::int64_t, 4>& ijkt, NiftiDatatype datatype,
                                              int version);

}  // namespace voxgrad::io::detail
