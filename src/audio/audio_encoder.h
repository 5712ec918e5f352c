#pragma once
// HF: Gemma3nAudioEncoder, the USM-style conformer audio tower: sub-sampling convolutions (4x in
// time), conf_num_hidden_layers conformer blocks, then every conf_reduction_factor-th frame.
// Children are named as in transformers, so inside the model ("model.audio_tower") the
// parameter names are the checkpoint's.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <filesystem>

#include "audio/conformer.h"
#include "audio/subsample.h"
#include "gemma/config.h"
#include "io/weights.h"

namespace gemma::audio {

struct AudioEncoderOutput {
  at::Tensor output;  // [N, T', hidden] in the module dtype; padded frames are zero
  at::Tensor mask;    // [N, T'] bool, true = padding
};

class AudioEncoderImpl : public torch::nn::Module {
 public:
  AudioEncoderImpl(const AudioConfig& config, const at::TensorOptions& options);
  // audio_mel [N, T, input_feat_size] (any floating dtype; cast to the module's), audio_mel_mask
  // [N, T] bool with true = padding (transformers passes ~input_features_mask).
  AudioEncoderOutput forward(const at::Tensor& audio_mel, const at::Tensor& audio_mel_mask);

  SubSampleConvProjection subsample_conv_projection{nullptr};
  torch::nn::ModuleList conformer{nullptr};

 private:
  void check_inputs(const at::Tensor& audio_mel, const at::Tensor& audio_mel_mask) const;
  // The input mask at the first frame of every sub-sampled frame: [N, T_sub].
  at::Tensor subsample_mask(const at::Tensor& audio_mel_mask, int64_t frames) const;

  AudioConfig config_;
};
TORCH_MODULE(AudioEncoder);

// The audio tower alone from a model directory (config.json + checkpoint), for tools and tests:
// built under the names "model.audio_tower." it has inside Gemma3nForConditionalGeneration, with
// every other tensor of the checkpoint skipped.
struct LoadedAudioEncoder {
  AudioConfig config;
  AudioEncoder encoder{nullptr};
  io::LoadReport report;
};
LoadedAudioEncoder load_audio_encoder(const std::filesystem::path& model_dir,
                                      const at::TensorOptions& options);

}  // namespace gemma::audio
