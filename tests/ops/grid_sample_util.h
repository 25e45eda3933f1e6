#pragma once
// grid_sample test configurations shared by test_grid_sample.cpp and test_grid_sample_threads.cpp:
// both supported modes × every padding × align_corners, and the call with one.

#include <array>
#include <string>
#include <vector>

#include <voxgrad/ops/grid_sample.h>
#include <voxgrad/voxgrad.h>

namespace voxgrad::testing::grid {

using Mode = GridSampleMode;
using Pad = GridSamplePadding;

constexpr std::array<Pad, 3> kPaddings{Pad::Zeros, Pad::Border, Pad::Reflection};

struct Config {
  Mode mode = Mode::Bilinear;
  Pad padding = Pad::Zeros;
  bool align = false;
  std::string str() const {
    return std::string(grid_sample_mode_name(mode)) + "/" + grid_sample_padding_name(padding) +
           (align ? "/align" : "/noalign");
  }
};

inline Tensor sample(const Tensor& x, const Tensor& g, const Config& c) {
  return grid_sample(x, g, c.mode, c.padding, c.align);
}

inline std::vector<Config> all_configs() {
  std::vector<Config> r;
  for (Mode m : {Mode::Bilinear, Mode::Nearest})
    for (Pad p : kPaddings)
      for (bool a : {false, true}) r.push_back({m, p, a});
  return r;
}

}  // namespace voxgrad::testing::grid
