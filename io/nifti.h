#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"

/// NIfTI-1 and NIfTI-2 volumes (https://nifti.nimh.nih.gov), single-file `.nii` and gzip-compressed
/// `.nii.gz`, either byte order.
///
/// Axes. A volume's tensor is [C, D, H, W] with D = k, H = j, W = i, the file's voxel indices
/// (i fastest on disk), and C = the file's 4th dim (t; 1 for a 3-D file). This is the file's own
/// memory order, so no transpose is needed, and it is the order PyTorch's conv3d (N, C, D, H, W),
/// SimpleITK's GetArrayFromImage and ITK's numpy views use. nibabel's `get_fdata()` and MONAI's
/// loaders give the transpose (i, j, k[, t]): `volume.data[c][k][j][i] == nib_array[i, j, k, c]`.
///
/// Geometry. `affine` follows the NIfTI/nibabel convention, world (x, y, z, 1) = affine · (i, j, k, 1)
/// with (i, j, k) = (w, h, d): the sform if sform_code > 0, else the qform if qform_code > 0, else
/// diag(pixdim[1], pixdim[2], pixdim[3]) (NIfTI's "method 1"; nibabel instead returns an
/// Analyze-style centred, x-flipped affine for files with both codes 0, a deliberate difference).
/// `spacing` is in the tensor's (D, H, W) order: (pixdim[3], pixdim[2], pixdim[1]).
///
/// Values. `scl_slope`/`scl_inter` are applied as nibabel does (a slope of 0 or a non-finite slope
/// means no scaling; a valid slope with a non-finite intercept is an error). Readable datatypes:
/// uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64; complex, RGB/RGBA,
/// float128 and binary files are refused, as are files with dims beyond the 4th larger than 1.
///
/// Every malformed, truncated, unsupported or mislabelled file (a field contradicting another, a
/// `.nii` name on gzip content or the reverse) gives a voxgrad::Error naming the file and the field;
/// the header is validated against the file's size before any voxel memory is allocated. voxgrad
/// parses the header itself (with the struct layouts and quaternion math of libnifti2) rather than
/// calling nifti_image_read, which prints to stderr and accepts some inconsistent headers.
namespace voxgrad::io {

/// A NIfTI datatype code (the header's `datatype` field) that voxgrad reads and writes.
enum class NiftiDatatype : std::int16_t {
  UInt8 = 2,
  Int16 = 4,
  Int32 = 8,
  Float32 = 16,
  Float64 = 64,
  Int8 = 256,
  UInt16 = 512,
  UInt32 = 768,
  Int64 = 1024,
  UInt64 = 1280,
};

/// "uint8", "int16", ... (the numpy names nibabel uses).
std::string_view nifti_datatype_name(NiftiDatatype datatype);

/// Where a volume's affine came from.
enum class AffineSource : std::uint8_t { Sform, Qform, Spacing };

/// A 4×4 matrix, row-major: `affine[row][col]`.
using Affine = std::array<std::array<double, 4>, 4>;

/// The identity affine.
Affine identity_affine();

/// A volume: voxel data plus the geometry that places it in the world.
struct Volume {
  /// [C, D, H, W] (see the axis convention above); float32 by default.
  Tensor data;
  /// Voxel size along (D, H, W) = (pixdim[3], pixdim[2], pixdim[1]), usually mm.
  std::array<double, 3> spacing{1.0, 1.0, 1.0};
  /// world (x, y, z, 1) = affine · (i, j, k, 1), i = W index, j = H index, k = D index.
  Affine affine = identity_affine();
  /// Which header field `affine` was taken from.
  AffineSource affine_source = AffineSource::Spacing;
  /// The header's qform_code and sform_code (0 unknown, 1 scanner, 2 aligned, 3 talairach, 4 mni, 5 template).
  int qform_code = 0, sform_code = 0;
  /// The datatype on disk (for a volume read from a file), or the one write_nifti should prefer for
  /// int64 data (see write_nifti).
  NiftiDatatype datatype = NiftiDatatype::Float32;
  /// 1 or 2: the header format the file had.
  int nifti_version = 1;
  /// The scaling that was applied when reading (1 and 0 if the file has none).
  double scl_slope = 1.0, scl_inter = 0.0;

  /// The world coordinates of voxel (d, h, w) (fractional indices allowed): affine · (w, h, d, 1).
  std::array<double, 3> world(double d, double h, double w) const;
};

/// Options of read_nifti.
struct NiftiReadOptions {
  /// float32 (default), float64 or int64 (values must then be integers; a scaled non-integer is an error).
  VOXGRAD_ARG(DType, dtype) = kFloat32;
  /// The file's own type instead of `dtype`: float32 and float64 files stay float32 and float64;
  /// integer files become int64 (exact) when unscaled and float64 when scl_slope/scl_inter apply.
  VOXGRAD_ARG(bool, native_dtype) = false;
};

/// Options of write_nifti.
struct NiftiWriteOptions {
  /// The datatype on disk (default: float32/float64 for float32/float64 data; for int64 data,
  /// volume.datatype if it is an integer type, else int64). Integer types need integral values
  /// in range: anything else is an error naming the first offending voxel.
  VOXGRAD_ARG(std::optional<NiftiDatatype>, datatype);
  /// 1 or 2; 0 (default) writes NIfTI-1 unless a dim exceeds its 32767 limit.
  VOXGRAD_ARG(int, version) = 0;
};

/// Reads a `.nii` or `.nii.gz` file (see the namespace comment for axes, geometry and checks).
Volume read_nifti(const std::string& path, const NiftiReadOptions& options = {});

/// Reads an uncompressed NIfTI image held in memory with the same validation as read_nifti (the
/// fuzzer's entry point); `source` names it in error messages.
Volume read_nifti_from_bytes(const std::uint8_t* data, std::size_t size, const NiftiReadOptions& options = {},
                             const std::string& source = "<memory>");

/// Writes `volume` to `path` (`.nii`, or gzip-compressed `.nii.gz`). volume.data is [C, D, H, W]
/// or [D, H, W] (float32, float64 or int64); C > 1 is written as the 4th (t) dim. The sform is
/// `volume.affine` (code volume.sform_code, or 2 "aligned" if 0), the qform its closest
/// rotation + zoom (code volume.qform_code, or 1 "scanner" if 0), pixdim the spacing; no scaling
/// (scl_slope 1, scl_inter 0). Throws voxgrad::Error naming the path for a bad tensor, values that
/// do not fit the datatype, or any I/O failure.
void write_nifti(const std::string& path, const Volume& volume, const NiftiWriteOptions& options = {});

/// The bytes write_nifti writes for a `.nii` file.
std::vector<std::uint8_t> write_nifti_to_bytes(const Volume& volume, const NiftiWriteOptions& options = {});

}  // namespace voxgrad::io

namespace voxgrad {

using io::Affine;
using io::AffineSource;
using io::NiftiDatatype;
using io::NiftiReadOptions;
using io::NiftiWriteOptions;
using io::read_nifti;
using io::Volume;
using io::write_nifti;

}  // namespace voxgrad
