#include "voxgrad/nn/any_module.h"

#include "voxgrad/nn/module_holder.h"

namespace voxgrad::nn::detail {

void throw_no_forward(const Module& module, const AnyValues& args, const std::vector<std::string>& sigs) {
  std::vector<std::string> types;
  for (const AnyValue& v : args) types.push_back(v.type_name());
  throw Error(fmt::format("{}: forward called with ({}), but it takes {}", module.name(), fmt::join(types, ", "),
                          fmt::join(sigs, " or ")));
}

void throw_empty_holder(const std::string& impl) {
  throw Error(
      fmt::format("ModuleHolder: accessing an empty holder of {} (built from nullptr); assign a module to it "
                  "first, e.g. with register_module",
                  impl));
}

}  // namespace voxgrad::nn::detail
