// voxgrad::save / load: the safetensors layout, round trips, atomic saves, one test per validation rule
// of the loader, and interop with PyTorch in both directions (tests/fixtures/checkpoint/generate.py).
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <type_traits>

#include "test_util.h"

#include <voxgrad/nn/checkpoint.h>  // the pre-io/ path still compiles (it forwards to io/checkpoint.h)

namespace {

using namespace voxgrad;
namespace fs = std::filesystem;

// --- helpers ------------------------------------------------------------------------------------

// A tensor's elements as raw bytes, row-major (bit-exact comparison, NaNs included).
std::string bytes_of(const Tensor& t) {
  const Tensor c = t.detach().contiguous();
  const auto* p = static_cast<const char*>(c.raw_data_ptr());
  return std::string(p, p + c.numel() * static_cast<std::int64_t>(element_size(c.dtype())));
}

// Same dtype, shape and bits.
void expect_identical(const Tensor& got, const Tensor& want, const std::string& what = "") {
  EXPECT_EQ(got.dtype(), want.dtype()) << what;
  EXPECT_EQ(got.sizes(), want.sizes()) << what;
  EXPECT_EQ(bytes_of(got), bytes_of(want)) << what;
}

std::vector<std::string> names_of(const nn::StateDict& state) {
  std::vector<std::string> out;
  for (const auto& [name, t] : state) out.push_back(name);
  return out;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// The 8-byte little-endian header length.
std::string length_prefix(std::uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

// A safetensors image: the length of `header` (or `length` if given), `header`, then `data`.
std::string image(const std::string& header, const std::string& data = "",
                  std::optional<std::uint64_t> length = std::nullopt) {
  return length_prefix(length.value_or(header.size())) + header + data;
}

// A header entry.
std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
  return fmt::format(R"("{}":{{"dtype":"{}","shape":{},"data_offsets":{}}})", name, dtype, shape, offsets);
}

// A scratch directory per test, removed afterwards.
class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           fmt::format("voxgrad_ckpt_{}_{}_{}", info->test_suite_name(), info->name(), ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  // A path inside the scratch directory.
  std::string path(const std::string& name = "model.safetensors") const { return (dir_ / name).string(); }
  // The names of the files in the scratch directory.
  std::set<std::string> listing() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.insert(e.path().filename().string());
    return out;
  }

  fs::path dir_;
};

// A small state dict with all three dtypes.
nn::StateDict sample_state() {
  manual_seed(7);
  return {{"conv.weight", randn({2, 3, 2})}, {"conv.bias", randn({2}, kFloat64)}, {"step", tensor({5, -6, 7}, kInt64)}};
}

// --- round trips --------------------------------------------------------------------------------

using CheckpointRoundTrip = CheckpointTest;

TEST_F(CheckpointRoundTrip, EveryDtypeRoundTripsBitExact) {
  manual_seed(1);
  const double nan = std::nan(""), inf = HUGE_VAL;
  const nn::StateDict state = {
      {"f32", randn({3, 4})},
      {"f32_special", tensor({0.0, -0.0, inf, -inf, nan, 1e-45, FLT_MAX, 0.1})},
      {"f64", randn({2, 2, 2}, kFloat64)},
      {"f64_special", tensor({-0.0, inf, -inf, nan, 4.9e-324, DBL_MAX, 0.1}, kFloat64)},
      {"i64",
       from_blob(std::vector<std::int64_t>{INT64_MIN, -1, 0, 1, INT64_MAX, std::int64_t{1} << 40}.data(), {2, 3})},
  };
  save(state, path());
  const nn::StateDict loaded = load(path());
  ASSERT_EQ(names_of(loaded), names_of(state));
  for (std::size_t i = 0; i < state.size(); ++i) {
    expect_identical(loaded[i].second, state[i].second, state[i].first);
  }
}

TEST_F(CheckpointRoundTrip, VoxgradSaveAndLoadAreTheIoFunctions) {
  // Declared in voxgrad::io and brought into voxgrad with using-declarations, as torch::save.
  static_assert(std::is_same_v<voxgrad::Checkpoint, voxgrad::io::Checkpoint>);
  const nn::StateDict state = sample_state();
  io::save(state, path());
  const nn::StateDict loaded = voxgrad::load(path());
  ASSERT_EQ(names_of(loaded), names_of(state));
  for (std::size_t i = 0; i < state.size(); ++i) expect_identical(loaded[i].second, state[i].second, state[i].first);
}

TEST_F(CheckpointRoundTrip, ZeroDimAndEmptyTensorsRoundTrip) {
  const nn::StateDict state = {{"scalar", scalar_tensor(3.5)},
                               {"empty", zeros({0})},
                               {"scalar64", scalar_tensor(-2.25, kFloat64)},
                               {"empty3d", zeros({2, 0, 3}, kFloat64)},
                               {"count", scalar_tensor(9, kInt64)},
                               {"empty_i64", zeros({0, 5}, kInt64)}};
  save(state, path());
  const nn::StateDict loaded = load(path());
  ASSERT_EQ(names_of(loaded), names_of(state));
  for (std::size_t i = 0; i < state.size(); ++i) {
    expect_identical(loaded[i].second, state[i].second, state[i].first);
  }
  EXPECT_EQ(loaded[0].second.dim(), 0);
  EXPECT_EQ(loaded[0].second.item<double>(), 3.5);
  EXPECT_EQ(loaded[3].second.sizes(), (Shape{2, 0, 3}));
}

TEST_F(CheckpointRoundTrip, EmptyStateDictRoundTrips) {
  save({}, path());
  EXPECT_TRUE(load(path()).empty());
  EXPECT_EQ(read_bytes(path()), length_prefix(8) + "{}      ");
}

TEST_F(CheckpointRoundTrip, NonContiguousTensorsAreSavedContiguous) {
  const Tensor base = arange(24, kFloat64).reshape({2, 3, 4});
  const nn::StateDict state = {{"transposed", base.transpose(0, 2)},
                               {"strided", base.slice(2, 0, std::nullopt, 2)},
                               {"expanded", tensor({1.0, 2.0}).unsqueeze(1).expand({2, 3})},
                               {"selected", base.select(1, 1)}};
  for (const auto& [name, t] : state) ASSERT_FALSE(t.is_contiguous()) << name;
  save(state, path());
  const nn::StateDict loaded = load(path());
  ASSERT_EQ(names_of(loaded), names_of(state));
  std::uint64_t data_bytes = 0;
  for (std::size_t i = 0; i < state.size(); ++i) {
    EXPECT_TRUE(loaded[i].second.is_contiguous());
    expect_identical(loaded[i].second, state[i].second.contiguous(), state[i].first);
    data_bytes += static_cast<std::uint64_t>(state[i].second.numel()) * element_size(state[i].second.dtype());
  }
  // Each tensor takes exactly numel * element size bytes (an expanded tensor is materialized).
  const std::string file = read_bytes(path());
  std::uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  EXPECT_EQ(file.size(), 8 + n + data_bytes);
}

TEST_F(CheckpointRoundTrip, StateDictOrderIsPreserved) {
  const nn::StateDict state = {{"z", ones({2})},
                               {"a", zeros({0})},
                               {"m.1.weight", ones({1}, kFloat64)},
                               {"m.0.weight", zeros({3})},
                               {"b", zeros({0, 2})},
                               {"__m", ones({1}, kInt64)},
                               {"", ones({1})}};
  save(state, path());
  EXPECT_EQ(names_of(load(path())), names_of(state));
  const std::vector<std::uint8_t> bytes = save_to_bytes(state);
  EXPECT_EQ(names_of(load_from_bytes(bytes.data(), bytes.size()).state), names_of(state));
}

TEST_F(CheckpointRoundTrip, MetadataRoundTrips) {
  const CheckpointMetadata metadata = {
      {"format", "pt"}, {"epoch", "12"}, {"empty", ""}, {"quoted \"key\"\n", "tab\tand unicode \u00b5m \u2713"}};
  save(sample_state(), path(), metadata);
  EXPECT_EQ(load_metadata(path()), metadata);
  const Checkpoint both = load_checkpoint(path());
  EXPECT_EQ(both.metadata, metadata);
  EXPECT_EQ(names_of(both.state), names_of(sample_state()));
  const std::vector<std::uint8_t> bytes = save_to_bytes(sample_state(), metadata);
  EXPECT_EQ(load_from_bytes(bytes.data(), bytes.size()).metadata, metadata);
}

TEST_F(CheckpointRoundTrip, NoMetadataWritesNoMetadataObject) {
  save(sample_state(), path());
  EXPECT_TRUE(load_metadata(path()).empty());
  EXPECT_EQ(read_bytes(path()).find("__metadata__"), std::string::npos);
}

TEST_F(CheckpointRoundTrip, LoadedTensorsAreIndependentLeaves) {
  Tensor w = randn({3}).requires_grad_(true);
  (w * 2).sum().backward();
  save({{"w", w}}, path());
  {
    NoGradGuard no_grad;
    w.add_(1.0);  // after the save: must not show in the loaded copy
  }
  const Tensor loaded = load(path())[0].second;
  EXPECT_FALSE(loaded.requires_grad());
  EXPECT_TRUE(loaded.is_leaf());
  EXPECT_FALSE(loaded.grad().defined());
  voxgrad::testing::expect_close(loaded, w.detach() - 1.0, 1e-6);
}

TEST_F(CheckpointRoundTrip, ModuleParametersRoundTrip) {
  manual_seed(3);
  auto conv = std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2, 4, 3));
  const nn::StateDict state = conv->named_parameters();
  save(state, path());
  const nn::StateDict loaded = load(path());
  ASSERT_EQ(names_of(loaded), (std::vector<std::string>{"weight", "bias"}));
  for (std::size_t i = 0; i < state.size(); ++i) expect_identical(loaded[i].second, state[i].second);
}

TEST_F(CheckpointRoundTrip, FileLayoutFollowsTheSafetensorsSpec) {
  const nn::StateDict state = sample_state();
  save(state, path(), {{"k", "v"}});
  const std::string file = read_bytes(path());
  ASSERT_GE(file.size(), 8u);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(file[i]);
  EXPECT_EQ(n % 8, 0u) << "header padded so that the data starts 8-byte aligned";
  const nlohmann::json header = nlohmann::json::parse(file.substr(8, n));
  EXPECT_EQ(header["__metadata__"], nlohmann::json({{"k", "v"}}));
  const std::string data = file.substr(8 + n);
  std::uint64_t offset = 0;
  for (const auto& [name, t] : state) {
    const nlohmann::json& e = header.at(name);
    EXPECT_EQ(e.at("dtype"), t.dtype() == kFloat32 ? "F32" : t.dtype() == kFloat64 ? "F64" : "I64");
    EXPECT_EQ(e.at("shape").get<Shape>(), t.sizes());
    const auto offsets = e.at("data_offsets").get<std::vector<std::uint64_t>>();
    const std::string bytes = bytes_of(t);
    EXPECT_EQ(offsets, (std::vector<std::uint64_t>{offset, offset + bytes.size()})) << name;
    EXPECT_EQ(data.substr(offset, bytes.size()), bytes) << name;
    offset += bytes.size();
  }
  EXPECT_EQ(offset, data.size());
  EXPECT_EQ(header.size(), state.size() + 1);
}

TEST_F(CheckpointRoundTrip, SaveToBytesMatchesTheFile) {
  save(sample_state(), path(), {{"a", "b"}});
  const std::vector<std::uint8_t> bytes = save_to_bytes(sample_state(), {{"a", "b"}});
  EXPECT_EQ(read_bytes(path()), std::string(bytes.begin(), bytes.end()));
}

TEST_F(CheckpointRoundTrip, PaddedHeaderLoads) {
  // Writers pad with spaces; any JSON whitespace after the object is accepted.
  const std::string data(8, '\0');
  write_bytes(path(), image("{" + entry("a", "F32", "[2]", "[0,8]") + "}   \n\t  ", data));
  EXPECT_EQ(load(path()).size(), 1u);
}

// --- save errors --------------------------------------------------------------------------------

using CheckpointSaveErrors = CheckpointTest;

TEST_F(CheckpointSaveErrors, UndefinedTensorIsNamed) {
  EXPECT_ERROR_EQ(save({{"a", ones({1})}, {"b", Tensor()}}, path()),
                  fmt::format("save: '{}': tensor 'b' is undefined", path()));
  EXPECT_TRUE(listing().empty());
}

TEST_F(CheckpointSaveErrors, RepeatedNameIsNamed) {
  EXPECT_ERROR_EQ(save({{"a", ones({1})}, {"a", ones({2})}}, path()),
                  fmt::format("save: '{}': the name 'a' appears twice in the state dict", path()));
  EXPECT_TRUE(listing().empty());
}

TEST_F(CheckpointSaveErrors, MetadataNameIsReserved) {
  EXPECT_ERROR_CONTAINS(save({{"__metadata__", ones({1})}}, path()),
                        "the name '__metadata__' is reserved for the metadata");
}

TEST_F(CheckpointSaveErrors, NonUtf8StringsAreRefused) {
  EXPECT_ERROR_CONTAINS(save({{"ok", ones({1})}, {"bad\xff", ones({1})}}, path()),
                        "the name of state dict entry 1 is not valid UTF-8");
  EXPECT_ERROR_CONTAINS(save({{"ok", ones({1})}}, path(), {{"key", "\xc3("}}),
                        "the metadata value of 'key' is not valid UTF-8");
  EXPECT_ERROR_CONTAINS(save_to_bytes({{"bad\xff", ones({1})}}), "save_to_bytes: '<memory>': the name of state");
  EXPECT_TRUE(listing().empty());
}

TEST_F(CheckpointSaveErrors, TensorWithMoreThan64DimsIsRefused) {
  EXPECT_ERROR_CONTAINS(save({{"deep", ones(Shape(65, 1))}}, path()),
                        "tensor 'deep' has 65 dimensions; checkpoints hold at most 64");
  save({{"deep", ones(Shape(64, 1))}}, path());
  EXPECT_EQ(load(path())[0].second.dim(), 64);
}

TEST_F(CheckpointSaveErrors, PathEndingInASlashIsRefused) {
  EXPECT_ERROR_CONTAINS(save(sample_state(), dir_.string() + "/"), "the path names a directory, not a file");
}

// --- atomic saves -------------------------------------------------------------------------------

using CheckpointAtomicSave = CheckpointTest;

TEST_F(CheckpointAtomicSave, NoTemporaryFileRemains) {
  save(sample_state(), path());
  save(sample_state(), path());
  EXPECT_EQ(listing(), (std::set<std::string>{"model.safetensors"}));
}

TEST_F(CheckpointAtomicSave, ExistingCheckpointIsReplacedWhole) {
  save({{"big", randn({1000})}, {"other", ones({10}, kFloat64)}}, path(), {{"v", "1"}});
  const nn::StateDict small = {{"small", tensor({1.0, 2.0})}};
  save(small, path());
  const Checkpoint loaded = load_checkpoint(path());
  ASSERT_EQ(names_of(loaded.state), (std::vector<std::string>{"small"}));
  expect_identical(loaded.state[0].second, small[0].second);
  EXPECT_TRUE(loaded.metadata.empty());
  const std::vector<std::uint8_t> expected = save_to_bytes(small);
  EXPECT_EQ(fs::file_size(path()), expected.size());
}

TEST_F(CheckpointAtomicSave, MissingDirectoryThrowsAndCreatesNothing) {
  const std::string target = (dir_ / "missing" / "model.safetensors").string();
  EXPECT_ERROR_EQ(save(sample_state(), target),
                  fmt::format("save: '{}': cannot create a temporary file in '{}': No such file or directory", target,
                              (dir_ / "missing").string()));
  EXPECT_TRUE(listing().empty());
}

TEST_F(CheckpointAtomicSave, TargetThatIsADirectoryIsLeftAlone) {
  fs::create_directory(path());
  EXPECT_ERROR_CONTAINS(save(sample_state(), path()), "cannot rename the temporary file");
  EXPECT_TRUE(fs::is_directory(path()));
  EXPECT_EQ(listing(), (std::set<std::string>{"model.safetensors"}));
}

TEST_F(CheckpointAtomicSave, FailedSaveLeavesTheOldCheckpointIntact) {
  const nn::StateDict old_state = sample_state();
  save(old_state, path(), {{"epoch", "1"}});
  const std::string old_bytes = read_bytes(path());

  // An error before any I/O.
  EXPECT_ERROR_CONTAINS(save({{"w", Tensor()}}, path()), "tensor 'w' is undefined");
  EXPECT_EQ(read_bytes(path()), old_bytes);

  // A write that fails half-way: the file size limit makes write() fail with EFBIG (SIGXFSZ ignored).
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  struct sigaction ignore = {};
  struct sigaction previous = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGXFSZ, &ignore, &previous), 0);
  rlimit limited = saved;
  limited.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
  std::string message;
  try {
    save({{"big", zeros({100000})}}, path(), {{"epoch", "2"}});
  } catch (const Error& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &saved);
  sigaction(SIGXFSZ, &previous, nullptr);
  EXPECT_NE(message.find("writing the temporary file"), std::string::npos) << message;
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;

  EXPECT_EQ(listing(), (std::set<std::string>{"model.safetensors"})) << "the temporary file is removed";
  EXPECT_EQ(read_bytes(path()), old_bytes);
  const Checkpoint loaded = load_checkpoint(path());
  EXPECT_EQ(loaded.metadata.at("epoch"), "1");
  for (std::size_t i = 0; i < old_state.size(); ++i) {
    expect_identical(loaded.state[i].second, old_state[i].second);
  }
}

TEST_F(CheckpointAtomicSave, ConcurrentSavesLeaveOneWholeCheckpoint) {
  const nn::StateDict a = {{"a", full({5000}, 1.0)}}, b = {{"b", full({3000}, 2.0, kFloat64)}, {"c", ones({1})}};
  std::thread ta([&] {
    for (int i = 0; i < 20; ++i) save(a, path());
  });
  std::thread tb([&] {
    for (int i = 0; i < 20; ++i) save(b, path());
  });
  ta.join();
  tb.join();
  const nn::StateDict loaded = load(path());
  const nn::StateDict& winner = loaded.size() == 1 ? a : b;
  ASSERT_EQ(names_of(loaded), names_of(winner));
  for (std::size_t i = 0; i < winner.size(); ++i) expect_identical(loaded[i].second, winner[i].second);
  EXPECT_EQ(listing(), (std::set<std::string>{"model.safetensors"}));
}

// --- corrupted and truncated files: one test per rule -------------------------------------------

class CheckpointCorrupt : public CheckpointTest {
 protected:
  // Writes `bytes` and expects load(), load_metadata() and load_from_bytes() each to throw an error
  // naming the operation and the file and containing `problem` (every rule is checked on the header,
  // before any tensor is read).
  void expect_rejected(const std::string& bytes, const std::string& problem) {
    write_bytes(path(), bytes);
    expect_message([&] { load(path()); }, fmt::format("load: '{}': ", path()), problem);
    expect_message([&] { load_metadata(path()); }, fmt::format("load_metadata: '{}': ", path()), problem);
    const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
    expect_message([&] { load_from_bytes(p, bytes.size(), "blob"); }, "load_from_bytes: 'blob': ", problem);
  }
  // Expects `fn` to throw voxgrad::Error starting with `prefix` (op and file) and containing `problem`.
  template <typename Fn>
  static void expect_message(Fn fn, const std::string& prefix, const std::string& problem) {
    try {
      fn();
      ADD_FAILURE() << "expected voxgrad::Error containing \"" << problem << "\"";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(prefix, 0), 0u) << "message was: " << message;
      EXPECT_NE(message.find(problem, prefix.size()), std::string::npos) << "message was: " << message;
    }
  }
  // A header holding `entries` (comma-separated) with an 8-byte data section.
  void expect_entries_rejected(const std::string& entries, const std::string& problem, std::size_t data_bytes = 8) {
    expect_rejected(image("{" + entries + "}", std::string(data_bytes, '\0')), problem);
  }
};

// Rule 1: the 8 length bytes.
TEST_F(CheckpointCorrupt, FileShorterThanTheLengthFieldIsTruncated) {
  for (std::size_t size = 0; size < 8; ++size) {
    expect_rejected(std::string(size, '\x01'),
                    fmt::format("file is too short: {} bytes, but a safetensors file starts with an 8-byte header "
                                "length (truncated file?)",
                                size));
  }
}

// Rule 2: the header length.
TEST_F(CheckpointCorrupt, HeaderLengthBeyondTheFileIsTruncated) {
  expect_rejected(image("{}", "", 1000),
                  "header length 1000 exceeds the 2 bytes that follow the length field (truncated file?)");
}

TEST_F(CheckpointCorrupt, HugeHeaderLengthIsRefusedWithoutAllocating) {
  expect_rejected(image("{}", "", 100'000'001),
                  "header length 100000001 exceeds the limit of 100000000 bytes (corrupted file?)");
  expect_rejected(image("{}", "", UINT64_MAX),
                  "header length 18446744073709551615 exceeds the limit of 100000000 bytes");
}

// Rule 3: a JSON object.
TEST_F(CheckpointCorrupt, HeaderMustStartWithABrace) {
  expect_rejected(image(""), "header does not start with '{' (not a safetensors file?)");
  expect_rejected(image(" {}"), "header does not start with '{'");
  expect_rejected(image("[]"), "header does not start with '{'");
  expect_rejected("PK\x03\x04 this is a zip file, not a checkpoint", "header length");
}

TEST_F(CheckpointCorrupt, HeaderMustBeValidJson) {
  expect_rejected(image(R"({"a":)"), "header is not valid JSON: [json.exception.parse_error.101]");
  expect_rejected(image(R"({} x)"), "header is not valid JSON");
  expect_rejected(image(R"({"__metadata__":{},})"), "header is not valid JSON");
  expect_rejected(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})", std::string(4, '\0')),
                  "header is not valid JSON");  // the closing brace is missing
  expect_rejected(image(std::string("{}\0\0", 4)), "header is not valid JSON: it holds a NUL byte at offset 2");
  expect_rejected(image(std::string("{}\0garbage", 10)), "header is not valid JSON: it holds a NUL byte");
}

TEST_F(CheckpointCorrupt, HeaderMustBeUtf8) {
  expect_rejected(image("{\"\xff\":{}}"), "header is not valid JSON");
  expect_rejected(image("{\"\xff\":{}}"), "ill-formed UTF-8 byte");
  expect_rejected(image("{\"a\xc3\":{}}"), "ill-formed UTF-8 byte");
  expect_rejected(image("{\"__metadata__\":{\"k\":\"\xed\xa0\x80\"}}"),
                  "ill-formed UTF-8 byte");  // a surrogate
}

TEST_F(CheckpointCorrupt, RepeatedTensorNameIsRefused) {
  expect_entries_rejected(entry("a", "F32", "[1]", "[0,4]") + "," + entry("a", "F32", "[1]", "[4,8]"),
                          "tensor 'a' appears twice in the header");
}

TEST_F(CheckpointCorrupt, RepeatedKeysInsideObjectsAreRefused) {
  expect_entries_rejected(R"("a":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]})",
                          "tensor 'a' has the field 'dtype' twice");
  expect_rejected(image(R"({"__metadata__":{},"__metadata__":{}})"), "header has two '__metadata__' objects");
  expect_rejected(image(R"({"__metadata__":{"k":"1","k":"2"}})"), "__metadata__ has the key 'k' twice");
}

// Rule 4: metadata.
TEST_F(CheckpointCorrupt, MetadataMustMapStringsToStrings) {
  expect_rejected(image(R"({"__metadata__":"x"})"), "__metadata__ must be an object mapping strings to strings");
  expect_rejected(image(R"({"__metadata__":null})"), "__metadata__ must be an object mapping strings to strings");
  expect_rejected(image(R"({"__metadata__":["a"]})"), "__metadata__ must be an object mapping strings to strings");
  expect_rejected(image(R"({"__metadata__":{"epoch":3}})"), "__metadata__ value of 'epoch' is 3, not a string");
  expect_rejected(image(R"({"__metadata__":{"k":null}})"), "__metadata__ value of 'k' is null, not a string");
  expect_rejected(image(R"({"__metadata__":{"k":{"x":"y"}}})"), "__metadata__ value of 'k' is not a string");
  expect_rejected(image(R"({"__metadata__":{"k":["y"]}})"), "__metadata__ value of 'k' is not a string");
}

// Rule 5: entry structure.
TEST_F(CheckpointCorrupt, EntryMustBeAnObject) {
  expect_entries_rejected(R"("a":5)", "entry 'a' is not an object with dtype, shape and data_offsets");
  expect_entries_rejected(R"("a":[0,8])", "entry 'a' is not an object");
  expect_entries_rejected(R"("a":"F32")", "entry 'a' is not an object");
}

TEST_F(CheckpointCorrupt, EntryMustHaveEveryField) {
  expect_entries_rejected(R"("a":{"shape":[2],"data_offsets":[0,8]})", "tensor 'a' has no 'dtype' field");
  expect_entries_rejected(R"("a":{"dtype":"F32","data_offsets":[0,8]})", "tensor 'a' has no 'shape' field");
  expect_entries_rejected(R"("a":{"dtype":"F32","shape":[2]})", "tensor 'a' has no 'data_offsets' field");
  expect_entries_rejected(R"("a":{})", "tensor 'a' has no 'dtype' field");
}

TEST_F(CheckpointCorrupt, EntryWithAnUnknownFieldIsRefused) {
  expect_entries_rejected(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"strides":[1]})",
                          "tensor 'a' has unknown field 'strides' (expected dtype, shape and data_offsets)");
}

// Rule 6: dtype.
TEST_F(CheckpointCorrupt, DtypeMustBeAString) {
  expect_entries_rejected(R"("a":{"dtype":32,"shape":[2],"data_offsets":[0,8]})",
                          "dtype of tensor 'a' must be a string such as \"F32\", got 32");
  expect_entries_rejected(R"("a":{"dtype":["F32"],"shape":[2],"data_offsets":[0,8]})",
                          "dtype of tensor 'a' must be a string such as \"F32\"");
  expect_entries_rejected(R"("a":{"dtype":{},"shape":[2],"data_offsets":[0,8]})",
                          "dtype of tensor 'a' must be a string such as \"F32\"");
}

TEST_F(CheckpointCorrupt, UnsupportedAndUnknownDtypesAreNamed) {
  expect_entries_rejected(entry("h", "F16", "[4]", "[0,8]"),
                          "tensor 'h' has dtype F16, which voxgrad cannot load (supported: F32, F64, I64)");
  expect_entries_rejected(entry("h", "BF16", "[4]", "[0,8]"), "tensor 'h' has dtype BF16, which voxgrad cannot load");
  expect_entries_rejected(entry("q", "Q7", "[2]", "[0,8]"),
                          "tensor 'q' has unknown dtype 'Q7' (supported: F32, F64, I64)");
  expect_entries_rejected(entry("q", "f32", "[2]", "[0,8]"), "tensor 'q' has unknown dtype 'f32'");
}

// Rule 7: shape.
TEST_F(CheckpointCorrupt, ShapeMustBeAListOfNonNegativeIntegers) {
  expect_entries_rejected(entry("a", "F32", "2", "[0,8]"),
                          "shape of tensor 'a' must be a list of non-negative integers");
  expect_entries_rejected(entry("a", "F32", "{}", "[0,8]"),
                          "shape of tensor 'a' must be a list of non-negative integers");
  expect_entries_rejected(entry("a", "F32", "[[2]]", "[0,8]"),
                          "shape of tensor 'a' must be a list of non-negative integers");
  expect_entries_rejected(entry("a", "F32", "[-2]", "[0,8]"),
                          "shape of tensor 'a' has -2 at index 0; sizes must be non-negative integers");
  expect_entries_rejected(entry("a", "F32", "[1,2.0]", "[0,8]"), "shape of tensor 'a' has 2.0 at index 1");
  expect_entries_rejected(entry("a", "F32", R"(["2"])", "[0,8]"), "shape of tensor 'a' has \"2\" at index 0");
  expect_entries_rejected(entry("a", "F32", "[true]", "[0,8]"), "shape of tensor 'a' has true at index 0");
  expect_entries_rejected(entry("a", "F32", "[null]", "[0,8]"), "shape of tensor 'a' has null at index 0");
}

TEST_F(CheckpointCorrupt, ShapeWithTooManyDimensionsIsRefused) {
  std::string shape = "[1";
  for (int i = 1; i < 65; ++i) shape += ",1";
  expect_entries_rejected(entry("a", "F32", shape + "]", "[0,4]"), "shape of tensor 'a' has more than 64 dimensions",
                          4);
  // 64 dims are fine.
  std::string ok = "[2";
  for (int i = 1; i < 64; ++i) ok += ",1";
  write_bytes(path(), image("{" + entry("a", "F32", ok + "]", "[0,8]") + "}", std::string(8, '\0')));
  EXPECT_EQ(load(path())[0].second.dim(), 64);
}

TEST_F(CheckpointCorrupt, ShapeWhoseSizeOverflowsIsRefused) {
  expect_entries_rejected(entry("a", "F32", "[9223372036854775808]", "[0,8]"),
                          "shape of tensor 'a' has size 9223372036854775808 at index 0, more than int64 can hold");
  expect_entries_rejected(entry("a", "F32", "[4294967296,4294967296]", "[0,8]"),
                          "shape [4294967296,4294967296] of tensor 'a' is too large: its size overflows int64");
  // Zero elements, but strides that overflow (zero-sized dims count as 1 in strides).
  expect_entries_rejected(entry("a", "F32", "[0,1099511627776,1099511627776]", "[0,0]"),
                          "shape [0,1099511627776,1099511627776] of tensor 'a' is too large", 0);
  expect_entries_rejected(entry("a", "F64", "[4611686018427387904,2]", "[0,8]"),
                          "of tensor 'a' is too large: its size overflows int64");
  expect_entries_rejected(entry("a", "F64", "[4611686018427387904]", "[0,8]"),
                          "shape [4611686018427387904] of tensor 'a' is too large: its byte size overflows");
}

// Rule 8: data_offsets.
TEST_F(CheckpointCorrupt, DataOffsetsMustBeTwoNonNegativeIntegers) {
  const std::string message = "data_offsets of tensor 'a' must be";
  expect_entries_rejected(entry("a", "F32", "[2]", "8"), message);
  expect_entries_rejected(entry("a", "F32", "[2]", "{}"), message);
  expect_entries_rejected(
      entry("a", "F32", "[2]", "[8]"),
      "data_offsets of tensor 'a' must be a list of two non-negative integers [begin, end], got [8]");
  expect_entries_rejected(entry("a", "F32", "[2]", "[0,4,8]"),
                          "data_offsets of tensor 'a' must be a list of two non-negative integers [begin, end]");
  expect_entries_rejected(entry("a", "F32", "[2]", "[-1,7]"), "got [-1,7]");
  expect_entries_rejected(entry("a", "F32", "[2]", "[0,8.0]"), "got [0,8.0]");
  expect_entries_rejected(entry("a", "F32", "[2]", "[0,[8]]"), message);
  expect_entries_rejected(entry("a", "F32", "[2]", "[0,18446744073709551616]"), "got [0,1.8446744073709552e+19]");
}

TEST_F(CheckpointCorrupt, DataOffsetsMustNotBeReversed) {
  expect_entries_rejected(entry("a", "F32", "[0]", "[8,0]"), "data_offsets [8, 0] of tensor 'a' have begin > end");
}

TEST_F(CheckpointCorrupt, DataOffsetsOutsideTheDataSectionAreOutOfRange) {
  expect_entries_rejected(
      entry("a", "F32", "[2]", "[0,1000]"),
      "data_offsets [0, 1000] of tensor 'a' lie outside the data section of 8 bytes (truncated file?)");
  expect_entries_rejected(entry("a", "F32", "[2]", "[18446744073709551607,18446744073709551615]"),
                          "lie outside the data section of 8 bytes");
}

TEST_F(CheckpointCorrupt, ByteSpanMustMatchShapeAndDtype) {
  expect_entries_rejected(entry("a", "F32", "[3]", "[0,8]"),
                          "tensor 'a' (F32 [3]) needs 12 bytes, but its data_offsets [0, 8] span 8");
  expect_entries_rejected(entry("a", "F64", "[2]", "[0,8]"),
                          "tensor 'a' (F64 [2]) needs 16 bytes, but its data_offsets [0, 8] span 8");
  expect_entries_rejected(entry("a", "I64", "[]", "[0,4]"),
                          "tensor 'a' (I64 []) needs 8 bytes, but its data_offsets [0, 4] span 4");
}

// Rule 9: the tensors tile the data section.
TEST_F(CheckpointCorrupt, OverlappingTensorsAreRefused) {
  expect_entries_rejected(entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[4,12]"),
                          "data of tensors 'a' [0, 8] and 'b' [4, 12] overlap", 12);
  expect_entries_rejected(entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[0,8]"),
                          "data of tensors 'a' [0, 8] and 'b' [0, 8] overlap");
}

TEST_F(CheckpointCorrupt, GapsInTheDataSectionAreRefused) {
  expect_entries_rejected(entry("a", "F32", "[1]", "[0,4]") + "," + entry("b", "F32", "[1]", "[8,12]"),
                          "bytes [4, 8) of the data section belong to no tensor (a gap before tensor 'b')", 12);
  expect_entries_rejected(entry("a", "F32", "[1]", "[4,8]"), "bytes [0, 4) of the data section belong to no tensor");
}

TEST_F(CheckpointCorrupt, TrailingBytesAfterTheLastTensorAreRefused) {
  expect_entries_rejected(entry("a", "F32", "[2]", "[0,8]"),
                          "the data section has 12 bytes, but its tensors end at byte 8 (4 trailing bytes belong to "
                          "no tensor)",
                          12);
  expect_entries_rejected("", "the data section has 8 bytes, but its tensors end at byte 0");
}

// Data section truncation: every prefix of a valid file is refused, none reads out of bounds.
TEST_F(CheckpointCorrupt, EveryTruncationIsAnError) {
  const std::vector<std::uint8_t> full = save_to_bytes(sample_state(), {{"k", "v"}});
  for (std::size_t size = 0; size < full.size(); ++size) {
    EXPECT_THROW(load_from_bytes(full.data(), size), Error) << "prefix of " << size << " bytes";
  }
  // A file cut inside the data section names the problem.
  write_bytes(path(), std::string(full.begin(), full.end() - 3));
  EXPECT_ERROR_CONTAINS(load(path()), "lie outside the data section");
  EXPECT_ERROR_CONTAINS(load(path()), "(truncated file?)");
  EXPECT_EQ(load_from_bytes(full.data(), full.size()).state.size(), 3u);
}

// A small in-process fuzz: every byte of a valid file replaced by a few values either still loads
// or gives voxgrad::Error (run under the asan preset this also proves no out-of-bounds access).
TEST_F(CheckpointCorrupt, MutatedBytesGiveErrorsNeverCrashes) {
  const std::vector<std::uint8_t> good = save_to_bytes(sample_state(), {{"k", "v"}});
  int loaded = 0, rejected = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (const int value : {0x00, 0xff, 0x80, int{'"'}, int{'{'}, int{'['}, int{'9'}, int{'-'}, int{','}, int{' '}}) {
      std::vector<std::uint8_t> bytes = good;
      bytes[i] = static_cast<std::uint8_t>(value);
      try {
        load_from_bytes(bytes.data(), bytes.size());
        ++loaded;
      } catch (const Error&) {
        ++rejected;
      }
    }
  }
  EXPECT_GT(loaded, 0);    // e.g. data bytes
  EXPECT_GT(rejected, 0);  // e.g. header bytes
}

TEST_F(CheckpointCorrupt, MissingFileAndDirectoryAreNamed) {
  const std::string missing = path("nope.safetensors");
  EXPECT_ERROR_EQ(load(missing), fmt::format("load: '{}': cannot open the file: No such file or directory", missing));
  EXPECT_ERROR_EQ(load(dir_.string()), fmt::format("load: '{}': not a regular file", dir_.string()));
}

// --- PyTorch interop ----------------------------------------------------------------------------

using CheckpointInterop = CheckpointTest;

const std::string kPyTorchFixture = std::string(VOXGRAD_FIXTURE_DIR) + "/checkpoint/pytorch.safetensors";

TEST_F(CheckpointInterop, LoadsAFileWrittenByPyTorch) {
  const Checkpoint ckpt = load_checkpoint(kPyTorchFixture);
  // Data order (the header lists them sorted by name).
  ASSERT_EQ(names_of(ckpt.state), (std::vector<std::string>{"encoder.weight", "encoder.bias", "decoder.weight", "step",
                                                            "empty", "specials", "indices"}));
  const auto& s = ckpt.state;
  std::vector<double> w;
  for (int i = 0; i < 12; ++i) w.push_back(i / 8.0 - 0.75);
  EXPECT_EQ(s[0].second.dtype(), kFloat32);
  voxgrad::testing::expect_values(s[0].second, {3, 4}, w, 0.0);
  EXPECT_EQ(s[1].second.dtype(), kFloat64);
  voxgrad::testing::expect_values(s[1].second, {3}, {0.1, -2.5, 1e300}, 0.0);
  EXPECT_EQ(s[2].second.dtype(), kFloat64);
  voxgrad::testing::expect_values(s[2].second, {3, 2}, {0, 3, 1, 4, 2, 5}, 0.0);
  EXPECT_EQ(s[3].second.dtype(), kInt64);
  EXPECT_EQ(s[3].second.dim(), 0);
  EXPECT_EQ(s[3].second.item<std::int64_t>(), 42);
  EXPECT_EQ(s[4].second.dtype(), kFloat32);
  EXPECT_EQ(s[4].second.sizes(), (Shape{0, 4}));
  const std::vector<float> specials = {0.0f, -0.0f, HUGE_VALF, -HUGE_VALF, std::nanf(""), 1e-45f, FLT_MAX, 0.1f};
  expect_identical(s[5].second, from_blob(specials.data(), {8}));
  const std::vector<std::int64_t> indices = {-1, 0, std::int64_t{1} << 40, INT64_MIN};
  expect_identical(s[6].second, from_blob(indices.data(), {2, 2}));
  EXPECT_EQ(ckpt.metadata, (CheckpointMetadata{{"format", "pt"},
                                               {"producer", "tests/fixtures/checkpoint/generate.py"},
                                               {"unicode", "\u00b5m \u2713"}}));
}

TEST_F(CheckpointInterop, PyTorchFileRoundTripsThroughVoxgrad) {
  const Checkpoint original = load_checkpoint(kPyTorchFixture);
  save(original.state, path(), original.metadata);
  const Checkpoint again = load_checkpoint(path());
  EXPECT_EQ(again.metadata, original.metadata);
  ASSERT_EQ(names_of(again.state), names_of(original.state));
  for (std::size_t i = 0; i < again.state.size(); ++i) {
    expect_identical(again.state[i].second, original.state[i].second);
  }
}

}  // namespace
