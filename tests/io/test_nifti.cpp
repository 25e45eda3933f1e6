// NIfTI reading and writing: fixtures written by nibabel (tests/fixtures/nifti, see
// generate_nifti_fixtures.py) read exactly, round trips through every datatype and both versions,
// nibabel reading back what voxgrad writes (when nibabel is installed), and an error naming the
// file and the field for every kind of broken file.

#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace voxgrad {
namespace {

namespace fs = std::filesystem;
using testing::values;

const std::string kFixtures = std::string(VOXGRAD_FIXTURE_DIR) + "/nifti/";

nlohmann::json expected_fixtures() {
  std::ifstream in(kFixtures + "expected.json");
  return nlohmann::json::parse(in);
}

class NiftiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           fmt::format("voxgrad_nifti_{}_{}_{}", info->test_suite_name(), info->name(), ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

std::vector<std::uint8_t> file_bytes(const std::string& path) {
  const std::string s = testing::read_bytes(path);
  return {s.begin(), s.end()};
}

void put_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

template <typename T>
void poke(std::vector<std::uint8_t>& bytes, std::size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

// --- fixtures written by nibabel -------------------------------------------------------------

TEST(NiftiFixtures, EveryFileReadsAsNibabelReadsIt) {
  const nlohmann::json fixtures = expected_fixtures();
  ASSERT_GE(fixtures.size(), 10u);
  for (const auto& e : fixtures) {
    const std::string file = e["file"];
    SCOPED_TRACE(file);
    const auto ijkt = e["ijkt"].get<std::vector<std::int64_t>>();
    const Shape shape{ijkt[3], ijkt[2], ijkt[1], ijkt[0]};
    const auto expected = e["values"].get<std::vector<double>>();

    const Volume f64 = read_nifti(kFixtures + file, NiftiReadOptions().dtype(kFloat64));
    ASSERT_EQ(f64.data.dtype(), kFloat64);
    ASSERT_EQ(f64.data.sizes(), shape);
    EXPECT_EQ(values(f64.data), expected) << "float64 values differ from nibabel's get_fdata()";

    const Volume f32 = read_nifti(kFixtures + file);
    ASSERT_EQ(f32.data.dtype(), kFloat32);
    const std::vector<double> got32 = values(f32.data);
    for (std::size_t i = 0; i < expected.size(); ++i) {
      ASSERT_EQ(got32[i], static_cast<double>(static_cast<float>(expected[i]))) << "float32 value " << i;
    }

    const int datatype = e["datatype"];
    EXPECT_EQ(static_cast<int>(f64.datatype), datatype);
    EXPECT_EQ(f64.nifti_version, e["version"].get<int>());
    EXPECT_EQ(f64.sform_code, e["sform_code"].get<int>());
    EXPECT_EQ(f64.qform_code, e["qform_code"].get<int>());
    const auto pixdim = e["pixdim"].get<std::vector<double>>();
    EXPECT_EQ(f64.spacing, (std::array<double, 3>{pixdim[2], pixdim[1], pixdim[0]})) << "spacing is (D, H, W)";
    const auto affine = e["affine"].get<std::vector<std::vector<double>>>();
    // sform fields are copied exactly; a qform goes through libnifti's quaternion math, nibabel's
    // through its own, so the two agree to rounding.
    const double tol = f64.affine_source == AffineSource::Qform ? 1e-6 : 0.0;
    for (std::size_t r = 0; r < 4; ++r) {
      for (std::size_t c = 0; c < 4; ++c) EXPECT_NEAR(f64.affine[r][c], affine[r][c], tol) << "affine " << r << c;
    }
    EXPECT_EQ(f64.affine_source, f64.sform_code > 0   ? AffineSource::Sform
                                 : f64.qform_code > 0 ? AffineSource::Qform
                                                      : AffineSource::Spacing);

    const Volume native = read_nifti(kFixtures + file, NiftiReadOptions().native_dtype(true));
    const bool scaled = e["scaled"];
    if (e.contains("raw")) {
      ASSERT_EQ(native.data.dtype(), kInt64) << "an unscaled integer file reads as int64";
      const Tensor c = native.data.contiguous();
      const auto raw = e["raw"].get<std::vector<std::int64_t>>();
      ASSERT_EQ(static_cast<std::size_t>(c.numel()), raw.size());
      EXPECT_TRUE(std::equal(raw.begin(), raw.end(), c.data_ptr<std::int64_t>()));
    } else if (datatype == 16 && !scaled) {
      EXPECT_EQ(native.data.dtype(), kFloat32);
    } else {
      EXPECT_EQ(native.data.dtype(), kFloat64);
      EXPECT_EQ(values(native.data), expected);
    }
  }
}

TEST(NiftiFixtures, AxesAreKJIAndTheAffineMapsFileIndices) {
  // n1_float32_sform.nii holds value 0.25·(i + 4j + 12k) − 1 at (i, j, k): tensor [0][k][j][i].
  const Volume v = read_nifti(kFixtures + "n1_float32_sform.nii");
  ASSERT_EQ(v.data.sizes(), (Shape{1, 2, 3, 4}));
  EXPECT_EQ(v.data.select(0, 0).select(0, 1).select(0, 2).select(0, 3).item<double>(), 0.25 * (3 + 4 * 2 + 12 * 1) - 1);
  // world() takes (d, h, w) and applies the affine to (w, h, d).
  const std::array<double, 3> x = v.world(1, 2, 3);
  for (std::size_t r = 0; r < 3; ++r) {
    EXPECT_DOUBLE_EQ(x[r], v.affine[r][0] * 3 + v.affine[r][1] * 2 + v.affine[r][2] * 1 + v.affine[r][3]);
  }
}

TEST(NiftiFixtures, ScaledNonIntegersRefuseInt64) {
  EXPECT_ERROR_CONTAINS(read_nifti(kFixtures + "n1_int16_scaled_qform.nii.gz", NiftiReadOptions().dtype(kInt64)),
                        fmt::format("read_nifti: '{}n1_int16_scaled_qform.nii.gz': voxel", kFixtures) +
                            " (i, j, k, t) = (0, 0, 0, 0) = -91.5");
}

// --- round trips -------------------------------------------------------------------------------

Volume sample_volume(const Shape& shape, DType dtype, double lo, double step) {
  Volume v;
  v.data = (arange(0, static_cast<double>(checked_numel(shape, "sample_volume")), 1, kFloat64) * step + lo)
               .reshape(shape)
               .to(dtype);
  v.spacing = {2.5, 0.75, 1.5};
  v.affine = {{{0.0, -0.75, 0.0, 12.5}, {1.5, 0.0, 0.125, -3.0}, {0.0, 0.0, 2.5, 40.0}, {0.0, 0.0, 0.0, 1.0}}};
  return v;
}

TEST_F(NiftiTest, RoundTripsEveryDatatypeVersionAndCompression) {
  const std::vector<std::pair<NiftiDatatype, std::pair<double, double>>> types{
      {NiftiDatatype::UInt8, {0, 2}},        {NiftiDatatype::Int8, {-100, 1}},
      {NiftiDatatype::Int16, {-3000, 97}},   {NiftiDatatype::UInt16, {0, 500}},
      {NiftiDatatype::Int32, {-2e9, 3e7}},   {NiftiDatatype::UInt32, {4e9, -1e7}},
      {NiftiDatatype::Int64, {-5e15, 3e14}}, {NiftiDatatype::UInt64, {0, 7}},
      {NiftiDatatype::Float32, {-1, 0.125}}, {NiftiDatatype::Float64, {-1e-3, 1e-5}}};
  for (const auto& [datatype, range] : types) {
    for (const int version : {1, 2}) {
      for (const char* ext : {".nii", ".nii.gz"}) {
        const std::string name = fmt::format("v{}_{}{}", version, io::nifti_datatype_name(datatype), ext);
        SCOPED_TRACE(name);
        const Volume v = sample_volume({2, 3, 4, 5}, kFloat64, range.first, range.second);
        write_nifti(path(name), v, NiftiWriteOptions().datatype(datatype).version(version));
        const Volume back = read_nifti(path(name), NiftiReadOptions().dtype(kFloat64));
        EXPECT_EQ(back.datatype, datatype);
        EXPECT_EQ(back.nifti_version, version);
        EXPECT_EQ(values(back.data), values(v.data));
        EXPECT_EQ(back.spacing, v.spacing);
        EXPECT_EQ(back.affine, v.affine) << "the sample affine is float32-exact, so NIfTI-1 keeps it too";
        EXPECT_EQ(back.affine_source, AffineSource::Sform);
        EXPECT_EQ(back.sform_code, 2);
        EXPECT_EQ(back.qform_code, 1);
      }
    }
  }
}

TEST_F(NiftiTest, NativeInt64RoundTripKeepsTheFileDatatype) {
  const Volume labels = read_nifti(kFixtures + "n1_uint8_4d.nii.gz", NiftiReadOptions().native_dtype(true));
  ASSERT_EQ(labels.data.dtype(), kInt64);
  write_nifti(path("labels.nii.gz"), labels);
  const Volume back = read_nifti(path("labels.nii.gz"), NiftiReadOptions().native_dtype(true));
  EXPECT_EQ(back.datatype, NiftiDatatype::UInt8) << "int64 data is written as the file's integer type";
  testing::expect_bitwise_equal(back.data, labels.data, "labels");
  EXPECT_EQ(back.affine, labels.affine);
  // Float data defaults to its own precision; a 3-D tensor is one channel.
  Volume f = sample_volume({3, 4, 5}, kFloat32, -2, 0.5);
  write_nifti(path("f.nii"), f);
  const Volume fb = read_nifti(path("f.nii"), NiftiReadOptions().native_dtype(true));
  EXPECT_EQ(fb.datatype, NiftiDatatype::Float32);
  EXPECT_EQ(fb.data.sizes(), (Shape{1, 3, 4, 5}));
  EXPECT_EQ(values(fb.data), values(f.data));
}

TEST_F(NiftiTest, WideVolumesNeedNifti2) {
  Volume v;
  v.data = zeros({1, 1, 32768});
  EXPECT_ERROR_CONTAINS(write_nifti(path("w.nii"), v, NiftiWriteOptions().version(1)),
                        fmt::format("write_nifti: '{}': dims", path("w.nii")) +
                            " (i, j, k, t) = [32768, 1, 1, 1] exceed NIfTI-1's limit of 32767");
  write_nifti(path("w.nii"), v);
  EXPECT_EQ(read_nifti(path("w.nii")).nifti_version, 2) << "version 0 picks NIfTI-2 when needed";
}

TEST_F(NiftiTest, MemoryAndFileImagesAgree) {
  const Volume v = sample_volume({2, 2, 3}, kFloat32, 1, 1);
  const std::vector<std::uint8_t> bytes = io::write_nifti_to_bytes(v);
  write_nifti(path("a.nii"), v);
  EXPECT_EQ(file_bytes(path("a.nii")), bytes);
  EXPECT_EQ(values(io::read_nifti_from_bytes(bytes.data(), bytes.size()).data), values(v.data));
}

// --- writing errors ---------------------------------------------------------------------------

TEST_F(NiftiTest, WriteErrorsNameTheFileAndTheProblem) {
  const std::string p = path("x.nii");
  const std::string at = "write_nifti: '" + p + "': ";
  Volume v;
  EXPECT_ERROR_CONTAINS(write_nifti(p, v), at + "volume.data is undefined");
  v.data = zeros({2, 3});
  EXPECT_ERROR_CONTAINS(write_nifti(p, v), at + "volume.data must be [C, D, H, W] or [D, H, W], but has shape [2, 3]");
  v.data = zeros({0, 2, 3});
  EXPECT_ERROR_CONTAINS(write_nifti(p, v), "has shape [0, 2, 3], with no voxels");
  v.data = full({2, 2, 2}, 256.0);
  EXPECT_ERROR_CONTAINS(write_nifti(p, v, NiftiWriteOptions().datatype(NiftiDatatype::UInt8)),
                        at + "voxel (i, j, k, t) = (0, 0, 0, 0) = 256 is not an integer that fits uint8");
  v.data = full({2, 2, 2}, 1.5);
  EXPECT_ERROR_CONTAINS(write_nifti(p, v, NiftiWriteOptions().datatype(NiftiDatatype::Int16)),
                        "= 1.5 is not an integer that fits int16");
  v.data = full({2, 2, 2}, -1.0, kInt64);
  EXPECT_ERROR_CONTAINS(write_nifti(p, v, NiftiWriteOptions().datatype(NiftiDatatype::UInt16)),
                        "= -1 does not fit uint16");
  v.data = full({2, 2, 2}, 1e300, kFloat64);
  EXPECT_ERROR_CONTAINS(write_nifti(p, v, NiftiWriteOptions().datatype(NiftiDatatype::Float32)),
                        "= 1e+300 overflows float32");
  v.data = zeros({2, 2, 2});
  EXPECT_ERROR_CONTAINS(write_nifti(p, v, NiftiWriteOptions().version(3)),
                        at + "version = 3 must be 0 (automatic), 1 or 2");
  v.spacing[1] = 0;
  EXPECT_ERROR_CONTAINS(write_nifti(p, v), at + "spacing[1] = 0 must be positive");
  v.spacing[1] = 1;
  v.affine[0][3] = std::nan("");
  EXPECT_ERROR_CONTAINS(write_nifti(p, v), at + "affine[0][3] = nan is not finite");
  v.affine = io::identity_affine();
  v.sform_code = 7;
  EXPECT_ERROR_CONTAINS(write_nifti(p, v), at + "sform_code = 7 is not a NIfTI xform code");
  v.sform_code = 0;
  EXPECT_ERROR_CONTAINS(write_nifti(path("x.img"), v), "the file name must end in .nii or .nii.gz");
  EXPECT_ERROR_CONTAINS(write_nifti(path("no_such_dir/x.nii"), v), "cannot create");
  EXPECT_FALSE(fs::exists(p)) << "nothing is left behind by failed writes";
}

// --- reading errors ---------------------------------------------------------------------------

// Offsets of NIfTI-1 header fields.
constexpr std::size_t kDim = 40, kDatatype = 70, kBitpix = 72, kPixdim = 76, kVoxOffset = 108, kSlope = 112,
                      kInter = 116, kQformCode = 252, kSformCode = 254, kQuaternB = 256, kSrowX = 280, kMagic = 344;

// A valid little-endian NIfTI-1 float32 image with both codes, 2×3×4 voxels.
std::vector<std::uint8_t> good_image() { return io::write_nifti_to_bytes(sample_volume({2, 3, 4}, kFloat32, 0, 1)); }

void expect_bytes_error(const std::vector<std::uint8_t>& bytes, const std::string& message) {
  EXPECT_ERROR_CONTAINS(io::read_nifti_from_bytes(bytes.data(), bytes.size(), {}, "img.nii"),
                        "read_nifti: 'img.nii': " + message);
}

TEST(NiftiErrors, EveryBrokenHeaderFieldIsNamed) {
  using Mutate = void (*)(std::vector<std::uint8_t>&);
  const std::vector<std::pair<Mutate, std::string>> cases{
      {[](auto& b) { poke<std::int32_t>(b, 0, 349); }, "sizeof_hdr = 349 is neither 348 (NIfTI-1) nor 540 (NIfTI-2)"},
      {[](auto& b) { b.resize(100); }, "the file holds 100 bytes, fewer than a NIfTI header"},
      {[](auto& b) { std::memcpy(b.data() + kMagic, "ni1", 4); }, "magic = 'ni1': the header of a .hdr/.img pair"},
      {[](auto& b) { std::memset(b.data() + kMagic, 0, 4); }, "magic = '' is not 'n+1'"},
      {[](auto& b) { poke<std::int16_t>(b, kDim, 0); }, "dim[0] = 0 must be the number of dims, 1 to 7"},
      {[](auto& b) { poke<std::int16_t>(b, kDim, 8); }, "dim[0] = 8 must be the number of dims, 1 to 7"},
      {[](auto& b) { poke<std::int16_t>(b, kDim + 4, -3); }, "dim[2] = -3 must be positive"},
      {[](auto& b) {
         poke<std::int16_t>(b, kDim, 5);
         poke<std::int16_t>(b, kDim + 8, 1);
         poke<std::int16_t>(b, kDim + 10, 3);
       },
       "dim[5] = 3: volumes with more than 4 dims (beyond i, j, k, t) are not supported"},
      {[](auto& b) {
         poke<std::int16_t>(b, kDatatype, 32);
         poke<std::int16_t>(b, kBitpix, 64);
       },
       "datatype = 32 (complex64) is not supported"},
      {[](auto& b) {
         poke<std::int16_t>(b, kDatatype, 128);
         poke<std::int16_t>(b, kBitpix, 24);
       },
       "datatype = 128 (RGB24) is not supported"},
      {[](auto& b) { poke<std::int16_t>(b, kDatatype, 3); }, "datatype = 3 (not a NIfTI datatype) is not supported"},
      {[](auto& b) { poke<std::int16_t>(b, kBitpix, 16); }, "bitpix = 16 does not match datatype float32 (32 bits)"},
      {[](auto& b) { poke<float>(b, kVoxOffset, 300); }, "vox_offset = 300 must be an integer >= 352"},
      {[](auto& b) { poke<float>(b, kVoxOffset, 352.5f); }, "vox_offset = 352.5 must be an integer >= 352"},
      {[](auto& b) { poke<float>(b, kPixdim + 8, -1); }, "pixdim[2] = -1: the voxel spacing must be positive"},
      {[](auto& b) { poke<float>(b, kPixdim + 4, std::nanf("")); },
       "pixdim[1] = nan: the voxel spacing must be positive"},
      {[](auto& b) { poke<float>(b, kInter, INFINITY); },
       "scl_inter = inf is not finite, but scl_slope = 1 scales the data"},
      {[](auto& b) { poke<std::int16_t>(b, kQformCode, 9); }, "qform_code = 9 is not a NIfTI xform code (0 to 5)"},
      {[](auto& b) { poke<std::int16_t>(b, kSformCode, -1); }, "sform_code = -1 is not a NIfTI xform code (0 to 5)"},
      {[](auto& b) { poke<float>(b, kSrowX + 4, INFINITY); }, "srow_x[1] = inf is not finite (sform_code = 2)"},
      {[](auto& b) {
         poke<std::int16_t>(b, kSformCode, 0);
         poke<float>(b, kQuaternB, 0.9f);
         poke<float>(b, kQuaternB + 4, 0.9f);
       },
       "quatern_b, quatern_c, quatern_d = 0.8999999761581421, 0.8999999761581421, 0.7070516347885132 are not part of a "
       "unit quaternion (b²+c²+d² = 2.1199219284264217 > 1)"},
      {[](auto& b) { b.resize(b.size() - 1); },
       "the file is truncated: the header promises 96 bytes of voxel data (24 float32 voxels, dims (i, j, k, t) = [4, "
       "3, 2, 1]) "
       "from vox_offset 352, but only 95 bytes follow"},
      {[](auto& b) { poke<std::int16_t>(b, kDim + 2, 30000); },
       "the file is truncated: the header promises 720000 bytes"},
  };
  for (const auto& [mutate, message] : cases) {
    SCOPED_TRACE(message);
    std::vector<std::uint8_t> bytes = good_image();
    mutate(bytes);
    expect_bytes_error(bytes, message);
  }
  // NIfTI-2 has its own signature bytes.
  Volume v = sample_volume({2, 2, 2}, kFloat32, 0, 1);
  std::vector<std::uint8_t> n2 = io::write_nifti_to_bytes(v, NiftiWriteOptions().version(2));
  n2[8] = '\n';
  expect_bytes_error(n2, "magic bytes 4 to 7 are not NIfTI-2's");
}

TEST(NiftiErrors, SlopeZeroOrNonFiniteMeansUnscaledAsInNibabel) {
  for (const float slope : {0.0f, std::nanf(""), INFINITY}) {
    std::vector<std::uint8_t> bytes = good_image();
    poke<float>(bytes, kSlope, slope);
    poke<float>(bytes, kInter, 5.0f);
    const Volume v = io::read_nifti_from_bytes(bytes.data(), bytes.size());
    EXPECT_EQ(values(v.data)[3], 3.0) << "slope " << slope;
    EXPECT_EQ(v.scl_slope, 1.0);
  }
}

TEST_F(NiftiTest, FileErrorsNameTheFile) {
  const std::string missing = path("missing.nii");
  EXPECT_ERROR_CONTAINS(read_nifti(missing), fmt::format("read_nifti: '{}': no such file", missing));
  EXPECT_ERROR_CONTAINS(read_nifti(path("x.hdr")), "the file name must end in .nii or .nii.gz");
  fs::create_directories(path("dir.nii"));
  EXPECT_ERROR_CONTAINS(read_nifti(path("dir.nii")), "not a regular file");

  const std::vector<std::uint8_t> plain = good_image();
  put_bytes(path("plain.nii.gz"), plain);
  EXPECT_ERROR_CONTAINS(read_nifti(path("plain.nii.gz")),
                        fmt::format("'{}': the name", path("plain.nii.gz")) +
                            " ends in .nii.gz but the content is not gzip-compressed (mislabelled file)");
  write_nifti(path("z.nii.gz"), sample_volume({2, 3, 4}, kFloat32, 0, 1));
  fs::copy_file(path("z.nii.gz"), path("z.nii"));
  EXPECT_ERROR_CONTAINS(read_nifti(path("z.nii")), "the name ends in .nii but the content is gzip-compressed");

  // Truncated plain and gzip files, and a corrupt gzip stream.
  std::vector<std::uint8_t> cut(plain.begin(), plain.end() - 10);
  put_bytes(path("cut.nii"), cut);
  EXPECT_ERROR_CONTAINS(read_nifti(path("cut.nii")),
                        fmt::format("'{}': the file is truncated: the header promises 96 bytes", path("cut.nii")));
  Volume noise;
  noise.data = rand({16, 16, 16}, kFloat64);
  write_nifti(path("noise.nii.gz"), noise);
  std::vector<std::uint8_t> gz = file_bytes(path("noise.nii.gz"));
  put_bytes(path("cutgz.nii.gz"), {gz.begin(), gz.end() - 1000});
  EXPECT_ERROR_CONTAINS(read_nifti(path("cutgz.nii.gz")),
                        fmt::format("'{}': the file is truncated: the header promises "
                                    "32768 bytes of voxel data",
                                    path("cutgz.nii.gz")));
  for (std::size_t i = 20; i < gz.size() - 8; ++i) gz[i] ^= 0x5a;
  put_bytes(path("bad.nii.gz"), gz);
  EXPECT_ERROR_CONTAINS(read_nifti(path("bad.nii.gz")), fmt::format("'{}': read failed at byte ", path("bad.nii.gz")));
  put_bytes(path("empty.nii"), {});
  EXPECT_ERROR_CONTAINS(read_nifti(path("empty.nii")), "the file holds 0 bytes, fewer than a NIfTI header");
}

TEST_F(NiftiTest, AGzipHeaderPromisingMoreThanGzipCanHoldIsRefusedBeforeAllocating) {
  std::vector<std::uint8_t> bytes = good_image();
  poke<std::int16_t>(bytes, kDim + 2, 32767);
  poke<std::int16_t>(bytes, kDim + 4, 32767);
  poke<std::int16_t>(bytes, kDim + 6, 32767);
  gzFile f = gzopen(path("huge.nii.gz").c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  EXPECT_ERROR_CONTAINS(read_nifti(path("huge.nii.gz")), "but the gzip-compressed file has");
}

#ifdef VOXGRAD_MRICRON_TEMPLATES
// Debian mricron-data's Colin27 T1 (the brain-extraction example's input). The figures are nibabel's:
//   img = nib.load(f); d = np.asarray(img.dataobj); d.shape, d.sum(), (d > 0).sum(), d[90, 108, 90], img.affine
TEST(NiftiFixtures, ReadsTheColin27TemplateAsNibabelDoes) {
  for (const auto& [name, sum, nonzero] :
       {std::tuple{"ch2.nii.gz", 317151210.0, 4151607.0}, std::tuple{"ch2bet.nii.gz", 158526435.0, 1737193.0}}) {
    SCOPED_TRACE(name);
    const Volume v = read_nifti(std::string(VOXGRAD_MRICRON_TEMPLATES) + "/" + name);
    ASSERT_EQ(v.data.sizes(), (Shape{1, 181, 217, 181}));
    EXPECT_EQ(v.datatype, NiftiDatatype::UInt8);
    EXPECT_EQ(v.data.to(kFloat64).sum().item<double>(), sum);
    EXPECT_EQ(v.data.gt(0.0).to(kFloat64).sum().item<double>(), nonzero);
    EXPECT_EQ(v.data.select(0, 0).select(0, 90).select(0, 108).select(0, 90).item<double>(), 33.0);
    EXPECT_EQ(v.data.select(0, 0).select(0, 80).select(0, 120).select(0, 100).item<double>(), 97.0) << "[k][j][i]";
    EXPECT_EQ(v.sform_code, 4);
    EXPECT_EQ(v.affine, (Affine{{{1, 0, 0, -90}, {0, 1, 0, -125}, {0, 0, 1, -71}, {0, 0, 0, 1}}}));
    EXPECT_EQ(v.spacing, (std::array<double, 3>{1, 1, 1}));
  }
}
#endif

#ifdef VOXGRAD_NIBABEL_CHECK
// nibabel reads what voxgrad writes: values, affine, zooms and datatype (tests/fixtures/nifti/check_nibabel.py).
TEST_F(NiftiTest, NibabelReadsBackWhatVoxgradWrites) {
  nlohmann::json manifest = nlohmann::json::array();
  int n = 0;
  for (const NiftiDatatype datatype : {NiftiDatatype::UInt8, NiftiDatatype::Int16, NiftiDatatype::Int32,
                                       NiftiDatatype::Float32, NiftiDatatype::Float64, NiftiDatatype::UInt16}) {
    for (const int version : {1, 2}) {
      for (const char* ext : {".nii", ".nii.gz"}) {
        const bool four_d = (n++ % 3) == 0;
        Volume v = sample_volume(four_d ? Shape{2, 3, 4, 5} : Shape{3, 4, 5}, kFloat64, 1, 2);
        const std::string name = fmt::format("w{}_{}{}", version, io::nifti_datatype_name(datatype), ext);
        write_nifti(path(name), v, NiftiWriteOptions().datatype(datatype).version(version));
        const Tensor c = v.data.dim() == 4 ? v.data : v.data.unsqueeze(0);
        manifest.push_back({{"file", name},
                            {"ijkt", {c.size(3), c.size(2), c.size(1), c.size(0)}},
                            {"values", values(c)},
                            {"datatype", static_cast<int>(datatype)},
                            {"version", version},
                            {"zooms", {v.spacing[2], v.spacing[1], v.spacing[0]}},
                            {"affine", v.affine}});
      }
    }
  }
  std::ofstream(path("manifest.json")) << manifest.dump();
  const std::string command = fmt::format("/usr/bin/python3 '{}' '{}'", VOXGRAD_NIBABEL_CHECK, dir_.string());
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}
#endif

}  // namespace
}  // namespace voxgrad
