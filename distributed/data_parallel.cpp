#include "voxgrad/distributed/data_parallel.h"

#include <algorithm>
#include <sstream>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/distributed/detail/reducer.h"

namespace voxgrad::distributed {

namespace {

// One line per parameter and buffer: "parameter enc.conv.weight float32 [8, 1, 3, 3, 3]".
std::vector<std::string> describe_state(const nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& [kind, named] : {std::pair{"parameter", m.named_parameters()}, {"buffer", m.named_buffers()}}) {
    for (const auto& [name, t] : named) {
      out.push_back(fmt::format("{} '{}' {} {}", kind, name, t.dtype(), shape_str(t.sizes())));
    }
  }
  return out;
}

// Every rank's lines (an all-gather of the joined text, padded to the longest).
std::vector<std::vector<std::string>> gather_lines(ProcessGroup& group, const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& l : lines) text += l + '\n';
  Tensor len = full({1}, static_cast<double>(text.size()), kInt64);
  const Tensor lens = group.all_gather(len);
  std::int64_t longest = 0;
  for (int r = 0; r < group.size(); ++r) longest = std::max(longest, lens.data_ptr<std::int64_t>()[r]);
  Tensor chars = zeros({longest}, kInt64);
  std::int64_t* c = chars.data_ptr<std::int64_t>();
  for (std::size_t i = 0; i < text.size(); ++i) c[i] = static_cast<unsigned char>(text[i]);
  const Tensor all = group.all_gather(chars);
  std::vector<std::vector<std::string>> out(static_cast<std::size_t>(group.size()));
  for (int r = 0; r < group.size(); ++r) {
    const std::int64_t* p = all.data_ptr<std::int64_t>() + r * longest;
    std::string s;
    for (std::int64_t i = 0; i < lens.data_ptr<std::int64_t>()[r]; ++i) s += static_cast<char>(p[i]);
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);) out[static_cast<std::size_t>(r)].push_back(line);
  }
  return out;
}

// Throws, on every rank alike, if some rank's parameters or buffers differ from rank 0's.
void check_same_model(ProcessGroup& group, const nn::Module& m) {
  const auto all = gather_lines(group, describe_state(m));
  const auto& ref = all[0];
  std::size_t longest = 0;
  for (const auto& lines : all) longest = std::max(longest, lines.size());
  for (std::size_t i = 0; i < longest; ++i) {
    for (std::size_t r = 1; r < all.size(); ++r) {
      const bool in0 = i < ref.size(), inr = i < all[r].size();
      if (in0 && inr && ref[i] == all[r][i]) continue;
      const auto entry = [&](std::size_t rank) {
        const auto& lines = all[rank];
        return i < lines.size() ? lines[i] : fmt::format("nothing (only {} parameters and buffers)", lines.size());
      };
      throw Error(
          fmt::format("DistributedDataParallel: the model differs between ranks at entry #{}: rank 0 has {}, rank {} "
                      "has {}; every rank must construct the same model",
                      i, entry(0), r, entry(r)));
    }
  }
}

// Copies rank 0's `tensors` into every rank's (contiguous copies where needed).
void broadcast_from_rank0(ProcessGroup& group, const std::vector<Tensor>& tensors) {
  NoGradGuard no_grad;
  std::vector<std::pair<Tensor, Tensor>> staged;  // (destination, contiguous buffer)
  std::vector<std::shared_ptr<Work>> works;
  for (const Tensor& t : tensors) {
    Tensor buf = t.is_contiguous() ? t.detach() : t.contiguous().detach();
    works.push_back(group.broadcast_async(buf, 0));
    staged.emplace_back(t, buf);
  }
  for (auto& w : works) w->wait();
  for (auto& [dst, buf] : staged) {
    if (dst.raw_data_ptr() != buf.raw_data_ptr()) dst.detach().copy_(buf);  // non-contiguous: copy back
  }
}

}  // namespace

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<nn::Module> module,
                                                 DistributedDataParallelOptions options)
    : nn::Module("DistributedDataParallel"), options_(std::move(options)) {
  VOXGRAD_CHECK(module != nullptr, "DistributedDataParallel: the module is null");
  VOXGRAD_CHECK(options_.bucket_cap_mb() > 0, "DistributedDataParallel: bucket_cap_mb must be positive, got {}",
                options_.bucket_cap_mb());
  module_ = register_module("module", std::move(module));
  group_ = options_.process_group() ? options_.process_group() : default_group();
  check_same_model(*group_, *module_);
  broadcast_from_rank0(*group_, module_->parameters());
  broadcast_from_rank0(*group_, module_->buffers());
  std::vector<std::pair<std::string, Tensor>> trained;
  for (const auto& [name, p] : module_->named_parameters()) {
    if (p.requires_grad()) trained.emplace_back(name, p);
  }
  const auto bucket_bytes = static_cast<std::int64_t>(options_.bucket_cap_mb() * 1024.0 * 1024.0);
  reducer_ = std::make_unique<Reducer>(std::move(trained), group_, bucket_bytes, options_.find_unused_parameters());
}

DistributedDataParallel::~DistributedDataParallel() = default;

void DistributedDataParallel::pre_forward() {
  if (options_.broadcast_buffers() && group_->size() > 1 && is_training()) {
    broadcast_from_rank0(*group_, module_->buffers());
  }
}

void DistributedDataParallel::post_forward(const std::vector<Tensor>& outputs) {
  if (sync_ && GradMode::is_enabled()) reducer_->prepare(outputs);
}

Tensor DistributedDataParallel::forward(const Tensor& input) {
  pre_forward();
  Tensor out = module_->forward(input);
  post_forward({out});
  return out;
}

DistributedDataParallel::NoSyncGuard::NoSyncGuard(DistributedDataParallel& ddp) : ddp_(ddp), previous_(ddp.sync_) {
  ddp_.sync_ = false;
}

DistributedDataParallel::NoSyncGuard::~NoSyncGuard() { ddp_.sync_ = previous_; }

std::vector<std::vector<std::string>> DistributedDataParallel::bucket_parameter_names() const {
  return reducer_->bucket_names();
}

std::vector<BucketLaunch> DistributedDataParallel::last_bucket_launches() const { return reducer_->launches(); }

}  // namespace voxgrad::distributed
