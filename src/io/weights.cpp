#include "io/weights.h"

#include <ATen/core/grad_mode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gemma/error.h"
#include "io/tensor.h"

namespace gemma::io {
namespace {

std::string shape_str(at::IntArrayRef shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

std::string listing(const std::vector<std::string>& items, std::size_t limit = 20) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < limit; ++i) out += "\n  " + items[i];
  if (items.size() > limit) out += fmt::format("\n  ... and {} more", items.size() - limit);
  return out;
}

}  // namespace

LoadReport load_weights(torch::nn::Module& root, const Checkpoint& checkpoint,
                        const LoadOptions& options) {
  at::NoGradGuard no_grad;
  LoadReport report;
  std::vector<std::string> missing, mismatched, unexpected;
  auto params = root.named_parameters(/*recurse=*/true);

  for (auto& item : params) {
    const auto& name = item.key();
    const auto* entry = checkpoint.find(name);
    if (!entry) {
      missing.push_back(name);
      continue;
    }
    auto& param = item.value();
    if (entry->info->shape != param.sizes().vec()) {
      mismatched.push_back(fmt::format("{}: checkpoint {} vs model {}", name,
                                       shape_str(entry->info->shape), shape_str(param.sizes())));
      continue;
    }
    auto stored = to_tensor(*entry->file, *entry->info);
    if (stored.scalar_type() == param.scalar_type() && param.device().is_cpu() &&
        stored.data_ptr() == static_cast<void*>(entry->file->bytes(*entry->info).data())) {
      param.set_data(stored);
      ++report.zero_copy;
    } else {
      param.copy_(stored);  // converts dtype/device into the preallocated parameter: peak 1× model
    }
    ++report.loaded;
  }
  for (const auto& [name, entry] : checkpoint.entries()) {
    if (params.contains(name)) continue;
    if (options.skip && options.skip(name)) {
      report.skipped.push_back(name);
    } else {
      unexpected.push_back(name);
    }
  }

  if (missing.empty() && mismatched.empty() && unexpected.empty()) return report;
  std::string message = "checkpoint does not fit the model";
  if (!missing.empty()) {
    message += fmt::format("\n{} tensors missing from the checkpoint:{}", missing.size(),
                           listing(missing));
  }
  if (!mismatched.empty()) {
    message +=
        fmt::format("\n{} tensors with the wrong shape:{}", mismatched.size(), listing(mismatched));
  }
  if (!unexpected.empty()) {
    message += fmt::format("\n{} tensors the model does not have:{}", unexpected.size(),
                           listing(unexpected));
  }
  throw WeightError(fmt::format("{}: {}", checkpoint.files().front()->source(), message));
}

LoadReport load_weights_at(const std::shared_ptr<torch::nn::Module>& module, std::string_view path,
                           const Checkpoint& checkpoint) {
  // A chain of empty modules named by the path's components, `module` at its end.
  torch::nn::Module root;
  torch::nn::Module* parent = &root;
  std::string_view rest = path;
  for (auto dot = rest.find('.'); dot != std::string_view::npos; dot = rest.find('.')) {
    parent = parent->register_module(std::string(rest.substr(0, dot)),
                                     std::make_shared<torch::nn::Module>()).get();
    rest.remove_prefix(dot + 1);
  }
  parent->register_module(std::string(rest), module);
  const std::string prefix = std::string(path) + ".";
  return load_weights(root, checkpoint,
                      {[&](const std::string& key) { return !key.starts_with(prefix); }});
}

}  // namespace gemma::io
