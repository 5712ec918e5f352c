#pragma once
// HF: Gemma3nAudioSubSampleConvProjection — two strided Conv2d blocks over (time, frequency), each
// with a cumulative group norm and ReLU, then a projection of the flattened (frequency, channel)
// plane to the conformer width.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <array>

#include "gemma/config.h"
#include "nn/modules.h"

namespace gemma::audio {

// nn.Conv2d without bias or implicit padding; weight [out, in, kernel_t, kernel_f].
class Conv2dImpl : public torch::nn::Module {
 public:
  Conv2dImpl(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel,
             std::array<int64_t, 2> stride, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;
  at::Tensor weight;

 private:
  std::array<int64_t, 2> stride_;
};
TORCH_MODULE(Conv2d);

// HF: Gemma3nAudioCumulativeGroupNorm on [B, T, F, C]. Mean and variance at step t cover every
// (f, c) of steps 0..t, so a frame never sees later frames; the variance sums each step's squared
// deviations from that step's own running mean, as the USM reference does. transformers gives it
// no mask, so padded frames count like real ones (they only ever follow the real frames).
class CumulativeGroupNormImpl : public torch::nn::Module {
 public:
  CumulativeGroupNormImpl(int64_t num_channels, double eps, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;
  at::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(CumulativeGroupNorm);

// HF: Gemma3nAudioSSCPConvBlock. [B, C_in, T, F] -> [B, C_out, T', F'].
class SSCPConvBlockImpl : public torch::nn::Module {
 public:
  SSCPConvBlockImpl(const AudioConfig& config, size_t index, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;
  // Output frequency bins for `in_freq` input bins.
  int64_t out_freq(int64_t in_freq) const;

  Conv2d conv{nullptr};
  CumulativeGroupNorm norm{nullptr};

 private:
  std::array<int64_t, 2> kernel_, stride_;
};
TORCH_MODULE(SSCPConvBlock);

// HF: Gemma3nAudioSubSampleConvProjection. [B, T, F] -> [B, T / Π stride_t, hidden].
class SubSampleConvProjectionImpl : public torch::nn::Module {
 public:
  SubSampleConvProjectionImpl(const AudioConfig& config, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& audio_mel) const;

  SSCPConvBlock conv_0{nullptr}, conv_1{nullptr};
  nn::Linear input_proj_linear{nullptr};
};
TORCH_MODULE(SubSampleConvProjection);

}  // namespace gemma::audio
