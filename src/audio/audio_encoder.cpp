#include "audio/audio_encoder.h"

#include <ATen/ops/arange.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>

#include "gemma/error.h"

namespace gemma::audio {
namespace {

std::string describe(const at::Tensor& t) {
  if (!t.defined()) return "an undefined tensor";
  return fmt::format("{} [{}]", c10::toString(t.scalar_type()), fmt::join(t.sizes(), ", "));
}

}  // namespace

AudioEncoderImpl::AudioEncoderImpl(const AudioConfig& config, const at::TensorOptions& options)
    : config_(config) {
  config_.validate("AudioConfig");
  subsample_conv_projection =
      register_module("subsample_conv_projection", SubSampleConvProjection(config_, options));
  conformer = register_module("conformer", torch::nn::ModuleList());
  for (int64_t i = 0; i < config_.conf_num_hidden_layers; ++i) {
    conformer->push_back(ConformerBlock(config_, options));
  }
}

void AudioEncoderImpl::check_inputs(const at::Tensor& audio_mel,
                                    const at::Tensor& audio_mel_mask) const {
  if (!audio_mel.defined() || audio_mel.dim() != 3 || !audio_mel.is_floating_point() ||
      audio_mel.size(0) == 0 || audio_mel.size(1) == 0 ||
      audio_mel.size(2) != config_.input_feat_size) {
    throw InvalidArgumentError(fmt::format(
        "audio tower: audio_mel must be a non-empty floating tensor [batch, frames, {}], got {}",
        config_.input_feat_size, describe(audio_mel)));
  }
  if (!audio_mel_mask.defined() || audio_mel_mask.scalar_type() != at::kBool ||
      audio_mel_mask.dim() != 2 || audio_mel_mask.size(0) != audio_mel.size(0) ||
      audio_mel_mask.size(1) != audio_mel.size(1)) {
    throw InvalidArgumentError(fmt::format(
        "audio tower: audio_mel_mask must be a bool tensor [{}, {}] (true = padding), got {}",
        audio_mel.size(0), audio_mel.size(1), describe(audio_mel_mask)));
  }
}

at::Tensor AudioEncoderImpl::subsample_mask(const at::Tensor& audio_mel_mask,
                                            int64_t frames) const {
  int64_t time_stride = 1;
  for (const auto& stride : config_.sscp_conv_stride_size) time_stride *= stride[0];
  const auto indices =
      (at::arange(frames, at::TensorOptions().dtype(at::kLong).device(audio_mel_mask.device())) *
       time_stride)
          .clamp_max(audio_mel_mask.size(1) - 1);
  return audio_mel_mask.index_select(1, indices);
}

AudioEncoderOutput AudioEncoderImpl::forward(const at::Tensor& audio_mel,
                                             const at::Tensor& audio_mel_mask) {
  check_inputs(audio_mel, audio_mel_mask);
  const auto& weight = subsample_conv_projection->input_proj_linear->weight;
  auto x = subsample_conv_projection->forward(audio_mel.to(weight.options()));  // [N, T_sub, D]
  auto mask = subsample_mask(audio_mel_mask.to(weight.device()), x.size(1));
  for (const auto& block : *conformer) x = block->as<ConformerBlockImpl>()->forward(x, mask);
  const auto step = config_.conf_reduction_factor;
  x = x.slice(1, 0, c10::nullopt, step);
  mask = mask.slice(1, 0, c10::nullopt, step);
  return {x.masked_fill(mask.unsqueeze(-1), 0.0), mask};
}

LoadedAudioEncoder load_audio_encoder(const std::filesystem::path& model_dir,
                                      const at::TensorOptions& options) {
  LoadedAudioEncoder loaded;
  const auto config = load_model_config(model_dir);
  if (!config.has_audio) {
    throw UnsupportedError(
        fmt::format("{}: the model has no audio tower", (model_dir / "config.json").string()));
  }
  loaded.config = config.audio;
  loaded.encoder = AudioEncoder(loaded.config, options);
  loaded.report = io::load_weights_at(loaded.encoder.ptr(), "model.audio_tower",
                                      io::Checkpoint::open(model_dir));
  loaded.encoder->eval();
  return loaded;
}

}  // namespace gemma::audio
