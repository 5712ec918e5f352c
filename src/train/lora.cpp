#include "train/lora.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/init.h>

#include <cmath>
#include <map>
#include <set>

#include "gemma/error.h"
#include "io/safetensors.h"
#include "io/tensor.h"
#include "model/loader.h"
#include "nn/modules.h"
#include "util/files.h"

namespace gemma::train {
namespace {

constexpr std::string_view kPrefix = "base_model.model.";

// Every Linear of the model, in module order, but LoRA's own A and B (LoRA never nests).
std::vector<std::pair<std::string, nn::LinearImpl*>> linear_modules(torch::nn::Module& root) {
  std::vector<std::pair<std::string, nn::LinearImpl*>> found;
  for (const auto& item : root.named_modules("", /*include_self=*/false)) {
    auto* linear = dynamic_cast<nn::LinearImpl*>(item.value().get());
    const auto& name = item.key();
    if (!linear || name.ends_with(".lora_A") || name.ends_with(".lora_B")) continue;
    found.emplace_back(name, linear);
  }
  return found;
}

// all-linear: every Linear but the output head, which Gemma 3n ties to the embeddings (no module
// of ours); exclude_modules still applies.
bool is_target(const LoraConfig& config, const std::string& name) {
  return config.all_linear ? !matches_excluded(config, name) : matches_target(config, name);
}

at::TensorOptions adapter_options(const nn::LinearImpl& linear) {
  return at::TensorOptions().dtype(at::kFloat).device(linear.weight.device());
}

}  // namespace

std::vector<std::string> lora_target_names(torch::nn::Module& root, const LoraConfig& config) {
  std::vector<std::string> names;
  for (const auto& [name, linear] : linear_modules(root)) {
    if (is_target(config, name)) names.push_back(name);
  }
  return names;
}

std::vector<std::string> attach_lora(torch::nn::Module& root, const LoraConfig& config) {
  if (config.r < 1) throw InvalidArgumentError(fmt::format("LoRA rank r must be ≥ 1, not {}", config.r));
  std::vector<std::string> names;
  at::NoGradGuard no_grad;
  for (const auto& [name, linear] : linear_modules(root)) {
    if (!is_target(config, name)) continue;
    linear->add_lora(config.r, config.scaling(), config.lora_dropout, adapter_options(*linear));
    const auto* lora = linear->lora();
    // PEFT: kaiming_uniform_(A, a=√5), i.e. U(-1/√in, 1/√in); B = 0 so training starts at the base.
    if (!lora->lora_A->weight.is_meta()) {
      torch::nn::init::kaiming_uniform_(lora->lora_A->weight, std::sqrt(5.0));
      lora->lora_B->weight.zero_();
    }
    names.push_back(name);
  }
  if (names.empty()) {
    throw InvalidArgumentError(
        "LoRA target_modules match no Linear layer of the model (names are transformers' module "
        "names, e.g. q_proj or model.language_model.layers.0.self_attn.q_proj)");
  }
  return names;
}

std::vector<std::pair<std::string, at::Tensor>> lora_state(torch::nn::Module& root) {
  std::vector<std::pair<std::string, at::Tensor>> state;
  for (const auto& [name, linear] : linear_modules(root)) {
    const auto* lora = linear->lora();
    if (!lora) continue;
    state.emplace_back(fmt::format("{}{}.lora_A.weight", kPrefix, name), lora->lora_A->weight);
    state.emplace_back(fmt::format("{}{}.lora_B.weight", kPrefix, name), lora->lora_B->weight);
  }
  return state;
}

void save_adapter(torch::nn::Module& root, const LoraConfig& config,
                  const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  auto state = lora_state(root);
  if (state.empty()) throw InvalidArgumentError("the model has no LoRA adapter to save");
  // The saved config lists the targets by full name, as PEFT expands "all-linear" before saving.
  auto saved = config;
  saved.inference_mode = true;  // what PeftModel.save_pretrained writes
  if (saved.all_linear) {
    saved.all_linear = false;
    saved.target_regex.reset();
    saved.target_modules = lora_target_names(root, config);
  }
  io::save_tensors(dir / "adapter_model.safetensors", state, {{"format", "pt"}});
  util::write_file_atomically(dir / "adapter_config.json", adapter_config_json(saved));
}

LoraConfig load_adapter(model::ForConditionalGenerationImpl& model, model::Towers towers,
                        const std::filesystem::path& dir, std::vector<std::string>* notices) {
  auto config = parse_adapter_config(dir / "adapter_config.json");
  const auto weights_path = dir / "adapter_model.safetensors";
  auto file = io::SafetensorsFile::open(weights_path);
  // The rank the tensors have, checked before adapters of the config's rank are allocated.
  for (const auto& info : file.tensors()) {
    if (info.name.ends_with(".lora_A.weight") && (info.shape.size() != 2 || info.shape[0] != config.r)) {
      throw WeightError(fmt::format("{}: {} has shape [{}], not rank {} as {} says",
                                    weights_path.string(), info.name, fmt::join(info.shape, ", "),
                                    config.r, (dir / "adapter_config.json").string()));
    }
  }
  attach_lora(model, config);
  const auto found = linear_modules(model);
  const std::map<std::string, nn::LinearImpl*> linears(found.begin(), found.end());

  std::set<std::string> filled, unexpected;
  at::NoGradGuard no_grad;
  for (const auto& info : file.tensors()) {
    const std::string& key = info.name;
    std::string_view rest = key;
    std::string_view part;
    if (rest.starts_with(kPrefix)) rest.remove_prefix(kPrefix.size());
    for (std::string_view suffix : {".lora_A.weight", ".lora_B.weight"}) {
      if (rest.ends_with(suffix)) {
        part = suffix.substr(1, 6);
        rest.remove_suffix(suffix.size());
      }
    }
    const std::string module(rest);
    auto it = linears.find(module);
    if (part.empty() || !key.starts_with(kPrefix) || it == linears.end() || !it->second->lora()) {
      if (!part.empty() && model::is_skipped_key(model.config(), towers, module + ".weight")) {
        if (notices) notices->push_back(fmt::format("{}: skipped {} (a layer the model does not use)", weights_path.string(), key));
        continue;
      }
      unexpected.insert(key);
      continue;
    }
    const auto* lora = it->second->lora();
    auto& target = part == "lora_A" ? lora->lora_A->weight : lora->lora_B->weight;
    auto tensor = io::to_tensor(file, info);
    if (tensor.sizes() != target.sizes()) {
      throw WeightError(fmt::format("{}: {} has shape {}, the model needs {} (rank {} from {})",
                                    weights_path.string(), key, fmt::join(tensor.sizes(), "x"),
                                    fmt::join(target.sizes(), "x"), config.r,
                                    (dir / "adapter_config.json").string()));
    }
    target.copy_(tensor);
    filled.insert(key);
  }
  std::vector<std::string> missing;
  for (const auto& [key, tensor] : lora_state(model)) {
    if (!filled.contains(key)) missing.push_back(key);
  }
  if (!unexpected.empty() || !missing.empty()) {
    throw WeightError(fmt::format("{}: does not fit the model: {} unexpected tensors ({}), {} missing ({})",
                                  weights_path.string(), unexpected.size(),
                                  fmt::join(std::vector<std::string>(unexpected.begin(), unexpected.end()), ", "),
                                  missing.size(), fmt::join(missing, ", ")));
  }
  return config;
}

void merge_lora(torch::nn::Module& root) {
  for (auto& [name, linear] : linear_modules(root)) linear->merge_lora();
}

int64_t count_lora_parameters(const ModelConfig& model_config, const LoraConfig& config) {
  model::ForConditionalGeneration shapes(model_config, at::TensorOptions().device(at::kMeta));
  attach_lora(*shapes, config);
  int64_t count = 0;
  for (const auto& [key, tensor] : lora_state(*shapes)) count += tensor.numel();
  return count;
}

}  // namespace gemma::train
