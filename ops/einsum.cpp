// einsum: the equation parsed into labels, every operand aligned to one list of dims (output dims first, in
// output order, then the dims to sum), then the operands multiplied two at a time as batched matrix products,
// summing each dim as soon as no operand still to come has it.

#include "voxgrad/ops/einsum.h"

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/linalg.h"
#include "voxgrad/ops/reduction.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad {

namespace {

// Labels as torch numbers them: A–Z are 0–25, a–z 26–51 (the implicit output's order); "..." is kEllipsis.
constexpr int kLetters = 26;
constexpr int kLabels = 2 * kLetters;
constexpr int kEllipsis = kLabels;

bool is_label(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
int label_of(char c) { return c <= 'Z' ? c - 'A' : c - 'a' + kLetters; }
char letter_of(int label) { return static_cast<char>(label < kLetters ? 'A' + label : 'a' + label - kLetters); }

struct Equation {
  std::vector<std::vector<int>> inputs;    // each operand's labels, kEllipsis where "..." stands
  std::optional<std::vector<int>> output;  // the labels after "->", if any
};

// One side's subscripts from `text` (which starts at `base` in the equation): labels, "..." at most once per
// term, commas between terms where `terms` allows them. `what(t)` names term t in messages.
template <class What>
void parse_terms(std::string_view equation, std::string_view text, std::size_t base, bool commas,
                 std::vector<std::vector<int>>& terms, What what) {
  bool ellipsis = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ') continue;
    if (c == ',' && commas) {
      terms.emplace_back();
      ellipsis = false;
      continue;
    }
    if (c == '.') {
      VOXGRAD_CHECK(!ellipsis, "einsum: equation \"{}\": found '.' for {}, which already has an ellipsis", equation,
                    what(terms.size() - 1));
      VOXGRAD_CHECK(i + 2 < text.size() && text[i + 1] == '.' && text[i + 2] == '.',
                    "einsum: equation \"{}\": found '.' for {} that is not part of an ellipsis (...)", equation,
                    what(terms.size() - 1));
      i += 2;
      terms.back().push_back(kEllipsis);
      ellipsis = true;
      continue;
    }
    VOXGRAD_CHECK(is_label(c),
                  "einsum: equation \"{}\": invalid subscript '{}' at index {}; subscripts must be in [a-zA-Z]",
                  equation, c, base + i);
    terms.back().push_back(label_of(c));
  }
}

Equation parse(std::string_view equation, std::size_t operands) {
  Equation eq;
  const std::size_t arrow = equation.find("->");
  const std::string_view lhs = equation.substr(0, arrow);
  eq.inputs.emplace_back();
  parse_terms(equation, lhs, 0, true, eq.inputs, [](std::size_t t) { return fmt::format("operand {}", t); });
  VOXGRAD_CHECK(eq.inputs.size() == operands, "einsum: equation \"{}\" has {} operand{}, but {} {} given", equation,
                eq.inputs.size(), eq.inputs.size() == 1 ? "" : "s", operands, operands == 1 ? "was" : "were");
  if (arrow != std::string_view::npos) {
    std::vector<std::vector<int>> out(1);
    parse_terms(equation, equation.substr(arrow + 2), arrow + 2, false, out,
                [](std::size_t) { return std::string("the output"); });
    eq.output = std::move(out[0]);
  }
  return eq;
}

// The sizes of one aligned dim across operands: 1 broadcasts, any other size must agree.
struct DimSize {
  std::int64_t size = 1;
  int operands = 0;  // how many operands (or partial products still to contract) have size ≠ 1 here
};

// a and b aligned to the same dims, each of size 1 or of the dim's size; `sum` lists dims of size ≠ 1 in both,
// to be summed. Returns the product over every dim, with size 1 at the summed ones: a batched matrix product
// over the dims both have ([batch, a's own, summed] · [batch, summed, b's own]).
Tensor sum_product(const Tensor& a, const Tensor& b, const std::vector<std::int64_t>& sum) {
  if (sum.empty()) return mul(a, b);
  const std::int64_t nd = a.dim();
  std::vector<bool> summed(static_cast<std::size_t>(nd), false);
  for (std::int64_t d : sum) summed[static_cast<std::size_t>(d)] = true;
  Shape batch, own_a, own_b, ones;  // ones: size 1 in both
  for (std::int64_t d = 0; d < nd; ++d) {
    if (summed[static_cast<std::size_t>(d)]) continue;
    const bool in_a = a.sizes()[d] != 1, in_b = b.sizes()[d] != 1;
    (in_a && in_b ? batch : in_a ? own_a : in_b ? own_b : ones).push_back(d);
  }
  const auto extent = [](const Tensor& t, const Shape& dims) {
    std::int64_t n = 1;
    for (std::int64_t d : dims) n *= t.sizes()[d];
    return n;
  };
  const auto concat = [](std::initializer_list<const Shape*> parts) {
    Shape out;
    for (const Shape* p : parts) out.insert(out.end(), p->begin(), p->end());
    return out;
  };
  const Shape sum_dims(sum.begin(), sum.end());
  const std::int64_t nb = extent(a, batch), nk = extent(a, sum_dims);
  const Tensor a3 = a.permute(concat({&batch, &own_a, &sum_dims, &own_b, &ones})).reshape({nb, extent(a, own_a), nk});
  const Tensor b3 = b.permute(concat({&batch, &sum_dims, &own_b, &own_a, &ones})).reshape({nb, nk, extent(b, own_b)});
  // bmm gives [batch, a's own, b's own]: back to those dims' sizes, then to their order, then the 1s between.
  const Shape kept = concat({&batch, &own_a, &own_b});
  Shape kept_sizes, order(kept.size()), out_sizes(static_cast<std::size_t>(nd), 1);
  for (std::int64_t d : kept) {
    const std::int64_t size = a.sizes()[d] != 1 ? a.sizes()[d] : b.sizes()[d];
    kept_sizes.push_back(size);
    out_sizes[static_cast<std::size_t>(d)] = size;
  }
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::int64_t i, std::int64_t j) {
    return kept[static_cast<std::size_t>(i)] < kept[static_cast<std::size_t>(j)];
  });
  return bmm(a3, b3).reshape(kept_sizes).permute(order).reshape(out_sizes);
}

}  // namespace

Tensor einsum(std::string_view equation, const std::vector<Tensor>& operands) {
  VOXGRAD_CHECK(!operands.empty(), "einsum: equation \"{}\": at least one operand is needed", equation);
  const Equation eq = parse(equation, operands.size());
  DType dtype = kFloat32;
  for (std::size_t i = 0; i < operands.size(); ++i) {
    VOXGRAD_CHECK(operands[i].defined(), "einsum: equation \"{}\": operand {} is an undefined tensor", equation, i);
    VOXGRAD_CHECK(is_floating_point(operands[i].dtype()),
                  "einsum: equation \"{}\": operand {} is {}; einsum takes float32 and float64 operands", equation, i,
                  dtype_name(operands[i].dtype()));
    dtype = promote_types(dtype, operands[i].dtype());
  }

  // Labels per operand, and the dims the ellipsis covers (the most any operand gives it).
  std::vector<int> count(kLabels, 0);
  std::int64_t ellipsis_dims = 0;
  for (std::size_t i = 0; i < operands.size(); ++i) {
    const auto& labels = eq.inputs[i];
    const bool has_ellipsis = std::find(labels.begin(), labels.end(), kEllipsis) != labels.end();
    const auto named = static_cast<std::int64_t>(labels.size()) - (has_ellipsis ? 1 : 0);
    const std::int64_t nd = operands[i].dim();
    VOXGRAD_CHECK(has_ellipsis ? named <= nd : named == nd,
                  "einsum: equation \"{}\": operand {} has {} subscripts but {} dims (shape {}){}", equation, i, named,
                  nd, shape_str(operands[i].sizes()), has_ellipsis ? "" : ", and no ellipsis");
    if (has_ellipsis) ellipsis_dims = std::max(ellipsis_dims, nd - named);
    for (int l : labels) {
      if (l != kEllipsis) ++count[static_cast<std::size_t>(l)];
    }
  }

  // Every label's place among the aligned dims: the output's, in its order, then the ones summed out.
  std::vector<std::int64_t> place(kLabels, -1);
  std::int64_t dims = 0, ellipsis_at = -1;
  if (!eq.output) {
    ellipsis_at = 0;
    dims = ellipsis_dims;
    for (int l = 0; l < kLabels; ++l) {
      if (count[static_cast<std::size_t>(l)] == 1) place[static_cast<std::size_t>(l)] = dims++;
    }
  } else {
    for (int l : *eq.output) {
      if (l == kEllipsis) {
        ellipsis_at = dims;
        dims += ellipsis_dims;
        continue;
      }
      VOXGRAD_CHECK(count[static_cast<std::size_t>(l)] > 0,
                    "einsum: equation \"{}\": output subscript {} does not appear in any operand", equation,
                    letter_of(l));
      VOXGRAD_CHECK(place[static_cast<std::size_t>(l)] < 0,
                    "einsum: equation \"{}\": output subscript {} appears more than once in the output", equation,
                    letter_of(l));
      place[static_cast<std::size_t>(l)] = dims++;
    }
  }
  const std::int64_t out_dims = dims;
  if (ellipsis_at < 0) {  // an ellipsis the output leaves out is summed
    ellipsis_at = dims;
    dims += ellipsis_dims;
  }
  for (int l = 0; l < kLabels; ++l) {
    if (count[static_cast<std::size_t>(l)] > 0 && place[static_cast<std::size_t>(l)] < 0) {
      place[static_cast<std::size_t>(l)] = dims++;
    }
  }

  // Each operand aligned: a repeated label becomes its diagonal, missing dims size 1, then permuted.
  std::vector<DimSize> sizes(static_cast<std::size_t>(dims));
  const auto note_size = [&](std::int64_t at, std::int64_t size, std::size_t i, const std::string& what) {
    DimSize& s = sizes[static_cast<std::size_t>(at)];
    if (size == 1) return;
    VOXGRAD_CHECK(s.size == 1 || s.size == size,
                  "einsum: equation \"{}\": {} has size {} in operand {} (shape {}), which does not broadcast with "
                  "size {} before",
                  equation, what, size, i, shape_str(operands[i].sizes()), s.size);
    s.size = size;
    ++s.operands;
  };
  std::vector<Tensor> aligned;
  for (std::size_t i = 0; i < operands.size(); ++i) {
    Tensor op = to(operands[i], dtype);
    Shape perm(static_cast<std::size_t>(dims), -1);
    std::int64_t dim = 0, merged = 0;  // dim: in op; merged: dims gone into diagonals (dim + merged: in the operand)
    const auto named = static_cast<std::int64_t>(eq.inputs[i].size()) - 1;  // when it has an ellipsis
    for (int l : eq.inputs[i]) {
      if (l == kEllipsis) {
        const std::int64_t covered = operands[i].dim() - named;
        for (std::int64_t j = ellipsis_dims - covered; j < ellipsis_dims; ++j) {
          note_size(ellipsis_at + j, op.sizes()[dim], i, fmt::format("dim {} (under the ellipsis)", dim + merged));
          perm[static_cast<std::size_t>(ellipsis_at + j)] = dim++;
        }
        continue;
      }
      const std::int64_t at = place[static_cast<std::size_t>(l)];
      std::int64_t& first = perm[static_cast<std::size_t>(at)];
      if (first < 0) {
        note_size(at, op.sizes()[dim], i, fmt::format("subscript {}", letter_of(l)));
        first = dim++;
        continue;
      }
      VOXGRAD_CHECK(op.sizes()[dim] == op.sizes()[first],
                    "einsum: equation \"{}\": subscript {} is repeated in operand {} (shape {}) over dims of sizes {} "
                    "and {}",
                    equation, letter_of(l), i, shape_str(operands[i].sizes()), op.sizes()[first], op.sizes()[dim]);
      op = movedim(diagonal(op, 0, first, dim), {-1}, {first});  // the dim at `dim` is gone
      ++merged;
    }
    for (std::int64_t& p : perm) {
      if (p < 0) {
        op = unsqueeze(op, dim);
        p = dim++;
      }
    }
    aligned.push_back(permute(op, perm));
  }

  // Left to right: a dim is summed in the product that leaves it in one operand only; a dim that only one
  // side of a pair has, and no later operand, is summed before it.
  Tensor result = aligned[0];
  for (std::size_t i = 1; i < aligned.size(); ++i) {
    Tensor b = aligned[i];
    std::vector<std::int64_t> sum, sum_a, sum_b;
    for (std::int64_t d = out_dims; d < dims; ++d) {
      DimSize& s = sizes[static_cast<std::size_t>(d)];
      const bool in_a = result.sizes()[d] != 1, in_b = b.sizes()[d] != 1;
      if (in_a && in_b) {
        if (--s.operands == 1) {
          sum.push_back(d);
          s.operands = 0;
        }
      } else if (s.operands == 1 && (in_a || in_b)) {
        (in_a ? sum_a : sum_b).push_back(d);
        s.operands = 0;
      }
    }
    if (!sum_a.empty()) result = voxgrad::sum(result, sum_a, true);
    if (!sum_b.empty()) b = voxgrad::sum(b, sum_b, true);
    result = sum_product(result, b, sum);
  }
  if (dims == out_dims) return result;
  if (aligned.size() > 1) {  // every dim past the output's is size 1 by now
    return reshape(result, Shape(result.sizes().begin(), result.sizes().begin() + out_dims));
  }
  Shape summed(static_cast<std::size_t>(dims - out_dims));
  std::iota(summed.begin(), summed.end(), out_dims);
  return voxgrad::sum(result, summed);
}

}  // namespace voxgrad
