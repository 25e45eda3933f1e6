// NiftiPairDataset: reads pairs written by write_nifti with their affine and spacing, and names the
// sample and the file for a missing file, a broken file, a shape mismatch and an affine mismatch.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::data;
namespace fs = std::filesystem;

class NiftiPairs : public voxgrad::testing::TempDirTest {
 protected:
  // Writes a (1, 3, 4, 5) volume of values base + flat index, spacing (d, h, w) = (3, 2, 1).
  std::string write(const std::string& name, double base, Shape shape = {1, 3, 4, 5}, double x0 = -10) const {
    Volume v;
    v.data = arange(base, base + static_cast<double>(checked_numel(shape, "test")), 1).reshape(shape);
    v.spacing = {3, 2, 1};
    v.affine = {{{1, 0, 0, x0}, {0, 2, 0, -20}, {0, 0, 3, -30}, {0, 0, 0, 1}}};
    const std::string path = (dir_ / name).string();
    write_nifti(path, v);
    return path;
  }
};

TEST_F(NiftiPairs, ReadsImageLabelAffineAndSpacing) {
  NiftiPairDataset ds(
      {{write("a.nii.gz", 0), write("a_label.nii", 100)}, {write("b.nii", 7), write("b_label.nii", 1)}});
  ASSERT_EQ(ds.size(), 2);
  const Example e = ds.get(1);
  EXPECT_EQ(e.keys(), (std::vector<std::string>{"affine", "image", "label", "spacing"}));
  EXPECT_EQ(e.at("image").sizes(), (Shape{1, 3, 4, 5}));
  EXPECT_EQ(e.at("image").dtype(), kFloat32);
  EXPECT_EQ(voxgrad::testing::values(e.at("image"))[6], 13.0);
  EXPECT_EQ(voxgrad::testing::values(e.at("label"))[59], 60.0);
  voxgrad::testing::expect_values(e.at("affine"), {4, 4}, {1, 0, 0, -10, 0, 2, 0, -20, 0, 0, 3, -30, 0, 0, 0, 1});
  voxgrad::testing::expect_values(e.at("spacing"), {3}, {3, 2, 1});
}

TEST_F(NiftiPairs, ErrorsNameTheSampleAndTheFile) {
  const std::string img = write("img.nii", 0), lab = write("lab.nii", 0);
  const std::string missing = (dir_ / "missing.nii.gz").string();
  EXPECT_ERROR_EQ(NiftiPairDataset({{img, lab}, {missing, lab}}).get(1),
                  fmt::format("NiftiPairDataset: sample 1: the image file '{}' does not exist", missing));
  EXPECT_ERROR_EQ(NiftiPairDataset({{img, missing}}).get(0),
                  fmt::format("NiftiPairDataset: sample 0: the label file '{}' does not exist", missing));
  const std::string other = write("other.nii", 0, {1, 3, 4, 6});
  EXPECT_ERROR_EQ(NiftiPairDataset({{img, other}}).get(0),
                  fmt::format("NiftiPairDataset: sample 0: image '{}' [1, 3, 4, 5] and label '{}' [1, 3, 4, 6] have "
                              "different spatial shapes",
                              img, other));
  const std::string moved = write("moved.nii", 0, {1, 3, 4, 5}, -9.5);
  EXPECT_ERROR_CONTAINS(NiftiPairDataset({{img, moved}}).get(0),
                        fmt::format("NiftiPairDataset: sample 0: the affines of image '{}' and label '{}' differ by up "
                                    "to 0.5 (tolerance 0.0001)",
                                    img, moved));
  EXPECT_NO_THROW(NiftiPairDataset({{img, moved}}, NiftiPairDatasetOptions().affine_tolerance(0.5)).get(0));
  const std::string broken = (dir_ / "broken.nii").string();
  std::ofstream(broken) << "not a nifti file";
  EXPECT_ERROR_CONTAINS(NiftiPairDataset({{broken, lab}}).get(0), "NiftiPairDataset: sample 0: ");
  EXPECT_ERROR_CONTAINS(NiftiPairDataset({{broken, lab}}).get(0), broken);
  EXPECT_ERROR_EQ(NiftiPairDataset({{img, lab}}).get(1),
                  "NiftiPairDataset::get: index 1 is out of range for a dataset of 1 examples");
}

}  // namespace
