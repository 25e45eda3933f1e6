// oneDNN (Debian's libdnnl, the library PyTorch ≥ 2.0 runs Conv3d and ConvTranspose3d on for the
// CPU) on the same cases, same thread count, in the same process. Compiled only when CMake found
// oneDNN; linked into the benchmark binary and nothing else.
//
// Per case, primitives are created before the timed loop (once per Google Benchmark invocation,
// never inside the timed region): forward, backward-data and backward-weights (+bias)
// convolutions (deconvolutions for T1–T3) whose descriptors use format_tag::any for every tensor,
// so oneDNN picks its preferred (blocked) layout for each. Two ways to time them:
//   onednn         the reorders a PyTorch user pays: plain NCDHW input / PyTorch-layout weight /
//                  output gradient into each primitive's layout, the outputs (y, dX, dW) back to
//                  plain; every primitive reorders its own inputs from the plain tensors, as
//                  PyTorch's ideep calls do
//   onednn_kernel  the primitives alone, on tensors already in their preferred layouts
// All buffers are allocated once (PyTorch would allocate outputs per call: this favours oneDNN).

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include <oneapi/dnnl/dnnl.hpp>

#include "bench_common.h"

namespace voxgrad_bench {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

memory::dims dims3(const Dims& d, std::int64_t minus = 0) { return {d[0] - minus, d[1] - minus, d[2] - minus}; }

// The primitive classes of a convolution and of a deconvolution (oneDNN's name for the transposed
// convolution: the adjoint of the convolution, like PyTorch's, no kernel flip).
struct ConvPrimitives {
  using Fwd = dnnl::convolution_forward;
  using BwdData = dnnl::convolution_backward_data;
  using BwdWeights = dnnl::convolution_backward_weights;
  static constexpr dnnl::algorithm kAlgorithm = dnnl::algorithm::convolution_direct;
};
struct DeconvPrimitives {
  using Fwd = dnnl::deconvolution_forward;
  using BwdData = dnnl::deconvolution_backward_data;
  using BwdWeights = dnnl::deconvolution_backward_weights;
  static constexpr dnnl::algorithm kAlgorithm = dnnl::algorithm::deconvolution_direct;
};

/// A tensor in its plain layout and in one primitive's preferred layout, with the reorder between
/// them (none when the two descriptors agree: then both refer to one buffer).
struct Slot {
  memory plain, preferred;
  dnnl::reorder convert;  ///< plain → preferred (inputs) or preferred → plain (outputs)
  bool needs_reorder = false;
  bool input = true;

  Slot(const memory& plain_memory, const memory::desc& want, bool is_input) : plain(plain_memory), input(is_input) {
    needs_reorder = !(want == plain.get_desc());
    if (!needs_reorder) {
      preferred = plain;
      return;
    }
    preferred = memory(want, engine());
    convert = is_input ? dnnl::reorder(plain, preferred) : dnnl::reorder(preferred, plain);
  }
  void run_reorder() {
    if (!needs_reorder) return;
    if (input) {
      convert.execute(stream(), plain, preferred);
    } else {
      convert.execute(stream(), preferred, plain);
    }
  }
};

/// One case's primitives and buffers.
class OneDnnConv {
 public:
  OneDnnConv(const ConvCase& c, bool backward) : case_(c), backward_(backward) {
    if (c.transposed) {
      build<DeconvPrimitives>();
    } else {
      build<ConvPrimitives>();
    }
  }

  /// One forward (+ backward); with_reorders: from and to the plain tensors.
  void step(bool with_reorders) {
    if (with_reorders) {
      fwd_x_->run_reorder();
      fwd_w_->run_reorder();
    }
    fwd_.execute(stream(), {{DNNL_ARG_SRC, fwd_x_->preferred},
                            {DNNL_ARG_WEIGHTS, fwd_w_->preferred},
                            {DNNL_ARG_BIAS, bias_},
                            {DNNL_ARG_DST, fwd_y_->preferred}});
    if (with_reorders) fwd_y_->run_reorder();
    if (backward_) {
      if (with_reorders) {
        bd_gy_->run_reorder();
        bd_w_->run_reorder();
      }
      bwd_data_.execute(stream(), {{DNNL_ARG_DIFF_DST, bd_gy_->preferred},
                                   {DNNL_ARG_WEIGHTS, bd_w_->preferred},
                                   {DNNL_ARG_DIFF_SRC, bd_gx_->preferred}});
      if (with_reorders) {
        bd_gx_->run_reorder();
        bw_x_->run_reorder();
        bw_gy_->run_reorder();
      }
      bwd_weights_.execute(stream(), {{DNNL_ARG_SRC, bw_x_->preferred},
                                      {DNNL_ARG_DIFF_DST, bw_gy_->preferred},
                                      {DNNL_ARG_DIFF_WEIGHTS, bw_gw_->preferred},
                                      {DNNL_ARG_DIFF_BIAS, grad_bias_}});
      if (with_reorders) bw_gw_->run_reorder();
    }
    stream().wait();
  }

  /// Copies d into the plain inputs and converts them into every preferred layout (untimed).
  void load(const ConvData& d) {
    write(fwd_x_->plain, d.x);
    write(fwd_w_->plain, d.w);
    write(bias_, d.b);
    write(plain_gy_, d.gy);
    for (auto* s : {&fwd_x_, &fwd_w_, &bd_gy_, &bd_w_, &bw_x_, &bw_gy_}) {
      if (*s) (*s)->run_reorder();
    }
    stream().wait();
  }

  /// The plain outputs of the last step(true).
  ConvOutputs outputs() const {
    ConvOutputs o;
    o.y = read(fwd_y_->plain);
    if (backward_) {
      o.gx = read(bd_gx_->plain);
      o.gw = read(bw_gw_->plain);
      o.gb = read(grad_bias_);
    }
    return o;
  }

  /// "fwd jit:avx512_core, bwd-data ..., bwd-weights ...": which implementation oneDNN chose.
  const std::string& implementations() const { return impl_; }

 private:
  template <typename P>
  void build() {
    const ConvCase& c = case_;
    const auto f32 = memory::data_type::f32;
    const memory::dims x_dims = c.input_shape(), y_dims = c.output_shape();
    // oneDNN's weight dims are (OC, IC, k...) for both primitives, (G, OC/G, IC/G, k...) grouped;
    // PyTorch's conv weight (Cout, Cin/g, k) is oidhw, its transposed weight (Cin, Cout/g, k) is
    // iodhw (deconvolution OC = Cout).
    const std::int64_t g = c.groups;
    memory::dims w_dims = g == 1 ? memory::dims{c.cout, c.cin} : memory::dims{g, c.cout / g, c.cin / g};
    for (auto k : c.kernel) w_dims.push_back(k);
    const Tag w_plain_tag =
        g == 1 ? (c.transposed ? Tag::iodhw : Tag::oidhw) : (c.transposed ? Tag::giodhw : Tag::goidhw);

    // oneDNN wants both paddings: padding_r makes the sizes agree (PyTorch's floor, output_padding).
    const Dims small = c.transposed ? c.in : c.out();  // the convolution's output side
    const Dims big = c.transposed ? c.out() : c.in;    // the convolution's input side
    memory::dims pad_r(3);
    for (int i = 0; i < 3; ++i) {
      pad_r[i] = (small[i] - 1) * c.stride[i] + (c.kernel[i] - 1) * c.dilation[i] + 1 - big[i] - c.padding[i];
    }
    const memory::dims strides = dims3(c.stride), dilates = dims3(c.dilation, 1), pad_l = dims3(c.padding);

    const memory::desc x_any(x_dims, f32, Tag::any), y_any(y_dims, f32, Tag::any), w_any(w_dims, f32, Tag::any);
    const memory::desc b_md({c.cout}, f32, Tag::x);
    const auto prop = backward_ ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    typename P::Fwd::primitive_desc fwd_pd(
        typename P::Fwd::desc(prop, P::kAlgorithm, x_any, w_any, b_md, y_any, strides, dilates, pad_l, pad_r),
        engine());
    fwd_ = typename P::Fwd(fwd_pd);
    impl_ = std::string("fwd ") + fwd_pd.impl_info_str();

    const memory plain_x(memory::desc(x_dims, f32, Tag::ncdhw), engine());
    const memory plain_w(memory::desc(w_dims, f32, w_plain_tag), engine());
    fwd_x_.emplace(plain_x, fwd_pd.src_desc(), true);
    fwd_w_.emplace(plain_w, fwd_pd.weights_desc(), true);
    fwd_y_.emplace(memory(memory::desc(y_dims, f32, Tag::ncdhw), engine()), fwd_pd.dst_desc(), false);
    bias_ = memory(b_md, engine());
    plain_gy_ = memory(memory::desc(y_dims, f32, Tag::ncdhw), engine());
    if (!backward_) return;

    typename P::BwdData::primitive_desc bd_pd(
        typename P::BwdData::desc(P::kAlgorithm, x_any, w_any, y_any, strides, dilates, pad_l, pad_r), engine(),
        fwd_pd);
    bwd_data_ = typename P::BwdData(bd_pd);
    bd_gy_.emplace(plain_gy_, bd_pd.diff_dst_desc(), true);
    bd_w_.emplace(plain_w, bd_pd.weights_desc(), true);
    bd_gx_.emplace(memory(memory::desc(x_dims, f32, Tag::ncdhw), engine()), bd_pd.diff_src_desc(), false);

    typename P::BwdWeights::primitive_desc bw_pd(
        typename P::BwdWeights::desc(P::kAlgorithm, x_any, w_any, b_md, y_any, strides, dilates, pad_l, pad_r),
        engine(), fwd_pd);
    bwd_weights_ = typename P::BwdWeights(bw_pd);
    bw_x_.emplace(plain_x, bw_pd.src_desc(), true);
    bw_gy_.emplace(plain_gy_, bw_pd.diff_dst_desc(), true);
    bw_gw_.emplace(memory(memory::desc(w_dims, f32, w_plain_tag), engine()), bw_pd.diff_weights_desc(), false);
    grad_bias_ = memory(b_md, engine());
    impl_ += std::string(", bwd-data ") + bd_pd.impl_info_str() + ", bwd-weights " + bw_pd.impl_info_str();
  }

  static void write(const memory& m, const std::vector<float>& v) {
    std::copy(v.begin(), v.end(), static_cast<float*>(m.get_data_handle()));
  }
  static std::vector<float> read(const memory& m) {
    const float* p = static_cast<const float*>(m.get_data_handle());
    return std::vector<float>(p, p + m.get_desc().get_size() / sizeof(float));
  }

  ConvCase case_;
  bool backward_;
  std::string impl_;
  dnnl::primitive fwd_, bwd_data_, bwd_weights_;
  memory bias_, grad_bias_, plain_gy_;
  // forward: x, w in, y out; backward-data: dY, w in, dX out; backward-weights: x, dY in, dW out
  std::optional<Slot> fwd_x_, fwd_w_, fwd_y_, bd_gy_, bd_w_, bd_gx_, bw_x_, bw_gy_, bw_gw_;
};

ConvData random_data(const ConvCase& c, float lo, float hi, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  auto fill = [&](std::int64_t n) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& e : v) e = u(gen);
    return v;
  };
  auto numel = [](const std::vector<std::int64_t>& shape) {
    std::int64_t n = 1;
    for (auto s : shape) n *= s;
    return n;
  };
  return {fill(numel(c.input_shape())), fill(numel(c.weight_shape())), fill(c.cout), fill(numel(c.output_shape()))};
}

// max |got − want| ≤ 1e-4 · max |want|: float32 sums of up to ~10⁵ products in different orders stay
// well inside it, while one missing or misplaced tap of a case (≥ 1/1728 of an output's terms,
// zero-mean data) is far outside. Returns max |got − want| / max |want|.
double expect_close(const ConvCase& c, const char* what, const std::vector<float>& got,
                    const std::vector<float>& want) {
  if (got.size() != want.size()) {
    std::fprintf(stderr, "voxgrad_bench: oneDNN vs voxgrad on %s: %s has %zu elements, voxgrad's %zu\n", c.name.c_str(),
                 what, got.size(), want.size());
    std::exit(3);
  }
  double max_ref = 0.0, max_diff = 0.0;
  std::size_t worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    max_ref = std::max(max_ref, std::fabs(double(want[i])));
    const double d = std::fabs(double(got[i]) - double(want[i]));
    if (!(d <= max_diff)) {  // also catches NaN
      max_diff = d;
      worst = i;
    }
  }
  if (!(max_diff <= 1e-4 * max_ref)) {
    std::fprintf(stderr,
                 "voxgrad_bench: oneDNN and voxgrad disagree on %s (%s): %s[%zu] = %g (oneDNN) vs %g (voxgrad), max "
                 "|diff| %g > 1e-4 * max |voxgrad| = %g\n",
                 c.name.c_str(), c.description.c_str(), what, worst, double(got[worst]), double(want[worst]), max_diff,
                 1e-4 * max_ref);
    std::exit(3);
  }
  return max_ref > 0 ? max_diff / max_ref : max_diff;
}

// Once per case (the first time any of its oneDNN benchmarks runs): oneDNN's forward+backward on
// zero-mean data against voxgrad's; the process stops with exit code 3 when they disagree.
// Returns "check ok, max rel. diff y a, dX b, dW c, db d" for the benchmark's label.
const std::string& check_against_voxgrad(const ConvCase& c) {
  static std::map<std::string, std::string> checked;
  std::string& result = checked[c.name];
  if (!result.empty()) return result;
  const ConvData d = random_data(c, -1.0f, 1.0f, 7);
  OneDnnConv conv(c, true);
  conv.load(d);
  conv.step(true);
  const ConvOutputs got = conv.outputs();
  const ConvOutputs want = voxgrad_compute(c, d);
  char buf[160];
  std::snprintf(buf, sizeof buf, "check ok, max rel. diff y %.1e, dX %.1e, dW %.1e, db %.1e",
                expect_close(c, "output", got.y, want.y), expect_close(c, "input gradient", got.gx, want.gx),
                expect_close(c, "weight gradient", got.gw, want.gw), expect_close(c, "bias gradient", got.gb, want.gb));
  result = buf;
  return result;
}

void bench(benchmark::State& state, const ConvCase& c, bool backward, bool with_reorders, BenchState& bs) {
  const std::string& check = check_against_voxgrad(c);
  OneDnnConv conv(c, backward);
  conv.load(random_data(c, 0.0f, 1.0f, 0));  // uniform [0, 1), like the other two frameworks' rand
  state.SetLabel(conv.implementations() + "; " + check);
  run(
      state, c, backward, bs, [&] { conv.step(with_reorders); }, [] {});
}

std::string isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "isa " + std::to_string(static_cast<int>(isa));
  }
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "(unset)";
}

double process_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) * 1e-6;
}

}  // namespace

void onednn_set_threads(int n) { omp_set_num_threads(n); }

std::string onednn_info() {
  const dnnl_version_t* v = dnnl_version();
  std::ostringstream s;
  s << "oneDNN " << v->major << "." << v->minor << "." << v->patch << " (" << v->hash << "), effective ISA "
    << isa_name(dnnl::get_effective_cpu_isa()) << ", " << omp_get_max_threads()
    << " OpenMP threads; ONEDNN_MAX_CPU_ISA=" << env("ONEDNN_MAX_CPU_ISA")
    << ", VOXGRAD_MAX_ISA=" << env("VOXGRAD_MAX_ISA") << ", OMP_WAIT_POLICY=" << env("OMP_WAIT_POLICY")
    << ", GOMP_SPINCOUNT=" << env("GOMP_SPINCOUNT");
  return s.str();
}

std::string onednn_spin_probe() {
  // C3's forward, kernel only, a few times; then the process's CPU time in consecutive windows of
  // an idle sleep: whatever it burns there is OpenMP workers spinning for the next region.
  const ConvCase& c3 = conv_cases()[2];
  OneDnnConv conv(c3, false);
  conv.load(random_data(c3, 0.0f, 1.0f, 0));
  for (int i = 0; i < 5; ++i) conv.step(false);
  std::ostringstream s;
  s << "process CPU ms while the main thread sleeps right after a oneDNN call (window: CPU ms):";
  const auto t0 = std::chrono::steady_clock::now();
  double cpu_prev = process_cpu_ms(), t_prev = 0.0;
  for (double until : {2.0, 5.0, 10.0, 20.0, 50.0}) {
    std::this_thread::sleep_until(t0 + std::chrono::duration<double, std::milli>(until));
    const double cpu = process_cpu_ms();
    const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    char buf[64];
    std::snprintf(buf, sizeof buf, " %.1f-%.1f: %.2f;", t_prev, t, cpu - cpu_prev);
    s << buf;
    t_prev = t;
    cpu_prev = cpu;
  }
  return s.str();
}

void register_onednn(const ConvCase& c, bool backward) {
  for (bool with_reorders : {true, false}) {
    auto* bs = new BenchState();
    configure(benchmark::RegisterBenchmark(
                  bench_name(c, backward, with_reorders ? "onednn" : "onednn_kernel").c_str(),
                  [c, backward, with_reorders, bs](benchmark::State& s) { bench(s, c, backward, with_reorders, *bs); }),
              c);
  }
}

}  // namespace voxgrad_bench
