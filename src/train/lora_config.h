#pragma once
// PEFT's LoRA configuration (LoraConfig in peft/tuners/lora/config.py, PEFT 0.21.2) and its
// adapter_config.json: which modules get adapters, and the scaling of their update.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gemma/train.h"

namespace gemma::train {

/// The LoRA fields gemma implements (the public gemma::LoraConfig); adapter_config.json fields
/// that would change the computation beyond them are refused by parse_adapter_config().
using gemma::LoraConfig;

/// Whether `module_name` (a full name such as "model.language_model.layers.0.self_attn.q_proj") is
/// excluded by exclude_modules / exclude_regex.
bool matches_excluded(const LoraConfig& config, std::string_view module_name);

/// PEFT's check_target_module_exists for the list and regex forms: not excluded, and matched by
/// target_regex (in full) or by target_modules (equal, or a "." + entry suffix, so "q_proj"
/// matches "layers.0.self_attn.q_proj" but not "layers.0.xq_proj"). all_linear is the caller's
/// (only it knows which modules are Linear). Regexes are ECMAScript (std::regex), which agrees
/// with Python's re on the usual patterns; InvalidArgumentError for one it cannot compile, one
/// over 1024 characters or one with a number of more than 9 digits (bounds on std::regex's stack
/// use and integer reads).
bool matches_target(const LoraConfig& config, std::string_view module_name);

/// Reads an adapter_config.json as PEFT 0.21.2 writes it for LoRA. UnsupportedError naming the
/// file and field for what would change the computation beyond plain LoRA: peft_type other than
/// "LORA", use_dora, bias other than "none", fan_in_fan_out, modules_to_save, layers_to_transform,
/// rank_pattern or alpha_pattern, target_parameters, lora_bias, layer_replication,
/// trainable_token_indices, QALoRA and the LoRA variants (aLoRA, VeLoRA, MonteCLoRA, BD-LoRA,
/// Arrow, KaSA), a null target_modules. ConfigError for a wrong type, r < 1, a dropout outside
/// [0, 1) or a regex std::regex cannot compile (or over 1024 characters, or with a number of more
/// than 9 digits). Initialisation fields are ignored.
LoraConfig parse_adapter_config(const std::filesystem::path& file);

/// parse_adapter_config() of the file's text; `source` names it in messages.
LoraConfig parse_adapter_config_text(std::string_view text, std::string_view source);

/// The adapter_config.json PEFT 0.21.2's save_pretrained writes for `config`: every key of its
/// LoraConfig, the others at their defaults, indent 2, sorted keys, no final newline;
/// target_modules as a sorted list, the regex, or "all-linear".
std::string adapter_config_json(const LoraConfig& config);

}  // namespace gemma::train
