#include "io/weights.h"

#include <ATen/core/grad_mode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gemma/error.h"
#include "io/tensor.h"

namespace gemma::io {
namespace {

std::string shape_str(at::IntArrayRef shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// "3 tensors missing from the checkpoint (a, b, c)": one line whatever the count.
std::string listing(std::string_view what, const std::vector<std::string>& items) {
  constexpr std::size_t kShown = 10;
  std::vector<std::string> shown(items.begin(), items.begin() + std::min(items.size(), kShown));
  if (items.size() > kShown) shown.push_back(fmt::format("and {} more", items.size() - kShown));
  return fmt::format("{} {} ({})", items.size(), what, fmt::join(shown, ", "));
}

bool is_floating(Dtype dtype) {
  return dtype == Dtype::kF16 || dtype == Dtype::kBF16 || dtype == Dtype::kF32 ||
         dtype == Dtype::kF64;
}

// Parameters with their checkpoint entries, in named_parameters() order.
struct Match {
  at::Tensor param;
  const Checkpoint::Entry* entry;
};

std::vector<Match> match_weights(torch::nn::Module& root, const Checkpoint& checkpoint,
                                 const LoadOptions& options, std::vector<std::string>* skipped) {
  std::vector<Match> matches;
  std::vector<std::string> missing, mismatched, not_float, unexpected;
  const auto params = root.named_parameters(/*recurse=*/true);
  for (const auto& item : params) {
    const auto& name = item.key();
    const auto* entry = checkpoint.find(name);
    if (!entry) {
      missing.push_back(name);
    } else if (entry->info->shape != item.value().sizes().vec()) {
      mismatched.push_back(fmt::format("{}: checkpoint {} vs model {}", name,
                                       shape_str(entry->info->shape),
                                       shape_str(item.value().sizes())));
    } else if (!is_floating(entry->info->dtype)) {
      // Integers would be converted to float silently, F8 without its scales: garbage either way.
      not_float.push_back(fmt::format("{}: {}", name, dtype_name(entry->info->dtype)));
    } else {
      matches.push_back({item.value(), entry});
    }
  }
  for (const auto& [name, entry] : checkpoint.entries()) {
    if (params.contains(name)) continue;
    if (options.skip && options.skip(name)) {
      if (skipped) skipped->push_back(name);
    } else {
      unexpected.push_back(name);
    }
  }
  std::vector<std::string> problems;
  if (!missing.empty()) problems.push_back(listing("tensors missing from the checkpoint", missing));
  if (!mismatched.empty()) problems.push_back(listing("tensors with the wrong shape", mismatched));
  if (!not_float.empty()) {
    problems.push_back(
        listing("tensors not stored as floating point (F16, BF16, F32, F64)", not_float));
  }
  if (!unexpected.empty())
    problems.push_back(listing("tensors the model does not have", unexpected));
  if (!problems.empty()) {
    throw WeightError(fmt::format("{}: checkpoint does not fit the model: {}", checkpoint.source(),
                                  fmt::join(problems, "; ")));
  }
  return matches;
}

// A stored tensor of the parameter's dtype on the CPU becomes the parameter itself (a view on the
// mapped file), unless misaligned (to_tensor copies those).
bool zero_copy(const Match& m, const at::TensorOptions& target) {
  return target.device().is_cpu() && to_scalar_type(m.entry->info->dtype, m.entry->info->name) ==
                                         c10::typeMetaToScalarType(target.dtype());
}

}  // namespace

std::uint64_t check_weights(torch::nn::Module& root, const Checkpoint& checkpoint,
                            const LoadOptions& options, const at::TensorOptions& target) {
  std::uint64_t bytes = 0;
  for (const auto& m : match_weights(root, checkpoint, options, nullptr)) {
    if (!zero_copy(m, target)) bytes += m.entry->info->numel() * target.dtype().itemsize();
  }
  return bytes;
}

LoadReport load_weights(torch::nn::Module& root, const Checkpoint& checkpoint,
                        const LoadOptions& options) {
  at::NoGradGuard no_grad;
  LoadReport report;
  for (auto& m : match_weights(root, checkpoint, options, &report.skipped)) {
    auto stored = to_tensor(*m.entry->file, *m.entry->info);
    if (stored.scalar_type() == m.param.scalar_type() && m.param.device().is_cpu() &&
        stored.data_ptr() == static_cast<void*>(m.entry->file->bytes(*m.entry->info).data())) {
      m.param.set_data(stored);
      ++report.zero_copy;
    } else {
      m.param.copy_(
          stored);  // converts dtype/device into the preallocated parameter: peak 1× model
    }
    ++report.loaded;
  }
  return report;
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
