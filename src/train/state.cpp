#include "train/state.h"

#include <ATen/ops/scalar_tensor.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "gemma/error.h"
#include "io/safetensors.h"
#include "io/tensor.h"

namespace gemma::train {
namespace {

// LibTorch keys optimizer state by the parameter's TensorImpl.
void* state_key(const at::Tensor& param) { return param.unsafeGetTensorImpl(); }

// Views on the mapped file (to_tensor keeps the mapping alive): whoever keeps one copies it.
std::map<std::string, at::Tensor, std::less<>> read_all(const std::filesystem::path& file) {
  auto st = io::SafetensorsFile::open(file);
  std::map<std::string, at::Tensor, std::less<>> tensors;
  for (const auto& info : st.tensors()) tensors.emplace(info.name, io::to_tensor(st, info));
  return tensors;
}

// The optimizer's own copy of a saved moment, on the parameter's device (one copy either way).
at::Tensor owned_copy(const at::Tensor& saved, const at::Tensor& param) {
  return saved.to(param.device(), saved.scalar_type(), /*non_blocking=*/false, /*copy=*/true);
}

at::Tensor take(const std::map<std::string, at::Tensor, std::less<>>& tensors,
                const std::string& key, const at::Tensor& like,
                const std::filesystem::path& file) {
  auto it = tensors.find(key);
  if (it == tensors.end()) throw WeightError(fmt::format("{}: has no tensor {}", file.string(), key));
  if (like.defined() && it->second.sizes() != like.sizes()) {
    throw WeightError(fmt::format("{}: {} has shape [{}], the run needs [{}]", file.string(), key,
                                  fmt::join(it->second.sizes(), ", "), fmt::join(like.sizes(), ", ")));
  }
  return it->second;
}

}  // namespace

void save_optimizer(const torch::optim::AdamW& optimizer, const NamedTensors& params,
                    const std::filesystem::path& file) {
  NamedTensors out;
  const auto& state = optimizer.state();
  for (const auto& [name, param] : params) {
    auto it = state.find(state_key(param));
    if (it == state.end()) continue;  // never stepped (no gradient yet)
    const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    out.emplace_back(name + ".exp_avg", s.exp_avg());
    out.emplace_back(name + ".exp_avg_sq", s.exp_avg_sq());
    out.emplace_back(name + ".step", at::scalar_tensor(s.step(), at::kLong));
  }
  io::save_tensors(file, out);
}

void load_optimizer(torch::optim::AdamW& optimizer, const NamedTensors& params,
                    const std::filesystem::path& file) {
  const auto tensors = read_all(file);
  auto& state = optimizer.state();
  for (const auto& [name, param] : params) {
    if (!tensors.contains(name + ".step")) continue;
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(take(tensors, name + ".step", {}, file).item<int64_t>());
    s->exp_avg(owned_copy(take(tensors, name + ".exp_avg", param, file), param));
    s->exp_avg_sq(owned_copy(take(tensors, name + ".exp_avg_sq", param, file), param));
    state[state_key(param)] = std::move(s);
  }
}

void load_named(const NamedTensors& params, const std::filesystem::path& file,
                std::string_view key_prefix) {
  const auto tensors = read_all(file);
  at::NoGradGuard no_grad;
  for (const auto& [name, param] : params) {
    param.copy_(take(tensors, std::string(key_prefix) + name, param, file));
  }
}

}  // namespace gemma::train
