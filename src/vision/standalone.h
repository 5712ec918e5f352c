#pragma once
// The vision tower alone, loaded from a model directory under its checkpoint names
// (model.vision_tower.timm_model.*) without building the text model: for the golden tests and the
// full-size check tool.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <filesystem>

#include "gemma/config.h"
#include "io/weights.h"
#include "vision/vision_tower.h"

namespace gemma::vision {

struct StandaloneTower {
  ModelConfig config;
  VisionTower tower{nullptr};
  io::LoadReport report;  // every other checkpoint key counts as skipped
};

// Strict for the tower's own keys (missing, unexpected or mis-shaped ones throw WeightError).
StandaloneTower load_standalone_tower(const std::filesystem::path& model_dir,
                                      const at::TensorOptions& options);

}  // namespace gemma::vision
