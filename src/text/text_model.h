#pragma once
// HF: Gemma3nTextModel — embeddings (scaled), per-layer embeddings and their projection, AltUp
// stream set-up, the decoder layers, stream un-embedding and the final norm.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "gemma/config.h"
#include "nn/modules.h"

namespace gemma::generation {
class KvCache;
}

namespace gemma::text {

struct TextForward {
  at::Tensor inputs_embeds;     // [B, T, D]: embed_tokens output, multimodal features merged in
  at::Tensor per_layer_inputs;  // [B, T, L, E]: embed_tokens_per_layer(ids)
  at::Tensor position_ids;      // [B, T]
  // [B, past + T], 1 for real tokens; all ones when undefined. Padded with zeros to a static
  // cache's capacity.
  at::Tensor key_padding;
  generation::KvCache* cache = nullptr;
  bool output_hidden_states = false;
};

struct TextOutput {
  at::Tensor last_hidden_state;           // [B, T, D], after the final norm
  std::vector<at::Tensor> hidden_states;  // all AltUp streams [S, B, T, D]: initial, then per layer
};

class TextModelImpl : public torch::nn::Module {
 public:
  TextModelImpl(const TextConfig& config, const at::TensorOptions& options);

  // embed_tokens(ids) × √D for ids anywhere in [0, vocab_size).
  at::Tensor embed(const at::Tensor& input_ids) const;
  // The PLE table lookup; ids outside the per-layer vocabulary (multimodal ids) use row 0.
  at::Tensor per_layer_inputs(const at::Tensor& input_ids) const;
  TextOutput forward(const TextForward& in);
  // In training, recompute decoder layers in backward instead of keeping their activations.
  void set_gradient_checkpointing(bool enabled) { gradient_checkpointing_ = enabled; }

  nn::ScaledEmbedding embed_tokens{nullptr}, embed_tokens_per_layer{nullptr};
  torch::nn::ModuleList layers{nullptr};
  nn::RMSNorm norm{nullptr};
  nn::Linear per_layer_model_projection{nullptr};
  nn::RMSNorm per_layer_projection_norm{nullptr};
  torch::nn::ModuleList altup_projections{nullptr}, altup_unembed_projections{nullptr};

  const TextConfig& config() const { return config_; }

 private:
  at::Tensor project_per_layer_inputs(const at::Tensor& embeds, const at::Tensor& ple) const;
  // Rescales `x` to the RMS magnitude `target`, with the 1e-5 floor on the mean square.
  static at::Tensor match_magnitude(const at::Tensor& x, const at::Tensor& target);

  TextConfig config_;
  bool gradient_checkpointing_ = false;
};
TORCH_MODULE(TextModel);

}  // namespace gemma::text
