#pragma once
// What a checkpoint holds besides trainer_state.json: the trained parameters (a PEFT adapter, or
// the selected parameters by their checkpoint names) and AdamW's moments, so that a resumed run
// continues exactly.
#include <ATen/core/Tensor.h>
#include <torch/optim/adamw.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace gemma::train {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// optimizer.safetensors: "<name>.exp_avg", "<name>.exp_avg_sq" and "<name>.step" for every
// parameter AdamW has stepped.
void save_optimizer(const torch::optim::AdamW& optimizer, const NamedTensors& params,
                    const std::filesystem::path& file);
void load_optimizer(torch::optim::AdamW& optimizer, const NamedTensors& params,
                    const std::filesystem::path& file);

// Copies tensors saved by name (save_tensors) into `params`; every parameter must be present with
// its shape. WeightError naming the file otherwise.
void load_named(const NamedTensors& params, const std::filesystem::path& file,
                std::string_view key_prefix = "");

}  // namespace gemma::train
