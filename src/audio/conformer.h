#pragma once
// HF: Gemma3nAudioConformerBlock and its parts: half-step feed-forward, chunked attention, light
// convolution, half-step feed-forward, RMSNorm. Activations are clamped to ±gradient_clipping at
// the points transformers clamps them.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "audio/attention.h"
#include "gemma/config.h"
#include "nn/modules.h"

namespace gemma::audio {

// HF: Gemma3nAudioConformerAttention. x + post_norm(post(attn(pre_attn_norm(x)))).
class ConformerAttentionImpl : public torch::nn::Module {
 public:
  ConformerAttentionImpl(const AudioConfig& config, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask) const;

  nn::RMSNorm pre_attn_norm{nullptr};
  Attention attn{nullptr};
  nn::Linear post{nullptr};
  nn::RMSNorm post_norm{nullptr};

 private:
  double clip_;
};
TORCH_MODULE(ConformerAttention);

// HF: Gemma3nAudioConformerFeedForward. x + conf_residual_weight · post_norm(W2 silu(W1 norm(x))).
class ConformerFeedForwardImpl : public torch::nn::Module {
 public:
  ConformerFeedForwardImpl(const AudioConfig& config, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;

  nn::RMSNorm pre_layer_norm{nullptr};
  nn::Linear ffw_layer_1{nullptr}, ffw_layer_2{nullptr};
  nn::RMSNorm post_layer_norm{nullptr};

 private:
  double clip_, residual_weight_;
};
TORCH_MODULE(ConformerFeedForward);

// nn.Conv1d(groups = channels) without bias or implicit padding; weight [channels, 1, kernel].
class DepthwiseConv1dImpl : public torch::nn::Module {
 public:
  DepthwiseConv1dImpl(int64_t channels, int64_t kernel, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;  // [B, channels, T'] -> [B, channels, T' − k + 1]
  at::Tensor weight;
};
TORCH_MODULE(DepthwiseConv1d);

// HF: Gemma3nAudioConformerLightConv1d. GLU, then a causal depthwise conv over time (output t sees
// frames t − kernel + 1 .. t), norm, SiLU, projection, residual.
class ConformerLightConv1dImpl : public torch::nn::Module {
 public:
  ConformerLightConv1dImpl(const AudioConfig& config, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;

  nn::RMSNorm pre_layer_norm{nullptr};
  nn::Linear linear_start{nullptr};
  DepthwiseConv1d depthwise_conv1d{nullptr};
  nn::RMSNorm conv_norm{nullptr};
  nn::Linear linear_end{nullptr};

 private:
  double clip_;
  int64_t causal_padding_;
};
TORCH_MODULE(ConformerLightConv1d);

class ConformerBlockImpl : public torch::nn::Module {
 public:
  ConformerBlockImpl(const AudioConfig& config, const at::TensorOptions& options);
  // x [B, T, D], mask [B, T] (true = padding).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask) const;

  ConformerFeedForward ffw_layer_start{nullptr};
  ConformerAttention attention{nullptr};
  ConformerLightConv1d lconv1d{nullptr};
  ConformerFeedForward ffw_layer_end{nullptr};
  nn::RMSNorm norm{nullptr};

 private:
  double clip_;
};
TORCH_MODULE(ConformerBlock);

}  // namespace gemma::audio
