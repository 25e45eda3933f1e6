// The safetensors header: parsing and validating it on load, building it on save. The layout and
// the rules a reader checks are described in io/detail/safetensors.h.

#include "voxgrad/io/detail/safetensors.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <unordered_set>

#include <nlohmann/json.hpp>

namespace voxgrad::io::detail {

namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

DType parse_dtype(const Context& ctx, const std::string& name, const std::string& dtype) {
  if (dtype == "F32") return DType::Float32;
  if (dtype == "F64") return DType::Float64;
  if (dtype == "I64") return DType::Int64;
  static const std::unordered_set<std::string> kOthers = {"BOOL", "U8",  "I8",  "I16", "U16",     "F16",
                                                          "BF16", "I32", "U32", "U64", "F8_E4M3", "F8_E5M2"};
  if (kOthers.count(dtype) != 0) {
    ctx.fail("tensor '{}' has dtype {}, which voxgrad cannot load (supported: F32, F64, I64)", name, dtype);
  }
  ctx.fail("tensor '{}' has unknown dtype '{}' (supported: F32, F64, I64)", name, dtype);
}

// A JSON integer >= 0 (nlohmann reads "1" as unsigned, "-1" as signed, "1.0" as float).
std::optional<std::uint64_t> as_unsigned(const json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(v.get<std::int64_t>());
  }
  return std::nullopt;
}

// Receives nlohmann's parse events. Depths as nlohmann counts them: the top object starts at 0, its
// keys and entry objects are at 1, an entry's fields (and shape/data_offsets arrays) at 2, array
// elements at 3. Structure the format never uses is rejected as soon as it appears; a finished entry
// is converted to an Entry and dropped from the DOM (the callback returns false for it).
class HeaderParser {
 public:
  HeaderParser(const Context& ctx, std::uint64_t data_size) : ctx_(ctx), data_size_(data_size) {}

  bool on_event(int depth, json::parse_event_t event, json& parsed) {
    using E = json::parse_event_t;
    switch (event) {
      case E::object_start:
        if (depth == 0) return true;
        if (depth == 1) {
          fields_.clear();
          metadata_keys_.clear();
          return true;
        }
        not_scalar_error();
      case E::array_start:
        if (depth == 0) not_json_object_error();
        if (depth == 1) not_object_error();
        if (depth == 2 && !in_metadata_ && field_ != "dtype") {
          array_length_ = 0;
          return true;
        }
        not_scalar_error();
      case E::key: {
        std::string key = parsed.get<std::string>();
        if (depth == 1) {
          if (!names_.insert(key).second) {
            if (key == kMetadataKey) ctx_.fail("header has two '{}' objects", key);
            ctx_.fail("tensor '{}' appears twice in the header", key);
          }
          entry_ = std::move(key);
          in_metadata_ = entry_ == kMetadataKey;
        } else if (in_metadata_) {
          if (!metadata_keys_.insert(key).second) ctx_.fail("__metadata__ has the key '{}' twice", key);
          field_ = std::move(key);
        } else {
          if (key != "dtype" && key != "shape" && key != "data_offsets") {
            ctx_.fail("tensor '{}' has unknown field '{}' (expected dtype, shape and data_offsets)", entry_, key);
          }
          if (std::find(fields_.begin(), fields_.end(), key) != fields_.end()) {
            ctx_.fail("tensor '{}' has the field '{}' twice", entry_, key);
          }
          fields_.push_back(key);
          field_ = std::move(key);
        }
        return true;
      }
      case E::value:
        if (depth == 0) not_json_object_error();
        if (depth == 1) not_object_error();
        if (depth == 2) {
          if (in_metadata_ && !parsed.is_string()) {
            metadata_value_error(&parsed);
          }
          if (!in_metadata_ && field_ != "dtype") field_error();
          return true;
        }
        // An array element (depth 3): shape sizes or data offsets; types are checked at the end of
        // the entry, the count here so that a huge array is refused before it is stored.
        ++array_length_;
        if (field_ == "shape" && array_length_ > kMaxCheckpointTensorDims) {
          ctx_.fail("shape of tensor '{}' has more than {} dimensions", entry_, kMaxCheckpointTensorDims);
        }
        if (field_ == "data_offsets" && array_length_ > 2) field_error();
        return true;
      case E::array_end: return true;
      case E::object_end:
        if (depth != 1) return true;
        if (in_metadata_) {
          for (auto& [key, value] : parsed.items()) header_.metadata[key] = value.get<std::string>();
        } else {
          header_.entries.push_back(make_entry(parsed));
        }
        return false;  // converted; drop the JSON
    }
    return true;
  }

  // Checks that the entries tile the data section and returns them in data order.
  Header finish() {
    auto& entries = header_.entries;
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::uint64_t covered = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      if (e.begin < covered) {
        const Entry& p = entries[i - 1];
        ctx_.fail("data of tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", p.name, p.begin, p.end, e.name, e.begin,
                  e.end);
      }
      if (e.begin > covered) {
        ctx_.fail("bytes [{}, {}) of the data section belong to no tensor (a gap before tensor '{}')", covered, e.begin,
                  e.name);
      }
      covered = e.end;
    }
    if (covered != data_size_) {
      ctx_.fail(
          "the data section has {} bytes, but its tensors end at byte {} ({} trailing bytes belong "
          "to no tensor)",
          data_size_, covered, data_size_ - covered);
    }
    return std::move(header_);
  }

 private:
  [[noreturn]] void not_json_object_error() const { ctx_.fail("header is not a JSON object"); }

  [[noreturn]] void not_object_error() const {
    if (in_metadata_) ctx_.fail("__metadata__ must be an object mapping strings to strings");
    ctx_.fail("entry '{}' is not an object with dtype, shape and data_offsets", entry_);
  }

  // The current field (dtype, shape or data_offsets) has the wrong form; `got` (if given) is its value.
  [[noreturn]] void field_error(const json* got = nullptr) const { field_error(field_, got); }

  [[noreturn]] void field_error(const std::string& field, const json* got) const {
    const bool dtype = field == "dtype", shape = field == "shape";
    const char* name = dtype ? "dtype" : shape ? "shape" : "data_offsets";
    const char* form = dtype   ? "a string such as \"F32\""
                       : shape ? "a list of non-negative integers"
                               : "a list of two non-negative integers [begin, end]";
    ctx_.fail("{} of tensor '{}' must be {}{}", name, entry_, form, got ? ", got " + got->dump() : std::string());
  }

  // A metadata value that is not a string; `got` (if given) is its value.
  [[noreturn]] void metadata_value_error(const json* got) const {
    ctx_.fail("__metadata__ value of '{}' is {}not a string", field_, got ? got->dump() + ", " : std::string());
  }

  [[noreturn]] void too_large_error(const json& shape, const char* what) const {
    ctx_.fail("shape {} of tensor '{}' is too large: its {}", shape.dump(), entry_, what);
  }

  // An object or array where a field value, metadata string or array element belongs.
  [[noreturn]] void not_scalar_error() const {
    if (in_metadata_) metadata_value_error(nullptr);
    field_error();
  }

  Entry make_entry(const json& object) const {
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (!object.contains(field)) ctx_.fail("tensor '{}' has no '{}' field", entry_, field);
    }
    Entry e;
    e.name = entry_;
    if (!object["dtype"].is_string()) {
      field_error("dtype", &object["dtype"]);
    }
    e.dtype = parse_dtype(ctx_, entry_, object["dtype"].get<std::string>());

    // Sizes, element count and byte size, each overflow-checked. The stride product treats zero
    // sizes as 1 (contiguous_strides does), so [0, 2^40, 2^40] is refused too.
    const json& shape = object["shape"];
    std::int64_t numel = 1, stride_span = 1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
      const std::optional<std::uint64_t> size = as_unsigned(shape[i]);
      if (!size) {
        ctx_.fail("shape of tensor '{}' has {} at index {}; sizes must be non-negative integers", entry_,
                  shape[i].dump(), i);
      }
      if (*size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        ctx_.fail("shape of tensor '{}' has size {} at index {}, more than int64 can hold", entry_, *size, i);
      }
      const auto s = static_cast<std::int64_t>(*size);
      e.shape.push_back(s);
      if (__builtin_mul_overflow(numel, s, &numel) ||
          __builtin_mul_overflow(stride_span, std::max<std::int64_t>(s, 1), &stride_span)) {
        too_large_error(shape, "size overflows int64");
      }
    }
    std::uint64_t nbytes = 0;
    if (__builtin_mul_overflow(static_cast<std::uint64_t>(numel), element_size(e.dtype), &nbytes)) {
      too_large_error(shape, "byte size overflows");
    }

    const json& offsets = object["data_offsets"];
    const std::optional<std::uint64_t> begin = offsets.size() == 2 ? as_unsigned(offsets[0]) : std::nullopt;
    const std::optional<std::uint64_t> end = offsets.size() == 2 ? as_unsigned(offsets[1]) : std::nullopt;
    if (!begin || !end) {
      field_error("data_offsets", &offsets);
    }
    e.begin = *begin;
    e.end = *end;
    if (e.begin > e.end) {
      ctx_.fail("data_offsets [{}, {}] of tensor '{}' have begin > end", e.begin, e.end, entry_);
    }
    if (e.end > data_size_) {
      ctx_.fail(
          "data_offsets [{}, {}] of tensor '{}' lie outside the data section of {} bytes (truncated "
          "file?)",
          e.begin, e.end, entry_, data_size_);
    }
    if (e.end - e.begin != nbytes) {
      ctx_.fail("tensor '{}' ({} {}) needs {} bytes, but its data_offsets [{}, {}] span {}", entry_,
                safetensors_dtype(e.dtype), shape_str(e.shape), nbytes, e.begin, e.end, e.end - e.begin);
    }
    return e;
  }

  const Context& ctx_;
  const std::uint64_t data_size_;
  Header header_;
  std::unordered_set<std::string> names_;          // top-level keys seen
  std::unordered_set<std::string> metadata_keys_;  // keys of __metadata__
  std::vector<std::string> fields_;                // fields of the current entry
  std::string entry_;                              // current top-level key
  std::string field_;                              // current key inside it
  bool in_metadata_ = false;
  std::size_t array_length_ = 0;
};

}  // namespace

const char* safetensors_dtype(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
  }
  return "?";
}

Header parse_header(const Context& ctx, std::string_view text, std::uint64_t data_size) {
  if (text.empty() || text.front() != '{') {
    ctx.fail("header does not start with '{{' (not a safetensors file?)");
  }
  // nlohmann stops at a NUL byte as at the end of input; JSON allows none outside strings (and none
  // raw inside), so one means corruption, not the end of the header.
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    ctx.fail("header is not valid JSON: it holds a NUL byte at offset {}", nul);
  }
  HeaderParser parser(ctx, data_size);
  try {
    const auto on_event = [&parser](int depth, json::parse_event_t event, json& parsed) {
      return parser.on_event(depth, event, parsed);
    };
    // Every entry is dropped once converted, so what remains is an empty object.
    [[maybe_unused]] const json rest = json::parse(text.begin(), text.end(), on_event);
  } catch (const json::exception& e) {
    ctx.fail("header is not valid JSON: {}", e.what());
  }
  return parser.finish();
}

SavePlan plan_save(const Context& ctx, const nn::StateDict& state, const CheckpointMetadata& metadata) {
  SavePlan plan;
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  std::unordered_set<std::string> names;
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < state.size(); ++i) {
    const auto& [name, t] = state[i];
    if (name == kMetadataKey) ctx.fail("the name '{}' is reserved for the metadata (entry {})", name, i);
    if (!names.insert(name).second) ctx.fail("the name '{}' appears twice in the state dict", name);
    if (!t.defined()) ctx.fail("tensor '{}' is undefined", name);
    if (static_cast<std::size_t>(t.dim()) > kMaxCheckpointTensorDims) {
      ctx.fail("tensor '{}' has {} dimensions; checkpoints hold at most {}", name, t.dim(), kMaxCheckpointTensorDims);
    }
    const std::uint64_t nbytes = static_cast<std::uint64_t>(t.numel()) * element_size(t.dtype());
    ordered_json entry = ordered_json::object();
    entry["dtype"] = safetensors_dtype(t.dtype());
    entry["shape"] = t.sizes();
    entry["data_offsets"] = ordered_json::array({offset, offset + nbytes});
    header[name] = std::move(entry);
    plan.nbytes.push_back(nbytes);
    offset += nbytes;
  }
  try {
    plan.header = header.dump();
  } catch (const json::exception&) {
    // dump() refuses strings that are not UTF-8; find which one to name it.
    const auto is_utf8 = [](const std::string& s) {
      try {
        (void)json(s).dump();
        return true;
      } catch (const json::exception&) {
        return false;
      }
    };
    for (std::size_t i = 0; i < state.size(); ++i) {
      if (!is_utf8(state[i].first)) ctx.fail("the name of state dict entry {} is not valid UTF-8", i);
    }
    for (const auto& [key, value] : metadata) {
      if (!is_utf8(key)) ctx.fail("a metadata key is not valid UTF-8");
      if (!is_utf8(value)) ctx.fail("the metadata value of '{}' is not valid UTF-8", key);
    }
    throw;
  }
  // Pad with spaces so that the data section starts 8-byte aligned, as the reference writer does.
  plan.header.append((8 - plan.header.size() % 8) % 8, ' ');
  if (plan.header.size() > kMaxCheckpointHeaderBytes) {
    ctx.fail(
        "the header would take {} bytes, more than the {} bytes safetensors readers accept (too many "
        "tensors?)",
        plan.header.size(), kMaxCheckpointHeaderBytes);
  }
  plan.total = 8 + plan.header.size() + offset;
  return plan;
}

}  // namespace voxgrad::io::detail
