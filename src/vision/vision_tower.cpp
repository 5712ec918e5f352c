#include "vision/vision_tower.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gemma/error.h"

namespace gemma::vision {
namespace {

// Which feature maps (0 = stem, s + 1 = end of stage s) feed the MSFA. timm resolves
// msfa_indices against its builder's feature list but taps maps by that numbering; the two agree
// when every stage starts with a strided block, as in every MobileNetV5.
std::vector<bool> msfa_taps(const MobileNetLayout& layout) {
  layout.validate();  // a layout built in code has not been through the config parser's checks
  const auto& stages = layout.stages;
  for (size_t s = 0; s < stages.size(); ++s) {
    if (stages[s].front().stride == 1) {
      throw UnsupportedError(fmt::format(
          "vision tower: stage {} starts with a stride-1 block; the MSFA feature taps are only "
          "defined for layouts whose every stage starts with a strided block",
          s));
    }
  }
  const auto features = static_cast<int64_t>(stages.size()) + 1;
  std::vector<bool> taps(features, false);
  for (const int64_t index : layout.msfa_indices) {
    const int64_t feature = index < 0 ? index + features : index;
    if (feature < 0 || feature >= features || taps[feature]) {
      throw ConfigError(fmt::format(
          "vision tower: msfa_indices entry {} is outside [-{}, {}) or repeats a feature map",
          index, features, features));
    }
    taps[feature] = true;
  }
  return taps;
}

int64_t feature_channels(const MobileNetLayout& layout, size_t feature) {
  return feature == 0 ? layout.stem_size : layout.stages[feature - 1].back().out_channels;
}

}  // namespace

MobileNetV5EncoderImpl::MobileNetV5EncoderImpl(const VisionConfig& config,
                                               const at::TensorOptions& options)
    : msfa_taps_(msfa_taps(config.layout)) {
  const MobileNetLayout& layout = config.layout;
  // RGB input: timm's in_chans default, which Gemma 3n keeps.
  conv_stem = register_module("conv_stem",
                              ConvNormAct(ConvSpec{3, layout.stem_size, 3, 2, 1, /*bias=*/true},
                                          /*apply_act=*/true, options));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (size_t s = 0; s < layout.stages.size(); ++s) {
    torch::nn::ModuleList stage;
    auto& built = stages_.emplace_back();
    for (size_t j = 0; j < layout.stages[s].size(); ++j) {
      built.push_back(make_stage_block(layout.stages[s][j],
                                       fmt::format("vision tower blocks.{}.{}", s, j), options));
      stage->push_back(built.back());
    }
    blocks->push_back(stage);
  }
  int64_t msfa_in = 0;
  for (size_t f = 0; f < msfa_taps_.size(); ++f) {
    if (msfa_taps_[f]) msfa_in += feature_channels(layout, f);
  }
  msfa = register_module(
      "msfa", MultiScaleFusionAdapter(msfa_in, config.hidden_size, layout.msfa_output_resolution,
                                      layout.msfa_expansion_ratio, options));
}

at::Tensor MobileNetV5EncoderImpl::forward(const at::Tensor& x) {
  std::vector<at::Tensor> taps;
  auto h = conv_stem->forward(x);
  if (msfa_taps_[0]) taps.push_back(h);
  for (size_t s = 0; s < stages_.size(); ++s) {
    for (const auto& block : stages_[s]) h = block->forward(h);
    if (msfa_taps_[s + 1]) taps.push_back(h);
  }
  return msfa->forward(taps);
}

VisionTowerImpl::VisionTowerImpl(const VisionConfig& config, const at::TensorOptions& options) {
  timm_model = register_module("timm_model", MobileNetV5Encoder(config, options));
}

at::Tensor VisionTowerImpl::forward(const at::Tensor& pixel_values) {
  if (!pixel_values.defined() || pixel_values.dim() != 4 || pixel_values.size(1) != 3 ||
      pixel_values.numel() == 0) {
    throw InvalidArgumentError(fmt::format(
        "vision tower: pixel_values must be a non-empty [N, 3, H, W] tensor, got {}",
        pixel_values.defined() ? fmt::format("[{}]", fmt::join(pixel_values.sizes(), ", "))
                               : std::string("an undefined tensor")));
  }
  const auto& weight = timm_model->conv_stem->conv->weight;
  return timm_model->forward(pixel_values.to(weight.device(), weight.scalar_type()));
}

}  // namespace gemma::vision
