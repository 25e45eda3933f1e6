// bincount, histc, searchsorted, bucketize, unique and count_nonzero (ops/histogram.h):
// - against PyTorch 1.13 (tests/fixtures/histogram/histogram.json, written by its generate.py), bit for bit;
// - NaN where PyTorch 1.13 miscounts it (histc, unique), ±0, views of every argument, and exact errors.

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "json_fixture.h"
#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace {

using namespace voxgrad;
using namespace voxgrad::testing;
using nlohmann::json;

const json& fixture() {
  static const json j = load_fixture("histogram/histogram.json");
  return j;
}

class HistogramFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(HistogramFixture, ResultsAreTorchsBitForBit) {
  const json* found = find_case(fixture(), GetParam());
  ASSERT_NE(found, nullptr);
  const json& c = *found;
  const std::string fn = c["fn"];
  const json& o = c["options"];
  const auto in = [&](const char* name) { return json_tensor(c["inputs"][name]); };
  const auto want = [&](const char* name) { return json_tensor(c["outputs"][name]); };
  if (fn == "unique") {
    const bool inverse = o.value("return_inverse", false), counts = o.value("return_counts", false);
    const std::optional<std::int64_t> dim =
        o.contains("dim") ? std::optional<std::int64_t>(o["dim"].get<std::int64_t>()) : std::nullopt;
    const auto [v, i, n] = unique(in("input"), true, inverse, counts, dim);
    EXPECT_TRUE(bit_identical(v, want("values")));
    EXPECT_TRUE(inverse ? bit_identical(i, want("inverse")) : i.numel() == 0);
    EXPECT_TRUE(counts ? bit_identical(n, want("counts")) : n.numel() == 0);
    return;
  }
  Tensor out;
  if (fn == "bincount") {
    out = bincount(in("input"), c["inputs"].contains("weights") ? in("weights") : Tensor(), o.value("minlength", 0));
  } else if (fn == "histc") {
    out = histc(in("input"), o.value("bins", 100), o.value("min", 0.0), o.value("max", 0.0));
  } else if (fn == "searchsorted") {
    out = searchsorted(in("sorted_sequence"), in("input"), false, o.value("right", false));
  } else if (fn == "bucketize") {
    out = bucketize(in("input"), in("boundaries"), false, o.value("right", false));
  } else if (fn == "count_nonzero") {
    out = count_nonzero(in("input"),
                        o.contains("dim") ? o["dim"].get<std::vector<std::int64_t>>() : std::vector<std::int64_t>{});
  } else {
    FAIL() << "unknown fn " << fn;
  }
  EXPECT_TRUE(bit_identical(out, want("out")));
  EXPECT_FALSE(out.requires_grad());
}

INSTANTIATE_TEST_SUITE_P(PyTorch, HistogramFixture, ::testing::ValuesIn(fixture_case_names(fixture)), name_from_param);

TEST(HistogramFixtureFile, HoldsEveryOp) {
  std::map<std::string, int> count;
  for (const json& c : fixture()["cases"]) ++count[c["fn"].get<std::string>()];
  for (const char* fn : {"bincount", "histc", "searchsorted", "bucketize", "unique", "count_nonzero"}) {
    EXPECT_GE(count[fn], 2) << fn;
  }
  EXPECT_EQ(fixture()["torch_version"].get<std::string>().substr(0, 4), "1.13");
}

TEST(Histogram, NaNIsLeftOutOfHistcAndDistinctInUnique) {
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  // PyTorch 1.13 counts the NaN in bin 0 ([1, 2, 1, 0]); it is in no bin.
  EXPECT_EQ(values(histc(tensor({1.0, 2.0, 1.0, 4.0, nan}, kFloat64), 4, 0.0, 3.0)), (std::vector<double>{0, 2, 1, 0}));
  EXPECT_EQ(values(histc(tensor({-inf, 0.5, inf}, kFloat64), 2, 0.0, 1.0)), (std::vector<double>{0, 1}));
  // Sorted, NaNs last and each its own value (PyTorch 1.13 returns [-0, 2, nan, nan, 1, 3]).
  const auto [v, i, n] = unique(tensor({3.0, 1.0, nan, 2.0, 1.0, nan, -0.0, 0.0}, kFloat64), true, true, true);
  const std::vector<double> got = values(v);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(std::vector<double>(got.begin(), got.begin() + 4), (std::vector<double>{0.0, 1.0, 2.0, 3.0}));
  EXPECT_TRUE(std::signbit(got[0]));  // −0 comes first in index order, so it stands for both zeros
  EXPECT_TRUE(std::isnan(got[4]) && std::isnan(got[5]));
  EXPECT_EQ(values(i), (std::vector<double>{3, 1, 4, 2, 1, 5, 0, 0}));
  EXPECT_EQ(values(n), (std::vector<double>{2, 2, 1, 1, 1, 1}));
}

TEST(Histogram, UniqueAlongADimSortsSlicesAndKeepsNaNSlicesApart) {
  const double nan = std::nan("");
  // Columns of a 2x5: (1, 2), (nan, 0), (1, 2), (0, 5), (nan, 0).
  const Tensor x = tensor({1.0, nan, 1.0, 0.0, nan, 2.0, 0.0, 2.0, 5.0, 0.0}, kFloat64).reshape({2, 5});
  const auto [v, i, n] = unique(x, true, true, true, 1);
  ASSERT_EQ(v.sizes(), (Shape{2, 4}));
  const std::vector<double> got = values(v);
  EXPECT_EQ(got[0], 0.0);  // (0, 5), (1, 2), then the two NaN columns, each its own
  EXPECT_EQ(got[1], 1.0);
  EXPECT_TRUE(std::isnan(got[2]) && std::isnan(got[3]));
  EXPECT_EQ(values(i), (std::vector<double>{1, 2, 1, 0, 3}));
  EXPECT_EQ(values(n), (std::vector<double>{1, 2, 1, 1}));
  // A permuted view gives the contiguous input's results.
  const Tensor p = x.t();
  const auto [vp, ip, np] = unique(p, true, true, true, 0);
  EXPECT_TRUE(same_bits_any_nan(vp, std::get<0>(unique(p.contiguous(), true, true, true, 0))));
  EXPECT_EQ(values(ip), values(i));
  // 1-D along dim 0 is unique of the elements.
  EXPECT_TRUE(bit_identical(std::get<0>(unique(tensor({3.0, 1.0, 3.0}, kFloat64), true, false, false, 0)),
                            tensor({1.0, 3.0}, kFloat64)));
  EXPECT_ERROR_EQ(unique(full({}, 1.0, kFloat64), true, false, false, 0), "unique: dim 0 given for a 0-d input");
  EXPECT_ERROR_CONTAINS(unique(zeros({2, 0}), true, false, false, 0), "has size 0 and is not the selected dim 0");
  EXPECT_ERROR_CONTAINS(unique(zeros({2, 3}), true, false, false, 2), "unique");
}

TEST(Histogram, ZeroDAndEmptyInputs) {
  const auto [v, i, n] = unique(full({}, 2.5, kFloat64), true, true, true);
  EXPECT_EQ(values(v), (std::vector<double>{2.5}));
  EXPECT_EQ(i.dim(), 0);
  EXPECT_EQ(values(n), (std::vector<double>{1}));
  const auto [ve, ie, ne] = unique(zeros({0, 3}), true, true, true);
  EXPECT_EQ(ve.numel(), 0);
  EXPECT_EQ(ie.sizes(), (Shape{0, 3}));
  EXPECT_EQ(ne.numel(), 0);
  EXPECT_EQ(values(count_nonzero(tensor({0.0, 1.0, 2.0}, kFloat64).reshape({3, 1}), {-2})), (std::vector<double>{2}));
  EXPECT_EQ(values(searchsorted(tensor({1.0, 2.0}, kFloat64), full({}, 1.5, kFloat64))), (std::vector<double>{1}));
}

TEST(Histogram, ViewsGiveTheContiguousResults) {
  const Tensor x = (rand({6, 8}, kFloat64) * 10.0).floor();
  const Tensor strided = x.slice(1, 0, 8, 2), permuted = x.t();
  const Tensor xi = x.to(kInt64);
  EXPECT_TRUE(bit_identical(histc(strided, 5), histc(strided.contiguous(), 5)));
  EXPECT_TRUE(bit_identical(count_nonzero(permuted, {1}), count_nonzero(permuted.contiguous(), {1})));
  const Tensor column = xi.select(1, 3);  // a strided 1-D view
  EXPECT_TRUE(
      bit_identical(bincount(column, x.select(1, 2)), bincount(column.contiguous(), x.select(1, 2).contiguous())));
  EXPECT_TRUE(
      bit_identical(std::get<1>(unique(permuted, true, true)), std::get<1>(unique(permuted.contiguous(), true, true))));
  const Tensor seq = std::get<0>(sort(x, 1));
  EXPECT_TRUE(bit_identical(searchsorted(seq.slice(1, 0, 8, 2), strided),
                            searchsorted(seq.slice(1, 0, 8, 2).contiguous(), strided.contiguous())));
  const Tensor boundaries = tensor({1.0, 4.0, 4.0, 8.0}, kFloat64).expand({2, 4}).select(0, 1);
  EXPECT_TRUE(bit_identical(bucketize(permuted, boundaries, false, true),
                            bucketize(permuted.contiguous(), boundaries.contiguous(), false, true)));
}

TEST(Histogram, Errors) {
  const Tensor idx = tensor({1.0, 2.0}, kFloat64).to(kInt64);
  EXPECT_ERROR_EQ(bincount(tensor({1.0, -2.0}, kFloat64).to(kInt64)),
                  "bincount: input values must be non-negative, but element 1 is -2");
  EXPECT_ERROR_EQ(bincount(zeros({2})),
                  "bincount: expected a 1-D int64 input of non-negative values, but got a 1-d float32 tensor");
  EXPECT_ERROR_EQ(bincount(idx.reshape({1, 2})),
                  "bincount: expected a 1-D int64 input of non-negative values, but got a 2-d int64 tensor");
  EXPECT_ERROR_EQ(bincount(idx, ones({3})),
                  "bincount: weights should be 1-d and have the same length as input (2), but have shape [3]");
  const std::int64_t huge[] = {1, std::numeric_limits<std::int64_t>::max()};
  EXPECT_ERROR_EQ(bincount(from_blob(huge, {2}).clone()),
                  "bincount: element 1 (9223372036854775807) leaves no room for a bin");
  EXPECT_ERROR_EQ(bincount(idx, Tensor(), -1), "bincount: minlength should be >= 0, but got -1");
  EXPECT_ERROR_EQ(histc(ones({2}), 0), "histc: bins must be > 0, but got 0");
  EXPECT_ERROR_EQ(histc(ones({2}), 3, 3.0, 1.0), "histc: max must be larger than min (min = 3, max = 1)");
  EXPECT_ERROR_EQ(histc(tensor({1.0, std::numeric_limits<double>::infinity()}, kFloat64), 3),
                  "histc: range of [1, inf] is not finite");
  EXPECT_ERROR_EQ(histc(idx, 3), "histc: expected a float32 or float64 input, but got int64");
  EXPECT_ERROR_EQ(searchsorted(ones({2, 3}), ones({3, 1})),
                  "searchsorted: the sorted sequence should be 1-D or share all but the last dim with the values, but "
                  "got sequence shape [2, 3] and values shape [3, 1]");
  EXPECT_ERROR_EQ(searchsorted(ones({3}), ones({2}), true),
                  "searchsorted: out_int32 = true is not supported (this library has no int32 dtype)");
  EXPECT_ERROR_EQ(searchsorted(ones({}), ones({2})),
                  "searchsorted: the sorted sequence must have at least one dim, but is 0-d");
  EXPECT_ERROR_EQ(bucketize(ones({2}), ones({2, 2})), "bucketize: boundaries must be 1-D, but have shape [2, 2]");
  EXPECT_ERROR_CONTAINS(unique(Tensor()), "unique");
  EXPECT_ERROR_EQ(bucketize(Tensor(), ones({2})), "bucketize: argument 'input' is an undefined tensor");
  EXPECT_ERROR_EQ(bucketize(ones({2}), ones({2}), true),
                  "bucketize: out_int32 = true is not supported (this library has no int32 dtype)");
  EXPECT_ERROR_EQ(count_nonzero(ones({2, 3}), {0, -2}),
                  "count_nonzero: dim 0 appears multiple times in the list of dims");
  EXPECT_ERROR_CONTAINS(count_nonzero(ones({2, 3}), {5}), "count_nonzero");
}

}  // namespace
