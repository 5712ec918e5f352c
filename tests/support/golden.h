#pragma once
// Reading transformers' reference outputs (tests/data/golden/*.safetensors) and comparing against
// them.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gemma/generation_config.h"
#include "gemma/messages.h"

namespace gemma::model {
struct LoadedModel;
}

namespace gemma::test {

// models/tiny-gemma3n in float32 on the CPU, loaded once per test binary.
model::LoadedModel& tiny_model();

// generate() kwargs as the fixture script records them (do_sample, temperature, top_k, top_p,
// min_p, repetition_penalty) as a GenerationConfig.
GenerationConfig generation_config_from(const nlohmann::json& kwargs);

// All tensors of a golden file, copied out of the mapping.
std::map<std::string, at::Tensor> load_golden(const std::string& file_name);

// max |a − b| over all elements, in float64.
double max_abs_diff(const at::Tensor& a, const at::Tensor& b);

// A repository-relative path, as the fixture script records media paths, made absolute.
std::filesystem::path repo_path(const std::string& relative);

// `json` with every "path" member made absolute (repo_path), at any depth.
nlohmann::json with_absolute_paths(nlohmann::json json);

// MANIFEST.json's entry for tests/data/golden/<file_name>; throws if it lists none.
nlohmann::json manifest_entry(const std::string& file_name);

// The conversation(s) a golden was made from (its MANIFEST inputs.messages), paths absolute.
std::vector<Conversation> golden_conversations(const std::string& file_name);

}  // namespace gemma::test
