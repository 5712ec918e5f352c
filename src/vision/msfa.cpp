#include "vision/msfa.h"

#include <ATen/ops/avg_pool2d.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/upsample_bilinear2d.h>
#include <ATen/ops/upsample_nearest2d.h>

#include "io/vision_layout.h"

namespace gemma::vision {

MultiScaleFusionAdapterImpl::MultiScaleFusionAdapterImpl(int64_t in_channels, int64_t out_channels,
                                                         int64_t output_resolution,
                                                         double expansion_ratio,
                                                         const at::TensorOptions& options)
    : output_resolution_(output_resolution) {
  // timm builds the feed-forward as a UIR without depthwise convs, noskip, no layer scale.
  MobileNetBlock spec;
  spec.kind = MobileNetBlockKind::kUniversalInvertedResidual;
  spec.in_channels = in_channels;
  spec.out_channels = out_channels;
  spec.exp_ratio = expansion_ratio;
  spec.mid_channels = io::make_divisible(static_cast<double>(in_channels) * expansion_ratio);
  spec.noskip = true;
  ffn = register_module(
      "ffn", UniversalInvertedResidual(spec, /*with_layer_scale=*/false, "msfa.ffn", options));
  norm = register_module("norm", RmsNorm2d(out_channels, /*apply_act=*/false, options));
}

at::Tensor MultiScaleFusionAdapterImpl::forward(const std::vector<at::Tensor>& inputs) {
  // timm assumes the first input has the highest resolution.
  const int64_t high_h = inputs.front().size(-2);
  const int64_t high_w = inputs.front().size(-1);
  std::vector<at::Tensor> resized;
  resized.reserve(inputs.size());
  for (const auto& img : inputs) {
    const bool smaller = img.size(-2) < high_h || img.size(-1) < high_w;
    resized.push_back(smaller ? at::upsample_nearest2d(img, {high_h, high_w}) : img);
  }
  auto img = ffn->forward(at::cat(resized, 1));
  const int64_t r = output_resolution_;
  if (high_h != r || high_w != r) {
    if (high_h % r != 0 || high_w % r != 0) {
      img = at::upsample_bilinear2d(img, {r, r}, /*align_corners=*/false);
    } else {
      const int64_t sh = high_h / r, sw = high_w / r;
      img = at::avg_pool2d(img, {sh, sw}, {sh, sw});
    }
  }
  return norm->forward(img);
}

}  // namespace gemma::vision
