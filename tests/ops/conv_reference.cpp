// The naive conv reference of conv_reference.h, in its own file so that every preset compiles it
// optimised (tests/CMakeLists.txt): at the asan preset's -O0 these loops took 95% of the conv sweeps'
// time.

#include "ops/conv_reference.h"

#include <cmath>
#include <cstdint>
#include <vector>

namespace voxgrad::testing {
namespace {

/// conv3d from the definition y[n,co,o] = b[co] + Σ w[co,ci,k]·x[n, g·cin_g+ci, o·s − p + k·d]:
/// calls f(x index, w index, y index) for every term whose input position lies inside the volume.
template <typename F>
void conv3d_terms(const Cfg& c, F&& f) {
  const Dims o = c.out();
  const std::int64_t cin_g = c.cin_g(), cout_g = c.cout_g();
  for (std::int64_t n = 0; n < c.n_ref(); ++n)
    for (std::int64_t co = 0; co < c.cout; ++co) {
      const std::int64_t g = co / cout_g;
      for (std::int64_t od = 0; od < o[0]; ++od)
        for (std::int64_t oh = 0; oh < o[1]; ++oh)
          for (std::int64_t ow = 0; ow < o[2]; ++ow) {
            const std::int64_t yi = (((n * c.cout + co) * o[0] + od) * o[1] + oh) * o[2] + ow;
            for (std::int64_t ci = 0; ci < cin_g; ++ci)
              for (std::int64_t kd = 0; kd < c.k[0]; ++kd)
                for (std::int64_t kh = 0; kh < c.k[1]; ++kh)
                  for (std::int64_t kw = 0; kw < c.k[2]; ++kw) {
                    const std::int64_t id = od * c.s[0] - c.p[0] + kd * c.d[0];
                    const std::int64_t ih = oh * c.s[1] - c.p[1] + kh * c.d[1];
                    const std::int64_t iw = ow * c.s[2] - c.p[2] + kw * c.d[2];
                    if (id < 0 || id >= c.in[0] || ih < 0 || ih >= c.in[1] || iw < 0 || iw >= c.in[2]) continue;
                    const std::int64_t xi =
                        (((n * c.cin + g * cin_g + ci) * c.in[0] + id) * c.in[1] + ih) * c.in[2] + iw;
                    const std::int64_t wi = (((co * cin_g + ci) * c.k[0] + kd) * c.k[1] + kh) * c.k[2] + kw;
                    f(xi, wi, yi);
                  }
          }
    }
}

/// conv_transpose3d by scattering each input element: x[n,ci,i] · w[ci,co,k] lands on
/// y[n, g·cout_g+co, i·s − p + k·d] when that lies inside the output. Calls f(x, w, y indices).
template <typename F>
void conv_transpose3d_terms(const Cfg& c, F&& f) {
  const Dims o = c.out();
  const std::int64_t cin_g = c.cin_g(), cout_g = c.cout_g();
  for (std::int64_t n = 0; n < c.n_ref(); ++n)
    for (std::int64_t ci = 0; ci < c.cin; ++ci) {
      const std::int64_t g = ci / cin_g;
      for (std::int64_t id = 0; id < c.in[0]; ++id)
        for (std::int64_t ih = 0; ih < c.in[1]; ++ih)
          for (std::int64_t iw = 0; iw < c.in[2]; ++iw) {
            const std::int64_t xi = (((n * c.cin + ci) * c.in[0] + id) * c.in[1] + ih) * c.in[2] + iw;
            for (std::int64_t co = 0; co < cout_g; ++co)
              for (std::int64_t kd = 0; kd < c.k[0]; ++kd)
                for (std::int64_t kh = 0; kh < c.k[1]; ++kh)
                  for (std::int64_t kw = 0; kw < c.k[2]; ++kw) {
                    const std::int64_t od = id * c.s[0] - c.p[0] + kd * c.d[0];
                    const std::int64_t oh = ih * c.s[1] - c.p[1] + kh * c.d[1];
                    const std::int64_t ow = iw * c.s[2] - c.p[2] + kw * c.d[2];
                    if (od < 0 || od >= o[0] || oh < 0 || oh >= o[1] || ow < 0 || ow >= o[2]) continue;
                    const std::int64_t wi = (((ci * cout_g + co) * c.k[0] + kd) * c.k[1] + kh) * c.k[2] + kw;
                    const std::int64_t yi = (((n * c.cout + g * cout_g + co) * o[0] + od) * o[1] + oh) * o[2] + ow;
                    f(xi, wi, yi);
                  }
          }
    }
}

/// The float32 allowance of Reference from each element's Σ|term| and term count.
std::vector<double> float32_allowance(const std::vector<double>& magnitude, const std::vector<double>& terms) {
  std::vector<double> a(magnitude.size());
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = 4.0 * std::sqrt(terms[i]) * std::ldexp(magnitude[i], -24);
  return a;
}

}  // namespace

Reference reference(const Cfg& c, const std::vector<double>& x, const std::vector<double>& w,
                    const std::vector<double>& b, const std::vector<double>& gy) {
  Reference r;
  const Dims o = c.out();
  const std::int64_t ovol = o[0] * o[1] * o[2];
  r.y.assign(static_cast<std::size_t>(c.n_ref() * c.cout * ovol), 0.0);
  r.dx.assign(x.size(), 0.0);
  r.dw.assign(w.size(), 0.0);
  r.db.assign(static_cast<std::size_t>(c.bias ? c.cout : 0), 0.0);
  // Σ|term| and the term count of every element, for the float32 allowance.
  std::vector<double> my(r.y.size(), 0.0), mx(x.size(), 0.0), mw(w.size(), 0.0), mb(r.db.size(), 0.0);
  std::vector<double> ny(r.y.size(), 0.0), nx(x.size(), 0.0), nw(w.size(), 0.0), nb(r.db.size(), 0.0);
  if (c.bias) {
    for (std::int64_t n = 0; n < c.n_ref(); ++n)
      for (std::int64_t co = 0; co < c.cout; ++co)
        for (std::int64_t j = 0; j < ovol; ++j) {
          const std::int64_t yi = (n * c.cout + co) * ovol + j;
          r.y[yi] = b[co];
          my[yi] = std::abs(b[co]);
          ny[yi] = 1.0;
          r.db[co] += gy[yi];
          mb[co] += std::abs(gy[yi]);
          nb[co] += 1.0;
        }
  }
  auto term = [&](std::int64_t xi, std::int64_t wi, std::int64_t yi) {
    r.y[yi] += x[xi] * w[wi];
    r.dx[xi] += gy[yi] * w[wi];
    r.dw[wi] += gy[yi] * x[xi];
    my[yi] += std::abs(x[xi] * w[wi]);
    mx[xi] += std::abs(gy[yi] * w[wi]);
    mw[wi] += std::abs(gy[yi] * x[xi]);
    ny[yi] += 1.0;
    nx[xi] += 1.0;
    nw[wi] += 1.0;
  };
  if (c.transposed)
    conv_transpose3d_terms(c, term);
  else
    conv3d_terms(c, term);
  r.y_f32 = float32_allowance(my, ny);
  r.dx_f32 = float32_allowance(mx, nx);
  r.dw_f32 = float32_allowance(mw, nw);
  r.db_f32 = float32_allowance(mb, nb);
  return r;
}

}  // namespace voxgrad::testing
