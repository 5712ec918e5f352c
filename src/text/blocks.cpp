#include "text/blocks.h"

#include <ATen/ops/erfinv.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/std.h>
#include <ATen/ops/tanh.h>

#include <cmath>

namespace gemma::text {

AltUpImpl::AltUpImpl(const TextConfig& config, const at::TensorOptions& options)
    : streams_(config.altup_num_inputs),
      active_(config.altup_active_idx),
      hidden_(config.hidden_size),
      coef_clip_(config.altup_coef_clip) {
  correct_output_scale = register_parameter("correct_output_scale", at::empty({hidden_}, options));
  correction_coefs = register_module("correction_coefs", nn::Linear(streams_, streams_, options));
  prediction_coefs =
      register_module("prediction_coefs", nn::Linear(streams_, streams_ * streams_, options));
  modality_router = register_module("modality_router", nn::Linear(hidden_, streams_, options));
  router_norm =
      register_module("router_norm", nn::RMSNorm(hidden_, config.rms_norm_eps, true, options));
}

at::Tensor AltUpImpl::router_modalities(const at::Tensor& x) const {
  // router_input_scale is a float32 buffer 1/hidden; multiplying promotes nothing for bf16 x
  // because a 0-dim tensor does not win type promotion.
  auto scale = at::scalar_tensor(1.0 / static_cast<double>(hidden_), at::kFloat);
  auto routed = modality_router->forward(router_norm->forward(x) * scale);
  return at::tanh(routed.to(at::kFloat)).to(x.scalar_type());
}

at::Tensor AltUpImpl::predict(const at::Tensor& streams) const {
  auto modalities = router_modalities(streams[active_]);  // [B, T, S]
  if (is_training() && coef_clip_) {
    // transformers clamps the stored prediction weights in place (outside the graph) in training.
    at::NoGradGuard no_grad;
    prediction_coefs->weight.clamp_(-*coef_clip_, *coef_clip_);
  }
  auto b = modalities.size(0), t = modalities.size(1);
  // coefs [B, T, S, S] transposed so that streams·coefs mixes streams: P_k = X_k + Σ_j M[k][j] X_j.
  auto coefs = prediction_coefs->forward(modalities)
                   .reshape({b, t, streams_, streams_})
                   .permute({0, 1, 3, 2});
  auto predictions = at::matmul(streams.permute({1, 2, 3, 0}), coefs).permute({3, 0, 1, 2});
  return (predictions + streams).contiguous().to(streams.scalar_type());
}

at::Tensor AltUpImpl::correct(const at::Tensor& predictions, const at::Tensor& activated) const {
  auto modalities = router_modalities(activated);
  auto innovation = activated - predictions[active_];  // [B, T, D]
  // In training transformers clamps the correction weights inside the graph instead.
  auto projected = is_training() && coef_clip_
                       ? at::linear(modalities, correction_coefs->weight.clamp(-*coef_clip_, *coef_clip_))
                       : correction_coefs->forward(modalities);
  auto coefs = (projected + 1.0).permute({2, 0, 1}).unsqueeze(-1);  // [S,B,T,1]
  return (innovation.unsqueeze(0) * coefs + predictions).contiguous().to(activated.scalar_type());
}

at::Tensor AltUpImpl::scale_corrected_output(const at::Tensor& corrected) const {
  return (corrected.to(correct_output_scale.scalar_type()) * correct_output_scale)
      .to(corrected.scalar_type());
}

LaurelImpl::LaurelImpl(const TextConfig& config, const at::TensorOptions& options) {
  linear_left =
      register_module("linear_left", nn::Linear(config.hidden_size, config.laurel_rank, options));
  linear_right =
      register_module("linear_right", nn::Linear(config.laurel_rank, config.hidden_size, options));
  post_laurel_norm = register_module(
      "post_laurel_norm", nn::RMSNorm(config.hidden_size, config.rms_norm_eps, true, options));
}

at::Tensor LaurelImpl::forward(const at::Tensor& x) const {
  return x + post_laurel_norm->forward(linear_right->forward(linear_left->forward(x)));
}

MlpImpl::MlpImpl(const TextConfig& config, int layer, const at::TensorOptions& options)
    : sparsity_(config.activation_sparsity_pattern[layer]), activation_(config.hidden_activation) {
  const auto hidden = config.hidden_size;
  const auto inner = config.intermediate_size[layer];
  gate_proj = register_module("gate_proj", nn::Linear(hidden, inner, options));
  up_proj = register_module("up_proj", nn::Linear(hidden, inner, options));
  down_proj = register_module("down_proj", nn::Linear(inner, hidden, options));
}

at::Tensor MlpImpl::forward(const at::Tensor& x) const {
  auto gate = gate_proj->forward(x);
  if (sparsity_ > 0.0) {
    // Φ⁻¹(s) = √2·erfinv(2s − 1) in float32 (torch.distributions.Normal.icdf), then rounded to the
    // activation dtype before use, as transformers does.
    auto s = at::scalar_tensor(sparsity_, at::kFloat);
    auto multiplier = (at::erfinv(2 * s - 1) * std::sqrt(2.0)).to(gate.scalar_type());
    auto mean = gate.mean(-1, /*keepdim=*/true);
    auto std = at::std(gate, {-1}, /*unbiased=*/false, /*keepdim=*/true);
    gate = at::relu(gate - (mean + std * multiplier));
  }
  return down_proj->forward(nn::activation(activation_, gate) * up_proj->forward(x));
}

}  // namespace gemma::text
