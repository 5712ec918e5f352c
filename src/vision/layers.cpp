#include "vision/layers.h"

#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/mean.h>
#include <ATen/ops/rsqrt.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "gemma/error.h"

namespace gemma::vision {
namespace {

constexpr std::array<int64_t, 2> kDilation = {1, 1};
constexpr std::array<int64_t, 2> kNoPadding = {0, 0};

// timm's get_same_padding: the total padding TensorFlow's SAME needs along one dimension.
int64_t same_padding(int64_t size, int64_t kernel, int64_t stride) {
  const int64_t out = (size + stride - 1) / stride;
  return std::max<int64_t>((out - 1) * stride + kernel - size, 0);
}

}  // namespace

Conv2dImpl::Conv2dImpl(const ConvSpec& spec, const at::TensorOptions& options) : spec_(spec) {
  const auto k = spec.kernel_size;
  weight = register_parameter(
      "weight", at::empty({spec.out_channels, spec.in_channels / spec.groups, k, k}, options));
  if (spec.bias) bias = register_parameter("bias", at::empty({spec.out_channels}, options));
}

at::Tensor Conv2dImpl::forward(const at::Tensor& x) const {
  const auto k = spec_.kernel_size;
  const auto s = spec_.stride;
  const std::array<int64_t, 2> stride = {s, s};
  // timm's is_static_pad: these convs are plain nn.Conv2d with symmetric padding.
  if (s == 1 && (k - 1) % 2 == 0) {
    const std::array<int64_t, 2> padding = {(k - 1) / 2, (k - 1) / 2};
    return at::conv2d(x, weight, bias, stride, padding, kDilation, spec_.groups);
  }
  const auto pad_h = same_padding(x.size(-2), k, s);
  const auto pad_w = same_padding(x.size(-1), k, s);
  auto padded =
      at::constant_pad_nd(x, {pad_w / 2, pad_w - pad_w / 2, pad_h / 2, pad_h - pad_h / 2});
  return at::conv2d(padded, weight, bias, stride, kNoPadding, kDilation, spec_.groups);
}

at::Tensor rms_norm2d(const at::Tensor& x, const at::Tensor& weight, double eps) {
  auto v = at::mean(x.pow(2), {1}, /*keepdim=*/true);
  return x * at::rsqrt(v + eps) * weight.reshape({1, -1, 1, 1});
}

RmsNorm2dImpl::RmsNorm2dImpl(int64_t channels, bool apply_act, const at::TensorOptions& options)
    : apply_act_(apply_act) {
  weight = register_parameter("weight", at::empty({channels}, options));
}

at::Tensor RmsNorm2dImpl::forward(const at::Tensor& x) const {
  auto y = rms_norm2d(x, weight, kRmsNorm2dEps);
  // MobileNetV5's act_layer: nn.GELU(approximate='tanh') (timm >= 1.0.17).
  return apply_act_ ? at::gelu(y, "tanh") : y;
}

ConvNormActImpl::ConvNormActImpl(const ConvSpec& spec, bool apply_act,
                                 const at::TensorOptions& options) {
  conv = register_module("conv", Conv2d(spec, options));
  bn = register_module("bn", RmsNorm2d(spec.out_channels, apply_act, options));
}

at::Tensor ConvNormActImpl::forward(const at::Tensor& x) const {
  return bn->forward(conv->forward(x));
}

LayerScale2dImpl::LayerScale2dImpl(int64_t channels, const at::TensorOptions& options) {
  gamma = register_parameter("gamma", at::empty({channels}, options));
}

at::Tensor LayerScale2dImpl::forward(const at::Tensor& x) const {
  return x * gamma.view({1, -1, 1, 1});
}

int64_t num_groups(int64_t group_size, int64_t channels, std::string_view where) {
  if (group_size == 0) return 1;
  if (channels % group_size != 0) {
    throw ConfigError(fmt::format("{}: {} channels do not split into groups of {} (gs)", where,
                                  channels, group_size));
  }
  return channels / group_size;
}

}  // namespace gemma::vision
