#pragma once
// The per-layer blocks around attention: AltUp (predict/correct over the parallel streams), LAuReL
// (low-rank residual) and the MLP with Gaussian activation sparsity.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <optional>

#include "gemma/config.h"
#include "nn/modules.h"

namespace gemma::text {

// HF: Gemma3nTextAltUp.
class AltUpImpl : public torch::nn::Module {
 public:
  AltUpImpl(const TextConfig& config, const at::TensorOptions& options);
  // [S, B, T, D] -> predictions [S, B, T, D].
  at::Tensor predict(const at::Tensor& streams) const;
  // predictions [S, B, T, D], activated [B, T, D] -> corrected [S, B, T, D].
  at::Tensor correct(const at::Tensor& predictions, const at::Tensor& activated) const;
  at::Tensor scale_corrected_output(const at::Tensor& corrected) const;

  at::Tensor correct_output_scale;
  nn::Linear correction_coefs{nullptr}, prediction_coefs{nullptr}, modality_router{nullptr};
  nn::RMSNorm router_norm{nullptr};

 private:
  at::Tensor router_modalities(const at::Tensor& x) const;
  int64_t streams_, active_, hidden_;
  std::optional<double> coef_clip_;
};
TORCH_MODULE(AltUp);

// HF: Gemma3nTextLaurelBlock. Returns x + norm(right(left(x))).
class LaurelImpl : public torch::nn::Module {
 public:
  LaurelImpl(const TextConfig& config, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;
  nn::Linear linear_left{nullptr}, linear_right{nullptr};
  nn::RMSNorm post_laurel_norm{nullptr};
};
TORCH_MODULE(Laurel);

// HF: Gemma3nTextMLP. With sparsity s > 0 the gate keeps only values above mean + std·Φ⁻¹(s).
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(const TextConfig& config, int layer, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;
  nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};

 private:
  double sparsity_;
  std::string activation_;
};
TORCH_MODULE(Mlp);

}  // namespace gemma::text
