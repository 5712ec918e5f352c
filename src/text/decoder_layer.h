#pragma once
// HF: Gemma3nTextDecoderLayer — AltUp predict, attention + LAuReL, MLP, AltUp correct, then the
// per-layer input injected into streams 1..S-1.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "gemma/config.h"
#include "nn/modules.h"
#include "text/attention.h"
#include "text/blocks.h"

namespace gemma::text {

class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const TextConfig& config, int layer, const at::TensorOptions& options);
  // streams [S, B, T, D], per_layer_input [B, T, E] -> [S, B, T, D].
  at::Tensor forward(const at::Tensor& streams, const at::Tensor& per_layer_input,
                     AttentionContext& ctx);

  Attention self_attn{nullptr};
  Mlp mlp{nullptr};
  nn::RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  nn::RMSNorm pre_feedforward_layernorm{nullptr}, post_feedforward_layernorm{nullptr};
  AltUp altup{nullptr};
  Laurel laurel{nullptr};
  nn::Linear per_layer_input_gate{nullptr}, per_layer_projection{nullptr};
  nn::RMSNorm post_per_layer_input_norm{nullptr};

 private:
  int64_t active_;
  bool correct_scale_;
  std::string activation_;
};
TORCH_MODULE(DecoderLayer);

}  // namespace gemma::text
