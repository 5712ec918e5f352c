#pragma once
// LoRA on the model's Linear layers, PEFT-compatible: the same target rules (a list of names
// matched by suffix, a regex matched in full, or every Linear for "all-linear"), the same scaling
// (alpha/r, or alpha/√r with rslora), the same initialisation (A Kaiming-uniform, B zero), and
// adapters saved and loaded as PEFT's adapter_config.json + adapter_model.safetensors with its key
// names ("base_model.model.<module>.lora_A.weight").
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <filesystem>
#include <string>
#include <vector>

#include "model/gemma3n.h"
#include "train/lora_config.h"

namespace gemma::train {

// The module names (transformers' names) LoRA applies to under `config`, in module order.
std::vector<std::string> lora_target_names(torch::nn::Module& root, const LoraConfig& config);

// Adds float32 adapters (on the weights' device) to every target, initialised as PEFT does from
// the global LibTorch generator. Throws InvalidArgumentError when nothing matches. Returns the
// targets.
std::vector<std::string> attach_lora(torch::nn::Module& root, const LoraConfig& config);

// The adapters' parameters, by PEFT's saved key names.
std::vector<std::pair<std::string, at::Tensor>> lora_state(torch::nn::Module& root);

// Writes `dir`/adapter_config.json and `dir`/adapter_model.safetensors.
void save_adapter(torch::nn::Module& root, const LoraConfig& config, const std::filesystem::path& dir);

// Reads an adapter written by PEFT or by save_adapter, attaches it to `model` and fills it.
// Keys of modules the model does not build on purpose (the dead K/V projections of KV-shared
// layers in adapters trained with older transformers, towers not loaded) are skipped and named in
// `notices`; any other unknown, missing or mis-shaped key is a WeightError naming the file.
LoraConfig load_adapter(model::ForConditionalGenerationImpl& model, model::Towers towers,
                        const std::filesystem::path& dir, std::vector<std::string>* notices = nullptr);

// Folds every adapter into its base weight (W += B·A·scaling) and removes the adapters.
void merge_lora(torch::nn::Module& root);

// Trainable parameters LoRA adds for `config` on a model built from `model_config` (on the meta
// device: no weights are read or allocated).
int64_t count_lora_parameters(const ModelConfig& model_config, const LoraConfig& config);

}  // namespace gemma::train
