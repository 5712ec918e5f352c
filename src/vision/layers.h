#pragma once
// timm's building blocks of MobileNetV5 (timm/layers): convolutions with TF-"same" padding,
// RmsNorm2d, ConvNormAct and LayerScale2d, each registering the names timm gives its parameters.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <string_view>

namespace gemma::vision {

// timm's RmsNorm2d default; MobileNetV5 never overrides it (vision_config.rms_norm_eps belongs to
// the multimodal embedder).
inline constexpr double kRmsNorm2dEps = 1e-6;

struct ConvSpec {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t kernel_size = 1;
  int64_t stride = 1;
  int64_t groups = 1;
  bool bias = false;
};

// A conv made by timm's create_conv2d with padding='same': stride 1 and an odd kernel pad
// symmetrically inside the conv; anything else pads the input first, asymmetrically, by the
// amount TensorFlow's SAME would (Conv2dSame / pad_same), so the extra row/column goes after.
class Conv2dImpl : public torch::nn::Module {
 public:
  Conv2dImpl(const ConvSpec& spec, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;

  at::Tensor weight;  // [out, in / groups, k, k]
  at::Tensor bias;    // [out] or undefined

 private:
  ConvSpec spec_;
};
TORCH_MODULE(Conv2d);

// x · rsqrt(mean_c(x²) + eps) · w over the channels of NCHW, in the input dtype (no float32
// upcast), with timm's exact op sequence so bfloat16 rounds as it does there.
at::Tensor rms_norm2d(const at::Tensor& x, const at::Tensor& weight, double eps);

// RmsNorm2d, or RmsNormAct2d with the tanh GELU when `apply_act`.
class RmsNorm2dImpl : public torch::nn::Module {
 public:
  RmsNorm2dImpl(int64_t channels, bool apply_act, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;

  at::Tensor weight;

 private:
  bool apply_act_;
};
TORCH_MODULE(RmsNorm2d);

// timm's ConvNormAct: "conv" then "bn" (an RmsNorm2d, the name kept from BatchNorm days).
class ConvNormActImpl : public torch::nn::Module {
 public:
  ConvNormActImpl(const ConvSpec& spec, bool apply_act, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;

  Conv2d conv{nullptr};
  RmsNorm2d bn{nullptr};
};
TORCH_MODULE(ConvNormAct);

// LayerScale2d: x · γ per channel.
class LayerScale2dImpl : public torch::nn::Module {
 public:
  LayerScale2dImpl(int64_t channels, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;

  at::Tensor gamma;
};
TORCH_MODULE(LayerScale2d);

// timm's num_groups: group size 0 is a dense conv, else channels / group_size groups (1 =
// depthwise). Throws ConfigError naming `where` (a block) when the channels do not divide.
int64_t num_groups(int64_t group_size, int64_t channels, std::string_view where);

}  // namespace gemma::vision
