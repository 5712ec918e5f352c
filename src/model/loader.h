#pragma once
// Builds Gemma3nForConditionalGeneration from a model directory: config.json, then the checkpoint.
#include <filesystem>

#include "gemma/config.h"
#include "io/weights.h"
#include "model/gemma3n.h"

namespace gemma::model {

struct LoadedModel {
  ModelConfig config;
  ForConditionalGeneration model{nullptr};
  io::LoadReport report;
};

LoadedModel load_model(const std::filesystem::path& dir, const at::TensorOptions& options,
                       Towers towers = {});

// Checkpoint keys a model built from `config` leaves unused on purpose: the tied lm_head, the dead
// K/V weights of KV-shared layers, and the towers the caller chose not to build.
bool is_skipped_key(const ModelConfig& config, Towers towers, const std::string& name);

}  // namespace gemma::model
