// libFuzzer target for the conv pair: conv3d and conv_transpose3d (ops/conv.h), their functional
// forms (nn/functional/conv.h: explicit padding, kSame, kValid, output_padding) and the output_size
// path (conv_transpose_output_padding), forward and input/weight/bias gradients.
//
// The fuzzer's bytes are read front to back as a configuration (missing bytes read as 0; see
// Reader): op, API, dtype, batched or not, bias, threads, wide rows (float32 only, for the direct
// kernels), then every size and hyper-parameter, an 8-byte seed for the values, and last one byte
// per tensor argument (input, weight, bias, grad_output) choosing how it is passed: contiguous, a
// strided slice, a permute of a tensor laid out accordingly, an expanded (stride-0) tensor with
// values equal along the expanded dim, or a window at an offset into a larger tensor (make_arg;
// the storage around a view holds NaN). The reference sees the values the view shows; gradients
// are compared w.r.t. the views and w.r.t. the tensors that own their storage. Each integer is a
// small in-range value, or (for bytes >= 0xF0) a "wild" one: 0, -1, 2^31, 2^40, 2^62, INT64_MAX,
// INT64_MIN, ... Channel counts, ranks and dtypes are consistent unless their "perturbation" bytes
// say otherwise. An oracle written here from the documented rules (PyTorch's) classifies the call,
// in exact 128-bit arithmetic:
//   * must throw:   some rule is violated -> only voxgrad::Error is allowed;
//   * must succeed: a plainly valid configuration -> the result must match the naive reference;
//   * either:       valid but an edge the library may refuse (zero channels or sizes, an
//                   intermediate that overflows int64) -> voxgrad::Error, or the reference's result.
// Valid configurations run only when every tensor and the reference's work are small (or some size
// is astronomically large, so the library must refuse the allocation); invalid ones run whatever
// their sizes, with large operands built as zero-stride expanded views (no memory). The reference
// (below) is plain float64 loops, independent of the library's vol2col/GEMM kernels.
//
// Each input runs once per instruction set this CPU supports (AVX-512, AVX2, baseline: core/cpu.h),
// each with its own direct kernels and GEMM.
//
// Anything else -- a crash, a sanitizer report, another exception type, a wrong result, an
// unexpected success or refusal -- ends in __builtin_trap() so that libFuzzer records the input.
// Run: scripts/fuzz.sh (builds with -DVOXGRAD_BUILD_FUZZ=ON); reproduce: build/h_fuzz/tests/fuzz/fuzz_conv FILE.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <typeinfo>
#include <vector>

#include <voxgrad/core/detail/cpu.h>
#include <voxgrad/voxgrad.h>

#include "view_util.h"

namespace {

using namespace voxgrad;
namespace F = voxgrad::nn::functional;
using i128 = __int128;
using Dims = std::array<std::int64_t, 3>;

constexpr i128 kI64Max = INT64_MAX;
constexpr i128 kI64Min = INT64_MIN;
// Operands and outputs of runs that are compared are at most this many elements...
constexpr i128 kMaxElements = 4096;
// ...and the reference's multiply-adds at most this many.
constexpr i128 kMaxTerms = 150000;
// Sizes from here on cannot be allocated on any machine (2^43 elements: >= 32 TiB).
constexpr i128 kAstronomical = i128{1} << 43;

bool verbose() {
  static const bool v = std::getenv("VOXGRAD_FUZZ_VERBOSE") != nullptr;
  return v;
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_conv: %s\n", what.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

[[maybe_unused]] std::string s128(i128 v) {
  if (v == 0) return "0";
  const bool neg = v < 0;
  std::string out;
  while (v != 0) {
    const int digit = static_cast<int>(v % 10);
    out.push_back(static_cast<char>('0' + (digit < 0 ? -digit : digit)));
    v /= 10;
  }
  if (neg) out.push_back('-');
  return {out.rbegin(), out.rend()};
}

// --- reading the configuration ---------------------------------------------------------------------

class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }

  /// A value in [lo, hi] for bytes < 0xF0; a wild value otherwise.
  std::int64_t value(std::int64_t lo, std::int64_t hi) {
    const std::uint8_t b = byte();
    if (b >= 0xF0) return wild(b - 0xF0);
    return lo + static_cast<std::int64_t>(b % static_cast<std::uint64_t>(hi - lo + 1));
  }

  /// Usually 0 (bytes < 0xC0); a small perturbation in [lo, hi] for 0xC0..0xEF; wild above.
  std::int64_t perturbation(std::int64_t lo, std::int64_t hi) {
    const std::uint8_t b = byte();
    if (b < 0xC0) return 0;
    if (b >= 0xF0) return wild(b - 0xF0);
    return lo + static_cast<std::int64_t>((b - 0xC0) % static_cast<std::uint64_t>(hi - lo + 1));
  }

  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(byte()) << (8 * i);
    return v;
  }

 private:
  std::int64_t wild(int which) {
    switch (which) {
      case 0: return 0;
      case 1: return -1;
      case 2: return std::int64_t{1} << 31;
      case 3: return (std::int64_t{1} << 32) + 1;
      case 4: return std::int64_t{1} << 40;
      case 5: return -(std::int64_t{1} << 40);
      case 6: return std::int64_t{1} << 62;
      case 7: return INT64_MAX;
      case 8: return INT64_MIN;
      case 9: return 3037000500;  // ~sqrt(2^63)
      case 10: return 2097152;    // 2^21: its cube is 2^63
      case 11: return 1000;
      case 12: return 65537;
      case 13: return 7;
      case 14: return 0;
      default: return static_cast<std::int64_t>(u64());
    }
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// --- the call under test ---------------------------------------------------------------------------

enum class Api { Ops, Functional, SameOrOutputSize, ValidOrFullOutputSize };

struct Call {
  bool transposed = false;
  Api api = Api::Ops;
  DType x_dtype = kFloat64, w_dtype = kFloat64, b_dtype = kFloat64;
  Shape xs, ws;
  std::optional<Shape> bs;
  Dims s{}, p{}, d{}, op{}, out_delta{};
  std::int64_t groups = 1;
  int threads = 1;

  std::string str() const {
    const char* apis[] = {"ops", "functional", transposed ? "output_size" : "kSame",
                          transposed ? "output_size(full shape)" : "kValid"};
    auto dims = [](const Dims& v) { return fmt::format("({}, {}, {})", v[0], v[1], v[2]); };
    std::string out = fmt::format("{} via {} {}: input {} weight {} bias {} stride {} padding {} dilation {} groups {}",
                                  transposed ? "conv_transpose3d" : "conv3d", apis[static_cast<int>(api)],
                                  dtype_name(x_dtype), shape_str(xs), shape_str(ws),
                                  bs ? shape_str(*bs) : std::string("none"), dims(s), dims(p), dims(d), groups);
    if (w_dtype != x_dtype || b_dtype != x_dtype) {
      out += fmt::format(" (weight {}, bias {})", dtype_name(w_dtype), dtype_name(b_dtype));
    }
    if (transposed) out += fmt::format(" output_padding {} output_size delta {}", dims(op), dims(out_delta));
    return out + fmt::format(" threads {}", threads);
  }
};

Shape with_rank(Shape s, std::int64_t rank) {
  while (static_cast<std::int64_t>(s.size()) > rank) s.pop_back();
  while (static_cast<std::int64_t>(s.size()) < rank) s.push_back(2);
  return s;
}

DType other_dtype(DType t) { return t == kFloat64 ? kFloat32 : kFloat64; }

Call read_call(Reader& r) {
  Call c;
  const std::uint8_t flags = r.byte();
  c.transposed = flags & 1;
  c.api = static_cast<Api>((flags >> 1) & 3);
  c.x_dtype = c.w_dtype = c.b_dtype = (flags & 8) ? kFloat32 : kFloat64;
  const bool unbatched = flags & 16;
  const bool bias = flags & 32;
  c.threads = (flags & 64) ? 2 : 1;

  const std::int64_t N = r.value(0, 3), groups = r.value(1, 3), cin_g = r.value(1, 3), cout_g = r.value(1, 3);
  Dims in{}, k{};
  for (auto& v : in) v = r.value(1, 6);
  // Wide rows (flag 128, float32 only: what the AVX-512 direct kernels take): W = 12, 19, ... 47.
  if ((flags & 128) && (flags & 8) && in[2] >= 1 && in[2] <= 6) in[2] = 7 * in[2] + 5;
  for (auto& v : k) v = r.value(1, 3);
  for (auto& v : c.s) v = r.value(1, 3);
  for (auto& v : c.p) v = r.value(0, 2);
  for (auto& v : c.d) v = r.value(1, 3);
  for (auto& v : c.op) v = r.value(0, 2);
  for (auto& v : c.out_delta) v = r.value(-1, 3);
  c.groups = groups;
  // Consistent channels (wrapping in int64 where wild values overflow: the result is just another
  // size for the oracle to judge).
  auto wrap_mul = [](std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
  };
  auto wrap_add = [](std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
  };
  const std::int64_t cin = wrap_mul(groups, cin_g), cout = wrap_mul(groups, cout_g);
  const std::int64_t x_channels = wrap_add(cin, r.perturbation(-2, 2));
  const std::int64_t w0 = wrap_add(c.transposed ? cin : cout, r.perturbation(-2, 2));
  const std::int64_t w1 = wrap_add(c.transposed ? cout_g : cin_g, r.perturbation(-2, 2));
  const std::int64_t b_len = wrap_add(cout, r.perturbation(-2, 2));
  const std::int64_t x_rank_delta = r.perturbation(-2, 2), w_rank_delta = r.perturbation(-2, 2);
  const std::int64_t b_rank_delta = r.perturbation(-1, 1);
  const std::int64_t dtype_mix = r.perturbation(1, 3);

  c.xs = unbatched ? Shape{x_channels, in[0], in[1], in[2]} : Shape{N, x_channels, in[0], in[1], in[2]};
  c.ws = {w0, w1, k[0], k[1], k[2]};
  // Negative sizes cannot be built as tensors; clamp them (the wild value itself still lands in a
  // hyper-parameter elsewhere often enough).
  for (auto& v : c.xs) v = std::max<std::int64_t>(v, 0);
  for (auto& v : c.ws) v = std::max<std::int64_t>(v, 0);
  c.xs = with_rank(c.xs, std::clamp<std::int64_t>(static_cast<std::int64_t>(c.xs.size()) + (x_rank_delta % 3), 1, 7));
  c.ws = with_rank(c.ws, std::clamp<std::int64_t>(5 + (w_rank_delta % 3), 1, 7));
  if (bias) {
    c.bs = with_rank({std::max<std::int64_t>(b_len, 0)}, std::clamp<std::int64_t>(1 + (b_rank_delta % 2), 0, 2));
  }
  switch (dtype_mix) {
    case 0: break;
    case 1: c.w_dtype = other_dtype(c.x_dtype); break;
    case 2: c.b_dtype = other_dtype(c.x_dtype); break;
    default: c.x_dtype = kInt64; break;
  }
  return c;
}

// --- the oracle ------------------------------------------------------------------------------------

enum class Expect { Throw, Succeed, Either };

const char* expect_name(Expect e) {
  return e == Expect::Throw ? "must throw" : e == Expect::Succeed ? "must succeed" : "either";
}

/// What the reference needs for a valid call: shapes (batched view, N = 1 for unbatched input),
/// padding before each dim, and the output's spatial size.
struct Plan {
  Expect expect = Expect::Throw;
  std::string reason;  // for Throw: the first rule violated
  bool unbatched = false;
  std::int64_t N = 0, cin = 0, cout = 0, groups = 1;
  Dims in{}, k{}, s{}, pad{}, d{}, out{};
  Dims op_used{};  // output_padding actually passed (transposed)
};

bool fits(i128 v) { return v >= kI64Min && v <= kI64Max; }

/// a * b for a, b >= 0, saturating at 2^100 (only comparisons follow).
i128 sat_mul(i128 a, i128 b) {
  constexpr i128 kCap = i128{1} << 100;
  if (a == 0 || b == 0) return 0;
  if (a >= kCap || b >= kCap || a > kCap / b) return kCap;
  return a * b;
}

i128 prod(const Shape& s) {
  i128 n = 1;
  for (std::int64_t v : s) n = sat_mul(n, std::max<std::int64_t>(v, 0));
  return n;
}

// Classifies the call. `either` collects soft conditions (valid, but the library may refuse).
Plan oracle(const Call& c) {
  Plan pl;
  auto violated = [&](std::string why) {
    pl.expect = Expect::Throw;
    pl.reason = std::move(why);
    return pl;
  };
  bool either = false;
  // Hyper-parameters (checked before anything else by every path).
  if (c.groups <= 0) return violated("groups <= 0");
  for (int i = 0; i < 3; ++i) {
    if (c.s[i] <= 0) return violated("stride <= 0");
    if (c.d[i] <= 0) return violated("dilation <= 0");
  }
  const bool same = !c.transposed && c.api == Api::SameOrOutputSize;
  const bool valid_pad = !c.transposed && c.api == Api::ValidOrFullOutputSize;
  const bool output_size = c.transposed && (c.api == Api::SameOrOutputSize || c.api == Api::ValidOrFullOutputSize);
  if (!same && !valid_pad) {
    for (int i = 0; i < 3; ++i) {
      if (c.p[i] < 0) return violated("padding < 0");
    }
  }
  if (c.xs.size() != 4 && c.xs.size() != 5) return violated("input rank");
  if (c.ws.size() != 5) return violated("weight rank");
  if (c.x_dtype == kInt64) return violated("integer input");
  if (c.w_dtype != c.x_dtype) return violated("weight dtype");
  if (c.bs && c.b_dtype != c.x_dtype) return violated("bias dtype");
  for (int i = 2; i < 5; ++i) {
    if (c.ws[i] <= 0) return violated("kernel size 0");
  }
  pl.unbatched = c.xs.size() == 4;
  const std::size_t o = pl.unbatched ? 0 : 1;
  pl.N = pl.unbatched ? 1 : c.xs[0];
  pl.cin = c.xs[o];
  for (int i = 0; i < 3; ++i) {
    pl.in[i] = c.xs[o + 1 + i];
    pl.k[i] = c.ws[2 + i];
  }
  pl.groups = c.groups;
  pl.s = c.s;
  pl.d = c.d;
  const i128 G = c.groups;

  if (!c.transposed) {
    if (same) {
      for (int i = 0; i < 3; ++i) {
        if (c.s[i] != 1) return violated("padding='same' with stride != 1");
      }
    }
    pl.cout = c.ws[0];
    if (c.ws[0] < c.groups) return violated("weight.size(0) smaller than groups");
    if (pl.cout % c.groups != 0) return violated("weight.size(0) not divisible by groups");
    if (i128{c.ws[1]} * G != pl.cin) return violated("input channels != weight.size(1) * groups");
    if (c.bs && (c.bs->size() != 1 || (*c.bs)[0] != pl.cout)) return violated("bias shape");
    for (int i = 0; i < 3; ++i) {
      const i128 dilated = i128{c.d[i]} * (pl.k[i] - 1) + 1;
      i128 before = c.p[i], after = c.p[i];
      if (valid_pad) before = after = 0;
      if (same) {
        const i128 total = i128{c.d[i]} * (pl.k[i] - 1);
        if (!fits(total)) return violated("padding='same': dilation * (kernel - 1) overflows");
        before = total / 2;
        after = total - before;
        if (pl.in[i] == 0) return violated("padding='same' with an empty dim");
        // The library pads ceil(total / 2) on both sides and drops the extra first plane.
        const i128 sym = total - total / 2;
        if (!fits(2 * sym) || !fits(pl.in[i] + 2 * sym)) either = true;
      }
      const i128 padded = pl.in[i] + before + after;
      if (!fits(padded) || !fits(2 * before) || !fits(dilated)) either = true;
      if (dilated > padded) return violated("kernel larger than the padded input");
      pl.pad[i] = static_cast<std::int64_t>(before);
      const i128 out = (padded - dilated) / c.s[i] + 1;
      pl.out[i] = static_cast<std::int64_t>(out);  // <= padded, which is checked below
      if (!fits(padded)) pl.out[i] = INT64_MAX;
    }
  } else {
    // Transposed: output_padding from the call, or from output_size.
    Dims op = c.op;
    if (output_size) {
      for (int i = 0; i < 3; ++i) {
        if (c.p[i] < 0) return violated("padding < 0");
        const i128 m = (i128{pl.in[i]} - 1) * c.s[i] - 2 * i128{c.p[i]} + i128{c.d[i]} * (pl.k[i] - 1) + 1;
        const i128 requested = m + c.out_delta[i];
        if (!fits((i128{pl.in[i]} - 1) * c.s[i]) || !fits(2 * i128{c.p[i]}) || !fits(i128{c.d[i]} * (pl.k[i] - 1)) ||
            !fits(m) || !fits(m + c.s[i] - 1)) {
          either = true;
        }
        if (!fits(requested)) return violated("output_size outside int64");  // (cannot be passed)
        if (c.out_delta[i] < 0 || c.out_delta[i] > c.s[i] - 1) return violated("output_size out of range");
        op[i] = c.out_delta[i];
      }
    }
    for (int i = 0; i < 3; ++i) {
      if (c.p[i] < 0) return violated("padding < 0");
      if (op[i] < 0) return violated("output_padding < 0");
    }
    for (int i = 0; i < 3; ++i) {
      if (op[i] >= c.s[i] && op[i] >= c.d[i]) return violated("output_padding >= stride and >= dilation");
    }
    pl.op_used = op;
    if (c.ws[0] < c.groups) return violated("weight.size(0) smaller than groups");
    if (c.ws[0] % c.groups != 0) return violated("weight.size(0) not divisible by groups");
    if (c.ws[0] != pl.cin) return violated("input channels != weight.size(0)");
    const i128 cout = i128{c.ws[1]} * G;
    if (!fits(cout)) return violated("weight.size(1) * groups overflows");
    pl.cout = static_cast<std::int64_t>(cout);
    if (c.bs && (c.bs->size() != 1 || (*c.bs)[0] != pl.cout)) return violated("bias shape");
    for (int i = 0; i < 3; ++i) {
      if (pl.in[i] == 0) return violated("empty spatial input (output size 0)");
      const i128 a = (i128{pl.in[i]} - 1) * c.s[i];
      const i128 b = a + i128{c.d[i]} * (pl.k[i] - 1);
      const i128 e = b + op[i] + 1;
      const i128 out = e - 2 * i128{c.p[i]};
      if (!fits(a) || !fits(b) || !fits(e) || !fits(2 * i128{c.p[i]}) || !fits(i128{c.d[i]} * (pl.k[i] - 1))) {
        either = true;
      }
      if (out <= 0) return violated("output size <= 0");
      if (!fits(out)) return violated("output size overflows");
      pl.out[i] = static_cast<std::int64_t>(out);
      pl.pad[i] = c.p[i];
    }
  }
  // The output must be countable.
  if (prod({pl.N, pl.cout, pl.out[0], pl.out[1], pl.out[2]}) > kI64Max) return violated("output numel overflows");
  // Edges where refusing is acceptable.
  if (pl.cin == 0 || pl.cout == 0) either = true;
  for (int i = 0; i < 3; ++i) either = either || pl.in[i] == 0;
  pl.expect = either ? Expect::Either : Expect::Succeed;
  return pl;
}

// --- the reference ---------------------------------------------------------------------------------

struct Reference {
  std::vector<double> y, dx, dw, db;
  std::vector<double> y_abs, dx_abs, dw_abs, db_abs;  // sums of |term|: the scale for tolerances
};

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<double> draw(std::uint64_t& state, i128 n, bool f32) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& e : v) {
    e = static_cast<double>(splitmix(state) >> 11) * 0x1.0p-53 * 2.0 - 1.0;
    if (f32) e = static_cast<double>(static_cast<float>(e));
  }
  return v;
}

/// Direct loops in float64 over every multiply-add term (positions in 128-bit arithmetic).
Reference reference(const Call& c, const Plan& pl, const std::vector<double>& x, const std::vector<double>& w,
                    const std::vector<double>& b, const std::vector<double>& gy) {
  Reference r;
  const std::int64_t N = pl.N, cin = pl.cin, cout = pl.cout, G = pl.groups;
  const std::int64_t cin_g = cin / G, cout_g = cout / G;
  // With no samples or channels the per-sample volumes are never used, and may not fit in int64.
  const std::int64_t ovol = N * cout == 0 ? 0 : pl.out[0] * pl.out[1] * pl.out[2];
  const std::int64_t ivol = N * cin == 0 ? 0 : pl.in[0] * pl.in[1] * pl.in[2];
  r.y.assign(static_cast<std::size_t>(N * cout * ovol), 0.0);
  r.y_abs = r.y;
  r.dx.assign(x.size(), 0.0);
  r.dx_abs = r.dx;
  r.dw.assign(w.size(), 0.0);
  r.dw_abs = r.dw;
  r.db.assign(b.size(), 0.0);
  r.db_abs = r.db;
  if (N == 0 || cout == 0) return r;  // no output elements (N may still be huge)
  if (!b.empty()) {
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t co = 0; co < cout; ++co)
        for (std::int64_t j = 0; j < ovol; ++j) {
          const std::size_t yi = static_cast<std::size_t>((n * cout + co) * ovol + j);
          r.y[yi] = b[co];
          r.y_abs[yi] = std::abs(b[co]);
          r.db[co] += gy[yi];
          r.db_abs[co] += std::abs(gy[yi]);
        }
  }
  auto term = [&](std::int64_t xi, std::int64_t wi, std::int64_t yi) {
    r.y[yi] += x[xi] * w[wi];
    r.y_abs[yi] += std::abs(x[xi] * w[wi]);
    r.dx[xi] += gy[yi] * w[wi];
    r.dx_abs[xi] += std::abs(gy[yi] * w[wi]);
    r.dw[wi] += gy[yi] * x[xi];
    r.dw_abs[wi] += std::abs(gy[yi] * x[xi]);
  };
  auto inside = [](i128 v, std::int64_t size) { return v >= 0 && v < size; };
  if (!c.transposed) {
    if (ovol == 0 || cin_g == 0) return r;
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t co = 0; co < cout; ++co) {
        const std::int64_t g = co / cout_g;
        for (std::int64_t od = 0; od < pl.out[0]; ++od)
          for (std::int64_t oh = 0; oh < pl.out[1]; ++oh)
            for (std::int64_t ow = 0; ow < pl.out[2]; ++ow) {
              const std::int64_t yi = (((n * cout + co) * pl.out[0] + od) * pl.out[1] + oh) * pl.out[2] + ow;
              for (std::int64_t ci = 0; ci < cin_g; ++ci)
                for (std::int64_t kd = 0; kd < pl.k[0]; ++kd)
                  for (std::int64_t kh = 0; kh < pl.k[1]; ++kh)
                    for (std::int64_t kw = 0; kw < pl.k[2]; ++kw) {
                      const i128 id = i128{od} * pl.s[0] - pl.pad[0] + i128{kd} * pl.d[0];
                      const i128 ih = i128{oh} * pl.s[1] - pl.pad[1] + i128{kh} * pl.d[1];
                      const i128 iw = i128{ow} * pl.s[2] - pl.pad[2] + i128{kw} * pl.d[2];
                      if (!inside(id, pl.in[0]) || !inside(ih, pl.in[1]) || !inside(iw, pl.in[2])) continue;
                      const std::int64_t xi =
                          (n * cin + g * cin_g + ci) * ivol +
                          (static_cast<std::int64_t>(id) * pl.in[1] + static_cast<std::int64_t>(ih)) * pl.in[2] +
                          static_cast<std::int64_t>(iw);
                      const std::int64_t wi =
                          ((co * cin_g + ci) * pl.k[0] + kd) * pl.k[1] * pl.k[2] + kh * pl.k[2] + kw;
                      term(xi, wi, yi);
                    }
            }
      }
  } else {
    if (ivol == 0 || cout_g == 0 || cin == 0) return r;
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t ci = 0; ci < cin; ++ci) {
        const std::int64_t g = ci / cin_g;
        for (std::int64_t id = 0; id < pl.in[0]; ++id)
          for (std::int64_t ih = 0; ih < pl.in[1]; ++ih)
            for (std::int64_t iw = 0; iw < pl.in[2]; ++iw) {
              const std::int64_t xi = (((n * cin + ci) * pl.in[0] + id) * pl.in[1] + ih) * pl.in[2] + iw;
              for (std::int64_t co = 0; co < cout_g; ++co)
                for (std::int64_t kd = 0; kd < pl.k[0]; ++kd)
                  for (std::int64_t kh = 0; kh < pl.k[1]; ++kh)
                    for (std::int64_t kw = 0; kw < pl.k[2]; ++kw) {
                      const i128 od = i128{id} * pl.s[0] - pl.pad[0] + i128{kd} * pl.d[0];
                      const i128 oh = i128{ih} * pl.s[1] - pl.pad[1] + i128{kh} * pl.d[1];
                      const i128 ow = i128{iw} * pl.s[2] - pl.pad[2] + i128{kw} * pl.d[2];
                      if (!inside(od, pl.out[0]) || !inside(oh, pl.out[1]) || !inside(ow, pl.out[2])) continue;
                      const std::int64_t wi = (((ci * cout_g + co) * pl.k[0] + kd) * pl.k[1] + kh) * pl.k[2] + kw;
                      const std::int64_t yi =
                          (n * cout + g * cout_g + co) * ovol +
                          (static_cast<std::int64_t>(od) * pl.out[1] + static_cast<std::int64_t>(oh)) * pl.out[2] +
                          static_cast<std::int64_t>(ow);
                      term(xi, wi, yi);
                    }
            }
      }
  }
  return r;
}

// --- arguments as views ----------------------------------------------------------------------------

// After the seed, one byte per tensor argument (input, weight, bias, grad_output) selects how the
// argument is passed: byte % 5 is the kind, byte / 5 its parameter (which dim, step, offset or
// permutation). A missing byte reads as 0, a contiguous tensor: configurations written before these
// bytes existed decode exactly as before.
enum class ViewKind { Contiguous, Strided, Permuted, Expanded, Offset };
constexpr const char* kViewKindNames[] = {"contiguous", "strided", "permuted", "expanded", "offset"};
constexpr const char* kViewArgNames[] = {"input", "weight", "bias", "grad_output"};

struct ViewSpec {
  ViewKind kind = ViewKind::Contiguous;
  std::int64_t param = 0;
};

ViewSpec read_view(Reader& r) {
  const std::uint8_t b = r.byte();
  return {static_cast<ViewKind>(b % 5), b / 5};
}

/// One argument with real values: the view the op sees and the tensor that owns its storage (the
/// same tensor for a contiguous argument). Elements of the base outside the view hold NaN (floating
/// dtypes), so a read outside the view shows in the results.
struct Arg {
  ViewKind kind = ViewKind::Contiguous;  // as built (a kind the shape cannot express falls back)
  Tensor base, view;
  std::int64_t expand_dim = -1;           // Expanded: the dim of size 1 in base
  std::function<Tensor(Tensor)> of_base;  // the view's region of a base-shaped tensor (not Expanded)

  std::string str() const {
    return fmt::format("{} (sizes {} strides {} offset {} of base {})", kViewKindNames[static_cast<int>(kind)],
                       shape_str(view.sizes()), shape_str(view.strides()), view.storage_offset(),
                       shape_str(base.sizes()));
  }
};

using voxgrad::testing::split_at;
using voxgrad::testing::sum_over;

/// Draws the values of an argument of `shape` from `seed` into `values` (for an expanded view: equal
/// along the expanded dim) and builds the argument as `spec` says. The base requires grad when
/// `requires_grad` and the dtype is floating.
Arg make_arg(const ViewSpec& spec, const Shape& shape, DType dtype, bool requires_grad, std::uint64_t& seed,
             std::vector<double>& values) {
  const bool f32 = dtype == kFloat32;
  const bool floating = dtype == kFloat32 || dtype == kFloat64;
  const double filler = floating ? std::nan("") : 12345.0;
  const std::int64_t rank = static_cast<std::int64_t>(shape.size());
  std::vector<std::int64_t> big;  // dims of size > 1
  for (std::int64_t i = 0; i < rank; ++i)
    if (shape[static_cast<std::size_t>(i)] > 1) big.push_back(i);
  Arg a;
  a.kind = spec.kind;
  if (a.kind == ViewKind::Expanded && big.empty()) a.kind = ViewKind::Contiguous;  // nothing to broadcast
  if (a.kind != ViewKind::Contiguous && rank == 0) a.kind = ViewKind::Offset;      // 0-d: select from a 1-D tensor
  const std::int64_t p = spec.param;
  if (a.kind == ViewKind::Expanded) {
    a.expand_dim = big[static_cast<std::size_t>(p) % big.size()];
    Shape bs = shape;
    bs[static_cast<std::size_t>(a.expand_dim)] = 1;
    const std::vector<double> small = draw(seed, prod(bs), f32);
    const auto [outer, n, inner] = split_at(shape, a.expand_dim);
    values.assign(static_cast<std::size_t>(outer * n * inner), 0.0);
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t s = 0; s < n; ++s)
        for (std::int64_t j = 0; j < inner; ++j) values[(o * n + s) * inner + j] = small[o * inner + j];
    a.base = from_blob(small.data(), bs, dtype);
    if (requires_grad && floating) a.base.requires_grad_();
    a.view = a.base.expand(shape);
    return a;
  }
  values = draw(seed, prod(shape), f32);
  const Tensor dense = from_blob(values.data(), shape, dtype);
  switch (a.kind) {
    case ViewKind::Contiguous:
    case ViewKind::Expanded:
      a.base = dense;
      a.of_base = [](Tensor t) { return t; };
      break;
    case ViewKind::Strided: {  // every step-th element along one dim, from an offset below step
      const std::int64_t dim = p % rank, step = 2 + (p / 8) % 2, start = (p / 16) % step;
      Shape bs = shape;
      bs[static_cast<std::size_t>(dim)] *= step;
      a.base = full(bs, filler, dtype);
      a.of_base = [=](Tensor t) { return t.slice(dim, start, std::nullopt, step); };
      a.of_base(a.base).copy_(dense);
      break;
    }
    case ViewKind::Permuted:
      if (rank == 1) {  // column j of an (n, 2) tensor, through a transpose
        const std::int64_t j = p % 2;
        a.base = full({shape[0], 2}, filler, dtype);
        a.of_base = [=](Tensor t) { return t.t().select(0, j); };
        a.of_base(a.base).copy_(dense);
      } else {  // the base holds the values in the order of a permutation of the dims (not the identity)
        std::vector<std::int64_t> perm(static_cast<std::size_t>(rank)), inv(perm.size());
        for (std::int64_t i = 0; i < rank; ++i) perm[static_cast<std::size_t>(i)] = i;
        std::int64_t count = 1;
        for (std::int64_t i = 2; i <= rank; ++i) count *= i;
        for (std::int64_t i = 0, steps = 1 + p % (count - 1); i < steps; ++i)
          std::next_permutation(perm.begin(), perm.end());
        for (std::int64_t i = 0; i < rank; ++i) inv[static_cast<std::size_t>(perm[static_cast<std::size_t>(i)])] = i;
        a.base = dense.permute(perm).contiguous();
        a.of_base = [=](Tensor t) { return t.permute(inv); };
      }
      break;
    case ViewKind::Offset: {  // a window of a larger tensor along one dim (0-d: one element of a 1-D one)
      const std::int64_t before = 1 + (p / 8) % 3, after = (p / 24) % 3;
      if (rank == 0) {
        a.base = full({before + 1 + after}, filler, dtype);
        a.of_base = [=](Tensor t) { return t.select(0, before); };
      } else {
        const std::int64_t dim = p % rank, len = shape[static_cast<std::size_t>(dim)];
        Shape bs = shape;
        bs[static_cast<std::size_t>(dim)] += before + after;
        a.base = full(bs, filler, dtype);
        a.of_base = [=](Tensor t) { return t.narrow(dim, before, len); };
      }
      a.of_base(a.base).copy_(dense);
      break;
    }
  }
  if (requires_grad && floating) a.base.requires_grad_();
  a.view = a.of_base(a.base);
  return a;
}

// --- running the library ---------------------------------------------------------------------------

Tensor run(const Call& c, const Plan& pl, const Tensor& x, const Tensor& w, const Tensor& b) {
  if (!c.transposed) {
    switch (c.api) {
      case Api::Ops: return conv3d(x, w, b, c.s, c.p, c.d, c.groups);
      case Api::Functional:
        return F::conv3d(
            x, w,
            F::Conv3dFuncOptions().bias(b).stride(c.s).padding(ExpandingArray<3>(c.p)).dilation(c.d).groups(c.groups));
      case Api::SameOrOutputSize:
        return F::conv3d(x, w,
                         F::Conv3dFuncOptions().bias(b).stride(c.s).padding(kSame).dilation(c.d).groups(c.groups));
      case Api::ValidOrFullOutputSize:
        return F::conv3d(x, w,
                         F::Conv3dFuncOptions().bias(b).stride(c.s).padding(kValid).dilation(c.d).groups(c.groups));
    }
  }
  switch (c.api) {
    case Api::Ops: return conv_transpose3d(x, w, b, c.s, c.p, c.op, c.groups, c.d);
    case Api::Functional:
      return F::conv_transpose3d(x, w,
                                 F::ConvTranspose3dFuncOptions()
                                     .bias(b)
                                     .stride(c.s)
                                     .padding(c.p)
                                     .output_padding(c.op)
                                     .groups(c.groups)
                                     .dilation(c.d));
    case Api::SameOrOutputSize:
    case Api::ValidOrFullOutputSize: {
      // The requested spatial size: min + delta, computed as the oracle does (saturating).
      Shape requested;
      for (int i = 0; i < 3; ++i) {
        const std::int64_t in = x.dim() >= 3 ? x.sizes()[x.dim() - 3 + i] : 1;
        const std::int64_t k = w.dim() == 5 ? w.sizes()[2 + i] : 1;
        i128 m = (i128{in} - 1) * c.s[i] - 2 * i128{c.p[i]} + i128{c.d[i]} * (k - 1) + 1 + c.out_delta[i];
        m = std::clamp<i128>(m, kI64Min, kI64Max);
        requested.push_back(static_cast<std::int64_t>(m));
      }
      Shape output_size = requested;
      if (c.api == Api::ValidOrFullOutputSize) {
        output_size.insert(output_size.begin(), pl.cout);
        if (x.dim() == 5) output_size.insert(output_size.begin(), x.sizes()[0]);
      }
      const ExpandingArray<3> kernel =
          w.dim() == 5 ? ExpandingArray<3>(std::array<std::int64_t, 3>{w.sizes()[2], w.sizes()[3], w.sizes()[4]})
                       : ExpandingArray<3>(1);
      const ExpandingArray<3> op = F::conv_transpose_output_padding<3>(x.sizes(), output_size, kernel, c.s, c.p, c.d);
      if (c.api == Api::SameOrOutputSize) return conv_transpose3d(x, w, b, c.s, c.p, op, c.groups, c.d);
      return F::conv_transpose3d(
          x, w,
          F::ConvTranspose3dFuncOptions().bias(b).stride(c.s).padding(c.p).output_padding(op).groups(c.groups).dilation(
              c.d));
    }
  }
  return {};
}

Shape batched_shape(const Plan& pl, std::int64_t channels, const Dims& sp) {
  if (pl.unbatched) return {channels, sp[0], sp[1], sp[2]};
  return {pl.N, channels, sp[0], sp[1], sp[2]};
}

void compare(const char* what, const Tensor& got, const Shape& shape, DType dtype, const std::vector<double>& want,
             const std::vector<double>& scale, const Call& c, const std::string& where) {
  if (!got.defined()) fail(fmt::format("{}: undefined tensor for {}{}", what, c.str(), where));
  if (got.sizes() != shape) {
    fail(fmt::format("{}: shape {}, expected {} for {}{}", what, shape_str(got.sizes()), shape_str(shape), c.str(),
                     where));
  }
  if (got.dtype() != dtype) fail(fmt::format("{}: dtype {} for {}{}", what, dtype_name(got.dtype()), c.str(), where));
  const Tensor g = got.detach().to(kFloat64).contiguous();
  const double* v = g.data_ptr<double>();
  if (static_cast<std::size_t>(g.numel()) != want.size()) {
    fail(fmt::format("{}: {} values, expected {} for {}{}", what, g.numel(), want.size(), c.str(), where));
  }
  const double rtol = dtype == kFloat32 ? 1e-4 : 1e-9;
  const double atol = dtype == kFloat32 ? 1e-6 : 1e-300;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double err = std::abs(v[i] - want[i]);
    if (!(err <= rtol * scale[i] + atol)) {
      fail(fmt::format("{}: element {} is {:.17g}, expected {:.17g} (scale {:g}) for {}{}", what, i, v[i], want[i],
                       scale[i], c.str(), where));
    }
  }
}

void set_threads(int n) {
  static int current = 0;
  if (n != current) {
    set_num_threads(n);
    current = n;
  }
}

void check(const Call& c, std::uint64_t seed, const std::array<ViewSpec, 4>& views) {
  const Plan pl = oracle(c);
  // Sizes: operands and output.
  const i128 xn = prod(c.xs), wn = prod(c.ws), bn = c.bs ? prod(*c.bs) : 0;
  const bool throws = pl.expect == Expect::Throw;
  i128 yn = 0, terms = 0;
  if (!throws) {
    yn = prod({pl.N, pl.cout, pl.out[0], pl.out[1], pl.out[2]});
    const i128 per = c.transposed ? i128{pl.cout / pl.groups} : i128{pl.cin / pl.groups};
    const i128 kvol = prod({pl.k[0], pl.k[1], pl.k[2]});
    terms = sat_mul(c.transposed ? xn : yn, sat_mul(per, kvol));
  }
  const std::vector<i128> sizes{xn, wn, bn, yn};
  const bool small =
      std::all_of(sizes.begin(), sizes.end(), [](i128 v) { return v <= kMaxElements; }) && terms <= kMaxTerms;
  // Some size is astronomical (so the library must refuse to allocate it) and the rest are small.
  const bool refusable =
      std::all_of(sizes.begin(), sizes.end(), [](i128 v) { return v <= kMaxElements || v >= kAstronomical; }) &&
      std::any_of(sizes.begin(), sizes.end(), [](i128 v) { return v >= kAstronomical; });
  if (!throws && !small && !refusable) return;  // valid but too big to run here: skip
  const bool compare_results = !throws && small;
  if (verbose())
    std::fprintf(stderr, "%s [%s%s%s]\n", c.str().c_str(), expect_name(pl.expect), throws ? ": " : "",
                 pl.reason.c_str());
  set_threads(c.threads);

  // Operands: real values when small (and needed), passed as the views the configuration selects;
  // large ones are zero-stride expanded views of one element (no memory).
  std::vector<double> xv, wv, bv;
  Arg ax, aw, ab;
  // An empty operand whose other sizes are large (so large that their product may not even fit in
  // int64) stays contiguous: a view of it could not be built. False: a contiguous operand could not
  // be built (its sizes cannot be counted), which is not the op's business.
  auto small_arg = [&](std::size_t i, const Shape& shape, DType dtype, std::vector<double>& values, Arg& a) {
    i128 span = 1;
    for (std::int64_t v : shape) span = sat_mul(span, std::max<std::int64_t>(v, 1));
    const ViewSpec spec = span <= kMaxElements ? views[i] : ViewSpec{};
    try {
      a = make_arg(spec, shape, dtype, i != 3, seed, values);
    } catch (const Error& e) {
      if (spec.kind == ViewKind::Contiguous && i != 3) return false;
      fail(fmt::format("building the {} as a {} view threw: {}\n  call: {}", kViewArgNames[i],
                       kViewKindNames[static_cast<int>(spec.kind)], e.what(), c.str()));
    }
    return true;
  };
  if (xn <= kMaxElements && !small_arg(0, c.xs, c.x_dtype, xv, ax)) return;
  if (wn <= kMaxElements && !small_arg(1, c.ws, c.w_dtype, wv, aw)) return;
  if (c.bs && bn <= kMaxElements && !small_arg(2, *c.bs, c.b_dtype, bv, ab)) return;
  Tensor x = ax.view, w = aw.view, b = ab.view;
  try {
    if (!x.defined()) x = zeros({1}, c.x_dtype).expand(c.xs);
    if (!w.defined()) w = zeros({1}, c.w_dtype).expand(c.ws);
    if (c.bs && !b.defined()) b = zeros({1}, c.b_dtype).expand(*c.bs);
  } catch (const Error&) {
    return;  // e.g. an expanded shape whose element count overflows: not the op's business
  }
  auto view_str = [&] {
    std::string out;
    const Arg* args[3] = {&ax, &aw, &ab};
    for (std::size_t i = 0; i < 3; ++i) {
      if (args[i]->view.defined()) out += fmt::format("\n  {}: {}", kViewArgNames[i], args[i]->str());
    }
    return out;
  };
  if (verbose()) std::fprintf(stderr, "  arguments:%s\n", view_str().c_str());

  Tensor y;
  try {
    y = run(c, pl, x, w, b);
  } catch (const Error& e) {
    if (pl.expect == Expect::Succeed && !(!small && refusable)) {
      fail(fmt::format("a valid call threw: {}\n  call: {}{}", e.what(), c.str(), view_str()));
    }
    if (verbose()) std::fprintf(stderr, "  -> Error: %s\n", e.what());
    return;
  } catch (const std::exception& e) {
    fail(fmt::format("a non-voxgrad exception ({}): {}\n  call: {}", typeid(e).name(), e.what(), c.str()));
  } catch (...) {
    fail("an unknown exception\n  call: " + c.str());
  }
  if (throws)
    fail(fmt::format("an invalid call ({}) succeeded with output {}\n  call: {}{}", pl.reason, shape_str(y.sizes()),
                     c.str(), view_str()));
  if (!compare_results) {
    // A valid call with an astronomical operand may succeed when it needs no astronomical memory
    // (e.g. an empty output with a huge zero-stride bias); one that tried to allocate it would have
    // hit libFuzzer's -malloc_limit_mb already.
    if (verbose()) std::fprintf(stderr, "  -> succeeded with output %s\n", shape_str(y.sizes()).c_str());
    return;
  }

  // Forward, then the gradients for a random upstream gradient (itself passed as a view), w.r.t. the
  // views the op saw and w.r.t. the tensors that own their storage.
  const Shape y_shape = batched_shape(pl, pl.cout, pl.out);
  std::vector<double> gy;
  Arg agy;
  small_arg(3, y_shape, c.x_dtype, gy, agy);
  const std::string where = view_str() + fmt::format("\n  grad_output: {}", agy.str());
  const Reference ref = reference(c, pl, xv, wv, bv, gy);
  compare("output", y, y_shape, c.x_dtype, ref.y, ref.y_abs, c, where);
  const Arg* args[3] = {&ax, &aw, c.bs ? &ab : nullptr};
  std::vector<Tensor> inputs;
  for (const Arg* a : args)
    if (a != nullptr) inputs.push_back(a->view);
  for (const Arg* a : args)
    if (a != nullptr && a->kind != ViewKind::Contiguous) inputs.push_back(a->base);
  std::vector<Tensor> grads;
  try {
    grads = autograd::grad({y}, inputs, {agy.view});
  } catch (const Error& e) {
    fail(fmt::format("backward threw: {}\n  call: {}{}", e.what(), c.str(), where));
  } catch (const std::exception& e) {
    fail(fmt::format("backward threw a non-voxgrad exception: {}\n  call: {}{}", e.what(), c.str(), where));
  }
  const char* names[3] = {"grad input", "grad weight", "grad bias"};
  const Shape shapes[3] = {c.xs, c.ws, c.bs ? *c.bs : Shape{}};
  const std::vector<double>* want[3] = {&ref.dx, &ref.dw, &ref.db};
  const std::vector<double>* scale[3] = {&ref.dx_abs, &ref.dw_abs, &ref.db_abs};
  std::size_t next_base = c.bs ? 3 : 2;
  for (std::size_t i = 0; i < 3; ++i) {
    const Arg* a = args[i];
    if (a == nullptr) continue;
    compare(names[i], grads[i], shapes[i], c.x_dtype, *want[i], *scale[i], c, where);
    if (a->kind == ViewKind::Contiguous) continue;
    const Tensor gb = grads[next_base++];
    const std::string what =
        fmt::format("{} w.r.t. the {} view's base", names[i], kViewKindNames[static_cast<int>(a->kind)]);
    if (a->kind == ViewKind::Expanded) {
      compare(what.c_str(), gb, a->base.sizes(), c.x_dtype, sum_over(*want[i], shapes[i], a->expand_dim),
              sum_over(*scale[i], shapes[i], a->expand_dim), c, where);
      continue;
    }
    if (gb.sizes() != a->base.sizes()) {
      fail(fmt::format("{}: shape {}, expected {} for {}{}", what, shape_str(gb.sizes()), shape_str(a->base.sizes()),
                       c.str(), where));
    }
    compare(what.c_str(), a->of_base(gb), shapes[i], c.x_dtype, *want[i], *scale[i], c, where);
    Tensor outside = gb.clone();
    a->of_base(outside).zero_();
    const std::vector<double> zero(static_cast<std::size_t>(outside.numel()), 0.0);
    compare((what + " outside the view").c_str(), outside, outside.sizes(), c.x_dtype, zero, zero, c, where);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader r(data, size);
  const Call c = read_call(r);
  const std::uint64_t seed = r.u64();
  std::array<ViewSpec, 4> views;  // input, weight, bias, grad_output
  for (ViewSpec& v : views) v = read_view(r);
  // Every instruction set this CPU runs (core/cpu.h): each has its own direct kernels and GEMM.
  for (CpuIsa isa : {CpuIsa::avx512, CpuIsa::avx2, CpuIsa::baseline}) {
    if (isa > cpu_isa_supported()) continue;
    detail::set_isa_override(isa);
    check(c, seed, views);
  }
  detail::set_isa_override(std::nullopt);
  return 0;
}
