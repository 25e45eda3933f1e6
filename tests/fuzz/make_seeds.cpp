// Writes the committed seed corpora: `fuzz_make_seeds tests/fuzz/corpus` (re-run after changing
// the byte layout of fuzz_conv.cpp's configuration). corpus/conv/ gets hand-picked configurations,
// valid and invalid; corpus/safetensors/ gets small checkpoints written by voxgrad's own
// save_to_bytes() (every dtype, 0-d and empty tensors, metadata, a padded header).

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include <voxgrad/voxgrad.h>

namespace {

using namespace voxgrad;
namespace fs = std::filesystem;

void write(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

// fuzz_conv's layout (see read_call): a flags byte, then one byte per value (byte = value - lo for
// in-range values, 0xF0 + i for wild value i), the perturbation bytes (0 = none, 0xF0 + i = wild),
// an 8-byte seed, then one byte per tensor argument (input, weight, bias, grad_output) choosing a
// view: kind + 5 * parameter (see read_view, make_arg). The view bytes are written only when some
// argument is not contiguous, so the seeds without views are byte-for-byte what they were before.
struct ConvSeed {
  bool transposed = false, f32 = false, unbatched = false, bias = false, two_threads = false;
  bool wide = false;  // with f32: W = 7·in[2] + 5 (the direct kernels' shapes)
  int api = 0;        // 0 ops, 1 functional, 2 kSame / output_size, 3 kValid / output_size (full shape)
  int N = 1, groups = 1, cin_g = 1, cout_g = 1;
  int in[3] = {4, 4, 4}, k[3] = {3, 3, 3}, s[3] = {1, 1, 1}, p[3] = {0, 0, 0}, d[3] = {1, 1, 1};
  int op[3] = {0, 0, 0}, out_delta[3] = {0, 0, 0};
  std::array<std::uint8_t, 4> views{};            // input, weight, bias, grad_output: view(kind, param)
  std::vector<std::pair<int, std::uint8_t>> raw;  // (byte index, value) overrides, e.g. wild values

  std::vector<std::uint8_t> bytes() const {
    std::vector<std::uint8_t> b;
    b.push_back(static_cast<std::uint8_t>(transposed | api << 1 | f32 << 3 | unbatched << 4 | bias << 5 |
                                          two_threads << 6 | wide << 7));
    b.push_back(static_cast<std::uint8_t>(N));
    b.push_back(static_cast<std::uint8_t>(groups - 1));
    b.push_back(static_cast<std::uint8_t>(cin_g - 1));
    b.push_back(static_cast<std::uint8_t>(cout_g - 1));
    for (int v : in) b.push_back(static_cast<std::uint8_t>(v - 1));
    for (int v : k) b.push_back(static_cast<std::uint8_t>(v - 1));
    for (int v : s) b.push_back(static_cast<std::uint8_t>(v - 1));
    for (int v : p) b.push_back(static_cast<std::uint8_t>(v));
    for (int v : d) b.push_back(static_cast<std::uint8_t>(v - 1));
    for (int v : op) b.push_back(static_cast<std::uint8_t>(v));
    for (int v : out_delta) b.push_back(static_cast<std::uint8_t>(v + 1));
    for (int i = 0; i < 8; ++i) b.push_back(0);                                         // perturbations: none
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(0x5A + 17 * i));  // seed
    if (views != std::array<std::uint8_t, 4>{}) b.insert(b.end(), views.begin(), views.end());
    for (const auto& [at, v] : raw) b[static_cast<std::size_t>(at)] = v;
    return b;
  }
};

// Byte indices in the layout above.
enum : int {
  kN = 1,
  kGroups = 2,
  kCin = 3,
  kCout = 4,
  kIn = 5,
  kKernel = 8,
  kStride = 11,
  kPadding = 14,
  kDilation = 17,
  kOutputPadding = 20,
  kOutDelta = 23,
  kXChannels = 26,
  kW0 = 27,
  kW1 = 28,
  kBiasLen = 29,
  kXRank = 30,
  kWRank = 31,
  kBRank = 32,
  kDtypeMix = 33
};

std::uint8_t wild(int i) { return static_cast<std::uint8_t>(0xF0 + i); }

// View kinds (fuzz_conv's ViewKind) and the byte selecting one with parameter `param` (0..50: which
// dim, step, offset or permutation).
enum ViewKind : int { kContiguous = 0, kStrided = 1, kPermuted = 2, kExpanded = 3, kOffset = 4 };
std::uint8_t view(ViewKind kind, int param = 0) { return static_cast<std::uint8_t>(kind + 5 * param); }

void conv_seeds(const fs::path& dir) {
  std::vector<std::pair<std::string, ConvSeed>> seeds;
  auto add = [&](const std::string& name, ConvSeed c) { seeds.emplace_back(name, c); };
  ConvSeed c;
  add("conv3d_basic", c);
  c.bias = true;
  c.N = 2;
  c.in[2] = 6;
  c.s[0] = 2;
  c.p[1] = 1;
  c.d[2] = 2;
  add("conv3d_bias_strided", c);
  c = {};
  c.groups = 2;
  c.cin_g = 2;
  c.cout_g = 3;
  c.in[2] = 6;
  c.k[0] = 2;
  c.api = 1;
  add("conv3d_groups_functional", c);
  c = {};
  c.unbatched = true;
  c.f32 = true;
  c.two_threads = true;
  c.bias = true;
  add("conv3d_unbatched_f32_two_threads", c);
  c = {};
  c.api = 2;
  c.in[0] = 6;
  c.d[0] = 2;
  c.k[1] = 2;  // odd total padding in one dim: the padded-copy path
  add("conv3d_same", c);
  c.api = 3;
  add("conv3d_valid", c);
  c = {};
  c.N = 0;
  c.bias = true;
  add("conv3d_empty_batch", c);
  c = {};
  c.k[0] = c.k[1] = c.k[2] = 1;
  c.cin_g = 3;
  c.cout_g = 2;
  add("conv3d_pointwise", c);
  c = {};
  c.transposed = true;
  add("conv_transpose3d_basic", c);
  c.bias = true;
  c.N = 2;
  c.s[0] = c.s[1] = 2;
  c.p[0] = 1;
  c.op[0] = 1;
  c.d[2] = 2;
  c.op[2] = 1;
  add("conv_transpose3d_output_padding", c);
  c.api = 1;
  add("conv_transpose3d_functional", c);
  c = {};
  c.transposed = true;
  c.api = 2;
  c.s[0] = c.s[1] = c.s[2] = 2;
  c.p[0] = c.p[1] = c.p[2] = 1;
  c.out_delta[0] = 1;
  add("conv_transpose3d_output_size", c);
  c.api = 3;
  c.unbatched = true;
  add("conv_transpose3d_output_size_full_shape", c);
  c = {};
  c.transposed = true;
  c.groups = 3;
  c.cin_g = 1;
  c.cout_g = 2;
  c.f32 = true;
  c.bias = true;
  add("conv_transpose3d_depthwise_f32", c);
  // float32 with wide rows: the direct kernels (forward tiles with a channel remainder, weight
  // gradient, stride-2 phase split, transposed stride classes).
  c = {};
  c.f32 = true;
  c.wide = true;
  c.N = 2;
  c.groups = 3;
  c.cout_g = 3;
  c.in[2] = 3;  // W = 26
  c.p[0] = c.p[2] = 1;
  c.bias = true;
  add("conv3d_wide_f32", c);
  c.s[2] = 2;
  c.in[2] = 5;  // W = 40
  c.two_threads = true;
  add("conv3d_wide_f32_stride2", c);
  c = {};
  c.transposed = true;
  c.f32 = true;
  c.wide = true;
  c.cin_g = 2;
  c.cout_g = 3;
  c.in[2] = 2;  // W = 19
  c.s[0] = c.s[2] = 2;
  c.p[2] = 1;
  c.op[2] = 1;
  c.bias = true;
  add("conv_transpose3d_wide_f32_stride2", c);
  // Every tensor argument as a view (input, weight, bias, grad_output): strided slices, permutes,
  // expanded (stride-0) tensors and windows at an offset, on the im2col and the direct paths.
  c = {};
  c.bias = true;
  c.N = 2;
  c.cout_g = 3;
  c.in[2] = 6;
  c.s[0] = 2;
  c.p[1] = 1;
  c.views = {view(kPermuted, 3), view(kOffset, 9), view(kStrided, 17), view(kExpanded, 1)};
  add("conv3d_views_bias_strided", c);
  c.f32 = true;
  c.groups = 2;
  c.views = {view(kStrided, 12), view(kPermuted, 7), view(kExpanded), view(kOffset, 26)};
  add("conv3d_views_bias_expanded_f32", c);
  c = {};
  c.f32 = true;
  c.wide = true;
  c.N = 2;
  c.cin_g = 2;
  c.cout_g = 3;
  c.in[2] = 3;  // W = 26
  c.p[0] = c.p[2] = 1;
  c.bias = true;
  c.views = {view(kOffset, 4), view(kStrided, 3), view(kPermuted, 1), view(kPermuted, 5)};
  add("conv3d_wide_f32_views", c);
  c.views = {view(kExpanded, 2), view(kExpanded, 1), view(kExpanded), view(kStrided, 20)};
  add("conv3d_wide_f32_expanded_views", c);
  c = {};
  c.transposed = true;
  c.bias = true;
  c.N = 2;
  c.cin_g = 2;
  c.cout_g = 3;
  c.s[0] = c.s[1] = 2;
  c.p[0] = 1;
  c.op[0] = 1;
  c.views = {view(kExpanded, 1), view(kPermuted, 2), view(kOffset, 30), view(kStrided, 9)};
  add("conv_transpose3d_views", c);
  c = {};
  c.transposed = true;
  c.f32 = true;
  c.wide = true;
  c.cin_g = 2;
  c.cout_g = 3;
  c.in[2] = 2;  // W = 19
  c.s[0] = c.s[2] = 2;
  c.k[0] = c.k[2] = 2;  // kernel = stride: the direct path reads the input in place
  c.k[1] = 1;
  c.bias = true;
  c.views = {view(kStrided, 2), view(kExpanded, 3), view(kStrided), view(kPermuted, 11)};
  add("conv_transpose3d_wide_f32_views", c);
  // Nothing to sum (no input channels) with an expanded bias: the output is the bias alone. A
  // known issue (see fuzz_conv's known_issue: conv's fill_bias reads a freed copy of the bias).
  c = {};
  c.bias = true;
  c.cout_g = 3;
  c.raw = {{kXChannels, 0xC1}, {kW1, 0xC1}};  // input channels 1 - 1 = 0, weight.size(1) 1 - 1 = 0
  c.views = {view(kContiguous), view(kContiguous), view(kExpanded), view(kContiguous)};
  add("conv3d_empty_input_bias_expanded", c);
  // Invalid ones.
  c = {};
  c.raw = {{kGroups, wild(1)}};
  add("bad_groups_negative", c);
  c.raw = {{kKernel, wild(4)}};
  add("bad_kernel_2p40", c);
  c.raw = {{kPadding, wild(7)}, {kStride, wild(6)}};
  add("bad_padding_int64_max", c);
  c.raw = {{kXChannels, 0xC3}};
  add("bad_channels_mismatch", c);
  c.raw = {{kXRank, 0xC0}};
  add("bad_input_rank", c);
  c.raw = {{kDtypeMix, 0xC0}};
  add("bad_weight_dtype", c);
  c.raw = {{kN, wild(4)}, {kIn, wild(10)}};
  add("bad_huge_batch_and_depth", c);
  c.transposed = true;
  c.raw = {{kStride, wild(10)}, {kIn + 1, wild(10)}, {kIn + 2, wild(10)}};
  add("bad_transposed_output_overflow", c);
  c.raw = {{kOutputPadding, 2}};
  add("bad_transposed_output_padding", c);
  c.api = 2;
  c.raw = {{kOutDelta, 0}};
  add("bad_transposed_output_size", c);
  c = {};
  c.bias = true;
  c.raw = {{kBiasLen, 0xC4}};
  add("bad_bias_length", c);
  fs::create_directories(dir);
  for (const auto& [name, seed] : seeds) write(dir / name, seed.bytes());
}

void safetensors_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  manual_seed(3);
  write(dir / "empty", save_to_bytes({}));
  write(dir / "one_f32", save_to_bytes({{"weight", randn({2, 3})}}));
  write(dir / "all_dtypes_metadata", save_to_bytes({{"conv.weight", randn({2, 1, 1, 1, 2})},
                                                    {"conv.bias", randn({2}, kFloat64)},
                                                    {"step", tensor({5, -6, 7}, kInt64)}},
                                                   {{"format", "pt"}, {"epoch", "3"}}));
  write(dir / "scalar_and_empty",
        save_to_bytes(
            {{"scalar", scalar_tensor(1.5)}, {"empty", zeros({0, 3}, kFloat64)}, {"count", scalar_tensor(4, kInt64)}}));
  write(dir / "metadata_only", save_to_bytes({}, {{"note", "\xc3\xa9t\xc3\xa9"}}));
  // The state dict of a small module, as examples write it.
  nn::SequentialImpl net(
      {std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(1, 2, 2)), std::make_shared<nn::ReLUImpl>()});
  write(dir / "module_state_dict", save_to_bytes(net.state_dict()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (writes CORPUS_DIR/conv and CORPUS_DIR/safetensors)\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  conv_seeds(root / "conv");
  safetensors_seeds(root / "safetensors");
  return 0;
}
