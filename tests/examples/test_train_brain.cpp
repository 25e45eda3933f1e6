// The brain-extraction example, run briefly on mricron-data's Colin27 (4 mm grid, a tiny U-Net): its
// outputs exist and are valid (loss.csv rows, a 0/1 uint8 NIfTI mask on the T1's grid and affine, a
// PNG), --resume continues bit-exactly, a missing file is reported by name, and --bench-loader
// measures the loader.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace {

using namespace voxgrad;
namespace fs = std::filesystem;
using voxgrad::testing::read_bytes;

class TrainBrain : public voxgrad::testing::TempDirTest {
 protected:
  void SetUp() override {
#ifndef VOXGRAD_TRAIN_BRAIN
    GTEST_SKIP() << "train_brain is not built or /usr/share/mricron/templates (mricron-data) is missing";
#endif
    TempDirTest::SetUp();
  }
  // Runs train_brain with the small settings and `args`; returns its exit status, output in `log`.
  int run(const std::string& args, const std::string& log) const {
#ifdef VOXGRAD_TRAIN_BRAIN
    const std::string cmd = fmt::format(
        "{} --spacing 4 --patch 16 --channels 2 --batch-size 2 --steps-per-epoch 3 --threads 2 --seed 3 {} > {} 2>&1",
        VOXGRAD_TRAIN_BRAIN, args, (dir_ / log).string());
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
#else
    (void)args, (void)log;
    return -1;
#endif
  }
  std::vector<std::string> lines(const fs::path& path) const {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
};

TEST_F(TrainBrain, WritesValidOutputs) {
  const fs::path out = dir_ / "run";
  ASSERT_EQ(run(fmt::format("--epochs 2 --out {}", out.string()), "log.txt"), 0) << read_bytes(dir_ / "log.txt");
  const std::string log = read_bytes(dir_ / "log.txt");
  EXPECT_NE(log.find("held-out slab x >= 31 (x >= 124 on the file's grid), margin 36 mm"), std::string::npos) << log;
  for (const char* f :
       {"best.safetensors", "last.safetensors", "resume.safetensors", "loss.csv", "mask.nii.gz", "slices.png"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  // loss.csv: the header, 3 step rows and one Dice row per epoch, Dice in [0, 1].
  const std::vector<std::string> csv = lines(out / "loss.csv");
  ASSERT_EQ(csv.size(), 9u);
  EXPECT_EQ(csv[0], "epoch,step,train_loss,heldout_dice");
  for (const std::size_t row : {4u, 8u}) {
    const double dice = std::stod(csv[row].substr(csv[row].rfind(',') + 1));
    EXPECT_TRUE(dice >= 0 && dice <= 1) << csv[row];
  }
  // The mask: uint8 0/1 on the T1's grid with its affine.
  const Volume t1 = read_nifti((std::filesystem::path(VOXGRAD_MRICRON_TEMPLATES) / "ch2.nii.gz").string());
  const Volume mask = read_nifti((out / "mask.nii.gz").string(), NiftiReadOptions().native_dtype(true));
  EXPECT_EQ(mask.datatype, NiftiDatatype::UInt8);
  EXPECT_EQ(mask.data.sizes(), t1.data.sizes());
  EXPECT_EQ(mask.affine, t1.affine);
  const double ones = mask.data.to(kFloat64).sum().item<double>();
  EXPECT_EQ(mask.data.to(kFloat64).eq(0.0).sum().item<double>() + ones, static_cast<double>(mask.data.numel()));
  // The PNG: its signature and an IHDR of three 1 mm slices side by side at scale 2.
  const std::string png = read_bytes(out / "slices.png");
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  const auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned>(static_cast<unsigned char>(png[at])) << 24) |
           (static_cast<unsigned>(static_cast<unsigned char>(png[at + 1])) << 16) |
           (static_cast<unsigned>(static_cast<unsigned char>(png[at + 2])) << 8) |
           static_cast<unsigned>(static_cast<unsigned char>(png[at + 3]));
  };
  EXPECT_EQ(be32(16), 2u * (181 + 181 + 217) + 2 * 8);  // axial X, coronal X, sagittal Y; two gaps of 4 * 2
  EXPECT_EQ(be32(20), 2u * 217);
}

TEST_F(TrainBrain, ResumeContinuesBitExactly) {
  const fs::path once = dir_ / "once", twice = dir_ / "twice";
  ASSERT_EQ(run(fmt::format("--epochs 2 --out {}", once.string()), "a.txt"), 0) << read_bytes(dir_ / "a.txt");
  ASSERT_EQ(run(fmt::format("--epochs 1 --out {}", twice.string()), "b.txt"), 0) << read_bytes(dir_ / "b.txt");
  ASSERT_EQ(run(fmt::format("--epochs 2 --workers 2 --resume {0} --out {0}", twice.string()), "c.txt"), 0)
      << read_bytes(dir_ / "c.txt");
  EXPECT_NE(read_bytes(dir_ / "c.txt").find("resumed from"), std::string::npos);
  for (const char* f : {"last.safetensors", "best.safetensors", "resume.safetensors", "loss.csv"}) {
    EXPECT_EQ(read_bytes(once / f), read_bytes(twice / f)) << f;
  }
  EXPECT_EQ(run(fmt::format("--epochs 3 --lr 0.5 --resume {0} --out {0}", twice.string()), "d.txt"), 1);
  EXPECT_NE(read_bytes(dir_ / "d.txt").find("was trained with lr = 0.001, but this run has lr = 0.5"),
            std::string::npos)
      << read_bytes(dir_ / "d.txt");
}

TEST_F(TrainBrain, NamesAMissingFileAndMeasuresTheLoader) {
  const std::string missing = (dir_ / "no_such_t1.nii.gz").string();
  EXPECT_EQ(run(fmt::format("--image {} --out {}", missing, (dir_ / "x").string()), "e.txt"), 1);
  EXPECT_NE(read_bytes(dir_ / "e.txt")
                .find(fmt::format("NiftiPairDataset: sample 0: the image file '{}' does not exist", missing)),
            std::string::npos)
      << read_bytes(dir_ / "e.txt");
  ASSERT_EQ(run(fmt::format("--bench-loader 8 --out {}", (dir_ / "y").string()), "f.txt"), 0);
  const std::string bench = read_bytes(dir_ / "f.txt");
  for (const char* w : {"0 worker(s): 8 patches", "1 worker(s): 8 patches", "2 worker(s): 8 patches"}) {
    EXPECT_NE(bench.find(w), std::string::npos) << bench;
  }
}

}  // namespace
