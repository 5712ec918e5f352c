#pragma once
// HF: Gemma3nAudioAttention — chunked local self-attention. Queries are cut into blocks of
// conf_attention_chunk_size frames; each block attends to a window of keys reaching
// conf_attention_context_left − 1 frames back and conf_attention_context_right frames ahead, with
// Transformer-XL style relative position logits, a per-dimension query scale and a tanh soft-cap.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "gemma/config.h"
#include "nn/modules.h"

namespace gemma::audio {

// HF: Gemma3nAudioRelativePositionEmbedding. Adds the query-position term to the query-key logits.
class RelativePositionEmbeddingImpl : public torch::nn::Module {
 public:
  RelativePositionEmbeddingImpl(const AudioConfig& config, const at::TensorOptions& options);
  // queries [B, U, W, N, H], keys [B, U, C, N, H] -> logits [B, N, U, W, C].
  at::Tensor forward(const at::Tensor& queries, const at::Tensor& keys) const;

  nn::Linear pos_proj{nullptr};

 private:
  // Sinusoids of the relative distances max_backward, ..., −max_forward: [F, channels].
  at::Tensor timing_signal(const at::Device& device, c10::ScalarType dtype) const;

  int64_t heads_, head_dim_, channels_, max_backward_, max_forward_;
};
TORCH_MODULE(RelativePositionEmbedding);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const AudioConfig& config, const at::TensorOptions& options);
  // hidden [B, T, D], mask [B, T] (true = padding) -> context [B, T, N, H].
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& mask) const;

  RelativePositionEmbedding relative_position_embedding{nullptr};
  at::Tensor per_dim_scale;  // [H]; softplus(per_dim_scale) scales each query dimension
  nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr};

 private:
  // [B, T, ...] -> [B, U, W, ...], zero-padded at the end.
  at::Tensor to_blocks(const at::Tensor& x) const;
  // [B, T, ...] -> [B, U, C, ...]: the key window of every query block, zero-padded at both ends.
  at::Tensor block_context(const at::Tensor& x) const;
  // [W, C]: query w of a block may see context slot c (within the left/right horizons).
  at::Tensor local_causal_mask(const at::Device& device) const;

  int64_t heads_, head_dim_, chunk_, max_past_, max_future_, context_;
  double q_scale_, logit_cap_;
};
TORCH_MODULE(Attention);

}  // namespace gemma::audio
