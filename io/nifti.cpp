// NIfTI volumes: the voxel data in and out (conversion, scaling, range checks) and the files
// (plain or gzip through zlib). The header's validation lives in io/detail/nifti_header.cpp.

#include "voxgrad/io/nifti.h"

#include <zlib.h>

#include <unistd.h>
#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>
#include <type_traits>

#include "voxgrad/core/factory.h"
#include "voxgrad/io/detail/nifti_header.h"

namespace voxgrad::io {

namespace {

using detail::Context;
using detail::NiftiHeader;

// gzip can expand at most ~1032:1; a header promising more than this many bytes per compressed
// byte is corrupt, and is refused before anything that large is allocated.
constexpr std::uint64_t kMaxGzipRatio = 1032;
constexpr unsigned kIoChunk = 1u << 26;

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Calls f(Raw{}) with the C++ type of a NIfTI datatype.
template <typename F>
decltype(auto) visit_datatype(NiftiDatatype datatype, F&& f) {
  switch (datatype) {
    case NiftiDatatype::UInt8: return f(std::uint8_t{});
    case NiftiDatatype::Int8: return f(std::int8_t{});
    case NiftiDatatype::Int16: return f(std::int16_t{});
    case NiftiDatatype::UInt16: return f(std::uint16_t{});
    case NiftiDatatype::Int32: return f(std::int32_t{});
    case NiftiDatatype::UInt32: return f(std::uint32_t{});
    case NiftiDatatype::Int64: return f(std::int64_t{});
    case NiftiDatatype::UInt64: return f(std::uint64_t{});
    case NiftiDatatype::Float32: return f(float{});
    case NiftiDatatype::Float64: return f(double{});
  }
  throw Error(fmt::format("NIfTI: datatype code {} is not supported", static_cast<int>(datatype)));
}

// Calls f(T{}) with the C++ type of a voxgrad dtype.
template <typename F>
decltype(auto) visit_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Int64: return f(std::int64_t{});
  }
  throw Error(fmt::format("NIfTI: dtype {} is not supported", dtype));
}

// The NIfTI datatype of a C++ element type.
template <typename Raw>
constexpr NiftiDatatype datatype_of() {
  if constexpr (std::is_same_v<Raw, std::uint8_t>) return NiftiDatatype::UInt8;
  if constexpr (std::is_same_v<Raw, std::int8_t>) return NiftiDatatype::Int8;
  if constexpr (std::is_same_v<Raw, std::int16_t>) return NiftiDatatype::Int16;
  if constexpr (std::is_same_v<Raw, std::uint16_t>) return NiftiDatatype::UInt16;
  if constexpr (std::is_same_v<Raw, std::int32_t>) return NiftiDatatype::Int32;
  if constexpr (std::is_same_v<Raw, std::uint32_t>) return NiftiDatatype::UInt32;
  if constexpr (std::is_same_v<Raw, std::int64_t>) return NiftiDatatype::Int64;
  if constexpr (std::is_same_v<Raw, std::uint64_t>) return NiftiDatatype::UInt64;
  if constexpr (std::is_same_v<Raw, float>) return NiftiDatatype::Float32;
  return NiftiDatatype::Float64;
}

template <typename Raw>
Raw load_raw(const std::uint8_t* p, bool swapped) {
  using Bits =
      std::conditional_t<sizeof(Raw) == 1, std::uint8_t,
                         std::conditional_t<sizeof(Raw) == 2, std::uint16_t,
                                            std::conditional_t<sizeof(Raw) == 4, std::uint32_t, std::uint64_t>>>;
  Bits bits;
  std::memcpy(&bits, p, sizeof bits);
  if (swapped) {
    if constexpr (sizeof(Bits) == 2) bits = __builtin_bswap16(bits);
    if constexpr (sizeof(Bits) == 4) bits = __builtin_bswap32(bits);
    if constexpr (sizeof(Bits) == 8) bits = __builtin_bswap64(bits);
  }
  return std::bit_cast<Raw>(bits);
}

// "voxel (i, j, k, t) = (3, 0, 2, 0)" for the flat file index n.
std::string voxel_name(std::uint64_t n, const std::array<std::int64_t, 4>& ijkt) {
  std::array<std::uint64_t, 4> idx{};
  for (std::size_t a = 0; a < 4; ++a) {
    idx[a] = n % static_cast<std::uint64_t>(ijkt[a]);
    n /= static_cast<std::uint64_t>(ijkt[a]);
  }
  return fmt::format("voxel (i, j, k, t) = ({})", fmt::join(idx, ", "));
}

// An exact integer for int64 output: the value must be integral and fit.
std::int64_t to_int64(const Context& ctx, double v, std::uint64_t n, const NiftiHeader& h) {
  if (!(v == std::nearbyint(v)) || v < -0x1p63 || v >= 0x1p63) {
    ctx.fail("{} = {} (after scl_slope {}, scl_inter {}) is not an int64 integer; read it as float32 or float64",
             voxel_name(n, h.ijkt), v, h.scl_slope, h.scl_inter);
  }
  return static_cast<std::int64_t>(v);
}

template <typename Raw, typename Out>
void decode_voxels(const Context& ctx, const NiftiHeader& h, const std::uint8_t* src, Out* dst) {
  for (std::uint64_t n = 0; n < h.voxels; ++n) {
    const Raw raw = load_raw<Raw>(src + n * sizeof(Raw), h.swapped);
    if constexpr (std::is_same_v<Out, std::int64_t>) {
      if constexpr (std::is_integral_v<Raw>) {
        if (!h.scaled && (!std::is_same_v<Raw, std::uint64_t> || raw <= static_cast<Raw>(INT64_MAX))) {
          dst[n] = static_cast<std::int64_t>(raw);
          continue;
        }
      }
      dst[n] = to_int64(ctx, h.scaled ? static_cast<double>(raw) * h.scl_slope + h.scl_inter : static_cast<double>(raw),
                        n, h);
    } else if (h.scaled) {
      dst[n] = static_cast<Out>(static_cast<double>(raw) * h.scl_slope + h.scl_inter);
    } else {
      dst[n] = static_cast<Out>(raw);
    }
  }
}

DType output_dtype(const NiftiHeader& h, const NiftiReadOptions& options) {
  if (!options.native_dtype()) return options.dtype();
  if (h.datatype == NiftiDatatype::Float32) return h.scaled ? kFloat64 : kFloat32;
  if (h.datatype == NiftiDatatype::Float64) return kFloat64;
  return h.scaled ? kFloat64 : kInt64;
}

// The volume a validated header and its `available` bytes of voxel data (from vox_offset on) describe.
Volume decode_image(const Context& ctx, const NiftiHeader& h, const std::uint8_t* voxels, std::uint64_t available,
                    const NiftiReadOptions& options) {
  if (available < h.data_bytes) {
    ctx.fail(
        "the file is truncated: the header promises {} bytes of voxel data ({} {} voxels, dims (i, j, k, t) = {}) "
        "from vox_offset {}, but only {} bytes follow",
        h.data_bytes, h.voxels, nifti_datatype_name(h.datatype), h.ijkt, h.vox_offset, available);
  }
  const DType dtype = output_dtype(h, options);
  Volume v;
  v.data = empty({h.ijkt[3], h.ijkt[2], h.ijkt[1], h.ijkt[0]}, dtype);
  visit_datatype(h.datatype, [&](auto raw) {
    visit_dtype(dtype, [&](auto out) {
      using Out = decltype(out);
      decode_voxels<decltype(raw)>(ctx, h, voxels, v.data.template data_ptr<Out>());
    });
  });
  v.spacing = {h.pixdim[2], h.pixdim[1], h.pixdim[0]};
  v.affine = h.affine;
  v.affine_source = h.affine_source;
  v.qform_code = h.qform_code;
  v.sform_code = h.sform_code;
  v.datatype = h.datatype;
  v.nifti_version = h.version;
  v.scl_slope = h.scl_slope;
  v.scl_inter = h.scl_inter;
  return v;
}

// --- writing ----------------------------------------------------------------------------------

NiftiDatatype default_datatype(const Volume& volume) {
  switch (volume.data.dtype()) {
    case DType::Float32: return NiftiDatatype::Float32;
    case DType::Float64: return NiftiDatatype::Float64;
    case DType::Int64: break;
  }
  const bool integer = volume.datatype != NiftiDatatype::Float32 && volume.datatype != NiftiDatatype::Float64;
  return integer ? volume.datatype : NiftiDatatype::Int64;
}

template <typename Raw, typename In>
void encode_voxels(const Context& ctx, const In* src, std::uint64_t count, const std::array<std::int64_t, 4>& ijkt,
                   std::uint8_t* dst) {
  for (std::uint64_t n = 0; n < count; ++n) {
    const In v = src[n];
    Raw raw;
    if constexpr (std::is_integral_v<Raw> && std::is_integral_v<In>) {
      if (!std::in_range<Raw>(v)) {
        ctx.fail("{} = {} does not fit {}", voxel_name(n, ijkt), v, nifti_datatype_name(datatype_of<Raw>()));
      }
      raw = static_cast<Raw>(v);
    } else if constexpr (std::is_integral_v<Raw>) {
      // 0x1p63 and 0x1p64 are exact doubles: the bounds of int64 and uint64 are tested exactly.
      const double lo = static_cast<double>(std::numeric_limits<Raw>::min());
      const double hi_excl = std::ldexp(1.0, std::numeric_limits<Raw>::digits);
      if (!(v == std::nearbyint(v)) || v < lo || v >= hi_excl) {
        ctx.fail("{} = {} is not an integer that fits {}", voxel_name(n, ijkt), static_cast<double>(v),
                 nifti_datatype_name(datatype_of<Raw>()));
      }
      raw = static_cast<Raw>(v);
    } else {
      if (std::isfinite(static_cast<double>(v)) && std::is_same_v<Raw, float> &&
          std::abs(static_cast<double>(v)) > std::numeric_limits<float>::max()) {
        ctx.fail("{} = {} overflows float32", voxel_name(n, ijkt), static_cast<double>(v));
      }
      raw = static_cast<Raw>(v);
    }
    std::memcpy(dst + n * sizeof(Raw), &raw, sizeof raw);
  }
}

std::vector<std::uint8_t> encode_image(const Context& ctx, const Volume& volume, const NiftiWriteOptions& options) {
  const Tensor& data = volume.data;
  if (!data.defined()) ctx.fail("volume.data is undefined");
  if (data.dim() != 3 && data.dim() != 4) {
    ctx.fail("volume.data must be [C, D, H, W] or [D, H, W], but has shape {}", data.sizes());
  }
  if (data.numel() == 0) ctx.fail("volume.data has shape {}, with no voxels", data.sizes());
  const Tensor x = data.contiguous();
  const std::int64_t c = data.dim() == 4 ? data.size(0) : 1;
  const std::array<std::int64_t, 4> ijkt{data.size(-1), data.size(-2), data.size(-3), c};
  const NiftiDatatype datatype = options.datatype().value_or(default_datatype(volume));
  std::vector<std::uint8_t> bytes = detail::encode_nifti_header(ctx, volume, ijkt, datatype, options.version());
  const std::size_t offset = bytes.size();
  const auto count = static_cast<std::uint64_t>(x.numel());
  bytes.resize(offset + count * detail::nifti_element_bytes(datatype));
  visit_datatype(datatype, [&](auto raw) {
    visit_dtype(x.dtype(), [&](auto in) {
      using In = decltype(in);
      encode_voxels<decltype(raw)>(ctx, x.data_ptr<In>(), count, ijkt, bytes.data() + offset);
    });
  });
  return bytes;
}

// --- files ------------------------------------------------------------------------------------

void check_name(const Context& ctx) {
  if (!ends_with(ctx.source, ".nii") && !ends_with(ctx.source, ".nii.gz")) {
    ctx.fail("the file name must end in .nii or .nii.gz (.hdr/.img pairs are not supported)");
  }
}

std::string errno_text(int err) { return std::system_category().message(err); }

// Owns a zlib file.
struct GzFile {
  gzFile f = nullptr;
  ~GzFile() {
    if (f != nullptr) gzclose(f);
  }
};

// Reads up to `size` bytes; returns how many were read (fewer only at the end of the data).
// `base` is the position of dst[0] in the (decompressed) file, for messages.
std::uint64_t gz_read(const Context& ctx, gzFile f, std::uint8_t* dst, std::uint64_t size, std::uint64_t base) {
  std::uint64_t done = 0;
  while (done < size) {
    const auto chunk = static_cast<unsigned>(std::min<std::uint64_t>(size - done, kIoChunk));
    const int got = gzread(f, dst + done, chunk);
    if (got < 0) {
      int err = 0;
      const char* text = gzerror(f, &err);
      ctx.fail("read failed at byte {}: {}", base + done, err == Z_ERRNO ? errno_text(errno) : std::string(text));
    }
    if (got == 0) break;
    done += static_cast<std::uint64_t>(got);
  }
  return done;
}

}  // namespace

Volume read_nifti_from_bytes(const std::uint8_t* data, std::size_t size, const NiftiReadOptions& options,
                             const std::string& source) {
  const Context ctx{"read_nifti", source};
  const NiftiHeader h = detail::parse_nifti_header(ctx, data, size);
  const std::uint64_t available = h.vox_offset <= size ? size - h.vox_offset : 0;
  return decode_image(ctx, h, data + std::min<std::uint64_t>(h.vox_offset, size), available, options);
}

Volume read_nifti(const std::string& path, const NiftiReadOptions& options) {
  const Context ctx{"read_nifti", path};
  check_name(ctx);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    ctx.fail("{}", std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
  }
  const std::uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) ctx.fail("cannot stat the file: {}", ec.message());

  std::uint8_t magic[2] = {0, 0};
  {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) ctx.fail("cannot open the file: {}", errno_text(errno));
    const std::size_t got = std::fread(magic, 1, 2, f);
    std::fclose(f);
    const bool gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (gzip != ends_with(path, ".gz")) {
      ctx.fail("the name ends in {} but the content is {} (mislabelled file)", gzip ? ".nii" : ".nii.gz",
               gzip ? "gzip-compressed" : "not gzip-compressed");
    }
  }
  GzFile gz{gzopen(path.c_str(), "rb")};
  if (gz.f == nullptr) ctx.fail("cannot open the file: {}", errno_text(errno));
  gzbuffer(gz.f, 1u << 17);

  std::vector<std::uint8_t> image(detail::kNifti2HeaderBytes);
  const std::uint64_t head = gz_read(ctx, gz.f, image.data(), image.size(), 0);
  const NiftiHeader h = detail::parse_nifti_header(ctx, image.data(), head);
  const bool gzip = ends_with(path, ".gz");
  const std::uint64_t needed = h.vox_offset + h.data_bytes;
  const std::uint64_t limit = gzip ? file_size * kMaxGzipRatio + (1u << 16) : file_size;
  if (needed > limit) {
    ctx.fail(
        "the file is truncated: the header promises {} bytes of voxel data ({} {} voxels, dims (i, j, k, t) = {}) "
        "from vox_offset {}, but the {}file has {} bytes",
        h.data_bytes, h.voxels, nifti_datatype_name(h.datatype), h.ijkt, h.vox_offset, gzip ? "gzip-compressed " : "",
        file_size);
  }
  if (needed > head) {
    image.resize(needed);
    const std::uint64_t rest = gz_read(ctx, gz.f, image.data() + head, needed - head, head);
    image.resize(head + rest);
  }
  const std::uint64_t available = image.size() > h.vox_offset ? image.size() - h.vox_offset : 0;
  return decode_image(ctx, h, image.data() + std::min<std::uint64_t>(h.vox_offset, image.size()), available, options);
}

std::vector<std::uint8_t> write_nifti_to_bytes(const Volume& volume, const NiftiWriteOptions& options) {
  const std::string source = "<memory>";
  return encode_image(Context{"write_nifti", source}, volume, options);
}

void write_nifti(const std::string& path, const Volume& volume, const NiftiWriteOptions& options) {
  const Context ctx{"write_nifti", path};
  check_name(ctx);
  const std::vector<std::uint8_t> bytes = encode_image(ctx, volume, options);
  // Written next to the target, then renamed over it: a failed write never leaves a partial file.
  const std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
  GzFile gz{gzopen(tmp.c_str(), ends_with(path, ".gz") ? "wb6" : "wbT")};
  if (gz.f == nullptr) ctx.fail("cannot create '{}': {}", tmp, errno_text(errno));
  std::uint64_t done = 0;
  while (done < bytes.size()) {
    const auto chunk = static_cast<unsigned>(std::min<std::uint64_t>(bytes.size() - done, kIoChunk));
    if (gzwrite(gz.f, bytes.data() + done, chunk) != static_cast<int>(chunk)) {
      int err = 0;
      const char* text = gzerror(gz.f, &err);
      const std::string why = err == Z_ERRNO ? errno_text(errno) : std::string(text);
      std::remove(tmp.c_str());
      ctx.fail("write failed at byte {}: {}", done, why);
    }
    done += chunk;
  }
  const int rc = gzclose(std::exchange(gz.f, nullptr));
  std::error_code ec;
  if (rc != Z_OK) {
    std::filesystem::remove(tmp, ec);
    ctx.fail("closing the file failed (zlib error {}): {}", rc, errno_text(errno));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    ctx.fail("cannot rename the written file into place: {}", ec.message());
  }
}

std::string_view nifti_datatype_name(NiftiDatatype datatype) {
  switch (datatype) {
    case NiftiDatatype::UInt8: return "uint8";
    case NiftiDatatype::Int8: return "int8";
    case NiftiDatatype::Int16: return "int16";
    case NiftiDatatype::UInt16: return "uint16";
    case NiftiDatatype::Int32: return "int32";
    case NiftiDatatype::UInt32: return "uint32";
    case NiftiDatatype::Int64: return "int64";
    case NiftiDatatype::UInt64: return "uint64";
    case NiftiDatatype::Float32: return "float32";
    case NiftiDatatype::Float64: return "float64";
  }
  return "unknown";
}

Affine identity_affine() {
  Affine a{};
  for (std::size_t i = 0; i < 4; ++i) a[i][i] = 1.0;
  return a;
}

std::array<double, 3> Volume::world(double d, double h, double w) const {
  std::array<double, 3> out{};
  for (std::size_t r = 0; r < 3; ++r) out[r] = affine[r][0] * w + affine[r][1] * h + affine[r][2] * d + affine[r][3];
  return out;
}

}  // namespace voxgrad::io
