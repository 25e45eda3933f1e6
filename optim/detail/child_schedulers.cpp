#include "voxgrad/optim/detail/child_schedulers.h"

#include <algorithm>

#include "voxgrad/core/error.h"
#include "voxgrad/optim/lr_scheduler.h"

namespace voxgrad::optim::detail {

namespace {
constexpr const char kPrefix[] = "_schedulers.";
constexpr std::size_t kPrefixLength = sizeof(kPrefix) - 1;
}  // namespace

void append_children(nn::StateDict& dict, const std::vector<std::shared_ptr<LRScheduler>>& schedulers) {
  for (std::size_t i = 0; i < schedulers.size(); ++i) {
    for (auto& [k, v] : schedulers[i]->state_dict()) dict.emplace_back(fmt::format("{}{}.{}", kPrefix, i, k), v);
  }
}

std::vector<nn::StateDict> split_children(const nn::StateDict& dict, std::size_t n, nn::StateDict& own) {
  std::vector<nn::StateDict> children(n);
  for (const auto& [k, v] : dict) {
    // "_schedulers.<i>.<key>" goes to child i; anything else (another index too) is the holder's.
    if (k.rfind(kPrefix, 0) == 0) {
      const std::size_t dot = k.find('.', kPrefixLength);
      // The index: digits only (std::stoul would also take "+1", " 1" or "1x"), at most 9 of them.
      std::size_t i = n;
      const std::string index = dot == std::string::npos ? std::string() : k.substr(kPrefixLength, dot - kPrefixLength);
      if (!index.empty() && index.size() <= 9 &&
          std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        i = std::stoul(index);
      }
      if (i < n) {
        children[i].emplace_back(k.substr(dot + 1), v);
        continue;
      }
    }
    own.emplace_back(k, v);
  }
  return children;
}

void load_children(const std::string& name, const std::vector<std::shared_ptr<LRScheduler>>& schedulers,
                   const std::vector<nn::StateDict>& children) {
  std::vector<nn::StateDict> saved;
  for (const auto& s : schedulers) saved.push_back(s->state_dict());
  try {
    for (std::size_t i = 0; i < schedulers.size(); ++i) schedulers[i]->load_state_dict(children[i]);
  } catch (const Error& e) {
    for (std::size_t i = 0; i < schedulers.size(); ++i) schedulers[i]->load_state_dict(saved[i]);
    throw Error(fmt::format("{}: error(s) in loading the state dict of a child scheduler: {}", name, e.what()));
  }
}

}  // namespace voxgrad::optim::detail
