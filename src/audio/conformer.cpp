#include "audio/conformer.h"

#include <ATen/ops/clamp.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/conv1d.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/glu.h>
#include <ATen/ops/silu.h>

namespace gemma::audio {
namespace {

// transformers builds these RMSNorms with Gemma3nRMSNorm's default eps rather than
// config.rms_norm_eps (only the light conv's norms take the config value).
constexpr double kDefaultNormEps = 1e-6;

at::Tensor clip(const at::Tensor& x, double bound) { return at::clamp(x, -bound, bound); }

}  // namespace

ConformerAttentionImpl::ConformerAttentionImpl(const AudioConfig& config,
                                               const at::TensorOptions& options)
    : clip_(config.gradient_clipping) {
  const auto hidden = config.hidden_size;
  pre_attn_norm =
      register_module("pre_attn_norm", nn::RMSNorm(hidden, kDefaultNormEps, true, options));
  attn = register_module("attn", Attention(config, options));
  post = register_module("post", nn::Linear(hidden, hidden, options));
  post_norm = register_module("post_norm", nn::RMSNorm(hidden, kDefaultNormEps, true, options));
}

at::Tensor ConformerAttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask) const {
  const auto context = attn->forward(pre_attn_norm->forward(clip(x, clip_)), mask);  // [B,T,N,H]
  const auto y = post->forward(context.flatten(2));
  return x + post_norm->forward(clip(y, clip_));
}

ConformerFeedForwardImpl::ConformerFeedForwardImpl(const AudioConfig& config,
                                                   const at::TensorOptions& options)
    : clip_(config.gradient_clipping), residual_weight_(config.conf_residual_weight) {
  const auto hidden = config.hidden_size;
  pre_layer_norm =
      register_module("pre_layer_norm", nn::RMSNorm(hidden, kDefaultNormEps, true, options));
  ffw_layer_1 = register_module("ffw_layer_1", nn::Linear(hidden, hidden * 4, options));
  ffw_layer_2 = register_module("ffw_layer_2", nn::Linear(hidden * 4, hidden, options));
  post_layer_norm =
      register_module("post_layer_norm", nn::RMSNorm(hidden, kDefaultNormEps, true, options));
}

at::Tensor ConformerFeedForwardImpl::forward(const at::Tensor& x) const {
  auto y = ffw_layer_1->forward(pre_layer_norm->forward(clip(x, clip_)));
  y = ffw_layer_2->forward(at::silu(y));
  return x + post_layer_norm->forward(clip(y, clip_)) * residual_weight_;
}

DepthwiseConv1dImpl::DepthwiseConv1dImpl(int64_t channels, int64_t kernel,
                                         const at::TensorOptions& options) {
  weight = register_parameter("weight", at::empty({channels, 1, kernel}, options));
}

at::Tensor DepthwiseConv1dImpl::forward(const at::Tensor& x) const {
  const int64_t unit = 1, none = 0;
  return at::conv1d(x, weight, {}, /*stride=*/unit, /*padding=*/none, /*dilation=*/unit,
                    /*groups=*/weight.size(0));
}

ConformerLightConv1dImpl::ConformerLightConv1dImpl(const AudioConfig& config,
                                                   const at::TensorOptions& options)
    : clip_(config.gradient_clipping), causal_padding_(config.conf_conv_kernel_size - 1) {
  const auto hidden = config.hidden_size;
  const auto eps = config.rms_norm_eps;
  pre_layer_norm = register_module("pre_layer_norm", nn::RMSNorm(hidden, eps, true, options));
  linear_start = register_module("linear_start", nn::Linear(hidden, hidden * 2, options));
  depthwise_conv1d = register_module(
      "depthwise_conv1d", DepthwiseConv1d(hidden, config.conf_conv_kernel_size, options));
  conv_norm = register_module("conv_norm", nn::RMSNorm(hidden, eps, true, options));
  linear_end = register_module("linear_end", nn::Linear(hidden, hidden, options));
}

at::Tensor ConformerLightConv1dImpl::forward(const at::Tensor& x) const {
  auto y = at::glu(linear_start->forward(pre_layer_norm->forward(x)), -1);
  y = at::constant_pad_nd(y.permute({0, 2, 1}), {causal_padding_, 0}, 0);  // [B, D, pad + T]
  y = depthwise_conv1d->forward(y).permute({0, 2, 1});
  y = at::silu(conv_norm->forward(clip(y, clip_)));
  return linear_end->forward(y) + x;
}

ConformerBlockImpl::ConformerBlockImpl(const AudioConfig& config, const at::TensorOptions& options)
    : clip_(config.gradient_clipping) {
  const auto hidden = config.hidden_size;
  ffw_layer_start = register_module("ffw_layer_start", ConformerFeedForward(config, options));
  attention = register_module("attention", ConformerAttention(config, options));
  lconv1d = register_module("lconv1d", ConformerLightConv1d(config, options));
  ffw_layer_end = register_module("ffw_layer_end", ConformerFeedForward(config, options));
  norm = register_module("norm", nn::RMSNorm(hidden, kDefaultNormEps, true, options));
}

at::Tensor ConformerBlockImpl::forward(const at::Tensor& x, const at::Tensor& mask) const {
  auto h = attention->forward(ffw_layer_start->forward(x), mask);
  // Padded frames enter the causal conv as zeros.
  h = h * mask.logical_not().unsqueeze(-1).to(h.scalar_type());
  h = ffw_layer_end->forward(lconv1d->forward(h));
  return norm->forward(clip(h, clip_));
}

}  // namespace gemma::audio
