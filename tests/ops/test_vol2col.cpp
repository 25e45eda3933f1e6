// im2col3d / col2im3d (ops/detail/vol2col.h): the column matrix against its definition, the two as
// each other's adjoint, partial column ranges and channel splits, on random geometries.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "conv_reference.h"

#include <voxgrad/ops/conv.h>
#include <voxgrad/voxgrad.h>
#include "voxgrad/ops/detail/conv_geometry.h"
#include "voxgrad/ops/detail/vol2col.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::testing;

// =================================================================================================
// im2col3d / col2im3d: the definition, adjointness, partial column ranges, channel splits.
// =================================================================================================

/// The column matrix entry (row, col) from its definition, or 0 in the padding.
double col_entry(const std::vector<double>& vol, const detail::ConvGeometry& g, std::int64_t row, std::int64_t col) {
  const std::int64_t kv = g.kernel_volume();
  const std::int64_t c = row / kv, kd = row % kv / (g.kernel[1] * g.kernel[2]),
                     kh = row % (g.kernel[1] * g.kernel[2]) / g.kernel[2], kw = row % g.kernel[2];
  const std::int64_t od = col / (g.out[1] * g.out[2]), oh = col / g.out[2] % g.out[1], ow = col % g.out[2];
  const std::int64_t pos[3] = {od * g.stride[0] - g.padding[0] + kd * g.dilation[0],
                               oh * g.stride[1] - g.padding[1] + kh * g.dilation[1],
                               ow * g.stride[2] - g.padding[2] + kw * g.dilation[2]};
  for (std::size_t i = 0; i < 3; ++i) {
    if (pos[i] < 0 || pos[i] >= g.vol[i]) return 0.0;
  }
  return vol[static_cast<std::size_t>(((c * g.vol[0] + pos[0]) * g.vol[1] + pos[1]) * g.vol[2] + pos[2])];
}

std::string geo_str(const detail::ConvGeometry& g, std::int64_t c0, std::int64_t c1) {
  std::ostringstream os;
  os << "channels=" << g.Cin << " vol=" << dims_str(g.vol) << " out=" << dims_str(g.out)
     << " kernel=" << dims_str(g.kernel) << " stride=" << dims_str(g.stride) << " padding=" << dims_str(g.padding)
     << " dilation=" << dims_str(g.dilation) << " columns [" << c0 << ", " << c1 << ")";
  return os.str();
}

TEST(Vol2Col, AdjointAndDefinitionOnRandomGeometries) {
  std::mt19937_64 rng(0x2C01);
  int checked = 0, partial = 0, short_out = 0;
  while (checked < 300) {
    detail::ConvGeometry g;
    g.Cin = pick(rng, 1, 3);
    for (std::size_t i = 0; i < 3; ++i) {
      g.vol[i] = pick(rng, 1, 7);
      g.kernel[i] = pick(rng, 1, 3);
      g.stride[i] = pick(rng, 1, 3);
      g.padding[i] = pick(rng, 0, 2);
      g.dilation[i] = pick(rng, 1, 3);
    }
    bool ok = true;
    bool beyond = false;
    for (std::size_t i = 0; i < 3; ++i) {
      const std::int64_t natural =
          g.vol[i] + 2 * g.padding[i] >= g.dilation[i] * (g.kernel[i] - 1) + 1
              ? (g.vol[i] + 2 * g.padding[i] - g.dilation[i] * (g.kernel[i] - 1) - 1) / g.stride[i] + 1
              : 0;
      if (natural == 0) ok = false;
      // Mostly the natural size; sometimes fewer columns, as when the geometry serves a
      // transposed convolution whose output_padding exceeds its stride.
      g.out[i] = pick(rng, 0, 3) == 0 ? pick(rng, 1, std::max<std::int64_t>(natural, 1)) : natural;
      beyond = beyond || g.out[i] < natural;
    }
    if (!ok) continue;
    ++checked;
    short_out += beyond;
    const std::int64_t rows = g.rows(), cols = g.out_size();
    // Full range half the time; otherwise a random sub-range (possibly empty).
    std::int64_t c0 = 0, c1 = cols;
    if (pick(rng, 0, 1) == 1) {
      c0 = pick(rng, 0, cols);
      c1 = pick(rng, c0, cols);
      ++partial;
    }
    const std::int64_t width = c1 - c0;
    const std::string where = geo_str(g, c0, c1);
    const std::vector<double> x = uniform_values(rng, g.Cin * g.vol_size());
    const std::vector<double> y = uniform_values(rng, rows * width);

    std::vector<double> col(static_cast<std::size_t>(rows * width), std::nan(""));
    detail::im2col3d(x.data(), g, c0, c1, col.data());
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < width; ++j) {
        ASSERT_EQ(col[r * width + j], col_entry(x, g, r, c0 + j)) << where << " row " << r << " col " << c0 + j;
      }

    // col2im adds into what is there; here it starts from a random base.
    const std::vector<double> base = uniform_values(rng, g.Cin * g.vol_size());
    std::vector<double> back = base;
    detail::col2im3d(y.data(), g, c0, c1, back.data(), 0, g.Cin);
    double lhs = 0.0, rhs = 0.0, scale = 0.0;
    for (std::size_t i = 0; i < col.size(); ++i) {
      lhs += col[i] * y[i];
      scale += std::abs(col[i] * y[i]);
    }
    for (std::size_t i = 0; i < x.size(); ++i) rhs += x[i] * (back[i] - base[i]);
    EXPECT_NEAR(lhs, rhs, 1e-12 * std::max(1.0, scale)) << "<im2col(x), y> != <x, col2im(y)> for " << where;

    // The definition of col2im, element by element (exact adjoint of col_entry), into zeros.
    std::vector<double> from_zero(x.size(), 0.0), want(x.size(), 0.0);
    detail::col2im3d(y.data(), g, c0, c1, from_zero.data(), 0, g.Cin);
    for (std::size_t i = 0; i < x.size(); ++i) {
      std::vector<double> e(x.size(), 0.0);
      e[i] = 1.0;
      double s = 0.0;
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t j = 0; j < width; ++j) s += col_entry(e, g, r, c0 + j) * y[r * width + j];
      want[i] = s;
    }
    for (std::size_t i = 0; i < x.size(); ++i) {
      ASSERT_NEAR(from_zero[i], want[i], 1e-12) << where << " element " << i;
      ASSERT_NEAR(back[i], base[i] + from_zero[i], 1e-12) << "col2im must add, not assign: " << where;
    }

    // Channel ranges split anywhere give the same volume (each call writes only its channels).
    if (g.Cin > 1) {
      const std::int64_t mid = pick(rng, 1, g.Cin - 1);
      std::vector<double> split(x.size(), 0.0);
      detail::col2im3d(y.data(), g, c0, c1, split.data(), mid, g.Cin);
      for (std::int64_t i = 0; i < mid * g.vol_size(); ++i) ASSERT_EQ(split[i], 0.0) << where;
      detail::col2im3d(y.data(), g, c0, c1, split.data(), 0, mid);
      for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(split[i], from_zero[i]) << where;
    }
    // Columns split anywhere: the two im2col parts are the full matrix's column blocks.
    if (width > 1) {
      const std::int64_t cm = pick(rng, c0 + 1, c1 - 1);
      std::vector<double> left(static_cast<std::size_t>(rows * (cm - c0))),
          right(static_cast<std::size_t>(rows * (c1 - cm)));
      detail::im2col3d(x.data(), g, c0, cm, left.data());
      detail::im2col3d(x.data(), g, cm, c1, right.data());
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t j = c0; j < cm; ++j)
          ASSERT_EQ(left[r * (cm - c0) + (j - c0)], col[r * width + (j - c0)]) << where;
        for (std::int64_t j = cm; j < c1; ++j)
          ASSERT_EQ(right[r * (c1 - cm) + (j - cm)], col[r * width + (j - c0)]) << where;
      }
    }
  }
  EXPECT_GE(partial, 100);
  EXPECT_GE(short_out, 30);

  // float32 instantiation: same definition.
  detail::ConvGeometry g;
  g.Cin = 2;
  g.vol = {4, 5, 6};
  g.kernel = {2, 3, 2};
  g.stride = {1, 2, 3};
  g.padding = {1, 1, 0};
  g.dilation = {2, 1, 1};
  for (std::size_t i = 0; i < 3; ++i) {
    g.out[i] = (g.vol[i] + 2 * g.padding[i] - g.dilation[i] * (g.kernel[i] - 1) - 1) / g.stride[i] + 1;
  }
  const std::vector<double> xd = uniform_values(rng, g.Cin * g.vol_size());
  const std::vector<float> xf(xd.begin(), xd.end());
  std::vector<float> colf(static_cast<std::size_t>(g.rows() * g.out_size()));
  detail::im2col3d(xf.data(), g, 0, g.out_size(), colf.data());
  const std::vector<double> xr(xf.begin(), xf.end());
  for (std::int64_t r = 0; r < g.rows(); ++r)
    for (std::int64_t j = 0; j < g.out_size(); ++j)
      ASSERT_EQ(double(colf[r * g.out_size() + j]), col_entry(xr, g, r, j));
}

}  // namespace
