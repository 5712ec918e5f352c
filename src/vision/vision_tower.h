#pragma once
// The Gemma 3n vision tower: transformers' TimmWrapperModel around timm's MobileNetV5Encoder. The
// tower registers "timm_model" so that, inside the model's "model.vision_tower", parameter names
// equal the checkpoint's `model.vision_tower.timm_model.*` keys.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <vector>

#include "gemma/config.h"
#include "vision/blocks.h"
#include "vision/layers.h"
#include "vision/msfa.h"

namespace gemma::vision {

// timm's MobileNetV5Encoder: conv_stem, blocks.S.J (the layout's stages), msfa.
class MobileNetV5EncoderImpl : public torch::nn::Module {
 public:
  MobileNetV5EncoderImpl(const VisionConfig& config, const at::TensorOptions& options);
  // forward_features: [N, 3, H, W] -> [N, hidden_size, R, R].
  at::Tensor forward(const at::Tensor& x);

  ConvNormAct conv_stem{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  MultiScaleFusionAdapter msfa{nullptr};

 private:
  std::vector<std::vector<std::shared_ptr<StageBlockImpl>>> stages_;
  std::vector<bool> msfa_taps_;  // per feature: 0 = stem, s + 1 = end of stage s
};
TORCH_MODULE(MobileNetV5Encoder);

class VisionTowerImpl : public torch::nn::Module {
 public:
  VisionTowerImpl(const VisionConfig& config, const at::TensorOptions& options);
  // pixel_values [N, 3, H, W] (moved to the tower's device and dtype, as TimmWrapperModel does)
  // -> last_hidden_state [N, hidden_size, R, R]. Throws InvalidArgumentError on another shape.
  at::Tensor forward(const at::Tensor& pixel_values);

  MobileNetV5Encoder timm_model{nullptr};
};
TORCH_MODULE(VisionTower);

}  // namespace gemma::vision
