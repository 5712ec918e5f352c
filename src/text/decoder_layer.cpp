#include "text/decoder_layer.h"

#include <ATen/ops/cat.h>

#include <cmath>

namespace gemma::text {

DecoderLayerImpl::DecoderLayerImpl(const TextConfig& config, int layer,
                                   const at::TensorOptions& options)
    : active_(config.altup_active_idx),
      correct_scale_(config.altup_correct_scale),
      activation_(config.hidden_activation) {
  const auto d = config.hidden_size;
  const auto eps = config.rms_norm_eps;
  auto norm = [&](const char* name) {
    return register_module(name, nn::RMSNorm(d, eps, true, options));
  };
  self_attn = register_module("self_attn", Attention(config, layer, options));
  mlp = register_module("mlp", Mlp(config, layer, options));
  input_layernorm = norm("input_layernorm");
  post_attention_layernorm = norm("post_attention_layernorm");
  pre_feedforward_layernorm = norm("pre_feedforward_layernorm");
  post_feedforward_layernorm = norm("post_feedforward_layernorm");
  altup = register_module("altup", AltUp(config, options));
  laurel = register_module("laurel", Laurel(config, options));
  per_layer_input_gate = register_module(
      "per_layer_input_gate", nn::Linear(d, config.hidden_size_per_layer_input, options));
  per_layer_projection = register_module(
      "per_layer_projection", nn::Linear(config.hidden_size_per_layer_input, d, options));
  post_per_layer_input_norm = norm("post_per_layer_input_norm");
}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& streams, const at::Tensor& per_layer_input,
                                     AttentionContext& ctx) {
  auto predictions = altup->predict(streams);
  auto active = predictions[active_];
  auto active_normed = input_layernorm->forward(active);
  auto laurel_out = laurel->forward(active_normed);

  auto attn = post_attention_layernorm->forward(self_attn->forward(active_normed, ctx));
  auto attn_laurel = (active + attn + laurel_out) / std::sqrt(2.0);
  auto ffw = post_feedforward_layernorm->forward(
      mlp->forward(pre_feedforward_layernorm->forward(attn_laurel)));
  auto corrected = altup->correct(predictions, attn_laurel + ffw);

  auto first = corrected[active_];
  if (correct_scale_) first = altup->scale_corrected_output(first);
  auto gated = nn::activation(activation_, per_layer_input_gate->forward(first)) * per_layer_input;
  auto injected = post_per_layer_input_norm->forward(per_layer_projection->forward(gated));
  // Streams other than the first take the per-layer input; out of place, to stay differentiable.
  return at::cat({corrected.narrow(0, 0, 1),
                  corrected.narrow(0, 1, corrected.size(0) - 1) + injected.unsqueeze(0)},
                 0);
}

}  // namespace gemma::text
