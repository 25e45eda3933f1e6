// The NIfTI header: validating what a file says before a single voxel is read, and writing one.
// The two header versions have the same field names with wider types in NIfTI-2, so one template
// reads both.

#include "voxgrad/io/detail/nifti_header.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

#include <nifti1.h>
#include <nifti2.h>
#include <nifti2_io.h>

namespace voxgrad::io::detail {

static_assert(sizeof(nifti_1_header) == kNifti1HeaderBytes && sizeof(nifti_2_header) == kNifti2HeaderBytes);
static_assert(std::endian::native == std::endian::little, "voxgrad's NIfTI writer assumes a little-endian host");

namespace {

constexpr std::uint64_t kMaxVoxelBytes = std::uint64_t{1} << 62;
constexpr std::int64_t kMaxNifti1Dim = 32767;
constexpr double kQuaternionTolerance = 1e-6;
constexpr char kNifti2Signature[4] = {'\r', '\n', '\032', '\n'};

// Datatypes a NIfTI file may name that voxgrad refuses, for the error message.
const char* unsupported_datatype_name(int code) {
  switch (code) {
    case DT_BINARY: return "binary (1 bit)";
    case DT_COMPLEX64: return "complex64";
    case DT_RGB24: return "RGB24";
    case DT_FLOAT128: return "float128";
    case DT_COMPLEX128: return "complex128";
    case DT_COMPLEX256: return "complex256";
    case DT_RGBA32: return "RGBA32";
    case DT_UNKNOWN: return "unknown (0)";
    default: return "not a NIfTI datatype";
  }
}

bool supported_datatype(int code) {
  switch (code) {
    case DT_UINT8:
    case DT_INT16:
    case DT_INT32:
    case DT_FLOAT32:
    case DT_FLOAT64:
    case DT_INT8:
    case DT_UINT16:
    case DT_UINT32:
    case DT_INT64:
    case DT_UINT64: return true;
    default: return false;
  }
}

std::int32_t read_i32(const std::uint8_t* p) {
  std::int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// A floating-point field that must be finite.
void check_finite(const Context& ctx, double value, const char* field) {
  if (!std::isfinite(value)) ctx.fail("{} = {} is not finite", field, value);
}

template <typename H>
NiftiHeader parse_fields(const Context& ctx, const H& h, int version) {
  NiftiHeader out;
  out.version = version;
  const auto ndim = static_cast<std::int64_t>(h.dim[0]);
  if (ndim < 1 || ndim > 7) ctx.fail("dim[0] = {} must be the number of dims, 1 to 7", ndim);
  for (std::int64_t i = 1; i <= ndim; ++i) {
    const auto n = static_cast<std::int64_t>(h.dim[i]);
    if (n < 1) ctx.fail("dim[{}] = {} must be positive (dim[0] = {})", i, n, ndim);
    if (version == 2 && n > (std::int64_t{1} << 40)) ctx.fail("dim[{}] = {} is implausibly large", i, n);
    if (i > 4 && n != 1) {
      ctx.fail("dim[{}] = {}: volumes with more than 4 dims (beyond i, j, k, t) are not supported", i, n);
    }
    if (i <= 4) out.ijkt[static_cast<std::size_t>(i - 1)] = n;
  }

  const int code = h.datatype;
  if (!supported_datatype(code)) ctx.fail("datatype = {} ({}) is not supported", code, unsupported_datatype_name(code));
  out.datatype = static_cast<NiftiDatatype>(code);
  out.element_bytes = nifti_element_bytes(out.datatype);
  if (h.bitpix != static_cast<int>(8 * out.element_bytes)) {
    ctx.fail("bitpix = {} does not match datatype {} ({} bits)", h.bitpix, nifti_datatype_name(out.datatype),
             8 * out.element_bytes);
  }
  out.voxels = 1;
  for (const std::int64_t n : out.ijkt) {
    if (static_cast<std::uint64_t>(n) > kMaxVoxelBytes / out.voxels) ctx.fail("dims {} overflow", out.ijkt);
    out.voxels *= static_cast<std::uint64_t>(n);
  }
  if (out.voxels > kMaxVoxelBytes / out.element_bytes) {
    ctx.fail("dims {} of {} need more than 2^62 bytes", out.ijkt, nifti_datatype_name(out.datatype));
  }
  out.data_bytes = out.voxels * out.element_bytes;

  const double offset = static_cast<double>(h.vox_offset);
  const double min_offset = version == 1 ? 352.0 : 544.0;
  if (!std::isfinite(offset) || offset != std::floor(offset) || offset < min_offset || offset > 0x1p62) {
    ctx.fail("vox_offset = {} must be an integer >= {} (the end of the header and its extension flags)", offset,
             min_offset);
  }
  out.vox_offset = static_cast<std::uint64_t>(offset);

  for (std::size_t i = 0; i < 3; ++i) {
    if (static_cast<std::int64_t>(i) >= ndim) break;  // pixdim of dims the file does not have stay 1
    const double d = h.pixdim[i + 1];
    if (!std::isfinite(d) || d <= 0) ctx.fail("pixdim[{}] = {}: the voxel spacing must be positive", i + 1, d);
    out.pixdim[i] = d;
  }
  out.qfac = h.pixdim[0] < 0 ? -1.0 : 1.0;

  // nibabel's rule: a zero or non-finite slope means unscaled data.
  const double slope = h.scl_slope, inter = h.scl_inter;
  if (slope != 0 && std::isfinite(slope)) {
    if (!std::isfinite(inter))
      ctx.fail("scl_inter = {} is not finite, but scl_slope = {} scales the data", inter, slope);
    out.scaled = slope != 1 || inter != 0;
    out.scl_slope = slope;
    out.scl_inter = inter;
  }

  out.qform_code = h.qform_code;
  out.sform_code = h.sform_code;
  if (out.qform_code < 0 || out.qform_code > 5)
    ctx.fail("qform_code = {} is not a NIfTI xform code (0 to 5)", out.qform_code);
  if (out.sform_code < 0 || out.sform_code > 5)
    ctx.fail("sform_code = {} is not a NIfTI xform code (0 to 5)", out.sform_code);
  Affine& a = out.affine;
  if (out.sform_code > 0) {
    const std::array rows{h.srow_x, h.srow_y, h.srow_z};
    for (std::size_t r = 0; r < 3; ++r) {
      for (std::size_t c = 0; c < 4; ++c) {
        a[r][c] = rows[r][c];
        if (!std::isfinite(a[r][c]))
          ctx.fail("srow_{}[{}] = {} is not finite (sform_code = {})", "xyz"[r], c, a[r][c], out.sform_code);
      }
    }
    out.affine_source = AffineSource::Sform;
  } else if (out.qform_code > 0) {
    const double b = h.quatern_b, c = h.quatern_c, d = h.quatern_d;
    check_finite(ctx, b, "quatern_b");
    check_finite(ctx, c, "quatern_c");
    check_finite(ctx, d, "quatern_d");
    check_finite(ctx, h.qoffset_x, "qoffset_x");
    check_finite(ctx, h.qoffset_y, "qoffset_y");
    check_finite(ctx, h.qoffset_z, "qoffset_z");
    const double norm2 = b * b + c * c + d * d;
    if (norm2 > 1 + kQuaternionTolerance) {
      ctx.fail("quatern_b, quatern_c, quatern_d = {}, {}, {} are not part of a unit quaternion (b²+c²+d² = {} > 1)", b,
               c, d, norm2);
    }
    const nifti_dmat44 m = nifti_quatern_to_dmat44(b, c, d, h.qoffset_x, h.qoffset_y, h.qoffset_z, out.pixdim[0],
                                                   out.pixdim[1], out.pixdim[2], out.qfac);
    for (std::size_t r = 0; r < 3; ++r) {
      for (std::size_t col = 0; col < 4; ++col) a[r][col] = m.m[r][col];
    }
    out.affine_source = AffineSource::Qform;
  } else {
    for (std::size_t r = 0; r < 3; ++r) a[r][r] = out.pixdim[r];
  }
  return out;
}

template <typename H>
H read_struct(const std::uint8_t* data, bool swapped, void (*swap)(H*)) {
  H h;
  std::memcpy(&h, data, sizeof h);
  if (swapped) swap(&h);
  return h;
}

// Fills the fields both header versions share (names are the same, NIfTI-2's types wider).
template <typename H, typename Dim>
void fill_fields(H& h, const Volume& volume, const std::array<std::int64_t, 4>& ijkt, NiftiDatatype datatype) {
  const int ndim = ijkt[3] > 1 ? 4 : 3;
  h.dim[0] = static_cast<Dim>(ndim);
  for (int i = 1; i < 8; ++i) h.dim[i] = static_cast<Dim>(i <= 4 ? ijkt[static_cast<std::size_t>(i - 1)] : 1);
  h.datatype = static_cast<std::int16_t>(datatype);
  h.bitpix = static_cast<std::int16_t>(8 * nifti_element_bytes(datatype));
  h.scl_slope = 1;
  h.scl_inter = 0;
  h.xyzt_units = static_cast<decltype(h.xyzt_units)>(NIFTI_UNITS_MM | (ndim == 4 ? NIFTI_UNITS_SEC : 0));
  std::strncpy(h.descrip, "voxgrad", sizeof h.descrip - 1);

  // pixdim in (i, j, k) order; the qform is the affine's closest rotation + zoom.
  nifti_dmat44 m{};
  for (std::size_t r = 0; r < 4; ++r) {
    for (std::size_t c = 0; c < 4; ++c) m.m[r][c] = volume.affine[r][c];
  }
  double qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac;
  nifti_dmat44_to_quatern(m, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac);
  h.pixdim[0] = static_cast<decltype(h.pixdim[0] + 0)>(qfac);
  for (int i = 1; i < 8; ++i) h.pixdim[i] = 1;
  h.pixdim[1] = volume.spacing[2];
  h.pixdim[2] = volume.spacing[1];
  h.pixdim[3] = volume.spacing[0];
  h.qform_code =
      static_cast<decltype(h.qform_code)>(volume.qform_code > 0 ? volume.qform_code : NIFTI_XFORM_SCANNER_ANAT);
  h.sform_code =
      static_cast<decltype(h.sform_code)>(volume.sform_code > 0 ? volume.sform_code : NIFTI_XFORM_ALIGNED_ANAT);
  h.quatern_b = qb;
  h.quatern_c = qc;
  h.quatern_d = qd;
  h.qoffset_x = qx;
  h.qoffset_y = qy;
  h.qoffset_z = qz;
  for (std::size_t c = 0; c < 4; ++c) {
    h.srow_x[c] = volume.affine[0][c];
    h.srow_y[c] = volume.affine[1][c];
    h.srow_z[c] = volume.affine[2][c];
  }
}

}  // namespace

std::size_t nifti_element_bytes(NiftiDatatype datatype) {
  int bytes = 0, swap = 0;
  nifti_datatype_sizes(static_cast<int>(datatype), &bytes, &swap);
  return static_cast<std::size_t>(bytes);
}

std::size_t nifti_header_bytes(const Context& ctx, const std::uint8_t* data, std::size_t size) {
  if (size < kNifti1HeaderBytes) {
    ctx.fail("the file holds {} bytes, fewer than a NIfTI header (348 bytes for NIfTI-1, 540 for NIfTI-2)", size);
  }
  const std::int32_t sizeof_hdr = read_i32(data);
  const std::int32_t swapped = static_cast<std::int32_t>(__builtin_bswap32(static_cast<std::uint32_t>(sizeof_hdr)));
  if (sizeof_hdr == 348 || swapped == 348) return kNifti1HeaderBytes;
  if (sizeof_hdr == 540 || swapped == 540) return kNifti2HeaderBytes;
  ctx.fail("sizeof_hdr = {} is neither 348 (NIfTI-1) nor 540 (NIfTI-2): not a NIfTI file", sizeof_hdr);
}

NiftiHeader parse_nifti_header(const Context& ctx, const std::uint8_t* data, std::size_t size) {
  const std::size_t header_bytes = nifti_header_bytes(ctx, data, size);
  if (size < header_bytes)
    ctx.fail("the file holds {} bytes, fewer than its {}-byte NIfTI-2 header", size, header_bytes);
  const bool swapped = read_i32(data) != static_cast<std::int32_t>(header_bytes);
  const auto check_magic = [&](const char* magic, char version) {
    const std::string_view shown(magic, ::strnlen(magic, 4));
    if (magic[0] == 'n' && magic[1] == 'i' && magic[2] == version && magic[3] == '\0') {
      ctx.fail("magic = '{}': the header of a .hdr/.img pair, which voxgrad does not read (convert it to .nii)", shown);
    }
    if (magic[0] != 'n' || magic[1] != '+' || magic[2] != version || magic[3] != '\0') {
      ctx.fail("magic = '{}' is not 'n+{}' (sizeof_hdr = {}): not a single-file NIfTI-{} (an Analyze file?)", shown,
               version, header_bytes, version);
    }
  };
  if (header_bytes == kNifti1HeaderBytes) {
    const auto h = read_struct<nifti_1_header>(data, swapped, nifti_swap_as_nifti1);
    check_magic(h.magic, '1');
    NiftiHeader out = parse_fields(ctx, h, 1);
    out.swapped = swapped;
    return out;
  }
  const auto h = read_struct<nifti_2_header>(data, swapped, nifti_swap_as_nifti2);
  check_magic(h.magic, '2');
  if (std::memcmp(h.magic + 4, kNifti2Signature, 4) != 0) {
    ctx.fail("magic bytes 4 to 7 are not NIfTI-2's \\r\\n\\032\\n signature (file corrupted by a text-mode transfer?)");
  }
  NiftiHeader out = parse_fields(ctx, h, 2);
  out.swapped = swapped;
  return out;
}

std::vector<std::uint8_t> encode_nifti_header(const Context& ctx, const Volume& volume,
                                              const std::array<std::int64_t, 4>& ijkt, NiftiDatatype datatype,
                                              int version) {
  std::int64_t largest = 1;
  for (const std::int64_t n : ijkt) largest = std::max(largest, n);
  if (version == 0) version = largest > kMaxNifti1Dim ? 2 : 1;
  if (version != 1 && version != 2) ctx.fail("version = {} must be 0 (automatic), 1 or 2", version);
  if (version == 1 && largest > kMaxNifti1Dim) {
    ctx.fail("dims (i, j, k, t) = {} exceed NIfTI-1's limit of 32767; write NIfTI-2 (version 2 or 0)", ijkt);
  }
  for (std::size_t r = 0; r < 4; ++r) {
    for (std::size_t c = 0; c < 4; ++c) {
      if (!std::isfinite(volume.affine[r][c])) ctx.fail("affine[{}][{}] = {} is not finite", r, c, volume.affine[r][c]);
    }
  }
  for (std::size_t i = 0; i < 3; ++i) {
    if (!std::isfinite(volume.spacing[i]) || volume.spacing[i] <= 0) {
      ctx.fail("spacing[{}] = {} must be positive", i, volume.spacing[i]);
    }
  }
  for (const auto& [code, name] :
       {std::pair{volume.qform_code, "qform_code"}, std::pair{volume.sform_code, "sform_code"}}) {
    if (code < 0 || code > 5) ctx.fail("{} = {} is not a NIfTI xform code (0 to 5)", name, code);
  }
  std::vector<std::uint8_t> out;
  if (version == 1) {
    nifti_1_header h{};
    h.sizeof_hdr = static_cast<int>(kNifti1HeaderBytes);
    fill_fields<nifti_1_header, short>(h, volume, ijkt, datatype);
    h.vox_offset = 352;
    std::memcpy(h.magic, "n+1", 4);
    out.resize(352, 0);
    std::memcpy(out.data(), &h, sizeof h);
  } else {
    nifti_2_header h{};
    h.sizeof_hdr = static_cast<int>(kNifti2HeaderBytes);
    fill_fields<nifti_2_header, std::int64_t>(h, volume, ijkt, datatype);
    h.vox_offset = 544;
    std::memcpy(h.magic, "n+2\0\r\n\032\n", 8);
    out.resize(544, 0);
    std::memcpy(out.data(), &h, sizeof h);
  }
  return out;
}

}  // namespace voxgrad::io::detail
