#pragma once
// HF: Gemma3nModel + Gemma3nForConditionalGeneration. The root registers "model" (language_model,
// vision_tower, audio_tower, embed_vision, embed_audio) so that named_parameters() are the
// checkpoint's names. The LM head is the tied embed_tokens weight.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "gemma/config.h"
#include "audio/audio_encoder.h"
#include "model/multimodal_embedder.h"
#include "nn/quantize.h"
#include "text/text_model.h"
#include "vision/vision_tower.h"

namespace gemma::model {

// Which towers to build: a text-only user does not pay for the vision and audio encoders (their
// checkpoint weights are then skipped). The embedders are always built: they also embed the hard
// vision/audio token ids of text prompts.
struct Towers {
  bool vision = true;
  bool audio = true;
};

// What the processor adds to input_ids for images and audio (transformers' field names).
struct MultimodalInputs {
  at::Tensor pixel_values = {};         // [images, 3, H, W]
  at::Tensor input_features = {};       // [clips, frames, mel bins]
  at::Tensor input_features_mask = {};  // [clips, frames] bool, true = a real frame
};

class Gemma3nModelImpl : public torch::nn::Module {
 public:
  Gemma3nModelImpl(const ModelConfig& config, const at::TensorOptions& options, Towers towers);
  // Text embeddings with hard vision/audio vocabulary ids replaced by their embedders' output.
  at::Tensor embed_ids(const at::Tensor& input_ids) const;
  // HF get_image_features: tower output [N, C, R, R] as R·R soft tokens, times sqrt(C), through
  // embed_vision's soft path -> [N, R·R, D].
  at::Tensor get_image_features(const at::Tensor& pixel_values);
  // HF get_audio_features: tower output through embed_audio's soft path -> [N, T', D] and the
  // tower's mask [N, T'] (true = padding).
  audio::AudioEncoderOutput get_audio_features(const at::Tensor& input_features,
                                               const at::Tensor& input_features_mask);
  // embed_ids with image and audio features scattered over their placeholder tokens, as
  // Gemma3nModel.forward merges them (before the per-layer inputs are projected).
  at::Tensor embed_inputs(const at::Tensor& input_ids, const MultimodalInputs& media);

  text::TextModel language_model{nullptr};
  vision::VisionTower vision_tower{nullptr};
  audio::AudioEncoder audio_tower{nullptr};
  MultimodalEmbedder embed_vision{nullptr}, embed_audio{nullptr};

 private:
  at::Tensor padded_audio_features(const at::Tensor& input_features,
                                   const at::Tensor& input_features_mask);

  ModelConfig config_;
};
TORCH_MODULE(Gemma3nModel);

struct ForwardInputs {
  at::Tensor input_ids = {};       // [B, T]
  at::Tensor attention_mask = {};  // [B, past + T]; optional
  at::Tensor position_ids = {};    // [B, T]; optional: derived from the mask / cache length
  generation::KvCache* cache = nullptr;
  bool output_hidden_states = false;
  MultimodalInputs media = {};  // prefill only: merged at the placeholder positions of input_ids
  int64_t logits_to_keep = 0;   // transformers' logits_to_keep: the last N positions; 0 = all
};

struct ForwardOutput {
  at::Tensor logits;  // [B, T (or logits_to_keep), vocab], soft-capped, in the model dtype
  std::vector<at::Tensor> hidden_states;
};

class ForConditionalGenerationImpl : public torch::nn::Module {
 public:
  ForConditionalGenerationImpl(const ModelConfig& config, const at::TensorOptions& options,
                               Towers towers = {});
  ForwardOutput forward(const ForwardInputs& in);
  const ModelConfig& config() const { return config_; }
  // int8 weight-only decoding (`--dtype int8`): every Linear of the text decoder but AltUp's and a
  // copy of the tied LM head become int8 with per-channel scales for `dtype` activations. The embedding
  // table stays as it is for the row lookups; the towers are not quantised (run once per media).
  void quantize_int8(c10::ScalarType dtype);

  Gemma3nModel model{nullptr};

 private:
  ModelConfig config_;
  std::optional<nn::Int8Weight> lm_head_int8_;
};
TORCH_MODULE(ForConditionalGeneration);

// Positions as transformers' generate computes them: cumsum(mask) − 1 with padded slots set to 0,
// for the last T of the mask's columns. Without a mask: past + arange(T).
at::Tensor default_position_ids(const at::Tensor& attention_mask, int64_t past, int64_t tokens,
                                int64_t batch, const at::Device& device);

}  // namespace gemma::model
