#include "audio/subsample.h"

#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/rsqrt.h>

namespace gemma::audio {
namespace {

// transformers pads frequency by one bin on each side whatever the kernel (the USM reference's
// effective 'SAME' padding for 3x3 / stride 2), and time "reverse causally": kernel_t − 1 frames
// after the clip, none before.
constexpr int64_t kFreqPad = 1;

}  // namespace

Conv2dImpl::Conv2dImpl(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel,
                       std::array<int64_t, 2> stride, const at::TensorOptions& options)
    : stride_(stride) {
  weight = register_parameter(
      "weight", at::empty({out_channels, in_channels, kernel[0], kernel[1]}, options));
}

at::Tensor Conv2dImpl::forward(const at::Tensor& x) const {
  return at::conv2d(x, weight, {}, {stride_[0], stride_[1]});
}

CumulativeGroupNormImpl::CumulativeGroupNormImpl(int64_t num_channels, double eps,
                                                 const at::TensorOptions& options)
    : eps_(eps) {
  weight = register_parameter("weight", at::empty({num_channels}, options));
}

at::Tensor CumulativeGroupNormImpl::forward(const at::Tensor& x) const {
  const auto h = x.to(at::kFloat);  // statistics in float32, as transformers computes them
  const auto steps = h.size(1);
  const auto group = static_cast<double>(h.size(2) * h.size(3));
  const auto cum_sum = h.sum({2, 3}, /*keepdim=*/true).cumsum(1);
  // The element count accumulates in float32 like transformers' cumsum over a ones mask.
  const auto cum_count = at::full({1, steps, 1, 1}, group, h.options()).cumsum(1).clamp_min(1.0);
  const auto cum_mean = cum_sum / cum_count;
  const auto cum_sq = (h - cum_mean).pow(2).sum({2, 3}, /*keepdim=*/true).cumsum(1);
  const auto cum_variance = cum_sq / cum_count;
  const auto normed = (h - cum_mean) * at::rsqrt(cum_variance + eps_);
  return (normed * weight.to(at::kFloat)).to(x.scalar_type());
}

SSCPConvBlockImpl::SSCPConvBlockImpl(const AudioConfig& config, size_t index,
                                     const at::TensorOptions& options) {
  const auto& k = config.sscp_conv_kernel_size[index];
  const auto& s = config.sscp_conv_stride_size[index];
  kernel_ = {k[0], k[1]};
  stride_ = {s[0], s[1]};
  const int64_t in = index == 0 ? 1 : config.sscp_conv_channel_size[index - 1];
  const int64_t out = config.sscp_conv_channel_size[index];
  conv = register_module("conv", Conv2d(in, out, kernel_, stride_, options));
  norm =
      register_module("norm", CumulativeGroupNorm(out, config.sscp_conv_group_norm_eps, options));
}

int64_t SSCPConvBlockImpl::out_freq(int64_t in_freq) const {
  return (in_freq + 2 * kFreqPad - kernel_[1]) / stride_[1] + 1;
}

at::Tensor SSCPConvBlockImpl::forward(const at::Tensor& x) const {
  const auto padded = at::constant_pad_nd(x, {kFreqPad, kFreqPad, 0, kernel_[0] - 1}, 0.0);
  const auto conv_out = conv->forward(padded);                                     // [B, C, T, F]
  const auto normed = norm->forward(conv_out.permute({0, 2, 3, 1}).contiguous());  // [B, T, F, C]
  return at::relu(normed.permute({0, 3, 1, 2}).contiguous());
}

SubSampleConvProjectionImpl::SubSampleConvProjectionImpl(const AudioConfig& config,
                                                         const at::TensorOptions& options) {
  conv_0 = register_module("conv_0", SSCPConvBlock(config, 0, options));
  conv_1 = register_module("conv_1", SSCPConvBlock(config, 1, options));
  const auto freq = conv_1->out_freq(conv_0->out_freq(config.input_feat_size));
  const auto in_features = freq * config.sscp_conv_channel_size[1];
  input_proj_linear =
      register_module("input_proj_linear", nn::Linear(in_features, config.hidden_size, options));
}

at::Tensor SubSampleConvProjectionImpl::forward(const at::Tensor& audio_mel) const {
  auto x = conv_1->forward(conv_0->forward(audio_mel.unsqueeze(1)));  // [B, C, T', F']
  // Flatten (frequency, channel) with the channel fastest, as transformers does.
  x = x.permute({0, 2, 3, 1}).contiguous();
  return input_proj_linear->forward(x.view({x.size(0), x.size(1), x.size(2) * x.size(3)}));
}

}  // namespace gemma::audio
