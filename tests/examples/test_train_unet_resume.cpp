// --resume is bit-exact: the flagship examples/unet3d/train_unet run for 2 epochs, and run for 1
// epoch then resumed for the 2nd, write byte-identical checkpoints and loss.csv; so does a run
// SIGKILLed at a random moment and resumed from whatever it left.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "test_util.h"

namespace {

using namespace voxgrad;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

using voxgrad::testing::bit_identical;
using voxgrad::testing::read_bytes;

std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class TrainUNetResume : public voxgrad::testing::TempDirTest {
 protected:
  void SetUp() override {
#ifndef VOXGRAD_TRAIN_UNET
    GTEST_SKIP() << "the examples are not built (VOXGRAD_BUILD_EXAMPLES=OFF)";
#endif
    TempDirTest::SetUp();
  }

  // Starts train_unet with the tiny settings and `args`, its output going to `log`.
  pid_t start(const std::vector<std::string>& args, const fs::path& log) const {
#ifdef VOXGRAD_TRAIN_UNET
    std::vector<std::string> all = {
        VOXGRAD_TRAIN_UNET, "--size", "8",         "--channels", "2", "--batch-size", "2", "--steps-per-epoch", "4",
        "--seed",           "5",      "--threads", "2"};
#else
    std::vector<std::string> all;
#endif
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return pid;
  }

  // Runs train_unet to completion; returns its exit status (-1 if it did not exit normally).
  int run(const std::vector<std::string>& args, const fs::path& log) const {
    const pid_t pid = start(args, log);
    if (pid < 0) return -1;
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
  }

  // Expects every output of the runs in `a` and `b` to be byte-identical.
  static void expect_same_outputs(const fs::path& a, const fs::path& b) {
    for (const char* file : {"last.safetensors", "best.safetensors", "resume.safetensors", "loss.csv", "slices.png"}) {
      ASSERT_TRUE(fs::exists(a / file)) << (a / file);
      ASSERT_TRUE(fs::exists(b / file)) << (b / file);
      EXPECT_TRUE(read_bytes(a / file) == read_bytes(b / file)) << file << " differs between " << a << " and " << b;
    }
    // The same, tensor by tensor, for a readable failure.
    const Checkpoint ca = load_checkpoint((a / "resume.safetensors").string());
    const Checkpoint cb = load_checkpoint((b / "resume.safetensors").string());
    ASSERT_EQ(ca.state.size(), cb.state.size());
    for (std::size_t i = 0; i < ca.state.size(); ++i) {
      const Tensor& x = ca.state[i].second;
      const Tensor& y = cb.state[i].second;
      EXPECT_EQ(ca.state[i].first, cb.state[i].first);
      ASSERT_EQ(x.sizes(), y.sizes()) << ca.state[i].first;
      EXPECT_TRUE(bit_identical(x, y)) << ca.state[i].first << " differs";
    }
    EXPECT_EQ(ca.metadata, cb.metadata);
  }
};

TEST_F(TrainUNetResume, OneEpochThenResumeEqualsTwoEpochsBitForBit) {
  const fs::path straight = dir_ / "straight", resumed = dir_ / "resumed", log = dir_ / "log.txt";
  ASSERT_EQ(run({"--epochs", "2", "--out", straight.string()}, log), 0) << read_bytes(log);
  ASSERT_EQ(run({"--epochs", "1", "--out", resumed.string()}, log), 0) << read_bytes(log);
  // After one epoch the runs already differ (different last/resume files); the resume closes the gap.
  EXPECT_NE(read_bytes(straight / "resume.safetensors"), read_bytes(resumed / "resume.safetensors"));
  ASSERT_EQ(run({"--epochs", "2", "--resume", resumed.string(), "--out", resumed.string()}, log), 0) << read_bytes(log);
  expect_same_outputs(straight, resumed);

  // loss.csv: a header, 4 step rows and a validation row per epoch, epoch 2's identical.
  const std::vector<std::string> a = lines_of(straight / "loss.csv"), b = lines_of(resumed / "loss.csv");
  ASSERT_EQ(a.size(), 1u + 2 * 5);
  std::vector<std::string> epoch2_a, epoch2_b;
  for (const auto& l : a) {
    if (l.rfind("2,", 0) == 0) epoch2_a.push_back(l);
  }
  for (const auto& l : b) {
    if (l.rfind("2,", 0) == 0) epoch2_b.push_back(l);
  }
  EXPECT_EQ(epoch2_a.size(), 5u);
  EXPECT_EQ(epoch2_a, epoch2_b);

  // Resuming into another directory carries loss.csv over.
  const fs::path elsewhere = dir_ / "elsewhere", once = dir_ / "once";
  ASSERT_EQ(run({"--epochs", "1", "--out", once.string()}, log), 0) << read_bytes(log);
  ASSERT_EQ(run({"--epochs", "2", "--resume", once.string(), "--out", elsewhere.string()}, log), 0) << read_bytes(log);
  expect_same_outputs(straight, elsewhere);
}

TEST_F(TrainUNetResume, ResumeWithDifferentRunOptionsIsRefused) {
  const fs::path out = dir_ / "run", log = dir_ / "log.txt";
  ASSERT_EQ(run({"--epochs", "1", "--out", out.string()}, log), 0) << read_bytes(log);
  const std::string before = read_bytes(out / "resume.safetensors");
  fs::remove(log);
  EXPECT_EQ(run({"--epochs", "2", "--resume", out.string(), "--out", out.string(), "--noise", "0.3"}, log), 1);
  EXPECT_NE(read_bytes(log).find("was trained with noise = 0.15, but this run has noise = 0.3"), std::string::npos)
      << read_bytes(log);
  EXPECT_EQ(read_bytes(out / "resume.safetensors"), before);
  // Nothing to resume from.
  EXPECT_EQ(run({"--epochs", "2", "--resume", (dir_ / "missing").string(), "--out", out.string()}, log), 1);
  EXPECT_NE(read_bytes(log).find("does not exist"), std::string::npos) << read_bytes(log);
}

TEST_F(TrainUNetResume, RunKilledAtARandomMomentResumesBitForBit) {
  // 3 epochs of 4 steps; each trial SIGKILLs a run after a seeded random delay (anywhere from before
  // the first step to after the last save), then resumes from what it left (or starts again if no
  // epoch completed) and must end with the uninterrupted run's files.
  constexpr int kTrials = 8;
  const fs::path straight = dir_ / "straight", log = dir_ / "log.txt";
  const auto t0 = Clock::now();
  ASSERT_EQ(run({"--epochs", "3", "--out", straight.string()}, log), 0) << read_bytes(log);
  const double full_seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  std::mt19937_64 rng(77);
  for (int trial = 0; trial < kTrials; ++trial) {
    const fs::path out = dir_ / fmt::format("killed{}", trial);
    const double delay = std::uniform_real_distribution<double>(0.0, 1.1 * full_seconds)(rng);
    const pid_t pid = start({"--epochs", "3", "--out", out.string()}, log);
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    const bool killed = WIFSIGNALED(status);
    const bool can_resume = fs::exists(out / "resume.safetensors");
    int epochs_done = 0;
    if (can_resume) {
      for (const auto& [name, t] : load((out / "resume.safetensors").string())) {
        if (name == "epoch") epochs_done = static_cast<int>(t.item<std::int64_t>());
      }
    }
    std::cout << fmt::format("trial {}: {} after {:.0f} ms of {:.0f} ms, {} epoch(s) saved\n", trial,
                             killed ? "killed" : "finished", delay * 1e3, full_seconds * 1e3, epochs_done);
    std::vector<std::string> args = {"--epochs", "3", "--out", out.string()};
    if (can_resume) {
      args.push_back("--resume");
      args.push_back(out.string());
    }
    ASSERT_EQ(run(args, log), 0) << read_bytes(log);
    expect_same_outputs(straight, out);
  }
}

}  // namespace
