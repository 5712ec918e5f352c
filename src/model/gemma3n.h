#pragma once
// HF: Gemma3nModel + Gemma3nForConditionalGeneration. The root registers "model" (language_model,
// embed_vision, embed_audio; the towers join in later issues) so that named_parameters() are the
// checkpoint's names. The LM head is the tied embed_tokens weight.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "gemma/config.h"
#include "model/multimodal_embedder.h"
#include "text/text_model.h"

namespace gemma::model {

class Gemma3nModelImpl : public torch::nn::Module {
 public:
  Gemma3nModelImpl(const ModelConfig& config, const at::TensorOptions& options);
  // Text embeddings with hard vision/audio vocabulary ids replaced by their embedders' output.
  at::Tensor embed_ids(const at::Tensor& input_ids) const;

  text::TextModel language_model{nullptr};
  MultimodalEmbedder embed_vision{nullptr}, embed_audio{nullptr};
};
TORCH_MODULE(Gemma3nModel);

struct ForwardInputs {
  at::Tensor input_ids = {};       // [B, T]
  at::Tensor attention_mask = {};  // [B, past + T]; optional
  at::Tensor position_ids = {};    // [B, T]; optional: derived from the mask / cache length
  generation::KvCache* cache = nullptr;
  bool output_hidden_states = false;
};

struct ForwardOutput {
  at::Tensor logits;  // [B, T, vocab], soft-capped, in the model dtype
  std::vector<at::Tensor> hidden_states;
};

class ForConditionalGenerationImpl : public torch::nn::Module {
 public:
  ForConditionalGenerationImpl(const ModelConfig& config, const at::TensorOptions& options);
  ForwardOutput forward(const ForwardInputs& in);
  const ModelConfig& config() const { return config_; }

  Gemma3nModel model{nullptr};

 private:
  ModelConfig config_;
};
TORCH_MODULE(ForConditionalGeneration);

// Positions as transformers' generate computes them: cumsum(mask) − 1 with padded slots set to 0,
// for the last T of the mask's columns. Without a mask: past + arange(T).
at::Tensor default_position_ids(const at::Tensor& attention_mask, int64_t past, int64_t tokens,
                                int64_t batch, const at::Device& device);

}  // namespace gemma::model
